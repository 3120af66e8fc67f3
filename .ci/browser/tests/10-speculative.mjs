// The dashboard in Chromium: speculative decoding (web/views/speculative.js) in the model view.

import assert from "node:assert/strict";
import { cardValue, ok, page, test, text } from "../harness.mjs";
import { sig } from "../harness.mjs";

await test("speculative decoding: the model view's speculation cards are the API's", async () => {
  const p = await page("/?view=model&model=llama-3.1-70b&hardware=nvidia-h100-sxm-80gb&devices=4&formats=fp8&batch_size=1&input_tokens=1024&output_tokens=256&speculative=draft&draft_model=llama-3.2-1b");
  const answer = await ok("POST", "/v1/estimate/inference", { model: "llama-3.1-70b", hardware: "nvidia-h100-sxm-80gb", devices: 4, weights: "fp8", batch_size: 1, input_tokens: 1024, output_tokens: 256, speculative: { method: "draft", draft_model: "llama-3.2-1b" } });
  const s = answer.speculation;
  assert.ok(s && s.speedup > 1, JSON.stringify(s));
  assert.equal(await cardValue(p, "speculation_tokens_per_step"), sig(s.tokens_per_step));
  assert.equal(await cardValue(p, "speculation_speedup"), `${sig(s.speedup)}×`);
  assert.equal(await cardValue(p, "speculation_stops_paying_at_batch"), s.stops_paying_at_batch === null ? "pays up to the engine's limit" : String(s.stops_paying_at_batch));
  assert.match(await text(p, "[data-section=speculation] h3"), /draft, 4 draft tokens/);
  // Off by default: no section, and the request carries no speculative field.
  const plain = await page("/?view=model&model=llama-3.1-70b&hardware=nvidia-h100-sxm-80gb&devices=4&formats=fp8");
  assert.equal(await plain.locator("[data-section=speculation]").count(), 0);
});
