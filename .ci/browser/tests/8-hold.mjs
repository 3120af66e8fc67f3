// The dashboard in Chromium: "Will it hold?", the landing task, and what carries between views.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BASE, cardValue, ok, open, page, param, ready, shot, sig, test, text } from "../harness.mjs";

/** The check the view sends for these inputs (web/views/hold.js `holdRequest`). */
const holdBody = ({ model = "llama-3.1-70b", hardware = "nvidia-h100-sxm-80gb", devices = 4, weights = "fp8", engine = "vllm", rate = 10, input = 1000, output = 200, ttft = 2000, tpot } = {}) => ({
  inference: { model, hardware, devices, weights, engine, batch_size: "max", input_tokens: input, output_tokens: output },
  requirements: { min_requests_per_s: rate, max_ttft_p90_ms: ttft, ...(tpot ? { max_tpot_p90_ms: tpot } : {}) },
});

await test("task: will 70B FP8 on 4 × H100 hold 10 requests/s at 2 s TTFT p90 (five steps, one answer)", async () => {
  // Start from other inputs, so every step is one a planner takes.
  const p = await page("/?view=hold&model=llama-3.1-8b&devices=1&weights=bf16&requests_per_s=1");
  await p.selectOption("#f-model", "llama-3.1-70b"); // 1
  await p.fill("#f-devices", "4"); // 2
  await p.selectOption("#f-weights", "fp8"); // 3
  await p.fill("#f-requests_per_s", "10"); // 4
  await p.click("button.run"); // 5 (the TTFT limit's default is 2000 ms, p90)
  await ready(p);
  const check = await ok("POST", "/v1/check", holdBody());
  const load = check.under_load;
  // One answer: yes or no, the check's own verdict, and the reasons that fail it.
  assert.equal(await p.getAttribute("[data-hold]", "data-hold"), check.verdict === "pass" ? "yes" : "no");
  const failing = check.rules.filter((r) => r.status !== "pass");
  assert.deepEqual(await p.locator("[data-reasons] li").evaluateAll((lis) => lis.map((li) => li.dataset.rule)), failing.map((r) => r.rule));
  for (const r of failing) assert.match(await text(p, `[data-reasons] li[data-rule="${r.rule}"]`), new RegExp(r.message.slice(0, 40).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  const sentence = await text(p, "[data-sentence]");
  assert.match(sentence, new RegExp(`most it serves within your limits is ${sig(load.capacity_requests_per_s).replace(".", "\\.")} requests/s`));
  assert.match(sentence, new RegExp(`TTFT p90 is ${sig(load.ttft_ms.p90).replace(/[.,]/g, "\\$&")} ms`));
  // The layout chosen, the capacity, the cost at my rate: the check's numbers.
  const par = check.inference.parallelism;
  assert.equal(await cardValue(p, "layout"), `4 × nvidia-h100-sxm-80gb: tensor ${par.tensor} × pipeline ${par.pipeline} × expert ${par.expert} × data ${par.data} (replicas)`);
  assert.equal(await cardValue(p, "capacity"), `${sig(load.capacity_requests_per_s)} req/s`);
  assert.equal(await cardValue(p, "usd_per_million_output_tokens"), `$${sig(load.usd_per_million_output_tokens)}`);
  // The same question through the serving door has the same capacity (one function).
  const serving = await ok("POST", "/v1/estimate/serving", { model: "llama-3.1-70b", hardware: "nvidia-h100-sxm-80gb", devices: 4, weights: "fp8", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 10, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000 } });
  assert.ok(Math.abs(serving.max_requests_per_s_within_slo - load.capacity_requests_per_s) <= 1e-9 * load.capacity_requests_per_s, `serving ${serving.max_requests_per_s_within_slo} vs check ${load.capacity_requests_per_s}`);
  // Cost at my rate: the price per hour over what the replay served (the API's figure).
  assert.ok(Math.abs(load.usd_per_million_output_tokens - (check.inference.cost.usd_per_hour / (load.output_tokens_per_s * 3600)) * 1e6) < 1e-6 * load.usd_per_million_output_tokens);
  await shot(p, "hold-1440");
  return p;
});

await test("will it hold: the links carry the same inputs to serving, plan and check, which agree", async () => {
  const p = await page("/?view=hold&model=llama-3.1-8b&hardware=nvidia-l40s&devices=2&weights=bf16&requests_per_s=3&input_tokens=1500&output_tokens=300&ttft_ms=1500&tpot_ms=60");
  const check = await ok("POST", "/v1/check", holdBody({ model: "llama-3.1-8b", hardware: "nvidia-l40s", devices: 2, weights: "bf16", rate: 3, input: 1500, output: 300, ttft: 1500, tpot: 60 }));
  assert.equal(await p.getAttribute("[data-hold]", "data-hold"), check.verdict === "pass" ? "yes" : "no");
  // Check: the link opens the check view with this very request, and its verdict is the same.
  const checkHref = await p.getAttribute('[data-carry="check"]', "href");
  await open(p, `/${checkHref}`);
  assert.equal(param(p, "view"), "check");
  assert.deepEqual(JSON.parse(await p.inputValue("#f-plan")), holdBody({ model: "llama-3.1-8b", hardware: "nvidia-l40s", devices: 2, weights: "bf16", rate: 3, input: 1500, output: 300, ttft: 1500, tpot: 60 }));
  assert.equal(await p.getAttribute("[data-verdict]", "data-verdict"), check.verdict);
  // Serving and plan: the inputs they share arrive under their own names.
  await p.goBack();
  await ready(p);
  await p.click('[data-carry="serving"]');
  await ready(p);
  assert.equal(param(p, "view"), "serving");
  for (const [field, value] of [["model", "llama-3.1-8b"], ["hardware", "nvidia-l40s"], ["devices", "2"], ["weights", "bf16"], ["rate", "3"], ["input_tokens", "1500"], ["output_tokens", "300"], ["ttft_slo_ms", "1500"], ["tpot_slo_ms", "60"]]) {
    assert.equal(await p.inputValue(`#f-${field}`), value, `serving ${field}`);
  }
  await p.goBack();
  await ready(p);
  await p.click('[data-carry="plan"]');
  await ready(p);
  assert.equal(param(p, "view"), "plan");
  for (const [field, value] of [["model", "llama-3.1-8b"], ["requests_per_s", "3"], ["input_tokens", "1500"], ["output_tokens", "300"], ["max_ttft_ms", "1500"], ["max_tpot_ms", "60"]]) {
    assert.equal(await p.inputValue(`#f-${field}`), value, `plan ${field}`);
  }
  return p;
});

await test("will it hold: a pasted Hugging Face config.json is the model; text that is not JSON is refused under its label", async () => {
  const config = readFileSync(new URL("../../../tests/fixtures/ernie-4.5-21b-a3b-pt.config.json", import.meta.url), "utf8");
  const p = await page("/?view=hold&hardware=nvidia-h100-sxm-80gb&devices=1&weights=bf16&requests_per_s=1", { allowHttpErrors: true });
  await p.fill("#f-config", config);
  await p.click("button.run");
  await ready(p);
  const check = await ok("POST", "/v1/check", holdBody({ model: JSON.parse(config), devices: 1, weights: "bf16", rate: 1 }));
  assert.equal(await p.getAttribute("[data-hold]", "data-hold"), check.verdict === "pass" ? "yes" : "no");
  assert.match(await text(p, "[data-sentence]"), /config\.json/);
  if (check.under_load?.completed) assert.equal(await cardValue(p, "capacity"), `${sig(check.under_load.capacity_requests_per_s)} req/s`);
  await p.fill("#f-config", "{ not json");
  await p.click("button.run");
  await ready(p);
  assert.equal(await p.locator("[data-hold]").count(), 0, "the old answer is gone");
  assert.match(await text(p, "#results .error"), /Or paste a Hugging Face config\.json/);
  assert.match(await text(p, "#results .error"), /is not JSON/);
  return p;
});

await test("carried between views: inputs asked once follow the planner from tab to tab", async () => {
  const p = await page("/?view=hold&model=llama-3.1-8b&hardware=nvidia-a100-sxm4-80gb&devices=2&weights=bf16&requests_per_s=4&input_tokens=700&output_tokens=150&ttft_ms=900");
  await p.click("#tab-serving");
  await ready(p);
  for (const [field, value] of [["model", "llama-3.1-8b"], ["hardware", "nvidia-a100-sxm4-80gb"], ["devices", "2"], ["rate", "4"], ["input_tokens", "700"], ["output_tokens", "150"], ["ttft_slo_ms", "900"]]) {
    assert.equal(await p.inputValue(`#f-${field}`), value, `serving ${field}`);
  }
  // A change made in one view is what the next one opens with.
  await p.fill("#f-input_tokens", "800");
  await p.click("button.run");
  await ready(p);
  await p.click("#tab-cost");
  await ready(p);
  assert.equal(await p.inputValue("#f-model"), "llama-3.1-8b");
  assert.equal(await p.inputValue("#f-input_tokens"), "800");
  assert.equal(await p.inputValue("#f-requests_per_s"), "4");
  assert.equal(await p.inputValue("#f-max_ttft_ms"), "900");
  // The plan searches every device unless told otherwise: one device is not carried into it.
  await p.click("#tab-plan");
  await ready(p);
  assert.equal(await p.inputValue("#f-model"), "llama-3.1-8b");
  assert.equal(await p.inputValue("#f-requests_per_s"), "4");
  assert.equal(param(p, "hardware"), null);
  // Back at the start, the inputs are still the planner's.
  await p.click("#tab-hold");
  await ready(p);
  assert.equal(await p.inputValue("#f-input_tokens"), "800");
  assert.equal(await p.inputValue("#f-hardware"), "nvidia-a100-sxm4-80gb");
  return p;
});

await test("keyboard and phone: one tab stop per chart, focus back after the explanation, the answer on the first screen", async () => {
  const p = await page("/?view=plan");
  // A chart's clickable points are one tab stop; arrow keys move between them.
  const stops = await p.locator("[data-chart] circle.point[tabindex='0']").count();
  const charts = await p.locator("[data-chart]:has(circle.point)").count();
  assert.equal(stops, charts);
  const first = p.locator("[data-chart] circle.point[tabindex='0']").first();
  await first.evaluate((c) => c.setAttribute("data-first", ""));
  await first.focus();
  await p.keyboard.press("ArrowRight");
  assert.equal(await p.evaluate(() => document.activeElement.getAttribute("tabindex")), "0");
  assert.equal(await p.evaluate(() => document.activeElement.matches("circle.point:not([data-first])")), true);
  assert.equal(await p.getAttribute("circle[data-first]", "tabindex"), "-1");
  // Closing the explanation gives focus back to the number that opened it.
  await open(p, "/?view=model");
  const number = p.locator('[data-metric="max_batch_size"] button.num');
  await number.focus();
  await p.keyboard.press("Enter");
  assert.equal(await p.isHidden("#explain"), false);
  await p.keyboard.press("Escape");
  assert.equal(await p.isHidden("#explain"), true);
  assert.equal(await p.evaluate(() => document.activeElement.closest("[data-metric]")?.dataset.metric), "max_batch_size");
  // At a phone's width the inputs fold into one line and the answer starts on the first screen;
  // chart text is drawn at its size, not scaled down.
  const phone = await page("/?view=hold", { viewport: { width: 390, height: 844 } });
  assert.equal(await phone.locator("details.inputs-box").getAttribute("open"), null);
  const top = await phone.evaluate(() => document.querySelector("[data-hold]").getBoundingClientRect().top);
  assert.ok(top < 844 * 0.6, `the verdict starts at ${top} px`);
  await open(phone, "/?view=serving");
  const size = await phone.evaluate(() => {
    const t = document.querySelector("svg.chart text");
    return t.getBoundingClientRect().height;
  });
  assert.ok(size >= 10, `chart text is ${size} px high at 390`);
  await phone.click("details.inputs-box > summary");
  assert.equal(await phone.isVisible("#f-model"), true);
  await open(phone, "/?view=hold");
  await shot(phone, "hold-390");
  return p;
});
