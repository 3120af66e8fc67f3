// Calibrate -------------------------------------------------------------------
//
// Benchmark result files in (`vllm bench serve --save-result`, GuideLLM, llm-d, genai-perf or
// AIPerf), measured against predicted out. The files, dropped on the zone or chosen with its
// file input, are read as text and sent whole to POST /v1/calibrate (a file's JSON value when
// its text parses, else the text: an llm-d report is YAML). Every number shown is the answer's:
// the error of the default and of the fitted profile (and on runs held out of the fit), per
// metric and per point, the constants that moved, and the fitted profile to download.

import { add, blank, download, fmt, from, h, int, options, round, s, sig, table, api } from "../lib.js";
import { PALETTE, drawingWidth, extent, scale } from "../chart.js";

/** The request's pointers this view's form fields fill, for refusals at their field. */
const POINTERS = {
  "/results": "results",
  "/deployment": "model",
  "/deployment/model": "model",
  "/deployment/hardware": "hardware",
  "/deployment/devices": "devices",
  "/deployment/engine": "engine",
  "/deployment/weights": "weights",
  "/folds": "folds",
};

/**
 * The files chosen or dropped, read: `{name, content}`. Kept by the module, not the form, so a
 * changed field (the device, the folds) runs again on the same files.
 */
let chosen = [];

/** A file's text as the request carries it: its JSON value when the text parses, else the text. */
export function contentOf(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function readFiles(files) {
  return Promise.all([...files].map(async (file) => ({ name: file.name, size: file.size, content: contentOf(await file.text()) })));
}

const given = (x) => !blank(x);

/** The body of POST /v1/calibrate for the form's values and the files read. */
export function calibrateBody(p, files) {
  const deployment = {};
  for (const key of ["model", "hardware", "engine", "weights"]) if (given(p[key])) deployment[key] = String(p[key]);
  if (given(p.devices)) deployment.devices = int(p.devices);
  const body = { results: files.map(({ name, content }) => ({ name, content })) };
  if (Object.keys(deployment).length) body.deployment = deployment;
  if (given(p.folds)) body.folds = int(p.folds);
  return body;
}

// ---------------------------------------------------------------- the drop zone

/**
 * Makes the form's file field a drop zone (once per form: the view's form is rebuilt when it is
 * opened): several files, dropped or chosen, each run of the view sends them. Below it, the
 * files it holds and a button that clears them.
 */
function dropZone() {
  const input = document.getElementById("f-results");
  if (!input) return;
  const label = input.closest("label");
  if (!input.dataset.dropZone) {
    input.dataset.dropZone = "true";
    input.multiple = true;
    label.classList.add("drop-zone");
    const take = async (files) => {
      if (!files || !files.length) return;
      chosen = await readFiles(files);
      showChosen();
      input.form.requestSubmit();
    };
    input.addEventListener("change", () => take(input.files));
    // The whole form takes a drop (a file dropped beside the zone would otherwise replace the
    // page); the zone shows where.
    const form = input.form;
    form.addEventListener("dragover", (event) => {
      event.preventDefault();
      label.classList.add("over");
    });
    form.addEventListener("dragleave", (event) => {
      if (!form.contains(event.relatedTarget)) label.classList.remove("over");
    });
    form.addEventListener("drop", (event) => {
      event.preventDefault();
      label.classList.remove("over");
      take(event.dataTransfer?.files);
    });
    label.after(h("div", { class: "dropped wide", "data-dropped": "", "aria-live": "polite" }));
  }
  showChosen();
}

/** The files the zone holds, named, with their sizes, and the button that clears them. */
function showChosen() {
  const list = document.querySelector("form.inputs [data-dropped]");
  if (!list) return;
  list.dataset.dropped = chosen.map((f) => f.name).join(",");
  const kb = (bytes) => (Number.isFinite(bytes) ? ` (${sig(bytes / 1024, 2)} KiB)` : "");
  list.replaceChildren(
    ...(chosen.length
      ? [
          h("span", {}, `Holding ${chosen.length} file${chosen.length === 1 ? "" : "s"}: `),
          h("span", { class: "files" }, chosen.map((f) => `${f.name}${kb(f.size)}`).join(", ")),
          " ",
          h("button", { type: "button", class: "alike", "data-clear-files": "", onclick: (event) => {
            chosen = [];
            event.target.form.querySelector("#f-results").value = "";
            event.target.form.requestSubmit();
          } }, "Clear the files"),
        ]
      : [h("span", {}, "No file yet: drop result files on the zone above, or choose them with its button.")]),
  );
}

// ---------------------------------------------------------------- metrics and units

const METRICS = {
  ttft_ms: ["Time to first token", "ms"],
  tpot_ms: ["Time per output token", "ms"],
  itl_ms: ["Inter-token latency", "ms"],
  e2e_ms: ["End-to-end latency", "ms"],
  output_tokens_per_second: ["Output throughput", "tokens/s"],
  output_tokens_per_s: ["Output throughput", "tokens/s"],
  requests_per_second: ["Request throughput", "requests/s"],
  requests_per_s: ["Request throughput", "requests/s"],
  prefill_tokens_per_s: ["Prefill throughput", "tokens/s"],
  tokens_per_s_per_device: ["Training throughput", "tokens/s per device"],
};

/** A metric's name and unit: the known ones by name, others from the wire name's suffix. */
export function metricText(metric) {
  if (METRICS[metric]) return METRICS[metric];
  if (/_ms$/.test(metric)) return [metric.replace(/_ms$/, "").replaceAll("_", " "), "ms"];
  if (/_per_s(econd)?$/.test(metric)) return [metric.replace(/_per_s(econd)?$/, "").replaceAll("_", " "), "per s"];
  return [metric.replaceAll("_", " "), ""];
}

const pctSigned = (x) => (Number.isFinite(x) ? `${x > 0 ? "+" : x < 0 ? "−" : ""}${sig(Math.abs(x) * 100, 3)}%` : "–");

// ---------------------------------------------------------------- the answer

/** The error summary (median, max APE, measurements) as rows of one table. */
function errorRows(answer) {
  const row = (points, profile, e) => ({ points, profile, median_ape: e?.median_ape, p90_ape: e?.p90_ape ?? null, max_ape: e?.max_ape, measurements: e?.measurements });
  const rows = [row("all measurements", "default", answer.before), row("all measurements", "fitted", answer.after)];
  const held = answer.held_out;
  if (held) {
    const points = `held out of the fit (${held.folds} folds by ${held.unit})`;
    rows.push(row(points, "default", held.before), row(points, "fitted", held.after));
  }
  return rows;
}

/** One sentence: the error before and after, and on what was held out (or why nothing was). */
function answerSentence(answer) {
  const engine = answer.engine ? `${answer.engine} ` : "";
  const held = answer.held_out;
  return h(
    "p",
    { class: "answer-sentence", "data-answer": "calibrate" },
    `Over ${fmt.count(answer.before?.measurements)} measured numbers (${answer.kind || "?"}), the fitted profile's median error is ${fmt.pct(answer.after?.median_ape)} (max ${fmt.pct(answer.after?.max_ape)}) against ${fmt.pct(answer.before?.median_ape)} (max ${fmt.pct(answer.before?.max_ape)}) for the default ${engine}profile`,
    held ? `; on runs held out of the fit (${held.folds} folds), ${fmt.pct(held.after?.median_ape)} against ${fmt.pct(held.before?.median_ape)}.` : ".",
  );
}

/** A square scatter of predicted (y) against measured (x) for one metric, with the y = x line. */
function scatter(metric, points) {
  const [name, unit] = metricText(metric);
  const withUnit = (text) => (unit ? `${text} (${unit})` : text);
  const series = [
    { key: "default", name: "default profile", value: (pt) => pt.before, color: PALETTE[0], shape: "circle" },
    { key: "fitted", name: "fitted profile", value: (pt) => pt.after, color: PALETTE[1], shape: "square" },
    { key: "held-out", name: "fitted without this run (held out)", value: (pt) => pt.held_out, color: PALETTE[2], shape: "diamond" },
  ];
  const positive = (v) => Number.isFinite(v) && v > 0;
  const values = points.flatMap((pt) => [pt.measured, pt.before, pt.after, pt.held_out]).filter(Number.isFinite);
  const lo = Math.min(...values.filter(positive)), hi = Math.max(...values);
  // Log axes where the values span more than ten times (and none is zero or less).
  const log = values.length > 0 && values.every(positive) && hi / lo > 10;
  const domain = extent(values, log, false);
  const W = drawingWidth(), H = Math.min(W, 360), L = 64, R = 16, T = 12, B = 44;
  const x = scale(domain, [L, W - R], log);
  const y = scale(domain, [H - B, T], log);
  const title = `${name}: predicted against measured${log ? " (log axes)" : ""}`;
  const id = `calibrate-scatter-${metric}`;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}; the table of points below holds the same numbers`, "data-chart": id, "data-log": String(log) });
  const ticks = x.ticks();
  const every = Math.max(1, Math.ceil((Math.max(...ticks.map((t) => round(t, 2).length), 1) * 6.2 + 6) * ticks.length / (W - L - R)));
  ticks.forEach((t, i) => {
    svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }));
    if (i % every === 0) svg.append(s("text", { x: x(t), y: H - B + 14, "text-anchor": "middle" }, round(t, 2)));
  });
  for (const t of y.ticks()) svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: y(t), y2: y(t) }), s("text", { x: L - 4, y: y(t) + 4, "text-anchor": "end" }, round(t, 2)));
  svg.append(
    s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }),
    s("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }),
    s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, withUnit(`measured ${name.toLowerCase()}`) + (log ? ", log" : "")),
    s("text", { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" }, withUnit("predicted") + (log ? ", log" : "")),
    // y = x: where a prediction equals the measurement.
    s("line", { x1: x(domain[0]), y1: y(domain[0]), x2: x(domain[1]), y2: y(domain[1]), stroke: "#4a5360", "stroke-dasharray": "5 4", "data-line": "y=x" }),
    s("text", { x: x(domain[1]) - 4, y: y(domain[1]) + 14, "text-anchor": "end" }, "predicted = measured"),
  );
  const marker = (shape, cx, cy, color, attrs, tip) => {
    const common = { stroke: color, "stroke-width": 2, ...attrs };
    const shapeEl =
      shape === "circle"
        ? s("circle", { cx, cy, r: 4, fill: "#fff", ...common })
        : shape === "square"
          ? s("rect", { x: cx - 3.5, y: cy - 3.5, width: 7, height: 7, fill: color, ...common })
          : s("path", { d: `M${cx - 5},${cy} L${cx},${cy - 6} L${cx + 5},${cy} L${cx},${cy + 6} Z`, fill: color, "fill-opacity": 0.35, ...common });
    shapeEl.append(s("title", {}, tip));
    return shapeEl;
  };
  const shown = (v) => Number.isFinite(v) && (!log || v > 0);
  for (const se of series) {
    for (const pt of points) {
      const v = se.value(pt);
      if (!shown(v) || !shown(pt.measured)) continue;
      const where = `${pt.file} ${pt.run}, ${pt.statistic}`;
      svg.append(marker(se.shape, x(pt.measured), y(v), se.color, { class: "marker", "data-series": se.key, "data-x": pt.measured, "data-y": v, "data-statistic": pt.statistic }, `${where}: measured ${round(pt.measured)}, ${se.name} ${round(v)}${unit ? ` ${unit}` : ""}`));
    }
  }
  const sample = (se) =>
    s("svg", { class: "sample", width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" }, marker(se.shape, 7, 7, se.color, {}, se.name));
  const present = series.filter((se) => points.some((pt) => shown(se.value(pt))));
  const legend = h("div", { class: "legend" }, present.map((se) => h("span", { "data-legend": se.key }, sample(se), se.name)), h("span", {}, "dashed: predicted = measured"));
  return h("figure", { "data-figure": id, "data-metric": metric }, h("figcaption", {}, title), svg, legend);
}

/** One panel per metric, in the order the answer lists them. */
function scatters(answer) {
  const byMetric = new Map();
  for (const pt of answer.points || []) {
    if (!byMetric.has(pt.metric)) byMetric.set(pt.metric, []);
    byMetric.get(pt.metric).push(pt);
  }
  if (!byMetric.size) return null;
  return h("section", { class: "calibrate-scatters", "data-scatters": "" }, h("h3", { class: "section" }, "Predicted against measured, per metric"), h("div", { class: "row" }, [...byMetric].map(([metric, pts]) => scatter(metric, pts))));
}

/** The constants the fit moved (within their bounds), and the ones it left. */
function constantsSection(answer) {
  const constants = answer.constants || [];
  const moved = constants.filter((c) => c.after !== c.before);
  const kept = constants.filter((c) => c.after === c.before);
  return h(
    "section",
    { "data-constants": String(moved.length) },
    h("h3", { class: "section" }, "Constants the fit moved"),
    moved.length
      ? table(
          "calibrate-constants",
          [
            { key: "name", label: "Constant", text: true },
            { key: "before", label: "Default" },
            { key: "after", label: "Fitted" },
            { key: "change", label: "Change", fmt: pctSigned },
            { key: "min", label: "Lowest allowed" },
            { key: "max", label: "Highest allowed" },
          ],
          moved.map((c) => ({ name: c.name, before: c.before, after: c.after, change: c.change, min: c.min, max: c.max })),
        )
      : h("p", { class: "note" }, "The fit moved no constant: the default profile is the best it found."),
    kept.length ? h("p", { class: "note", "data-kept": kept.map((c) => c.name).join(",") }, `Left at their default values: ${kept.map((c) => c.name).join(", ")}.`) : null,
  );
}

function profileButton(answer) {
  if (!answer.profile) return null;
  const engine = answer.engine || answer.profile.base || "engine";
  const name = `${engine}-profile.json`;
  return h(
    "p",
    { class: "profile-download" },
    h("button", { type: "button", class: "run", "data-download": "profile", onclick: () => download(name, "application/json", JSON.stringify(answer.profile, null, 2) + "\n") }, "Download profile"),
    " ",
    h("span", { class: "note" }, `${name}: the fitted profile. A later request carries it as its engine_profile (the CLI: --engine-profile FILE); hwcost keeps nothing.`),
  );
}

function skippedList(answer) {
  const skipped = answer.skipped || [];
  if (!skipped.length) return h("p", { class: "note", "data-skipped": "0" }, "No run of the files was skipped.");
  return h(
    "section",
    { class: "notes has-warnings", "data-skipped": String(skipped.length) },
    h("h4", {}, `Skipped: ${skipped.length} run${skipped.length === 1 ? "" : "s"} not compared`),
    h("ul", { class: "warnings" }, skipped.map((k) => h("li", { "data-file": k.file, "data-run": k.run }, h("code", {}, `${k.file} ${k.run}`), " ", h("span", { class: "message" }, k.reason)))),
  );
}

/** A refusal whose pointers are into a file (`/results/N/...`) names the file before the API's words. */
function namingFiles(error, files) {
  const errors = error?.problem?.errors;
  if (!Array.isArray(errors)) return error;
  error.problem = {
    ...error.problem,
    errors: errors.map((e) => {
      const at = /^\/results\/(\d+)(\/|$)/.exec(e.pointer ?? "");
      const file = at ? files[Number(at[1])] : null;
      return file ? { ...e, detail: `${file.name}: ${e.detail}` } : e;
    }),
  };
  return error;
}

async function runCalibrate(p, out) {
  dropZone();
  if (!chosen.length) {
    add(out, h("p", { class: "note", "data-calibrate": "empty" }, "Drop one or more benchmark result files on the zone above (or choose them with its button): the result JSON of vllm bench serve --save-result, a GuideLLM report, an llm-d benchmark report (YAML) or a genai-perf / AIPerf profile export. They are sent to POST /v1/calibrate with the deployment fields for what a file does not state."));
    return;
  }
  const answer = await from(POINTERS, api("POST", "/v1/calibrate", calibrateBody(p, chosen))).catch((error) => {
    throw namingFiles(error, chosen);
  });
  const pct = { fmt: fmt.pct };
  add(
    out,
    answerSentence(answer),
    table(
      "calibrate-errors",
      [
        { key: "points", label: "Numbers compared", text: true },
        { key: "profile", label: "Profile", text: true },
        { key: "median_ape", label: "Median error (APE)", ...pct },
        { key: "p90_ape", label: "p90 error", ...pct },
        { key: "max_ape", label: "Max error (APE)", ...pct },
        { key: "measurements", label: "Measurements", fmt: fmt.count },
      ],
      errorRows(answer),
    ),
    answer.held_out ? null : h("p", { class: "note", "data-held-out": "none" }, `No error on held-out runs: ${answer.held_out_note || "the answer gives no reason"}.`),
    scatters(answer),
    h("h3", { class: "section" }, "Error per metric"),
    table(
      "calibrate-metrics",
      [
        { key: "metric", label: "Metric", text: true },
        { key: "statistic", label: "Statistic", text: true },
        { key: "measurements", label: "Measurements", fmt: fmt.count },
        { key: "before_median_ape", label: "Default: median", ...pct },
        { key: "before_max_ape", label: "Default: max", ...pct },
        { key: "after_median_ape", label: "Fitted: median", ...pct },
        { key: "after_max_ape", label: "Fitted: max", ...pct },
        { key: "held_out_median_ape", label: "Fitted, held out: median", ...pct },
        { key: "held_out_max_ape", label: "Fitted, held out: max", ...pct },
      ],
      (answer.metrics || []).map((m) => ({
        metric: m.metric,
        statistic: m.statistic,
        measurements: m.before?.measurements,
        before_median_ape: m.before?.median_ape,
        before_max_ape: m.before?.max_ape,
        after_median_ape: m.after?.median_ape,
        after_max_ape: m.after?.max_ape,
        held_out_median_ape: m.held_out?.median_ape ?? null,
        held_out_max_ape: m.held_out?.max_ape ?? null,
      })),
    ),
    constantsSection(answer),
    profileButton(answer),
    skippedList(answer),
    h("h3", { class: "section" }, "Every point"),
    table(
      "calibrate-points",
      [
        { key: "file", label: "File", text: true },
        { key: "run", label: "Run", text: true },
        { key: "metric", label: "Metric", text: true },
        { key: "statistic", label: "Statistic", text: true },
        { key: "measured", label: "Measured" },
        { key: "before", label: "Default profile" },
        { key: "after", label: "Fitted profile" },
        { key: "held_out", label: "Fitted, held out" },
      ],
      (answer.points || []).map((pt) => ({ file: pt.file, run: pt.run, metric: pt.metric, statistic: pt.statistic, measured: pt.measured, before: pt.before, after: pt.after, held_out: pt.held_out ?? null })),
    ),
  );
}

const fromFile = (choices) => () => [["", "as the file states"], ...choices()];

export const view = {
  title: "Calibrate from your benchmark results",
  lede: "Drop the result files your benchmark tool wrote (vllm bench serve, GuideLLM, llm-d, genai-perf or AIPerf): hwcost replays what they measured and shows its error with the default engine profile and with a profile fitted to your files (and on runs held out of the fit), predicted against measured, and the fitted profile to download.",
  fields: [
    { name: "results", label: "Benchmark result files: drop them here, or choose", type: "file", accept: ".json,.yaml,.yml,.txt,application/json,application/yaml", url: false, wide: true },
    { name: "model", label: "Model", options: fromFile(options.model), value: "llama-3.1-8b" },
    { name: "hardware", label: "Device", options: fromFile(options.hardware), value: "nvidia-h100-sxm-80gb" },
    { name: "devices", label: "Devices (empty: as the file states)", type: "number", value: "", min: 1, empty: "as the file states" },
    { name: "engine", label: "Engine", options: fromFile(options.inferenceEngine), value: "" },
    { name: "weights", label: "Weights", options: fromFile(options.format), value: "" },
    { name: "folds", label: "Cross-validation folds", type: "number", value: "5", min: 2 },
  ],
  action: "Calibrate",
  run: runCalibrate,
};
