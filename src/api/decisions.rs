//! The decision endpoints: `POST /v1/check`, `POST /v1/plan`, `POST /v1/plan/training`,
//! `POST /v1/estimate/batch` and `POST /v1/calibrate`. Each handler extracts its request and
//! calls its answer in [`crate::answer`]; the CPU-bound ones run off the async worker.

use actix_web::{post, web};

use super::extract::Json;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

use crate::answer::batch::{BatchRequest, Estimate, batch};
use crate::answer::calibrate::{CalibrationRequest, CalibrationResult, calibrate};
use crate::answer::check::{CheckResponse, check};
use crate::answer::inference::InferenceResponse;
use crate::answer::plan::{PlanResponse, plan};
use crate::answer::plan_training::{TrainingPlanResponse, plan_training};
use crate::answer::training::TrainingResponse;
use crate::scenario::check::CheckRequest;
use crate::scenario::plan::PlanRequest;
use crate::scenario::plan_training::TrainingPlanRequest;

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

/// The wire form of a batch's results: each failure becomes the problem document it would have
/// been on its own.
pub fn batch_response(results: Vec<Result<Estimate, crate::scenario::Error>>) -> BatchResponse {
    let results: Vec<BatchResult> = results
        .into_iter()
        .enumerate()
        .map(|(index, result)| match result {
            Ok(Estimate::Inference(e)) => {
                BatchResult { index, status: 200, inference: Some(e), training: None, problem: None }
            }
            Ok(Estimate::Training(e)) => {
                BatchResult { index, status: 200, inference: None, training: Some(e), problem: None }
            }
            Err(error) => {
                let problem = ApiError::from(error).problem();
                BatchResult { index, status: problem.status, inference: None, training: None, problem: Some(problem) }
            }
        })
        .collect();
    let succeeded = results.iter().filter(|r| r.problem.is_none()).count();
    BatchResponse { succeeded, failed: results.len() - succeeded, results }
}

/// `work` once the server admits it ([`super::admission`]), answered as JSON.
async fn heavy<T: Send + 'static>(
    state: &web::Data<AppState>,
    what: &'static str,
    work: impl FnOnce() -> Result<T, crate::scenario::Error> + Send + 'static,
) -> Result<web::Json<T>, ApiError> {
    state.heavy.run(what, work).await.map(web::Json)
}

/// Checks a deployment plan against requirements: an overall verdict and one entry per rule.
#[utoipa::path(operation_id = "check_plan",
    tag = "decisions",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "The verdict, rule by rule", body = CheckResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A plan hwcost cannot estimate (other than an invalid layout, which is a failed rule)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/check")]
pub async fn check_handler(
    state: web::Data<AppState>,
    Json(request): Json<CheckRequest>,
) -> Result<web::Json<CheckResponse>, ApiError> {
    // An inference check replays the deployment under load (its capacity search): admitted
    // as heavy work, like the planner.
    let shared = state.clone().into_inner();
    heavy(&state, "check", move || check(&shared, &request)).await
}

/// Searches deployments for a workload and ranks the ones meeting the requirements.
#[utoipa::path(operation_id = "plan_deployment",
    tag = "decisions",
    request_body = PlanRequest,
    responses(
        (status = 200, description = "Ranked configurations, Pareto frontier, rejections, the best one's estimate and check", body = PlanResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model, hardware or API price id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A search space larger than the server's cap, or filters that match no device", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/plan")]
pub async fn plan_handler(
    state: web::Data<AppState>,
    Json(request): Json<PlanRequest>,
) -> Result<web::Json<PlanResponse>, ApiError> {
    let shared = state.clone().into_inner();
    heavy(&state, "plan", move || plan(&shared, &request)).await
}

/// Searches device kinds, counts and layouts for a training run: the fewest devices to finish
/// by a deadline, the cheapest within a budget, or the fastest.
#[utoipa::path(operation_id = "plan_training",
    tag = "decisions",
    request_body = TrainingPlanRequest,
    responses(
        (status = 200, description = "Ranked layouts, the best per device kind, rejections, the best one's estimate and check", body = TrainingPlanResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A template run hwcost cannot estimate, a search space above the cap, or filters that match no device", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/plan/training")]
pub async fn plan_training_handler(
    state: web::Data<AppState>,
    Json(request): Json<TrainingPlanRequest>,
) -> Result<web::Json<TrainingPlanResponse>, ApiError> {
    let shared = state.clone().into_inner();
    heavy(&state, "training plan", move || plan_training(&shared, &request)).await
}

/// Makes many inference and training estimates in one call; one bad item does not fail the
/// others.
#[utoipa::path(operation_id = "estimate_batch",
    tag = "decisions",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per item, in order: an estimate or its problem", body = BatchResponse),
        (status = 400, description = "Malformed JSON, or no items or more than the cap", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/batch")]
pub async fn batch_handler(
    state: web::Data<AppState>,
    Json(request): Json<BatchRequest>,
) -> Result<web::Json<BatchResponse>, ApiError> {
    let shared = state.clone().into_inner();
    let web::Json(results) = heavy(&state, "batch", move || batch(&shared, &request)).await?;
    Ok(web::Json(batch_response(results)))
}

/// Fits an engine's efficiencies to your own measurements and returns them as `overrides` for
/// later estimates, with the error before and after.
#[utoipa::path(operation_id = "calibrate",
    tag = "validation",
    request_body = CalibrationRequest,
    responses(
        (status = 200, description = "Fitted efficiencies", body = CalibrationResult),
        (status = 400, description = "Malformed or out-of-range input", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Points that cannot be estimated or mix kinds", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/calibrate")]
pub async fn calibrate_handler(
    state: web::Data<AppState>,
    Json(request): Json<CalibrationRequest>,
) -> Result<web::Json<CalibrationResult>, ApiError> {
    // Up to 200 points x ~200 engine runs: milliseconds, but CPU-bound.
    let shared = state.clone().into_inner();
    heavy(&state, "calibration", move || calibrate(&shared, &request)).await
}
