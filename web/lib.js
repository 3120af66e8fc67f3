// The dashboard's shared parts: the API client, DOM and formatting helpers, explanations,
// problems (refused input), notes (verdicts, warnings, assumptions), tables with export,
// the catalog lists and the form-value parsers. Views import what they use.

import { VIEWS, rerender, state, writeUrl } from "./state.js";

// ---------------------------------------------------------------- the API

export class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

export async function api(method, path, body, contentType = "application/json") {
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
export async function listAll(path) {
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

export function h(tag, attrs = {}, ...children) {
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
export function add(parent, ...children) {
  parent.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

export const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
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

export function round(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const magnitude = Math.abs(x);
  if (magnitude !== 0 && (magnitude >= 1e15 || magnitude < 1e-3)) return x.toExponential(2);
  return x.toLocaleString("en-US", { maximumSignificantDigits: Math.max(digits, Math.ceil(Math.log10(magnitude + 1))) });
}
export const sig = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : Number(x.toPrecision(d)).toLocaleString("en-US"));
export const fmt = {
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

export function status(text) {
  document.getElementById("status").textContent = text;
}

// ---------------------------------------------------------------- explain and error bands

/** The measured error band of `output` in an answer, as text. */
export function bandText(answer, output) {
  const band = answer?.error_band;
  if (!band) return "no error band in this answer";
  const metric = (band.metrics || []).find((m) => m.output === output);
  if (metric) {
    return `error band ±${sig(metric.median_ape * 100, 2)}% median, ±${sig(metric.p90_ape * 100, 2)}% p90 over ${metric.points} published points`;
  }
  if (band.status === "exact") return "exact: counted from the architecture";
  return "no published measurement of this output to give it a band";
}

/** The control that opened the explain panel: focus returns to it when the panel closes. */
let opener = null;

export function openExplain(entry, band, answer) {
  const panel = document.getElementById("explain");
  if (panel.hidden) opener = document.activeElement;
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

/** Closes the explain panel and gives focus back to the number that opened it. */
export function closeExplain() {
  const panel = document.getElementById("explain");
  if (panel.hidden) return;
  panel.hidden = true;
  if (opener && opener.isConnected) opener.focus();
  opener = null;
}

/**
 * A number that opens its explain entry: `rule` names the entry in `answer.explain`, `output` the
 * error-band metric. A number with no entry in the answer says so when clicked.
 */
export function num(text, answer, rule, output) {
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

export function card(label, value, answer, rule, output, id) {
  return h(
    "div",
    { class: "card", "data-metric": id || rule },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, answer ? num(value, answer, rule, output) : value),
    answer ? h("span", { class: "band" }, bandText(answer, output)) : null,
  );
}

export function badge(kind, text) {
  return h("span", { class: `badge ${kind}` }, text);
}

// ---------------------------------------------------------------- problems (refused input)

/** Where a request's fields came from, when not the view's own names (see `fieldFor`). */
export const FIELDS = Symbol("fields");

/**
 * `promise` (an API call) with the form fields its request was built from: `fields` maps a JSON
 * pointer of the request (or a prefix of one) to the name of the form field that filled it. The
 * map travels on the answer (for its assumptions) and on a refusal (for its pointers).
 */
export function from(fields, promise) {
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
export function fieldFor(pointer, fields = {}, value) {
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
export function fieldHolding(value) {
  const holding = VIEWS[state.view].fields.filter((f) => f.url !== false && (state.params[f.name] === value || list(state.params[f.name]).includes(value)));
  return holding.length === 1 ? holding[0] : null;
}

/**
 * "did you mean" as the API gives it: the unknown id and the close catalog ids, from a field
 * error or (an id in a path) the problem itself (`unknown_id`, `suggestions`).
 */
export function suggestionsIn(error) {
  return error?.unknown_id && error.suggestions?.length ? { id: error.unknown_id, ids: error.suggestions } : null;
}

/** Puts `suggested` in place of the unknown `id` in a field (in its list, when it is one) and runs again. */
export function acceptSuggestion(field, id, suggested) {
  const value = state.params[field.name] ?? "";
  const items = list(value);
  state.params[field.name] = items.length > 1 && items.includes(id) ? items.map((x) => (x === id ? suggested : x)).join(",") : suggested;
  writeUrl(true);
  rerender();
}

/**
 * A refused request, said once: the problem's title, then each field error under the form
 * label of the field it names (its pointer beside it), with the API's words; an unknown id's
 * "did you mean" suggestions are buttons that fill the field and run the view again.
 */
export function problemBox(error) {
  const problem = error.problem || { detail: String(error?.message || error) };
  const fields = error.fields || {};
  const errors = problem.errors?.length ? problem.errors : [];
  const item = (pointer, detail, name, unknown) => {
    const suggested = suggestionsIn(unknown);
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
    errors.length ? h("ul", {}, errors.map((e) => item(e.pointer, e.detail, e.field, e))) : h("ul", {}, item(undefined, problem.detail || "", undefined, problem)),
  );
}

/** Problems of several requests of one view, each different one once. */
export function problemBoxes(errors) {
  const seen = new Set();
  return errors.filter((error) => {
    const key = JSON.stringify(error?.problem || String(error));
    return !seen.has(key) && seen.add(key);
  }).map(problemBox);
}

/** A number of a run the API left out (`null`: the deployment does not fit) is never shown as one. */
export const ran = (format) => (x) => (x === null || x === undefined ? "not run" : format(x));

/** The layout the API chose (the answer's parallelism). */
export function layoutText(answer) {
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
export function notes(answer, label) {
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

export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function csv(columns, rows) {
  const cell = (v) => {
    const text = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [columns.map((c) => cell(c.key)).join(","), ...rows.map((r) => columns.map((c) => cell(r[c.key])).join(","))].join("\n") + "\n";
}

/** Where a table row keeps the API answer it came from (not exported: a symbol key). */
export const ANSWER = Symbol("answer");
export const withAnswer = (row, answer) => Object.assign(row, { [ANSWER]: answer });

/**
 * A table of `rows` (flat objects keyed by `columns[].key`, raw API values) with CSV and JSON
 * downloads of the same raw values. `cell(row, column)` may return a node (a linked number).
 */
export function table(name, columns, rows, options = {}) {
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

// ---------------------------------------------------------------- catalog lists (once)

export const catalog = { models: [], hardware: [], formats: [], engines: [], apiPrices: [], scalingFits: [] };

export async function loadCatalog() {
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
export function apiPriceText(p) {
  const converted = p.currency && p.currency !== "USD" ? ` (from ${p.currency})` : "";
  const when = p.valid_until ? `, ${p.valid_from ? `${p.valid_from} to ` : "until "}${p.valid_until}` : p.valid_from ? `, since ${p.valid_from}` : "";
  return `${p.model}: $${sig(p.usd_per_million_input_tokens, 4)} in / $${sig(p.usd_per_million_output_tokens, 4)} out per M${converted}${p.open_weights ? "" : ", closed"}${when}`;
}

export const options = {
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

export const blank = (v) => v === undefined || v === null || String(v).trim() === "";
export const int = (v) => (blank(v) ? undefined : Number.parseInt(v, 10));
export const float = (v) => (blank(v) ? undefined : Number.parseFloat(v));
export const list = (v) => String(v || "").split(",").map((x) => x.trim()).filter(Boolean);

/** Runs requests side by side; a failed one becomes `{error}` instead of failing the view. */
export async function settle(promises) {
  const results = await Promise.allSettled(promises);
  return results.map((r) => (r.status === "fulfilled" ? r.value : { error: r.reason }));
}
