// The dashboard in Chromium: every view at a laptop's and a phone's width, for the README
// (docs/screenshots/ holds the copies it shows). Each shot is the first screen a person sees.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, VIEWS, open, page, test } from "../harness.mjs";

await test("screenshots: every view at 1440 and 390 px, without sideways scrolling", async () => {
  const dir = join(SHOTS, "views");
  mkdirSync(dir, { recursive: true });
  const pages = [];
  for (const [width, height] of [[1440, 900], [390, 844]]) {
    const p = await page(null, { viewport: { width, height } });
    pages.push(p);
    for (const view of VIEWS) {
      await open(p, `/?view=${view}`);
      const wide = await p.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= width + 1, `${view} is ${wide} px wide at ${width}`);
      await p.screenshot({ path: join(dir, `${view}-${width}.png`) });
    }
  }
  return pages[0];
});
