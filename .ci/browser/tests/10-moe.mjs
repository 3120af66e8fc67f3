// The dashboard in Chromium: mixture-of-experts fields in the serving view (web/views/moe.js).

import assert from "node:assert/strict";
import { ok, page, test } from "../harness.mjs";

await test("serving with expert ranks: the MoE fields reach the request and the expert_parallel table is the API's", async () => {
  const q = "model=qwen3-30b-a3b&hardware=nvidia-h100-sxm-80gb&devices=2&weights=fp8&engine=tensorrt-llm&rate=1&requests=50&expert=2&hottest_expert_load=1.3";
  const p = await page(`/?view=serving&${q}`);
  const answer = await ok("POST", "/v1/estimate/serving", {
    model: "qwen3-30b-a3b", hardware: "nvidia-h100-sxm-80gb", devices: 2, weights: "fp8", engine: "tensorrt-llm",
    workload: { arrival: "poisson", requests_per_s: 1, requests: 50, input_tokens: 1000, output_tokens: 200 },
    slo: { ttft_ms: 2000, tpot_ms: 50 }, detail: { timeline: true, histograms: true },
    parallelism: { expert: 2 }, moe: { hottest_expert_load: 1.3 },
  });
  const ep = answer.expert_parallel;
  assert.equal(ep.expert_ranks, 2);
  assert.equal(ep.hottest_expert_load, 1.3);
  for (const key of ["expert_ranks", "attention_data_parallel_ranks", "experts_per_rank", "hottest_expert_load", "dispatch_combine_ms_per_step", "kv_capacity_tokens_per_rank", "max_batch_per_rank"]) {
    assert.equal(await p.getAttribute(`[data-moe] tr[data-ep="${key}"]`, "data-value"), String(ep[key]), key);
  }
  // Without expert ranks the section is absent.
  const plain = await page("/?view=serving&model=qwen3-30b-a3b&hardware=nvidia-h100-sxm-80gb&devices=1&weights=fp8&engine=tensorrt-llm&rate=1&requests=50");
  assert.equal(await plain.locator("[data-moe]").count(), 0);
});

await test("serving with two-batch overlap: the field reaches the request and the exposed all-to-all is the API's", async () => {
  const q = "model=qwen3-30b-a3b&hardware=nvidia-h100-sxm-80gb&devices=2&weights=fp8&engine=tensorrt-llm&rate=1&requests=50&expert=2&two_batch_overlap=yes";
  const p = await page(`/?view=serving&${q}`);
  const body = (overlap) => ({
    model: "qwen3-30b-a3b", hardware: "nvidia-h100-sxm-80gb", devices: 2, weights: "fp8", engine: "tensorrt-llm",
    workload: { arrival: "poisson", requests_per_s: 1, requests: 50, input_tokens: 1000, output_tokens: 200 },
    slo: { ttft_ms: 2000, tpot_ms: 50 }, detail: { timeline: true, histograms: true },
    parallelism: { expert: 2 }, moe: { two_batch_overlap: overlap },
  });
  const [on, off] = await Promise.all([ok("POST", "/v1/estimate/serving", body(true)), ok("POST", "/v1/estimate/serving", body(false))]);
  const shown = await p.getAttribute('[data-moe] tr[data-ep="dispatch_combine_ms_per_step"]', "data-value");
  assert.equal(shown, String(on.expert_parallel.dispatch_combine_ms_per_step));
  assert.ok(on.expert_parallel.dispatch_combine_ms_per_step < off.expert_parallel.dispatch_combine_ms_per_step, "overlap hides some of the exchange");
  assert.equal(await p.getAttribute('[data-moe] tr[data-ep="expert_ranks"]', "data-value"), "2");
});
