// The dashboard in Chromium: model.

import assert from "node:assert/strict";
import { cardValue, ok, page, param, ready, shot, sig, test, text } from "../harness.mjs";

await test("model and hardware: anatomy and memory per format are the API's", async () => {
  const p = await page("/?view=model&model=gpt-3-175b&hardware=nvidia-h100-sxm-80gb&devices=8&formats=bf16,fp8,int4");
  const anatomy = await ok("GET", "/v1/models/gpt-3-175b/parameters");
  assert.equal(await cardValue(p, "total_parameters"), `${sig(anatomy.total_parameters / 1e9, 4)} B`);
  const formats = ["bf16", "fp8", "int4"];
  const estimates = await Promise.all(formats.map((weights) => ok("POST", "/v1/estimate/inference", { model: "gpt-3-175b", hardware: "nvidia-h100-sxm-80gb", devices: 8, weights, batch_size: 8, input_tokens: 2048, output_tokens: 256 })));
  // One stacked bar per format: each part's bytes, and the capacity mark, as answered.
  const weights = await p.locator('[data-figure=memory] rect[data-part="weights_bytes"]').evaluateAll((rects) => rects.map((r) => Number(r.dataset.bytes)));
  assert.deepEqual(weights, estimates.map((e) => e.memory.per_device.weights_bytes));
  const kv = await p.locator('[data-figure=memory] rect[data-part="kv_cache_bytes"]').evaluateAll((rects) => rects.map((r) => Number(r.dataset.bytes)));
  assert.deepEqual(kv, estimates.map((e) => e.memory.per_device.kv_cache_bytes));
  const capacity = await p.locator("[data-figure=memory] [data-capacity]").evaluateAll((lines) => lines.map((l) => Number(l.dataset.capacity)));
  assert.deepEqual(capacity, estimates.map((e) => e.memory.capacity_bytes));
  const rows = p.locator("[data-table=memory-by-format] tbody tr");
  assert.equal(await rows.count(), 3);
  for (const [i, e] of estimates.entries()) {
    assert.equal(await rows.nth(i).locator("td[data-key=weights]").innerText(), e.weights);
    assert.equal(await rows.nth(i).locator("td[data-key=fits]").innerText(), e.memory.fits ? "yes" : "no");
    assert.equal(await rows.nth(i).locator("td[data-key=total_bytes]").innerText(), `${sig(e.memory.per_device.total_bytes / 1e9)} GB`);
  }
  assert.equal(await cardValue(p, "ttft_ms"), `${sig(estimates[0].latency.ttft_ms)} ms`);
  // A number opens its explain entry, with the API's formula and error band.
  await p.locator('[data-metric="weights_bytes"] .num').click();
  await p.locator("#explain").waitFor({ state: "visible" });
  const rule = estimates[0].explain.find((e) => e.rule === "memory.weights");
  assert.equal(await text(p, "#explain .formula"), rule.formula);
  assert.match(await text(p, "#explain .explain-band"), /error band|no published measurement/);
  await shot(p, "model-gpt3-175b");
  await p.keyboard.press("Escape");
  assert.equal(await p.locator("#explain").isVisible(), false);
  // The GPT-2 story: a preset changes the inputs, the URL and the numbers.
  await p.getByRole("button", { name: "GPT-2 1.5B on one RTX 4090" }).click();
  await ready(p);
  assert.equal(param(p, "model"), "gpt2-xl");
  const gpt2 = await ok("GET", "/v1/models/gpt2-xl/parameters");
  assert.equal(await cardValue(p, "total_parameters"), `${sig(gpt2.total_parameters / 1e9, 4)} B`);
  await shot(p, "model-gpt2-xl");
  return p;
});
