// hwcost dashboard: a reference client of the v1 API.
//
// Every number on the page is read from an API answer for the inputs in the form; nothing is
// computed here but axes, unit conversions and sums of the parts the API returns. The view and
// its inputs live in the URL (?view=...&field=...), so a link reproduces what is on screen.
// No framework and no build step: the server embeds these files as they are.

"use strict";

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

async function api(method, path, body, contentType = "application/json") {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = contentType;
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError({ title: `HTTP ${response.status}`, detail: text.slice(0, 300) }, response.status);
  }
  if (!response.ok) throw new ApiError(json, response.status);
  return json;
}

/** Every item of a paged list (follows `next_cursor`). */
async function listAll(path) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const separator = path.includes("?") ? "&" : "?";
    const url = `${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const list = await api("GET", url);
    items.push(...list.items);
    if (!list.next_cursor) break;
    cursor = list.next_cursor;
  }
  return items;
}

// ---------------------------------------------------------------- DOM and formatting

function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    // Through the CSSOM: the page's content security policy refuses inline style attributes.
    else if (key === "style") element.style.cssText = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** `parent.append` without the "null" text that DOM methods make of an absent child. */
function add(parent, ...children) {
  parent.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function round(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const magnitude = Math.abs(x);
  if (magnitude !== 0 && (magnitude >= 1e15 || magnitude < 1e-3)) return x.toExponential(2);
  return x.toLocaleString("en-US", { maximumSignificantDigits: Math.max(digits, Math.ceil(Math.log10(magnitude + 1))) });
}
const sig = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : Number(x.toPrecision(d)).toLocaleString("en-US"));
const fmt = {
  gb: (b) => `${sig(b / 1e9)} GB`,
  ms: (x) => `${sig(x)} ms`,
  count: (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–"),
  params: (x) => (x >= 1e9 ? `${sig(x / 1e9, 4)} B` : `${sig(x / 1e6, 4)} M`),
  usd: (x) => (Number.isFinite(x) ? `$${sig(x, 3)}` : "–"),
  pct: (x) => (Number.isFinite(x) ? `${sig(x * 100, 3)}%` : "–"),
  tokens: (x) => (!Number.isFinite(x) ? "–" : x >= 1e12 ? `${sig(x / 1e12)} T` : x >= 1e9 ? `${sig(x / 1e9)} B` : `${sig(x / 1e6)} M`),
  flops: (x) => (Number.isFinite(x) ? `${x.toExponential(2).replace("e+", "e")} FLOPs` : "–"),
  // Dollars of training runs: thousands to billions, said in words.
  money: (x) => (!Number.isFinite(x) ? "–" : x >= 1e9 ? `$${sig(x / 1e9)} billion` : x >= 1e6 ? `$${sig(x / 1e6)} million` : x >= 1e3 ? `$${sig(x / 1e3)} thousand` : `$${sig(x)}`),
  tps: (x) => `${sig(x)} tok/s`,
  plain: (x) => (typeof x === "number" ? sig(x, 4) : String(x ?? "–")),
};

function status(text) {
  document.getElementById("status").textContent = text;
}

// ---------------------------------------------------------------- explain and error bands

/** The measured error band of `output` in an answer, as text. */
function bandText(answer, output) {
  const band = answer?.error_band;
  if (!band) return "no error band in this answer";
  const metric = (band.metrics || []).find((m) => m.output === output);
  if (metric) {
    return `error band ±${sig(metric.median_ape * 100, 2)}% median, ±${sig(metric.p90_ape * 100, 2)}% p90 over ${metric.points} published points`;
  }
  if (band.status === "exact") return "exact: counted from the architecture";
  return "no published measurement of this output to give it a band";
}

function openExplain(entry, band, answer) {
  const panel = document.getElementById("explain");
  const body = document.getElementById("explain-body");
  body.replaceChildren();
  add(
    body,
    h("p", {}, h("strong", {}, entry.rule)),
    h("code", { class: "formula" }, entry.formula),
    entry.inputs && Object.keys(entry.inputs).length
      ? h("dl", {}, Object.entries(entry.inputs).map(([k, v]) => [h("dt", {}, k), h("dd", {}, fmt.plain(v))]))
      : null,
    entry.value !== undefined ? h("p", {}, "= ", h("strong", { class: "explain-value" }, fmt.plain(entry.value)), " ", entry.unit || "") : null,
    h("p", { class: "band explain-band" }, band),
    answer ? h("details", {}, h("summary", {}, "The whole answer (JSON)"), h("code", {}, JSON.stringify(answer, null, 1).slice(0, 20000))) : null,
  );
  panel.hidden = false;
  document.getElementById("explain-close").focus();
}

/**
 * A number that opens its explain entry: `rule` names the entry in `answer.explain`, `output` the
 * error-band metric. A number with no entry in the answer says so when clicked.
 */
function num(text, answer, rule, output) {
  const entry = (answer?.explain || []).find((e) => e.rule === rule);
  const band = bandText(answer, output);
  return h(
    "button",
    {
      type: "button",
      class: "num",
      "data-rule": rule,
      title: band,
      onclick: () =>
        openExplain(entry || { rule, formula: "this answer carries no explain entry for it", inputs: {} }, band, answer),
    },
    text,
  );
}

function card(label, value, answer, rule, output, id) {
  return h(
    "div",
    { class: "card", "data-metric": id || rule },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, answer ? num(value, answer, rule, output) : value),
    answer ? h("span", { class: "band" }, bandText(answer, output)) : null,
  );
}

function badge(kind, text) {
  return h("span", { class: `badge ${kind}` }, text);
}

// ---------------------------------------------------------------- problems (refused input)

/** Where a request's fields came from, when not the view's own names (see `fieldFor`). */
const FIELDS = Symbol("fields");

/**
 * `promise` (an API call) with the form fields its request was built from: `fields` maps a JSON
 * pointer of the request (or a prefix of one) to the name of the form field that filled it. The
 * map travels on the answer (for its assumptions) and on a refusal (for its pointers).
 */
function from(fields, promise) {
  return promise.then(
    (answer) => Object.assign(answer, { [FIELDS]: fields }),
    (error) => {
      if (error instanceof ApiError) error.fields = fields;
      throw error;
    },
  );
}

/**
 * The form field of the current view a request's JSON pointer (or an assumption's field, the
 * same path without its leading slash) names: the request's own map first (the longest prefix
 * wins), then the one field holding `value` (an unknown id), then a field named like the
 * pointer's last word (/workload/input_tokens: "input_tokens") or its first.
 */
function fieldFor(pointer, fields = {}, value) {
  const view = VIEWS[state.view];
  const path = `/${String(pointer ?? "").replace(/^\//, "")}`;
  const byName = (name) => view.fields.find((f) => f.name === name) || null;
  const longest = (pairs) => {
    let best = null;
    for (const [at, name] of pairs) if ((at === "/" || path === at || path.startsWith(`${at}/`)) && (!best || at.length > best[0].length)) best = [at, name];
    return best ? byName(best[1]) : null;
  };
  const own = longest(Object.entries(fields || {}));
  if (own) return own;
  const holding = value !== undefined ? fieldHolding(value) : null;
  if (holding) return holding;
  const words = path.split("/").filter((w) => w && !/^\d+$/.test(w));
  return byName(words[words.length - 1]) || byName(words[0]);
}

/** The one field of the current view whose value (or one item of its list) is `value`. */
function fieldHolding(value) {
  const holding = VIEWS[state.view].fields.filter((f) => f.url !== false && (state.params[f.name] === value || list(state.params[f.name]).includes(value)));
  return holding.length === 1 ? holding[0] : null;
}

/**
 * "did you mean" in a problem's words: the unknown id and the ids the API suggests
 * (`unknown hardware "h100"; did you mean nvidia-h100-sxm-80gb or ...?`).
 */
function suggestionsIn(detail) {
  const found = /unknown [\w -]+ "([^"]*)"; did you mean (.+)\?$/.exec(detail || "");
  return found ? { id: found[1], ids: found[2].split(" or ").map((x) => x.trim()).filter(Boolean) } : null;
}

/** Puts `suggested` in place of the unknown `id` in a field (in its list, when it is one) and runs again. */
function acceptSuggestion(field, id, suggested) {
  const value = state.params[field.name] ?? "";
  const items = list(value);
  state.params[field.name] = items.length > 1 && items.includes(id) ? items.map((x) => (x === id ? suggested : x)).join(",") : suggested;
  writeUrl(true);
  render();
}

/**
 * A refused request, said once: the problem's title, then each field error under the form
 * label of the field it names (its pointer beside it), with the API's words; an unknown id's
 * "did you mean" suggestions are buttons that fill the field and run the view again.
 */
function problemBox(error) {
  const problem = error.problem || { detail: String(error?.message || error) };
  const fields = error.fields || {};
  const errors = problem.errors?.length ? problem.errors : [];
  const item = (pointer, detail, name) => {
    const suggested = suggestionsIn(detail);
    // The page's own refusal names its field; a problem without a pointer (an unknown id in a
    // path) names the field holding the id.
    const field = name ? VIEWS[state.view].fields.find((f) => f.name === name) : pointer !== undefined ? fieldFor(pointer, fields, suggested?.id) : suggested ? fieldHolding(suggested.id) : null;
    return h(
      "li",
      { "data-pointer": pointer ?? null, "data-field": field?.name ?? null },
      field ? [h("strong", { class: "field-label" }, field.label), " "] : null,
      pointer !== undefined ? [h("code", {}, pointer || "/"), " "] : null,
      h("span", { class: "detail" }, detail),
      suggested && field
        ? h(
            "span",
            { class: "suggestions" },
            " Use: ",
            suggested.ids.map((id) => h("button", { type: "button", class: "suggestion", "data-suggestion": id, onclick: () => acceptSuggestion(field, suggested.id, id) }, id)),
          )
        : null,
    );
  };
  // The top-level detail repeats the field errors' words: it is shown only when there are none.
  return h(
    "div",
    { class: "error", role: "alert", "data-problem": problem.code || "" },
    h("strong", {}, problem.title || "Error"),
    errors.length ? h("ul", {}, errors.map((e) => item(e.pointer, e.detail, e.field))) : h("ul", {}, item(undefined, problem.detail || "")),
  );
}

/** Problems of several requests of one view, each different one once. */
function problemBoxes(errors) {
  const seen = new Set();
  return errors.filter((error) => {
    const key = JSON.stringify(error?.problem || String(error));
    return !seen.has(key) && seen.add(key);
  }).map(problemBox);
}

/** A number of a run the API left out (`null`: the deployment does not fit) is never shown as one. */
const ran = (format) => (x) => (x === null || x === undefined ? "not run" : format(x));

/** The layout the API chose (the answer's parallelism). */
function layoutText(answer) {
  const p = answer.parallelism || {};
  return `${answer.devices} × ${answer.hardware}: tensor ${p.tensor ?? 1} × pipeline ${p.pipeline ?? 1} × expert ${p.expert ?? 1} × data ${p.data ?? 1} (replicas)`;
}

/**
 * What an answer says about itself, in the API's words, for every view to put first: a
 * does-not-fit verdict with `not_run.reason` (and what was left out), every warning (code and
 * message) and every assumption (field, value, reason). An assumption about a form field the
 * user left empty names the field's label, is listed open, and becomes the field's placeholder:
 * the value the API used in its place.
 */
function notes(answer, label) {
  if (!answer) return null;
  const warnings = answer.warnings || [];
  const assumptions = answer.assumptions || [];
  const fields = answer[FIELDS] || {};
  const emptied = [];
  const assumed = assumptions.map((a) => {
    const field = fieldFor(a.field, fields);
    const control = field && field.url !== false ? document.getElementById(`f-${field.name}`) : null;
    const left = control && control.value.trim() === "" && (state.params[field.name] ?? "") === "";
    if (left) {
      control.placeholder = `${a.value} (assumed)`;
      emptied.push(a.field);
    }
    return h("li", { "data-field": a.field, "data-emptied": left ? field.name : null }, left ? [h("strong", { class: "field-label" }, field.label), " left empty: "] : null, h("code", {}, a.field), " = ", h("span", { class: "value" }, a.value), ": ", h("span", { class: "reason" }, a.reason));
  });
  const verdict =
    answer.verdict === "does_not_fit"
      ? h(
          "div",
          { class: "verdict-box", role: "alert", "data-not-run": label || "" },
          badge("no-fit", "does not fit"),
          " ",
          h("strong", {}, label ? `${label}: ` : ""),
          h("span", { class: "reason" }, answer.not_run?.reason || ""),
          answer.not_run?.left_out?.length ? h("p", { class: "note" }, `Left out (not run): ${answer.not_run.left_out.join(", ")}.`) : null,
        )
      : null;
  return h(
    "section",
    { class: `notes${warnings.length ? " has-warnings" : ""}`, "data-notes": label || "" },
    verdict,
    // Warnings in full; an answer without any says so in one line with its assumptions.
    warnings.length
      ? [
          h("h4", {}, label ? `Warnings (${label})` : "Warnings"),
          h("ul", { class: "warnings" }, warnings.map((w) => h("li", { "data-code": w.code }, h("code", {}, w.code), " ", h("span", { class: "message" }, w.message)))),
        ]
      : null,
    h(
      "details",
      { class: "assumptions", open: emptied.length > 0 },
      h(
        "summary",
        {},
        warnings.length ? "" : h("span", { class: "no-warnings" }, `${label ? `${label}: ` : ""}no warnings; `),
        `assumed ${assumptions.length} default${assumptions.length === 1 ? "" : "s"} the request left out${emptied.length ? ` (${emptied.length} for a field left empty)` : ""}`,
      ),
      h("ul", {}, assumed),
    ),
  );
}

// ---------------------------------------------------------------- tables with export

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function csv(columns, rows) {
  const cell = (v) => {
    const text = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [columns.map((c) => cell(c.key)).join(","), ...rows.map((r) => columns.map((c) => cell(r[c.key])).join(","))].join("\n") + "\n";
}

/** Where a table row keeps the API answer it came from (not exported: a symbol key). */
const ANSWER = Symbol("answer");
const withAnswer = (row, answer) => Object.assign(row, { [ANSWER]: answer });

/**
 * A table of `rows` (flat objects keyed by `columns[].key`, raw API values) with CSV and JSON
 * downloads of the same raw values. `cell(row, column)` may return a node (a linked number).
 */
function table(name, columns, rows, options = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.text || c.message ? "text" : null }, c.label)));
  const body = rows.map((row, index) => {
    const click = options.onRowClick ? () => options.onRowClick(row, index) : null;
    return h(
      "tr",
      {
        class: [click ? "clickable" : "", options.rowClass ? options.rowClass(row) : ""].join(" ").trim() || null,
        tabindex: click ? "0" : null,
        onclick: click,
        onkeydown: click ? (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), click()) : null,
      },
      columns.map((c) => {
        const value = row[c.key];
        const shown = c.cell ? c.cell(row) : c.fmt ? c.fmt(value) : fmt.plain(value);
        // A row that carries its answer links the column's number to the answer's explain entry.
        const linked = c.rule && row[ANSWER] ? num(shown, row[ANSWER], c.rule, c.output) : shown;
        return h("td", { class: c.text ? "text" : c.message ? "message" : null, "data-key": c.key }, linked);
      }),
    );
  });
  return h(
    "section",
    { class: "table-block", "data-table": name },
    h(
      "div",
      { class: "export" },
      h("button", { type: "button", "data-export": "csv", onclick: () => download(`${name}.csv`, "text/csv", csv(columns, rows)) }, "CSV"),
      h("button", { type: "button", "data-export": "json", onclick: () => download(`${name}.json`, "application/json", JSON.stringify(rows, null, 2) + "\n") }, "JSON"),
    ),
    h("div", { class: "table-wrap" }, h("table", {}, options.caption ? h("caption", {}, options.caption) : null, h("thead", {}, head), h("tbody", {}, body))),
  );
}

// ---------------------------------------------------------------- charts (SVG)

const PALETTE = ["#0b57d0", "#c2410c", "#0f766e", "#6b21a8", "#a16207", "#be185d", "#334155"];

function scale(domain, range, log) {
  let [d0, d1] = domain;
  if (log) {
    d0 = Math.log10(d0);
    d1 = Math.log10(d1);
  }
  if (d1 === d0) d1 = d0 + 1;
  const f = (v) => range[0] + ((((log ? Math.log10(v) : v) - d0) / (d1 - d0)) * (range[1] - range[0]));
  f.ticks = () => {
    if (log) {
      // Powers of ten; 1-2-5 steps when the axis spans less than about two decades.
      const steps = d1 - d0 < 2 ? [1, 2, 5] : [1];
      const out = [];
      for (let e = Math.floor(d0); e <= Math.ceil(d1); e++) {
        for (const m of steps) {
          const t = m * 10 ** e;
          if (Math.log10(t) >= d0 - 1e-9 && Math.log10(t) <= d1 + 1e-9) out.push(t);
        }
      }
      return out;
    }
    const step = 10 ** Math.floor(Math.log10((d1 - d0) / 4 || 1));
    const nice = [1, 2, 5, 10].map((m) => m * step).find((st) => (d1 - d0) / st <= 6) || step * 10;
    const out = [];
    for (let t = Math.ceil(d0 / nice) * nice; t <= d1 + 1e-9; t += nice) out.push(t);
    return out;
  };
  return f;
}

function extent(values, log, zero) {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!finite.length) return [log ? 1 : 0, log ? 10 : 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (zero && !log) lo = Math.min(0, lo);
  if (log) {
    lo /= 1.5;
    hi *= 1.5;
  } else {
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    hi += pad;
    if (!zero) lo -= pad;
  }
  return [lo, hi];
}

/**
 * A chart of lines and points. `series`: {name, key? (its data-series), points: [{x, y, label?,
 * onClick?, highlight?}], line?: bool, dash?, radius?}; `hlines`/`vlines`: {at, label}; axes
 * linear or log, tick labels by `xTicks`/`yTicks`; `yZero: false` fits the y axis to the data.
 */
function chart({ id, title, series, xLabel, yLabel, xLog, yLog, hlines = [], vlines = [], markers = [], xTicks = (t) => round(t, 2), yTicks = (t) => round(t, 2), yZero = true }) {
  const W = 560, H = 300, L = 64, R = 16, T = 12, B = 44;
  const xs = series.flatMap((se) => se.points.map((p) => p.x)).concat(vlines.map((v) => v.at), markers.map((m) => m.x)).filter(Number.isFinite);
  const ys = series.flatMap((se) => se.points.map((p) => p.y)).concat(hlines.map((v) => v.at), markers.map((m) => m.y)).filter(Number.isFinite);
  const x = scale(extent(xs, xLog, true), [L, W - R], xLog);
  const y = scale(extent(ys, yLog, yZero), [H - B, T], yLog);
  const xd = extent(xs, xLog, true), yd = extent(ys, yLog, yZero);
  const inside = (p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog || p.x > 0) && (!yLog || p.y > 0);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": id });
  for (const t of x.ticks()) {
    svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }), s("text", { x: x(t), y: H - B + 14, "text-anchor": "middle" }, xTicks(t)));
  }
  for (const t of y.ticks()) {
    svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: y(t), y2: y(t) }), s("text", { x: L - 4, y: y(t) + 4, "text-anchor": "end" }, yTicks(t)));
  }
  svg.append(
    s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }),
    s("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }),
    s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, xLabel),
    s("text", { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" }, yLabel),
  );
  const clip = (v, d) => Math.min(Math.max(v, d[0]), d[1]);
  // A line at no number (an input left empty) is not drawn.
  for (const line of hlines.filter((l) => Number.isFinite(l.at))) {
    const at = y(clip(line.at, yd));
    svg.append(s("line", { x1: L, x2: W - R, y1: at, y2: at, stroke: line.color || "#b3261e", "stroke-dasharray": "6 4", "data-hline": line.label }), s("text", { x: L + 4, y: at - 4, fill: line.color || "#b3261e" }, line.label));
  }
  for (const line of vlines.filter((l) => Number.isFinite(l.at))) {
    const at = x(clip(line.at, xd));
    svg.append(s("line", { x1: at, x2: at, y1: T, y2: H - B, stroke: line.color || "#0a6b2d", "stroke-dasharray": "6 4", "data-vline": line.label }), s("text", { x: at + 4, y: T + 12, fill: line.color || "#0a6b2d" }, line.label));
  }
  series.forEach((se, i) => {
    const color = se.color || PALETTE[i % PALETTE.length];
    const points = se.points.filter(inside);
    if (se.line !== false && points.length > 1) {
      svg.append(s("polyline", { fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": se.dash || null, points: points.map((p) => `${x(p.x)},${y(p.y)}`).join(" ") }));
    }
    for (const p of points) {
      const dot = s(
        "circle",
        {
          class: p.onClick ? "point" : null,
          cx: x(p.x),
          cy: y(p.y),
          r: p.highlight ? 6 : se.radius || 4,
          fill: p.highlight ? color : "#fff",
          stroke: color,
          "stroke-width": 2,
          tabindex: p.onClick ? 0 : null,
          role: p.onClick ? "button" : null,
          "aria-label": p.label || null,
          "data-series": se.key || se.name,
          "data-x": p.x,
          "data-y": p.y,
          onclick: p.onClick || null,
          onkeydown: p.onClick ? (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), p.onClick()) : null,
        },
        s("title", {}, p.label || `${se.name}: ${round(p.x)} → ${round(p.y)}`),
      );
      svg.append(dot);
    }
  });
  for (const m of markers) {
    if (!inside(m)) continue;
    svg.append(s("path", { d: `M${x(m.x) - 6},${y(m.y)} L${x(m.x)},${y(m.y) - 7} L${x(m.x) + 6},${y(m.y)} L${x(m.x)},${y(m.y) + 7} Z`, fill: "#1b1f24", "data-marker": m.label }, s("title", {}, m.label)), s("text", { x: x(m.x) > W * 0.6 ? x(m.x) - 8 : x(m.x) + 8, y: y(m.y) - 8, fill: "#1b1f24", "text-anchor": x(m.x) > W * 0.6 ? "end" : "start" }, m.label));
  }
  const legend = h("div", { class: "legend" }, series.map((se, i) => h("span", {}, h("i", { style: `background:${se.color || PALETTE[i % PALETTE.length]}` }), se.name)));
  return h("figure", { "data-figure": id }, h("figcaption", {}, title), svg, legend);
}

/** Horizontal stacked bars (one per `bars[]`), each with a capacity mark. */
function stackedBars({ id, title, bars, parts, unit = 1e9, unitLabel = "GB" }) {
  const W = 560, rowH = 34, L = 110, R = 16, T = 8;
  const H = T + bars.length * rowH + 30;
  const max = Math.max(...bars.map((b) => Math.max(b.capacity || 0, parts.reduce((sum, p) => sum + (b.values[p.key] || 0), 0)))) || 1;
  const x = scale([0, max * 1.05], [L, W - R], false);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": id });
  for (const t of x.ticks()) svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - 24 }), s("text", { x: x(t), y: H - 10, "text-anchor": "middle" }, `${round(t / unit, 2)} ${unitLabel}`));
  bars.forEach((bar, row) => {
    const top = T + row * rowH + 6;
    svg.append(s("text", { x: L - 6, y: top + 14, "text-anchor": "end" }, bar.label));
    let at = 0;
    parts.forEach((part, i) => {
      const value = bar.values[part.key] || 0;
      if (value <= 0) return;
      svg.append(s("rect", { x: x(at), y: top, width: Math.max(0, x(at + value) - x(at)), height: 20, fill: part.color || PALETTE[i], "data-part": part.key, "data-bytes": value }, s("title", {}, `${bar.label} ${part.label}: ${round(value / unit)} ${unitLabel}`)));
      at += value;
    });
    if (bar.capacity) {
      svg.append(s("line", { x1: x(bar.capacity), x2: x(bar.capacity), y1: top - 4, y2: top + 24, stroke: "#b3261e", "stroke-width": 2, "data-capacity": bar.capacity }, s("title", {}, `capacity ${round(bar.capacity / unit)} ${unitLabel}`)));
    }
  });
  const legend = h("div", { class: "legend" }, parts.map((p, i) => h("span", {}, h("i", { style: `background:${p.color || PALETTE[i]}` }), p.label)), bars.some((b) => b.capacity) ? h("span", {}, h("i", { style: "background:#b3261e" }), "usable capacity") : null);
  return h("figure", { "data-figure": id }, h("figcaption", {}, title), svg, legend);
}

// ---------------------------------------------------------------- catalog lists (once)

const catalog = { models: [], hardware: [], formats: [], engines: [], apiPrices: [], scalingFits: [] };

async function loadCatalog() {
  const [models, hardware, formats, engines, apiPrices, scalingFits] = await Promise.all([
    listAll("/v1/models"),
    listAll("/v1/hardware"),
    listAll("/v1/formats"),
    listAll("/v1/engines"),
    listAll("/v1/prices/api"),
    api("GET", "/v1/scaling/fits").then((list) => list.items),
  ]);
  // Hosted-API prices by provider, then id: the comparison's selector groups them so.
  apiPrices.sort((a, b) => a.provider.localeCompare(b.provider) || a.id.localeCompare(b.id));
  Object.assign(catalog, { models, hardware, formats, engines, apiPrices, scalingFits });
}

/**
 * An API price as the selector names it: the model, its USD prices (and the currency it is
 * published in, when another), closed or not, and its dates (a past price says until when).
 */
function apiPriceText(p) {
  const converted = p.currency && p.currency !== "USD" ? ` (from ${p.currency})` : "";
  const when = p.valid_until ? `, ${p.valid_from ? `${p.valid_from} to ` : "until "}${p.valid_until}` : p.valid_from ? `, since ${p.valid_from}` : "";
  return `${p.model}: $${sig(p.usd_per_million_input_tokens, 4)} in / $${sig(p.usd_per_million_output_tokens, 4)} out per M${converted}${p.open_weights ? "" : ", closed"}${when}`;
}

const options = {
  model: () => catalog.models.map((m) => [m.id, `${m.name} (${m.nominal_size})`]),
  hardware: () => catalog.hardware.map((d) => [d.id, d.name]),
  format: () => catalog.formats.map((f) => [f.id, f.id]),
  inferenceEngine: () => catalog.engines.filter((e) => e.kind === "inference").map((e) => [e.id, e.id]),
  trainingEngine: () => catalog.engines.filter((e) => e.kind === "training").map((e) => [e.id, e.id]),
  // [value, text, group]: one <optgroup> per provider.
  apiPrice: () => catalog.apiPrices.map((p) => [p.id, apiPriceText(p), p.provider]),
  scalingFit: () => catalog.scalingFits.map((f) => [f.id, `${f.name}${f.default ? " (default)" : ""}`]),
  // Models a scaling estimate can name: those with published training tokens.
  trainedModel: () => catalog.models.filter((m) => m.training_tokens > 0).map((m) => [m.id, `${m.name} (${fmt.tokens(m.training_tokens)} tokens)`]),
};

// ---------------------------------------------------------------- the views

const MEMORY_PARTS = [
  { key: "weights_bytes", label: "weights", color: "#0b57d0" },
  { key: "kv_cache_bytes", label: "KV cache", color: "#c2410c" },
  { key: "activations_bytes", label: "activations", color: "#0f766e" },
  { key: "overhead_bytes", label: "runtime overhead", color: "#6b21a8" },
];

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

const VIEWS = {
  model: {
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
  },
  serving: {
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
  },
  plan: {
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
  },
  training: {
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
    ],
    run: runTraining,
  },
  scale: {
    title: "What does scale buy?",
    lede: "Loss (nats per token on each fit's own data) against training compute: each scaling-law fit's compute-optimal frontier, the catalog's models where their training tokens are published, and what the next 10x of compute buys, in loss and in dollars on the device you choose.",
    fields: [
      { name: "fit", label: "Scaling-law fit", options: options.scalingFit, value: "besiroglu2024" },
      { name: "model", label: "Model", options: options.trainedModel, value: "gpt-3-175b" },
      { name: "hardware", label: "Device (the money side)", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
      { name: "devices", label: "Devices (empty: the API's default)", type: "number", value: "", min: 1 },
      { name: "marked", label: "Models marked", options: () => [["story", "GPT-2, GPT-3, Chinchilla, Gopher, Llama"], ["all", "every model with published training tokens"]], value: "story" },
      { name: "plan_target", label: "Lifetime plan: target", options: () => [["model", "a model's quality"], ["loss", "a loss"]], value: "model" },
      { name: "plan_model", label: "Lifetime plan: quality of", options: options.trainedModel, value: "llama-2-7b" },
      { name: "plan_loss", label: "Lifetime plan: loss (nats/token)", type: "number", value: "2.0", step: "any", min: 0 },
      { name: "inference_tokens", label: "Lifetime plan: tokens served", type: "number", value: "2000000000000", min: 0 },
      { name: "objective", label: "Lifetime plan: minimise", options: () => [["flops", "FLOPs (training + inference)"], ["cost", "USD (training + serving)"]], value: "flops" },
    ],
    presets: [
      { label: "GPT-3 175B: what its next 10x buys", set: { model: "gpt-3-175b", fit: "besiroglu2024" } },
      { label: "The same under Chinchilla's printed fit", set: { model: "gpt-3-175b", fit: "hoffmann2022" } },
      { label: "Llama 2 7B served for 10T tokens", set: { plan_target: "model", plan_model: "llama-2-7b", inference_tokens: "10000000000000" } },
    ],
    action: "Estimate",
    run: runScale,
  },
  check: {
    title: "Check a plan",
    lede: "Paste or upload a deployment plan (the body of POST /v1/check, as JSON or TOML) and see the verdict per rule.",
    fields: [
      { name: "syntax", label: "Syntax", options: () => [["json", "JSON"], ["toml", "TOML"]], value: "json" },
      { name: "file", label: "Upload a plan file", type: "file", accept: ".json,.toml,application/json", url: false },
      { name: "plan", label: "Plan", type: "textarea", value: CHECK_EXAMPLE, wide: true },
    ],
    presets: [
      { label: "Example (JSON): 70B on 4 × H100", set: { syntax: "json", plan: CHECK_EXAMPLE } },
      { label: "Example (TOML): 70B on one H100", set: { syntax: "toml", plan: CHECK_EXAMPLE_TOML } },
    ],
    action: "Check",
    run: runCheck,
  },
  cost: {
    title: "Local vs cloud vs API",
    lede: "A device you own against one you rent against an API's price per token: cost per month and per million output tokens against the monthly volume, with the break-even points.",
    fields: [
      { name: "model", label: "Model", options: options.model, value: "llama-3.1-8b" },
      { name: "requests_per_s", label: "Requests per second", type: "number", value: "0.5", step: "any", min: 0 },
      { name: "input_tokens", label: "Prompt tokens", type: "number", value: "1000", min: 1 },
      { name: "output_tokens", label: "Output tokens", type: "number", value: "250", min: 1 },
      { name: "own", label: "Device you own", options: options.hardware, value: "nvidia-rtx-4090" },
      { name: "rent", label: "Device you rent", options: options.hardware, value: "nvidia-h100-sxm-80gb" },
      { name: "electricity_usd_per_kwh", label: "Electricity (USD/kWh)", type: "number", value: "0.20", step: "any", min: 0 },
      { name: "api", label: "API price", options: options.apiPrice, value: "openai/gpt-4o-mini" },
      { name: "max_ttft_ms", label: "Max TTFT (ms)", type: "number", value: "2000", min: 1 },
      { name: "max_tpot_ms", label: "Max TPOT (ms)", type: "number", value: "50", min: 1 },
    ],
    presets: [
      // The founding document's cloud services, where the catalog prices them.
      // Each names the ids it prefers, then any price that matches.
      ...[
        ["GPT-4 Turbo", ["openai/gpt-4-turbo"], /^openai\/gpt-4-turbo/],
        ["GPT-3.5 Turbo", ["openai/gpt-3.5-turbo"], /^openai\/gpt-3\.5-turbo/],
        ["GPT-3 davinci (2020)", ["openai/davinci"], /davinci/],
        ["Azure OpenAI", ["azure-openai/gpt-4-turbo"], /azure/],
        ["ERNIE 4.0", ["baidu/ernie-4.0-8k"], /ernie-4\.0/],
        ["ERNIE Speed", ["baidu/ernie-speed-8k-2024-05"], /ernie-speed/],
      ].map(([label, ids, pattern]) => ({ label: `Against ${label}`, set: () => {
        const found = catalog.apiPrices.find((p) => ids.includes(p.id)) || catalog.apiPrices.find((p) => pattern.test(`${p.id} ${p.provider}`.toLowerCase()));
        return found ? { api: found.id } : null;
      } })),
    ],
    action: "Compare",
    run: runCost,
  },
};

/**
 * A form value as a request's number. An emptied field is `undefined`, which JSON leaves out:
 * the request omits it, the API assumes its default and says so (`assumptions`), and the page
 * shows that assumption under the field's label and as the field's placeholder; a field the
 * API requires is refused, naming the field.
 */
const blank = (v) => v === undefined || v === null || String(v).trim() === "";
const int = (v) => (blank(v) ? undefined : Number.parseInt(v, 10));
const float = (v) => (blank(v) ? undefined : Number.parseFloat(v));
const list = (v) => String(v || "").split(",").map((x) => x.trim()).filter(Boolean);

/** Runs requests side by side; a failed one becomes `{error}` instead of failing the view. */
async function settle(promises) {
  const results = await Promise.allSettled(promises);
  return results.map((r) => (r.status === "fulfilled" ? r.value : { error: r.reason }));
}

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

// Serving ---------------------------------------------------------------------

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

// Plan ------------------------------------------------------------------------

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

// Training and fine-tuning ----------------------------------------------------

/** The fine-tune's request: its fields are the form's "Fine-tune: ..." ones. */
const FINETUNE_FIELDS = { "/model": "ft_model", "/hardware": "ft_hardware", "/engine": "ft_engine", "/method": "ft_method", "/tokens": "ft_tokens" };

async function runTraining(p, out) {
  const counts = list(p.device_counts).map(int).filter((n) => n > 0);
  const [runs, ft] = await Promise.all([
    settle(counts.map((devices) => from({ "/devices": "device_counts" }, api("POST", "/v1/estimate/training", { model: p.model, hardware: p.hardware, devices, tokens: float(p.tokens), sharding: p.sharding })))),
    from(FINETUNE_FIELDS, api("POST", "/v1/estimate/training", { model: p.ft_model, hardware: p.ft_hardware, devices: 1, tokens: float(p.ft_tokens), engine: p.ft_engine, method: p.ft_method })).catch((error) => ({ error })),
  ]);
  // One refusal shared by every request is the view's one answer.
  const failures = [...runs, ft].filter((r) => r.error).map((r) => r.error);
  if (failures.length === runs.length + 1 && problemBoxes(failures).length === 1) throw failures[0];
  const ok = runs.map((r, i) => ({ devices: counts[i], r })).filter((x) => !x.r.error);
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
          { key: "memory_per_device_bytes", label: "Memory/device", fmt: fmt.gb, rule: "memory.reserved", output: "memory.per_device.total_bytes" },
          { key: "mfu", label: "MFU", fmt: fmt.pct, rule: "utilization.mfu", output: "utilization.mfu" },
          { key: "wall_clock_days", label: "Days", rule: "time.wall_clock", output: "time.wall_clock_s" },
          { key: "device_hours", label: "Device-hours", fmt: fmt.count, rule: "time.gpu_hours", output: "time.gpu_hours" },
          { key: "usd", label: "USD", fmt: fmt.usd, rule: "cost.usd", output: "time.gpu_hours" },
        ],
        ok.map(({ devices, r }) => withAnswer({ devices, tensor: r.parallelism.tensor, pipeline: r.parallelism.pipeline, data: r.parallelism.data, fits: r.memory.fits, not_run: r.not_run?.reason ?? "", memory_per_device_bytes: r.memory.per_device.total_bytes, mfu: r.utilization?.mfu ?? null, wall_clock_days: r.time?.wall_clock_days ?? null, device_hours: r.time?.device_hours ?? null, usd: r.cost?.usd ?? null }, r)),
      ),
    );
  }

  add(out, h("h3", {}, `Fine-tuning ${p.ft_model} with ${p.ft_engine} (${p.ft_method}) on one ${p.ft_hardware}`));
  if (ft.error) {
    add(out, problemBox(ft.error));
    return;
  }
  const m = ft.memory;
  add(out, notes(ft, "fine-tune"));
  add(out, 
    h("p", { "data-verdict": m.fits ? "fits" : "no-fit" }, badge(m.fits ? "fits" : "no-fit", m.fits ? "fits" : "does not fit"), ft.not_run ? ` ${ft.not_run.reason};` : "", ` peak in the ${m.phases.peak.replace("_", " ")} phase`, m.per_device.host_bytes > 0 ? `; ${fmt.gb(m.per_device.host_bytes)} in host memory (not on the device)` : ""),
    stackedBars({
      id: "finetune-phases",
      title: "Memory by phase (allocated), against the device",
      bars: [
        { label: "forward", values: { phase: m.phases.forward_bytes }, capacity: m.capacity_bytes },
        { label: "backward", values: { phase: m.phases.backward_bytes }, capacity: m.capacity_bytes },
        { label: "optimizer", values: { phase: m.phases.optimizer_step_bytes }, capacity: m.capacity_bytes },
        { label: "device holds", values: { allocated: m.per_device.allocated_bytes, reserve: m.per_device.reserved_bytes - m.per_device.allocated_bytes, context: m.per_device.context_bytes }, capacity: m.capacity_bytes },
      ],
      parts: [
        { key: "phase", label: "allocated in the phase", color: "#0b57d0" },
        { key: "allocated", label: "peak allocated", color: "#0b57d0" },
        { key: "reserve", label: "allocator reserve", color: "#0f766e" },
        { key: "context", label: "CUDA context", color: "#6b21a8" },
      ],
    }),
    h(
      "div",
      { class: "cards" },
      card("Peak memory per device", fmt.gb(m.per_device.total_bytes), ft, "memory.reserved", "memory.per_device.total_bytes", "ft_total_bytes"),
      card("Usable on the device", fmt.gb(m.capacity_bytes), ft, "memory.context", "memory.per_device.total_bytes", "ft_capacity_bytes"),
      card("Largest micro-batch that fits", fmt.count(m.max_micro_batch_size), ft, "memory.activations", "memory.per_device.total_bytes", "max_micro_batch_size"),
      card("Longest sequence that fits", `${fmt.count(m.max_sequence_length)} tokens`, ft, "memory.activations", "memory.per_device.total_bytes", "max_sequence_length"),
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
            { key: "total_bytes", label: "Peak", fmt: fmt.gb },
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

// What does scale buy? ---------------------------------------------------------

/** Families the founding story names: GPT-2, GPT-3, Chinchilla (and Gopher beside it), Llama. */
const STORY = /^(gpt-2|gpt-3|chinchilla|gopher|llama-\d)/;

/** The body of POST /v1/estimate/scaling for a catalog model under a fit, priced on the view's device. */
function scalingBody(p, fit, model) {
  const body = { fit, model, hardware: p.hardware };
  if (p.devices) body.devices = int(p.devices);
  return body;
}

/** The body of POST /v1/plan/scaling from the view's lifetime-plan inputs. */
function scalingPlanBody(p) {
  return {
    fit: p.fit,
    target: p.plan_target === "loss" ? { loss: float(p.plan_loss) } : { model: p.plan_model },
    inference_tokens: float(p.inference_tokens),
    objective: p.objective,
    hardware: p.hardware,
    serving_hardware: p.hardware,
  };
}

/** A log axis's tick: 1e21 for a power of ten, else as `round` writes it. */
const powerOfTen = (t) => (Number.isInteger(Math.log10(t)) ? `1e${Math.log10(t)}` : round(t, 2));
/** A fit record's constants (the additive and Kaplan forms). */
const FIT_CONSTANTS = ["e", "a", "b", "alpha", "beta", "n_c", "d_c", "alpha_n", "alpha_d"];
const signed = (x, d = 3) => (Number.isFinite(x) ? `${x > 0 ? "+" : x < 0 ? "−" : ""}${sig(Math.abs(x), d)}` : "–");
/** A run's dollars: `null` cost is a run the engine could not price or place; `null` usd, no price. */
const runUsd = (cost) => (!cost ? "not run" : cost.usd === null || cost.usd === undefined ? "no price" : fmt.money(cost.usd));

/** The lifetime plan's request fields named otherwise than the form's. */
const SCALE_PLAN_FIELDS = { "/target/model": "plan_model", "/target/loss": "plan_loss", "/target": "plan_target", "/serving_hardware": "hardware" };

async function runScale(p, out) {
  const fits = catalog.scalingFits;
  const fit = fits.find((f) => f.id === p.fit) || { id: p.fit, name: p.fit };
  // The models marked: the story's families (or every model) with published training tokens,
  // and the chosen model whatever its family.
  const marked = catalog.models.filter((m) => m.training_tokens > 0 && (p.marked === "all" || STORY.test(m.family) || m.id === p.model));
  if (!marked.some((m) => m.id === p.model)) marked.push({ id: p.model, name: p.model, nominal_size: "" });
  const [perFit, perModel, plan] = await Promise.all([
    // Each fit's frontier (the chosen model's answer under each fit carries it).
    settle(fits.map((f) => api("POST", "/v1/estimate/scaling", scalingBody(p, f.id, p.model)))),
    // Each marked model under the chosen fit.
    settle(marked.map((m) => api("POST", "/v1/estimate/scaling", scalingBody(p, p.fit, m.id)))),
    from(SCALE_PLAN_FIELDS, api("POST", "/v1/plan/scaling", scalingPlanBody(p))).catch((error) => ({ error })),
  ]);
  const chosen = perModel[marked.findIndex((m) => m.id === p.model)];
  if (chosen.error) throw chosen.error;
  const e = chosen;
  const modelName = catalog.models.find((m) => m.id === p.model)?.name || p.model;

  // The chart: frontiers (the chosen fit solid, the others dashed), the models, the ladder.
  const frontiers = fits
    .map((f, i) => ({ f, r: perFit[i] }))
    .filter(({ r }) => !r.error)
    .map(({ f, r }) => ({
      key: `frontier ${f.id}`,
      name: `${f.name}: compute-optimal (loss on ${f.loss_measured_on})`,
      dash: f.id === p.fit ? null : "5 4",
      radius: 2.5,
      points: r.frontier.map((pt) => ({ x: pt.training_flops, y: pt.loss, label: `${f.id}: ${fmt.flops(pt.training_flops)} → loss ${sig(pt.loss, 4)} (${fmt.params(pt.parameters)}, ${fmt.tokens(pt.tokens)} tokens)` })),
    }));
  const answered = marked.map((m, i) => ({ m, r: perModel[i] })).filter(({ r }) => !r.error);
  const select = (id) => {
    state.params.model = id;
    writeUrl(true);
    render();
  };
  add(
    out,
    h("p", { class: "note", "data-fit": fit.id }, h("strong", {}, fit.name), `: loss is measured on ${fit.loss_measured_on}; parameters counted: ${fit.parameters_counted}. Losses of different fits are on different data: compare a model with itself across compute, not one fit's loss with another's.`),
    h(
      "details",
      { class: "note" },
      h("summary", {}, `The fit's constants, source and caveats`),
      h(
        "ul",
        {},
        h("li", {}, `Form ${fit.form}; from ${fit.equation}. Source: ${fit.source}.`),
        h("li", {}, FIT_CONSTANTS.filter((k) => fit[k] !== undefined).map((k) => `${k} = ${fit[k]}`).join(", ")),
        ["standard_error", "interval_95", "repetition"].filter((k) => fit[k]).map((k) => h("li", { "data-field": k }, h("code", {}, k), ` ${JSON.stringify(fit[k])}`)),
        fit.notes ? h("li", {}, fit.notes) : null,
      ),
    ),
    chart({
      id: "scale-frontier",
      title: `Loss against training compute (models under ${fit.id})`,
      xLabel: "training FLOPs",
      yLabel: "loss (nats per token)",
      xLog: true,
      yLog: true,
      xTicks: powerOfTen,
      series: [
        ...frontiers,
        { key: "models", name: `catalog models, trained as published (${fit.id})`, color: "#1b1f24", line: false, points: answered.map(({ m, r }) => ({ x: r.training_flops, y: r.loss, highlight: m.id === p.model, label: `${m.name || m.id}: ${fmt.flops(r.training_flops)}, loss ${sig(r.loss, 4)}, ${sig(r.tokens_per_parameter)} tokens per parameter`, onClick: () => select(m.id) })) },
        { key: "ladder", name: `${modelName}: 1x, 10x, 100x, 1000x compute`, color: "#be185d", dash: "2 3", points: e.ladder.map((rung) => ({ x: rung.training_flops, y: rung.loss, label: `${rung.compute_multiplier}x: loss ${sig(rung.loss, 4)} (${signed(rung.delta_loss)}), ${rung.usd === null ? "no price" : fmt.money(rung.usd)}` })) },
      ],
      markers: [{ x: e.training_flops, y: e.loss, label: modelName }],
    }),
  );

  // The chosen model: its loss, its compute-optimal twin, and what the next 10x buys.
  const next = e.next_10x;
  add(
    out,
    notes(e, `${modelName} under ${fit.id}`),
    h("h3", {}, `${modelName}: ${fmt.params(e.parameters)} parameters on ${fmt.tokens(e.tokens)} tokens (${fit.id})`),
    h(
      "div",
      { class: "cards" },
      card("Loss (nats per token)", sig(e.loss, 4), e, "scaling.loss", null, "scale_loss"),
      card("Training compute", fmt.flops(e.training_flops), e, "scaling.training_flops", null, "scale_training_flops"),
      card("Tokens per parameter", sig(e.tokens_per_parameter), null, null, null, "scale_tokens_per_parameter"),
      card("Compute-optimal twin (same compute)", `${fmt.params(e.compute_optimal.parameters)} on ${fmt.tokens(e.compute_optimal.tokens)} tokens: loss ${sig(e.compute_optimal.loss, 4)}`, e, "scaling.compute_optimal", null, "scale_compute_optimal"),
      card("Next 10x compute: loss", sig(next.loss, 4), e, "scaling.next_10x", null, "next_10x_loss"),
      card("Next 10x: change in loss", signed(next.delta_loss), e, "scaling.next_10x", null, "next_10x_delta_loss"),
      card("Next 10x: reducible loss multiplied by", `${sig(next.reducible_loss_multiplier)}×`, e, "scaling.next_10x", null, "next_10x_multiplier"),
      card(`This run on ${e.cost ? `${fmt.count(e.cost.devices)} × ${e.cost.hardware}` : p.hardware}`, e.cost ? `${runUsd(e.cost)}, ${sig(e.cost.wall_clock_days)} days` : "not run", null, null, null, "run_usd"),
      card(`The next 10x${next.cost ? ` on ${fmt.count(next.cost.devices)} × ${next.cost.hardware}` : ""}`, next.cost ? `${runUsd(next.cost)}, ${sig(next.cost.wall_clock_days)} days` : "not run", null, null, null, "next_10x_usd"),
    ),
    h("p", { class: "note" }, `Irreducible loss ${sig(e.irreducible_loss, 4)} of this fit; reducible ${sig(e.reducible_loss, 4)}. Each rung is ten times the compute of the one before, spent compute-optimally; the loss it gains shrinks while its dollars grow tenfold: diminishing returns, in money.`),
    h(
      "div",
      { class: "stack" },
      table(
        "scale-ladder",
        [
          { key: "compute_multiplier", label: "Compute", fmt: (v) => `${v}x` },
          { key: "training_flops", label: "Training FLOPs", fmt: fmt.flops },
          { key: "parameters", label: "Parameters", fmt: fmt.params },
          { key: "tokens", label: "Tokens", fmt: fmt.tokens },
          { key: "loss", label: "Loss", fmt: (v) => sig(v, 4) },
          { key: "delta_loss", label: "Change in loss", fmt: (v) => signed(v) },
          { key: "usd", label: "USD", fmt: (v) => (v === null || v === undefined ? "no price" : fmt.money(v)) },
          { key: "usd_per_loss_removed", label: "USD per unit of loss removed", fmt: fmt.money },
        ],
        e.ladder.map((rung) => ({ ...rung })),
      ),
      chart({
        id: "scale-money",
        title: `Loss against dollars on ${e.cost?.hardware || p.hardware}`,
        xLabel: "USD",
        yLabel: "loss (nats per token)",
        xLog: true,
        xTicks: (t) => fmt.money(t).replace(/ (billion|million|thousand)$/, (_, w) => w[0].toUpperCase()),
        yZero: false,
        yTicks: (t) => sig(t, 3),
        series: [{ key: "ladder-usd", name: `${modelName}: 1x to 1000x`, points: e.ladder.filter((rung) => Number.isFinite(rung.usd) && rung.usd > 0).map((rung) => ({ x: rung.usd, y: rung.loss, label: `${rung.compute_multiplier}x: ${fmt.money(rung.usd)} → loss ${sig(rung.loss, 4)}` })) }],
      }),
    ),
    h("h3", {}, `Every marked model under ${fit.id}`),
    table(
      "scale-models",
      [
        { key: "model", label: "Model", text: true },
        { key: "parameters", label: "Parameters", fmt: fmt.params },
        { key: "tokens", label: "Tokens", fmt: fmt.tokens },
        { key: "tokens_per_parameter", label: "Tokens / parameter" },
        { key: "training_flops", label: "Training FLOPs", fmt: fmt.flops },
        { key: "loss", label: "Loss", fmt: (v) => sig(v, 4), rule: "scaling.loss" },
        { key: "optimal_loss", label: "Compute-optimal loss", fmt: (v) => sig(v, 4) },
        { key: "next_10x_delta_loss", label: "Next 10x: change in loss", fmt: (v) => signed(v) },
        { key: "usd", label: "Run USD", fmt: fmt.money },
        { key: "next_10x_usd", label: "Next 10x USD", fmt: fmt.money },
        { key: "warnings", label: "Warnings", message: true },
      ],
      answered.map(({ m, r }) =>
        withAnswer(
          {
            model: m.id,
            parameters: r.parameters,
            tokens: r.tokens,
            tokens_per_parameter: r.tokens_per_parameter,
            training_flops: r.training_flops,
            loss: r.loss,
            optimal_loss: r.compute_optimal.loss,
            next_10x_delta_loss: r.next_10x.delta_loss,
            usd: r.cost?.usd ?? null,
            next_10x_usd: r.next_10x.cost?.usd ?? null,
            warnings: r.warnings.map((w) => w.code).join(", "),
          },
          r,
        ),
      ),
      { onRowClick: (row) => select(row.model) },
    ),
  );
  add(out, problemBoxes([...perFit, ...perModel].filter((r) => r.error).map((r) => r.error)));

  // The lifetime-optimal model: training plus the inference it will serve.
  add(out, h("h3", {}, "Lifetime-optimal: the cheapest model to train and serve at this quality"));
  const section = h("section", { "data-scale-plan": "" });
  add(out, section);
  if (plan.error) {
    add(section, problemBox(plan.error));
    return;
  }
  const objective = plan.objective === "cost" ? "USD" : "FLOPs";
  const target = plan.target.model ? `${plan.target.model}'s loss, ${sig(plan.target.loss, 4)}` : `loss ${sig(plan.target.loss, 4)}`;
  const rows = [
    { which: "lifetime-optimal", ...plan.optimal },
    { which: "compute-optimal twin", ...plan.compute_optimal_twin },
  ];
  // The curve in the objective's unit where the API prices its points, else in FLOPs (said so).
  const inUsd = plan.objective === "cost" && (plan.curve || []).some((c) => Number.isFinite(c.total_usd));
  const curveY = inUsd ? "total_usd" : "total_flops";
  add(
    section,
    notes(plan, "lifetime plan"),
    h("p", {}, `To reach ${target} under ${plan.fit.id} and serve ${fmt.tokens(plan.inference_tokens)} tokens over its life, minimising ${objective} of training and inference together:`),
    h(
      "div",
      { class: "cards" },
      card("Lifetime-optimal model", `${fmt.params(plan.optimal.parameters)} on ${fmt.tokens(plan.optimal.tokens)} tokens (${sig(plan.optimal.tokens_per_parameter)} per parameter)`, null, null, null, "plan_optimal"),
      card("Compute-optimal twin", `${fmt.params(plan.compute_optimal_twin.parameters)} on ${fmt.tokens(plan.compute_optimal_twin.tokens)} tokens (${sig(plan.compute_optimal_twin.tokens_per_parameter)} per parameter)`, null, null, null, "plan_twin"),
      card(`Saving against the twin (${objective})`, fmt.pct(plan.saving_fraction), null, null, null, "plan_saving_fraction"),
    ),
    table(
      "scale-plan",
      [
        { key: "which", label: "Model", text: true },
        { key: "parameters", label: "Parameters", fmt: fmt.params },
        { key: "tokens", label: "Training tokens", fmt: fmt.tokens },
        { key: "tokens_per_parameter", label: "Tokens / parameter" },
        { key: "training_flops", label: "Training FLOPs", fmt: fmt.flops },
        { key: "inference_flops", label: "Inference FLOPs", fmt: fmt.flops },
        { key: "total_flops", label: "Total FLOPs", fmt: fmt.flops },
        { key: "training_usd", label: "Training USD", fmt: fmt.money },
        { key: "inference_usd", label: "Inference USD", fmt: fmt.money },
        { key: "total_usd", label: "Total USD", fmt: fmt.money },
      ],
      rows,
    ),
    plan.curve?.length
      ? chart({
          id: "scale-plan-curve",
          title: `Lifetime ${inUsd ? "USD" : "FLOPs"} along the models that reach this loss${plan.objective === "cost" && !inUsd ? " (the API's curve carries no dollars)" : ""}`,
          xLabel: "parameters",
          yLabel: inUsd ? "training + serving USD" : "training + inference FLOPs",
          xLog: true,
          yLog: true,
          xTicks: (t) => fmt.params(t),
          yTicks: inUsd ? (t) => fmt.money(t) : powerOfTen,
          // The part of the curve within 3x of the optimum's objective: where the choice is.
          series: [{ key: "curve", name: "same loss, more or fewer parameters (within 3x of the optimum)", points: plan.curve.filter((c) => Number.isFinite(c[curveY]) && c[curveY] <= 3 * plan.optimal[curveY]).map((c) => ({ x: c.parameters, y: c[curveY], label: `${fmt.params(c.parameters)} on ${fmt.tokens(c.tokens)} tokens: ${inUsd ? fmt.money(c[curveY]) : fmt.flops(c[curveY])}` })) }],
          markers: [
            { x: plan.optimal.parameters, y: plan.optimal[curveY], label: "lifetime-optimal" },
            { x: plan.compute_optimal_twin.parameters, y: plan.compute_optimal_twin[curveY], label: "compute-optimal" },
          ],
        })
      : null,
  );
}

// Check -----------------------------------------------------------------------

async function runCheck(p, out) {
  const contentType = p.syntax === "toml" ? "application/toml" : "application/json";
  // The pointers of a refusal are into the pasted plan: they name the "Plan" field.
  const report = await from({ "/": "plan" }, api("POST", "/v1/check", p.plan, contentType));
  const e = report.inference;
  // The deployment's verdict and warnings, with the report's assumptions (the estimate's and
  // the check's own: how the requirements were judged).
  const judged = e || report.training || {};
  add(out,
    notes({ ...judged, assumptions: report.assumptions || judged.assumptions, [FIELDS]: { "/": "plan" } }, "check"),
    h("p", { "data-verdict": report.verdict }, badge(report.verdict, report.verdict), " ", report.summary),
    table(
      "check",
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
      report.rules,
    ),
    report.under_load ? underLoad(report.under_load) : null,
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

// Local vs cloud vs API ---------------------------------------------------------

/** The comparison's request fields named otherwise than its form's. */
const COST_FIELDS = { "/models": "model", "/api_price_id": "api" };

async function runCost(p, out) {
  const prices = { [p.own]: { basis: "own", electricity_usd_per_kwh: float(p.electricity_usd_per_kwh) } };
  if (p.rent !== p.own) prices[p.rent] = { basis: "rent" };
  const plan = await from(COST_FIELDS, api("POST", "/v1/plan", {
    models: [p.model],
    workload: { requests_per_s: float(p.requests_per_s), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
    requirements: { max_ttft_ms: float(p.max_ttft_ms), max_tpot_ms: float(p.max_tpot_ms) },
    search: { hardware: [...new Set([p.own, p.rent])] },
    prices,
    api_price_id: p.api,
    limit: 20,
  }));
  // The API's month: 365.25 x 24 / 12 hours.
  const HOURS_PER_MONTH = 730.5;
  const monthlyTokens = float(p.requests_per_s) * int(p.output_tokens) * 3600 * HOURS_PER_MONTH;
  const best = plan.best?.inference;
  const comparisons = plan.api_comparison || [];
  add(out, notes(plan, "plan"), best ? notes(plan.best.inference, "the best configuration") : null, apiService(p.api, comparisons[0]));
  if (!best || !comparisons.length) {
    add(out, h("p", {}, "No configuration of these devices meets the requirements, so there is nothing to compare."), table("rejected", [{ key: "reason", label: "Rejected for", text: true }, { key: "count", label: "Configurations", fmt: fmt.count }], plan.rejected));
    return;
  }
  // Other rented devices' best configurations, around the clock: a flat month up to their capacity.
  const rented = plan.best_per_hardware.filter((r) => r.cost.basis === "rent" && r.hardware !== best.hardware && Number.isFinite(r.cost.usd_per_hour));
  const apiPerToken = comparisons[0].api_usd_per_million_output_tokens / 1e6;
  const capacity = comparisons[0].capacity_output_tokens_per_month;
  const volumes = [];
  for (let v = 1e6; v <= Math.max(capacity, monthlyTokens) * 1.01; v *= 10 ** 0.25) volumes.push(v);
  const selfHosted = (c, v) => c.self_hosted_fixed_usd_per_month + (c.self_hosted_marginal_usd_per_million_output_tokens * v) / 1e6;
  const label = (c) => `${c.basis === "own" ? "own" : "rent"} ${best.devices} × ${best.hardware}`;
  const markers = comparisons.filter((c) => c.break_even_output_tokens_per_month).map((c) => ({ x: c.break_even_output_tokens_per_month, y: apiPerToken * c.break_even_output_tokens_per_month, label: `break-even (${c.basis}) ${sig(c.break_even_output_tokens_per_month / 1e6)} M tok/month` }));
  add(out, 
    h(
      "div",
      { class: "cards" },
      ...comparisons.map((c) => card(`Break-even against ${c.api}, ${label(c)}`, c.break_even_output_tokens_per_month ? `${sig(c.break_even_output_tokens_per_month / 1e6)} M output tokens/month` : "never", best, "cost.usd_per_hour", "throughput.output_tokens_per_s", `break_even_${c.basis}`)),
      ...comparisons.map((c) => card(`Self-hosted (${c.basis}) at this volume`, `${fmt.usd(c.self_hosted_usd_per_million_output_tokens)} / M out, ${fmt.usd(c.self_hosted_usd_per_month)} / month`, best, "cost.usd_per_hour", "throughput.output_tokens_per_s", `self_hosted_${c.basis}`)),
      card(`API ${comparisons[0].api}`, `${fmt.usd(comparisons[0].api_usd_per_million_output_tokens)} / M out, ${fmt.usd(apiPerToken * monthlyTokens)} / month`, null, null, null, "api"),
    ),
    h(
      "div",
      { class: "row" },
      chart({
        id: "cost-month",
        title: "USD per month against monthly output tokens",
        xLabel: "output tokens per month",
        yLabel: "USD per month",
        xLog: true,
        yLog: true,
        series: [
          { name: `API ${comparisons[0].api}`, points: volumes.map((v) => ({ x: v, y: apiPerToken * v })) },
          ...comparisons.map((c) => ({ name: label(c), points: volumes.filter((v) => v <= c.capacity_output_tokens_per_month * 1.001).map((v) => ({ x: v, y: selfHosted(c, v) })) })),
          ...rented.map((r) => ({ name: `rent ${r.devices} × ${r.hardware}`, dash: "5 3", points: volumes.filter((v) => v <= r.throughput.output_tokens_per_s * 3600 * HOURS_PER_MONTH * 1.001).map((v) => ({ x: v, y: r.cost.usd_per_hour * HOURS_PER_MONTH })) })),
        ],
        vlines: [{ at: monthlyTokens, label: "this workload" }],
        markers,
      }),
      chart({
        id: "cost-per-token",
        title: "USD per million output tokens against monthly volume",
        xLabel: "output tokens per month",
        yLabel: "USD per million output tokens",
        xLog: true,
        yLog: true,
        series: [
          { name: `API ${comparisons[0].api}`, points: volumes.map((v) => ({ x: v, y: apiPerToken * 1e6 })) },
          ...comparisons.map((c) => ({ name: label(c), points: volumes.filter((v) => v <= c.capacity_output_tokens_per_month * 1.001).map((v) => ({ x: v, y: (selfHosted(c, v) / v) * 1e6 })) })),
          ...rented.map((r) => ({ name: `rent ${r.devices} × ${r.hardware}`, dash: "5 3", points: volumes.filter((v) => v <= r.throughput.output_tokens_per_s * 3600 * HOURS_PER_MONTH * 1.001).map((v) => ({ x: v, y: ((r.cost.usd_per_hour * HOURS_PER_MONTH) / v) * 1e6 })) })),
        ],
        vlines: [{ at: monthlyTokens, label: "this workload" }],
      }),
    ),
    table(
      "api-comparison",
      [
        { key: "basis", label: "Self-hosted", text: true },
        { key: "api", label: "API", text: true },
        { key: "api_usd_per_million_output_tokens", label: "API USD / M out", fmt: fmt.usd },
        { key: "self_hosted_usd_per_million_output_tokens", label: "Self-hosted USD / M out", fmt: fmt.usd },
        { key: "self_hosted_floor_usd_per_million_output_tokens", label: "At full use", fmt: fmt.usd },
        { key: "self_hosted_fixed_usd_per_month", label: "Fixed USD / month", fmt: fmt.usd },
        { key: "self_hosted_marginal_usd_per_million_output_tokens", label: "Per M tokens served", fmt: fmt.usd },
        { key: "self_hosted_usd_per_month", label: "USD / month", fmt: fmt.usd },
        { key: "break_even_output_tokens_per_month", label: "Break-even tok/month" },
        { key: "self_hosting_cheaper", label: "Self-hosting cheaper", text: true, fmt: (v) => (v ? "yes" : "no") },
      ],
      comparisons,
    ),
    h("h3", {}, "Best configuration of each device"),
    table(
      "best-per-device",
      [
        { key: "hardware", label: "Device", text: true },
        { key: "devices", label: "Devices" },
        { key: "weights", label: "Weights", text: true },
        { key: "basis", label: "Paid by", text: true },
        { key: "usd_per_hour", label: "USD/h", fmt: fmt.usd },
        { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd },
        { key: "output_tokens_per_s", label: "Capacity tok/s" },
        { key: "utilization", label: "Utilization", fmt: fmt.pct },
      ],
      plan.best_per_hardware.map((r) => ({ hardware: r.hardware, devices: r.devices, weights: r.weights, basis: r.cost.basis, usd_per_hour: r.cost.usd_per_hour, usd_per_million_output_tokens: r.cost.usd_per_million_output_tokens, output_tokens_per_s: r.throughput.output_tokens_per_s, utilization: r.throughput.utilization })),
    ),
    h("p", { class: "note" }, "Self-hosted cost per month is the API's fixed part (rent around the clock, or purchase and hosting) plus its per-token part (electricity when owning); the break-even is where that line crosses the API's price. Costs inherit the throughput estimate's error band."),
  );
  add(out, apiServices());
}

/** Fields of an API price record the page names itself; any other (a currency, a conversion) is listed as given. */
const API_PRICE_FIELDS = new Set(["id", "provider", "model", "open_weights", "usd_per_million_input_tokens", "usd_per_million_output_tokens", "as_of", "source", "verified", "notes", "currency", "per_million_input_tokens", "per_million_output_tokens", "exchange_rate", "valid_from", "valid_until", "assumptions"]);

/**
 * The API service compared against, as the catalog prices it: provider, USD per million tokens,
 * the date and source, closed or open weights, and whatever else the record carries (a price
 * published in another currency, its exchange rate and date), as the API gives it.
 */
function apiService(id, comparison) {
  const record = catalog.apiPrices.find((r) => r.id === id);
  if (!record) return h("p", { class: "note" }, `The catalog has no API price ${id}.`);
  const extra = Object.entries(record).filter(([key]) => !API_PRICE_FIELDS.has(key));
  const value = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v));
  const foreign = record.currency && record.currency !== "USD";
  const rate = record.exchange_rate;
  return h(
    "section",
    { class: "notes", "data-api-service": record.id },
    h("h4", {}, `The API: ${record.provider}, ${record.model}`),
    h(
      "div",
      { class: "cards" },
      card("API price, input", `${fmt.usd(record.usd_per_million_input_tokens)} / M tokens`, null, null, null, "api_input"),
      card("API price, output", `${fmt.usd(record.usd_per_million_output_tokens)} / M tokens`, null, null, null, "api_output"),
      foreign ? card(`Published in ${record.currency}`, `${sig(record.per_million_input_tokens, 4)} in / ${sig(record.per_million_output_tokens, 4)} out ${record.currency} per M tokens`, null, null, null, "api_published") : null,
      foreign && rate ? card("Converted at", `${sig(rate.units_per_usd, 4)} ${rate.currency} per USD (${rate.as_of})`, null, null, null, "api_exchange_rate") : null,
      card("Priced as of", record.as_of, null, null, null, "api_as_of"),
      record.valid_from || record.valid_until ? card("Applied", `${record.valid_from ? `from ${record.valid_from}` : ""}${record.valid_from && record.valid_until ? " " : ""}${record.valid_until ? `until ${record.valid_until}` : " (still applies)"}`, null, null, null, "api_valid") : null,
      card("Weights", record.open_weights ? "open (can be self-hosted)" : "closed (priced for comparison only)", null, null, null, "api_weights"),
    ),
    record.valid_until
      ? h("p", { class: "note", "data-history": record.valid_until }, `A past price (dated history): it applied until ${record.valid_until}. The comparison shows what the API cost then against self-hosting at today's device prices.`)
      : null,
    h(
      "ul",
      {},
      h("li", {}, "Source: ", record.source, record.verified ? "" : " (unverified: see the notes)"),
      record.notes ? h("li", {}, record.notes) : null,
      foreign && rate ? h("li", { "data-exchange-rate": "" }, `Exchange rate: ${rate.units_per_usd} ${rate.currency} per USD, ${rate.as_of}; ${rate.source}`) : null,
      (record.assumptions || []).map((a) => h("li", { "data-assumption": a.field }, "Assumed: ", h("code", {}, a.field), ` = ${a.value}: ${a.reason}`)),
      extra.map(([key, v]) => h("li", { "data-field": key }, h("code", {}, key), ` = ${value(v)}`)),
      comparison ? h("li", { "data-comparison-source": "" }, `The plan's comparison read: ${comparison.source}`) : null,
    ),
    record.open_weights
      ? null
      : h("p", { class: "note", "data-closed": "" }, `${record.model} is a closed model: its price is compared with serving the model you chose, which is not the same model; the quality may differ.`),
  );
}

/** Every hosted-API price in the catalog, by provider; a row makes it the one compared against. */
function apiServices() {
  return h(
    "details",
    { class: "api-services" },
    h("summary", {}, `All ${catalog.apiPrices.length} API prices in the catalog, by provider (click one to compare against it)`),
    table(
      "api-prices",
      [
        { key: "provider", label: "Provider", text: true },
        { key: "model", label: "Model", text: true },
        { key: "open_weights", label: "Weights", text: true, fmt: (v) => (v ? "open" : "closed") },
        { key: "usd_per_million_input_tokens", label: "USD / M in", fmt: fmt.usd },
        { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd },
        { key: "currency", label: "Published in", text: true, fmt: (v) => v || "USD" },
        { key: "valid_from", label: "From", text: true, fmt: (v) => v || "" },
        { key: "valid_until", label: "Until", text: true, fmt: (v) => v || "" },
        { key: "as_of", label: "As of", text: true },
        { key: "verified", label: "Verified", text: true, fmt: (v) => (v ? "yes" : "no") },
        { key: "id", label: "Id", text: true },
      ],
      catalog.apiPrices.map((r) => ({ ...r })),
      {
        rowClass: (row) => (row.id === state.params.api ? "pareto" : ""),
        onRowClick: (row) => {
          state.params.api = row.id;
          writeUrl(true);
          render();
        },
      },
    ),
  );
}

// ---------------------------------------------------------------- state, URL, rendering

const state = { view: "model", params: {} };

function readUrl() {
  const query = new URLSearchParams(location.search);
  const view = VIEWS[query.get("view")] ? query.get("view") : "model";
  const params = {};
  for (const field of VIEWS[view].fields) {
    if (field.url === false) continue;
    params[field.name] = query.has(field.name) ? query.get(field.name) : field.value;
  }
  return { view, params };
}

function writeUrl(push) {
  const query = new URLSearchParams({ view: state.view });
  for (const field of VIEWS[state.view].fields) {
    if (field.url === false) continue;
    if (state.params[field.name] !== field.value) query.set(field.name, state.params[field.name]);
  }
  const url = `${location.pathname}?${query}`;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

function input(field, value) {
  const id = `f-${field.name}`;
  let control;
  if (field.type === "textarea") {
    control = h("textarea", { id, name: field.name, spellcheck: "false" }, value);
  } else if (field.type === "file") {
    control = h("input", { id, name: field.name, type: "file", accept: field.accept });
  } else if (field.options) {
    const choices = field.options();
    if (!choices.some(([v]) => v === value)) choices.unshift([value, value]);
    const option = ([v, text]) => h("option", { value: v, selected: v === value }, text);
    // Choices with a third element (a group) are grouped, in the order the groups first appear.
    const groups = new Map();
    for (const choice of choices) {
      const group = choice[2] ?? "";
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(choice);
    }
    const grouped = choices.some((c) => c[2] !== undefined);
    control = h(
      "select",
      { id, name: field.name },
      grouped ? [...groups].map(([group, members]) => (group ? h("optgroup", { label: group }, members.map(option)) : members.map(option))) : choices.map(option),
    );
  } else {
    control = h("input", { id, name: field.name, type: field.type || "text", value, min: field.min, step: field.step });
  }
  return h("label", { for: id, class: field.wide ? "wide" : null }, field.label, control);
}

/** A view's presets that apply: one may depend on the catalog (a price that is there or not). */
function presetButtons(view) {
  const buttons = (view.presets || [])
    .map((preset) => ({ label: preset.label, set: typeof preset.set === "function" ? preset.set() : preset.set }))
    .filter((preset) => preset.set)
    .map((preset) => h("button", { type: "button", onclick: () => {
      Object.assign(state.params, preset.set);
      writeUrl(true);
      render();
    } }, preset.label));
  return buttons.length ? h("div", { class: "presets" }, h("span", {}, "Try:"), buttons) : null;
}

let generation = 0;

async function render(focus) {
  const view = VIEWS[state.view];
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const selected = tab.dataset.view === state.view;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  const main = document.getElementById("view");
  main.setAttribute("aria-labelledby", `tab-${state.view}`);
  const results = h("div", { id: "results", "data-view": state.view });
  // `novalidate`: the API judges every input (the browser would keep the old results on screen
  // beside a tooltip); what the page cannot send (text in a number field) it refuses itself.
  const form = h(
    "form",
    { class: "inputs", "aria-label": `${view.title} inputs`, novalidate: true },
    view.fields.map((f) => input(f, state.params[f.name])),
    h("div", {}, h("button", { type: "submit", class: "run" }, view.action || "Estimate")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const f of view.fields) if (f.url !== false) state.params[f.name] = form.elements[f.name].value;
    writeUrl(false);
    // A number field holding what is not a number reads as empty: refused here, never sent
    // as absent (which would be the API's default, silently).
    const unreadable = view.fields.filter((f) => f.url !== false && form.elements[f.name].validity?.badInput);
    if (unreadable.length) {
      refuse({ title: "Invalid input", code: "not-a-number", errors: unreadable.map((f) => ({ field: f.name, detail: "is not a number" })) });
      return;
    }
    run();
  });
  const file = form.elements.file;
  if (file) {
    file.addEventListener("change", async () => {
      const chosen = file.files[0];
      if (!chosen) return;
      form.elements.plan.value = await chosen.text();
      form.elements.syntax.value = /\.toml$/i.test(chosen.name) ? "toml" : "json";
      form.requestSubmit();
    });
  }
  main.replaceChildren();
  add(
    main,
    h("h2", {}, view.title),
    h("p", { class: "lede" }, view.lede),
    presetButtons(view),
    form,
    results,
  );
  if (focus) main.focus();
  await run();
}

/**
 * Fields left empty that no answer of the view lists as assumed: they were sent without a
 * value, and the page says so rather than let an empty field pass for a value it does not know.
 * (A field whose label says what empty means, such as "empty: all", is not listed.)
 */
function unassumed(out) {
  const view = VIEWS[state.view];
  const assumed = new Set([...out.querySelectorAll("[data-emptied]")].map((li) => li.dataset.emptied));
  const left = view.fields.filter((f) => f.url !== false && !f.options && !f.empty && blank(state.params[f.name]) && !assumed.has(f.name));
  if (!left.length) return null;
  return h(
    "p",
    { class: "note unassumed", "data-unassumed": left.map((f) => f.name).join(",") },
    `Left empty and sent without a value: ${left.map((f) => f.label).join("; ")}. No answer here names a value the API assumed for ${left.length === 1 ? "it" : "them"}.`,
  );
}

/** A refusal the page makes itself: the results give way to it, as to the API's own. */
function refuse(problem) {
  ++generation;
  const error = new ApiError(problem, 400);
  const results = document.getElementById("results");
  results.replaceChildren(problemBox(error));
  results.removeAttribute("aria-busy");
  results.dataset.ready = "true";
  status("error");
}

async function run() {
  const mine = ++generation;
  const results = document.getElementById("results");
  results.replaceChildren(h("p", {}, "Asking the API…"));
  results.setAttribute("aria-busy", "true");
  status("working");
  const out = h("div", {});
  try {
    await VIEWS[state.view].run({ ...state.params }, out);
    if (mine !== generation) return;
    out.prepend(...[unassumed(out)].filter(Boolean));
    results.replaceChildren(...out.childNodes);
    status("ready");
  } catch (error) {
    if (mine !== generation) return;
    results.replaceChildren(problemBox(error));
    status("error");
  } finally {
    if (mine === generation) {
      results.removeAttribute("aria-busy");
      results.dataset.ready = "true";
    }
  }
}

function selectView(view, focus) {
  if (view === state.view) return;
  state.view = view;
  state.params = Object.fromEntries(VIEWS[view].fields.filter((f) => f.url !== false).map((f) => [f.name, f.value]));
  writeUrl(true);
  render(focus);
}

async function start() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectView(tab.dataset.view, false));
    tab.addEventListener("keydown", (event) => {
      const index = tabs.indexOf(tab);
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const target = tabs[(next + tabs.length) % tabs.length];
      target.focus();
      selectView(target.dataset.view, false);
    });
  }
  const panel = document.getElementById("explain");
  document.getElementById("explain-close").addEventListener("click", () => (panel.hidden = true));
  document.addEventListener("keydown", (event) => event.key === "Escape" && (panel.hidden = true));
  window.addEventListener("popstate", () => {
    Object.assign(state, readUrl());
    render();
  });
  status("loading the catalog");
  try {
    await loadCatalog();
  } catch (error) {
    document.getElementById("view").replaceChildren(problemBox(error));
    status("error");
    return;
  }
  Object.assign(state, readUrl());
  writeUrl(false);
  await render();
}

start();
