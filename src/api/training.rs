//! `POST /v1/estimate/training`: extract, parse ([`crate::scenario::training`]), answer
//! ([`crate::answer::training`]).

use actix_web::{post, web};

use super::extract::Json;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::answer::training::TrainingResponse;
use crate::scenario::training::{TrainingRequest, TrainingScenario};

/// Estimates memory, FLOPs, time, GPU-hours, cost and energy of a training run, with the rule
/// behind every number.
#[utoipa::path(operation_id = "estimate_training",
    tag = "estimates",
    request_body = TrainingRequest,
    responses(
        (status = 200, description = "The estimate", body = TrainingResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valid fields that describe an impossible run (layout not matching devices, batch not divisible, tensor degree not dividing the heads, ...)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/training")]
pub async fn estimate(
    state: web::Data<AppState>,
    Json(request): Json<TrainingRequest>,
) -> Result<web::Json<TrainingResponse>, ApiError> {
    let scenario = TrainingScenario::parse(&state.catalog, &request, "")?;
    Ok(web::Json(TrainingResponse::new(&state, &scenario)))
}
