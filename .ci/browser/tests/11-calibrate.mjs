// The dashboard in Chromium: calibrate. Benchmark result files from tests/fixtures/benchmarks/,
// given through the file input and dropped on the zone, against POST /v1/calibrate's own answer
// for the same body.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { api, ok, page, pct, ready, shot, test, text } from "../harness.mjs";

const fixture = (name) => fileURLToPath(new URL(`../../../tests/fixtures/benchmarks/${name}`, import.meta.url));
/** A file's content as the page sends it: its JSON value when it parses, else its text. */
const content = (raw) => {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
};
const DEPLOYMENT = { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb" };
const body = (...names) => ({ results: names.map((name) => ({ name, content: content(readFileSync(fixture(name), "utf8")) })), deployment: DEPLOYMENT, folds: 5 });

/** Waits for the view to answer a new file (the results were ready before it came). */
async function answered(p) {
  await p.waitForFunction(() => document.querySelector("#results [data-answer=calibrate], #results .error"), null, { timeout: 60000 });
  await ready(p);
}

const cells = (p, table, key) => p.locator(`[data-table=${table}] tbody td[data-key=${key}]`).allInnerTexts();

/** What the page shows equals the answer: errors, metrics, points, constants, skipped runs, scatter. */
async function sameAsApi(p, answer) {
  // Empty lists are left out of the answer.
  answer = { metrics: [], points: [], constants: [], skipped: [], ...answer };
  // The error table: default and fitted over all measurements, then held out (when there is one).
  const errors = [answer.before, answer.after, ...(answer.held_out ? [answer.held_out.before, answer.held_out.after] : [])];
  assert.deepEqual(await cells(p, "calibrate-errors", "median_ape"), errors.map((e) => pct(e.median_ape)));
  assert.deepEqual(await cells(p, "calibrate-errors", "max_ape"), errors.map((e) => pct(e.max_ape)));
  assert.deepEqual(await cells(p, "calibrate-errors", "p90_ape"), errors.map((e) => pct(e.p90_ape)));
  assert.deepEqual(await cells(p, "calibrate-errors", "measurements"), errors.map((e) => e.measurements.toLocaleString("en-US")));
  if (!answer.held_out) assert.ok((await text(p, "[data-held-out=none]")).includes(answer.held_out_note));
  // Per metric.
  assert.equal(await p.locator("[data-table=calibrate-metrics] tbody tr").count(), answer.metrics.length);
  assert.deepEqual(await cells(p, "calibrate-metrics", "after_median_ape"), answer.metrics.map((m) => pct(m.after.median_ape)));
  assert.deepEqual(await cells(p, "calibrate-metrics", "held_out_median_ape"), answer.metrics.map((m) => (m.held_out ? pct(m.held_out.median_ape) : "–")));
  // Every point, and one marker per point per series (held-out ones where the answer has them).
  assert.equal(await p.locator("[data-table=calibrate-points] tbody tr").count(), answer.points.length);
  const finite = (key) => answer.points.filter((pt) => Number.isFinite(pt[key]) && pt.measured > 0).length;
  assert.equal(await p.locator("svg.chart .marker[data-series=default]").count(), finite("before"));
  assert.equal(await p.locator("svg.chart .marker[data-series=fitted]").count(), finite("after"));
  assert.equal(await p.locator("svg.chart .marker[data-series=held-out]").count(), finite("held_out"));
  assert.ok(finite("before") > 0, "the answer has points to plot");
  // One panel per metric, each with its y = x line, on log axes exactly where its values span more than ten times.
  const metrics = [...new Set(answer.points.map((pt) => pt.metric))];
  assert.equal(await p.locator("[data-figure^=calibrate-scatter-]").count(), metrics.length);
  for (const metric of metrics) {
    const values = answer.points.filter((pt) => pt.metric === metric).flatMap((pt) => [pt.measured, pt.before, pt.after, pt.held_out]).filter(Number.isFinite);
    const log = values.every((v) => v > 0) && Math.max(...values) / Math.min(...values) > 10;
    assert.equal(await p.getAttribute(`[data-chart=calibrate-scatter-${metric}]`, "data-log"), String(log), metric);
    assert.equal(await p.locator(`[data-chart=calibrate-scatter-${metric}] [data-line="y=x"]`).count(), 1);
  }
  // The constants that moved.
  const moved = answer.constants.filter((c) => c.after !== c.before);
  assert.equal(await p.getAttribute("[data-constants]", "data-constants"), String(moved.length));
  if (moved.length) assert.deepEqual(await cells(p, "calibrate-constants", "name"), moved.map((c) => c.name));
  // Skipped runs.
  assert.equal(await p.getAttribute("[data-skipped]", "data-skipped"), String(answer.skipped.length));
}

await test("calibrate: a result file through the input, two dropped, a broken one", async () => {
  const p = await page("/?view=calibrate", { allowHttpErrors: true });
  assert.equal(await p.locator("#results [data-calibrate=empty]").count(), 1, "nothing is asked before a file");
  assert.equal(await p.inputValue("#f-model"), DEPLOYMENT.model);
  assert.equal(await p.inputValue("#f-hardware"), DEPLOYMENT.hardware);

  // A GuideLLM report through the file input.
  const answer = await ok("POST", "/v1/calibrate", body("guidellm_v1.json"));
  await p.setInputFiles("#f-results", fixture("guidellm_v1.json"));
  await answered(p);
  await sameAsApi(p, answer);
  assert.equal(await p.getAttribute("form.inputs [data-dropped]", "data-dropped"), "guidellm_v1.json");
  // The fitted profile downloads as <engine>-profile.json, the answer's `profile` as it is.
  const [download] = await Promise.all([p.waitForEvent("download"), p.click("[data-download=profile]")]);
  assert.equal(download.suggestedFilename(), `${answer.engine}-profile.json`);
  assert.deepEqual(JSON.parse(readFileSync(await download.path(), "utf8")), answer.profile);
  await shot(p, "calibrate");

  // A changed field runs again on the same file.
  const fewer = await ok("POST", "/v1/calibrate", { ...body("guidellm_v1.json"), folds: 2 });
  await p.fill("#f-folds", "2");
  await p.click("button.run");
  await ready(p);
  await sameAsApi(p, fewer);

  // Two files dropped on the zone (a drop event carrying them): GuideLLM 0.2's two runs give a
  // held-out error, and its predictions are marked.
  await p.fill("#f-folds", "5");
  const names = ["guidellm_0.2.json", "vllm_bench_serve_detailed.json"];
  const dropped = await ok("POST", "/v1/calibrate", body(...names));
  assert.ok(dropped.held_out, "two runs give a held-out error");
  await p.evaluate(() => (document.getElementById("results").innerHTML = ""));
  const transfer = await p.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const [file, raw] of files) dt.items.add(new File([raw], file, { type: "application/json" }));
    return dt;
  }, names.map((name) => [name, readFileSync(fixture(name), "utf8")]));
  await p.dispatchEvent("label.drop-zone", "dragover", { dataTransfer: transfer });
  await p.dispatchEvent("label.drop-zone", "drop", { dataTransfer: transfer });
  await answered(p);
  await sameAsApi(p, dropped);
  assert.ok((await p.locator("svg.chart .marker[data-series=held-out]").count()) > 0, "held-out predictions are marked");
  assert.equal(await p.getAttribute("form.inputs [data-dropped]", "data-dropped"), names.join(","));

  // At a phone's width the answer does not scroll sideways.
  await p.setViewportSize({ width: 390, height: 844 });
  assert.ok((await p.evaluate(() => document.documentElement.scrollWidth)) <= 391, "the calibrate answer fits 390 px");
  await p.setViewportSize({ width: 1280, height: 900 });

  // A truncated file: the problem names the file's content by its pointer.
  const raw = readFileSync(fixture("guidellm_v1.json"), "utf8");
  const truncated = raw.slice(0, Math.floor(raw.length / 2));
  const bad = await api("POST", "/v1/calibrate", { results: [{ name: "truncated.json", content: truncated }], deployment: DEPLOYMENT, folds: 5 });
  assert.ok(bad.status >= 400 && bad.status < 500, `a truncated file is refused: ${bad.status}`);
  await p.evaluate(() => (document.getElementById("results").innerHTML = ""));
  await p.setInputFiles("#f-results", { name: "truncated.json", mimeType: "application/json", buffer: Buffer.from(truncated) });
  await answered(p);
  assert.equal(await text(p, "#results .error code"), bad.json.errors[0].pointer);
  assert.equal(await p.getAttribute("#results .error li", "data-field"), "results");
  // A pointer into a file names the file before the API's words.
  assert.equal(await text(p, "#results .error .detail"), `truncated.json: ${bad.json.errors[0].detail}`);
  return p;
});
