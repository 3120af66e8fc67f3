//! `POST /v1/estimate/batch`: many inference and training estimates in one call.
//!
//! Items are parsed one by one from raw JSON, so a malformed item is that item's problem (with
//! the pointer of its bad field under `/items/<index>`), never the whole call's. Results come
//! back in order. The item count is capped by the server (`--batch-max-items`).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Context;
use super::inference::InferenceResponse;
use super::training::TrainingResponse;
use crate::scenario::inference::{InferenceRequest, InferenceScenario};
use crate::scenario::training::{TrainingRequest, TrainingScenario};
use crate::scenario::{Error, FieldError, document};

/// One estimate to make: exactly one of `inference` and `training`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// An inference workload, as for `POST /v1/estimate/inference`.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub inference: Option<InferenceRequest>,
    /// A training run, as for `POST /v1/estimate/training`.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub training: Option<TrainingRequest>,
}

/// Estimates to make.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [
    {"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "weights": "fp8"}},
    {"inference": {"model": "llama-3.1-8b", "hardware": "no-such-device"}},
    {"training": {"model": "llama-2-7b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 64, "tokens": 2e12, "sharding": "zero3"}}
]}))]
pub struct BatchRequest {
    /// The items, in order (at most the server's cap, 1000 by default). Each is a `BatchItem`:
    /// `{"inference": <InferenceRequest>}` or `{"training": <TrainingRequest>}`. They are
    /// validated one by one, so the schema accepts any object here: an item that is not a
    /// valid `BatchItem` is answered with its own problem in the results, not a 400 for all.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// One item's estimate.
#[derive(Debug)]
pub enum Estimate {
    /// An inference estimate.
    Inference(Box<InferenceResponse>),
    /// A training estimate.
    Training(Box<TrainingResponse>),
}

fn item(ctx: &Context, index: usize, value: &Value) -> Result<Estimate, Error> {
    let prefix = format!("/items/{index}");
    let parsed: BatchItem = document::from_value(value.clone()).map_err(|e| match e {
        // Pointers are into the whole request.
        Error::InvalidRequest(mut errors) => {
            for error in &mut errors {
                error.pointer.insert_str(0, &prefix);
            }
            Error::InvalidRequest(errors)
        }
        other => other,
    })?;
    match (parsed.inference, parsed.training) {
        (Some(request), None) => {
            let scenario = InferenceScenario::parse(&ctx.catalog, &request, &format!("{prefix}/inference"))?;
            Ok(Estimate::Inference(Box::new(InferenceResponse::new(ctx, &scenario))))
        }
        (None, Some(request)) => {
            let scenario = TrainingScenario::parse(&ctx.catalog, &request, &format!("{prefix}/training"))?;
            Ok(Estimate::Training(Box::new(TrainingResponse::new(ctx, &scenario))))
        }
        (Some(_), Some(_)) => {
            Err(Error::field(format!("{prefix}/training"), "give either inference or training, not both"))
        }
        (None, None) => Err(Error::field(prefix, "give an inference or a training request")),
    }
}

/// Runs a batch: one result per item, in order; the whole call fails only when the item list
/// itself is wrong.
pub fn batch(ctx: &Context, request: &BatchRequest) -> Result<Vec<Result<Estimate, Error>>, Error> {
    batch_map(ctx, request, |_, result| result)
}

/// [`batch`], handing each item's result to `each` as soon as it is made (on the thread that
/// made it), so a caller that turns results into something smaller (their serialised form)
/// never holds every estimate at once.
pub fn batch_map<T: Send>(
    ctx: &Context,
    request: &BatchRequest,
    each: impl Fn(usize, Result<Estimate, Error>) -> T + Sync,
) -> Result<Vec<T>, Error> {
    if request.items.is_empty() || request.items.len() > ctx.batch_max_items {
        return Err(Error::field(
            "/items",
            format!("must hold 1 to {} items, got {}", ctx.batch_max_items, request.items.len()),
        ));
    }
    // The schema says every item is an object; what is inside is each item's own business.
    let not_objects: Vec<FieldError> = request
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.is_object())
        .map(|(i, _)| FieldError::new(format!("/items/{i}"), "must be an object"))
        .collect();
    if !not_objects.is_empty() {
        return Err(Error::InvalidRequest(not_objects));
    }
    Ok(request.items.par_iter().enumerate().map(|(index, value)| each(index, item(ctx, index, value))).collect())
}
