// The dashboard in Chromium: check.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, api, cardValue, ok, page, ready, results, shot, sig, test, text } from "../harness.mjs";

await test("check: pasted JSON, TOML, an uploaded file and a bad plan", async () => {
  const p = await page("/?view=check", { allowHttpErrors: true });
  const plan = await p.inputValue("#f-plan");
  const report = await ok("POST", "/v1/check", plan);
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  assert.equal(await p.locator("[data-table=check] tbody tr").count(), report.rules.length);
  assert.equal(await p.locator("[data-table=check] tbody tr").first().locator("td[data-key=status]").innerText(), report.rules[0].status);
  // The load it was judged under: the same capacity the serving view and the planner read.
  if (report.under_load) {
    assert.equal(await p.locator("#results [data-under-load]").getAttribute("data-under-load"), report.under_load.holds ? "holds" : "does-not-hold");
    assert.equal(await cardValue(p, "capacity"), `${sig(report.under_load.capacity_requests_per_s, 4)} req/s`);
  }
  await shot(p, "check");
  await p.getByRole("button", { name: "Example (TOML): 70B on one H100" }).click();
  await ready(p);
  const toml = await p.inputValue("#f-plan");
  const tomlReport = await ok("POST", "/v1/check", toml, "application/toml");
  assert.equal(tomlReport.verdict, "fail");
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), "fail");
  // Upload: the file's text becomes the plan, its extension the syntax.
  const file = join(SHOTS, "upload-plan.json");
  writeFileSync(file, plan);
  await p.setInputFiles("#f-file", file);
  await p.waitForFunction(() => document.querySelector("#f-syntax").value === "json");
  await ready(p);
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  // A bad plan: the problem's pointer is shown.
  await p.selectOption("#f-syntax", "json");
  await p.fill("#f-plan", JSON.stringify({ inference: { model: "llama-3.1-70b", hardware: "nvidia-h100-sxm-80gb", batch_size: -1 }, requirements: {} }));
  await p.click("button.run");
  await ready(p);
  const bad = await api("POST", "/v1/check", await p.inputValue("#f-plan"));
  assert.equal(bad.status, 400);
  assert.equal(await text(p, "#results .error code"), bad.json.errors[0].pointer);
  return p;
});
