// Drives Debian's Chromium (through playwright-core) against a running hwcost server and checks
// every view of the dashboard at `/`: it loads, shows the numbers the API returns for the same
// inputs (asked here, independently, over HTTP), reacts to changed inputs, keeps its state in the
// URL, exports its tables, is usable by keyboard and at a phone's width, and logs no console
// errors. Screenshots go to $SHOTS for people to look at. The tests are in tests/*.mjs, run in
// the order of their names (ONLY=text runs the tests whose names contain it).
//
// Usage: node dashboard.test.mjs http://127.0.0.1:PORT   (SHOTS=dir, CHROMIUM=path optional)

import { readdirSync } from "node:fs";
import { finish } from "./harness.mjs";

const dir = new URL("./tests/", import.meta.url);
for (const file of readdirSync(dir).filter((f) => f.endsWith(".mjs")).sort()) {
  await import(new URL(file, dir));
}
process.exit((await finish()) ? 1 : 0);
