//! Scaling requests (`POST /v1/estimate/scaling`, `POST /v1/plan/scaling`), parsed once.
//!
//! A run is `parameters` and `tokens`, or a catalog `model` with the training tokens its paper
//! states; a plan's target quality is a loss, a catalog model's quality, or the quality of a
//! given (or compute-optimal) run. Ranges are in [`super::range`]; the fit is a catalog record.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cost::CostChoice;
use super::range::{self, Checks};
use super::{Assumptions, Error};
use crate::catalog::scaling::CatalogFit;
use crate::catalog::{Catalog, CatalogModel};
use crate::engine::anatomy::Group;

/// The device the money side runs on when the request names none.
pub const DEFAULT_HARDWARE: &str = "nvidia-h100-sxm-80gb";

/// What scale buys: the loss of a run, its compute-optimal twin, and the next 10x of compute.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"model": "gpt-3-175b", "fit": "besiroglu2024", "hardware": "nvidia-h100-sxm-80gb"}))]
pub struct ScalingRequest {
    /// Scaling-law fit id (`GET /v1/scaling/fits`; default `besiroglu2024`).
    pub fit: Option<String>,
    /// Catalog model id: its parameters, and its published training tokens unless `tokens` is given.
    pub model: Option<String>,
    /// Parameters (instead of `model`; non-embedding ones for `kaplan2020`).
    pub parameters: Option<f64>,
    /// Training tokens (required with `parameters`).
    pub tokens: Option<f64>,
    /// Unique tokens the run draws from (repeated `tokens / unique_tokens` times); applies the
    /// repeated-data law of fits that have one (`muennighoff2023`).
    pub unique_tokens: Option<f64>,
    /// Catalog device id the money side trains on (default `nvidia-h100-sxm-80gb`).
    pub hardware: Option<String>,
    /// Devices for each run (default: sized so each run takes about 90 days).
    pub devices: Option<u32>,
    /// How the devices are paid for (as a training estimate's `cost`).
    pub cost: Option<CostChoice>,
}

/// A target quality.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingTarget {
    /// A loss under the fit (nats per token on the fit's data).
    pub loss: Option<f64>,
    /// A catalog model whose quality (its parameters on its published training tokens) to match.
    pub model: Option<String>,
    /// Parameters of the run whose quality to match.
    pub parameters: Option<f64>,
    /// Tokens of that run (default: compute-optimal for `parameters`).
    pub tokens: Option<f64>,
}

/// Expected inference as requests with their lengths.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRequests {
    /// Requests over the model's lifetime (`1e10` and `10000000000` alike).
    #[serde(deserialize_with = "whole_number")]
    pub count: u64,
    /// Prompt tokens per request.
    pub input_tokens: u64,
    /// Generated tokens per request.
    pub output_tokens: u64,
}

/// A count written either way JSON allows (`1e10` is a whole number too).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64 {
        Ok(v as u64)
    } else {
        Err(serde::de::Error::custom(format!("expected a whole number of 0 or more, got {v}")))
    }
}

/// What the lifetime-optimal model minimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ScalingObjective {
    /// Training plus inference FLOPs (Sardana et al. 2024).
    #[default]
    Flops,
    /// Training plus serving dollars from hwcost's training and inference engines.
    Cost,
}

/// The lifetime-optimal model for a quality and an inference demand.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"fit": "sardana2024", "target": {"parameters": 13e9}, "inference_tokens": 2e12, "objective": "flops"}))]
pub struct ScalingPlanRequest {
    /// Scaling-law fit id (default `besiroglu2024`).
    pub fit: Option<String>,
    /// The quality to reach.
    pub target: ScalingTarget,
    /// Tokens processed over the model's lifetime (prompt and generated alike).
    pub inference_tokens: Option<f64>,
    /// The same as requests with lengths (instead of `inference_tokens`).
    pub requests: Option<ScalingRequests>,
    /// `flops` (default) or `cost`.
    pub objective: Option<ScalingObjective>,
    /// Catalog device id training runs on (default `nvidia-h100-sxm-80gb`).
    pub hardware: Option<String>,
    /// Catalog device id serving runs on (default: `hardware`).
    pub serving_hardware: Option<String>,
    /// How the devices are paid for, training and serving alike (as a training estimate's
    /// `cost`); needed for `objective: cost` on a device without a catalog price.
    pub cost: Option<CostChoice>,
}

/// A parsed scaling estimate.
#[derive(Debug, Clone)]
pub struct ScalingScenario {
    /// The fit.
    pub fit: CatalogFit,
    /// The catalog model, when one was named.
    pub model: Option<String>,
    /// Parameters as the fit counts them.
    pub parameters: f64,
    /// Training tokens.
    pub tokens: f64,
    /// Unique tokens (at most `tokens`), when given.
    pub unique_tokens: Option<f64>,
    /// Device id for the money side.
    pub hardware: String,
    /// Devices per run, when given.
    pub devices: Option<u32>,
    /// How devices are paid for.
    pub cost: Option<CostChoice>,
    /// Defaults applied.
    pub assumptions: Assumptions,
}

/// Inference demand.
#[derive(Debug, Clone, Copy)]
pub enum Demand {
    /// Tokens, no split.
    Tokens(f64),
    /// Requests with lengths.
    Requests(ScalingRequests),
}

impl Demand {
    /// Lifetime tokens.
    pub fn tokens(&self) -> f64 {
        match *self {
            Demand::Tokens(t) => t,
            Demand::Requests(r) => r.count as f64 * (r.input_tokens + r.output_tokens) as f64,
        }
    }
}

/// A parsed scaling plan.
#[derive(Debug, Clone)]
pub struct ScalingPlanScenario {
    /// The fit.
    pub fit: CatalogFit,
    /// The loss to reach.
    pub target_loss: f64,
    /// The catalog model whose quality it is, when one was named.
    pub target_model: Option<String>,
    /// Inference demand.
    pub demand: Demand,
    /// The objective.
    pub objective: ScalingObjective,
    /// Training device id.
    pub hardware: String,
    /// Serving device id.
    pub serving_hardware: String,
    /// How devices are paid for.
    pub cost: Option<CostChoice>,
    /// Defaults applied.
    pub assumptions: Assumptions,
}

/// Records the bad numbers of a request's `cost` among `checks`.
fn check_cost(checks: &mut Checks, cost: Option<&CostChoice>) {
    if let Some(Err(Error::InvalidRequest(fields))) = cost.map(|c| super::cost::check_ranges(c, "/cost")) {
        for f in fields {
            checks.push(f.pointer, f.detail);
        }
    }
}

fn fit(catalog: &Catalog, id: Option<&str>, assumptions: &mut Assumptions) -> Result<CatalogFit, Error> {
    match id {
        Some(id) => catalog.scaling_fit(id).cloned().ok_or_else(|| {
            let ids = catalog.scaling_fits().iter().map(|f| f.record.id.clone()).collect();
            Error::unknown_id("scaling fit", id, ids).at("/fit")
        }),
        None => {
            let f = catalog.default_scaling_fit().cloned().ok_or_else(|| Error::Unprocessable {
                detail: "this catalog has no scaling-law fits".into(),
                pointer: Some("/fit".into()),
            })?;
            assumptions.push("fit", f.record.id.clone(), "the default fit (Epoch AI's replication of Chinchilla)");
            Ok(f)
        }
    }
}

fn device(catalog: &Catalog, id: Option<&str>, pointer: &str, assumptions: &mut Assumptions) -> Result<String, Error> {
    let id = match id {
        Some(id) => id,
        None => {
            assumptions.push(&pointer[1..], DEFAULT_HARDWARE, "the device the money side is priced on");
            DEFAULT_HARDWARE
        }
    };
    catalog
        .device(id)
        .map(|d| d.record.id.clone())
        .map_err(|suggestions| Error::unknown_id("hardware", id, suggestions).at(pointer))
}

/// Parameters of a catalog model as `fit` counts them (Kaplan et al. leave out the embeddings).
fn model_parameters(fit: &CatalogFit, model: &CatalogModel) -> f64 {
    let total = model.anatomy.total.as_f64();
    match fit.record.form {
        crate::catalog::scaling::FitForm::Kaplan => {
            total - model.anatomy.by_group(Group::Embeddings).as_f64() - model.anatomy.by_group(Group::Head).as_f64()
        }
        crate::catalog::scaling::FitForm::Additive => total,
    }
}

/// A catalog model's parameters and published training tokens, or why it has none.
fn model_run(
    catalog: &Catalog,
    fit: &CatalogFit,
    id: &str,
    pointer: &str,
    tokens: Option<f64>,
) -> Result<(String, f64, f64), Error> {
    let model = catalog.model(id).map_err(|s| Error::unknown_id("model", id, s).at(pointer))?;
    let tokens = match tokens.or(model.record.training_tokens) {
        Some(t) => t,
        None => {
            return Err(Error::Unprocessable {
                detail: format!(
                    "model {} has no published training-token count in the catalog; give `tokens`",
                    model.record.id
                ),
                pointer: Some(pointer.into()),
            });
        }
    };
    Ok((model.record.id.clone(), model_parameters(fit, model), tokens))
}

impl ScalingScenario {
    /// Parses a request.
    pub fn parse(catalog: &Catalog, request: &ScalingRequest) -> Result<Self, Error> {
        let mut assumptions = Assumptions::default();
        let mut checks = Checks::default();
        let parameters = checks.number("/parameters", range::SCALING_PARAMETERS, request.parameters);
        let tokens = checks.number("/tokens", range::SCALING_TOKENS, request.tokens);
        let unique = checks.number("/unique_tokens", range::SCALING_TOKENS, request.unique_tokens);
        if let Some(d) = request.devices {
            checks.int32("/devices", range::TRAINING_DEVICES, d);
        }
        check_cost(&mut checks, request.cost.as_ref());
        match (&request.model, request.parameters) {
            (Some(_), Some(_)) => checks.push("/parameters", "give `model` or `parameters`, not both"),
            (None, None) => checks.push("/parameters", "required unless `model` names a catalog model"),
            (None, Some(_)) if request.tokens.is_none() => checks.push("/tokens", "required with `parameters`"),
            _ => {}
        }
        checks.finish()?;
        let fit = fit(catalog, request.fit.as_deref(), &mut assumptions)?;
        let (model, parameters, tokens) = match &request.model {
            Some(id) => {
                let (id, n, d) = model_run(catalog, &fit, id, "/model", tokens)?;
                if tokens.is_none() {
                    assumptions.push("tokens", d, "the model's published training tokens (catalog)");
                }
                (Some(id), n, d)
            }
            None => (None, parameters.unwrap_or_default(), tokens.unwrap_or_default()),
        };
        let hardware = device(catalog, request.hardware.as_deref(), "/hardware", &mut assumptions)?;
        Ok(Self {
            fit,
            model,
            parameters,
            tokens,
            unique_tokens: unique.map(|u| u.min(tokens)),
            hardware,
            devices: request.devices,
            cost: request.cost.clone(),
            assumptions,
        })
    }
}

impl ScalingPlanScenario {
    /// Parses a request.
    pub fn parse(catalog: &Catalog, request: &ScalingPlanRequest) -> Result<Self, Error> {
        let mut assumptions = Assumptions::default();
        let mut checks = Checks::default();
        let t = &request.target;
        checks.number("/target/loss", range::SCALING_LOSS, t.loss);
        checks.number("/target/parameters", range::SCALING_PARAMETERS, t.parameters);
        checks.number("/target/tokens", range::SCALING_TOKENS, t.tokens);
        let given = [t.loss.is_some(), t.model.is_some(), t.parameters.is_some()].iter().filter(|g| **g).count();
        if given != 1 {
            checks.push("/target", "give exactly one of `loss`, `model` or `parameters` (with optional `tokens`)");
        }
        if t.tokens.is_some() && t.loss.is_some() {
            checks.push("/target/tokens", "`tokens` goes with `model` or `parameters`, not `loss`");
        }
        checks.number("/inference_tokens", range::SCALING_INFERENCE_TOKENS, request.inference_tokens);
        check_cost(&mut checks, request.cost.as_ref());
        if let Some(r) = request.requests {
            checks.int("/requests/count", range::SCALING_REQUESTS, r.count);
            checks.int("/requests/input_tokens", range::INPUT_TOKENS, r.input_tokens);
            checks.int("/requests/output_tokens", range::OUTPUT_TOKENS, r.output_tokens);
        }
        if let Some(r) = request.requests
            && !range::SCALING_INFERENCE_TOKENS.contains(r.count as f64 * (r.input_tokens + r.output_tokens) as f64)
        {
            checks.push(
                "/requests/count",
                format!(
                    "count x (input_tokens + output_tokens) must be at most {:e} tokens",
                    range::SCALING_INFERENCE_TOKENS.max
                ),
            );
        }
        let demand = match (request.inference_tokens, request.requests) {
            (Some(_), Some(_)) => {
                checks.push("/requests", "give `inference_tokens` or `requests`, not both");
                Demand::Tokens(0.0)
            }
            (Some(t), None) => Demand::Tokens(t),
            (None, Some(r)) => Demand::Requests(r),
            (None, None) => {
                assumptions.push("inference_tokens", 0.0, "no inference: the compute-optimal model");
                Demand::Tokens(0.0)
            }
        };
        checks.finish()?;
        let fit = fit(catalog, request.fit.as_deref(), &mut assumptions)?;
        let law = fit.fit;
        let (target_loss, target_model) = match (t.loss, &t.model, t.parameters) {
            (Some(loss), _, _) => (loss, None),
            (None, Some(id), _) => {
                let (id, n, d) = model_run(catalog, &fit, id, "/target/model", t.tokens)?;
                (law.loss(n, d), Some(id))
            }
            (None, None, Some(n)) => {
                let d = match t.tokens {
                    Some(d) => d,
                    None => {
                        let opt = law.compute_optimal_for_parameters(n);
                        assumptions.push(
                            "target.tokens",
                            opt.tokens,
                            "compute-optimal tokens for target.parameters under the fit",
                        );
                        opt.tokens
                    }
                };
                (law.loss(n, d), None)
            }
            (None, None, None) => return Err(Error::Internal("a scaling target passed its checks empty".into())),
        };
        if law.smallest_model_for(target_loss).is_none() {
            return Err(Error::Unprocessable {
                detail: format!(
                    "loss {target_loss} is not above the fit's irreducible loss {}; no model reaches it",
                    law.irreducible_loss()
                ),
                pointer: Some("/target/loss".into()),
            });
        }
        let objective = request.objective.unwrap_or_else(|| {
            assumptions.push("objective", "flops", "training plus inference FLOPs (Sardana et al. 2024)");
            ScalingObjective::Flops
        });
        let hardware = device(catalog, request.hardware.as_deref(), "/hardware", &mut assumptions)?;
        let serving_hardware = match request.serving_hardware.as_deref() {
            Some(id) => device(catalog, Some(id), "/serving_hardware", &mut assumptions)?,
            None => hardware.clone(),
        };
        // The compute-optimal model of this quality must be a size the ranges accept: a loss a
        // hair above the irreducible one needs more parameters than atoms, a loss far above any
        // model's needs a fraction of a token.
        let twin = law.compute_optimal_for_loss(target_loss);
        let sized = twin.is_some_and(|t| {
            range::SCALING_PARAMETERS.contains(t.parameters) && range::SCALING_TOKENS.contains(t.tokens)
        });
        if !sized {
            return Err(Error::Unprocessable {
                detail: format!(
                    "the compute-optimal model reaching loss {target_loss} under fit {} has {} parameters on {} tokens, outside {:e} to {:e} parameters and {:e} to {:e} tokens",
                    fit.record.id,
                    twin.map_or("no".into(), |t| format!("{:.3e}", t.parameters)),
                    twin.map_or("no".into(), |t| format!("{:.3e}", t.tokens)),
                    range::SCALING_PARAMETERS.min,
                    range::SCALING_PARAMETERS.max,
                    range::SCALING_TOKENS.min,
                    range::SCALING_TOKENS.max,
                ),
                pointer: Some("/target".into()),
            });
        }
        Ok(Self {
            fit,
            target_loss,
            target_model,
            demand,
            objective,
            hardware,
            serving_hardware,
            cost: request.cost.clone(),
            assumptions,
        })
    }
}
