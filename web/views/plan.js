// Plan ------------------------------------------------------------------------

import { state } from "../state.js";
import { ANSWER, add, api, badge, card, catalog, float, fmt, from, h, int, layoutText, list, notes, num, options, problemBox, s, sig, table } from "../lib.js";
import { chart } from "../chart.js";

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
const PLAN_FIELDS = { "/models": "model", "/search/hardware": "hardware", "/search/weights": "weights", "/search/max_devices_per_replica": "max_devices_per_replica", "/requirements/max_devices": "max_devices", "/api_price_id": "api", "/cost": "paid" };

/** A catalog device's name (its id when the catalog has none). */
const nameOf = (id) => catalog.hardware.find((d) => d.id === id)?.name || id;

/** The plan requests of the form: one per way of paying asked for (rented, owned), ranked apart. */
export function planBodies(p) {
  const body = {
    models: [p.model],
    workload: { requests_per_s: float(p.requests_per_s), input_tokens: int(p.input_tokens), output_tokens: int(p.output_tokens) },
    requirements: { max_ttft_ms: float(p.max_ttft_ms), max_tpot_ms: float(p.max_tpot_ms), max_devices: int(p.max_devices) },
    limit: int(p.limit),
  };
  const search = { hardware: list(p.hardware), weights: list(p.weights), max_devices_per_replica: int(p.max_devices_per_replica) };
  for (const key of ["hardware", "weights"]) if (!search[key].length) delete search[key];
  if (search.max_devices_per_replica === undefined) delete search.max_devices_per_replica;
  if (p.disaggregated === "yes") search.disaggregated = true;
  if (Object.keys(search).length) body.search = search;
  if (body.requirements.max_devices === undefined) delete body.requirements.max_devices;
  if (p.api) body.api_price_id = p.api;
  const bases = p.paid === "rent" ? ["rent"] : p.paid === "own" ? ["own"] : ["rent", "own"];
  return Object.fromEntries(bases.map((basis) => [basis, { ...body, cost: { basis } }]));
}

const SIDE = { rent: "rented", own: "owned" };
const COLOR = { rent: "#0b57d0", own: "#c2410c" };

/**
 * The API price a side is compared with: the one asked for, else the cheapest the catalog has
 * for the model (per output token, prompts included), on the side's own basis.
 */
function comparisonOf(plan, basis) {
  const same = (plan.api_comparison || []).filter((c) => c.basis === basis);
  return same.length ? same.reduce((a, b) => (b.api_usd_per_million_output_tokens < a.api_usd_per_million_output_tokens ? b : a)) : null;
}

/**
 * The answer in one sentence per way of paying, cheapest first: the cheapest configuration, its
 * price per million output tokens (the ranking's), and how it compares with the API's price
 * (the comparison's, prompts included, opening its rule).
 */
function answerSentence(sides, p) {
  const ranked = sides.filter((s) => s.plan.ranked.length && Number.isFinite(s.plan.ranked[0].cost.usd_per_million_output_tokens));
  ranked.sort((a, b) => a.plan.ranked[0].cost.usd_per_million_output_tokens - b.plan.ranked[0].cost.usd_per_million_output_tokens);
  if (!ranked.length) return h("p", { class: "answer", "data-answer": "none" }, "No priced configuration meets the requirements.");
  return h(
    "div",
    { class: "answer" },
    ranked.map((s) => {
      const r = s.plan.ranked[0];
      const c = comparisonOf(s.plan, s.basis);
      const usd = r.cost.usd_per_million_output_tokens;
      return h(
        "p",
        { "data-answer": s.basis, "data-config": rowKey(r) },
        h("strong", {}, `Cheapest ${SIDE[s.basis]}: `),
        `${r.devices} × ${nameOf(r.hardware)} (${r.weights}, ${r.engine}) at ${fmt.usd(usd)} per million output tokens`,
        c
          ? [
              `, ${sig(usd / c.api_usd_per_million_output_tokens)} times the API's price (${c.api}: `,
              num(fmt.usd(c.api_usd_per_million_output_tokens), c, "breakeven.api_usd_per_million_output_tokens"),
              ` per million output tokens, prompts included at ${sig(c.input_tokens_per_output_token)} prompt tokens per output token).`,
            ]
          : [`; the catalog has no API price for ${p.model}: choose one under "API to compare with".`],
      );
    }),
  );
}

/** Rows that differ only in what the table does not tell apart (batch, engine) share one key. */
const groupKey = (r) => [r.hardware, r.devices, r.parallelism.tensor, r.parallelism.pipeline, r.parallelism.data, r.weights, r.kv_cache, r.verdict, fmt.usd(r.cost.usd_per_million_output_tokens), fmt.ms(r.latency.ttft_ms), fmt.ms(r.latency.tpot_ms), fmt.ms(r.latency.e2e_ms)].join("|");

/** The ranking collapsed: the first row of each group of near-duplicates, with the others behind it. */
function collapse(ranked) {
  const groups = new Map();
  ranked.forEach((r, i) => {
    const key = groupKey(r);
    if (!groups.has(key)) groups.set(key, { rank: i + 1, rows: [] });
    groups.get(key).rows.push(r);
  });
  return [...groups.values()];
}

/** A side's ranking as a table, near-duplicates collapsed into one row with a count that expands. */
function rankingTable(basis, plan, open) {
  const pareto = new Set(plan.pareto.map(rowKey));
  const groups = collapse(plan.ranked);
  const flat = (r, rank, group, member) => ({
    rank,
    hardware: r.hardware,
    devices: r.devices,
    layout: `${r.parallelism.tensor} × ${r.parallelism.pipeline} × ${r.parallelism.data}`,
    weights: r.weights,
    engine: r.engine,
    batch_size: r.batch_size,
    ttft_ms: r.latency.ttft_ms,
    tpot_ms: r.latency.tpot_ms,
    e2e_ms: r.latency.e2e_ms,
    output_tokens_per_s: r.throughput.output_tokens_per_s,
    usd_per_hour: r.cost.usd_per_hour,
    usd_per_million_output_tokens: r.cost.usd_per_million_output_tokens,
    memory_per_device_bytes: r.memory.per_device.total_bytes,
    pareto: pareto.has(rowKey(r)) ? "yes" : "",
    verdict: r.verdict,
    same: member ? "" : group.rows.length,
    // The row's cost opens its rules (the row carries them: `explain`).
    [ANSWER]: r,
    [PLAN_ROW]: r,
    [GROUP]: { id: `${basis}-${group.rank}`, member, size: group.rows.length },
  });
  const rows = groups.flatMap((g) => g.rows.map((r, j) => flat(r, g.rank + j, g, j > 0)));
  const toggle = (row) => (event) => {
    event.stopPropagation();
    const button = event.currentTarget;
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    for (const tr of button.closest("tbody").querySelectorAll(`tr[data-group="${row[GROUP].id}"].member`)) tr.hidden = !open;
  };
  const block = table(
    `plan-${basis}`,
    [
      { key: "rank", label: "#" },
      { key: "hardware", label: "Device", text: true },
      { key: "devices", label: "Devices" },
      { key: "layout", label: "TP × PP × replicas", text: true },
      { key: "weights", label: "Weights", text: true },
      { key: "engine", label: "Engine", text: true },
      { key: "batch_size", label: "Batch" },
      { key: "ttft_ms", label: "TTFT", fmt: fmt.ms },
      { key: "tpot_ms", label: "TPOT", fmt: fmt.ms },
      { key: "e2e_ms", label: "E2E", fmt: fmt.ms },
      { key: "output_tokens_per_s", label: "Output tok/s" },
      { key: "usd_per_hour", label: "USD/h", fmt: fmt.usd, rule: "plan.usd_per_hour" },
      { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd, rule: "plan.usd_per_million_output_tokens" },
      { key: "memory_per_device_bytes", label: "Mem./device", fmt: fmt.gb },
      { key: "verdict", label: "Check", text: true, cell: (r) => badge(r.verdict, r.verdict) },
      { key: "same", label: "Alike", text: true, cell: (r) => (r[GROUP].member ? "" : r[GROUP].size > 1 ? h("button", { type: "button", class: "alike", "aria-expanded": "false", title: "rows that differ only in batch size or engine, with the same cost and latencies", onclick: toggle(r) }, `${r[GROUP].size} rows`) : "1") },
    ],
    rows,
    { onRowClick: (row) => open(row[PLAN_ROW]), rowClass: (row) => [row.pareto ? "pareto" : "", row[GROUP].member ? "member" : ""].join(" ").trim() },
  );
  // A number opens its rule without opening the row's estimate too.
  for (const button of block.querySelectorAll("tbody button.num")) button.addEventListener("click", (event) => event.stopPropagation());
  // Members of a group start folded behind their first row.
  const trs = block.querySelectorAll("tbody tr");
  rows.forEach((row, i) => {
    trs[i].dataset.group = row[GROUP].id;
    if (row[GROUP].member) trs[i].hidden = true;
  });
  return block;
}

const GROUP = Symbol("group");

/** A label for a chart point: devices x device, format. */
const pointLabel = (r) => `${r.devices}× ${r.hardware.replace(/^(nvidia|amd|intel|google|apple)-/, "")} ${r.weights}`;

/**
 * Labels the Pareto frontier's points on the chart (those that have room), and replaces the
 * legend with one drawn from the marks themselves (hollow: a ranked configuration; filled on a
 * line: the frontier).
 */
function labelFrontier(figure, sides) {
  const svg = figure.querySelector("svg");
  const placed = [];
  const fits = (box) => placed.every((b) => box.x2 < b.x1 || box.x1 > b.x2 || box.y2 < b.y1 || box.y1 > b.y2) && box.x1 >= 60 && box.x2 <= 556 && box.y1 >= 4 && box.y2 <= 256;
  for (const circle of svg.querySelectorAll("circle[data-series^=pareto-]")) placed.push({ x1: +circle.getAttribute("cx") - 6, x2: +circle.getAttribute("cx") + 6, y1: +circle.getAttribute("cy") - 6, y2: +circle.getAttribute("cy") + 6 });
  for (const circle of svg.querySelectorAll("circle[data-series^=pareto-]")) {
    const text = circle.getAttribute("aria-label");
    const [cx, cy] = [+circle.getAttribute("cx"), +circle.getAttribute("cy")];
    const width = text.length * 5.6;
    for (const [dx, dy, anchor] of [[8, -6, "start"], [8, 12, "start"], [-8, -6, "end"], [-8, 12, "end"], [0, -12, "middle"], [0, 20, "middle"]]) {
      const x1 = anchor === "start" ? cx + dx : anchor === "end" ? cx + dx - width : cx - width / 2;
      const box = { x1, x2: x1 + width, y1: cy + dy - 9, y2: cy + dy + 2 };
      if (!fits(box)) continue;
      placed.push(box);
      svg.append(s("text", { x: cx + dx, y: cy + dy, "text-anchor": anchor, class: "point-label", "data-label-for": circle.getAttribute("data-key"), fill: circle.getAttribute("stroke") }, text));
      break;
    }
  }
  const mark = (color, filled, line) => s("svg", { width: 26, height: 12, "aria-hidden": "true" }, line ? s("line", { x1: 0, x2: 26, y1: 6, y2: 6, stroke: color, "stroke-width": 2 }) : null, s("circle", { cx: 13, cy: 6, r: filled ? 5 : 4, fill: filled ? color : "#fff", stroke: color, "stroke-width": 2 }));
  figure.querySelector(".legend").replaceChildren(
    ...sides.flatMap((side) => [
      h("span", { "data-legend": `ranked-${side.basis}` }, mark(COLOR[side.basis], false, false), ` ${SIDE[side.basis]}: a ranked configuration`),
      h("span", { "data-legend": `pareto-${side.basis}` }, mark(COLOR[side.basis], true, true), ` ${SIDE[side.basis]}: the Pareto frontier (labelled: devices × device, format)`),
    ]),
  );
}

/**
 * The device picker: the catalog's devices by vendor, by name, filterable, as checkboxes; the
 * hidden form field keeps their ids, comma-separated (and so does the URL).
 */
function picker(name, legend, items, hint) {
  const input = document.getElementById(`f-${name}`);
  if (!input || input.dataset.picker) return;
  input.dataset.picker = "true";
  const label = input.closest("label");
  const chosen = () => new Set(list(input.value));
  const summary = h("span", { class: "picked", "aria-live": "polite" });
  const boxes = [];
  const update = () => {
    const ids = boxes.filter((b) => b.checked).map((b) => b.value);
    input.value = ids.join(",");
    summary.textContent = ids.length ? `${ids.length} chosen: ${ids.map((id) => items.find((i) => i.id === id)?.name || id).join(", ")}` : `none chosen: ${hint}`;
  };
  const groups = new Map();
  for (const item of items) {
    if (!groups.has(item.group)) groups.set(item.group, []);
    groups.get(item.group).push(item);
  }
  const filter = items.length > 20 ? h("input", { type: "search", class: "picker-filter", placeholder: "a name or id" }) : null;
  const body = h(
    "div",
    { class: "picker-list" },
    [...groups].map(([group, members]) =>
      h(
        "fieldset",
        { "data-group": group },
        h("legend", {}, group),
        members.map((item) => {
          const box = h("input", { type: "checkbox", value: item.id, checked: chosen().has(item.id), onchange: update });
          boxes.push(box);
          return h("label", { "data-id": item.id, title: item.id }, box, ` ${item.name}`);
        }),
      ),
    ),
  );
  filter?.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const l of body.querySelectorAll("label")) l.hidden = q !== "" && !`${l.textContent} ${l.dataset.id}`.toLowerCase().includes(q);
    for (const f of body.querySelectorAll("fieldset")) f.hidden = ![...f.querySelectorAll("label")].some((l) => !l.hidden);
  });
  const clear = h("button", { type: "button", class: "picker-clear", onclick: () => { for (const b of boxes) b.checked = false; update(); } }, "Clear");
  label.hidden = true;
  label.after(h("fieldset", { class: "picker wide", "data-picker": name }, h("legend", {}, legend), h("div", { class: "picker-bar" }, filter ? h("label", { class: "picker-filter-label" }, "Filter", filter) : null, clear, summary), body));
  update();
}

async function runPlan(p, out) {
  picker("hardware", "Devices to search", catalog.hardware.map((d) => ({ id: d.id, name: `${d.name} (${sig(d.memory_bytes / 2 ** 30)} GiB)`, group: d.vendor })), "every device in the catalog");
  picker("weights", "Weight formats", catalog.formats.map((f) => ({ id: f.id, name: `${f.id} (${sig(f.bits_per_weight)} bits)`, group: "formats" })), "bf16, fp8, int8, int4 (the API's default)");
  const bodies = planBodies(p);
  const plans = await Promise.all(Object.values(bodies).map((body) => from(PLAN_FIELDS, api("POST", "/v1/plan", body))));
  const sides = Object.keys(bodies).map((basis, i) => ({ basis, plan: plans[i] }));
  const open = (row) => showEstimate(row);
  add(out, answerSentence(sides, p));
  for (const { basis, plan } of sides) add(out, notes(plan, `plan, ${SIDE[basis]}`));
  const frontier = (plan) => plan.pareto.filter((r) => Number.isFinite(r.cost.usd_per_million_output_tokens));
  const priced = sides.filter((side) => side.plan.ranked.some((r) => Number.isFinite(r.cost.usd_per_million_output_tokens)));
  if (priced.length) {
    const figure = chart({
      id: "plan-frontier",
      title: "Cost against end-to-end latency (filled, on a line: the Pareto frontier)",
      xLabel: "end-to-end latency per request (ms)",
      yLabel: "USD per million output tokens",
      xLog: true,
      yLog: true,
      series: priced.flatMap(({ basis, plan }) => [
        { name: `${SIDE[basis]} configurations`, key: `ranked-${basis}`, color: COLOR[basis], line: false, points: plan.ranked.filter((r) => Number.isFinite(r.cost.usd_per_million_output_tokens)).map((r) => ({ x: r.latency.e2e_ms, y: r.cost.usd_per_million_output_tokens, label: `${SIDE[basis]}: ${r.devices} × ${r.hardware} ${r.weights} batch ${r.batch_size}`, onClick: () => open(r) })) },
        { name: `${SIDE[basis]} Pareto frontier`, key: `pareto-${basis}`, color: COLOR[basis], points: frontier(plan).map((r) => ({ x: r.latency.e2e_ms, y: r.cost.usd_per_million_output_tokens, highlight: true, label: pointLabel(r), onClick: () => open(r) })) },
      ]),
    });
    // Each frontier point knows its configuration (the label says which).
    for (const side of priced) figure.querySelectorAll(`circle[data-series="pareto-${side.basis}"]`).forEach((c, i) => c.setAttribute("data-key", rowKey(frontier(side.plan)[i])));
    labelFrontier(figure, priced);
    add(out, figure);
  }
  add(out, h("div", { "data-slot": "estimate" }));
  for (const { basis, plan } of sides) {
    add(
      out,
      h("h3", { "data-ranking": basis }, `${SIDE[basis][0].toUpperCase()}${SIDE[basis].slice(1)} hardware, ${plan.objective === "usd_per_million_output_tokens" ? "cheapest first" : `ranked by ${plan.objective}`}`),
      h("p", {}, `${fmt.count(plan.evaluated)} of ${fmt.count(plan.search_space)} configurations evaluated, ${fmt.count(plan.feasible)} meet the requirements (${sig(plan.elapsed_ms)} ms). `, plan.best ? ["The first one's capacity check (latencies under the workload): ", badge(plan.best.verdict, plan.best.verdict), " ", plan.best.summary] : "No configuration meets the requirements."),
      plan.notes.length ? h("details", { class: "note" }, h("summary", {}, "How the planner ranked them"), h("ul", {}, plan.notes.map((n) => h("li", {}, n)))) : null,
      plan.ranked.length ? rankingTable(basis, plan, open) : table(`rejected-${basis}`, [{ key: "reason", label: "Rejected for", text: true }, { key: "count", label: "Configurations", fmt: fmt.count }], plan.rejected),
      plan.disaggregated ? poolsTable(basis, plan) : null,
    );
  }
}

/** A pool of a disaggregated row in a cell: devices × device (tensor × pipeline × expert per replica). */
const poolText = (p) => `${p.devices} × ${p.hardware} (${p.parallelism.tensor} × ${p.parallelism.pipeline}${p.parallelism.expert > 1 ? ` × EP${p.parallelism.expert}` : ""})`;

/** A side's disaggregated rows (`search.disaggregated`): each pool, the rate it carries and what the pair costs. */
function poolsTable(basis, plan) {
  const rows = plan.disaggregated.map((r, i) => ({
    rank: i + 1,
    xpyd: r.xpyd,
    prefill: poolText(r.disaggregation.prefill),
    decode: poolText(r.disaggregation.decode),
    prefill_requests_per_s: r.disaggregation.prefill.requests_per_s,
    decode_requests_per_s: r.disaggregation.decode.requests_per_s,
    ttft_ms: r.latency.ttft_ms,
    tpot_ms: r.latency.tpot_ms,
    output_tokens_per_s_per_device: r.disaggregation.output_tokens_per_s_per_device,
    usd_per_hour: r.cost.usd_per_hour,
    usd_per_million_output_tokens: r.cost.usd_per_million_output_tokens,
    verdict: r.verdict,
  }));
  return [
    h("h3", { "data-pools": basis }, `${SIDE[basis][0].toUpperCase()}${SIDE[basis].slice(1)} hardware, prefill and decode pools (xPyD)`),
    rows.length
      ? table(
          `pools-${basis}`,
          [
            { key: "rank", label: "#" },
            { key: "xpyd", label: "Pools", text: true },
            { key: "prefill", label: "Prefill pool", text: true },
            { key: "decode", label: "Decode pool", text: true },
            { key: "prefill_requests_per_s", label: "Prefill req/s" },
            { key: "decode_requests_per_s", label: "Decode req/s" },
            { key: "ttft_ms", label: "TTFT", fmt: fmt.ms },
            { key: "tpot_ms", label: "TPOT", fmt: fmt.ms },
            { key: "output_tokens_per_s_per_device", label: "Output tok/s per device" },
            { key: "usd_per_hour", label: "USD/h", fmt: fmt.usd },
            { key: "usd_per_million_output_tokens", label: "USD / M out", fmt: fmt.usd },
            { key: "verdict", label: "Check", text: true, cell: (r) => badge(r.verdict, r.verdict) },
          ],
          rows,
        )
      : h("p", { "data-pools-none": basis }, "No pair of pools meets the requirements at the target rate."),
  ];
}

export const view = {
  title: "Plan a deployment",
  lede: "Every configuration the planner tried that meets the requirements, rented and owned hardware ranked apart: cost against latency, the Pareto frontier, the ranking. Click a point or a row for its full estimate.",
  fields: [
    { name: "model", label: "Model", options: options.model, value: "llama-3.1-70b" },
    { name: "requests_per_s", label: "Requests per second", type: "number", value: "10", step: "any", min: 0 },
    { name: "input_tokens", label: "Prompt tokens", type: "number", value: "1000", min: 1 },
    { name: "output_tokens", label: "Output tokens", type: "number", value: "200", min: 1 },
    { name: "max_ttft_ms", label: "Max TTFT (ms)", type: "number", value: "2000", min: 1 },
    { name: "max_tpot_ms", label: "Max TPOT (ms)", type: "number", value: "50", min: 1 },
    { name: "paid", label: "Hardware paid by", options: () => [["both", "renting and owning, ranked apart"], ["rent", "renting only"], ["own", "owning only"]], value: "both" },
    { name: "max_devices", label: "Most devices in all (empty: no limit)", type: "number", value: "", min: 1, empty: "no limit" },
    { name: "max_devices_per_replica", label: "Most devices per replica (empty: 8)", type: "number", value: "", min: 1, empty: "the API's default" },
    { name: "api", label: "API to compare with", options: () => [["", "the cheapest the catalog has for the model"], ...options.apiPrice()], value: "" },
    { name: "limit", label: "Rows", type: "number", value: "40", min: 1 },
    { name: "disaggregated", label: "Prefill and decode pools", options: () => [["", "colocated only"], ["yes", "also split the best into prefill and decode pools (xPyD)"]], value: "", empty: "colocated only" },
    // Text fields the pickers (drawn when the view runs) fill and hide: the URL keeps their ids.
    { name: "hardware", label: "Devices to search", value: "", empty: "every device" },
    { name: "weights", label: "Weight formats", value: "", empty: "the API's default formats" },
  ],
  action: "Plan",
  run: runPlan,
};
