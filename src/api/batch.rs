//! `POST /v1/estimate/batch`: many inference and training estimates in one call.
//!
//! Items are parsed one by one from raw JSON, so a malformed item is that item's problem (with
//! the pointer of its bad field under `/items/<index>`), never the whole call's. Results come
//! back in order. The item count is capped by the server (`--batch-max-items`).

use actix_web::{post, web};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::Json;
use super::inference::{self, InferenceRequest, InferenceResponse};
use super::problem::{self, ApiError, Problem};
use super::state::AppState;
use super::training::{self, TrainingRequest, TrainingResponse};

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

/// One item's result: an estimate or a problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// Position in the request.
    pub index: usize,
    /// The HTTP status this item would have had on its own.
    pub status: u16,
    /// The inference estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<Box<InferenceResponse>>,
    /// The training estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<Box<TrainingResponse>>,
    /// Why this item has no estimate (pointers are into the whole request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// The results, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// Items estimated.
    pub succeeded: usize,
    /// Items with a problem.
    pub failed: usize,
    /// One per item.
    pub results: Vec<BatchResult>,
}

fn item(state: &AppState, index: usize, value: &Value) -> BatchResult {
    let prefix = format!("/items/{index}");
    let outcome = serde_path_to_error::deserialize::<_, BatchItem>(value)
        .map_err(|e| match problem::from_json_error(e) {
            // Pointers are into the whole request.
            ApiError::InvalidRequest(mut errors) => {
                for error in &mut errors {
                    error.pointer.insert_str(0, &prefix);
                }
                ApiError::InvalidRequest(errors)
            }
            other => other,
        })
        .and_then(|parsed| match (parsed.inference, parsed.training) {
            (Some(request), None) => inference::run(&state.catalog, &request, &format!("{prefix}/inference"))
                .map(|r| (Some(Box::new(inference::with_band(r, &request, state))), None)),
            (None, Some(request)) => training::run(&state.catalog, &request, &format!("{prefix}/training"))
                .map(|r| (None, Some(Box::new(training::with_band(r, state))))),
            (Some(_), Some(_)) => {
                Err(ApiError::field(format!("{prefix}/training"), "give either inference or training, not both"))
            }
            (None, None) => Err(ApiError::field(prefix.clone(), "give an inference or a training request")),
        });
    match outcome {
        Ok((inference, training)) => BatchResult { index, status: 200, inference, training, problem: None },
        Err(error) => {
            let problem = error.problem();
            BatchResult { index, status: problem.status, inference: None, training: None, problem: Some(problem) }
        }
    }
}

/// Runs a batch.
pub fn batch(state: &AppState, request: &BatchRequest) -> Result<BatchResponse, ApiError> {
    if request.items.is_empty() || request.items.len() > state.batch_max_items {
        return Err(ApiError::field(
            "/items",
            format!("must hold 1 to {} items, got {}", state.batch_max_items, request.items.len()),
        ));
    }
    // The schema says every item is an object; what is inside is each item's own business.
    let not_objects: Vec<problem::FieldError> = request
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.is_object())
        .map(|(i, _)| problem::FieldError::new(format!("/items/{i}"), "must be an object"))
        .collect();
    if !not_objects.is_empty() {
        return Err(ApiError::InvalidRequest(not_objects));
    }
    let results: Vec<BatchResult> =
        request.items.par_iter().enumerate().map(|(index, value)| item(state, index, value)).collect();
    let succeeded = results.iter().filter(|r| r.problem.is_none()).count();
    Ok(BatchResponse { succeeded, failed: results.len() - succeeded, results })
}

/// Makes many inference and training estimates in one call; one bad item does not fail the
/// others.
#[utoipa::path(
    tag = "decisions",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per item, in order: an estimate or its problem", body = BatchResponse),
        (status = 400, description = "Malformed JSON, or no items or more than the cap", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/batch")]
pub async fn batch_handler(
    state: web::Data<AppState>,
    Json(request): Json<BatchRequest>,
) -> Result<web::Json<BatchResponse>, ApiError> {
    let state = state.into_inner();
    web::block(move || batch(&state, &request))
        .await
        .map_err(|e| ApiError::Internal(format!("batch task: {e}")))?
        .map(web::Json)
}
