// The dashboard in Chromium: serving.

import assert from "node:assert/strict";
import { BASE, cardValue, ok, page, param, ready, shot, sig, test, text } from "../harness.mjs";

const body = (rate, extra = {}) => ({ model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: rate, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000, tpot_ms: 50 }, ...extra });
const detail = { detail: { timeline: true, histograms: true } };
const numbers = (p, selector, attribute) => p.locator(selector).evaluateAll((els, a) => els.map((e) => Number(e.getAttribute(a))), attribute);

await test("serving at my rate: the SLO verdict, percentiles, histograms and the replay over time, as the API answers them", async () => {
  const p = await page("/?view=serving");
  const mine = await ok("POST", "/v1/estimate/serving", body(1, detail));
  // The verdict at my rate, target by target.
  assert.equal(await p.getAttribute("[data-slo-verdict]", "data-slo-verdict"), mine.slo_verdict.met ? "met" : "fails");
  for (const t of mine.slo_verdict.targets) {
    assert.equal(await p.getAttribute(`[data-slo-verdict] li[data-target="${t.metric}:p${t.percentile}"]`, "data-met"), String(t.met));
    assert.match(await text(p, `[data-slo-verdict] li[data-target="${t.metric}:p${t.percentile}"]`), new RegExp(`${sig(t.value_ms).replace(/[.,]/g, "\\$&")} ms`));
  }
  // Percentile cards, each the answer's number at my rate.
  for (const key of ["ttft", "tpot", "e2e"]) {
    for (const q of ["p50", "p90", "p99"]) assert.equal(await cardValue(p, `${key}_${q}_ms`), `${sig(mine[`${key}_ms`][q])} ms`, `${key} ${q}`);
  }
  // Histograms: one bar per bin of the API, with its count and edges, and the SLO's line.
  for (const [chartId, key, limit] of [["serving-ttft-histogram", "ttft_ms", 2000], ["serving-tpot-histogram", "tpot_ms", 50]]) {
    const bins = mine.histograms[key];
    assert.deepEqual(await numbers(p, `[data-chart=${chartId}] rect[data-count]`, "data-count"), bins.counts);
    assert.deepEqual(await numbers(p, `[data-chart=${chartId}] rect[data-count]`, "data-lo"), bins.edges_ms.slice(0, -1));
    assert.equal(bins.counts.reduce((a, b) => a + b, 0), mine.completed);
    assert.match(await p.getAttribute(`[data-chart=${chartId}] [data-vline]`, "data-vline"), new RegExp(`SLO ${limit} ms`));
  }
  // The replay over time: as many points as the API returns, its values, the KV capacity line.
  const t = mine.timeline;
  assert.ok(t.t_s.length > 10 && t.t_s.length <= 200);
  assert.deepEqual(await numbers(p, "[data-chart=serving-kv-timeline] circle", "data-y"), t.kv_cache_used_tokens);
  assert.deepEqual(await numbers(p, "[data-chart=serving-kv-timeline] circle", "data-x"), t.t_s);
  assert.deepEqual(await numbers(p, '[data-chart=serving-queue-timeline] circle[data-series="running"]', "data-y"), t.running);
  assert.deepEqual(await numbers(p, '[data-chart=serving-queue-timeline] circle[data-series="waiting"]', "data-y"), t.waiting);
  assert.match(await p.getAttribute("[data-chart=serving-kv-timeline] [data-hline]", "data-hline"), new RegExp(`KV capacity ${mine.kv_cache.capacity_tokens.toLocaleString("en-US")} tokens`));
  // The capacity opens its own explain entry, with the API's value.
  const capacity = mine.max_requests_per_s_within_slo;
  assert.equal(await cardValue(p, "capacity"), `${sig(capacity)} req/s`);
  await p.click('[data-metric="capacity"] button.num');
  assert.equal(await p.isVisible("#explain"), true);
  assert.equal(await text(p, "#explain-body strong"), "serving.max_requests_per_s_within_slo");
  const entry = mine.explain.find((e) => e.rule === "serving.max_requests_per_s_within_slo");
  assert.equal(await text(p, "#explain-body .explain-value"), sig(entry.value, 4));
  assert.equal(entry.value, capacity);
  await p.click("#explain-close");
  // My rate and the capacity, both marked on the sweep.
  for (const id of ["serving-throughput", "serving-ttft", "serving-tpot"]) {
    const lines = await p.locator(`[data-chart=${id}] [data-vline]`).evaluateAll((ls) => ls.map((l) => l.dataset.vline));
    assert.deepEqual(lines, [`capacity within SLO ${sig(capacity)} req/s`, "my rate 1 req/s"], id);
  }
  await shot(p, "serving");
  // Another rate of mine: the verdict and cards follow the API's answer at that rate, and the URL.
  const fast = Number((1.3 * capacity).toPrecision(3));
  await p.fill("#f-rate", String(fast));
  await p.click("button.run");
  await ready(p);
  assert.equal(param(p, "rate"), String(fast));
  const over = await ok("POST", "/v1/estimate/serving", body(fast, detail));
  assert.equal(over.slo_verdict.met, false);
  assert.equal(await p.getAttribute("[data-slo-verdict]", "data-slo-verdict"), "fails");
  assert.equal(await cardValue(p, "ttft_p90_ms"), `${sig(over.ttft_ms.p90)} ms`);
  assert.match(await text(p, "[data-slo-verdict] strong"), over.slo_verdict.overloaded ? /overloaded/ : /above the limit/);
  assert.equal(await p.locator("[data-chart=serving-kv-timeline] circle").count(), over.timeline.t_s.length);
  return p;
});

await test("serving: throughput and percentiles against rate, SLO and capacity; no rate at or below the capacity overloaded", async () => {
  const p = await page("/?view=serving");
  const probe = await ok("POST", "/v1/estimate/serving", body(1));
  const capacity = probe.max_requests_per_s_within_slo;
  assert.ok(capacity > 0);
  const rates = [0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5].map((f) => Number((f * capacity).toPrecision(3)));
  const rows = p.locator("[data-table=serving] tbody tr");
  assert.equal(await rows.count(), rates.length);
  for (const [i, rate] of rates.entries()) {
    const run = await ok("POST", "/v1/estimate/serving", body(rate));
    const row = rows.nth(i);
    assert.equal(await row.locator("td[data-key=regime]").innerText(), run.regime);
    // Issue 27, item 2: a rate within the capacity is never called overloaded, by the API or the page.
    if (rate <= capacity) {
      assert.notEqual(run.regime, "overloaded", `${rate} req/s`);
      assert.ok(!run.warnings.some((w) => w.code === "overloaded"), `${rate} req/s: ${JSON.stringify(run.warnings)}`);
      assert.equal(await row.locator('td[data-key=warnings] [data-code="overloaded"]').count(), 0);
      assert.equal(await row.locator("td[data-key=slo_met]").innerText(), "met");
    }
    if (![0, 5, 8].includes(i)) continue;
    assert.equal(await row.locator("td[data-key=ttft_p90_ms]").innerText(), `${sig(run.ttft_ms.p90)} ms`);
    assert.equal(await row.locator("td[data-key=tpot_p99_ms]").innerText(), `${sig(run.tpot_ms.p99)} ms`);
    // Each rate's warnings (an overloaded queue above capacity), in the API's words.
    const warned = await row.locator("td[data-key=warnings] .warning").evaluateAll((ws) => ws.map((w) => w.dataset.code));
    assert.deepEqual(warned, run.warnings.map((w) => w.code));
    const words = await p.locator(`[data-rate-warnings] li[data-rate="${rate}"]`).evaluateAll((lis) => lis.map((li) => [li.dataset.code, li.querySelector(".message").textContent]));
    assert.deepEqual(words, run.warnings.map((w) => [w.code, w.message]));
    const plotted = await p.locator(`[data-chart=serving-throughput] circle[data-x="${rate}"]`).getAttribute("data-y");
    assert.equal(Number(plotted), run.throughput.output_tokens_per_s);
  }
  assert.equal(await p.locator("[data-chart=serving-ttft] circle").count(), rates.length * 3);
  assert.match(await p.locator("[data-chart=serving-ttft] [data-hline]").getAttribute("data-hline"), /SLO 2000 ms/);
  assert.match(await p.locator("[data-chart=serving-tpot] [data-vline]").first().getAttribute("data-vline"), /capacity within SLO/);
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
  assert.match(await again.locator("[data-chart=serving-tpot-histogram] [data-vline]").getAttribute("data-vline"), /SLO 12 ms/);
  return p;
});

await test("serving at phone width: the verdict first, charts inside the page", async () => {
  const p = await page("/?view=serving", { viewport: { width: 390, height: 844 } });
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 391, `serving is ${width} px wide at 390`);
  const wide = await p.locator("#results svg.chart").evaluateAll((svgs) => svgs.filter((s) => s.getBoundingClientRect().right > 391).length);
  assert.equal(wide, 0, "a chart overflows");
  await shot(p, "phone-serving");
  return p;
});
