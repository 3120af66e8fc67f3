// What the page shows: the view and its inputs, kept in the URL (?view=...&field=...), and the
// registry of views (filled by app.js). `rerender` draws the current state again.

export const VIEWS = {};

let renderer = () => {};
export const onRender = (f) => (renderer = f);
export const rerender = (focus) => renderer(focus);

export const state = { view: "hold", params: {} };

/**
 * Inputs that mean the same in every view that asks for them, carried from view to view so one
 * question needs no retyping: by field name, or the concept a differently named field holds.
 * A choice is carried only where the view offers it (the scale view lists only models with
 * published training tokens); the plan's device list is a search space, not one device.
 */
const CONCEPT = {
  ttft_slo_ms: "ttft_ms",
  max_ttft_ms: "ttft_ms",
  tpot_slo_ms: "tpot_ms",
  max_tpot_ms: "tpot_ms",
  rate: "requests_per_s",
};
const CARRIED = new Set(["model", "hardware", "devices", "weights", "engine", "input_tokens", "output_tokens", "requests_per_s", "ttft_ms", "tpot_ms"]);
const NOT_CARRIED = new Set(["plan.hardware"]);

/** The values carried between views, by concept (the latest a view ran with). */
const carried = {};

const conceptOf = (view, field) => {
  if (field.url === false || field.type === "file" || NOT_CARRIED.has(`${view}.${field.name}`)) return null;
  const concept = field.carry ?? CONCEPT[field.name] ?? field.name;
  return CARRIED.has(concept) ? concept : null;
};

/** Keeps the current view's carried inputs (called when it runs). */
export function remember() {
  for (const field of VIEWS[state.view].fields) {
    const concept = conceptOf(state.view, field);
    // An emptied field means "no limit" in one view and "the API's default" in another: only
    // values carry.
    const value = state.params[field.name];
    if (concept && value !== undefined && value !== null && String(value).trim() !== "") carried[concept] = value;
  }
}

/** A view's inputs when it is opened from another: its defaults, then what was carried. */
export function carriedParams(view) {
  const params = {};
  for (const field of VIEWS[view].fields) {
    if (field.url === false) continue;
    params[field.name] = field.value;
    const concept = conceptOf(view, field);
    if (!concept || carried[concept] === undefined) continue;
    const value = carried[concept];
    if (field.options && !field.options().some(([v]) => v === value)) continue;
    params[field.name] = value;
  }
  return params;
}

export function readUrl() {
  const query = new URLSearchParams(location.search);
  const view = VIEWS[query.get("view")] ? query.get("view") : "hold";
  const params = {};
  for (const field of VIEWS[view].fields) {
    if (field.url === false) continue;
    params[field.name] = query.has(field.name) ? query.get(field.name) : field.value;
  }
  return { view, params };
}

export function writeUrl(push) {
  const query = new URLSearchParams({ view: state.view });
  for (const field of VIEWS[state.view].fields) {
    if (field.url === false) continue;
    if (state.params[field.name] !== field.value) query.set(field.name, state.params[field.name]);
  }
  const url = `${location.pathname}?${query}`;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

