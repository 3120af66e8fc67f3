//! `POST /v1/estimate/inference`: extract, parse ([`crate::scenario::inference`]), answer
//! ([`crate::answer::inference`]).

use actix_web::{post, web};

use super::extract::Json;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::answer::inference::InferenceResponse;
use crate::scenario::inference::{InferenceRequest, InferenceScenario};

/// Estimates memory, FLOPs, latency, throughput, cost and energy of serving a model, with the
/// rule behind every number.
#[utoipa::path(operation_id = "estimate_inference",
    tag = "estimates",
    request_body = InferenceRequest,
    responses(
        (status = 200, description = "The estimate", body = InferenceResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valid fields that describe an impossible deployment (devices not the product of the parallel degrees, tensor degree not dividing the heads, ...)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/inference")]
pub async fn estimate(
    state: web::Data<AppState>,
    Json(request): Json<InferenceRequest>,
) -> Result<web::Json<InferenceResponse>, ApiError> {
    let scenario = InferenceScenario::parse(&state.catalog, &request, "")?;
    Ok(web::Json(InferenceResponse::new(&state, &scenario)))
}
