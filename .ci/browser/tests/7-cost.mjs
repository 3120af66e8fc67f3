// The dashboard in Chromium: cost.

import assert from "node:assert/strict";
import { cardValue, ok, open, page, param, ready, shot, sig, test, text } from "../harness.mjs";

/** The requests the cost view sends (web/views/cost.js costBodies): owning the owned device, renting the rented one. */
const sideBody = ({ model = "llama-3.1-8b", rate = 0.5, device, cost, apiPrice = "openai/gpt-4o-mini" }) => ({ models: [model], workload: { requests_per_s: rate, input_tokens: 1000, output_tokens: 250 }, requirements: { max_ttft_ms: 2000, max_tpot_ms: 50 }, search: { hardware: [device] }, cost, api_price_id: apiPrice, limit: 20 });
const costPlans = async ({ own = "nvidia-rtx-4090", rent = "nvidia-h100-sxm-80gb", apiPrice } = {}) => {
  const [o, r] = await Promise.all([ok("POST", "/v1/plan", sideBody({ device: own, cost: { basis: "own", electricity_usd_per_kwh: 0.2 }, apiPrice })), ok("POST", "/v1/plan", sideBody({ device: rent, cost: { basis: "rent" }, apiPrice }))]);
  return { own: { plan: o, c: o.api_comparison.find((c) => c.basis === "own") }, rent: { plan: r, c: r.api_comparison.find((c) => c.basis === "rent") } };
};
const usd = (x) => `$${sig(x)}`;

await test("local vs cloud vs API: break-even points and cost curves, each side its own device", async () => {
  const p = await page("/?view=cost");
  const sides = await costPlans();
  for (const [basis, { plan, c }] of Object.entries(sides)) {
    assert.ok(c, `${basis}: a comparison on its own basis`);
    const expected = c.break_even_output_tokens_per_month ? `${sig(c.break_even_output_tokens_per_month / 1e6)} M output tokens/month` : "never";
    assert.equal(await cardValue(p, `break_even_${basis}`), expected);
    assert.equal(await cardValue(p, `self_hosted_${basis}`), `${usd(c.self_hosted_usd_per_million_output_tokens)} / M out`);
    // Each curve is the API's fixed part plus its per-token part; it crosses the API's line at the break-even.
    if (c.break_even_output_tokens_per_month) {
      const atBreakEven = c.self_hosted_fixed_usd_per_month + (c.self_hosted_marginal_usd_per_million_output_tokens * c.break_even_output_tokens_per_month) / 1e6;
      assert.ok(Math.abs(atBreakEven - (c.api_usd_per_million_output_tokens * c.break_even_output_tokens_per_month) / 1e6) / atBreakEven < 1e-9);
    }
    // The headline numbers open the comparison's own rules.
    for (const [metric, rule, value] of [[`break_even_${basis}`, "breakeven.volume", c.break_even_output_tokens_per_month], [`self_hosted_${basis}`, "breakeven.self_hosted_usd_per_million_output_tokens", c.self_hosted_usd_per_million_output_tokens]]) {
      if (!value) continue;
      await p.locator(`[data-metric="${metric}"] button.num`).click();
      assert.equal(await p.locator("#explain-body strong").first().innerText(), rule);
      assert.equal(await p.locator("#explain-body .explain-value").innerText(), sig(value, 4));
      await p.keyboard.press("Escape");
    }
    assert.equal(plan.ranked[0].cost.basis, basis);
  }
  // The "rent" side is the device chosen to rent, not the owned one.
  assert.equal(sides.rent.plan.best.inference.hardware, "nvidia-h100-sxm-80gb");
  assert.match(await p.locator('[data-metric="self_hosted_rent"] .label').innerText(), /renting \d+ × NVIDIA H100/);
  assert.equal(await p.locator("[data-rented]").getAttribute("data-rented"), "nvidia-h100-sxm-80gb");
  assert.equal(await cardValue(p, "rent_usd_per_device_hour"), usd(sides.rent.plan.best.inference.cost.basis.usd_per_device_hour));
  // The owned device's purchase and amortisation, as the API priced them.
  const owned = sides.own.plan.best.inference.cost.basis;
  assert.equal(await cardValue(p, "purchase_usd"), usd(owned.purchase_usd));
  assert.equal(await cardValue(p, "amortization"), `${sig(owned.amortization_years)} years at ${sig(owned.utilization * 100)}% use`);
  assert.equal(await cardValue(p, "owned_usd_per_device_hour"), usd(owned.usd_per_device_hour));
  assert.equal(await text(p, '[data-metric="owned_usd_per_device_hour"] .label'), `Per device-hour: ${usd(owned.capital_usd_per_device_hour)} purchase + ${usd(owned.energy_usd_per_device_hour)} electricity + ${usd(owned.hosting_usd_per_device_hour)} hosting`);
  const included = await p.locator("[data-owned] p.note").innerText();
  assert.ok(included.includes(`spread over ${sig(owned.amortization_years)} years of ${sig(owned.utilization * 100)}% use`) && included.includes(`electricity at ${sig(owned.power_w)} W`), included);
  // The API price in the menu, on the cards and in the comparison agree; the blend is said in words.
  const c = sides.own.c;
  const menu = await p.locator("#f-api option:checked").innerText();
  assert.ok(menu.includes(`$${sig(c.api_price_usd_per_million_input_tokens, 4)} in / $${sig(c.api_price_usd_per_million_output_tokens, 4)} out per M`), menu);
  assert.equal(await cardValue(p, "api_input"), `${usd(c.api_price_usd_per_million_input_tokens)} / M tokens`);
  assert.equal(await cardValue(p, "api_output"), `${usd(c.api_price_usd_per_million_output_tokens)} / M tokens`);
  assert.equal(await cardValue(p, "api"), `${usd(c.api_usd_per_million_output_tokens)} / M out`);
  const blend = await p.locator("[data-blend]").innerText();
  assert.ok(blend.includes(`This workload sends ${sig(c.input_tokens_per_output_token)} prompt tokens per output token`), blend);
  assert.ok(blend.includes(`${usd(c.api_price_usd_per_million_output_tokens)} + ${sig(c.input_tokens_per_output_token)} × ${usd(c.api_price_usd_per_million_input_tokens)} = ${usd(c.api_usd_per_million_output_tokens)} per million output tokens`), blend);
  await p.locator('[data-metric="api"] button.num').click();
  assert.equal(await p.locator("#explain-body strong").first().innerText(), "breakeven.api_usd_per_million_output_tokens");
  await p.keyboard.press("Escape");
  // The comparison table links its figures to the same rules.
  const row = p.locator("[data-table=api-comparison] tbody tr").first();
  await row.locator("td[data-key=break_even_output_tokens_per_month] button.num").click();
  assert.equal(await p.locator("#explain-body strong").first().innerText(), "breakeven.volume");
  await p.keyboard.press("Escape");
  assert.equal(await p.locator("[data-chart=cost-month] [data-marker]").count(), Object.values(sides).filter((s) => s.c.break_even_output_tokens_per_month).length);
  assert.equal(await p.locator("[data-table=api-comparison] tbody tr").count(), 2);
  assert.equal(await p.locator("[data-table=best-per-device] tbody tr").count(), 2);
  await shot(p, "cost");
  return p;
});

await test("task: own a 4090 vs rent vs an API, in 3 steps", async () => {
  const p = await page("/?view=cost&own=nvidia-a100-sxm4-80gb");
  // 1. the device you own, 2. the device you rent, 3. Compare.
  await p.selectOption("#f-own", "nvidia-rtx-4090");
  await p.selectOption("#f-rent", "nvidia-l4");
  await p.click("button.run");
  await ready(p);
  assert.equal(param(p, "rent"), "nvidia-l4");
  const sides = await costPlans({ rent: "nvidia-l4" });
  const hardware = (await ok("GET", "/v1/hardware?limit=200")).items;
  const name = (id) => hardware.find((d) => d.id === id).name;
  const c = sides.own.c;
  const choices = [
    [`owning ${sides.own.plan.best.inference.devices} × ${name("nvidia-rtx-4090")}`, sides.own.c.self_hosted_usd_per_million_output_tokens],
    [`renting ${sides.rent.plan.best.inference.devices} × ${name("nvidia-l4")}`, sides.rent.c.self_hosted_usd_per_million_output_tokens],
    [`the API (${c.api})`, c.api_usd_per_million_output_tokens],
  ];
  const cheapest = choices.reduce((a, b) => (b[1] < a[1] ? b : a));
  const monthly = 0.5 * 250 * 3600 * 730.5;
  const expected = `At ${sig(monthly / 1e6)} M output tokens a month, per million output tokens: ${choices[0][0]} ${usd(choices[0][1])}; ${choices[1][0]} ${usd(choices[1][1])}; the API ${c.api} ${usd(c.api_usd_per_million_output_tokens)} (prompts included). Cheapest: ${cheapest[0]}.`;
  assert.equal(await p.locator(".answer[data-answer]").innerText(), expected);
  assert.equal(await p.evaluate(() => document.querySelector("#results > *:not(.unassumed)").classList.contains("answer")), true, "the answer comes first");
  await shot(p, "task-own-rent-api");
  // At a phone's width the answer is still first, and the page does not scroll sideways.
  await p.setViewportSize({ width: 390, height: 844 });
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "the page scrolls sideways at 390 px");
  await shot(p, "task-own-rent-api-390");
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
  const sides = await costPlans({ apiPrice: closed.id });
  for (const [i, { c }] of [sides.own, sides.rent].entries()) {
    assert.equal(c.api, closed.id);
    assert.equal(await p.locator("[data-table=api-comparison] tbody tr").nth(i).locator("td[data-key=api_usd_per_million_output_tokens]").innerText(), `$${sig(c.api_usd_per_million_output_tokens)}`);
  }
  assert.equal(await p.locator("h3", { hasText: `Self-hosted against ${closed.id}` }).count(), 1);
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
