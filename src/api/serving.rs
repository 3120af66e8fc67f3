//! `POST /v1/estimate/serving`: extract, parse ([`crate::scenario::serving`]), replay off the
//! HTTP worker ([`crate::answer::serving`]).

use actix_web::{post, web};

use super::extract::Json;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::answer::serving::ServingResponse;
use crate::scenario::serving::{ServingRequest, ServingScenario};

/// Replays a deployment under a workload with continuous batching: throughput, TTFT, TPOT,
/// inter-token and end-to-end latency percentiles, queueing, KV-cache use, preemptions, the
/// load regime and, with an SLO, the highest request rate that meets it.
#[utoipa::path(operation_id = "estimate_serving",
    tag = "estimates",
    request_body = ServingRequest,
    responses(
        (status = 200, description = "The replay", body = ServingResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An impossible deployment, an unknown engine release, or more simulated work than one request may ask for", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/serving")]
pub async fn estimate(
    state: web::Data<AppState>,
    Json(request): Json<ServingRequest>,
) -> Result<web::Json<ServingResponse>, ApiError> {
    let scenario = ServingScenario::parse(&state.catalog, &request, "")?;
    let ctx = state.context.clone();
    let response =
        state.heavy.run("serving replay", move || Ok::<_, ApiError>(ServingResponse::new(&ctx, &scenario))).await?;
    Ok(web::Json(response))
}
