// What does scale buy? ---------------------------------------------------------

import { rerender, state, writeUrl } from "../state.js";
import { add, api, card, catalog, float, fmt, from, h, int, notes, options, problemBox, problemBoxes, round, settle, sig, table, withAnswer } from "../lib.js";
import { chart } from "../chart.js";

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
    rerender();
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

export const view = {
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
};
