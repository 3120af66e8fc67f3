// Speculative decoding: the fields a view adds, the request field they make, and the cards of
// the answer's `speculation` section. The serving and model views call these; every number
// shown is the API's.

import { card, float, h, int, options, round, sig } from "../lib.js";

const METHODS = [
  ["", "off"],
  ["eagle3", "EAGLE-3 head"],
  ["eagle", "EAGLE head"],
  ["mtp", "multi-token prediction (DeepSeek-style)"],
  ["ngram", "prompt lookup (n-gram)"],
  ["draft", "draft model"],
];

/** The form fields: method, draft model, draft tokens, acceptance rate (empty: the defaults). */
export const SPECULATIVE_FIELDS = [
  { name: "speculative", label: "Speculative decoding", options: () => METHODS.map((m) => [...m]), value: "" },
  { name: "draft_model", label: "Draft model (for a draft model)", options: () => [["", "none"], ...options.model()], value: "" },
  { name: "speculative_tokens", label: "Draft tokens per step (empty: the method's)", type: "number", value: "", min: 1, empty: "the method's default" },
  { name: "acceptance_rate", label: "Acceptance rate (empty: the method's)", type: "number", value: "", min: 0, step: "any", empty: "the method's published rate" },
];

/** Error pointers of the field, mapped to the form's names. */
export const SPECULATIVE_POINTERS = {
  "/speculative/method": "speculative",
  "/speculative/draft_model": "draft_model",
  "/speculative/tokens": "speculative_tokens",
  "/speculative/acceptance_rate": "acceptance_rate",
};

/** The request's `speculative` field from the form, or undefined when off. */
export function speculativeBody(p) {
  if (!p.speculative) return undefined;
  const body = { method: p.speculative };
  if (p.speculative === "draft" && p.draft_model) body.draft_model = p.draft_model;
  if (p.speculative_tokens) body.tokens = int(p.speculative_tokens);
  if (p.acceptance_rate) body.acceptance_rate = float(p.acceptance_rate);
  return body;
}

/** The speculation cards of an answer (null when it has no `speculation`). */
export function speculationCards(answer) {
  const s = answer.speculation;
  if (!s) return null;
  const stops = s.stops_paying_at_batch;
  return h(
    "section",
    { class: "speculation", "data-section": "speculation" },
    h("h3", { class: "section" }, `Speculative decoding: ${s.method}, ${s.tokens} draft tokens at acceptance ${round(s.acceptance_rate, 3)}`),
    h(
      "div",
      { class: "cards" },
      card("Tokens per verifier step", sig(s.tokens_per_step), answer, "speculation.tokens_per_step", "speculation.tokens_per_step", "speculation_tokens_per_step"),
      card(`Speedup at batch ${s.batch_size}`, `${sig(s.speedup)}×`, answer, "speculation.speedup", "speculation.speedup", "speculation_speedup"),
      card("Stops paying at batch", stops === null ? "pays up to the engine's limit" : String(stops), null, null, null, "speculation_stops_paying_at_batch"),
    ),
    h("p", { class: "note" }, `One step: plain ${round(s.plain_step_ms, 3)} ms; verifier (${s.tokens + 1} rows per sequence) ${round(s.verify_step_ms, 3)} ms; drafter ${round(s.draft_ms, 3)} ms.`),
  );
}
