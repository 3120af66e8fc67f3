// The dashboard in Chromium: plan.

import assert from "node:assert/strict";
import { cardValue, ok, page, param, ready, shot, sig, test } from "../harness.mjs";

const key = (r) => [r.hardware, r.devices, r.parallelism.tensor, r.parallelism.pipeline, r.weights, r.batch_size, r.engine].join("|");
// The page's fmt.usd and fmt.ms.
const usd = (x) => `$${sig(x)}`;
const ms = (x) => `${sig(x)} ms`;
/** The plan request the page sends for one way of paying (web/views/plan.js planBodies). */
const planBody = (basis, { model = "llama-3.1-70b", rate = 10, hardware, weights, maxDevices, perReplica, apiPrice, limit = 40 } = {}) => {
  const body = { models: [model], workload: { requests_per_s: rate, input_tokens: 1000, output_tokens: 200 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, limit, cost: { basis } };
  const search = {};
  if (hardware) search.hardware = hardware;
  if (weights) search.weights = weights;
  if (perReplica) search.max_devices_per_replica = perReplica;
  if (Object.keys(search).length) body.search = search;
  if (maxDevices) body.requirements.max_devices = maxDevices;
  if (apiPrice) body.api_price_id = apiPrice;
  return body;
};
/** The row the page shows first of a group of rows alike (same device, layout, format, cost and latencies). */
const groupKey = (r) => [r.hardware, r.devices, r.parallelism.tensor, r.parallelism.pipeline, r.parallelism.data, r.weights, r.kv_cache, r.verdict, usd(r.cost.usd_per_million_output_tokens), ms(r.latency.ttft_ms), ms(r.latency.tpot_ms), ms(r.latency.e2e_ms)].join("|");

await test("plan: rented and owned ranked apart, rows alike collapsed, frontier labelled, a clicked point's full estimate", async () => {
  const hardware = "nvidia-h100-sxm-80gb,nvidia-a100-sxm4-80gb,nvidia-l40s";
  const p = await page(`/?view=plan&hardware=${encodeURIComponent(hardware)}`, { viewport: { width: 1440, height: 900 } });
  const [rent, own] = await Promise.all(["rent", "own"].map((basis) => ok("POST", "/v1/plan", planBody(basis, { hardware: hardware.split(",") }))));
  for (const [basis, plan] of [["rent", rent], ["own", own]]) {
    assert.ok(plan.ranked.length > 0, basis);
    assert.ok(plan.ranked.every((r) => r.cost.basis === basis), `${basis}: every row paid so`);
    const rows = p.locator(`[data-table=plan-${basis}] tbody tr`);
    // Every ranked row is in the table; rows alike are folded behind the first of them.
    assert.equal(await rows.count(), plan.ranked.length);
    const groups = new Map();
    for (const r of plan.ranked) groups.set(groupKey(r), (groups.get(groupKey(r)) || 0) + 1);
    assert.equal(await p.locator(`[data-table=plan-${basis}] tbody tr:not([hidden])`).count(), groups.size, `${basis}: one visible row per group`);
    const first = plan.ranked[0];
    assert.equal(await rows.first().locator("td[data-key=hardware]").innerText(), first.hardware);
    assert.equal(await rows.first().locator("td[data-key=usd_per_million_output_tokens]").innerText(), usd(first.cost.usd_per_million_output_tokens));
    assert.equal(await rows.first().locator("td[data-key=verdict]").innerText(), first.verdict);
    // The row's cost opens its own rules, with the numbers the row shows.
    for (const [column, rule, value] of [["usd_per_million_output_tokens", "plan.usd_per_million_output_tokens", first.cost.usd_per_million_output_tokens], ["usd_per_hour", "plan.usd_per_hour", first.cost.usd_per_hour]]) {
      assert.equal(first.explain.find((e) => e.rule === rule).value, value, rule);
      await rows.first().locator(`td[data-key=${column}] button.num`).click();
      assert.equal(await p.locator("#explain-body strong").first().innerText(), rule);
      assert.equal(await p.locator("#explain-body .explain-value").innerText(), sig(value, 4));
      await p.keyboard.press("Escape");
    }
    // A group of several rows expands to show them.
    const big = [...groups].find(([, n]) => n > 1);
    if (big) {
      const button = p.locator(`[data-table=plan-${basis}] button.alike`).first();
      const count = Number((await button.innerText()).split(" ")[0]);
      await button.click();
      assert.equal(await p.locator(`[data-table=plan-${basis}] tbody tr:not([hidden])`).count(), groups.size + count - 1);
      await button.click();
    }
    // The frontier: one filled point per priced Pareto row, each labelled with its devices, device and format.
    const frontier = plan.pareto.filter((r) => Number.isFinite(r.cost.usd_per_million_output_tokens));
    assert.equal(await p.locator(`[data-chart=plan-frontier] circle[data-series="pareto-${basis}"]`).count(), frontier.length);
    const labels = await p.locator(`[data-chart=plan-frontier] text.point-label`).evaluateAll((ts) => ts.map((t) => [t.dataset.labelFor, t.textContent]));
    const mine = labels.filter(([k]) => frontier.some((r) => key(r) === k));
    assert.ok(mine.length >= Math.min(frontier.length, 3), `${basis}: frontier labelled (${mine.length} of ${frontier.length})`);
    for (const [k, label] of mine) {
      const r = frontier.find((x) => key(x) === k);
      assert.equal(label, `${r.devices}× ${r.hardware.replace(/^nvidia-/, "")} ${r.weights}`);
    }
    // The legend names the marks: hollow for a ranked configuration, filled on a line for the frontier.
    assert.equal(await p.locator(`[data-figure=plan-frontier] [data-legend="ranked-${basis}"] circle[fill="#fff"]`).count(), 1);
    assert.equal(await p.locator(`[data-figure=plan-frontier] [data-legend="pareto-${basis}"] line`).count(), 1);
  }
  // No table wider than the page at 1440 px.
  const widths = await p.locator(".table-wrap").evaluateAll((ws) => ws.map((w) => [w.scrollWidth, w.clientWidth]));
  for (const [scroll, client] of widths) assert.ok(scroll <= client, `a table scrolls sideways: ${scroll} > ${client}`);
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "the page scrolls sideways");
  // Click the first ranked (rented) point: its full estimate, asked of the API, appears.
  const point = p.locator('[data-chart=plan-frontier] circle[data-series="ranked-rent"]').first();
  const x = Number(await point.getAttribute("data-x"));
  const row = rent.ranked.find((r) => r.latency.e2e_ms === x);
  await point.focus();
  await p.keyboard.press("Enter");
  await p.locator("[data-estimate]").waitFor();
  const estimate = await ok("POST", "/v1/estimate/inference", { model: row.model, hardware: row.hardware, devices: row.devices, parallelism: { tensor: row.parallelism.tensor, pipeline: row.parallelism.pipeline }, weights: row.weights, kv_cache: row.kv_cache, batch_size: row.batch_size, input_tokens: 1000, output_tokens: 200, engine: row.engine });
  assert.equal(await cardValue(p, "tpot_ms"), `${sig(estimate.latency.tpot_ms)} ms`);
  const load = await ok("POST", "/v1/estimate/serving", { model: row.model, hardware: row.hardware, devices: row.devices, parallelism: row.parallelism, weights: row.weights, kv_cache: row.kv_cache, engine: row.engine, scheduler: { max_num_seqs: row.batch_size }, workload: { arrival: "poisson", requests_per_s: 10, input_tokens: 1000, output_tokens: 200 } });
  assert.equal(await cardValue(p, "load_ttft_ms"), `${sig(load.ttft_ms.mean)} ms`);
  assert.equal(sig(load.ttft_ms.mean), sig(row.latency.ttft_ms));
  assert.equal(sig(load.tpot_ms.mean), sig(row.latency.tpot_ms));
  // A row opens by keyboard too.
  const before = await p.locator("[data-estimate]").getAttribute("data-estimate");
  const visible = p.locator("[data-table=plan-own] tbody tr:not([hidden])");
  await visible.first().focus();
  await p.keyboard.press("Enter");
  await p.waitForFunction((k) => document.querySelector("[data-estimate]")?.dataset.estimate !== k, before);
  assert.equal(await p.locator("[data-estimate]").getAttribute("data-estimate"), key(own.ranked[0]));
  await shot(p, "plan");
  return p;
});

await test("plan: limited to a device count, weight formats and rented hardware; devices chosen by name", async () => {
  const p = await page("/?view=plan&model=llama-3.1-8b&requests_per_s=5");
  // Devices by name from the catalog, filterable, grouped by vendor.
  const picker = p.locator("[data-picker=hardware]");
  assert.ok((await picker.locator("fieldset[data-group]").count()) >= 2, "grouped by vendor");
  await picker.locator("input.picker-filter").fill("L4");
  const l4 = (await ok("GET", "/v1/hardware/nvidia-l4"));
  assert.ok(await picker.locator(`label[data-id="nvidia-l4"]`).isVisible());
  assert.equal(await picker.locator(`label[data-id="nvidia-h100-sxm-80gb"]`).isVisible(), false, "filtered out");
  await picker.locator(`label[data-id="nvidia-l4"] input`).check();
  await picker.locator("input.picker-filter").fill("4090");
  await picker.locator(`label[data-id="nvidia-rtx-4090"] input`).check();
  assert.match(await picker.locator(".picked").innerText(), new RegExp(`2 chosen: ${l4.name}`));
  await p.locator("[data-picker=weights] label[data-id=fp8] input").check();
  await p.locator("[data-picker=weights] label[data-id=int4] input").check();
  await p.selectOption("#f-paid", "rent");
  await p.fill("#f-max_devices", "2");
  await p.click("button.run");
  await ready(p);
  // The URL keeps the ids.
  assert.equal(param(p, "hardware"), "nvidia-l4,nvidia-rtx-4090");
  assert.equal(param(p, "weights"), "fp8,int4");
  assert.equal(param(p, "paid"), "rent");
  const plan = await ok("POST", "/v1/plan", planBody("rent", { model: "llama-3.1-8b", rate: 5, hardware: ["nvidia-l4", "nvidia-rtx-4090"], weights: ["fp8", "int4"], maxDevices: 2 }));
  assert.ok(plan.ranked.length > 0);
  assert.ok(plan.ranked.every((r) => r.devices <= 2 && ["fp8", "int4"].includes(r.weights) && r.cost.basis === "rent"));
  assert.equal(await p.locator("[data-table=plan-own]").count(), 0, "rented only");
  assert.equal(await p.locator("[data-table=plan-rent] tbody tr").count(), plan.ranked.length);
  assert.equal(await p.locator("[data-table=plan-rent] tbody tr").first().locator("td[data-key=hardware]").innerText(), plan.ranked[0].hardware);
  // Per replica, too.
  await p.fill("#f-max_devices", "");
  await p.fill("#f-max_devices_per_replica", "1");
  await p.click("button.run");
  await ready(p);
  const single = await ok("POST", "/v1/plan", planBody("rent", { model: "llama-3.1-8b", rate: 5, hardware: ["nvidia-l4", "nvidia-rtx-4090"], weights: ["fp8", "int4"], perReplica: 1 }));
  assert.ok(single.ranked.every((r) => r.parallelism.tensor * r.parallelism.pipeline === 1));
  assert.equal(await p.locator("[data-table=plan-rent] tbody tr").count(), single.ranked.length);
  await shot(p, "plan-limited");
  return p;
});

await test("task: the cheapest hardware for an 8B at 5 requests/s and how it compares with an API, in 3 steps", async () => {
  const p = await page("/?view=plan");
  // 1. the model, 2. the rate, 3. Plan.
  await p.selectOption("#f-model", "llama-3.1-8b");
  await p.fill("#f-requests_per_s", "5");
  await p.click("button.run");
  await ready(p);
  const plans = await Promise.all(["rent", "own"].map((basis) => ok("POST", "/v1/plan", planBody(basis, { model: "llama-3.1-8b", rate: 5 }))));
  const sides = plans.map((plan, i) => ({ basis: ["rent", "own"][i], plan })).sort((a, b) => a.plan.ranked[0].cost.usd_per_million_output_tokens - b.plan.ranked[0].cost.usd_per_million_output_tokens);
  const hardware = (await ok("GET", "/v1/hardware?limit=200")).items;
  const sentences = p.locator(".answer [data-answer]");
  assert.equal(await sentences.count(), 2);
  for (const [i, { basis, plan }] of sides.entries()) {
    const r = plan.ranked[0];
    // The cheapest API price for the model on the same basis, prompts included.
    const c = plan.api_comparison.filter((x) => x.basis === basis).reduce((a, b) => (b.api_usd_per_million_output_tokens < a.api_usd_per_million_output_tokens ? b : a));
    const name = hardware.find((d) => d.id === r.hardware).name;
    const expected = `Cheapest ${basis === "rent" ? "rented" : "owned"}: ${r.devices} × ${name} (${r.weights}, ${r.engine}) at ${usd(r.cost.usd_per_million_output_tokens)} per million output tokens, ${sig(r.cost.usd_per_million_output_tokens / c.api_usd_per_million_output_tokens)} times the API's price (${c.api}: ${usd(c.api_usd_per_million_output_tokens)} per million output tokens, prompts included at ${sig(c.input_tokens_per_output_token)} prompt tokens per output token).`;
    assert.equal(await sentences.nth(i).innerText(), expected);
    // The API's figure opens the comparison's own rule.
    await sentences.nth(i).locator("button.num").click();
    assert.equal(await p.locator("#explain-body strong").first().innerText(), "breakeven.api_usd_per_million_output_tokens");
    assert.equal(await p.locator("#explain-body .explain-value").innerText(), sig(c.api_usd_per_million_output_tokens, 4));
    await p.keyboard.press("Escape");
  }
  // The answer comes before everything else of the results.
  assert.equal(await p.evaluate(() => document.querySelector("#results > *:not(.unassumed)").classList.contains("answer")), true);
  await shot(p, "task-cheapest-8b");
  // At a phone's width the answer is still first, and the page does not scroll sideways.
  await p.setViewportSize({ width: 390, height: 844 });
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "the page scrolls sideways at 390 px");
  await shot(p, "task-cheapest-8b-390");
  return p;
});

await test("plan pools: asked, each side lists the disaggregated rows POST /v1/plan answers, xPyD, pools and cost", async () => {
  const p = await page(`/?view=plan&model=llama-3.1-8b&hardware=nvidia-h100-sxm-80gb&weights=fp8&paid=rent&limit=5&disaggregated=yes`, { viewport: { width: 1440, height: 900 } });
  const body = planBody("rent", { model: "llama-3.1-8b", hardware: ["nvidia-h100-sxm-80gb"], weights: ["fp8"], limit: 5 });
  body.search.disaggregated = true;
  const plan = await ok("POST", "/v1/plan", body);
  assert.ok(plan.disaggregated.length > 0, "the API finds pools");
  const rows = p.locator("[data-table=pools-rent] tbody tr");
  assert.equal(await rows.count(), plan.disaggregated.length);
  for (const [i, r] of plan.disaggregated.entries()) {
    const row = rows.nth(i);
    assert.equal(await row.locator("td[data-key=xpyd]").innerText(), r.xpyd);
    const pool = (x) => `${x.devices} × ${x.hardware} (${x.parallelism.tensor} × ${x.parallelism.pipeline})`;
    assert.equal(await row.locator("td[data-key=prefill]").innerText(), pool(r.disaggregation.prefill));
    assert.equal(await row.locator("td[data-key=decode]").innerText(), pool(r.disaggregation.decode));
    assert.equal(await row.locator("td[data-key=usd_per_million_output_tokens]").innerText(), usd(r.cost.usd_per_million_output_tokens));
    assert.equal(await row.locator("td[data-key=ttft_ms]").innerText(), ms(r.latency.ttft_ms));
    assert.equal(await row.locator("td[data-key=verdict]").innerText(), r.verdict);
  }
  // Not asked, no pools.
  const plain = await page(`/?view=plan&model=llama-3.1-8b&hardware=nvidia-h100-sxm-80gb&weights=fp8&paid=rent&limit=5`);
  assert.equal(await plain.locator("[data-table^=plan-] tbody tr").count() > 0, true);
  assert.equal(await plain.locator("[data-table^=pools-]").count(), 0);
});
