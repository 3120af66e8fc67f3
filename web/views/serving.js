// Serving ---------------------------------------------------------------------

import { ANSWER, add, api, badge, card, float, fmt, from, h, int, layoutText, notes, options, problemBoxes, round, s, settle, sig, table, withAnswer } from "../lib.js";
import { PALETTE, chart, drawingWidth, scale } from "../chart.js";
import { MOE_FIELDS, moeBody, moeSection } from "./moe.js";
import { SPECULATIVE_FIELDS, SPECULATIVE_POINTERS, speculationCards, speculativeBody } from "./speculative.js";
import { KV_FIELDS, KV_POINTERS, kvCards, kvFieldset, withKv } from "./kv-offload.js";
import { DISAGG_FIELDS, DISAGG_POINTERS, disaggCards, disaggFieldset, disaggregationBody } from "./disaggregated.js";

/** The serving view's request fields named otherwise than its form's. */
const SERVING_FIELDS = { "/slo/ttft_ms": "ttft_slo_ms", "/slo/tpot_ms": "tpot_slo_ms", "/workload/requests_per_s": "rate", ...SPECULATIVE_POINTERS };

/** The rates of the sweep, as shares of the capacity (or of 1 req/s without one). */
const SHARES = [0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5];

const LATENCIES = [
  ["ttft_ms", "TTFT", "serving.ttft", "ttft_ms.mean"],
  ["tpot_ms", "TPOT", "serving.tpot", "tpot_ms.mean"],
  ["e2e_ms", "E2E", null, null],
];

/**
 * A histogram of an answer's log-spaced bins (`edges_ms`, `counts`) as bars on a log axis, with
 * the SLO's limit as a line (the axis reaches it). chart.js draws points and lines; bars on a
 * numeric axis are drawn here.
 */
function histogram({ id, title, bins, limit, limitLabel }) {
  const W = drawingWidth(), H = 260, L = 52, R = 16, T = 14, B = 44;
  const edges = bins.edges_ms;
  const counts = bins.counts;
  if (!counts.length) return h("figure", { "data-figure": id }, h("figcaption", {}, title), h("p", { class: "note" }, "No request to count (none had more than one output token)."));
  // The axis reaches the limit when it is near the bins; one far beyond them is drawn at the
  // axis' end, labelled as off the scale, so the bars stay readable.
  const near = Number.isFinite(limit) && limit <= edges[edges.length - 1] * 4 && limit >= edges[0] / 4;
  const lo = Math.min(edges[0], near ? limit / 1.15 : Infinity);
  const hi = Math.max(edges[edges.length - 1], near ? limit * 1.15 : 0);
  const x = scale([lo, hi], [L, W - R], true);
  const top = Math.max(1, ...counts);
  const y = scale([0, top * 1.08], [H - B, T], false);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": id });
  for (const t of x.ticks()) svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }), s("text", { x: x(t), y: H - B + 14, "text-anchor": "middle" }, round(t, 2)));
  for (const t of y.ticks().filter(Number.isInteger)) svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: y(t), y2: y(t) }), s("text", { x: L - 4, y: y(t) + 4, "text-anchor": "end" }, round(t)));
  svg.append(
    s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }),
    s("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }),
    s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "ms (log scale)"),
    s("text", { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" }, "requests"),
  );
  counts.forEach((count, i) => {
    const x0 = x(edges[i]), x1 = x(edges[i + 1]);
    svg.append(
      s(
        "rect",
        { x: x0 + 0.5, y: y(count), width: Math.max(0.5, x1 - x0 - 1), height: Math.max(0, y(0) - y(count)), fill: PALETTE[0], "data-count": count, "data-lo": edges[i], "data-hi": edges[i + 1] },
        s("title", {}, `${round(edges[i])}–${round(edges[i + 1])} ms: ${count} request${count === 1 ? "" : "s"}`),
      ),
    );
  });
  if (Number.isFinite(limit)) {
    const at = x(Math.min(Math.max(limit, lo), hi));
    const right = at > W * 0.7;
    const shown = near ? limitLabel : `${limitLabel} ${limit > hi ? "→ off the scale" : "← off the scale"}`;
    svg.append(
      s("line", { x1: at, x2: at, y1: T, y2: H - B, stroke: "#b3261e", "stroke-dasharray": "6 4", "stroke-width": 2, "data-vline": limitLabel, "data-limit": limit }),
      s("text", { x: right ? at - 4 : at + 4, y: T + 12, fill: "#b3261e", "text-anchor": right ? "end" : "start" }, shown),
    );
  }
  const legend = h("div", { class: "legend" }, h("span", {}, h("i", { style: `background:${PALETTE[0]}` }), "requests per bin"), Number.isFinite(limit) ? h("span", {}, h("i", { style: "background:#b3261e" }), "SLO limit") : null);
  return h("figure", { "data-figure": id }, h("figcaption", {}, title), svg, legend);
}

/** The SLO verdict at my rate, in the answer's own terms (`slo_verdict`). */
function verdictBox(answer, rate) {
  const v = answer.slo_verdict;
  if (!v) return h("p", { class: "note", "data-slo-verdict": "none" }, `At ${rate} req/s: no SLO given, nothing to judge.`);
  const failing = v.targets.filter((t) => !t.met);
  const name = { ttft_ms: "TTFT", tpot_ms: "TPOT", e2e_ms: "E2E" };
  const target = (t) => h("li", { "data-target": `${t.metric}:p${t.percentile}`, "data-met": String(t.met) }, `${name[t.metric]} p${t.percentile}: ${fmt.ms(t.value_ms)} ${t.met ? "≤" : ">"} ${fmt.ms(t.limit_ms)} `, badge(t.met ? "pass" : "fail", t.met ? "met" : "fails"));
  return h(
    "div",
    { class: `slo-verdict ${v.met ? "met" : "fails"}`, "data-slo-verdict": v.met ? "met" : "fails" },
    h("strong", {}, v.met ? `At ${rate} req/s the deployment meets the SLO.` : `At ${rate} req/s the deployment does not meet the SLO${failing.length ? `: ${failing.map((t) => `${name[t.metric]} p${t.percentile}`).join(", ")} above the limit` : ""}${v.overloaded ? `${failing.length ? ";" : ":"} the queue grows (overloaded)` : ""}.`),
    h("ul", {}, v.targets.map(target)),
  );
}

async function runServing(p, out) {
  const slo = { ttft_ms: float(p.ttft_slo_ms), tpot_ms: float(p.tpot_slo_ms) };
  const myRate = float(p.rate);
  kvFieldset();
  await disaggFieldset();
  const body = (rate, detail) => withKv(p, {
    model: p.model,
    hardware: p.hardware,
    devices: int(p.devices),
    weights: p.weights,
    engine: p.engine,
    workload: { arrival: "poisson", requests_per_s: rate, requests: int(p.requests), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
    slo,
    detail,
    ...moeBody(p),
    speculative: speculativeBody(p),
    disaggregation: disaggregationBody(p),
  });
  const mine = await from({ ...SERVING_FIELDS, ...KV_POINTERS, ...DISAGG_POINTERS }, api("POST", "/v1/estimate/serving", body(myRate, { timeline: true, histograms: true })));
  add(out, notes(mine, `the replay at ${myRate} req/s`), h("p", { "data-layout": "" }, `Layout: ${layoutText(mine)}`), moeSection(mine), speculationCards(mine));
  if (mine.verdict === "does_not_fit") {
    // Nothing to replay: what it would need, the API's reason, warnings and assumptions.
    const m = mine.memory;
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
  const capacity = mine.max_requests_per_s_within_slo;
  const capacityLine = capacity ? [{ at: capacity, label: `capacity within SLO ${sig(capacity)} req/s` }] : [];
  const myLine = [{ at: myRate, label: `my rate ${sig(myRate)} req/s`, color: "#6b21a8" }];
  const sloLabel = (ms) => `SLO ${ms} ms (p90)`;

  // At my rate: the verdict, the percentiles, the histograms, the replay over time.
  const timeline = mine.timeline;
  const series = (key) => timeline.t_s.map((t, i) => ({ x: t, y: timeline[key][i] }));
  add(out,
    h("h3", { class: "section", "data-section": "my-rate" }, `At my rate: ${sig(myRate)} req/s`),
    verdictBox(mine, myRate),
    kvCards(mine),
    disaggCards(mine),
    h("div", { class: "cards" }, card("Highest rate within the SLO", capacity ? `${sig(capacity)} req/s` : "none", mine, "serving.max_requests_per_s_within_slo", null, "capacity")),
    LATENCIES.map(([key, name, rule, output]) =>
      h("div", { class: "cards percentiles", "data-latency": key }, ["p50", "p90", "p99"].map((q) => card(`${name} ${q} at my rate`, fmt.ms(mine[key][q]), rule ? mine : null, rule, output, `${key.replace("_ms", "")}_${q}_ms`))),
    ),
    h(
      "div",
      { class: "row" },
      histogram({ id: "serving-ttft-histogram", title: `TTFT of each request at ${sig(myRate)} req/s`, bins: mine.histograms.ttft_ms, limit: slo.ttft_ms, limitLabel: sloLabel(slo.ttft_ms) }),
      histogram({ id: "serving-tpot-histogram", title: `TPOT of each request at ${sig(myRate)} req/s`, bins: mine.histograms.tpot_ms, limit: slo.tpot_ms, limitLabel: sloLabel(slo.tpot_ms) }),
    ),
    h(
      "div",
      { class: "row" },
      chart({
        id: "serving-kv-timeline",
        title: `KV cache held over the replay at ${sig(myRate)} req/s (one replica)`,
        xLabel: "seconds from the first arrival",
        yLabel: "KV-cache tokens",
        series: [{ name: "KV tokens held (most in each interval)", key: "kv", points: series("kv_cache_used_tokens"), radius: 1.5 }],
        hlines: [{ at: mine.kv_cache.capacity_tokens, label: `KV capacity ${fmt.count(mine.kv_cache.capacity_tokens)} tokens` }],
      }),
      chart({
        id: "serving-queue-timeline",
        title: `Running and waiting requests over the replay at ${sig(myRate)} req/s`,
        xLabel: "seconds from the first arrival",
        yLabel: "requests",
        series: [
          { name: "running (sequences in the step)", key: "running", points: series("running"), radius: 1.5 },
          { name: "waiting (queued, not scheduled)", key: "waiting", points: series("waiting"), radius: 1.5 },
        ],
      }),
    ),
    h("p", { class: "note" }, `Each point is the most any step saw in its ${sig(timeline.bucket_s * 1e3)} ms interval; ${mine.completed} requests replayed at ${sig(myRate)} req/s.`),
  );

  // The sweep: rates around the capacity, my rate marked.
  const base = capacity && capacity > 0 ? capacity : 1;
  const rates = SHARES.map((f) => Number((f * base).toPrecision(3)));
  const runs = await settle(rates.map((rate) => api("POST", "/v1/estimate/serving", body(rate))));
  const points = runs.map((r, i) => ({ rate: rates[i], r })).filter((x) => !x.r.error && x.r.verdict === "fits");
  const at = (path) => points.map(({ rate, r }) => ({ x: rate, y: path(r), label: `${rate} req/s: ${round(path(r))}` }));
  const vlines = [...capacityLine, ...myLine];
  add(out,
    h("h3", { class: "section", "data-section": "sweep" }, "Against the request rate"),
    h(
      "div",
      { class: "cards" },
      card("KV cache capacity", `${fmt.count(mine.kv_cache.capacity_tokens)} tokens`, mine, "serving.kv_capacity_tokens", null, "kv_capacity_tokens"),
      card("Max sequences per step", fmt.count(mine.scheduler.max_num_seqs), mine, "serving.max_num_seqs", null, "max_num_seqs"),
    ),
    h(
      "div",
      { class: "row" },
      chart({ id: "serving-throughput", title: "Output throughput against request rate", xLabel: "requests per second", yLabel: "output tokens per second", series: [{ name: "output tok/s", points: at((r) => r.throughput.output_tokens_per_s) }], vlines }),
      chart({
        id: "serving-ttft",
        title: "Time to first token against request rate",
        xLabel: "requests per second",
        yLabel: "TTFT (ms)",
        yLog: true,
        series: ["p50", "p90", "p99"].map((q) => ({ name: `TTFT ${q}`, points: at((r) => r.ttft_ms[q]) })),
        hlines: [{ at: slo.ttft_ms, label: sloLabel(slo.ttft_ms) }],
        vlines,
      }),
      chart({
        id: "serving-tpot",
        title: "Time per output token against request rate",
        xLabel: "requests per second",
        yLabel: "TPOT (ms)",
        series: ["p50", "p90", "p99"].map((q) => ({ name: `TPOT ${q}`, points: at((r) => r.tpot_ms[q]) })),
        hlines: [{ at: slo.tpot_ms, label: sloLabel(slo.tpot_ms) }],
        vlines,
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
        { key: "slo_met", label: "SLO", text: true, cell: (r) => (r.slo_met === null ? "–" : badge(r.slo_met ? "pass" : "fail", r.slo_met ? "met" : "fails")) },
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
        slo_met: r.slo_verdict ? r.slo_verdict.met : null,
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
    h("p", { class: "note" }, `Each rate replays ${p.requests} Poisson arrivals on one replica; the capacity is the serving estimate's own search for the highest rate that is stable and whose p90 TTFT and TPOT meet the SLO.`),
  );
  add(out, problemBoxes(runs.filter((r) => r.error).map((r) => r.error)));
}

export const view = {
  title: "Serving under load",
  lede: "At my own request rate: whether the SLO holds, latency percentiles and histograms, KV-cache use and queue depth over the replay; then throughput and latency against the rate, with the highest rate that meets the SLO.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "llama-3.1-8b" },
    { name: "hardware", label: "Device", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
    { name: "devices", label: "Devices", type: "number", value: "1", min: 1 },
    { name: "weights", label: "Weights", options: options.format, value: "bf16" },
    { name: "engine", label: "Engine", options: options.inferenceEngine, value: "vllm" },
    { name: "rate", label: "My request rate (req/s)", type: "number", value: "1", min: 0.001, step: "any" },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "1000", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "200", min: 1 },
    { name: "ttft_slo_ms", label: "TTFT SLO, p90 (ms)", type: "number", value: "2000", min: 1 },
    { name: "tpot_slo_ms", label: "TPOT SLO, p90 (ms)", type: "number", value: "50", min: 1 },
    { name: "requests", label: "Requests replayed per rate", type: "number", value: "300", min: 10 },
    ...MOE_FIELDS,
    ...SPECULATIVE_FIELDS,
    ...KV_FIELDS,
    ...DISAGG_FIELDS,
  ],
  run: runServing,
};
