// hwcost dashboard: a reference client of the v1 API.
//
// Every number on the page is read from an API answer for the inputs in the form; nothing is
// computed here but axes, unit conversions and sums of the parts the API returns. The view and
// its inputs live in the URL (?view=...&field=...), so a link reproduces what is on screen.
// No framework and no build step: the server embeds these files as they are.

import { VIEWS, carriedParams, onRender, readUrl, remember, state, writeUrl } from "./state.js";
import { ApiError, add, blank, closeExplain, h, loadCatalog, problemBox, status } from "./lib.js";
import { view as holdView } from "./views/hold.js";
import { view as modelView } from "./views/model.js";
import { view as servingView } from "./views/serving.js";
import { view as planView } from "./views/plan.js";
import { view as trainingView } from "./views/training.js";
import { view as scaleView } from "./views/scale.js";
import { view as checkView } from "./views/check.js";
import { view as costView } from "./views/cost.js";
import { view as calibrateView } from "./views/calibrate.js";

Object.assign(VIEWS, { hold: holdView, model: modelView, serving: servingView, plan: planView, training: trainingView, scale: scaleView, check: checkView, calibrate: calibrateView, cost: costView });

function input(field, value) {
  const id = `f-${field.name}`;
  let control;
  if (field.type === "textarea") {
    control = h("textarea", { id, name: field.name, spellcheck: "false", rows: field.rows, class: field.rows ? "short" : null }, value ?? "");
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
    // On a phone the tabs are one row that scrolls sideways: keep the open one in sight (the
    // row only: the page keeps its own scroll).
    if (selected) {
      const row = tab.parentElement.getBoundingClientRect(), own = tab.getBoundingClientRect();
      if (own.left < row.left || own.right > row.right) tab.parentElement.scrollLeft += own.left - row.left - 8;
    }
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
    for (const f of view.fields) if (f.type !== "file") state.params[f.name] = form.elements[f.name].value;
    remember();
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
  // On a phone the inputs fold into one line that names them, so the answer starts on the
  // first screen; the line opens the form.
  const narrow = window.matchMedia("(max-width: 600px)").matches;
  const shown = view.fields.filter((f) => f.url !== false && f.type !== "textarea" && !blank(state.params[f.name]));
  const inputs = h(
    "details",
    { class: "inputs-box", open: !narrow },
    h("summary", {}, h("span", { class: "inputs-title" }, "Inputs"), " ", h("span", { class: "inputs-summary" }, shown.map((f) => `${f.label.replace(/ \(.*\)$/, "")}: ${state.params[f.name]}`).join(" · "))),
    presetButtons(view),
    form,
  );
  main.replaceChildren();
  add(main, h("h2", {}, view.title), h("p", { class: "lede" }, view.lede), inputs, results);
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
  remember();
  state.view = view;
  state.params = carriedParams(view);
  writeUrl(true);
  render(focus);
}

async function start() {
  onRender(render);
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
  document.getElementById("explain-close").addEventListener("click", closeExplain);
  document.addEventListener("keydown", (event) => event.key === "Escape" && closeExplain());
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
