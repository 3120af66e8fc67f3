// Serving ---------------------------------------------------------------------

import { ANSWER, add, api, badge, card, float, fmt, from, h, int, layoutText, notes, options, problemBoxes, round, settle, sig, table, withAnswer } from "../lib.js";
import { chart } from "../chart.js";

/** The serving view's request fields named otherwise than its form's. */
const SERVING_FIELDS = { "/slo/ttft_ms": "ttft_slo_ms", "/slo/tpot_ms": "tpot_slo_ms" };

async function runServing(p, out) {
  const slo = { ttft_ms: float(p.ttft_slo_ms), tpot_ms: float(p.tpot_slo_ms) };
  const body = (rate) => ({
    model: p.model,
    hardware: p.hardware,
    devices: int(p.devices),
    weights: p.weights,
    engine: p.engine,
    workload: { arrival: "poisson", requests_per_s: rate, requests: int(p.requests), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
    slo,
  });
  const probe = await from(SERVING_FIELDS, api("POST", "/v1/estimate/serving", body(1)));
  add(out, notes(probe, "the replay at 1 req/s"), h("p", { "data-layout": "" }, `Layout: ${layoutText(probe)}`));
  if (probe.verdict === "does_not_fit") {
    // Nothing to replay: what it would need, the API's reason, warnings and assumptions.
    const m = probe.memory;
    add(out,
      h(
        "div",
        { class: "cards" },
        card("Memory per device, longest request alone", fmt.gb(m.per_device.total_bytes), null, null, null, "total_bytes"),
        card("Weights per device", fmt.gb(m.per_device.weights_bytes), null, null, null, "weights_bytes"),
        card("Usable capacity", fmt.gb(m.capacity_bytes), null, null, null, "capacity_bytes"),
        card("Highest rate within the SLO", "not run (does not fit)", null, null, null, "capacity"),
      ),
      h("p", { class: "note" }, "The replay at each request rate is not run: one request of this workload cannot be held on this deployment."),
    );
    return;
  }
  const capacity = probe.max_requests_per_s_within_slo;
  const base = capacity && capacity > 0 ? capacity : 1;
  const rates = [0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5].map((f) => Number((f * base).toPrecision(3)));
  const runs = await settle(rates.map((rate) => api("POST", "/v1/estimate/serving", body(rate))));
  const points = runs.map((r, i) => ({ rate: rates[i], r })).filter((x) => !x.r.error && x.r.verdict === "fits");
  const at = (path) => points.map(({ rate, r }) => ({ x: rate, y: path(r), label: `${rate} req/s: ${round(path(r))}` }));
  const capacityLine = capacity ? [{ at: capacity, label: `capacity within SLO ${sig(capacity)} req/s` }] : [];
  add(out, 
    h(
      "div",
      { class: "cards" },
      card("Highest rate within the SLO", capacity ? `${sig(capacity)} req/s` : "none", probe, "serving.output_tokens_per_s", "throughput.output_tokens_per_s", "capacity"),
      card("KV cache capacity", `${fmt.count(probe.kv_cache.capacity_tokens)} tokens`, probe, "serving.kv_capacity_tokens", null, "kv_capacity_tokens"),
      card("Max sequences per step", fmt.count(probe.scheduler.max_num_seqs), probe, "serving.max_num_seqs", null, "max_num_seqs"),
    ),
    h(
      "div",
      { class: "row" },
      chart({ id: "serving-throughput", title: "Output throughput against request rate", xLabel: "requests per second", yLabel: "output tokens per second", series: [{ name: "output tok/s", points: at((r) => r.throughput.output_tokens_per_s) }], vlines: capacityLine }),
      chart({
        id: "serving-ttft",
        title: "Time to first token against request rate",
        xLabel: "requests per second",
        yLabel: "TTFT (ms)",
        yLog: true,
        series: ["p50", "p90", "p99"].map((q) => ({ name: `TTFT ${q}`, points: at((r) => r.ttft_ms[q]) })),
        hlines: [{ at: slo.ttft_ms, label: `SLO ${slo.ttft_ms} ms (p90)` }],
        vlines: capacityLine,
      }),
      chart({
        id: "serving-tpot",
        title: "Time per output token against request rate",
        xLabel: "requests per second",
        yLabel: "TPOT (ms)",
        series: ["p50", "p90", "p99"].map((q) => ({ name: `TPOT ${q}`, points: at((r) => r.tpot_ms[q]) })),
        hlines: [{ at: slo.tpot_ms, label: `SLO ${slo.tpot_ms} ms (p90)` }],
        vlines: capacityLine,
      }),
    ),
    table(
      "serving",
      [
        { key: "requests_per_s", label: "Offered req/s" },
        { key: "achieved_requests_per_s", label: "Served req/s" },
        { key: "output_tokens_per_s", label: "Output tok/s", rule: "serving.output_tokens_per_s", output: "throughput.output_tokens_per_s" },
        { key: "ttft_p50_ms", label: "TTFT p50", fmt: fmt.ms, rule: "serving.ttft", output: "ttft_ms.mean" },
        { key: "ttft_p90_ms", label: "TTFT p90", fmt: fmt.ms, rule: "serving.ttft", output: "ttft_ms.mean" },
        { key: "ttft_p99_ms", label: "TTFT p99", fmt: fmt.ms, rule: "serving.ttft", output: "ttft_ms.mean" },
        { key: "tpot_p50_ms", label: "TPOT p50", fmt: fmt.ms, rule: "serving.tpot", output: "tpot_ms.mean" },
        { key: "tpot_p90_ms", label: "TPOT p90", fmt: fmt.ms, rule: "serving.tpot", output: "tpot_ms.mean" },
        { key: "tpot_p99_ms", label: "TPOT p99", fmt: fmt.ms, rule: "serving.tpot", output: "tpot_ms.mean" },
        { key: "regime", label: "Regime", text: true, cell: (r) => badge(r.regime, r.regime) },
        { key: "preemptions", label: "Preemptions", fmt: fmt.count },
        // Each rate's own warnings (an overloaded queue): their codes here, their words below.
        { key: "warnings", label: "Warnings", text: true, cell: (row) => (row[ANSWER]?.warnings || []).map((w, i) => [i ? ", " : "", h("code", { class: "warning", "data-code": w.code }, w.code)]) },
      ],
      points.map(({ rate, r }) => withAnswer({
        requests_per_s: rate,
        achieved_requests_per_s: r.throughput.requests_per_s,
        output_tokens_per_s: r.throughput.output_tokens_per_s,
        ttft_p50_ms: r.ttft_ms.p50,
        ttft_p90_ms: r.ttft_ms.p90,
        ttft_p99_ms: r.ttft_ms.p99,
        tpot_p50_ms: r.tpot_ms.p50,
        tpot_p90_ms: r.tpot_ms.p90,
        tpot_p99_ms: r.tpot_ms.p99,
        regime: r.regime,
        preemptions: r.preemptions,
        warnings: (r.warnings || []).map((w) => `${w.code}: ${w.message}`).join("; "),
      }, r)),
    ),
    points.some(({ r }) => r.warnings?.length)
      ? h(
          "section",
          { class: "notes has-warnings", "data-rate-warnings": "" },
          h("h4", {}, "Warnings of the replayed rates"),
          h("ul", { class: "warnings" }, points.flatMap(({ rate, r }) => (r.warnings || []).map((w) => h("li", { "data-rate": rate, "data-code": w.code }, `${rate} req/s: `, h("code", {}, w.code), " ", h("span", { class: "message" }, w.message))))),
        )
      : null,
    h("p", { class: "note" }, `Each rate replays ${p.requests} Poisson arrivals on one replica; the capacity is the serving estimate's own search for the highest rate whose p90 TTFT and TPOT meet the SLO.`),
  );
  add(out, problemBoxes(runs.filter((r) => r.error).map((r) => r.error)));
}

export const view = {
  title: "Serving under load",
  lede: "Throughput and latency percentiles against the request rate, from the serving replay, with the SLO and the highest rate that meets it.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "llama-3.1-8b" },
    { name: "hardware", label: "Device", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
    { name: "devices", label: "Devices", type: "number", value: "1", min: 1 },
    { name: "weights", label: "Weights", options: options.format, value: "bf16" },
    { name: "engine", label: "Engine", options: options.inferenceEngine, value: "vllm" },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "1000", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "200", min: 1 },
    { name: "ttft_slo_ms", label: "TTFT SLO, p90 (ms)", type: "number", value: "2000", min: 1 },
    { name: "tpot_slo_ms", label: "TPOT SLO, p90 (ms)", type: "number", value: "50", min: 1 },
    { name: "requests", label: "Requests replayed per rate", type: "number", value: "300", min: 10 },
  ],
  run: runServing,
};
