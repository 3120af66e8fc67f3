// The dashboard in Chromium: cost.

import assert from "node:assert/strict";
import { api, cardValue, ok, open, page, param, ready, shot, sig, test } from "../harness.mjs";

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
