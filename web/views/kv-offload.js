// KV-cache tiers beyond device memory and prefix reuse, for the serving view: the form's
// fields (grouped in one fieldset), what they add to a serving request, and the tier cards
// read from the answer (`kv_cache.host_capacity_tokens`, `prefix_cache`, `kv_offload`).

import { card, float, fmt, h, int, sig } from "../lib.js";

/** The fields, appended to the serving view's; empty means "none" (no tier, no prefix). */
export const KV_FIELDS = [
  { name: "kv_host_gb", label: "Host memory for KV per device (GB, empty: none)", type: "number", value: "", min: 0, step: "any", empty: "no host tier" },
  { name: "kv_disk_gb", label: "Disk for KV per device (GB, empty: none)", type: "number", value: "", min: 0, step: "any", empty: "no disk tier" },
  { name: "prefix_tokens", label: "Shared prefix tokens per request (empty: none)", type: "number", value: "", min: 1, empty: "no described prefix" },
  { name: "prefix_distinct", label: "Distinct live prefixes (empty: 1)", type: "number", value: "", min: 1, empty: "one prefix" },
];

/** Request pointers these fields fill, for refusals at their field. */
export const KV_POINTERS = {
  "/kv_offload": "kv_host_gb",
  "/kv_offload/host_gb": "kv_host_gb",
  "/kv_offload/disk_gb": "kv_disk_gb",
  "/workload/prefix": "prefix_tokens",
  "/workload/prefix/tokens": "prefix_tokens",
  "/workload/prefix/distinct": "prefix_distinct",
};

const given = (x) => x !== undefined && x !== null && String(x).trim() !== "";

/** `body` (a serving request) with the tier and the prefix the form asks for. */
export function withKv(p, body) {
  if (given(p.kv_host_gb) || given(p.kv_disk_gb)) {
    body.kv_offload = { host_gb: float(p.kv_host_gb) };
    if (given(p.kv_disk_gb)) body.kv_offload.disk_gb = float(p.kv_disk_gb);
  }
  if (given(p.prefix_tokens) || given(p.prefix_distinct)) {
    body.workload.prefix = { tokens: int(p.prefix_tokens) };
    if (given(p.prefix_distinct)) body.workload.prefix.distinct = int(p.prefix_distinct);
  }
  return body;
}

/** Gathers the fields into one fieldset of the form (once per render). */
export function kvFieldset() {
  const labels = KV_FIELDS.map((f) => document.getElementById(`f-${f.name}`)?.closest("label")).filter(Boolean);
  if (!labels.length || labels[0].parentElement?.dataset.fieldset === "kv-offload") return;
  const set = h("fieldset", { class: "kv-offload wide", "data-fieldset": "kv-offload" }, h("legend", {}, "KV offload and prefix reuse"));
  labels[0].before(set);
  for (const label of labels) set.append(label);
}

/** The tier cards of a serving answer (and a note): nothing when it has neither tiers nor a prefix. */
export function kvCards(answer) {
  const p = answer.prefix_cache;
  const o = answer.kv_offload;
  if (!p && !o) return null;
  const cards = [];
  if (o) {
    cards.push(
      card("Host tier capacity", `${fmt.count(answer.kv_cache.host_capacity_tokens)} tokens`, answer, "serving.kv_host_capacity_tokens", null, "kv_host_capacity_tokens"),
      o.disk_bytes !== null ? card("Disk tier capacity", `${fmt.count(answer.kv_cache.disk_capacity_tokens)} tokens`, answer, "serving.kv_disk_capacity_tokens", null, "kv_disk_capacity_tokens") : null,
      card("Largest concurrency with the host tier", `${fmt.count(o.largest_concurrency)} (device only ${fmt.count(o.without.largest_concurrency)})`, answer, "serving.largest_concurrency_with_host", null, "kv_largest_concurrency"),
      card("Preemptions swapped to host", `${fmt.count(o.swaps)} of ${fmt.count(answer.preemptions)} (without the tier: ${fmt.count(o.without.preemptions)} recomputed)`, null, null, null, "kv_swaps"),
    );
  }
  if (p) {
    const share = p.hit_share;
    cards.push(
      card("Prefix hits by tier", `device ${fmt.pct(share.device)} · host ${fmt.pct(share.host)} · disk ${fmt.pct(share.disk)} · miss ${fmt.pct(share.miss)}`, answer, o ? "serving.prefix_hit_share_host" : "serving.prefix_hit_share_device", null, "prefix_hit_share"),
      o ? card("Copy per host hit", fmt.ms(p.host_transfer_ms_per_hit), answer, "serving.prefix_host_transfer_s", null, "prefix_host_transfer_ms") : null,
      card(`TTFT saved (mean, against ${p.compared_with === "kv_offload" ? "device memory only" : "no prefix reuse"})`, fmt.ms(p.ttft_saved_ms), answer, "serving.prefix_ttft_saved", null, "prefix_ttft_saved_ms"),
    );
  }
  const section = h("section", { class: "kv-tiers", "data-section": "kv-tiers" }, h("h3", { class: "section" }, "KV tiers and prefix reuse"), h("div", { class: "cards" }, cards));
  const without = o ? h("p", { class: "note" }, `Without the tiers beyond device memory the same replay's TTFT is ${sig(o.without.ttft_mean_ms)} ms mean, ${sig(o.without.ttft_p90_ms)} ms p90.`) : null;
  return [section, without];
}
