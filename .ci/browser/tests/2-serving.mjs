// The dashboard in Chromium: serving.

import assert from "node:assert/strict";
import { BASE, cardValue, ok, page, param, ready, shot, sig, test } from "../harness.mjs";

await test("serving: throughput and percentiles against rate, SLO and capacity", async () => {
  const p = await page("/?view=serving");
  const body = (rate) => ({ model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: rate, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000, tpot_ms: 50 } });
  const probe = await ok("POST", "/v1/estimate/serving", body(1));
  const capacity = probe.max_requests_per_s_within_slo;
  assert.ok(capacity > 0);
  assert.equal(await cardValue(p, "capacity"), `${sig(capacity)} req/s`);
  const rates = [0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5].map((f) => Number((f * capacity).toPrecision(3)));
  const rows = p.locator("[data-table=serving] tbody tr");
  assert.equal(await rows.count(), rates.length);
  for (const i of [0, 5, 8]) {
    const run = await ok("POST", "/v1/estimate/serving", body(rates[i]));
    assert.equal(await rows.nth(i).locator("td[data-key=ttft_p90_ms]").innerText(), `${sig(run.ttft_ms.p90)} ms`);
    assert.equal(await rows.nth(i).locator("td[data-key=tpot_p99_ms]").innerText(), `${sig(run.tpot_ms.p99)} ms`);
    // Each rate's warnings (an overloaded queue above capacity), in the API's words.
    const warned = await rows.nth(i).locator("td[data-key=warnings] .warning").evaluateAll((ws) => ws.map((w) => w.dataset.code));
    assert.deepEqual(warned, run.warnings.map((w) => w.code));
    const words = await p.locator(`[data-rate-warnings] li[data-rate="${rates[i]}"]`).evaluateAll((lis) => lis.map((li) => [li.dataset.code, li.querySelector(".message").textContent]));
    assert.deepEqual(words, run.warnings.map((w) => [w.code, w.message]));
    const plotted = await p.locator(`[data-chart=serving-throughput] circle[data-x="${rates[i]}"]`).getAttribute("data-y");
    assert.equal(Number(plotted), run.throughput.output_tokens_per_s);
  }
  assert.equal(await p.locator("[data-chart=serving-ttft] circle").count(), rates.length * 3);
  assert.match(await p.locator("[data-chart=serving-ttft] [data-hline]").getAttribute("data-hline"), /SLO 2000 ms/);
  assert.match(await p.locator("[data-chart=serving-tpot] [data-vline]").getAttribute("data-vline"), /capacity within SLO/);
  await shot(p, "serving");
  // Changing an input re-runs the view and lands in the URL; the URL alone reproduces it.
  await p.fill("#f-tpot_slo_ms", "12");
  await p.click("button.run");
  await ready(p);
  assert.equal(param(p, "tpot_slo_ms"), "12");
  const shared = p.url();
  const tight = (await ok("POST", "/v1/estimate/serving", { ...body(1), slo: { ttft_ms: 2000, tpot_ms: 12 } })).max_requests_per_s_within_slo;
  const again = await page(shared.slice(BASE.length));
  assert.equal(await again.inputValue("#f-tpot_slo_ms"), "12");
  assert.equal(await cardValue(again, "capacity"), tight ? `${sig(tight)} req/s` : "none");
  assert.match(await again.locator("[data-chart=serving-tpot] [data-hline]").getAttribute("data-hline"), /SLO 12 ms/);
  return p;
});
