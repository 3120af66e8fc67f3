// The dashboard in Chromium: core.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BASE, VIEWS, api, apiNotes, before, cardValue, ok, open, page, param, ready, results, shot, shownNotes, sig, test, text, timings } from "../harness.mjs";

await test("first load: page, catalog and first view", async () => {
  const p = await page();
  const started = Date.now();
  await p.goto(BASE + "/");
  const loaded = await p.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd);
  await ready(p);
  timings.load_event_ms = Math.round(loaded);
  timings.first_view_ready_ms = Date.now() - started;
  assert.equal(await p.title(), "hwcost: what a model needs, how fast, at what cost");
  // The landing task is "Will it hold?".
  assert.equal(param(p, "view"), "hold");
  assert.equal(await p.getAttribute("#tab-hold", "aria-selected"), "true");
  // The model list is the whole catalog, paged through.
  const models = (await ok("GET", "/v1/models?limit=1")).total;
  assert.equal(await p.locator("#f-model option").count(), models);
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
  for (const [basis, label] of [["rent", "plan, rented"], ["own", "plan, owned"]]) {
    const plan = await ok("POST", "/v1/plan", { models: ["llama-3.1-70b"], workload: { requests_per_s: 10, input_tokens: 1000, output_tokens: 200 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, limit: 40, search: { hardware: ["nvidia-l40s"] }, cost: { basis } });
    assert.deepEqual(await shownNotes(p, label), apiNotes(plan));
  }
  await open(p, "/?view=cost");
  for (const [device, cost, label] of [["nvidia-rtx-4090", { basis: "own", electricity_usd_per_kwh: 0.2 }, "owning"], ["nvidia-h100-sxm-80gb", { basis: "rent" }, "renting"]]) {
    const plan = await ok("POST", "/v1/plan", { models: ["llama-3.1-8b"], workload: { requests_per_s: 0.5, input_tokens: 1000, output_tokens: 250 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, search: { hardware: [device] }, cost, api_price_id: "openai/gpt-4o-mini", limit: 20 });
    assert.deepEqual(await shownNotes(p, label), apiNotes(plan));
    assert.deepEqual(await shownNotes(p, `${label}: the best configuration`), apiNotes(plan.best.inference));
  }
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
  assert.equal(await p.locator("#results [data-table^=plan-]").count(), 0);
  assert.match(await text(p, "#results .error .field-label"), /^Devices to search/);
  await p.click('#results .error button[data-suggestion="nvidia-h100-sxm-80gb"]');
  await ready(p);
  assert.equal(param(p, "hardware"), "nvidia-l40s,nvidia-h100-sxm-80gb");
  assert.ok((await p.locator("[data-table^=plan-] tbody tr").count()) > 0);
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
  // An SLO target left empty: the API says it assumed none (the latency does not limit the
  // capacity), shown under the field's label and as its placeholder; its SLO lines are not
  // drawn at a number nobody gave.
  await open(p, "/?view=serving&ttft_slo_ms=");
  const noTtft = await ok("POST", "/v1/estimate/serving", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm", workload: { arrival: "poisson", requests_per_s: 1, requests: 300, input_tokens: 1000, output_tokens: 200 }, slo: { tpot_ms: 50 } });
  const noTarget = noTtft.assumptions.find((a) => a.field === "slo/ttft_ms");
  assert.ok(noTarget, "the API lists the missing TTFT target among its assumptions");
  assert.deepEqual(await shownNotes(p, "the replay at 1 req/s"), apiNotes(noTtft));
  assert.match(await p.locator('[data-emptied="ttft_slo_ms"]').innerText(), new RegExp(`^TTFT SLO, p90 \\(ms\\) left empty: slo/ttft_ms = ${noTarget.value}: `));
  assert.equal(await p.getAttribute("#f-ttft_slo_ms", "placeholder"), `${noTarget.value} (assumed)`);
  assert.equal(await p.locator("[data-unassumed]").count(), 0);
  assert.equal(await p.locator("[data-chart=serving-ttft] [data-hline]").count(), 0);
  assert.equal(await p.locator("[data-chart=serving-ttft-histogram] [data-vline]").count(), 0);
  assert.equal(await cardValue(p, "capacity"), noTtft.max_requests_per_s_within_slo ? `${sig(noTtft.max_requests_per_s_within_slo)} req/s` : "none");
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
  // Every table on every view has both buttons (the calibrate view has none before a file is
  // dropped: 11-calibrate.mjs checks its tables).
  for (const view of VIEWS.filter((v) => v !== "calibrate")) {
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
    // The tabs are one row (it scrolls sideways on its own), with the open tab in sight.
    const tabs = await p.evaluate(() => {
      const row = document.querySelector("[role=tablist]").getBoundingClientRect();
      const all = [...document.querySelectorAll("[role=tab]")].map((t) => t.getBoundingClientRect());
      const open = document.querySelector("[role=tab][aria-selected=true]").getBoundingClientRect();
      return { tops: new Set(all.map((r) => Math.round(r.top))).size, inSight: open.left >= row.left - 1 && open.right <= row.right + 1 };
    });
    assert.equal(tabs.tops, 1, `${view}: the tabs wrap onto ${tabs.tops} lines at 390`);
    assert.ok(tabs.inSight, `${view}: the open tab is scrolled out of sight`);
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
