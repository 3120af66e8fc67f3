// Plan ------------------------------------------------------------------------

import { state } from "../state.js";
import { add, api, badge, card, float, fmt, from, h, int, layoutText, list, notes, options, problemBox, sig, table } from "../lib.js";
import { chart } from "../chart.js";

/** The ranked configuration a plan table row shows (not exported). */
const PLAN_ROW = Symbol("plan row");
const rowKey = (r) => `${r.hardware}|${r.devices}|${r.parallelism.tensor}|${r.parallelism.pipeline}|${r.weights}|${r.batch_size}|${r.engine}`;

/** The request for a ranked configuration's replay under the plan's workload. */
function servingBody(row, p) {
  return {
    model: row.model,
    hardware: row.hardware,
    devices: row.devices,
    parallelism: { tensor: row.parallelism.tensor, pipeline: row.parallelism.pipeline, data: row.parallelism.data },
    weights: row.weights,
    kv_cache: row.kv_cache,
    engine: row.engine,
    scheduler: { max_num_seqs: row.batch_size },
    // No `requests`: the capacity search's probe, the replay the plan ranked this row by.
    workload: { arrival: "poisson", requests_per_s: float(p.requests_per_s), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
  };
}

/** The request for a ranked configuration's static estimate (memory, explain, one batch at once). */
function inferenceBody(row, p) {
  return {
    model: row.model,
    hardware: row.hardware,
    devices: row.devices,
    parallelism: { tensor: row.parallelism.tensor, pipeline: row.parallelism.pipeline },
    weights: row.weights,
    kv_cache: row.kv_cache,
    batch_size: row.batch_size,
    input_tokens: int(p.input_tokens),
    output_tokens: int(p.output_tokens),
    engine: row.engine,
  };
}

/**
 * A ranked configuration in full: its replay under the plan's workload (the latencies the
 * ranking used) and its static estimate (memory, cost, every rule of `explain`).
 */
async function showEstimate(row) {
  // The view's nodes have moved from the detached `out` into #results by the time of a click.
  const slot = document.querySelector("#results [data-slot=estimate]");
  slot.replaceChildren(h("p", {}, "Estimating…"));
  try {
    const [e, load] = await Promise.all([api("POST", "/v1/estimate/inference", inferenceBody(row, state.params)), api("POST", "/v1/estimate/serving", servingBody(row, state.params))]);
    const notRun = (value, format) => (value === null || value === undefined ? "not run (does not fit)" : format(value));
    slot.replaceChildren(
      h("h3", {}, `${e.devices} × ${e.hardware}, ${e.weights}, batch ${e.batch_size}, ${e.engine}`),
      h("p", { "data-layout": "" }, `Layout: ${layoutText(e)}`),
      notes(e, "static estimate"),
      notes(load, "under the workload"),
      h(
        "div",
        { class: "cards", "data-estimate": rowKey(row) },
        card(`TTFT under the workload (mean; p90 ${notRun(load.ttft_ms?.p90, fmt.ms)})`, notRun(load.ttft_ms?.mean, fmt.ms), load, "serving.ttft", "ttft_ms.mean", "load_ttft_ms"),
        card(`TPOT under the workload (mean; p90 ${notRun(load.tpot_ms?.p90, fmt.ms)})`, notRun(load.tpot_ms?.mean, fmt.ms), load, "serving.tpot", "tpot_ms.mean", "load_tpot_ms"),
        card("Output tokens per second served", notRun(load.throughput?.output_tokens_per_s, fmt.tps), load, "serving.output_tokens_per_s", "throughput.output_tokens_per_s", "load_output_tokens_per_s"),
        card("Memory per device", fmt.gb(e.memory.per_device.total_bytes), e, "memory.weights", "memory.per_device.total_bytes", "total_bytes"),
        card("USD per hour", e.cost ? fmt.usd(e.cost.usd_per_hour) : "not run (does not fit)", e, "cost.usd_per_hour", "throughput.output_tokens_per_s", "usd_per_hour"),
        card("TTFT of one full batch at once (static)", notRun(e.latency?.ttft_ms, fmt.ms), e, "latency.ttft", "latency.ttft_ms", "ttft_ms"),
        card("TPOT at a full batch (static)", notRun(e.latency?.tpot_ms, fmt.ms), e, "time.decode_step", "latency.tpot_ms", "tpot_ms"),
      ),
      h("p", { class: "note" }, `Under the workload: the serving replay of ${load.requests} Poisson arrivals per replica (${load.regime}); static: the inference estimate of one batch of ${e.batch_size} arriving together, the worst case a capacity check judges.`),
    );
    slot.scrollIntoView({ block: "nearest" });
  } catch (error) {
    slot.replaceChildren(problemBox(error));
  }
}

/** The plan view's request fields named otherwise than its form's. */
const PLAN_FIELDS = { "/models": "model", "/search/hardware": "hardware" };

async function runPlan(p, out) {
  const body = {
    models: [p.model],
    workload: { requests_per_s: float(p.requests_per_s), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
    requirements: { max_ttft_ms: float(p.max_ttft_ms), max_tpot_ms: float(p.max_tpot_ms) },
    limit: int(p.limit),
  };
  const hardware = list(p.hardware);
  if (hardware.length) body.search = { hardware };
  const plan = await from(PLAN_FIELDS, api("POST", "/v1/plan", body));
  const pareto = new Set(plan.pareto.map(rowKey));
  const open = (row) => showEstimate(row);
  add(out, notes(plan, "plan"));
  add(out, 
    h("p", {}, `${fmt.count(plan.evaluated)} of ${fmt.count(plan.search_space)} configurations evaluated, ${fmt.count(plan.feasible)} meet the requirements (${sig(plan.elapsed_ms)} ms). `, plan.best ? ["The first one's capacity check (latencies under the workload): ", badge(plan.best.verdict, plan.best.verdict), " ", plan.best.summary] : "No configuration meets the requirements."),
    plan.notes.length ? h("details", { class: "note" }, h("summary", {}, "How the planner ranked them"), h("ul", {}, plan.notes.map((n) => h("li", {}, n)))) : null,
  );
  if (!plan.ranked.length) {
    add(out, table("rejected", [{ key: "reason", label: "Rejected for", text: true }, { key: "count", label: "Configurations", fmt: fmt.count }], plan.rejected));
    return;
  }
  const priced = plan.ranked.filter((r) => Number.isFinite(r.cost.usd_per_million_output_tokens));
  add(out, 
    chart({
      id: "plan-frontier",
      title: "Cost against end-to-end latency (filled: the Pareto frontier)",
      xLabel: "end-to-end latency per request (ms)",
      yLabel: "USD per million output tokens",
      xLog: true,
      yLog: true,
      series: [
        { name: "ranked configurations", line: false, points: priced.map((r) => ({ x: r.latency.e2e_ms, y: r.cost.usd_per_million_output_tokens, highlight: pareto.has(rowKey(r)), label: `${r.devices} × ${r.hardware} ${r.weights} batch ${r.batch_size}`, onClick: () => open(r) })) },
        { name: "Pareto frontier", color: "#0a6b2d", points: plan.pareto.filter((r) => Number.isFinite(r.cost.usd_per_million_output_tokens)).map((r) => ({ x: r.latency.e2e_ms, y: r.cost.usd_per_million_output_tokens, highlight: true, label: `frontier: ${r.devices} × ${r.hardware} ${r.weights}`, onClick: () => open(r) })) },
      ],
    }),
    h("div", { "data-slot": "estimate" }),
    table(
      "plan",
      [
        { key: "rank", label: "#" },
        { key: "hardware", label: "Device", text: true },
        { key: "devices", label: "Devices" },
        { key: "tensor", label: "TP" },
        { key: "pipeline", label: "PP" },
        { key: "data", label: "Replicas" },
        { key: "weights", label: "Weights", text: true },
        { key: "engine", label: "Engine", text: true },
        { key: "batch_size", label: "Batch" },
        { key: "ttft_ms", label: "TTFT", fmt: fmt.ms },
        { key: "tpot_ms", label: "TPOT", fmt: fmt.ms },
        { key: "e2e_ms", label: "E2E", fmt: fmt.ms },
        { key: "output_tokens_per_s", label: "Output tok/s" },
        { key: "utilization", label: "Utilization", fmt: fmt.pct },
        { key: "usd_per_hour", label: "USD/h", fmt: fmt.usd },
        { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd },
        { key: "cost_basis", label: "Paid by", text: true },
        { key: "memory_per_device_bytes", label: "Memory/device", fmt: fmt.gb },
        { key: "pareto", label: "Frontier", text: true },
        { key: "verdict", label: "Check", text: true, cell: (r) => badge(r.verdict, r.verdict) },
      ],
      plan.ranked.map((r, i) => ({
        rank: i + 1,
        hardware: r.hardware,
        devices: r.devices,
        tensor: r.parallelism.tensor,
        pipeline: r.parallelism.pipeline,
        data: r.parallelism.data,
        weights: r.weights,
        engine: r.engine,
        batch_size: r.batch_size,
        ttft_ms: r.latency.ttft_ms,
        tpot_ms: r.latency.tpot_ms,
        e2e_ms: r.latency.e2e_ms,
        output_tokens_per_s: r.throughput.output_tokens_per_s,
        utilization: r.throughput.utilization,
        usd_per_hour: r.cost.usd_per_hour,
        usd_per_million_output_tokens: r.cost.usd_per_million_output_tokens,
        cost_basis: r.cost.basis,
        memory_per_device_bytes: r.memory.per_device.total_bytes,
        pareto: pareto.has(rowKey(r)) ? "yes" : "",
        verdict: r.verdict,
        [PLAN_ROW]: r,
      })),
      { onRowClick: (row) => open(row[PLAN_ROW]), rowClass: (row) => (row.pareto ? "pareto" : "") },
    ),
  );
}

export const view = {
  title: "Plan a deployment",
  lede: "Every configuration the planner tried that meets the requirements: cost against latency, the Pareto frontier, the ranking. Click a point or a row for its full estimate.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "llama-3.1-70b" },
    { name: "requests_per_s", label: "Requests per second", type: "number", value: "10", step: "any", min: 0 },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "1000", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "200", min: 1 },
    { name: "max_ttft_ms", label: "Max TTFT (ms)", type: "number", value: "2000", min: 1 },
    { name: "max_tpot_ms", label: "Max TPOT (ms)", type: "number", value: "50", min: 1 },
    { name: "hardware", label: "Devices to search (ids, comma-separated; empty: all)", value: "", empty: "every device" },
    { name: "limit", label: "Rows", type: "number", value: "40", min: 1 },
  ],
  action: "Plan",
  run: runPlan,
};
