// Training and fine-tuning ----------------------------------------------------

import { add, api, badge, card, catalog, float, fmt, from, h, int, list, notes, options, problemBox, problemBoxes, round, settle, sig, table, withAnswer } from "../lib.js";
import { chart, stackedBars } from "../chart.js";

/** The fine-tune's request: its fields are the form's "Fine-tune: ..." ones. */
const FINETUNE_FIELDS = { "/model": "ft_model", "/hardware": "ft_hardware", "/engine": "ft_engine", "/method": "ft_method", "/tokens": "ft_tokens", "/micro_batch_size": "ft_batch", "/sequence_length": "ft_sequence" };

const METHOD_NAMES = { full: "Full fine-tune", lora: "LoRA", qlora: "QLoRA" };

/**
 * The fine-tune's one stated answer, from the API's numbers: "LoRA of Llama 2 7B on one RTX
 * 4090 at batch 4, sequence 2048: fits, peak 21.6 GB of 25 GB usable on the device".
 */
export function finetuneSentence(ft, requestedMethod) {
  const m = ft.memory;
  const model = catalog.models.find((x) => x.id === ft.model)?.name || ft.model;
  const device = catalog.hardware.find((x) => x.id === ft.hardware)?.name || ft.hardware;
  const method = METHOD_NAMES[requestedMethod] || requestedMethod;
  const host = m.per_device.host_bytes > 0 ? `; ${fmt.gb(m.per_device.host_bytes)} more in host memory` : "";
  return `${method} of ${model} on one ${device} at batch ${ft.micro_batch_size}, sequence ${ft.sequence_length}: ${m.fits ? "fits" : "does not fit"}, peak ${fmt.gb(m.per_device.total_bytes)} of ${fmt.gb(m.capacity_bytes)} usable on the device${host}; the largest batch at this sequence is ${m.max_micro_batch_size}, the longest sequence at this batch ${m.max_sequence_length} tokens.`;
}

async function runTraining(p, out) {
  const counts = list(p.device_counts).map(int).filter((n) => n > 0);
  const [runs, ft] = await Promise.all([
    settle(counts.map((devices) => from({ "/devices": "device_counts" }, api("POST", "/v1/estimate/training", { model: p.model, hardware: p.hardware, devices, tokens: float(p.tokens), sharding: p.sharding })))),
    from(FINETUNE_FIELDS, api("POST", "/v1/estimate/training", { model: p.ft_model, hardware: p.ft_hardware, devices: 1, tokens: float(p.ft_tokens), engine: p.ft_engine, method: p.ft_method, micro_batch_size: int(p.ft_batch), sequence_length: int(p.ft_sequence) })).catch((error) => ({ error })),
  ]);
  // One refusal shared by every request is the view's one answer.
  const failures = [...runs, ft].filter((r) => r.error).map((r) => r.error);
  if (failures.length === runs.length + 1 && problemBoxes(failures).length === 1) throw failures[0];
  const ok = runs.map((r, i) => ({ devices: counts[i], r })).filter((x) => !x.r.error);
  // The fine-tune's answer in one sentence, first (the pre-training sweep has a table, not one answer).
  if (!ft.error) add(out, h("p", { class: "answer-sentence", "data-answer": "finetune" }, finetuneSentence(ft, p.ft_method)));
  // A run that does not fit has no time, cost or speed (null in the answer): charts and cards
  // show only the runs that fit, the table says why the others cannot run.
  const running = ok.filter(({ r }) => r.verdict !== "does_not_fit");
  const series = (name, f) => ({ name, points: running.map(({ devices, r }) => ({ x: devices, y: f(r), label: `${devices} devices: ${round(f(r))}` })) });
  // The tokens the runs answered for (the API's compute-optimal count when the field is empty).
  add(out, h("h3", {}, `Pre-training ${p.model} on ${sig(ok[0]?.r.tokens ?? float(p.tokens))} tokens`));
  // The verdicts, warnings and assumptions of the runs first (those of the last device count
  // stand for the sweep's assumptions; every run's warnings are its own), then any refusal once.
  add(out, h("div", { class: "answer-notes" }, ok.map(({ devices, r }) => notes(r, `${devices} devices`))), problemBoxes(runs.filter((r) => r.error).map((r) => r.error)));
  if (ok.length) {
    const last = running.length ? running[running.length - 1].r : null;
    add(out,
      last
        ? h(
        "div",
        { class: "cards" },
        card(`Wall clock on ${running[running.length - 1].devices} devices`, `${sig(last.time.wall_clock_days)} days`, last, "time.wall_clock", "time.wall_clock_s", "wall_clock_days"),
        card("Device-hours", fmt.count(last.time.device_hours), last, "time.gpu_hours", "time.gpu_hours", "device_hours"),
        card("MFU", fmt.pct(last.utilization.mfu), last, "utilization.mfu", "utilization.mfu", "mfu"),
        card("Cost", last.cost.usd === null ? "no price" : fmt.usd(last.cost.usd), last, "cost.usd", "time.gpu_hours", "cost_usd"),
      )
        : h("p", { "data-pretraining-verdict": "no-fit" }, badge("no-fit", "does not fit"), ` at any of these device counts: ${ok[0].r.not_run?.reason ?? ""}`),
      h(
        "div",
        { class: "row" },
        chart({ id: "training-days", title: "Wall-clock days against device count", xLabel: "devices", yLabel: "days", xLog: true, yLog: true, series: [series("wall-clock days", (r) => r.time.wall_clock_days)] }),
        chart({ id: "training-hours", title: "Device-hours against device count", xLabel: "devices", yLabel: "device-hours", xLog: true, series: [series("device-hours", (r) => r.time.device_hours)] }),
        chart({ id: "training-cost", title: "Cost against device count", xLabel: "devices", yLabel: "USD", xLog: true, series: [series("USD", (r) => r.cost.usd)] }),
      ),
      table(
        "training",
        [
          { key: "devices", label: "Devices" },
          { key: "tensor", label: "TP" },
          { key: "pipeline", label: "PP" },
          { key: "data", label: "DP" },
          { key: "fits", label: "Fits", text: true, cell: (r) => badge(r.fits ? "fits" : "no-fit", r.fits ? "yes" : "no") },
          { key: "not_run", label: "Why it cannot run", message: true },
          { key: "memory_per_device_bytes", label: "Peak per device", fmt: fmt.gb, rule: "memory.total", output: "memory.per_device.total_bytes" },
          { key: "mfu", label: "MFU", fmt: fmt.pct, rule: "utilization.mfu", output: "utilization.mfu" },
          { key: "wall_clock_days", label: "Days", rule: "time.wall_clock", output: "time.wall_clock_s" },
          { key: "device_hours", label: "Device-hours", fmt: fmt.count, rule: "time.gpu_hours", output: "time.gpu_hours" },
          { key: "usd", label: "USD", fmt: fmt.usd, rule: "cost.usd", output: "time.gpu_hours" },
        ],
        ok.map(({ devices, r }) => withAnswer({ devices, tensor: r.parallelism.tensor, pipeline: r.parallelism.pipeline, data: r.parallelism.data, fits: r.memory.fits, not_run: r.not_run?.reason ?? "", memory_per_device_bytes: r.memory.per_device.total_bytes, mfu: r.utilization?.mfu ?? null, wall_clock_days: r.time?.wall_clock_days ?? null, device_hours: r.time?.device_hours ?? null, usd: r.cost?.usd ?? null }, r)),
      ),
    );
  }

  add(out, h("h3", {}, `Fine-tuning ${p.ft_model} with ${p.ft_engine} (${p.ft_method}) on one ${p.ft_hardware}${ft.error ? "" : `, batch ${ft.micro_batch_size}, sequence ${ft.sequence_length}`}`));
  if (ft.error) {
    add(out, problemBox(ft.error));
    return;
  }
  const m = ft.memory;
  add(out, notes(ft, "fine-tune"));
  add(out, 
    h("p", { "data-verdict": m.fits ? "fits" : "no-fit" }, badge(m.fits ? "fits" : "no-fit", m.fits ? "fits" : "does not fit"), ft.not_run ? ` ${ft.not_run.reason};` : "", ` peak in the ${m.phases.peak.replace("_", " ")} phase`, m.per_device.host_bytes > 0 ? `; ${fmt.gb(m.per_device.host_bytes)} in host memory (not on the device)` : ""),
    // The device's peak (the cards' and the sentence's figure, memory.per_device.total_bytes) is
    // the last bar, its parts adding up to it: peak allocated, the allocator's reserve, the CUDA
    // context and the paged optimizer states that stay on the device. The phase bars are what
    // PyTorch allocates in each phase, a part of that peak, not another peak.
    stackedBars({
      id: "finetune-phases",
      title: `Memory on the device: allocated in each phase, and the device's peak (${fmt.gb(m.per_device.total_bytes)}) against what is usable`,
      bars: [
        { label: "forward (alloc.)", values: { phase: m.phases.forward_bytes }, capacity: m.capacity_bytes },
        { label: "backward (alloc.)", values: { phase: m.phases.backward_bytes }, capacity: m.capacity_bytes },
        { label: "optimizer (alloc.)", values: { phase: m.phases.optimizer_step_bytes }, capacity: m.capacity_bytes },
        { label: "device peak", values: { allocated: m.per_device.allocated_bytes, reserve: m.per_device.reserved_bytes - m.per_device.allocated_bytes, context: m.per_device.context_bytes, paged: Math.max(0, m.per_device.total_bytes - m.per_device.reserved_bytes - m.per_device.context_bytes) }, capacity: m.capacity_bytes },
      ],
      parts: [
        { key: "phase", label: "allocated in the phase", color: "#0b57d0" },
        { key: "allocated", label: "peak allocated", color: "#0b57d0" },
        { key: "reserve", label: "allocator reserve", color: "#0f766e" },
        { key: "context", label: "CUDA context", color: "#6b21a8" },
        m.per_device.total_bytes - m.per_device.reserved_bytes - m.per_device.context_bytes > 0 ? { key: "paged", label: "paged optimizer states on the device", color: "#a16207" } : null,
      ].filter(Boolean),
    }),
    m.per_device.host_bytes > 0
      ? h("p", { class: "note", "data-host": m.per_device.host_bytes }, `Not on the device, not in the peak: ${fmt.gb(m.per_device.host_bytes)} in host memory (${m.spilled_bytes > 0 ? `${fmt.gb(m.spilled_bytes)} of paged optimizer states that do not fit` : ""}${m.spilled_bytes > 0 && m.per_device.offloaded_bytes > 0 ? " and " : ""}${m.per_device.offloaded_bytes > 0 ? `${fmt.gb(m.per_device.offloaded_bytes)} offloaded by the recipe` : ""}).`)
      : null,
    h(
      "div",
      { class: "cards" },
      card("Peak on the device", fmt.gb(m.per_device.total_bytes), ft, "memory.total", "memory.per_device.total_bytes", "ft_total_bytes"),
      card("Usable on the device", fmt.gb(m.capacity_bytes), ft, "memory.capacity", "memory.capacity_bytes", "ft_capacity_bytes"),
      card(`Largest batch at sequence ${ft.sequence_length}`, fmt.count(m.max_micro_batch_size), ft, "memory.max_micro_batch_size", "memory.max_micro_batch_size", "max_micro_batch_size"),
      card(`Longest sequence at batch ${ft.micro_batch_size}`, `${fmt.count(m.max_sequence_length)} tokens`, ft, "memory.max_sequence_length", "memory.max_sequence_length", "max_sequence_length"),
      ft.throughput ? card("Tokens per second", fmt.tps(ft.throughput.tokens_per_s), ft, "throughput.tokens_per_s_per_device", "throughput.tokens_per_s_per_device", "ft_tokens_per_s") : null,
      ft.time ? card("Time", `${sig(ft.time.wall_clock_s / 3600)} h`, ft, "time.wall_clock", "time.wall_clock_s", "ft_hours") : null,
      ft.cost ? card("Cost", ft.cost.usd === null ? "no price" : fmt.usd(ft.cost.usd), ft, "cost.usd", "time.gpu_hours", "ft_cost") : null,
      card("Cheapest change that fits", ft.fit.cheapest ? ft.fit.cheapest.change : m.fits ? "none needed" : "none found", null, null, null, "cheapest"),
    ),
    ft.fit.changes.length
      ? table(
          "finetune-changes",
          [
            { key: "change", label: "Change", text: true },
            { key: "total_bytes", label: "Peak on the device", fmt: fmt.gb },
            { key: "fits", label: "Fits", text: true, cell: (r) => badge(r.fits ? "fits" : "no-fit", r.fits ? "yes" : "no") },
            { key: "tokens_per_s_per_device", label: "Tokens/s" },
            { key: "slowdown", label: "Slowdown" },
            { key: "changes_training", label: "Changes the training", text: true, fmt: (v) => (v ? "yes" : "no") },
          ],
          ft.fit.changes,
        )
      : null,
    table("finetune-recipe", [{ key: "setting", label: "Recipe setting", text: true }, { key: "value", label: "Value", text: true }], Object.entries(ft.recipe).map(([setting, value]) => ({ setting, value: JSON.stringify(value) }))),
  );
}

export const view = {
  title: "Training and fine-tuning",
  lede: "Pre-training time, device-hours and cost against the device count; whether a fine-tune fits one device, its largest batch and sequence, and the cheapest change that makes it fit.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "llama-2-7b" },
    { name: "hardware", label: "Device", options: options.hardware, value: "nvidia-a100-sxm4-80gb" },
    { name: "tokens", label: "Training tokens", type: "number", value: "2000000000000", min: 1 },
    { name: "device_counts", label: "Device counts (comma-separated)", value: "64,128,256,512,1024" },
    { name: "sharding", label: "Sharding", options: () => ["none", "zero1", "zero2", "zero3", "fsdp", "hsdp"].map((v) => [v, v]), value: "zero1" },
    { name: "ft_model", label: "Fine-tune: model", options: options.model, value: "llama-2-7b" },
    { name: "ft_hardware", label: "Fine-tune: device", options: options.hardware, value: "nvidia-rtx-4090" },
    { name: "ft_engine", label: "Fine-tune: framework", options: options.trainingEngine, value: "torchtune" },
    { name: "ft_method", label: "Fine-tune: method", options: () => ["full", "lora", "qlora"].map((v) => [v, v]), value: "lora" },
    { name: "ft_tokens", label: "Fine-tune: tokens", type: "number", value: "10000000", min: 1 },
    { name: "ft_batch", label: "Fine-tune: batch size (sequences per micro-batch)", type: "number", value: "", min: 1 },
    { name: "ft_sequence", label: "Fine-tune: sequence length (tokens)", type: "number", value: "", min: 1 },
  ],
  run: runTraining,
};
