// "Will it hold?" -----------------------------------------------------------------
//
// The landing question: this model, on these devices, at my rate, my lengths and my latency
// limits: yes or no, and why. One POST /v1/check answers it (the same capacity and replay that
// the serving view and the planner read); the page shows its verdict, its rules (the failing
// ones first), the layout it chose, the capacity, latency and cost at my rate, and links that
// carry the same inputs to the serving, plan and check views.

import { FIELDS, add, api, badge, card, catalog, float, fmt, from, h, int, layoutText, notes, options, sig } from "../lib.js";
import { rulesTable } from "./check.js";

/** The request's fields named otherwise than the form's. */
const HOLD_FIELDS = {
  "/inference/model": "model",
  "/inference/hardware": "hardware",
  "/inference/devices": "devices",
  "/inference/weights": "weights",
  "/inference/engine": "engine",
  "/inference/input_tokens": "input_tokens",
  "/inference/output_tokens": "output_tokens",
  "/requirements/min_requests_per_s": "requests_per_s",
  "/requirements/max_ttft_p90_ms": "ttft_ms",
  "/requirements/max_tpot_p90_ms": "tpot_ms",
};

/**
 * The model as the request names it: a pasted Hugging Face config.json (an object) wins over
 * the catalog choice. Text that is not JSON is refused here, naming the field.
 */
function modelOf(p) {
  const pasted = String(p.config || "").trim();
  if (!pasted) return p.model;
  try {
    return JSON.parse(pasted);
  } catch (error) {
    const problem = { title: "Invalid input", code: "invalid-json", errors: [{ field: "config", detail: `is not JSON: ${error.message}` }] };
    throw Object.assign(new Error(problem.errors[0].detail), { problem, status: 400 });
  }
}

/** The POST /v1/check body of the form (also what the "open as a check" link carries). */
export function holdRequest(p) {
  return {
    inference: {
      model: modelOf(p),
      hardware: p.hardware,
      devices: int(p.devices),
      weights: p.weights,
      engine: p.engine,
      // The engine's own limit on concurrent sequences (as in POST /v1/estimate/serving), not
      // one sequence at a time.
      batch_size: "max",
      input_tokens: int(p.input_tokens),
      output_tokens: int(p.output_tokens),
    },
    requirements: {
      min_requests_per_s: float(p.requests_per_s),
      max_ttft_p90_ms: float(p.ttft_ms),
      max_tpot_p90_ms: float(p.tpot_ms),
    },
  };
}

const link = (view, params) => `?${new URLSearchParams({ view, ...Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && String(v) !== "")) })}`;

/** The same question in the other views: the inputs each of them has, under its own names. */
function links(p, request) {
  const common = { model: typeof request.inference.model === "string" ? p.model : undefined, input_tokens: p.input_tokens, output_tokens: p.output_tokens };
  return h(
    "nav",
    { class: "carry", "aria-label": "The same inputs in the other views" },
    h("a", { href: link("serving", { ...common, hardware: p.hardware, devices: p.devices, weights: p.weights, engine: p.engine, rate: p.requests_per_s, ttft_slo_ms: p.ttft_ms, tpot_slo_ms: p.tpot_ms }), "data-carry": "serving" }, "Replay it in Serving: latency against rate"),
    h("a", { href: link("plan", { ...common, requests_per_s: p.requests_per_s, max_ttft_ms: p.ttft_ms, max_tpot_ms: p.tpot_ms }), "data-carry": "plan" }, "Plan: the cheapest deployments that hold"),
    h("a", { href: link("check", { syntax: "json", plan: JSON.stringify(request, null, 2) }), "data-carry": "check" }, "Open as a check (JSON, for CI)"),
  );
}

/** A rule of the check as an explain entry: its own words are how it was judged. */
const ruleEntry = (rule) => rule && { rule: rule.rule, formula: rule.message, inputs: { value: rule.value, limit: rule.limit, margin: rule.margin, error_band: rule.error_band }, value: rule.value, unit: rule.unit };

async function runHold(p, out) {
  const request = holdRequest(p);
  const report = await from(HOLD_FIELDS, api("POST", "/v1/check", request));
  const e = report.inference;
  const load = report.under_load;
  const device = catalog.hardware.find((d) => d.id === p.hardware);
  const model = typeof request.inference.model === "string" ? catalog.models.find((m) => m.id === p.model)?.name || p.model : `${e?.model || "the pasted model"} (config.json)`;
  const holds = report.verdict === "pass";
  const ran = load && load.completed > 0;
  const at = float(p.requests_per_s);
  const capacity = ran ? load.capacity_requests_per_s : null;
  // One sentence from the check's own numbers.
  const sentence = !e || e.verdict === "does_not_fit"
    ? `${model} in ${p.weights} does not fit on ${p.devices} × ${device?.name || p.hardware}${e?.not_run?.reason ? `: ${e.not_run.reason}` : ""}.`
    : `${model} in ${p.weights} on ${e.devices} × ${device?.name || p.hardware} (${layoutText(e).split(": ")[1]}) ${holds ? "holds" : "does not hold"} ${at !== undefined ? `${sig(at)} requests/s` : "its load"}: ` +
      `the most it serves within your limits is ${ran ? `${sig(capacity)} requests/s` : "none (nothing ran)"}` +
      (ran && load.requests_per_s != null ? `; at ${sig(load.requests_per_s)} requests/s the TTFT p90 is ${fmt.ms(load.ttft_ms.p90)} and the TPOT p90 ${fmt.ms(load.tpot_ms.p90)}` : "") +
      ".";
  const failing = report.rules.filter((r) => r.status !== "pass");
  const order = { fail: 0, at_risk: 1, unknown: 2, pass: 3 };
  const rules = [...report.rules].sort((a, b) => (order[a.status] ?? 2) - (order[b.status] ?? 2));
  const withRule = (name) => ({ explain: [ruleEntry(report.rules.find((r) => r.rule === name))].filter(Boolean), error_band: e?.error_band });
  add(
    out,
    h(
      "section",
      { class: `hold-verdict ${holds ? "holds" : "fails"}`, "data-hold": holds ? "yes" : "no" },
      h("h3", {}, badge(report.verdict, holds ? "Yes" : "No"), " ", holds ? "It holds." : "It does not hold.", " ", h("span", { class: "summary" }, report.summary)),
      h("p", { class: "sentence", "data-sentence": "" }, sentence),
      failing.length ? h("ul", { class: "reasons", "data-reasons": "" }, failing.map((r) => h("li", { "data-rule": r.rule, "data-status": r.status }, badge(r.status, r.status), " ", h("strong", {}, r.rule), ": ", r.message))) : null,
      links(p, request),
    ),
    notes({ ...(e || {}), assumptions: report.assumptions, [FIELDS]: HOLD_FIELDS }, "the check"),
  );
  if (!e || e.verdict === "does_not_fit") return;
  const cost = e.cost;
  add(
    out,
    h(
      "div",
      { class: "cards" },
      card("Layout chosen", layoutText(e), null, null, null, "layout"),
      card("Memory per device", `${fmt.gb(e.memory.per_device.total_bytes)} of ${fmt.gb(e.memory.capacity_bytes)}`, withRule("fits"), "fits", null, "memory"),
      card("Most requests/s within your limits", ran ? `${sig(capacity)} req/s` : "none", withRule("request_rate"), "request_rate", "throughput.output_tokens_per_s", "capacity"),
      ran && load.requests_per_s != null ? card(`TTFT p50 / p90 / p99 at ${sig(load.requests_per_s)} req/s`, `${fmt.ms(load.ttft_ms.p50)} / ${fmt.ms(load.ttft_ms.p90)} / ${fmt.ms(load.ttft_ms.p99)}`, withRule("ttft_p90"), "ttft_p90", "latency.ttft_ms", "ttft") : null,
      ran && load.requests_per_s != null ? card(`TPOT p50 / p90 / p99 at ${sig(load.requests_per_s)} req/s`, `${fmt.ms(load.tpot_ms.p50)} / ${fmt.ms(load.tpot_ms.p90)} / ${fmt.ms(load.tpot_ms.p99)}`, withRule("tpot_p90"), "tpot_p90", "latency.tpot_ms", "tpot") : null,
      ran ? card("Regime at your rate", load.regime, null, null, null, "regime") : null,
      cost ? card("USD per hour, all devices", fmt.usd(cost.usd_per_hour), e, "cost.usd_per_hour", null, "usd_per_hour") : null,
      ran && load.usd_per_million_output_tokens != null ? card("USD per million output tokens at your rate", fmt.usd(load.usd_per_million_output_tokens), e, "cost.usd_per_hour", "throughput.output_tokens_per_s", "usd_per_million_output_tokens") : null,
    ),
    h(
      "details",
      { class: "all-rules" },
      h("summary", {}, `Every rule the check judged (${report.rules.length})`),
      rulesTable("hold-rules", rules),
    ),
  );
}

export const view = {
  title: "Will it hold?",
  lede: "Your model on your devices, at your request rate, lengths and latency limits: yes or no, the reasons, the layout chosen, the capacity and the cost. The same inputs open in Serving, Plan and Check.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "llama-3.1-70b" },
    { name: "hardware", label: "Device", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
    { name: "devices", label: "Devices", type: "number", value: "4", min: 1 },
    { name: "weights", label: "Weights", options: options.format, value: "fp8" },
    { name: "engine", label: "Engine", options: options.inferenceEngine, value: "vllm" },
    { name: "requests_per_s", label: "My request rate (req/s)", type: "number", value: "10", step: "any", min: 0 },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "1000", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "200", min: 1 },
    { name: "ttft_ms", label: "TTFT limit, p90 (ms)", type: "number", value: "2000", min: 1, empty: "no limit" },
    { name: "tpot_ms", label: "TPOT limit, p90 (ms)", type: "number", value: "", min: 1, empty: "no limit" },
    { name: "config", label: "Or paste a Hugging Face config.json (replaces the model above)", type: "textarea", value: "", wide: true, url: false, rows: 3 },
  ],
  presets: [
    { label: "70B FP8 on 4 × H100 at 10 req/s", set: { model: "llama-3.1-70b", hardware: "nvidia-h100-sxm-80gb", devices: "4", weights: "fp8", requests_per_s: "10", ttft_ms: "2000" } },
    { label: "8B on one RTX 4090 at 2 req/s", set: { model: "llama-3.1-8b", hardware: "nvidia-rtx-4090", devices: "1", weights: "bf16", requests_per_s: "2", ttft_ms: "2000" } },
  ],
  action: "Will it hold?",
  run: runHold,
};
