//! What scale buys (`POST /v1/estimate/scaling`) and the lifetime-optimal model
//! (`POST /v1/plan/scaling`): the fit's loss next to the money from the training and serving
//! engines.
//!
//! The money side runs the same parsers and engines as `POST /v1/estimate/training` and
//! `POST /v1/estimate/inference`: a catalog model as itself, a model the fit invents (the
//! compute-optimal twin, the next 10x) as a Llama-shaped decoder of about its parameter count
//! ([`decoder_config`]). So a dollar here is a dollar those endpoints would give.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::inference::{ExplainBody, WarningBody};
use super::training::TrainingResponse;
use super::{Context, finite};
use crate::catalog::scaling::ScalingFitRecord;
use crate::engine::scaling::{self, Allocation};
use crate::scenario::inference::{InferenceRequest, InferenceScenario};
use crate::scenario::scaling::{Demand, ScalingObjective, ScalingPlanScenario, ScalingScenario};
use crate::scenario::training::{TrainingRequest, TrainingScenario};
use crate::scenario::{Assumption, Error};

/// A run sized to finish in about this many days when the request gives no device count.
const TARGET_DAYS: f64 = 90.0;
/// Rungs of the ladder: multiples of this run's compute.
const LADDER: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
/// Prompt and generated tokens per request when demand is given as tokens alone: the LMSys
/// averages Sardana et al. 2024 use (70 in, 215 out).
const DEFAULT_SPLIT: (u64, u64) = (70, 215);

/// The fit an answer used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScalingFitBody {
    /// Fit id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What its loss is measured on (losses of different fits are not comparable).
    pub loss_measured_on: String,
    /// Which parameters it counts.
    pub parameters_counted: String,
    /// The paper.
    pub source: String,
}

impl From<&ScalingFitRecord> for ScalingFitBody {
    fn from(r: &ScalingFitRecord) -> Self {
        ScalingFitBody {
            id: r.id.clone(),
            name: r.name.clone(),
            loss_measured_on: r.loss_measured_on.clone(),
            parameters_counted: r.parameters_counted.clone(),
            source: r.source.clone(),
        }
    }
}

/// What a training run costs on a device, from the training engine.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunCost {
    /// Device id.
    pub hardware: String,
    /// Devices.
    pub devices: u64,
    /// Wall-clock days.
    pub wall_clock_days: f64,
    /// Device-hours.
    pub device_hours: f64,
    /// USD (null without a price for the device).
    pub usd: Option<f64>,
    /// Model FLOPs utilization the engine predicts.
    pub mfu: f64,
    /// The model trained: a catalog id, or the shape of the decoder standing in for a size.
    pub shape: String,
}

/// A compute-optimal allocation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllocationBody {
    /// Parameters.
    pub parameters: f64,
    /// Training tokens.
    pub tokens: f64,
    /// Predicted loss.
    pub loss: f64,
    /// Tokens per parameter.
    pub tokens_per_parameter: f64,
}

impl From<Allocation> for AllocationBody {
    fn from(a: Allocation) -> Self {
        AllocationBody {
            parameters: finite(a.parameters),
            tokens: finite(a.tokens),
            loss: finite(a.loss),
            tokens_per_parameter: finite(a.tokens_per_parameter()),
        }
    }
}

/// What ten times this run's compute buys, spent compute-optimally.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NextTenX {
    /// 10 x this run's FLOPs.
    pub training_flops: f64,
    /// Compute-optimal parameters at that budget.
    pub parameters: f64,
    /// Compute-optimal tokens at that budget.
    pub tokens: f64,
    /// Its loss.
    pub loss: f64,
    /// Its loss minus this run's (negative: what the 10x buys, reallocating this run's own
    /// compute included).
    pub delta_loss: f64,
    /// Its loss minus the compute-optimal loss at this run's compute: what the extra compute
    /// alone buys.
    pub delta_loss_vs_compute_optimal: f64,
    /// Its reducible loss (above the irreducible) over this run's.
    pub reducible_loss_multiplier: f64,
    /// What that run costs (null when the engine cannot lay it out).
    pub cost: Option<RunCost>,
}

/// One rung of the ladder: this run's compute times a multiple, spent compute-optimally (the
/// first rung is this run itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rung {
    /// Multiple of this run's compute.
    pub compute_multiplier: f64,
    /// FLOPs.
    pub training_flops: f64,
    /// Parameters.
    pub parameters: f64,
    /// Tokens.
    pub tokens: f64,
    /// Loss.
    pub loss: f64,
    /// Loss minus the previous rung's (0 for the first).
    pub delta_loss: f64,
    /// USD of the run (null without a price or a layout).
    pub usd: Option<f64>,
    /// USD per unit of loss this rung removes over the previous one (null on the first rung).
    pub usd_per_loss_removed: Option<f64>,
}

/// A point of the compute-optimal frontier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrontierPoint {
    /// FLOPs.
    pub training_flops: f64,
    /// Least loss at that compute.
    pub loss: f64,
    /// Parameters of the optimum.
    pub parameters: f64,
    /// Tokens of the optimum.
    pub tokens: f64,
}

/// What scale buys.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScalingResponse {
    /// The fit.
    pub fit: ScalingFitBody,
    /// The catalog model, when one was named.
    pub model: Option<String>,
    /// Parameters as the fit counts them.
    pub parameters: f64,
    /// Training tokens.
    pub tokens: f64,
    /// Unique tokens, when the run repeats data.
    pub unique_tokens: Option<f64>,
    /// Predicted loss, nats per token on the fit's data.
    pub loss: f64,
    /// The part of the loss no scale removes.
    pub irreducible_loss: f64,
    /// `loss - irreducible_loss`.
    pub reducible_loss: f64,
    /// `6 N D`.
    pub training_flops: f64,
    /// Tokens per parameter.
    pub tokens_per_parameter: f64,
    /// The best model for the same compute.
    pub compute_optimal: AllocationBody,
    /// What 10x more compute buys.
    pub next_10x: NextTenX,
    /// What this run costs on the device.
    pub cost: Option<RunCost>,
    /// 1x, 10x, 100x, 1000x this run's compute: loss and dollars per rung.
    pub ladder: Vec<Rung>,
    /// The fit's compute-optimal loss every half decade from 1e18 to 1e27 FLOPs, with unlimited
    /// unique data.
    pub frontier: Vec<FrontierPoint>,
    /// The defaults applied.
    pub assumptions: Vec<Assumption>,
    /// How each number was made.
    pub explain: Vec<ExplainBody>,
    /// Caveats.
    pub warnings: Vec<WarningBody>,
}

/// Which parameters a size counts: a fit's `N` is the total for most fits, the non-embedding
/// parameters for Kaplan et al.'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Embeddings included.
    Total,
    /// Embeddings left out.
    NonEmbedding,
}

impl Counted {
    /// What `fit`'s parameter counts count.
    fn by(fit: &crate::catalog::scaling::CatalogFit) -> Self {
        match fit.record.form {
            crate::catalog::scaling::FitForm::Kaplan => Counted::NonEmbedding,
            crate::catalog::scaling::FitForm::Additive => Counted::Total,
        }
    }
}

/// Memory of one `hardware` device, for sizing device counts (80 GB when the id is unknown,
/// which the parsers then refuse).
fn device_memory(ctx: &Context, hardware: &str) -> f64 {
    ctx.catalog.device(hardware).map(|d| d.device.memory.0).unwrap_or(80e9).max(1e9)
}

/// The stand-in sizes hwcost can build: one layer of the narrowest width up to 1024 layers of
/// the widest (`hidden_size` at most 65,536).
const STAND_IN_PARAMETERS: (f64, f64) = (2e7, 5e13);

/// A Hugging Face `config.json` of a Llama-shaped decoder of about `parameters` (12 d^2 per
/// layer, 128-wide heads, aspect ratio d / layers of about 128 as GPT-3 175B and Llama 2 70B
/// have, a 32k vocabulary), standing in for a model a fit sizes but nobody built; `None`
/// outside the sizes such a decoder can have.
pub fn decoder_config(parameters: f64, counted: Counted) -> Option<(serde_json::Value, String)> {
    const VOCAB: f64 = 32_000.0;
    if !(STAND_IN_PARAMETERS.0..=STAND_IN_PARAMETERS.1).contains(&parameters) {
        return None;
    }
    let width = ((parameters * 128.0 / 12.0).cbrt() / 128.0).round().clamp(2.0, 512.0) * 128.0;
    let per_layer = 12.0 * width * width;
    let embeddings = match counted {
        Counted::Total => 2.0 * VOCAB * width,
        Counted::NonEmbedding => 0.0,
    };
    let layers = ((parameters - embeddings) / per_layer).round().clamp(1.0, 1024.0);
    let heads = width / 128.0;
    let intermediate = ((8.0 / 3.0 * width) / 256.0).ceil() * 256.0;
    let config = json!({
        "model_type": "llama",
        "hidden_size": width as u64,
        "num_hidden_layers": layers as u64,
        "num_attention_heads": heads as u64,
        "num_key_value_heads": heads as u64,
        "intermediate_size": intermediate as u64,
        "vocab_size": VOCAB as u64,
        "max_position_embeddings": 4096,
        "hidden_act": "silu",
        "tie_word_embeddings": false,
    });
    let shape = format!(
        "Llama-shaped decoder of {:.3e} parameters: {} layers x {} wide",
        layers * (4.0 * width * width + 3.0 * width * intermediate) + 2.0 * VOCAB * width,
        layers as u64,
        width as u64
    );
    Some((config, shape))
}

/// The largest device count a run is sized to.
const MOST_DEVICES: u64 = 1 << 20;

/// What training `parameters` on `tokens` costs on `hardware` through the training engine: a
/// catalog model as itself, any other size as [`decoder_config`]. A device count the request
/// gives is used as given (no layout: `None`); without one the run starts where fully sharded
/// optimizer states fit, doubling while no layout fits (up to nine times), and is then sized
/// to finish in about [`TARGET_DAYS`] (a power of two).
#[allow(clippy::too_many_arguments)]
fn run_cost(
    ctx: &Context,
    hardware: &str,
    devices: Option<u32>,
    cost: Option<&crate::scenario::cost::CostChoice>,
    model: Option<&str>,
    parameters: f64,
    counted: Counted,
    tokens: f64,
) -> Option<RunCost> {
    let (model_value, shape) = match model {
        Some(id) => (json!(id), id.to_owned()),
        None => decoder_config(parameters, counted)?,
    };
    let estimate = |n: u64| -> Option<TrainingResponse> {
        let mut body = json!({"model": model_value, "hardware": hardware, "devices": n, "tokens": tokens});
        if let Some(c) = cost {
            body["cost"] = serde_json::to_value(c).ok()?;
        }
        let request: TrainingRequest = serde_json::from_value(body).ok()?;
        let scenario = TrainingScenario::parse(&ctx.catalog, &request, "").ok()?;
        let response = TrainingResponse::new(ctx, &scenario);
        response.time.is_some().then_some(response)
    };
    let first = |mut n: u64| {
        for _ in 0..10 {
            if let Some(r) = estimate(n) {
                return Some(r);
            }
            n = (n * 2).min(MOST_DEVICES);
        }
        None
    };
    // Mixed-precision Adam keeps about 16 bytes per parameter (weights, gradients, master
    // weights, two moments): start where fully sharded states fit in 80% of the devices.
    let memory = device_memory(ctx, hardware);
    let least =
        ((parameters * 16.0 / (0.8 * memory)).ceil().clamp(8.0, MOST_DEVICES as f64) as u64).next_power_of_two();
    let response = match devices {
        Some(n) => estimate(u64::from(n))?,
        None => {
            let probe = first(least)?;
            let days = probe.time.as_ref().map(|t| t.wall_clock_days).unwrap_or(0.0);
            let wanted = (probe.devices as f64 * days / TARGET_DAYS).clamp(8.0, MOST_DEVICES as f64);
            let n = (wanted as u64).next_power_of_two().max(probe.devices);
            if n == probe.devices { probe } else { first(n).unwrap_or(probe) }
        }
    };
    let time = response.time.as_ref()?;
    Some(RunCost {
        hardware: response.hardware.clone(),
        devices: response.devices,
        wall_clock_days: finite(time.wall_clock_days),
        device_hours: finite(time.device_hours),
        usd: response.cost.as_ref().and_then(|c| c.usd).map(finite),
        mfu: finite(response.utilization.as_ref().map(|u| u.mfu).unwrap_or(0.0)),
        shape,
    })
}

fn explain(
    rule: &'static str,
    formula: &'static str,
    inputs: &[(&'static str, f64)],
    value: f64,
    unit: &'static str,
) -> ExplainBody {
    ExplainBody {
        rule,
        formula,
        inputs: inputs.iter().map(|(k, v)| (*k, finite(*v))).collect::<BTreeMap<_, _>>(),
        value: finite(value),
        unit,
    }
}

/// The compute-optimal loss every half decade from 1e18 to 1e27 FLOPs.
pub fn frontier(fit: &scaling::Fit) -> Vec<FrontierPoint> {
    (0..=18)
        .map(|i| {
            let c = 10f64.powf(18.0 + 0.5 * f64::from(i));
            let a = fit.compute_optimal(c);
            FrontierPoint {
                training_flops: finite(c),
                loss: finite(a.loss),
                parameters: finite(a.parameters),
                tokens: finite(a.tokens),
            }
        })
        .collect()
}

impl ScalingResponse {
    /// The answer to a parsed request.
    pub fn new(ctx: &Context, s: &ScalingScenario) -> Self {
        let fit = s.fit.fit;
        let e = fit.irreducible_loss();
        let loss = match s.unique_tokens {
            Some(u) => fit.loss_repeated(s.parameters, s.tokens, u),
            None => fit.loss(s.parameters, s.tokens),
        };
        let flops = scaling::training_flops(s.parameters, s.tokens);
        let mut warnings = Vec::new();
        if s.unique_tokens.is_some() && fit.repetition.is_none() {
            warnings.push(WarningBody {
                code: "repetition-not-modelled",
                message: format!(
                    "fit {} has no repeated-data law: every repeated token counts as new; use muennighoff2023",
                    s.fit.record.id
                ),
            });
        }
        if let Some(m) = s.model.as_deref().and_then(|id| ctx.catalog.model(id).ok())
            && m.architecture.moe.is_some()
        {
            warnings.push(WarningBody {
                code: "dense-fit-for-moe",
                message: "the fits were measured on dense models: a mixture of experts is judged by its total parameters, and the rungs above 1x price dense models of 10x its 6 x total parameters x tokens, while the 1x cost is the engine's for the mixture itself (its tokens cost 6 x active parameters)"
                    .into(),
            });
        }
        let counted = Counted::by(&s.fit);
        // With a unique-data limit every budget is spent under it (repeat, or grow the model).
        let optimum = |c: f64| match s.unique_tokens {
            Some(u) => fit.compute_optimal_repeated(c, u),
            None => fit.compute_optimal(c),
        };
        let compute_optimal = optimum(flops);
        let cost_of = |parameters: f64, tokens: f64, model: Option<&str>| {
            run_cost(ctx, &s.hardware, s.devices, s.cost.as_ref(), model, parameters, counted, tokens)
        };
        let this_cost = cost_of(s.parameters, s.tokens, s.model.as_deref());
        let mut ladder = Vec::with_capacity(LADDER.len());
        let mut next = None;
        for (i, k) in LADDER.into_iter().enumerate() {
            let (a, cost) = if i == 0 {
                (Allocation { parameters: s.parameters, tokens: s.tokens, loss }, this_cost.clone())
            } else {
                let a = optimum(flops * k);
                (a, cost_of(a.parameters, a.tokens, None))
            };
            let previous: Option<&Rung> = ladder.last();
            let delta = previous.map(|p| a.loss - p.loss).unwrap_or(0.0);
            let usd = cost.as_ref().and_then(|c| c.usd);
            let usd_per_loss_removed = match (previous.and_then(|p| p.usd), usd) {
                (Some(_), Some(u)) if delta < 0.0 => Some(finite(u / -delta)),
                _ => None,
            };
            if i == 1 {
                next = Some(NextTenX {
                    training_flops: finite(flops * k),
                    parameters: finite(a.parameters),
                    tokens: finite(a.tokens),
                    loss: finite(a.loss),
                    delta_loss: finite(a.loss - loss),
                    delta_loss_vs_compute_optimal: finite(a.loss - compute_optimal.loss),
                    reducible_loss_multiplier: finite(if loss > e { (a.loss - e) / (loss - e) } else { 1.0 }),
                    cost: cost.clone(),
                });
            }
            ladder.push(Rung {
                compute_multiplier: k,
                training_flops: finite(flops * k),
                parameters: finite(a.parameters),
                tokens: finite(a.tokens),
                loss: finite(a.loss),
                delta_loss: finite(delta),
                usd: usd.map(finite),
                usd_per_loss_removed,
            });
        }
        let next_10x = next.unwrap_or_else(|| NextTenX {
            training_flops: 0.0,
            parameters: 0.0,
            tokens: 0.0,
            loss: finite(loss),
            delta_loss: 0.0,
            delta_loss_vs_compute_optimal: 0.0,
            reducible_loss_multiplier: 1.0,
            cost: None,
        });
        if this_cost.as_ref().is_some_and(|c| c.usd.is_none()) {
            warnings.push(WarningBody {
                code: "no-price",
                message: format!("no price for {}: dollars are null (give `cost`)", s.hardware),
            });
        }
        if this_cost.is_none() || ladder.iter().skip(1).any(|r| r.usd.is_none()) {
            warnings.push(WarningBody {
                code: "not-priced",
                message: match s.devices {
                    Some(n) => format!(
                        "the training engine found no layout of {n} x {} for some runs (or they are sizes no stand-in decoder has): their cost is null; leave `devices` out to size each run",
                        s.hardware
                    ),
                    None => format!(
                        "the training engine could not lay out some runs on {} (or they are sizes no stand-in decoder has, {:e} to {:e} parameters): their cost is null",
                        s.hardware, STAND_IN_PARAMETERS.0, STAND_IN_PARAMETERS.1
                    ),
                },
            });
        }
        let mut assumptions = s.assumptions.0.clone();
        if s.devices.is_none() {
            assumptions.push(Assumption {
                field: "devices".into(),
                value: "sized per run".into(),
                reason: "each run on the power of two of devices (at least 8) that finishes it in about 90 days",
            });
        }
        let explain = vec![
            explain(
                "scaling.loss",
                "L = E + A / N^alpha + B / D^beta (Kaplan: [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D); with unique tokens, N' and D' of Muennighoff et al. Eq. 5-6",
                &[
                    ("parameters", s.parameters),
                    ("tokens", s.tokens),
                    ("unique_tokens", s.unique_tokens.unwrap_or(s.tokens)),
                ],
                loss,
                "nats/token",
            ),
            explain(
                "scaling.training_flops",
                "6 N D",
                &[("parameters", s.parameters), ("tokens", s.tokens)],
                flops,
                "FLOP",
            ),
            explain(
                "scaling.compute_optimal",
                "N, D minimising L with 6 N D fixed: N dL/dN = D dL/dD (for the additive form Hoffmann et al.'s Eq. 4, N = G (C/6)^(beta/(alpha+beta))); with unique tokens, the least repeated-data loss at 6 N D",
                &[("training_flops", flops)],
                compute_optimal.parameters,
                "parameters",
            ),
            explain(
                "scaling.next_10x",
                "compute-optimal loss at 10 x 6 N D, minus this run's loss",
                &[("training_flops", flops * 10.0), ("loss", loss)],
                next_10x.delta_loss,
                "nats/token",
            ),
        ];
        ScalingResponse {
            fit: ScalingFitBody::from(&s.fit.record),
            model: s.model.clone(),
            parameters: finite(s.parameters),
            tokens: finite(s.tokens),
            unique_tokens: s.unique_tokens.map(finite),
            loss: finite(loss),
            irreducible_loss: finite(e),
            reducible_loss: finite(loss - e),
            training_flops: finite(flops),
            tokens_per_parameter: finite(s.tokens / s.parameters),
            compute_optimal: compute_optimal.into(),
            next_10x,
            cost: this_cost,
            ladder,
            frontier: frontier(&fit),
            assumptions,
            explain,
            warnings,
        }
    }
}

/// One model of a lifetime plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LifetimeBody {
    /// Parameters.
    pub parameters: f64,
    /// Training tokens.
    pub tokens: f64,
    /// Tokens per parameter.
    pub tokens_per_parameter: f64,
    /// Its loss (the target's, up to the search's precision).
    pub loss: f64,
    /// `6 N D`.
    pub training_flops: f64,
    /// `2 N` per inference token.
    pub inference_flops: f64,
    /// Both.
    pub total_flops: f64,
    /// Training USD from the training engine (null without a price; computed for `cost`).
    pub training_usd: Option<f64>,
    /// Serving USD from the inference engine (null without a price; computed for `cost`).
    pub inference_usd: Option<f64>,
    /// Both.
    pub total_usd: Option<f64>,
}

/// A point on the iso-loss curve.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurvePoint {
    /// Parameters.
    pub parameters: f64,
    /// Tokens that reach the target loss.
    pub tokens: f64,
    /// Training plus inference FLOPs.
    pub total_flops: f64,
    /// Training plus serving USD (null unless the objective is `cost`).
    pub total_usd: Option<f64>,
}

/// The target of a lifetime plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetBody {
    /// The loss to reach, nats per token on the fit's data.
    pub loss: f64,
    /// The catalog model whose quality it is.
    pub model: Option<String>,
}

/// The lifetime-optimal model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScalingPlanResponse {
    /// The fit.
    pub fit: ScalingFitBody,
    /// `flops` or `cost`.
    pub objective: ScalingObjective,
    /// The quality to reach.
    pub target: TargetBody,
    /// Lifetime inference tokens.
    pub inference_tokens: f64,
    /// The model minimising the objective over its lifetime.
    pub optimal: LifetimeBody,
    /// The compute-optimal (Chinchilla) model of the same quality.
    pub compute_optimal_twin: LifetimeBody,
    /// `1 - optimal / twin` in the objective's unit.
    pub saving_fraction: f64,
    /// Samples of the iso-loss curve from a tenth of the smaller answer to ten times the larger,
    /// smallest model first.
    pub curve: Vec<CurvePoint>,
    /// The defaults applied.
    pub assumptions: Vec<Assumption>,
    /// Caveats.
    pub warnings: Vec<WarningBody>,
}

/// USD per request of `split` (prompt, generated) tokens for a model of `parameters` served at
/// full batch on `hardware`: the inference engine's offline throughput, whose generated tokens
/// per second are over the whole request (prefill and decode), so a request costs its generated
/// tokens at the output price. `None` without a price, a stand-in of that size or a layout.
fn serving_usd_per_request(
    ctx: &Context,
    hardware: &str,
    cost: Option<&crate::scenario::cost::CostChoice>,
    parameters: f64,
    split: (u64, u64),
) -> Option<f64> {
    let (config, _) = decoder_config(parameters, Counted::Total)?;
    // Enough devices to hold 16-bit weights at half their memory; the deployment's automatic
    // layout takes the fewest per replica that hold the workload and makes the rest replicas.
    let memory = device_memory(ctx, hardware);
    let devices = ((parameters * 2.0 / (0.5 * memory)).ceil().clamp(1.0, 4096.0) as u64).next_power_of_two();
    let mut body = json!({
        "model": config, "hardware": hardware, "devices": devices, "batch_size": "max",
        "input_tokens": split.0, "output_tokens": split.1.max(1),
    });
    if let Some(c) = cost {
        body["cost"] = serde_json::to_value(c).ok()?;
    }
    let request: InferenceRequest = serde_json::from_value(body).ok()?;
    let scenario = InferenceScenario::parse(&ctx.catalog, &request, "").ok()?;
    let e = crate::engine::inference::estimate(&scenario.input());
    if !e.memory.fits {
        return None;
    }
    Some(e.usd_per_million_output_tokens? / 1e6 * split.1.max(1) as f64)
}

impl ScalingPlanResponse {
    /// The answer to a parsed plan.
    pub fn new(ctx: &Context, s: &ScalingPlanScenario) -> Result<Self, Error> {
        let fit = s.fit.fit;
        let demand = s.demand.tokens();
        let mut assumptions = s.assumptions.0.clone();
        // Requests of these lengths carry the demand (their count: demand / their tokens).
        let split = match s.demand {
            Demand::Requests(r) => (r.input_tokens, r.output_tokens),
            Demand::Tokens(_) => {
                if s.objective == ScalingObjective::Cost {
                    assumptions.push(Assumption {
                        field: "requests".into(),
                        value: "70 input, 215 output tokens".into(),
                        reason: "the split of inference tokens Sardana et al. 2024 use (LMSys averages)",
                    });
                }
                DEFAULT_SPLIT
            }
        };
        let requests = demand / (split.0 + split.1).max(1) as f64;
        let counted = Counted::by(&s.fit);
        let flops_of =
            |n: f64, d: f64| scaling::training_flops(n, d) + scaling::INFERENCE_FLOPS_PER_PARAMETER_TOKEN * n * demand;
        let train_usd = |n: f64, d: f64| run_cost(ctx, &s.hardware, None, s.cost.as_ref(), None, n, counted, d)?.usd;
        let serve_usd = |n: f64| {
            if demand > 0.0 {
                serving_usd_per_request(ctx, &s.serving_hardware, s.cost.as_ref(), n, split).map(|r| r * requests)
            } else {
                Some(0.0)
            }
        };
        let usd_of = |n: f64, d: f64| -> Option<(f64, f64)> { Some((train_usd(n, d)?, serve_usd(n)?)) };
        let unreachable = || Error::Unprocessable {
            detail: format!("no model reaches loss {} under fit {}", s.target_loss, s.fit.record.id),
            pointer: Some("/target".into()),
        };
        let twin = fit.compute_optimal_for_loss(s.target_loss).ok_or_else(unreachable)?;
        let unpriced = |device: &str, role: &str, pointer: &str| Error::Unprocessable {
            detail: format!(
                "objective cost: the {role} engine cannot price the compute-optimal model of this quality ({:.3e} parameters on {:.3e} tokens) on {device}: a device without a price (give `cost`), a model no layout fits, or a size outside the stand-in decoders ({:e} to {:e} parameters)",
                twin.parameters, twin.tokens, STAND_IN_PARAMETERS.0, STAND_IN_PARAMETERS.1
            ),
            pointer: Some(pointer.into()),
        };
        let with_cost = s.objective == ScalingObjective::Cost;
        // Each model's dollars are priced once: the twin's (whose failure names the device), the
        // search's answer's, and nothing again for the response.
        let twin_usd = if with_cost {
            let train = train_usd(twin.parameters, twin.tokens)
                .ok_or_else(|| unpriced(&s.hardware, "training", "/hardware"))?;
            let serve = serve_usd(twin.parameters)
                .ok_or_else(|| unpriced(&s.serving_hardware, "inference", "/serving_hardware"))?;
            Some((train, serve))
        } else {
            None
        };
        let total = |usd: Option<(f64, f64)>| usd.map_or(f64::INFINITY, |(t, i)| t + i);
        let (optimal, optimal_usd) = match s.objective {
            ScalingObjective::Flops => {
                let found = fit.cheapest_on_iso_loss(s.target_loss, flops_of);
                // The twin is on the curve too: the search never answers worse than it.
                match found {
                    Some(a) if flops_of(a.parameters, a.tokens) <= flops_of(twin.parameters, twin.tokens) => (a, None),
                    _ => (twin, None),
                }
            }
            ScalingObjective::Cost => {
                let found = fit.cheapest_on_iso_loss(s.target_loss, |n, d| total(usd_of(n, d)));
                match found.map(|a| (a, usd_of(a.parameters, a.tokens))) {
                    Some((a, usd)) if total(usd) <= total(twin_usd) => (a, usd),
                    _ => (twin, twin_usd),
                }
            }
        };
        let body = |a: Allocation, usd: Option<(f64, f64)>| {
            let inference_flops = scaling::INFERENCE_FLOPS_PER_PARAMETER_TOKEN * a.parameters * demand;
            LifetimeBody {
                parameters: finite(a.parameters),
                tokens: finite(a.tokens),
                tokens_per_parameter: finite(a.tokens_per_parameter()),
                loss: finite(a.loss),
                training_flops: finite(a.training_flops()),
                inference_flops: finite(inference_flops),
                total_flops: finite(a.training_flops() + inference_flops),
                training_usd: usd.map(|u| finite(u.0)),
                inference_usd: usd.map(|u| finite(u.1)),
                total_usd: usd.map(|u| finite(u.0 + u.1)),
            }
        };
        let optimal_body = body(optimal, optimal_usd);
        let twin_body = body(twin, twin_usd);
        let saving_fraction = match s.objective {
            ScalingObjective::Flops => 1.0 - optimal_body.total_flops / twin_body.total_flops,
            ScalingObjective::Cost => match (optimal_body.total_usd, twin_body.total_usd) {
                (Some(o), Some(t)) if t > 0.0 => 1.0 - o / t,
                _ => 0.0,
            },
        };
        // From a tenth of the smaller of the two answers to ten times the larger (never below the
        // smallest model that reaches the loss), 24 points evenly in log.
        let smallest = fit.smallest_model_for(s.target_loss).unwrap_or(twin.parameters) * 1.0001;
        let low = (optimal.parameters.min(twin.parameters) / 10.0).max(smallest);
        let high = optimal.parameters.max(twin.parameters) * 10.0;
        let curve = (0..24)
            .filter_map(|i| {
                let n = low * (high / low).powf(f64::from(i) / 23.0);
                let d = fit.tokens_for_loss(n, s.target_loss)?;
                Some(CurvePoint {
                    parameters: finite(n),
                    tokens: finite(d),
                    total_flops: finite(flops_of(n, d)),
                    total_usd: if with_cost { usd_of(n, d).map(|(t, i)| finite(t + i)) } else { None },
                })
            })
            .collect();
        let mut warnings = Vec::new();
        if optimal.tokens_per_parameter() > 10_000.0 {
            warnings.push(WarningBody {
                code: "beyond-measured-ratios",
                message: format!(
                    "the optimum trains {:.0} tokens per parameter; the fits were measured below about 100 (Sardana et al. trained up to 10,000 and found the fits overestimate what extra tokens buy there)",
                    optimal.tokens_per_parameter()
                ),
            });
        }
        if with_cost {
            assumptions.push(Assumption {
                field: "serving".into(),
                value: "full batch".into(),
                reason: "serving dollars at the inference engine's offline throughput (largest batch that fits), training runs sized to about 90 days",
            });
        }
        Ok(ScalingPlanResponse {
            fit: ScalingFitBody::from(&s.fit.record),
            objective: s.objective,
            target: TargetBody { loss: finite(s.target_loss), model: s.target_model.clone() },
            inference_tokens: finite(demand),
            optimal: optimal_body,
            compute_optimal_twin: twin_body,
            saving_fraction: finite(saving_fraction),
            curve,
            assumptions,
            warnings,
        })
    }
}
