import { ANSWER, add, api, badge, bandText, card, catalog, fmt, from, h, int, layoutText, list, notes, num, openExplain, options, problemBoxes, ran, round, s, status, table, withAnswer } from "../lib.js";
import { PALETTE, drawingWidth, scale, stackedBars } from "../chart.js";
import { SPECULATIVE_FIELDS, SPECULATIVE_POINTERS, speculationCards, speculativeBody } from "./speculative.js";

const MEMORY_PARTS = [
  { key: "weights_bytes", label: "weights", color: "#0b57d0" },
  { key: "kv_cache_bytes", label: "KV cache", color: "#c2410c" },
  { key: "activations_bytes", label: "activations", color: "#0f766e" },
  { key: "overhead_bytes", label: "runtime overhead", color: "#6b21a8" },
];

// The layout the API chose for one format, out of the devices available (a request's
// `devices` is what it may use; the automatic layout picks the split per format).
export function layoutOf(e, available) {
  const p = e.parallelism || {};
  const [tensor, pipeline, expert, data] = [p.tensor ?? 1, p.pipeline ?? 1, p.expert ?? 1, p.data ?? 1];
  const perReplica = tensor * pipeline * expert;
  return { tensor, pipeline, expert, data, perReplica, used: perReplica * data, available };
}
const splitText = (l) => `tensor ${l.tensor} × pipeline ${l.pipeline}${l.expert > 1 ? ` × expert ${l.expert}` : ""}`;
const replicasText = (n) => `${n} replica${n === 1 ? "" : "s"}`;
/** "4 devices per replica (tensor 4 × pipeline 1), 2 replicas: 8 of 8 devices". */
export const layoutSentence = (l) => `${l.perReplica} device${l.perReplica === 1 ? "" : "s"} per replica (${splitText(l)}), ${replicasText(l.data)}: ${l.used} of ${l.available} devices`;
const layoutShort = (l) => `TP${l.tensor} PP${l.pipeline}${l.expert > 1 ? ` EP${l.expert}` : ""} ×${l.data} (${l.used}/${l.available})`;

/** A second line under each bar's label of a `stackedBars` figure (the bars' order). */
function subLabels(figure, lines) {
  const labels = [...figure.querySelectorAll('svg text[text-anchor="end"]')];
  labels.forEach((text, i) => {
    if (!lines[i]) return;
    const y = Number(text.getAttribute("y"));
    text.setAttribute("y", y - 6);
    text.after(s("text", { x: text.getAttribute("x"), y: y + 7, "text-anchor": "end", class: "sub-label", "data-layout-label": lines[i] }, lines[i]));
  });
  return figure;
}

const TIME_PARTS = [
  { key: "compute_ms", label: "compute only", color: "#0b57d0" },
  { key: "memory_ms", label: "memory only", color: "#c2410c" },
  { key: "communication_ms", label: "communication", color: "#0f766e" },
];
const PHASES = [
  { key: "prefill", label: "Prefill (the whole batch's prompts)", rule: "time.prefill", output: "latency.ttft_ms" },
  { key: "decode", label: "Decode (one step: a token for every sequence)", rule: "time.decode_step", output: "latency.tpot_ms" },
];

/**
 * One phase's roofline per format: grouped horizontal bars (compute-only, memory-only and
 * communication time, as the answer's `compute.<phase>` gives them), each bar's value written
 * on it and opening the phase's explain entry; each group names the bound the API found.
 */
function timeBars(phase, estimates) {
  const W = drawingWidth(), L = 150, R = 70, T = 8, barH = 14, gap = 10;
  const groupH = TIME_PARTS.length * barH + gap;
  const H = T + estimates.length * groupH + 28;
  const max = Math.max(...estimates.flatMap((e) => TIME_PARTS.map((part) => e.compute[phase.key][part.key]))) || 1;
  const x = scale([0, max * 1.02], [L, W - R], false);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": phase.label, "data-chart": `time-${phase.key}` });
  for (const t of x.ticks()) svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - 24 }), s("text", { x: x(t), y: H - 10, "text-anchor": "middle" }, `${round(t, 2)} ms`));
  estimates.forEach((e, g) => {
    const r = e.compute[phase.key];
    const top = T + g * groupH;
    svg.append(
      s("text", { x: L - 6, y: top + 14, "text-anchor": "end" }, e.weights),
      s("text", { x: L - 6, y: top + 28, "text-anchor": "end", class: "sub-label", "data-bound": r.bound }, `${r.bound}-bound`),
    );
    TIME_PARTS.forEach((part, i) => {
      const value = r[part.key];
      const y = top + i * barH;
      const entry = (e.explain || []).find((x) => x.rule === phase.rule);
      svg.append(
        s("rect", { x: L, y, width: Math.max(1, x(value) - L), height: barH - 2, fill: part.color, "data-format": e.weights, "data-part": part.key, "data-ms": value }, s("title", {}, `${e.weights} ${part.label}: ${round(value)} ms`)),
        s(
          "text",
          {
            x: x(value) + 4,
            y: y + barH - 4,
            class: "bar-value point",
            tabindex: 0,
            role: "button",
            "data-value-of": `${e.weights}-${part.key}`,
            "data-rule": phase.rule,
            onclick: () => openExplain(entry || { rule: phase.rule, formula: "this answer carries no explain entry for it", inputs: {} }, bandText(e, phase.output), e),
            onkeydown: (ev) => (ev.key === "Enter" || ev.key === " ") && (ev.preventDefault(), ev.target.dispatchEvent(new MouseEvent("click"))),
          },
          `${round(value, 3)} ms`,
        ),
      );
    });
  });
  const legend = h("div", { class: "legend" }, TIME_PARTS.map((p) => h("span", {}, h("i", { style: `background:${p.color}` }), p.label)));
  return h("figure", { "data-figure": `time-${phase.key}` }, h("figcaption", {}, `${phase.label}: time if only compute, only memory traffic, or communication limited it`), svg, legend);
}

/** "GPT-3 175B: 174.6 B parameters (mlp 66.4%, attention 33.2%, ...); in bf16 they weigh ..." */
export function weighSentence(anatomy, first, device) {
  const name = catalog.models.find((m) => m.id === anatomy.model)?.name || anatomy.model;
  const groups = Object.entries(anatomy.by_group).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  const where = groups.map(([g, v]) => `${g} ${fmt.pct(v / anatomy.total_parameters)}`).join(", ");
  const head = `${name}: ${fmt.params(anatomy.total_parameters)} parameters (${where})`;
  if (!first) return `${head}.`;
  const bytes = anatomy.bytes_by_format.find((f) => f.format === first.weights);
  const l = layoutOf(first, first.devices);
  return `${head}; in ${first.weights} they weigh ${bytes ? fmt.gb(bytes.total_bytes) : "–"}, ${fmt.gb(first.memory.per_device.weights_bytes)} on each device of ${first.devices} × ${device ? device.name : first.hardware} (${splitText(l)}, ${replicasText(l.data)}): ${first.verdict === "fits" ? "fits" : "does not fit"}.`;
}

// Model and hardware ----------------------------------------------------------

async function runModel(p, out) {
  // No format given: one estimate in the API's default format (an assumption it names).
  const formats = list(p.formats).length ? list(p.formats) : [undefined];
  const [anatomy, ...estimates] = await Promise.all([
    api("GET", `/v1/models/${encodeURIComponent(p.model)}/parameters`),
    ...formats.map((weights) =>
      from({ "/weights": "formats", ...SPECULATIVE_POINTERS }, api("POST", "/v1/estimate/inference", { model: p.model, hardware: p.hardware, devices: int(p.devices), weights, batch_size: int(p.batch_size), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens), speculative: speculativeBody(p) })).catch((error) => ({ error, weights })),
    ),
  ]);
  // A refusal every format shares (an unknown device, a bad count) is the view's one answer.
  if (estimates.every((e) => e.error)) throw estimates[0].error;
  const ok = estimates.filter((e) => !e.error);
  const device = catalog.hardware.find((d) => d.id === p.hardware);
  const groups = Object.entries(anatomy.by_group).filter(([, v]) => v > 0);
  const anatomyExplain = {
    explain: [
      { rule: "parameters.total", formula: "sum over the architecture's components of repeats × parameters each (GET /v1/models/{id}/parameters)", inputs: Object.fromEntries(anatomy.components.map((c) => [c.name, c.parameters])), value: anatomy.total_parameters, unit: "parameters" },
      { rule: "parameters.active", formula: "parameters one token uses: shared components plus the routed experts a token visits", inputs: { total_parameters: anatomy.total_parameters }, value: anatomy.active_parameters_per_token, unit: "parameters" },
      { rule: "parameters.by_kind", formula: "the components' parameters summed by kind (weight matrices, bias vectors, norm scales)", inputs: anatomy.by_kind, value: anatomy.total_parameters, unit: "parameters" },
    ],
    error_band: { status: "exact", metrics: [] },
  };
  // The one stated answer: what the parameters weigh and where they sit (the first format).
  add(out, h("p", { class: "answer-sentence", "data-answer": "weigh" }, weighSentence(anatomy, ok[0], device)));
  // Then: each format's verdict (a format that does not fit says so with the API's reason),
  // warnings and assumptions; then a format the API refused, once.
  add(out, h("div", { class: "answer-notes" }, ok.map((e) => notes(e, e.weights)), problemBoxes(estimates.filter((e) => e.error).map((e) => e.error))), speculationCards(ok[0]));
  add(out, 
    h("h3", {}, `Where ${anatomy.nominal_size} parameters go: ${anatomy.model}`),
    h(
      "div",
      { class: "cards" },
      card("Total parameters", fmt.params(anatomy.total_parameters), anatomyExplain, "parameters.total", null, "total_parameters"),
      card("Active per token", fmt.params(anatomy.active_parameters_per_token), anatomyExplain, "parameters.active", null, "active_parameters"),
      ...Object.entries(anatomy.by_kind).filter(([, v]) => v > 0).map(([kind, v]) => card(`In ${kind}`, `${fmt.params(v)} (${fmt.pct(v / anatomy.total_parameters)})`, anatomyExplain, "parameters.by_kind", null, `kind-${kind}`)),
    ),
    h("div", { class: "row" },
      stackedBars({ id: "anatomy", title: "Parameters by group", bars: [{ label: anatomy.model, values: anatomy.by_group }], parts: groups.map(([key], i) => ({ key, label: key, color: PALETTE[i % PALETTE.length] })), unit: 1e9, unitLabel: "B" }),
      table("bytes-by-format", [
        { key: "format", label: "Format", text: true },
        { key: "bits_per_weight", label: "Bits per weight" },
        { key: "total_bytes", label: "Weights", fmt: fmt.gb },
      ], anatomy.bytes_by_format),
    ),
    h("details", {}, h("summary", {}, `All ${anatomy.components.length} components`),
      table("components", [
        { key: "name", label: "Component", text: true },
        { key: "group", label: "Group", text: true },
        { key: "kind", label: "Kind", text: true },
        { key: "repeats", label: "Repeats", fmt: fmt.count },
        { key: "parameters_each", label: "Each", fmt: fmt.count },
        { key: "parameters", label: "Parameters", fmt: fmt.count },
        { key: "share", label: "Share", fmt: fmt.pct },
      ], anatomy.components)),
  );

  const available = int(p.devices) ?? ok[0].devices;
  const layouts = ok.map((e) => layoutOf(e, available));
  add(out, h("h3", {}, `Memory per device with ${available} × ${device ? device.name : p.hardware} available`));
  add(out,
    h("p", { class: "note", "data-layouts": "" }, "“Devices available” is what the API may use: with no parallelism given, the API chooses each format's layout (the fewest devices per replica that hold it, the rest replicas), so formats may split the model differently. ",
      ok.map((e, i) => h("span", { "data-layout-of": e.weights }, `${e.weights}: ${layoutSentence(layouts[i])}. `))),
    subLabels(
      stackedBars({
        id: "memory",
        title: "Memory per device by component, against usable capacity (each format on the layout the API chose: TP tensor, PP pipeline, ×replicas, devices used/available)",
        bars: ok.map((e) => ({ label: `${e.weights}${e.memory.fits ? "" : " ✗"}`, values: e.memory.per_device, capacity: e.memory.capacity_bytes })),
        parts: MEMORY_PARTS,
      }),
      layouts.map(layoutShort),
    ),
  );
  const first = ok[0];
  const notRun = (value, format) => (value === null || value === undefined ? "not run (does not fit)" : format(value));
  // A run that cannot happen has no rule or error band to open.
  const ranFirst = first.verdict === "fits" ? first : null;
  add(out, 
    h("p", {}, `${first.weights}: `, badge(first.verdict === "fits" ? "fits" : "no-fit", first.verdict === "fits" ? "fits" : "does not fit"), " ", h("span", { "data-layout": "" }, `layout ${layoutText(first)}`)),
    h(
      "div",
      { class: "cards" },
      card(`Weights per device (${first.weights})`, fmt.gb(first.memory.per_device.weights_bytes), first, "memory.weights", "memory.per_device.weights_bytes", "weights_bytes"),
      card("KV cache per device", fmt.gb(first.memory.per_device.kv_cache_bytes), first, "memory.kv_cache_per_sequence", "memory.per_device.kv_cache_bytes", "kv_cache_bytes"),
      card("Usable capacity", fmt.gb(first.memory.capacity_bytes), first, "memory.capacity", "memory.capacity_bytes", "capacity_bytes"),
      card("Largest batch that fits", fmt.count(first.memory.max_batch_size), first, "memory.max_batch_size", "memory.max_batch_size", "max_batch_size"),
      card("Time to first token", notRun(first.latency?.ttft_ms, fmt.ms), ranFirst, "latency.ttft", "latency.ttft_ms", "ttft_ms"),
      card("Time per output token", notRun(first.latency?.tpot_ms, fmt.ms), ranFirst, "time.decode_step", "latency.tpot_ms", "tpot_ms"),
      card("Output tokens per second", notRun(first.throughput?.output_tokens_per_s, fmt.tps), ranFirst, "throughput.output", "throughput.output_tokens_per_s", "output_tokens_per_s"),
      card("USD per million output tokens", !first.cost ? "not run (does not fit)" : first.cost.usd_per_million_output_tokens === null ? "no price" : fmt.usd(first.cost.usd_per_million_output_tokens), ranFirst, "cost.usd_per_million_output_tokens", "cost.usd_per_million_output_tokens", "usd_per_million_output_tokens"),
    ),
    table(
      "memory-by-format",
      [
        { key: "weights", label: "Format", text: true },
        { key: "devices_used", label: `Devices used (of ${available})`, cell: (r) => `${r.devices_used} of ${r.devices_available}` },
        { key: "split", label: "Per replica", text: true },
        { key: "replicas", label: "Replicas" },
        { key: "weights_bytes", label: "Weights", fmt: fmt.gb, rule: "memory.weights", output: "memory.per_device.weights_bytes" },
        { key: "kv_cache_bytes", label: "KV cache", fmt: fmt.gb, rule: "memory.kv_cache_per_sequence", output: "memory.per_device.kv_cache_bytes" },
        { key: "activations_bytes", label: "Activations", fmt: fmt.gb },
        { key: "overhead_bytes", label: "Overhead", fmt: fmt.gb },
        { key: "total_bytes", label: "Total", fmt: fmt.gb },
        { key: "capacity_bytes", label: "Capacity", fmt: fmt.gb, rule: "memory.capacity", output: "memory.capacity_bytes" },
        { key: "fits", label: "Fits", text: true, cell: (r) => badge(r.fits ? "fits" : "no-fit", r.fits ? "yes" : "no") },
        { key: "ttft_ms", label: "TTFT", fmt: ran(fmt.ms), rule: "latency.ttft", output: "latency.ttft_ms" },
        { key: "tpot_ms", label: "TPOT", fmt: ran(fmt.ms), rule: "time.decode_step", output: "latency.tpot_ms" },
        { key: "output_tokens_per_s", label: "Output tok/s", fmt: ran(fmt.plain), rule: "throughput.output", output: "throughput.output_tokens_per_s" },
        { key: "usd_per_million_output_tokens", label: "USD / M out", cell: (r) => (r.fits ? fmt.usd(r.usd_per_million_output_tokens) : "not run"), rule: "cost.usd_per_million_output_tokens", output: "cost.usd_per_million_output_tokens" },
      ],
      ok.map((e, i) => withAnswer({ weights: e.weights, devices_used: layouts[i].used, devices_available: available, split: `${layouts[i].perReplica}: ${splitText(layouts[i])}`, replicas: layouts[i].data, tensor: layouts[i].tensor, pipeline: layouts[i].pipeline, expert: layouts[i].expert, ...e.memory.per_device, capacity_bytes: e.memory.capacity_bytes, fits: e.memory.fits, ttft_ms: e.latency?.ttft_ms ?? null, tpot_ms: e.latency?.tpot_ms ?? null, output_tokens_per_s: e.throughput?.output_tokens_per_s ?? null, usd_per_million_output_tokens: e.cost ? e.cost.usd_per_million_output_tokens : null }, e)),
    ),
  );
  // Where the time goes: each phase's roofline per format (compute-only, memory-only and
  // communication time, the bound named), as the answer's compute.prefill and compute.decode
  // give them. A format that does not fit has no run to time.
  const timed = ok.filter((e) => e.compute && e.compute.prefill && e.compute.decode);
  if (timed.length) {
    const rows = timed.flatMap((e) => PHASES.map((phase) => withAnswer({ weights: e.weights, phase: phase.key, rule: phase.rule, output: phase.output, ...e.compute[phase.key] }, e)));
    const linked = (key, format) => (r) => num(format(r[key]), r[ANSWER], r.rule, r.output);
    add(out,
      h("h3", {}, "Compute-bound or memory-bound: where each phase's time goes"),
      h("p", { class: "note" }, "Each phase's time is the larger of its compute-only and memory-only times, plus communication and step overheads (the formula opens from every number)."),
      h("div", { class: "row" }, PHASES.map((phase) => timeBars(phase, timed))),
      table("time-by-format", [
        { key: "weights", label: "Format", text: true },
        { key: "phase", label: "Phase", text: true },
        { key: "compute_ms", label: "Compute only", cell: linked("compute_ms", fmt.ms) },
        { key: "memory_ms", label: "Memory only", cell: linked("memory_ms", fmt.ms) },
        { key: "communication_ms", label: "Communication", cell: linked("communication_ms", fmt.ms) },
        { key: "time_ms", label: "Phase time", cell: linked("time_ms", fmt.ms) },
        { key: "bound", label: "Bound", text: true },
        { key: "flops", label: "FLOPs", fmt: fmt.flops },
        { key: "bytes", label: "Bytes moved", fmt: fmt.gb },
      ], rows),
    );
  }

}

export const view = {
  title: "Model and hardware",
  lede: "Where a model's parameters go, and what they, the KV cache and the activations take on each device, per weight format.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "gpt-3-175b" },
    { name: "hardware", label: "Device", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
    { name: "devices", label: "Devices available", type: "number", value: "8", min: 1 },
    { name: "formats", label: "Weight formats (comma-separated)", value: "bf16,fp8,int4" },
    { name: "batch_size", label: "Batch size", type: "number", value: "8", min: 1 },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "2048", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "256", min: 1 },
    ...SPECULATIVE_FIELDS,
  ],
  presets: [
    { label: "GPT-3 175B on 8 × H100", set: { model: "gpt-3-175b", hardware: "nvidia-h100-sxm-80gb", devices: "8" } },
    { label: "GPT-2 1.5B on one RTX 4090", set: { model: "gpt2-xl", hardware: "nvidia-rtx-4090", devices: "1" } },
  ],
  run: runModel,
};
