// The dashboard in Chromium: plan.

import assert from "node:assert/strict";
import { join } from "node:path";
import { before, cardValue, ok, page, shot, sig, test } from "../harness.mjs";

await test("plan: frontier, ranking, and a clicked point's full estimate", async () => {
  const hardware = "nvidia-h100-sxm-80gb,nvidia-a100-sxm4-80gb,nvidia-l40s";
  const p = await page(`/?view=plan&hardware=${encodeURIComponent(hardware)}`);
  const plan = await ok("POST", "/v1/plan", { models: ["llama-3.1-70b"], workload: { requests_per_s: 10, input_tokens: 1000, output_tokens: 200 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, limit: 40, search: { hardware: hardware.split(",") } });
  assert.ok(plan.ranked.length > 0);
  const rows = p.locator("[data-table=plan] tbody tr");
  assert.equal(await rows.count(), plan.ranked.length);
  const first = plan.ranked[0];
  assert.equal(await rows.first().locator("td[data-key=hardware]").innerText(), first.hardware);
  assert.equal(await rows.first().locator("td[data-key=usd_per_million_output_tokens]").innerText(), `$${sig(first.cost.usd_per_million_output_tokens)}`);
  assert.equal(await p.locator('[data-chart=plan-frontier] circle[data-series="Pareto frontier"]').count(), plan.pareto.filter((r) => Number.isFinite(r.cost.usd_per_million_output_tokens)).length);
  // Click the first ranked point: its full estimate, asked of the API, appears.
  const point = p.locator('[data-chart=plan-frontier] circle[data-series="ranked configurations"]').first();
  const x = Number(await point.getAttribute("data-x"));
  const row = plan.ranked.find((r) => r.latency.e2e_ms === x);
  // Points may overlap; the keyboard reaches each one (and a pointer the topmost).
  await point.focus();
  await p.keyboard.press("Enter");
  await p.locator("[data-estimate]").waitFor();
  const estimate = await ok("POST", "/v1/estimate/inference", { model: row.model, hardware: row.hardware, devices: row.devices, parallelism: { tensor: row.parallelism.tensor, pipeline: row.parallelism.pipeline }, weights: row.weights, kv_cache: row.kv_cache, batch_size: row.batch_size, input_tokens: 1000, output_tokens: 200, engine: row.engine });
  assert.equal(await cardValue(p, "tpot_ms"), `${sig(estimate.latency.tpot_ms)} ms`);
  // Under the workload: the serving replay of the same configuration at the plan's rate, which
  // is the replay the plan ranked it by (one answer: the row's own latencies).
  const load = await ok("POST", "/v1/estimate/serving", { model: row.model, hardware: row.hardware, devices: row.devices, parallelism: row.parallelism, weights: row.weights, kv_cache: row.kv_cache, engine: row.engine, scheduler: { max_num_seqs: row.batch_size }, workload: { arrival: "poisson", requests_per_s: 10, input_tokens: 1000, output_tokens: 200 } });
  assert.equal(await cardValue(p, "load_ttft_ms"), `${sig(load.ttft_ms.mean)} ms`);
  assert.equal(await cardValue(p, "load_tpot_ms"), `${sig(load.tpot_ms.mean)} ms`);
  assert.equal(sig(load.ttft_ms.mean), sig(row.latency.ttft_ms));
  assert.equal(sig(load.tpot_ms.mean), sig(row.latency.tpot_ms));
  // Every row carries the check's verdict at the plan's rate.
  assert.equal(await rows.first().locator("td[data-key=verdict]").innerText(), first.verdict);
  // A row opens by keyboard too.
  const before = await p.locator("[data-estimate]").getAttribute("data-estimate");
  await rows.nth(1).focus();
  await p.keyboard.press("Enter");
  await p.waitForFunction((key) => document.querySelector("[data-estimate]")?.dataset.estimate !== key, before);
  const second = plan.ranked[1];
  assert.equal(await p.locator("[data-estimate]").getAttribute("data-estimate"), [second.hardware, second.devices, second.parallelism.tensor, second.parallelism.pipeline, second.weights, second.batch_size, second.engine].join("|"));
  await shot(p, "plan");
  return p;
});
