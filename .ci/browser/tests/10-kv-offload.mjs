// The dashboard in Chromium: KV offload and prefix reuse in the serving view (web/views/kv-offload.js).

import assert from "node:assert/strict";
import { ok, page, sig, test } from "../harness.mjs";

const count = (x) => Math.round(x).toLocaleString("en-US");
const pct = (x) => `${sig(x * 100, 3)}%`;

await test("serving with a host tier and shared prefixes: the tier cards are the API's answer", async () => {
  const p = await page("/?view=serving&rate=3&input_tokens=8000&output_tokens=64&requests=200&kv_host_gb=500&prefix_tokens=7000&prefix_distinct=200");
  // The four fields sit in one fieldset of the form.
  const grouped = await p.locator('fieldset[data-fieldset="kv-offload"] input').evaluateAll((els) => els.map((e) => e.name));
  assert.deepEqual(grouped, ["kv_host_gb", "kv_disk_gb", "prefix_tokens", "prefix_distinct"]);
  const mine = await ok("POST", "/v1/estimate/serving", {
    model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm",
    workload: { arrival: "poisson", requests_per_s: 3, requests: 200, input_tokens: 8000, output_tokens: 64, prefix: { tokens: 7000, distinct: 200 } },
    slo: { ttft_ms: 2000, tpot_ms: 50 }, kv_offload: { host_gb: 500 },
  });
  const card = (metric) => p.locator(`[data-metric="${metric}"] .value`).first().innerText();
  assert.equal(await card("kv_host_capacity_tokens"), `${count(mine.kv_cache.host_capacity_tokens)} tokens`);
  const o = mine.kv_offload;
  assert.equal(await card("kv_largest_concurrency"), `${count(o.largest_concurrency)} (device only ${count(o.without.largest_concurrency)})`);
  const s = mine.prefix_cache.hit_share;
  assert.equal(await card("prefix_hit_share"), `device ${pct(s.device)} · host ${pct(s.host)} · disk ${pct(s.disk)} · miss ${pct(s.miss)}`);
  assert.equal(await card("prefix_host_transfer_ms"), `${sig(mine.prefix_cache.host_transfer_ms_per_hit)} ms`);
  assert.equal(await card("prefix_ttft_saved_ms"), `${sig(mine.prefix_cache.ttft_saved_ms)} ms`);
  assert.ok(mine.prefix_cache.ttft_saved_ms > 0, "the host tier saves TTFT here");
  // The saved TTFT opens its rule, with the API's value.
  await p.click('[data-metric="prefix_ttft_saved_ms"] button.num');
  assert.equal(await p.locator("#explain-body strong").first().innerText(), "serving.prefix_ttft_saved");
  await p.click("#explain-close");
  // Without the fields, no tier section.
  const plain = await page("/?view=serving");
  assert.equal(await plain.locator('[data-section="kv-tiers"]').count(), 0);
  return p;
});
