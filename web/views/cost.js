// Local vs cloud vs API ---------------------------------------------------------

import { rerender, state, writeUrl } from "../state.js";
import { add, api, card, catalog, float, fmt, from, h, int, notes, options, sig, table } from "../lib.js";
import { chart } from "../chart.js";

/** The comparison's request fields named otherwise than its form's. */
const COST_FIELDS = { "/models": "model", "/api_price_id": "api" };

async function runCost(p, out) {
  const prices = { [p.own]: { basis: "own", electricity_usd_per_kwh: float(p.electricity_usd_per_kwh) } };
  if (p.rent !== p.own) prices[p.rent] = { basis: "rent" };
  const plan = await from(COST_FIELDS, api("POST", "/v1/plan", {
    models: [p.model],
    workload: { requests_per_s: float(p.requests_per_s), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
    requirements: { max_ttft_ms: float(p.max_ttft_ms), max_tpot_ms: float(p.max_tpot_ms) },
    search: { hardware: [...new Set([p.own, p.rent])] },
    prices,
    api_price_id: p.api,
    limit: 20,
  }));
  // The API's month: 365.25 x 24 / 12 hours.
  const HOURS_PER_MONTH = 730.5;
  const monthlyTokens = float(p.requests_per_s) * int(p.output_tokens) * 3600 * HOURS_PER_MONTH;
  const best = plan.best?.inference;
  const comparisons = plan.api_comparison || [];
  add(out, notes(plan, "plan"), best ? notes(plan.best.inference, "the best configuration") : null, apiService(p.api, comparisons[0]));
  if (!best || !comparisons.length) {
    add(out, h("p", {}, "No configuration of these devices meets the requirements, so there is nothing to compare."), table("rejected", [{ key: "reason", label: "Rejected for", text: true }, { key: "count", label: "Configurations", fmt: fmt.count }], plan.rejected));
    return;
  }
  // Other rented devices' best configurations, around the clock: a flat month up to their capacity.
  const rented = plan.best_per_hardware.filter((r) => r.cost.basis === "rent" && r.hardware !== best.hardware && Number.isFinite(r.cost.usd_per_hour));
  const apiPerToken = comparisons[0].api_usd_per_million_output_tokens / 1e6;
  const capacity = comparisons[0].capacity_output_tokens_per_month;
  const volumes = [];
  for (let v = 1e6; v <= Math.max(capacity, monthlyTokens) * 1.01; v *= 10 ** 0.25) volumes.push(v);
  const selfHosted = (c, v) => c.self_hosted_fixed_usd_per_month + (c.self_hosted_marginal_usd_per_million_output_tokens * v) / 1e6;
  const label = (c) => `${c.basis === "own" ? "own" : "rent"} ${best.devices} × ${best.hardware}`;
  const markers = comparisons.filter((c) => c.break_even_output_tokens_per_month).map((c) => ({ x: c.break_even_output_tokens_per_month, y: apiPerToken * c.break_even_output_tokens_per_month, label: `break-even (${c.basis}) ${sig(c.break_even_output_tokens_per_month / 1e6)} M tok/month` }));
  add(out, 
    h(
      "div",
      { class: "cards" },
      ...comparisons.map((c) => card(`Break-even against ${c.api}, ${label(c)}`, c.break_even_output_tokens_per_month ? `${sig(c.break_even_output_tokens_per_month / 1e6)} M output tokens/month` : "never", best, "cost.usd_per_hour", "throughput.output_tokens_per_s", `break_even_${c.basis}`)),
      ...comparisons.map((c) => card(`Self-hosted (${c.basis}) at this volume`, `${fmt.usd(c.self_hosted_usd_per_million_output_tokens)} / M out, ${fmt.usd(c.self_hosted_usd_per_month)} / month`, best, "cost.usd_per_hour", "throughput.output_tokens_per_s", `self_hosted_${c.basis}`)),
      card(`API ${comparisons[0].api}`, `${fmt.usd(comparisons[0].api_usd_per_million_output_tokens)} / M out, ${fmt.usd(apiPerToken * monthlyTokens)} / month`, null, null, null, "api"),
    ),
    h(
      "div",
      { class: "row" },
      chart({
        id: "cost-month",
        title: "USD per month against monthly output tokens",
        xLabel: "output tokens per month",
        yLabel: "USD per month",
        xLog: true,
        yLog: true,
        series: [
          { name: `API ${comparisons[0].api}`, points: volumes.map((v) => ({ x: v, y: apiPerToken * v })) },
          ...comparisons.map((c) => ({ name: label(c), points: volumes.filter((v) => v <= c.capacity_output_tokens_per_month * 1.001).map((v) => ({ x: v, y: selfHosted(c, v) })) })),
          ...rented.map((r) => ({ name: `rent ${r.devices} × ${r.hardware}`, dash: "5 3", points: volumes.filter((v) => v <= r.throughput.output_tokens_per_s * 3600 * HOURS_PER_MONTH * 1.001).map((v) => ({ x: v, y: r.cost.usd_per_hour * HOURS_PER_MONTH })) })),
        ],
        vlines: [{ at: monthlyTokens, label: "this workload" }],
        markers,
      }),
      chart({
        id: "cost-per-token",
        title: "USD per million output tokens against monthly volume",
        xLabel: "output tokens per month",
        yLabel: "USD per million output tokens",
        xLog: true,
        yLog: true,
        series: [
          { name: `API ${comparisons[0].api}`, points: volumes.map((v) => ({ x: v, y: apiPerToken * 1e6 })) },
          ...comparisons.map((c) => ({ name: label(c), points: volumes.filter((v) => v <= c.capacity_output_tokens_per_month * 1.001).map((v) => ({ x: v, y: (selfHosted(c, v) / v) * 1e6 })) })),
          ...rented.map((r) => ({ name: `rent ${r.devices} × ${r.hardware}`, dash: "5 3", points: volumes.filter((v) => v <= r.throughput.output_tokens_per_s * 3600 * HOURS_PER_MONTH * 1.001).map((v) => ({ x: v, y: ((r.cost.usd_per_hour * HOURS_PER_MONTH) / v) * 1e6 })) })),
        ],
        vlines: [{ at: monthlyTokens, label: "this workload" }],
      }),
    ),
    table(
      "api-comparison",
      [
        { key: "basis", label: "Self-hosted", text: true },
        { key: "api", label: "API", text: true },
        { key: "api_usd_per_million_output_tokens", label: "API USD / M out", fmt: fmt.usd },
        { key: "self_hosted_usd_per_million_output_tokens", label: "Self-hosted USD / M out", fmt: fmt.usd },
        { key: "self_hosted_floor_usd_per_million_output_tokens", label: "At full use", fmt: fmt.usd },
        { key: "self_hosted_fixed_usd_per_month", label: "Fixed USD / month", fmt: fmt.usd },
        { key: "self_hosted_marginal_usd_per_million_output_tokens", label: "Per M tokens served", fmt: fmt.usd },
        { key: "self_hosted_usd_per_month", label: "USD / month", fmt: fmt.usd },
        { key: "break_even_output_tokens_per_month", label: "Break-even tok/month" },
        { key: "self_hosting_cheaper", label: "Self-hosting cheaper", text: true, fmt: (v) => (v ? "yes" : "no") },
      ],
      comparisons,
    ),
    h("h3", {}, "Best configuration of each device"),
    table(
      "best-per-device",
      [
        { key: "hardware", label: "Device", text: true },
        { key: "devices", label: "Devices" },
        { key: "weights", label: "Weights", text: true },
        { key: "basis", label: "Paid by", text: true },
        { key: "usd_per_hour", label: "USD/h", fmt: fmt.usd },
        { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd },
        { key: "output_tokens_per_s", label: "Capacity tok/s" },
        { key: "utilization", label: "Utilization", fmt: fmt.pct },
      ],
      plan.best_per_hardware.map((r) => ({ hardware: r.hardware, devices: r.devices, weights: r.weights, basis: r.cost.basis, usd_per_hour: r.cost.usd_per_hour, usd_per_million_output_tokens: r.cost.usd_per_million_output_tokens, output_tokens_per_s: r.throughput.output_tokens_per_s, utilization: r.throughput.utilization })),
    ),
    h("p", { class: "note" }, "Self-hosted cost per month is the API's fixed part (rent around the clock, or purchase and hosting) plus its per-token part (electricity when owning); the break-even is where that line crosses the API's price. Costs inherit the throughput estimate's error band."),
  );
  add(out, apiServices());
}

/** Fields of an API price record the page names itself; any other (a currency, a conversion) is listed as given. */
const API_PRICE_FIELDS = new Set(["id", "provider", "model", "open_weights", "usd_per_million_input_tokens", "usd_per_million_output_tokens", "as_of", "source", "verified", "notes", "currency", "per_million_input_tokens", "per_million_output_tokens", "exchange_rate", "valid_from", "valid_until", "assumptions"]);

/**
 * The API service compared against, as the catalog prices it: provider, USD per million tokens,
 * the date and source, closed or open weights, and whatever else the record carries (a price
 * published in another currency, its exchange rate and date), as the API gives it.
 */
function apiService(id, comparison) {
  const record = catalog.apiPrices.find((r) => r.id === id);
  if (!record) return h("p", { class: "note" }, `The catalog has no API price ${id}.`);
  const extra = Object.entries(record).filter(([key]) => !API_PRICE_FIELDS.has(key));
  const value = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v));
  const foreign = record.currency && record.currency !== "USD";
  const rate = record.exchange_rate;
  return h(
    "section",
    { class: "notes", "data-api-service": record.id },
    h("h4", {}, `The API: ${record.provider}, ${record.model}`),
    h(
      "div",
      { class: "cards" },
      card("API price, input", `${fmt.usd(record.usd_per_million_input_tokens)} / M tokens`, null, null, null, "api_input"),
      card("API price, output", `${fmt.usd(record.usd_per_million_output_tokens)} / M tokens`, null, null, null, "api_output"),
      foreign ? card(`Published in ${record.currency}`, `${sig(record.per_million_input_tokens, 4)} in / ${sig(record.per_million_output_tokens, 4)} out ${record.currency} per M tokens`, null, null, null, "api_published") : null,
      foreign && rate ? card("Converted at", `${sig(rate.units_per_usd, 4)} ${rate.currency} per USD (${rate.as_of})`, null, null, null, "api_exchange_rate") : null,
      card("Priced as of", record.as_of, null, null, null, "api_as_of"),
      record.valid_from || record.valid_until ? card("Applied", `${record.valid_from ? `from ${record.valid_from}` : ""}${record.valid_from && record.valid_until ? " " : ""}${record.valid_until ? `until ${record.valid_until}` : " (still applies)"}`, null, null, null, "api_valid") : null,
      card("Weights", record.open_weights ? "open (can be self-hosted)" : "closed (priced for comparison only)", null, null, null, "api_weights"),
    ),
    record.valid_until
      ? h("p", { class: "note", "data-history": record.valid_until }, `A past price (dated history): it applied until ${record.valid_until}. The comparison shows what the API cost then against self-hosting at today's device prices.`)
      : null,
    h(
      "ul",
      {},
      h("li", {}, "Source: ", record.source, record.verified ? "" : " (unverified: see the notes)"),
      record.notes ? h("li", {}, record.notes) : null,
      foreign && rate ? h("li", { "data-exchange-rate": "" }, `Exchange rate: ${rate.units_per_usd} ${rate.currency} per USD, ${rate.as_of}; ${rate.source}`) : null,
      (record.assumptions || []).map((a) => h("li", { "data-assumption": a.field }, "Assumed: ", h("code", {}, a.field), ` = ${a.value}: ${a.reason}`)),
      extra.map(([key, v]) => h("li", { "data-field": key }, h("code", {}, key), ` = ${value(v)}`)),
      comparison ? h("li", { "data-comparison-source": "" }, `The plan's comparison read: ${comparison.source}`) : null,
    ),
    record.open_weights
      ? null
      : h("p", { class: "note", "data-closed": "" }, `${record.model} is a closed model: its price is compared with serving the model you chose, which is not the same model; the quality may differ.`),
  );
}

/** Every hosted-API price in the catalog, by provider; a row makes it the one compared against. */
function apiServices() {
  return h(
    "details",
    { class: "api-services" },
    h("summary", {}, `All ${catalog.apiPrices.length} API prices in the catalog, by provider (click one to compare against it)`),
    table(
      "api-prices",
      [
        { key: "provider", label: "Provider", text: true },
        { key: "model", label: "Model", text: true },
        { key: "open_weights", label: "Weights", text: true, fmt: (v) => (v ? "open" : "closed") },
        { key: "usd_per_million_input_tokens", label: "USD / M in", fmt: fmt.usd },
        { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd },
        { key: "currency", label: "Published in", text: true, fmt: (v) => v || "USD" },
        { key: "valid_from", label: "From", text: true, fmt: (v) => v || "" },
        { key: "valid_until", label: "Until", text: true, fmt: (v) => v || "" },
        { key: "as_of", label: "As of", text: true },
        { key: "verified", label: "Verified", text: true, fmt: (v) => (v ? "yes" : "no") },
        { key: "id", label: "Id", text: true },
      ],
      catalog.apiPrices.map((r) => ({ ...r })),
      {
        rowClass: (row) => (row.id === state.params.api ? "pareto" : ""),
        onRowClick: (row) => {
          state.params.api = row.id;
          writeUrl(true);
          rerender();
        },
      },
    ),
  );
}

export const view = {
  title: "Local vs cloud vs API",
  lede: "A device you own against one you rent against an API's price per token: cost per month and per million output tokens against the monthly volume, with the break-even points.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "llama-3.1-8b" },
    { name: "requests_per_s", label: "Requests per second", type: "number", value: "0.5", step: "any", min: 0 },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "1000", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "250", min: 1 },
    { name: "own", label: "Device you own", options: options.hardware, value: "nvidia-rtx-4090" },
    { name: "rent", label: "Device you rent", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
    { name: "electricity_usd_per_kwh", label: "Electricity (USD/kWh)", type: "number", value: "0.20", step: "any", min: 0 },
    { name: "api", label: "API price", options: options.apiPrice, value: "openai/gpt-4o-mini" },
    { name: "max_ttft_ms", label: "Max TTFT (ms)", type: "number", value: "2000", min: 1 },
    { name: "max_tpot_ms", label: "Max TPOT (ms)", type: "number", value: "50", min: 1 },
  ],
  presets: [
    // The founding document's cloud services, where the catalog prices them.
    // Each names the ids it prefers, then any price that matches.
    ...[
      ["GPT-4 Turbo", ["openai/gpt-4-turbo"], /^openai\/gpt-4-turbo/],
      ["GPT-3.5 Turbo", ["openai/gpt-3.5-turbo"], /^openai\/gpt-3\.5-turbo/],
      ["GPT-3 davinci (2020)", ["openai/davinci"], /davinci/],
      ["Azure OpenAI", ["azure-openai/gpt-4-turbo"], /azure/],
      ["ERNIE 4.0", ["baidu/ernie-4.0-8k"], /ernie-4\.0/],
      ["ERNIE Speed", ["baidu/ernie-speed-8k-2024-05"], /ernie-speed/],
    ].map(([label, ids, pattern]) => ({ label: `Against ${label}`, set: () => {
      const found = catalog.apiPrices.find((p) => ids.includes(p.id)) || catalog.apiPrices.find((p) => pattern.test(`${p.id} ${p.provider}`.toLowerCase()));
      return found ? { api: found.id } : null;
    } })),
  ],
  action: "Compare",
  run: runCost,
};
