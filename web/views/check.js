import { FIELDS, add, api, badge, card, fmt, from, h, notes, options, table } from "../lib.js";
import { DISAGG_FIELDS, DISAGG_POINTERS, disaggCards, disaggFieldset, disaggregationBody, planWithDisaggregation } from "./disaggregated.js";

const CHECK_EXAMPLE = JSON.stringify(
  {
    inference: { model: "llama-3.1-70b", hardware: "nvidia-h100-sxm-80gb", devices: 4, parallelism: { tensor: 4 }, weights: "fp8", batch_size: 32, input_tokens: 2048, output_tokens: 256, engine: "tensorrt-llm" },
    requirements: { max_ttft_ms: 6000, max_tpot_ms: 50, min_requests_per_s: 2, memory_headroom_fraction: 0.1, min_context_tokens: 8192, max_devices: 8 },
  },
  null,
  2,
);
const CHECK_EXAMPLE_TOML = `# Llama-3.1-70B in BF16 on one H100 (it does not fit: 141 GB of weights on an 80 GB card)
[inference]
model = "llama-3.1-70b"
hardware = "nvidia-h100-sxm-80gb"
devices = 1
weights = "bf16"
batch_size = 8
input_tokens = 2048
output_tokens = 256

[requirements]
max_ttft_ms = 2000
max_tpot_ms = 50
`;

// Check -----------------------------------------------------------------------

/** A check's rules as a table: status, value against limit, margin, error band, and why. */
export function rulesTable(name, rules) {
  return table(
    name,
    [
      { key: "rule", label: "Rule", text: true },
      { key: "status", label: "Status", text: true, cell: (r) => badge(r.status, r.status) },
      { key: "value", label: "Value" },
      { key: "limit", label: "Limit" },
      { key: "unit", label: "Unit", text: true },
      { key: "margin", label: "Margin", fmt: fmt.pct },
      { key: "error_band", label: "Error band", fmt: fmt.pct },
      { key: "message", label: "Why", message: true },
    ],
    rules,
  );
}

async function runCheck(p, out) {
  const contentType = p.syntax === "toml" ? "application/toml" : "application/json";
  // The pointers of a refusal are into the pasted plan: they name the "Plan" field (those of
  // a `disaggregation` the fieldset filled, its fields).
  await disaggFieldset();
  const pointers = disaggregationBody(p) ? { "/": "plan", ...DISAGG_POINTERS } : { "/": "plan" };
  const report = await from(pointers, api("POST", "/v1/check", planWithDisaggregation(p.plan, p.syntax, p), contentType));
  const e = report.inference;
  // The deployment's verdict and warnings, with the report's assumptions (the estimate's and
  // the check's own: how the requirements were judged).
  const judged = e || report.training || {};
  add(out,
    notes({ ...judged, assumptions: report.assumptions || judged.assumptions, [FIELDS]: { "/": "plan" } }, "check"),
    h("p", { "data-verdict": report.verdict }, badge(report.verdict, report.verdict), " ", report.summary),
    rulesTable("check", report.rules),
    report.under_load ? underLoad(report.under_load) : null,
    disaggCards(report.under_load, { explained: false }),
    e
      ? h(
          "div",
          { class: "cards" },
          card("Memory per device", fmt.gb(e.memory.per_device.total_bytes), e, "memory.weights", "memory.per_device.total_bytes", "total_bytes"),
          e.latency ? card("Static full batch: time to first token", fmt.ms(e.latency.ttft_ms), e, "latency.ttft", "latency.ttft_ms", "ttft_ms") : null,
          e.latency ? card("Static full batch: time per output token", fmt.ms(e.latency.tpot_ms), e, "time.decode_step", "latency.tpot_ms", "tpot_ms") : null,
        )
      : null,
  );
}

/**
 * The deployment under load as the check judged it (the same capacity and replay the planner
 * and the serving view read): the rate, the replay's latencies, and the capacity within the
 * requirements' latency limits.
 */
function underLoad(load) {
  if (load.completed === 0) {
    return h("p", { class: "note", "data-under-load": "not-run" }, "Under load: not run, no request fits this deployment (so it has no latency or capacity).");
  }
  const at = load.requests_per_s == null ? "one request on an idle server" : `${fmt.plain(load.requests_per_s)} requests/s (Poisson)`;
  return h(
    "section",
    { class: "under-load", "data-under-load": load.holds ? "holds" : "does-not-hold" },
    h("h4", {}, `Under load: ${at}, continuous batching`),
    h(
      "div",
      { class: "cards" },
      card("Time to first token, mean", fmt.ms(load.ttft_ms.mean)),
      card("Time to first token, p99", fmt.ms(load.ttft_ms.p99)),
      card("Time per output token, mean", fmt.ms(load.tpot_ms.mean)),
      card("Capacity within the limits", `${fmt.plain(load.capacity_requests_per_s)} req/s`, null, "capacity"),
      card("Saturated (offline)", `${fmt.plain(load.offline_requests_per_s)} req/s`, null, "offline"),
    ),
    h("p", { class: "note" }, `Regime ${load.regime}; ${load.holds ? "holds at this rate" : "does not hold at this rate"}; capacity bound: ${load.capacity_bound}.`),
  );
}

export const view = {
  title: "Check a plan",
  lede: "Paste or upload a deployment plan (the body of POST /v1/check, as JSON or TOML) and see the verdict per rule; the disaggregated fields split an inference plan into prefill and decode pools.",
  fields: [
    { name: "syntax", label: "Syntax", options: () => [["json", "JSON"], ["toml", "TOML"]], value: "json" },
    { name: "file", label: "Upload a plan file", type: "file", accept: ".json,.toml,application/json", url: false },
    { name: "plan", label: "Plan", type: "textarea", value: CHECK_EXAMPLE, wide: true },
    ...DISAGG_FIELDS,
  ],
  presets: [
    { label: "Example (JSON): 70B on 4 × H100", set: { syntax: "json", plan: CHECK_EXAMPLE } },
    { label: "Example (TOML): 70B on one H100", set: { syntax: "toml", plan: CHECK_EXAMPLE_TOML } },
  ],
  action: "Check",
  run: runCheck,
};
