// What the page shows: the view and its inputs, kept in the URL (?view=...&field=...), and the
// registry of views (filled by app.js). `rerender` draws the current state again.

export const VIEWS = {};

let renderer = () => {};
export const onRender = (f) => (renderer = f);
export const rerender = (focus) => renderer(focus);

export const state = { view: "model", params: {} };

export function readUrl() {
  const query = new URLSearchParams(location.search);
  const view = VIEWS[query.get("view")] ? query.get("view") : "model";
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

