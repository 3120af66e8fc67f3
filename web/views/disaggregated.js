// Disaggregated prefill and decode, for the serving and check views: the form's fields
// (grouped in one fieldset), the request's `disaggregation` they make (the check view's
// pasted plan gets it too; "no prefill pool" sends the decode pool alone, as the API and CLI
// take it), and the cards read from an answer's `disaggregation` section (each
// pool, the KV transfer between them; a check's `under_load` carries the same section). Every
// number shown is the API's; a latency's share of the mean E2E divides two of them.

import { card, fmt, h, int, listAll, options, sig } from "../lib.js";

/** The networks between nodes (`GET /v1/networks`), fetched once when the module loads. */
let networks = [];
const networksLoaded = listAll("/v1/networks").then(
  (items) => (networks = items),
  () => networks,
);
const networkChoices = () => [["", "default (the request's network, else the catalog's)"], ...networks.map((n) => [n.id, `${n.id}${n.default ? " (default)" : ""}`])];
const hardwareChoices = () => [["", "the serving device"], ...options.hardware()];

/** The prefill side: a pool of its own, or none (a decode-only pool fed prefilled requests). */
const prefillChoices = () => [
  ["pool", "a pool (the prefill fields)"],
  ["none", "none: decode only, requests arrive prefilled"],
];

/**
 * The fields, appended to the serving view's; all empty (and a prefill pool) means no
 * disaggregation.
 */
export const DISAGG_FIELDS = [
  { name: "prefill_pool", label: "Prefill side", options: prefillChoices, value: "pool" },
  { name: "prefill_devices", label: "Prefill devices (empty: not disaggregated)", type: "number", value: "", min: 1, empty: "not disaggregated" },
  { name: "decode_devices", label: "Decode devices (empty: not disaggregated)", type: "number", value: "", min: 1, empty: "not disaggregated" },
  { name: "prefill_hardware", label: "Prefill device", options: hardwareChoices, value: "" },
  { name: "decode_hardware", label: "Decode device", options: hardwareChoices, value: "" },
  { name: "kv_network", label: "Network the KV cache crosses", options: networkChoices, value: "" },
];

/** Request pointers these fields fill, for refusals at their field. */
export const DISAGG_POINTERS = {
  "/disaggregation": "prefill_devices",
  "/disaggregation/prefill": "prefill_devices",
  "/disaggregation/prefill/devices": "prefill_devices",
  "/disaggregation/prefill/hardware": "prefill_hardware",
  "/disaggregation/decode": "decode_devices",
  "/disaggregation/decode/devices": "decode_devices",
  "/disaggregation/decode/hardware": "decode_hardware",
  "/disaggregation/network": "kv_network",
};

const given = (x) => x !== undefined && x !== null && String(x).trim() !== "";

/** Whether the form asks for a decode pool alone (no `prefill` in the request). */
const decodeOnly = (p) => p.prefill_pool === "none";

/**
 * The request's `disaggregation` from the form, or undefined when every field is empty and
 * the prefill side is a pool. Decode only: no `prefill` (the prefill fields are not sent).
 */
export function disaggregationBody(p) {
  if (!decodeOnly(p) && !DISAGG_FIELDS.some((f) => f.name !== "prefill_pool" && given(p[f.name]))) return undefined;
  const pool = (devices, hardware) => {
    const body = {};
    if (given(hardware)) body.hardware = String(hardware);
    if (given(devices)) body.devices = int(devices);
    return body;
  };
  const body = decodeOnly(p)
    ? { decode: pool(p.decode_devices, p.decode_hardware) }
    : { prefill: pool(p.prefill_devices, p.prefill_hardware), decode: pool(p.decode_devices, p.decode_hardware) };
  if (given(p.kv_network)) body.network = String(p.kv_network);
  return body;
}

/** A TOML key's value: numbers as they are, strings quoted (JSON's escapes are TOML's). */
const tomlValue = (v) => (typeof v === "number" ? String(v) : JSON.stringify(String(v)));

/**
 * A pasted check plan (`syntax` json or toml) with the fields' `disaggregation`, or the plan
 * untouched when every field is empty. JSON: the fields replace the plan's own
 * `disaggregation`; TOML: its tables are appended (a plan that has them too is refused by the
 * API, at its pointer). A plan that is not JSON is sent as it is, for the API to refuse.
 */
export function planWithDisaggregation(plan, syntax, p) {
  const body = disaggregationBody(p);
  if (!body) return plan;
  if (syntax === "toml") {
    const lines = ["", "[disaggregation]"];
    if (body.network !== undefined) lines.push(`network = ${tomlValue(body.network)}`);
    for (const pool of ["prefill", "decode"].filter((name) => body[name])) {
      lines.push(`[disaggregation.${pool}]`, ...Object.entries(body[pool]).map(([k, v]) => `${k} = ${tomlValue(v)}`));
    }
    return `${plan}\n${lines.join("\n")}\n`;
  }
  let parsed;
  try {
    parsed = JSON.parse(plan);
  } catch {
    return plan;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return plan;
  return JSON.stringify({ ...parsed, disaggregation: body });
}

/**
 * Gathers the fields into one fieldset of the form (once per render), and fills the network
 * choices when the list arrived after the form was drawn.
 */
export async function disaggFieldset() {
  prefillFields();
  const labels = DISAGG_FIELDS.map((f) => document.getElementById(`f-${f.name}`)?.closest("label")).filter(Boolean);
  if (labels.length && labels[0].parentElement?.dataset.fieldset !== "disaggregation") {
    const set = h("fieldset", { class: "disaggregation wide", "data-fieldset": "disaggregation" }, h("legend", {}, "Disaggregated prefill and decode"));
    labels[0].before(set);
    for (const label of labels) set.append(label);
  }
  await networksLoaded;
  const select = document.getElementById("f-kv_network");
  if (select && networks.length && select.options.length < networks.length + 1) {
    const chosen = select.value;
    select.replaceChildren(...networkChoices().map(([v, text]) => h("option", { value: v, selected: v === chosen }, text)));
  }
}

/** Decode only: the prefill pool's fields are greyed out (they are not sent). */
function prefillFields() {
  const mode = document.getElementById("f-prefill_pool");
  if (!mode) return;
  const sync = () => {
    for (const name of ["prefill_devices", "prefill_hardware"]) {
      const el = document.getElementById(`f-${name}`);
      if (el) el.disabled = mode.value === "none";
    }
  };
  if (!mode.dataset.synced) mode.addEventListener("change", sync);
  mode.dataset.synced = "1";
  sync();
}

/** One replica's layout of a pool, in the words of the serving view's layout line. */
const layout = (pool) => {
  const p = pool.parallelism || {};
  return `${pool.devices} × ${pool.hardware}: ${pool.replicas} replica${pool.replicas === 1 ? "" : "s"} of tensor ${p.tensor ?? 1} × pipeline ${p.pipeline ?? 1}`;
};

/** A latency as its share of the answer's mean end-to-end latency. */
const share = (ms, answer) => {
  const e2e = answer.e2e_ms?.mean;
  return Number.isFinite(e2e) && e2e > 0 ? ` (${fmt.pct(ms / e2e)} of E2E mean)` : "";
};

/**
 * The pool cards and the KV transfer of an answer: nothing when it is not disaggregated. An
 * answer without explanations (a check's `under_load`) shows its numbers plain: `explained`
 * false.
 */
export function disaggCards(answer, { explained = true } = {}) {
  const d = answer?.disaggregation;
  if (!d) return null;
  const a = explained ? answer : null;
  const pool = (name, p, rule, rateRule) => [
    card(`${name} pool`, layout(p), null, null, null, `disagg_${name.toLowerCase()}_layout`),
    card(`${name} rate carried`, `${sig(p.requests_per_s)} req/s · ${sig(p.tokens_per_s_per_device)} ${p.tokens} tok/s per device`, rateRule ? a : null, rateRule, null, `disagg_${name.toLowerCase()}_rate`),
    card(`${name} utilisation`, fmt.pct(p.utilization), a, rule, null, `disagg_${name.toLowerCase()}_utilization`),
    card(`${name} latency, mean`, `${fmt.ms(p.latency_ms)}${share(p.latency_ms, answer)}`, a, rule, null, `disagg_${name.toLowerCase()}_latency_ms`),
  ];
  const t = d.kv_transfer;
  return h(
    "section",
    { class: "disaggregation", "data-section": "disaggregation" },
    h("h3", { class: "section" }, d.prefill ? `Disaggregated: ${d.prefill.devices} prefill + ${d.decode.devices} decode devices` : `Disaggregated: ${d.decode.devices} decode devices fed by an unlimited prefill side`),
    // A decode-only pool (no `prefill` in the request): requests arrive prefilled.
    d.prefill ? h("div", { class: "cards disagg-pool", "data-pool": "prefill" }, pool("Prefill", d.prefill, "serving.disaggregated.prefill_latency_s", "serving.disaggregated.prefill_latency_s")) : null,
    h("div", { class: "cards disagg-pool", "data-pool": "decode" }, pool("Decode", d.decode, "serving.disaggregated.decode_latency_s", null)),
    h(
      "div",
      { class: "cards disagg-transfer", "data-pool": "transfer" },
      card("KV transfer per request", `${sig(t.bytes_per_request / 1e6)} MB`, a, "serving.disaggregated.kv_transfer_bytes_per_request", null, "disagg_kv_bytes"),
      card("KV transfer time", `p50 ${fmt.ms(t.ms.p50)} · p90 ${fmt.ms(t.ms.p90)}${share(t.ms.mean, answer)}`, a, "serving.disaggregated.kv_transfer_s", null, "disagg_kv_ms"),
      card("KV transfer path", t.on_fabric ? "the devices' own fabric (one NVLink domain)" : `network ${t.network ?? "–"}`, null, null, null, "disagg_kv_path"),
      card("Output tok/s per device, both pools", sig(d.output_tokens_per_s_per_device), a, "serving.disaggregated.output_tokens_per_s_per_device", null, "disagg_output_per_device"),
    ),
    h("p", { class: "note" }, `${t.lanes} lane${t.lanes === 1 ? "" : "s"} of ${sig(t.lane_gbytes_per_s)} GB/s, ${sig(t.latency_us)} µs latency; ${d.prefill ? `${sig(d.prefill_devices_per_decode_device)} prefill devices per decode device` : "no prefill pool: each request arrives prefilled, after its KV transfer"}. The transfer starts when the prefill ends (no layer-wise overlap): an upper bound on its share of TTFT.`),
  );
}
