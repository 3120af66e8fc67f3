import { add, api, badge, card, catalog, fmt, from, h, int, layoutText, list, notes, options, problemBoxes, ran, status, table, withAnswer } from "../lib.js";
import { PALETTE, stackedBars } from "../chart.js";

const MEMORY_PARTS = [
  { key: "weights_bytes", label: "weights", color: "#0b57d0" },
  { key: "kv_cache_bytes", label: "KV cache", color: "#c2410c" },
  { key: "activations_bytes", label: "activations", color: "#0f766e" },
  { key: "overhead_bytes", label: "runtime overhead", color: "#6b21a8" },
];

// Model and hardware ----------------------------------------------------------

async function runModel(p, out) {
  // No format given: one estimate in the API's default format (an assumption it names).
  const formats = list(p.formats).length ? list(p.formats) : [undefined];
  const [anatomy, ...estimates] = await Promise.all([
    api("GET", `/v1/models/${encodeURIComponent(p.model)}/parameters`),
    ...formats.map((weights) =>
      from({ "/weights": "formats" }, api("POST", "/v1/estimate/inference", { model: p.model, hardware: p.hardware, devices: int(p.devices), weights, batch_size: int(p.batch_size), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) })).catch((error) => ({ error, weights })),
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
  // First: each format's verdict (a format that does not fit says so with the API's reason),
  // warnings and assumptions; then a format the API refused, once.
  add(out, h("div", { class: "answer-notes" }, ok.map((e) => notes(e, e.weights)), problemBoxes(estimates.filter((e) => e.error).map((e) => e.error))));
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

  add(out, h("h3", {}, `Memory per device on ${ok[0].devices} × ${device ? device.name : p.hardware}`));
  add(out, 
    stackedBars({
      id: "memory",
      title: "Memory per device by component, against usable capacity",
      bars: ok.map((e) => ({ label: `${e.weights}${e.memory.fits ? "" : " ✗"}`, values: e.memory.per_device, capacity: e.memory.capacity_bytes })),
      parts: MEMORY_PARTS,
    }),
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
      card("USD per million output tokens", !first.cost ? "not run (does not fit)" : first.cost.usd_per_million_output_tokens === null ? "no price" : fmt.usd(first.cost.usd_per_million_output_tokens), ranFirst, "cost.usd_per_hour", "throughput.output_tokens_per_s", "usd_per_million_output_tokens"),
    ),
    table(
      "memory-by-format",
      [
        { key: "weights", label: "Format", text: true },
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
        { key: "usd_per_million_output_tokens", label: "USD / M out", cell: (r) => (r.fits ? fmt.usd(r.usd_per_million_output_tokens) : "not run"), rule: "cost.usd_per_hour", output: "throughput.output_tokens_per_s" },
      ],
      ok.map((e) => withAnswer({ weights: e.weights, ...e.memory.per_device, capacity_bytes: e.memory.capacity_bytes, fits: e.memory.fits, ttft_ms: e.latency?.ttft_ms ?? null, tpot_ms: e.latency?.tpot_ms ?? null, output_tokens_per_s: e.throughput?.output_tokens_per_s ?? null, usd_per_million_output_tokens: e.cost ? e.cost.usd_per_million_output_tokens : null }, e)),
    ),
  );
}

export const view = {
  title: "Model and hardware",
  lede: "Where a model's parameters go, and what they, the KV cache and the activations take on each device, per weight format.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "gpt-3-175b" },
    { name: "hardware", label: "Device", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
    { name: "devices", label: "Devices", type: "number", value: "8", min: 1 },
    { name: "formats", label: "Weight formats (comma-separated)", value: "bf16,fp8,int4" },
    { name: "batch_size", label: "Batch size", type: "number", value: "8", min: 1 },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "2048", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "256", min: 1 },
  ],
  presets: [
    { label: "GPT-3 175B on 8 × H100", set: { model: "gpt-3-175b", hardware: "nvidia-h100-sxm-80gb", devices: "8" } },
    { label: "GPT-2 1.5B on one RTX 4090", set: { model: "gpt2-xl", hardware: "nvidia-rtx-4090", devices: "1" } },
  ],
  run: runModel,
};
