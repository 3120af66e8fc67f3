// Drives Debian's Chromium (through playwright-core) against a running hwcost server and checks
// every view of the dashboard at `/`: it loads, shows the numbers the API returns for the same
// inputs (asked here, independently, over HTTP), reacts to changed inputs, keeps its state in the
// URL, exports its tables, is usable by keyboard and at a phone's width, and logs no console
// errors. Screenshots go to $SHOTS for people to look at.
//
// Usage: node dashboard.test.mjs http://127.0.0.1:PORT   (SHOTS=dir, CHROMIUM=path optional)

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.argv[2];
const SHOTS = process.env.SHOTS || "screenshots";
const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(SHOTS, { recursive: true });

// ---------------------------------------------------------------- the API, asked directly

async function api(method, path, body, contentType = "application/json") {
  const response = await fetch(BASE + path, {
    method,
    headers: body === undefined ? {} : { "content-type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const json = await response.json();
  return { status: response.status, json };
}
const ok = async (...args) => {
  const { status, json } = await api(...args);
  assert.equal(status, 200, `${args[1]}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
};

// The page's own number formatting (web/app.js `sig`), so expected text can be derived.
const sig = (x, d = 3) => Number(x.toPrecision(d)).toLocaleString("en-US");
// web/app.js `fmt.money`, `fmt.pct` and `signed`.
const money = (x) => (x >= 1e9 ? `$${sig(x / 1e9)} billion` : x >= 1e6 ? `$${sig(x / 1e6)} million` : x >= 1e3 ? `$${sig(x / 1e3)} thousand` : `$${sig(x)}`);
const pct = (x) => `${sig(x * 100, 3)}%`;
const signed = (x) => `${x > 0 ? "+" : x < 0 ? "−" : ""}${sig(Math.abs(x))}`;

/** Every view (tab) of the page. */
const VIEWS = ["model", "serving", "plan", "training", "scale", "check", "cost"];

// ---------------------------------------------------------------- harness

const browser = await chromium.launch({
  executablePath: EXECUTABLE,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const results = [];
const timings = {};

/** Pages the running test opened: checked for console errors, shot on failure, then closed. */
let opened = [];

async function page(url, { viewport = { width: 1280, height: 900 }, allowHttpErrors = false } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  // WEB=web serves the working tree's page files instead of the binary's embedded copy (to
  // try a change to web/ without rebuilding; CI leaves it unset and tests what is served).
  if (process.env.WEB) {
    await context.route(/\/assets\/(app\.js|style\.css)(\?.*)?$/, (route) => {
      const name = new URL(route.request().url()).pathname.split("/").pop();
      route.fulfill({ status: 200, contentType: name.endsWith(".js") ? "text/javascript" : "text/css", body: readFileSync(join(process.env.WEB, name), "utf8") });
    });
  }
  const p = await context.newPage();
  opened.push(p);
  p.problems = [];
  p.on("pageerror", (error) => p.problems.push(`page error: ${error.message}`));
  p.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    // A deliberate bad request is logged by Chromium as a failed resource load.
    if (allowHttpErrors && /status of 4\d\d/.test(text)) return;
    p.problems.push(`console error: ${text}`);
  });
  if (url) await open(p, url);
  return p;
}

async function open(p, url) {
  await p.goto(BASE + url);
  await ready(p);
}

/** Waits until the view has answered (the results carry data-ready once rendered). */
async function ready(p) {
  await p.waitForFunction(() => {
    const results = document.getElementById("results");
    return results && results.dataset.ready === "true" && !results.hasAttribute("aria-busy");
  }, null, { timeout: 30000 });
}

async function test(name, body) {
  if (process.env.ONLY && !name.includes(process.env.ONLY)) return;
  opened = [];
  const started = Date.now();
  try {
    await body();
    for (const p of opened) assert.deepEqual(p.problems, [], "the console has errors");
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}: ${error.stack || error}`);
    for (const [i, p] of opened.entries()) {
      await p.screenshot({ path: join(SHOTS, `FAILED-${name.replace(/\W+/g, "-")}-${i}.png`), fullPage: true }).catch(() => {});
    }
  } finally {
    for (const p of opened) await p.context().close().catch(() => {});
  }
}

const text = (p, selector) => p.locator(selector).first().innerText();
const cardValue = (p, metric) => text(p, `[data-metric="${metric}"] .value`);
const shot = (p, name) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const param = (p, name) => new URL(p.url()).searchParams.get(name);

// ---------------------------------------------------------------- the views

await test("first load: page, catalog and first view", async () => {
  const p = await page();
  const started = Date.now();
  await p.goto(BASE + "/");
  const loaded = await p.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd);
  await ready(p);
  timings.load_event_ms = Math.round(loaded);
  timings.first_view_ready_ms = Date.now() - started;
  assert.equal(await p.title(), "hwcost: what a model needs, how fast, at what cost");
  assert.equal(param(p, "view"), "model");
  // The model list is the whole catalog, paged through.
  const models = (await ok("GET", "/v1/models?limit=1")).total;
  assert.equal(await p.locator("#f-model option").count(), models);
  return p;
});

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

await test("does not fit: Llama-3.1-405B on one RTX 4090 says so first, with the API's reason, warnings and layout", async () => {
  const p = await page("/?view=serving&model=llama-3.1-405b&hardware=nvidia-rtx-4090&devices=1");
  const serving = await ok("POST", "/v1/estimate/serving", { model: "llama-3.1-405b", hardware: "nvidia-rtx-4090", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000, tpot_ms: 50 } });
  assert.equal(serving.verdict, "does_not_fit");
  // The verdict and the API's reason, prominently; the warning text as the API words it.
  assert.equal(await text(p, "[data-not-run] .reason"), serving.not_run.reason);
  assert.match(serving.not_run.reason, /GB per device/);
  assert.equal(await text(p, '[data-notes] li[data-code="does-not-fit"] .message'), serving.warnings[0].message);
  assert.equal(await p.locator("[data-notes] details.assumptions li").count(), serving.assumptions.length);
  assert.equal(await text(p, "[data-layout]"), `Layout: 1 × nvidia-rtx-4090: tensor ${serving.parallelism.tensor} × pipeline ${serving.parallelism.pipeline} × expert ${serving.parallelism.expert} × data ${serving.parallelism.data} (replicas)`);
  // No run: no charts of nothing, no "none" capacity, no null shown as a number.
  assert.equal(await p.locator("[data-chart]").count(), 0);
  assert.equal(await cardValue(p, "capacity"), "not run (does not fit)");
  assert.equal(await cardValue(p, "total_bytes"), `${sig(serving.memory.per_device.total_bytes / 1e9)} GB`);
  assert.doesNotMatch(await p.locator("#results").innerText(), /\bnull\b|NaN|undefined|– ms/);
  await shot(p, "serving-does-not-fit");
  // The model view: the same verdict per format, the run's cards and columns say "not run".
  await open(p, "/?view=model&model=llama-3.1-405b&hardware=nvidia-rtx-4090&devices=1&formats=bf16,int4");
  const estimates = await Promise.all(["bf16", "int4"].map((weights) => ok("POST", "/v1/estimate/inference", { model: "llama-3.1-405b", hardware: "nvidia-rtx-4090", devices: 1, weights, batch_size: 8, input_tokens: 2048, output_tokens: 256 })));
  for (const e of estimates) {
    assert.equal(e.verdict, "does_not_fit");
    assert.equal(e.latency, null);
    assert.equal(await text(p, `[data-not-run="${e.weights}"] .reason`), e.not_run.reason);
    assert.equal(await text(p, `[data-notes="${e.weights}"] li[data-code="does-not-fit"] .message`), e.warnings[0].message);
  }
  assert.equal(await cardValue(p, "ttft_ms"), "not run (does not fit)");
  assert.equal(await cardValue(p, "usd_per_million_output_tokens"), "not run (does not fit)");
  const row = p.locator("[data-table=memory-by-format] tbody tr").first();
  assert.equal(await row.locator("td[data-key=tpot_ms]").innerText(), "not run");
  assert.equal(await row.locator("td[data-key=usd_per_million_output_tokens]").innerText(), "not run");
  assert.match(await text(p, "[data-layout]"), /tensor 1 × pipeline 1/);
  assert.doesNotMatch(await p.locator("#results").innerText(), /\bnull\b|NaN|undefined|– ms/);
  await shot(p, "model-does-not-fit");
  // A fitting answer shows its warnings and assumptions too.
  await open(p, "/?view=model&model=llama-3.1-8b&hardware=nvidia-h100-sxm-80gb&devices=1&formats=bf16");
  const fits = await ok("POST", "/v1/estimate/inference", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", batch_size: 8, input_tokens: 2048, output_tokens: 256 });
  assert.equal(fits.verdict, "fits");
  assert.equal(await p.locator("[data-not-run]").count(), 0);
  assert.equal(await p.locator('[data-notes="bf16"] details.assumptions li').count(), fits.assumptions.length);
  assert.equal(await p.locator('[data-notes="bf16"] li[data-code]').count(), fits.warnings.length);
  return p;
});

/** What a `[data-notes]` section shows: the verdict's reason, warnings and assumptions, as text. */
async function shownNotes(p, label) {
  const section = p.locator(`[data-notes="${label}"]`);
  assert.equal(await section.count(), 1, `one notes section "${label}"`);
  return {
    reason: (await section.locator("[data-not-run] .reason").count()) ? await section.locator("[data-not-run] .reason").innerText() : null,
    warnings: await section.locator("li[data-code]").evaluateAll((lis) => lis.map((li) => [li.dataset.code, li.querySelector(".message").textContent])),
    assumptions: await section.locator("details.assumptions li").evaluateAll((lis) => lis.map((li) => [li.dataset.field, li.querySelector(".value").textContent, li.querySelector(".reason").textContent])),
  };
}
/** An answer's notes as the API words them, in the shape `shownNotes` reads. */
const apiNotes = (answer) => ({
  reason: answer.verdict === "does_not_fit" ? answer.not_run.reason : null,
  warnings: (answer.warnings || []).map((w) => [w.code, w.message]),
  assumptions: (answer.assumptions || []).map((a) => [a.field, a.value, a.reason]),
});
/** `a` comes before `b` in the document. */
const before = (p, a, b) => p.evaluate(([x, y]) => Boolean(document.querySelector(x).compareDocumentPosition(document.querySelector(y)) & Node.DOCUMENT_POSITION_FOLLOWING), [a, b]);

await test("warnings and assumptions: every view shows its answers' in the API's words, before the results", async () => {
  // Model: a prompt beyond the model's context, a warning of an answer that fits.
  const p = await page("/?view=model&model=llama-3.1-8b&hardware=nvidia-h100-sxm-80gb&devices=1&formats=bf16&input_tokens=200000&batch_size=1");
  const long = await ok("POST", "/v1/estimate/inference", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", batch_size: 1, input_tokens: 200000, output_tokens: 256 });
  assert.ok(long.warnings.some((w) => w.code === "context-above-maximum"), "the API warns of the context");
  assert.deepEqual(await shownNotes(p, "bf16"), apiNotes(long));
  assert.ok(await before(p, '[data-notes="bf16"]', "[data-figure]"), "the warnings come before the charts");
  // Serving: Llama-3.1-405B on one RTX 4090, the API's not_run.reason first, no charts.
  await open(p, "/?view=serving&model=llama-3.1-405b&hardware=nvidia-rtx-4090&devices=1");
  const big = await ok("POST", "/v1/estimate/serving", { model: "llama-3.1-405b", hardware: "nvidia-rtx-4090", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000, tpot_ms: 50 } });
  assert.deepEqual(await shownNotes(p, "the replay at 1 req/s"), apiNotes(big));
  assert.equal(await p.evaluate(() => document.querySelector("#results").firstElementChild.dataset.notes), "the replay at 1 req/s", "the verdict is the first thing shown");
  assert.equal(await p.locator("[data-chart]").count(), 0);
  // Serving, overloaded at the replayed rates above capacity: each warning as answered.
  await open(p, "/?view=serving");
  const probe = await ok("POST", "/v1/estimate/serving", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000, tpot_ms: 50 } });
  assert.deepEqual(await shownNotes(p, "the replay at 1 req/s"), apiNotes(probe));
  // Training: the fine-tune that does not fit, with its reason; each pre-training run's notes.
  await open(p, "/?view=training&ft_engine=hf-trainer&ft_method=full");
  const ft = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "hf-trainer", method: "full" });
  assert.equal(ft.verdict, "does_not_fit");
  assert.deepEqual(await shownNotes(p, "fine-tune"), apiNotes(ft));
  const run64 = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-a100-sxm4-80gb", devices: 64, tokens: 2e12, sharding: "zero1" });
  assert.deepEqual(await shownNotes(p, "64 devices"), apiNotes(run64));
  assert.ok(await before(p, '[data-notes="64 devices"]', "[data-figure]"));
  assert.ok(await before(p, '[data-notes="fine-tune"]', '[data-figure="finetune-phases"]'));
  // Plan and the local-vs-API comparison: the plan's assumptions (and the best one's notes).
  await open(p, "/?view=plan&hardware=nvidia-l40s");
  const plan = await ok("POST", "/v1/plan", { models: ["llama-3.1-70b"], workload: { requests_per_s: 10, input_tokens: 1000, output_tokens: 200 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, limit: 40, search: { hardware: ["nvidia-l40s"] } });
  assert.deepEqual(await shownNotes(p, "plan"), apiNotes(plan));
  await open(p, "/?view=cost");
  const cost = await ok("POST", "/v1/plan", { models: ["llama-3.1-8b"], workload: { requests_per_s: 0.5, input_tokens: 1000, output_tokens: 250 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, search: { hardware: ["nvidia-rtx-4090", "nvidia-h100-sxm-80gb"] }, prices: { "nvidia-rtx-4090": { basis: "own", electricity_usd_per_kwh: 0.2 }, "nvidia-h100-sxm-80gb": { basis: "rent" } }, api_price_id: "openai/gpt-4o-mini", limit: 20 });
  assert.deepEqual(await shownNotes(p, "plan"), apiNotes(cost));
  assert.deepEqual(await shownNotes(p, "the best configuration"), apiNotes(cost.best.inference));
  // Check: the deployment's notes, its not-run reason where it does not fit.
  await open(p, "/?view=check");
  await p.getByRole("button", { name: "Example (TOML): 70B on one H100" }).click();
  await ready(p);
  const report = await ok("POST", "/v1/check", await p.inputValue("#f-plan"), "application/toml");
  assert.deepEqual(await shownNotes(p, "check"), apiNotes({ ...report.inference, assumptions: report.assumptions }));
  await shot(p, "check-does-not-fit");
  return p;
});

await test("refused input: the problem replaces the results, under the field's form label, said once", async () => {
  const p = await page("/?view=serving", { allowHttpErrors: true });
  assert.ok((await p.locator("[data-table=serving] tbody tr").count()) > 0);
  await p.fill("#f-devices", "0");
  await p.click("button.run");
  await ready(p);
  const bad = await api("POST", "/v1/estimate/serving", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 0, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000, tpot_ms: 50 } });
  assert.equal(bad.status, 400);
  const error = bad.json.errors[0];
  assert.equal(error.pointer, "/devices");
  // The old results are gone: no table, chart or card of the previous answer.
  assert.equal(await p.locator("#results [data-table], #results [data-chart], #results .card").count(), 0);
  assert.equal(await p.locator("#results .error").count(), 1);
  assert.equal(await text(p, '#results .error li[data-pointer="/devices"] .field-label'), "Devices");
  const shown = await p.locator("#results").innerText();
  assert.equal(shown.split(error.detail).length - 1, 1, "the API's words, once");
  // A nested field: the SLO's pointer names its label.
  await p.fill("#f-devices", "1");
  await p.fill("#f-ttft_slo_ms", "-5");
  await p.click("button.run");
  await ready(p);
  const slo = await api("POST", "/v1/estimate/serving", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: -5, tpot_ms: 50 } });
  assert.equal(slo.status, 400);
  assert.equal(await text(p, `#results .error li[data-pointer="${slo.json.errors[0].pointer}"] .field-label`), "TTFT SLO, p90 (ms)");
  assert.equal(await p.locator("#results [data-table]").count(), 0);
  await shot(p, "refused-input");
  // What is not a number in a number field reads as empty: refused by the page, never sent as
  // absent (the API's default, silently).
  await p.fill("#f-ttft_slo_ms", "2000");
  await p.click("button.run");
  await ready(p);
  assert.ok((await p.locator("[data-table=serving] tbody tr").count()) > 0);
  await p.fill("#f-requests", "");
  await p.focus("#f-requests");
  await p.keyboard.type("3e");
  assert.equal(await p.evaluate(() => document.querySelector("#f-requests").validity.badInput), true);
  await p.click("button.run");
  await ready(p);
  assert.equal(await p.locator("#results [data-table], #results [data-chart]").count(), 0);
  assert.equal(await text(p, '#results .error li[data-field="requests"] .field-label'), "Requests replayed per rate");
  assert.equal(await text(p, '#results .error li[data-field="requests"] .detail'), "is not a number");
  // The model view: a device every format shares is refused once, not once per format.
  await open(p, "/?view=model&hardware=nvidia-h100-sxm-8gb&formats=bf16,fp8,int4");
  assert.equal(await p.locator("#results .error").count(), 1);
  assert.equal(await p.locator("#results [data-table]").count(), 0);
  assert.equal(await text(p, "#results .error .field-label"), "Device");
  return p;
});

await test("did you mean: a suggested id is a button that fills the field and runs the view", async () => {
  const p = await page("/?view=serving&hardware=nvidia-h100-sxm-8gb", { allowHttpErrors: true });
  const bad = await api("POST", "/v1/estimate/serving", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-8gb", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { ttft_ms: 2000, tpot_ms: 50 } });
  assert.equal(bad.status, 404);
  assert.match(bad.json.errors[0].detail, /did you mean nvidia-h100-sxm-80gb/);
  assert.equal(await text(p, "#results .error .field-label"), "Device");
  const suggested = await p.locator("#results .error button[data-suggestion]").evaluateAll((bs) => bs.map((b) => b.dataset.suggestion));
  assert.deepEqual(suggested, /did you mean (.+)\?$/.exec(bad.json.errors[0].detail)[1].split(" or "));
  // The second suggestion (the first is the view's default, which the URL leaves out).
  const chosen = suggested[1];
  await p.click(`#results .error button[data-suggestion="${chosen}"]`);
  await ready(p);
  assert.equal(param(p, "hardware"), chosen);
  assert.equal(await p.inputValue("#f-hardware"), chosen);
  assert.equal(await p.locator("#results .error").count(), 0);
  assert.ok((await p.locator("[data-table=serving] tbody tr").count()) > 0, "the suggestion produced results");
  // A typed list of ids: the suggestion replaces the unknown one only.
  await open(p, `/?view=plan&hardware=${encodeURIComponent("nvidia-l40s,nvidia-h100-sxm-8gb")}`);
  assert.equal(await p.locator("#results [data-table=plan]").count(), 0);
  assert.match(await text(p, "#results .error .field-label"), /^Devices to search/);
  await p.click('#results .error button[data-suggestion="nvidia-h100-sxm-80gb"]');
  await ready(p);
  assert.equal(param(p, "hardware"), "nvidia-l40s,nvidia-h100-sxm-80gb");
  assert.ok((await p.locator("[data-table=plan] tbody tr").count()) > 0);
  // An unknown model in a path (GET /v1/models/{id}/parameters: no pointer) names its field too.
  await open(p, "/?view=model&model=llama-3.1-8");
  const path = await api("GET", "/v1/models/llama-3.1-8/parameters");
  assert.equal(path.status, 404);
  assert.equal(await p.locator("#results .error").count(), 1);
  assert.equal(await text(p, "#results .error .field-label"), "Model");
  await p.click('#results .error button[data-suggestion="llama-3.1-8b"]');
  await ready(p);
  assert.equal(param(p, "model"), "llama-3.1-8b");
  const anatomy = await ok("GET", "/v1/models/llama-3.1-8b/parameters");
  assert.equal(await cardValue(p, "total_parameters"), `${sig(anatomy.total_parameters / 1e9, 4)} B`);
  return p;
});

await test("an emptied field: sent as absent, the API's default shown under its label and as the placeholder", async () => {
  const p = await page("/?view=model&model=llama-3.1-8b&hardware=nvidia-h100-sxm-80gb&devices=1&formats=bf16");
  await p.fill("#f-batch_size", "");
  await p.click("button.run");
  await ready(p);
  assert.equal(param(p, "batch_size"), "");
  const e = await ok("POST", "/v1/estimate/inference", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", input_tokens: 2048, output_tokens: 256 });
  const assumed = e.assumptions.find((a) => a.field === "batch_size");
  assert.ok(assumed, "the API assumes a batch size");
  assert.deepEqual(await shownNotes(p, "bf16"), apiNotes(e));
  const item = p.locator('[data-notes="bf16"] li[data-emptied="batch_size"]');
  assert.equal(await item.count(), 1);
  assert.match(await item.innerText(), new RegExp(`^Batch size left empty: batch_size = ${assumed.value}: `));
  assert.equal(await p.locator('[data-notes="bf16"] details.assumptions').getAttribute("open"), "");
  assert.equal(await p.getAttribute("#f-batch_size", "placeholder"), `${assumed.value} (assumed)`);
  assert.equal(await cardValue(p, "max_batch_size"), e.memory.max_batch_size.toLocaleString("en-US"));
  // The link reproduces it: the field stays empty, the default stays said.
  const again = await page(new URL(p.url()).search ? `/${new URL(p.url()).search}` : "/");
  assert.equal(await again.inputValue("#f-batch_size"), "");
  assert.equal(await again.getAttribute("#f-batch_size", "placeholder"), `${assumed.value} (assumed)`);
  // No weight format: one estimate in the API's default format, said to be assumed.
  await p.fill("#f-batch_size", "8");
  await p.fill("#f-formats", "");
  await p.click("button.run");
  await ready(p);
  const plain = await ok("POST", "/v1/estimate/inference", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, batch_size: 8, input_tokens: 2048, output_tokens: 256 });
  const format = plain.assumptions.find((a) => a.field === "weights");
  assert.ok(format, "the API assumes a weight format");
  assert.deepEqual(await shownNotes(p, plain.weights), apiNotes(plain));
  assert.match(await p.locator(`[data-notes="${plain.weights}"] li[data-emptied="formats"]`).innerText(), /^Weight formats \(comma-separated\) left empty: weights = /);
  assert.equal(await p.getAttribute("#f-formats", "placeholder"), `${format.value} (assumed)`);
  assert.equal(await p.locator("[data-table=memory-by-format] tbody tr").count(), 1);
  // A field the answer names no default for (no TTFT limit) is said to have been sent empty,
  // and its SLO line is not drawn at a number nobody gave.
  await open(p, "/?view=serving&ttft_slo_ms=");
  const noTtft = await ok("POST", "/v1/estimate/serving", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { tpot_ms: 50 } });
  if (noTtft.assumptions.some((a) => a.field === "slo/ttft_ms")) {
    assert.equal(await p.locator('[data-emptied="ttft_slo_ms"]').count(), 1);
  } else {
    assert.equal(await p.locator("[data-unassumed]").getAttribute("data-unassumed"), "ttft_slo_ms");
    assert.match(await text(p, "[data-unassumed]"), /TTFT SLO, p90 \(ms\)/);
  }
  assert.equal(await p.locator("[data-chart=serving-ttft] [data-hline]").count(), 0);
  assert.equal(await cardValue(p, "capacity"), noTtft.max_requests_per_s_within_slo ? `${sig(noTtft.max_requests_per_s_within_slo)} req/s` : "none");
  return p;
});

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

await test("training and fine-tuning: sweep and one-device fit", async () => {
  const p = await page("/?view=training");
  const counts = [64, 128, 256, 512, 1024];
  const runs = await Promise.all(counts.map((devices) => ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-a100-sxm4-80gb", devices, tokens: 2e12, sharding: "zero1" })));
  const rows = p.locator("[data-table=training] tbody tr");
  assert.equal(await rows.count(), counts.length);
  for (const [i, r] of runs.entries()) {
    assert.equal(await rows.nth(i).locator("td[data-key=wall_clock_days]").innerText(), sig(r.time.wall_clock_days, 4));
    assert.equal(await rows.nth(i).locator("td[data-key=device_hours]").innerText(), Math.round(r.time.device_hours).toLocaleString("en-US"));
  }
  // A table's number opens its own row's explain entry.
  await rows.nth(2).locator("td[data-key=wall_clock_days] .num").click();
  await p.locator("#explain").waitFor({ state: "visible" });
  const wall = runs[2].explain.find((e) => e.rule === "time.wall_clock");
  assert.equal(await text(p, "#explain .formula"), wall.formula);
  assert.equal(await text(p, "#explain .explain-value"), sig(wall.value, 4));
  await p.click("#explain-close");
  const days = await p.locator("[data-chart=training-days] circle").evaluateAll((c) => c.map((e) => Number(e.dataset.y)));
  assert.deepEqual(days, runs.map((r) => r.time.wall_clock_days));
  const ft = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "torchtune", method: "lora" });
  assert.equal(await p.locator("[data-verdict]").getAttribute("data-verdict"), ft.memory.fits ? "fits" : "no-fit");
  assert.equal(await cardValue(p, "max_micro_batch_size"), ft.memory.max_micro_batch_size.toLocaleString("en-US"));
  assert.equal(await cardValue(p, "ft_total_bytes"), `${sig(ft.memory.per_device.total_bytes / 1e9)} GB`);
  await shot(p, "training");
  // A full fine-tune with the HF Trainer does not fit a 4090: the page says so and names the cheapest change.
  await p.selectOption("#f-ft_engine", "hf-trainer");
  await p.selectOption("#f-ft_method", "full");
  await p.click("button.run");
  await ready(p);
  const full = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "hf-trainer", method: "full" });
  assert.equal(full.memory.fits, false);
  assert.equal(await p.locator("[data-verdict]").getAttribute("data-verdict"), "no-fit");
  assert.equal(await cardValue(p, "cheapest"), full.fit.cheapest.change);
  assert.equal(await p.locator("[data-table=finetune-changes] tbody tr").count(), full.fit.changes.length);
  return p;
});

await test("check: pasted JSON, TOML, an uploaded file and a bad plan", async () => {
  const p = await page("/?view=check", { allowHttpErrors: true });
  const plan = await p.inputValue("#f-plan");
  const report = await ok("POST", "/v1/check", plan);
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  assert.equal(await p.locator("[data-table=check] tbody tr").count(), report.rules.length);
  assert.equal(await p.locator("[data-table=check] tbody tr").first().locator("td[data-key=status]").innerText(), report.rules[0].status);
  // The load it was judged under: the same capacity the serving view and the planner read.
  if (report.under_load) {
    assert.equal(await p.locator("#results [data-under-load]").getAttribute("data-under-load"), report.under_load.holds ? "holds" : "does-not-hold");
    assert.equal(await cardValue(p, "capacity"), `${sig(report.under_load.capacity_requests_per_s, 4)} req/s`);
  }
  await shot(p, "check");
  await p.getByRole("button", { name: "Example (TOML): 70B on one H100" }).click();
  await ready(p);
  const toml = await p.inputValue("#f-plan");
  const tomlReport = await ok("POST", "/v1/check", toml, "application/toml");
  assert.equal(tomlReport.verdict, "fail");
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), "fail");
  // Upload: the file's text becomes the plan, its extension the syntax.
  const file = join(SHOTS, "upload-plan.json");
  writeFileSync(file, plan);
  await p.setInputFiles("#f-file", file);
  await p.waitForFunction(() => document.querySelector("#f-syntax").value === "json");
  await ready(p);
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  // A bad plan: the problem's pointer is shown.
  await p.selectOption("#f-syntax", "json");
  await p.fill("#f-plan", JSON.stringify({ inference: { model: "llama-3.1-70b", hardware: "nvidia-h100-sxm-80gb", batch_size: -1 }, requirements: {} }));
  await p.click("button.run");
  await ready(p);
  const bad = await api("POST", "/v1/check", await p.inputValue("#f-plan"));
  assert.equal(bad.status, 400);
  assert.equal(await text(p, "#results .error code"), bad.json.errors[0].pointer);
  return p;
});

await test("local vs cloud vs API: break-even points and cost curves", async () => {
  const p = await page("/?view=cost");
  const plan = await ok("POST", "/v1/plan", { models: ["llama-3.1-8b"], workload: { requests_per_s: 0.5, input_tokens: 1000, output_tokens: 250 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, search: { hardware: ["nvidia-rtx-4090", "nvidia-h100-sxm-80gb"] }, prices: { "nvidia-rtx-4090": { basis: "own", electricity_usd_per_kwh: 0.2 }, "nvidia-h100-sxm-80gb": { basis: "rent" } }, api_price_id: "openai/gpt-4o-mini", limit: 20 });
  assert.ok(plan.api_comparison.length >= 1);
  for (const c of plan.api_comparison) {
    const expected = c.break_even_output_tokens_per_month ? `${sig(c.break_even_output_tokens_per_month / 1e6)} M output tokens/month` : "never";
    assert.equal(await cardValue(p, `break_even_${c.basis}`), expected);
    // Each curve is the API's fixed part plus its per-token part; it crosses the API's line at the break-even.
    const atBreakEven = c.self_hosted_fixed_usd_per_month + (c.self_hosted_marginal_usd_per_million_output_tokens * c.break_even_output_tokens_per_month) / 1e6;
    assert.ok(Math.abs(atBreakEven - (c.api_usd_per_million_output_tokens * c.break_even_output_tokens_per_month) / 1e6) / atBreakEven < 1e-9);
  }
  assert.equal(await p.locator("[data-chart=cost-month] [data-marker]").count(), plan.api_comparison.filter((c) => c.break_even_output_tokens_per_month).length);
  assert.equal(await p.locator("[data-table=api-comparison] tbody tr").count(), plan.api_comparison.length);
  assert.equal(await p.locator("[data-table=best-per-device] tbody tr").count(), plan.best_per_hardware.length);
  await shot(p, "cost");
  return p;
});

await test("local vs API: every API service is offered, grouped by provider, closed models with their date and source", async () => {
  const p = await page("/?view=cost");
  const prices = (await ok("GET", "/v1/prices/api?limit=200")).items;
  const providers = [...new Set(prices.map((r) => r.provider))];
  assert.equal(await p.locator("#f-api option").count(), prices.length);
  const groups = await p.locator("#f-api optgroup").evaluateAll((gs) => gs.map((g) => [g.label, g.querySelectorAll("option").length]));
  assert.deepEqual(groups.map(([label]) => label).sort(), [...providers].sort());
  for (const [label, count] of groups) assert.equal(count, prices.filter((r) => r.provider === label).length, label);
  assert.equal(await p.locator("[data-table=api-prices] tbody tr").count(), prices.length);
  // A closed model (GPT-4 Turbo where the catalog prices it): the plan compares against its price.
  const closed = prices.find((r) => r.id === "openai/gpt-4-turbo") || prices.find((r) => !r.open_weights);
  assert.ok(closed, "the catalog prices a closed model");
  await p.selectOption("#f-api", closed.id);
  await p.click("button.run");
  await ready(p);
  assert.equal(param(p, "api"), closed.id);
  assert.equal(await p.locator("[data-api-service]").getAttribute("data-api-service"), closed.id);
  assert.equal(await cardValue(p, "api_output"), `$${sig(closed.usd_per_million_output_tokens)} / M tokens`);
  assert.equal(await cardValue(p, "api_as_of"), closed.as_of);
  assert.equal(await p.locator("[data-api-service] [data-closed]").count(), 1);
  const plan = await ok("POST", "/v1/plan", { models: ["llama-3.1-8b"], workload: { requests_per_s: 0.5, input_tokens: 1000, output_tokens: 250 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, search: { hardware: ["nvidia-rtx-4090", "nvidia-h100-sxm-80gb"] }, prices: { "nvidia-rtx-4090": { basis: "own", electricity_usd_per_kwh: 0.2 }, "nvidia-h100-sxm-80gb": { basis: "rent" } }, api_price_id: closed.id, limit: 20 });
  assert.ok(plan.api_comparison.length >= 1);
  for (const [i, c] of plan.api_comparison.entries()) {
    assert.equal(c.api, closed.id);
    assert.equal(await p.locator("[data-table=api-comparison] tbody tr").nth(i).locator("td[data-key=api]").innerText(), closed.id);
    assert.equal(await p.locator("[data-table=api-comparison] tbody tr").nth(i).locator("td[data-key=api_usd_per_million_output_tokens]").innerText(), `$${sig(c.api_usd_per_million_output_tokens)}`);
  }
  await shot(p, "cost-closed-api");
  // The founding document's services are one click away where the catalog prices them.
  for (const [label, id] of [["GPT-4 Turbo", "openai/gpt-4-turbo"], ["GPT-3.5 Turbo", "openai/gpt-3.5-turbo"], ["GPT-3 davinci (2020)", "openai/davinci"], ["Azure OpenAI", "azure-openai/gpt-4-turbo"], ["ERNIE 4.0", "baidu/ernie-4.0-8k"]]) {
    if (!prices.some((r) => r.id === id)) continue;
    await p.getByRole("button", { name: `Against ${label}` }).click();
    await ready(p);
    assert.equal(param(p, "api"), id, label);
    assert.equal(await p.locator("[data-api-service]").getAttribute("data-api-service"), id);
  }
  // A price published in another currency: the published figures, the rate, the conversion
  // assumed, and the USD answer the comparison uses.
  const foreign = prices.find((r) => r.currency && r.currency !== "USD" && !r.valid_until);
  if (foreign) {
    await open(p, `/?view=cost&api=${encodeURIComponent(foreign.id)}`);
    assert.equal(await cardValue(p, "api_output"), `$${sig(foreign.usd_per_million_output_tokens)} / M tokens`);
    assert.equal(await cardValue(p, "api_published"), `${sig(foreign.per_million_input_tokens, 4)} in / ${sig(foreign.per_million_output_tokens, 4)} out ${foreign.currency} per M tokens`);
    assert.equal(await cardValue(p, "api_exchange_rate"), `${sig(foreign.exchange_rate.units_per_usd, 4)} ${foreign.exchange_rate.currency} per USD (${foreign.exchange_rate.as_of})`);
    assert.ok(foreign.assumptions.length >= 1, "the conversion is an assumption");
    assert.equal(await p.locator("[data-api-service] [data-assumption]").count(), foreign.assumptions.length);
    await shot(p, "cost-foreign-currency");
  }
  // A past price is said to be one.
  const past = prices.find((r) => r.valid_until);
  if (past) {
    await open(p, `/?view=cost&api=${encodeURIComponent(past.id)}`);
    assert.equal(await p.locator("[data-api-service] [data-history]").getAttribute("data-history"), past.valid_until);
  }
  // Anything else a record carries is shown as the API gives it.
  const known = ["id", "provider", "model", "open_weights", "usd_per_million_input_tokens", "usd_per_million_output_tokens", "as_of", "source", "verified", "notes", "currency", "per_million_input_tokens", "per_million_output_tokens", "exchange_rate", "valid_from", "valid_until", "assumptions"];
  const other = prices.find((r) => Object.keys(r).some((k) => !known.includes(k)));
  if (other) {
    await open(p, `/?view=cost&api=${encodeURIComponent(other.id)}`);
    for (const key of Object.keys(other).filter((k) => !known.includes(k))) {
      assert.equal(await p.locator(`[data-api-service] [data-field="${key}"]`).count(), 1, key);
    }
  }
  return p;
});

await test("what does scale buy: loss against compute for each fit, the models marked, the next 10x in loss and dollars", async () => {
  const p = await page("/?view=scale", { allowHttpErrors: true });
  const fits = (await ok("GET", "/v1/scaling/fits")).items;
  assert.ok(fits.length >= 4, "four fits");
  assert.equal(await p.locator("#f-fit option").count(), fits.length);
  assert.equal(await p.inputValue("#f-fit"), fits.find((f) => f.default).id);
  const body = { fit: "besiroglu2024", model: "gpt-3-175b", hardware: "nvidia-h100-sxm-80gb" };
  const e = await ok("POST", "/v1/estimate/scaling", body);
  // Each fit's compute-optimal frontier, point for point as the API answers it.
  for (const f of fits) {
    const r = await ok("POST", "/v1/estimate/scaling", { ...body, fit: f.id });
    assert.ok(r.frontier.length > 5, `${f.id} has a frontier`);
    const drawn = await p.locator(`[data-chart=scale-frontier] circle[data-series="frontier ${f.id}"]`).evaluateAll((cs) => cs.map((c) => [Number(c.dataset.x), Number(c.dataset.y)]));
    assert.deepEqual(drawn, r.frontier.map((pt) => [pt.training_flops, pt.loss]), f.id);
  }
  // The chosen model: loss, tokens per parameter, twin, what the next 10x buys and costs.
  assert.equal(await cardValue(p, "scale_loss"), sig(e.loss, 4));
  assert.equal(await cardValue(p, "scale_tokens_per_parameter"), sig(e.tokens_per_parameter));
  assert.equal(await cardValue(p, "next_10x_loss"), sig(e.next_10x.loss, 4));
  assert.equal(await cardValue(p, "next_10x_delta_loss"), signed(e.next_10x.delta_loss));
  assert.equal(await cardValue(p, "next_10x_multiplier"), `${sig(e.next_10x.reducible_loss_multiplier)}×`);
  assert.ok(e.next_10x.delta_loss < 0, "ten times the compute lowers the loss");
  if (e.cost?.usd) assert.equal(await cardValue(p, "run_usd"), `${money(e.cost.usd)}, ${sig(e.cost.wall_clock_days)} days`);
  if (e.next_10x.cost?.usd) assert.equal(await cardValue(p, "next_10x_usd"), `${money(e.next_10x.cost.usd)}, ${sig(e.next_10x.cost.wall_clock_days)} days`);
  assert.match(await cardValue(p, "scale_compute_optimal"), new RegExp(`loss ${sig(e.compute_optimal.loss, 4).replace(".", "\\.")}$`));
  // The ladder: each rung's loss, the loss it gains and its dollars.
  const rungs = p.locator("[data-table=scale-ladder] tbody tr");
  assert.equal(await rungs.count(), e.ladder.length);
  for (const [i, rung] of e.ladder.entries()) {
    assert.equal(await rungs.nth(i).locator("td[data-key=compute_multiplier]").innerText(), `${rung.compute_multiplier}x`);
    assert.equal(await rungs.nth(i).locator("td[data-key=loss]").innerText(), sig(rung.loss, 4));
    assert.equal(await rungs.nth(i).locator("td[data-key=delta_loss]").innerText(), signed(rung.delta_loss));
    assert.equal(await rungs.nth(i).locator("td[data-key=usd]").innerText(), rung.usd === null ? "no price" : money(rung.usd));
  }
  // The catalog's models with published training tokens, each where the API puts it.
  const models = (await ok("GET", "/v1/models?limit=200")).items.filter((m) => m.training_tokens > 0 && /^(gpt-2|gpt-3|chinchilla|gopher|llama-\d)/.test(m.family));
  assert.ok(models.some((m) => m.id === "gpt-3-175b"));
  const points = await p.locator('[data-chart=scale-frontier] circle[data-series="models"]').evaluateAll((cs) => cs.map((c) => [Number(c.dataset.x), Number(c.dataset.y)]));
  const answers = await Promise.all(models.map((m) => api("POST", "/v1/estimate/scaling", { ...body, model: m.id })));
  const answered = answers.filter((a) => a.status === 200).map((a) => a.json);
  assert.deepEqual(points, answered.map((a) => [a.training_flops, a.loss]));
  assert.equal(await p.locator("[data-table=scale-models] tbody tr").count(), answered.length);
  const name = (await ok("GET", "/v1/models/gpt-3-175b")).name;
  assert.equal(await p.locator(`[data-chart=scale-frontier] [data-marker="${name}"]`).count(), 1);
  // Warnings and assumptions, never hidden.
  const notesOf = p.locator(`[data-notes="${name} under besiroglu2024"]`);
  assert.equal(await notesOf.locator("li[data-code]").count(), e.warnings.length);
  for (const w of e.warnings) assert.equal(await notesOf.locator(`li[data-code="${w.code}"] .message`).first().innerText(), w.message);
  assert.equal(await notesOf.locator("details.assumptions li").count(), e.assumptions.length);
  // The lifetime-optimal plan: the API's answer, or its problem with the pointer.
  const planBody = { fit: "besiroglu2024", target: { model: "llama-2-7b" }, inference_tokens: 2e12, objective: "flops", hardware: "nvidia-h100-sxm-80gb", serving_hardware: "nvidia-h100-sxm-80gb" };
  const plan = await api("POST", "/v1/plan/scaling", planBody);
  if (plan.status === 200) {
    assert.equal(await cardValue(p, "plan_saving_fraction"), pct(plan.json.saving_fraction));
    const rows = p.locator("[data-table=scale-plan] tbody tr");
    assert.equal(await rows.nth(0).locator("td[data-key=tokens_per_parameter]").innerText(), sig(plan.json.optimal.tokens_per_parameter, 4));
    assert.equal(await rows.nth(1).locator("td[data-key=tokens_per_parameter]").innerText(), sig(plan.json.compute_optimal_twin.tokens_per_parameter, 4));
    assert.equal(await p.locator("[data-notes='lifetime plan'] li[data-code]").count(), plan.json.warnings.length);
  } else {
    assert.equal(await text(p, "[data-scale-plan] .error code"), plan.json.errors[0].pointer);
  }
  await shot(p, "scale");
  // Another fit: the URL follows, the numbers are that fit's.
  await p.selectOption("#f-fit", "hoffmann2022");
  await p.click("button.run");
  await ready(p);
  assert.equal(param(p, "fit"), "hoffmann2022");
  const chinchilla = await ok("POST", "/v1/estimate/scaling", { ...body, fit: "hoffmann2022" });
  assert.equal(await cardValue(p, "scale_loss"), sig(chinchilla.loss, 4));
  assert.equal(await p.locator('[data-chart=scale-frontier] circle[data-series="ladder"]').count(), chinchilla.ladder.length);
  // A model's row makes it the chosen one.
  const other = answered.find((a) => a.model !== "gpt-3-175b");
  if (other) {
    const exact = new RegExp(`^${other.model.replace(/[.]/g, "\\.")}$`);
    await p.locator("[data-table=scale-models] tbody tr").filter({ has: p.locator("td[data-key=model]", { hasText: exact }) }).click();
    await ready(p);
    assert.equal(param(p, "model"), other.model);
    const again = await ok("POST", "/v1/estimate/scaling", { ...body, fit: "hoffmann2022", model: other.model });
    assert.equal(await cardValue(p, "scale_loss"), sig(again.loss, 4));
  }
  return p;
});

await test("export: every table downloads as CSV and JSON with the shown rows", async () => {
  const p = await page("/?view=training");
  const rows = await p.locator("[data-table=training] tbody tr").count();
  const [csvDownload] = await Promise.all([p.waitForEvent("download"), p.click('[data-table=training] [data-export=csv]')]);
  const csvText = readFileSync(await csvDownload.path(), "utf8").trim().split("\n");
  assert.equal(csvDownload.suggestedFilename(), "training.csv");
  assert.equal(csvText[0], "devices,tensor,pipeline,data,fits,not_run,memory_per_device_bytes,mfu,wall_clock_days,device_hours,usd");
  assert.equal(csvText.length, rows + 1);
  const [jsonDownload] = await Promise.all([p.waitForEvent("download"), p.click('[data-table=training] [data-export=json]')]);
  const json = JSON.parse(readFileSync(await jsonDownload.path(), "utf8"));
  assert.equal(json.length, rows);
  const api64 = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-a100-sxm4-80gb", devices: 64, tokens: 2e12, sharding: "zero1" });
  assert.equal(json[0].wall_clock_days, api64.time.wall_clock_days);
  assert.equal(Number(csvText[1].split(",")[8]), api64.time.wall_clock_days);
  // Every table on every view has both buttons.
  for (const view of VIEWS) {
    await open(p, `/?view=${view}`);
    const tables = await p.locator("[data-table]").count();
    assert.ok(tables > 0, `${view} has no table`);
    assert.equal(await p.locator("[data-table] [data-export=csv]").count(), tables);
    assert.equal(await p.locator("[data-table] [data-export=json]").count(), tables);
  }
  return p;
});

await test("keyboard: tabs by arrow keys, the URL follows, back returns", async () => {
  const p = await page("/?view=model");
  await p.focus("#tab-model");
  await p.keyboard.press("ArrowRight");
  await ready(p);
  assert.equal(await p.getAttribute("#tab-serving", "aria-selected"), "true");
  assert.equal(param(p, "view"), "serving");
  assert.equal(await p.evaluate(() => document.activeElement.id), "tab-serving");
  await p.keyboard.press("End");
  await ready(p);
  assert.equal(param(p, "view"), "cost");
  await p.goBack();
  await ready(p);
  assert.equal(param(p, "view"), "serving");
  assert.equal(await p.getAttribute("#tab-serving", "aria-selected"), "true");
  // Every input has a label.
  for (const view of VIEWS) {
    await open(p, `/?view=${view}`);
    const unlabelled = await p.locator("form.inputs input, form.inputs select, form.inputs textarea").evaluateAll((controls) => controls.filter((c) => !c.labels || c.labels.length === 0).map((c) => c.name));
    assert.deepEqual(unlabelled, [], `${view} has unlabelled inputs`);
  }
  return p;
});

await test("phone width: no sideways scrolling of the page", async () => {
  const p = await page("/?view=model", { viewport: { width: 390, height: 844 }, allowHttpErrors: true });
  for (const view of VIEWS) {
    await open(p, `/?view=${view}`);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 391, `${view} is ${width} px wide at 390`);
  }
  // A refusal with its suggestions, and a verdict with its warnings, fit the width too.
  for (const url of ["/?view=serving&hardware=nvidia-h100-sxm-8gb", "/?view=serving&model=llama-3.1-405b&hardware=nvidia-rtx-4090"]) {
    await open(p, url);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 391, `${url} is ${width} px wide at 390`);
  }
  await shot(p, "phone-does-not-fit");
  await open(p, "/?view=model");
  await shot(p, "phone-model");
  return p;
});

await browser.close();
writeFileSync(join(SHOTS, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
const failed = results.filter((r) => !r.ok).length;
console.log(`browser: ${results.length - failed} ok, ${failed} failed; first load ${JSON.stringify(timings)}; screenshots in ${SHOTS}`);
process.exit(failed ? 1 : 0);
