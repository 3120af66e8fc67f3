// Local vs cloud vs API ---------------------------------------------------------

import { rerender, state, writeUrl } from "../state.js";
import { add, api, card, catalog, float, fmt, from, h, int, notes, num, options, sig, table, withAnswer } from "../lib.js";
import { chart } from "../chart.js";

/** The comparison's request fields named otherwise than its form's. */
const COST_FIELDS = { "/models": "model", "/api_price_id": "api", "/cost/purchase_usd": "purchase_usd", "/cost/amortization_years": "amortization_years" };

/** A catalog device's name (its id when the catalog has none). */
const nameOf = (id) => catalog.hardware.find((d) => d.id === id)?.name || id;

/**
 * One side of the comparison: a plan of one device, paid one way (`own` or `rent`), against the
 * chosen API. Each side is its own request, so the "rent" figures are the rented device's.
 */
function sideBody(p, device, cost) {
  return {
    models: [p.model],
    workload: { requests_per_s: float(p.requests_per_s), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
    requirements: { max_ttft_ms: float(p.max_ttft_ms), max_tpot_ms: float(p.max_tpot_ms) },
    search: { hardware: [device] },
    cost,
    api_price_id: p.api,
    limit: 20,
  };
}

/** The requests the view sends: owning the owned device, renting the rented one. */
export function costBodies(p) {
  const own = { basis: "own", electricity_usd_per_kwh: float(p.electricity_usd_per_kwh), purchase_usd: float(p.purchase_usd), amortization_years: float(p.amortization_years) };
  return { own: sideBody(p, p.own, own), rent: sideBody(p, p.rent, { basis: "rent" }) };
}

/** A side's plan, its best configuration and its comparison with the API on its own basis. */
function side(basis, plan) {
  const best = plan.best?.inference || null;
  const comparison = (plan.api_comparison || []).find((c) => c.basis === basis) || null;
  return { basis, plan, best, comparison, row: plan.ranked[0] || null };
}

const sideName = (s) => `${s.basis === "own" ? "owning" : "renting"} ${s.best.devices} × ${nameOf(s.best.hardware)}`;

async function runCost(p, out) {
  const bodies = costBodies(p);
  const [ownPlan, rentPlan] = await Promise.all([from(COST_FIELDS, api("POST", "/v1/plan", bodies.own)), from(COST_FIELDS, api("POST", "/v1/plan", bodies.rent))]);
  const own = side("own", ownPlan);
  const rent = side("rent", rentPlan);
  const sides = [own, rent].filter((s) => s.best && s.comparison);
  // The API's month: 365.25 x 24 / 12 hours.
  const HOURS_PER_MONTH = 730.5;
  const monthlyTokens = float(p.requests_per_s) * int(p.output_tokens) * 3600 * HOURS_PER_MONTH;
  const reference = sides[0]?.comparison;
  add(out, answerSentence(own, rent, reference, monthlyTokens));
  add(out, notes(ownPlan, "owning"), own.best ? notes(own.best, "owning: the best configuration") : null, notes(rentPlan, "renting"), rent.best ? notes(rent.best, "renting: the best configuration") : null);
  add(out, apiService(p.api, reference));
  for (const s of [own, rent].filter((s) => !s.best)) {
    add(out, h("p", { "data-no-config": s.basis }, `${s.basis === "own" ? `Owning ${nameOf(p.own)}` : `Renting ${nameOf(p.rent)}`}: no configuration meets the requirements, so there is nothing to compare.`), table(`rejected-${s.basis}`, [{ key: "reason", label: "Rejected for", text: true }, { key: "count", label: "Configurations", fmt: fmt.count }], s.plan.rejected));
  }
  if (!sides.length) return;
  const apiPerToken = reference.api_usd_per_million_output_tokens / 1e6;
  const volumes = [];
  const top = Math.max(...sides.map((s) => s.comparison.capacity_output_tokens_per_month), monthlyTokens);
  for (let v = 1e6; v <= top * 1.01; v *= 10 ** 0.25) volumes.push(v);
  const selfHosted = (c, v) => c.self_hosted_fixed_usd_per_month + (c.self_hosted_marginal_usd_per_million_output_tokens * v) / 1e6;
  const markers = sides.filter((s) => s.comparison.break_even_output_tokens_per_month).map(({ basis, comparison: c }) => ({ x: c.break_even_output_tokens_per_month, y: apiPerToken * c.break_even_output_tokens_per_month, label: `break-even (${basis}) ${sig(c.break_even_output_tokens_per_month / 1e6)} M tok/month` }));
  add(out,
    h(
      "div",
      { class: "cards" },
      ...sides.map((s) => card(`Break-even against ${s.comparison.api}, ${sideName(s)}`, s.comparison.break_even_output_tokens_per_month ? `${sig(s.comparison.break_even_output_tokens_per_month / 1e6)} M output tokens/month` : "never", s.comparison, "breakeven.volume", null, `break_even_${s.basis}`)),
      ...sides.map((s) => card(`Self-hosted, ${sideName(s)}, at this volume`, `${fmt.usd(s.comparison.self_hosted_usd_per_million_output_tokens)} / M out`, s.comparison, "breakeven.self_hosted_usd_per_million_output_tokens", null, `self_hosted_${s.basis}`)),
      ...sides.map((s) => card(`Self-hosted per month, ${sideName(s)}`, `${fmt.usd(s.comparison.self_hosted_usd_per_month)} / month`, null, null, null, `self_hosted_month_${s.basis}`)),
      card(`API ${reference.api}, prompts included`, `${fmt.usd(reference.api_usd_per_million_output_tokens)} / M out`, reference, "breakeven.api_usd_per_million_output_tokens", null, "api"),
      card(`API ${reference.api} per month at this volume`, `${fmt.usd(apiPerToken * monthlyTokens)} / month`, null, null, null, "api_month"),
    ),
    blendNote(reference),
    own.best ? ownedDevice(own) : null,
    rent.best ? rentedDevice(rent) : null,
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
          { name: `API ${reference.api}`, points: volumes.map((v) => ({ x: v, y: apiPerToken * v })) },
          ...sides.map((s) => ({ name: sideName(s), points: volumes.filter((v) => v <= s.comparison.capacity_output_tokens_per_month * 1.001).map((v) => ({ x: v, y: selfHosted(s.comparison, v) })) })),
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
          { name: `API ${reference.api}`, points: volumes.map((v) => ({ x: v, y: apiPerToken * 1e6 })) },
          ...sides.map((s) => ({ name: sideName(s), points: volumes.filter((v) => v <= s.comparison.capacity_output_tokens_per_month * 1.001).map((v) => ({ x: v, y: (selfHosted(s.comparison, v) / v) * 1e6 })) })),
        ],
        vlines: [{ at: monthlyTokens, label: "this workload" }],
      }),
    ),
    h("h3", {}, `Self-hosted against ${reference.api}`),
    table(
      "api-comparison",
      [
        { key: "basis", label: "Paid by", text: true },
        { key: "device", label: "Devices", text: true },
        { key: "api_usd_per_million_output_tokens", label: "API USD / M out", fmt: fmt.usd, rule: "breakeven.api_usd_per_million_output_tokens" },
        { key: "self_hosted_usd_per_million_output_tokens", label: "Self-hosted USD / M out", fmt: fmt.usd, rule: "breakeven.self_hosted_usd_per_million_output_tokens" },
        { key: "self_hosted_floor_usd_per_million_output_tokens", label: "At full use", fmt: fmt.usd },
        { key: "self_hosted_fixed_usd_per_month", label: "Fixed USD / month", fmt: fmt.usd },
        { key: "self_hosted_marginal_usd_per_million_output_tokens", label: "Per M tokens served", fmt: fmt.usd },
        { key: "self_hosted_usd_per_month", label: "USD / month", fmt: fmt.usd },
        { key: "break_even_output_tokens_per_month", label: "Break-even tok/month", rule: "breakeven.volume" },
        { key: "self_hosting_cheaper", label: "Self-hosting cheaper", text: true, fmt: (v) => (v ? "yes" : "no") },
      ],
      sides.map((s) => withAnswer({ ...s.comparison, device: `${s.best.devices} × ${s.best.hardware}` }, s.comparison)),
    ),
    h("h3", {}, "The best configuration of each device"),
    table(
      "best-per-device",
      [
        { key: "hardware", label: "Device", text: true },
        { key: "devices", label: "Devices" },
        { key: "weights", label: "Weights", text: true },
        { key: "basis", label: "Paid by", text: true },
        { key: "usd_per_hour", label: "USD/h", fmt: fmt.usd, rule: "cost.usd_per_hour", output: "throughput.output_tokens_per_s" },
        { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd },
        { key: "output_tokens_per_s", label: "Capacity tok/s" },
        { key: "utilization", label: "Utilization", fmt: fmt.pct },
      ],
      // Each row links to its plan's best estimate where it is that configuration.
      [own, rent].filter((s) => s.row).map((s) => {
        const r = s.row;
        const row = { hardware: r.hardware, devices: r.devices, weights: r.weights, basis: r.cost.basis, usd_per_hour: r.cost.usd_per_hour, usd_per_million_output_tokens: r.cost.usd_per_million_output_tokens, output_tokens_per_s: r.throughput.output_tokens_per_s, utilization: r.throughput.utilization };
        return s.best ? withAnswer(row, s.plan.best.inference) : row;
      }),
    ),
    h("p", { class: "note" }, "Self-hosted cost per month is the API's fixed part (rent around the clock, or purchase and hosting) plus its per-token part (electricity when owning); the break-even is where that line crosses the API's price. Costs inherit the throughput estimate's error band."),
  );
  add(out, apiServices());
}

/**
 * The answer in one sentence, at the top: what a million output tokens costs owning, renting
 * and from the API at this volume, each number the comparison's own (and opening its rule),
 * and which is cheapest.
 */
function answerSentence(own, rent, reference, monthlyTokens) {
  const sides = [own, rent].filter((s) => s.best && s.comparison);
  if (!sides.length || !reference) return h("p", { class: "answer", "data-answer": "none" }, "No configuration of either device meets the requirements: nothing to compare with the API.");
  const figure = (s) => num(`${fmt.usd(s.comparison.self_hosted_usd_per_million_output_tokens)}`, s.comparison, "breakeven.self_hosted_usd_per_million_output_tokens");
  const choices = [...sides.map((s) => ({ name: sideName(s), usd: s.comparison.self_hosted_usd_per_million_output_tokens })), { name: `the API (${reference.api})`, usd: reference.api_usd_per_million_output_tokens }];
  const cheapest = choices.reduce((a, b) => (b.usd < a.usd ? b : a));
  return h(
    "p",
    { class: "answer", "data-answer": cheapest.name },
    `At ${sig(monthlyTokens / 1e6)} M output tokens a month, per million output tokens: `,
    sides.map((s) => [h("span", { "data-side": s.basis }, `${sideName(s)} `, figure(s)), "; "]),
    h("span", { "data-side": "api" }, `the API ${reference.api} `, num(fmt.usd(reference.api_usd_per_million_output_tokens), reference, "breakeven.api_usd_per_million_output_tokens"), " (prompts included)"),
    `. Cheapest: ${cheapest.name}.`,
  );
}

/** How the API's price per output token folds the prompts in, in the comparison's own figures. */
function blendNote(c) {
  return h(
    "p",
    { class: "note", "data-blend": c.api },
    `The API charges ${fmt.usd(c.api_price_usd_per_million_input_tokens)} per million prompt tokens and ${fmt.usd(c.api_price_usd_per_million_output_tokens)} per million output tokens. `,
    `This workload sends ${sig(c.input_tokens_per_output_token)} prompt tokens per output token, so the comparison folds the prompts into one price per output token: `,
    `${fmt.usd(c.api_price_usd_per_million_output_tokens)} + ${sig(c.input_tokens_per_output_token)} × ${fmt.usd(c.api_price_usd_per_million_input_tokens)} = ${fmt.usd(c.api_usd_per_million_output_tokens)} per million output tokens.`,
  );
}

/** The owned device's purchase and amortisation, as the best configuration's estimate priced it. */
function ownedDevice(s) {
  const e = s.best;
  const b = e.cost?.basis;
  if (!b || b.basis !== "own") return null;
  return h(
    "section",
    { "data-owned": e.hardware },
    h("h3", {}, `Owning ${e.devices} × ${nameOf(e.hardware)}`),
    h(
      "div",
      { class: "cards" },
      card("Purchase price per device", fmt.usd(b.purchase_usd), e, "cost.usd_per_hour", null, "purchase_usd"),
      card("Amortised over", `${sig(b.amortization_years)} years at ${fmt.pct(b.utilization)} use`, e, "cost.usd_per_hour", null, "amortization"),
      card(`Per device-hour: ${fmt.usd(b.capital_usd_per_device_hour)} purchase + ${fmt.usd(b.energy_usd_per_device_hour)} electricity + ${fmt.usd(b.hosting_usd_per_device_hour)} hosting`, fmt.usd(b.usd_per_device_hour), e, "cost.usd_per_hour", null, "owned_usd_per_device_hour"),
    ),
    h(
      "p",
      { class: "note" },
      `Included: the purchase (${fmt.usd(b.purchase_usd)} per device${b.offering ? `, ${b.offering}` : ""}${b.checked_on ? `, ${b.checked_on}` : ""}) spread over ${sig(b.amortization_years)} years of ${fmt.pct(b.utilization)} use; `,
      `electricity at ${sig(b.power_w)} W, ${fmt.usd(b.electricity_usd_per_kwh)} per kWh, PUE ${sig(b.pue)}; hosting ${fmt.usd(b.hosting_usd_per_month)} per month. `,
      b.source ? ["Source: ", b.source] : null,
    ),
  );
}

/** The rented device's price, as the best configuration's estimate priced it. */
function rentedDevice(s) {
  const e = s.best;
  const b = e.cost?.basis;
  if (!b || b.basis !== "rent") return null;
  return h(
    "section",
    { "data-rented": e.hardware },
    h("h3", {}, `Renting ${e.devices} × ${nameOf(e.hardware)}`),
    h(
      "div",
      { class: "cards" },
      card("Rent per device-hour", fmt.usd(b.usd_per_device_hour), e, "cost.usd_per_hour", null, "rent_usd_per_device_hour"),
      card("Provider", `${b.provider || "–"}${b.term ? ` (${b.term})` : ""}`, null, null, null, "rent_provider"),
    ),
    h("p", { class: "note" }, `Rented around the clock${b.offering ? `: ${b.offering}` : ""}${b.checked_on ? `, ${b.checked_on}` : ""}. `, b.source ? ["Source: ", b.source] : null),
  );
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
    // Devices with a purchase price to own, with a rental price to rent.
    { name: "own", label: "Device you own", options: () => catalog.hardware.filter((d) => d.purchase_usd != null).map((d) => [d.id, d.name, d.vendor]), value: "nvidia-rtx-4090" },
    { name: "purchase_usd", label: "Purchase price per device (USD; empty: the catalog's)", type: "number", value: "", step: "any", min: 0, empty: "the catalog's price" },
    { name: "amortization_years", label: "Years to pay it off (empty: the default)", type: "number", value: "", step: "any", min: 0, empty: "the catalog's default" },
    { name: "electricity_usd_per_kwh", label: "Electricity (USD/kWh)", type: "number", value: "0.20", step: "any", min: 0 },
    { name: "rent", label: "Device you rent", options: () => catalog.hardware.filter((d) => d.usd_per_hour != null).map((d) => [d.id, d.name, d.vendor]), value: "nvidia-h100-sxm-80gb" },
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
