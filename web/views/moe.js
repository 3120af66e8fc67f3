// Mixture-of-experts at scale: the serving view's MoE fields (expert ranks with attention data
// parallelism, the hottest expert's load, the network between nodes) and the answer's
// `expert_parallel` section.

import { float, h, int } from "../lib.js";

/** The fields, after the serving view's own; empty means the API's default. */
export const MOE_FIELDS = [
  { name: "expert", label: "Expert ranks (attention data parallel)", type: "number", value: "", min: 1, empty: "no expert parallelism" },
  { name: "hottest_expert_load", label: "Hottest expert load (x mean)", type: "number", value: "", min: 1, step: "any", empty: "uniform routing" },
  { name: "network", label: "Network between nodes (id)", value: "", empty: "the default network" },
  { name: "two_batch_overlap", label: "Two-batch overlap", options: () => [["", "no"], ["yes", "yes: each half-batch's all-to-all hides behind the other's compute"]], value: "", empty: "no overlap" },
];

const given = (v) => v !== undefined && v !== null && String(v).trim() !== "";

/** The request fields the MoE inputs set (none when left empty). */
export function moeBody(p) {
  const body = {};
  if (given(p.expert)) body.parallelism = { expert: int(p.expert) };
  if (given(p.hottest_expert_load)) body.moe = { hottest_expert_load: float(p.hottest_expert_load) };
  if (p.two_batch_overlap === "yes") body.moe = { ...body.moe, two_batch_overlap: true };
  if (given(p.network)) body.network = String(p.network).trim();
  return body;
}

const ROWS = [
  ["expert_ranks", "Expert ranks"],
  ["attention_data_parallel_ranks", "Attention data-parallel ranks"],
  ["tensor_per_rank", "Tensor parallel per rank"],
  ["experts_per_rank", "Routed experts per rank"],
  ["ranks_per_node", "Ranks per node"],
  ["crosses_network", "Crosses the network"],
  ["network", "Network"],
  ["hottest_expert_load", "Hottest expert load used"],
  ["dispatch_combine_ms_per_step", "Dispatch + combine per step (ms)"],
  ["kv_capacity_tokens_per_rank", "KV cache per rank (tokens)"],
  ["max_batch_per_rank", "Largest batch per rank"],
];

/** The answer's `expert_parallel`, as a table of its own numbers; nothing without expert ranks. */
export function moeSection(answer) {
  const ep = answer && answer.expert_parallel;
  if (!ep) return null;
  const shown = (v) => (typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toPrecision(4)) : v === null || v === undefined ? "—" : String(v));
  return h(
    "section",
    { class: "moe", "data-moe": "" },
    h("h4", {}, "Mixture of experts: expert ranks with attention data parallelism"),
    h(
      "table",
      { class: "moe-table" },
      h("tbody", {}, ROWS.map(([key, label]) => h("tr", { "data-ep": key, "data-value": String(ep[key] ?? "") }, h("th", {}, label), h("td", {}, shown(ep[key]))))),
    ),
  );
}
