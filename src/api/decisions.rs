//! The decision endpoints: `POST /v1/check`, `POST /v1/plan`, `POST /v1/plan/training`,
//! `POST /v1/estimate/batch` and `POST /v1/calibrate`. Each handler extracts its request and
//! calls its answer in [`crate::answer`]; the CPU-bound ones run off the async worker.

use actix_web::{post, web};

use super::extract::{FileJson, Json};
use super::problem::{ApiError, Problem};
use super::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

use crate::answer::batch::{BatchRequest, Estimate};
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

/// One item's wire form: an estimate or the problem document it would have been on its own.
fn batch_result(index: usize, result: Result<Estimate, crate::scenario::Error>) -> BatchResult {
    match result {
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
    }
}

/// The wire form of a batch's results: each failure becomes the problem document it would have
/// been on its own.
pub fn batch_response(results: Vec<Result<Estimate, crate::scenario::Error>>) -> BatchResponse {
    let results: Vec<BatchResult> =
        results.into_iter().enumerate().map(|(index, result)| batch_result(index, result)).collect();
    let succeeded = results.iter().filter(|r| r.problem.is_none()).count();
    BatchResponse { succeeded, failed: results.len() - succeeded, results }
}

/// What batches may hold at once: `slots` batches computed or sent at the same time (one more
/// is a 429 with `Retry-After`), each answer at most `max_output_bytes` of JSON (a batch whose
/// answers would be larger is a 422 at `/items`).
#[derive(Debug, Clone)]
pub struct BatchLimits {
    /// One permit per batch being computed or sent.
    pub slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// Largest answer of one batch, bytes.
    pub max_output_bytes: usize,
}

impl BatchLimits {
    /// `concurrent` batches at once (at least one), each answering at most `max_output_bytes`.
    pub fn new(concurrent: usize, max_output_bytes: usize) -> Self {
        Self { slots: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrent.max(1))), max_output_bytes }
    }
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self::new(2, 32 * 1024 * 1024)
    }
}

/// A batch's answer, serialised item by item: the JSON of [`BatchResponse`], byte for byte.
#[derive(Debug)]
pub struct BatchBody {
    /// The pieces, in order.
    pub chunks: Vec<web::Bytes>,
    /// Their total length.
    pub len: usize,
}

/// Runs a batch and serialises it as it goes (each item on the thread that estimated it, its
/// estimate dropped once written), stopping once the answers would pass `max_output_bytes`.
pub fn batch_body(
    ctx: &crate::answer::Context,
    request: &BatchRequest,
    max_output_bytes: usize,
) -> Result<BatchBody, crate::scenario::Error> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let written = AtomicUsize::new(0);
    // (succeeded, the item's JSON), or None once the budget is spent.
    let items = crate::answer::batch::batch_map(ctx, request, |index, result| {
        if written.load(Ordering::Relaxed) > max_output_bytes {
            return None;
        }
        let item = batch_result(index, result);
        let mut json = serde_json::to_vec(&item).ok()?;
        json.shrink_to_fit();
        if written.fetch_add(json.len() + 1, Ordering::Relaxed) + json.len() + 1 > max_output_bytes {
            return None;
        }
        Some((item.problem.is_none(), web::Bytes::from(json)))
    })?;
    let Some(items) = items.into_iter().collect::<Option<Vec<_>>>() else {
        return Err(crate::scenario::Error::unprocessable(
            "/items",
            format!(
                "the answers to these {} items would take more than {} MiB of JSON (the server's limit for one batch); split them into smaller batches",
                request.items.len(),
                max_output_bytes / (1024 * 1024)
            ),
        ));
    };
    let succeeded = items.iter().filter(|(ok, _)| *ok).count();
    let head = format!("{{\"succeeded\":{succeeded},\"failed\":{},\"results\":[", items.len() - succeeded);
    let mut chunks = Vec::with_capacity(2 * items.len() + 2);
    chunks.push(web::Bytes::from(head));
    for (i, (_, json)) in items.into_iter().enumerate() {
        if i > 0 {
            chunks.push(web::Bytes::from_static(b","));
        }
        chunks.push(json);
    }
    chunks.push(web::Bytes::from_static(b"]}"));
    let len = chunks.iter().map(web::Bytes::len).sum();
    Ok(BatchBody { chunks, len })
}

/// Admission of one batch: its slot (see [`BatchLimits`]) and the output limit. Refused with a
/// 429 and `Retry-After: 1` when every slot is taken: a 1000-item batch answers about 16 MB, and
/// without a bound 16 at once took the process from 66 MB to 554 MB.
pub struct BatchSlot(tokio::sync::OwnedSemaphorePermit, usize);

impl actix_web::FromRequest for BatchSlot {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let limits = req.app_data::<BatchLimits>().cloned().unwrap_or_default();
        std::future::ready(
            limits.slots.clone().try_acquire_owned().map(|slot| Self(slot, limits.max_output_bytes)).map_err(|_| {
                ApiError::Busy {
                    detail: "the server is computing or sending as many batches as it runs at once; try again shortly"
                        .into(),
                    retry_after_s: 1,
                }
            }),
        )
    }
}

/// A batch's answer being sent; it holds the batch's slot until the last byte has gone (or the
/// client has gone), so slow readers count against the bound too.
struct Sending {
    chunks: std::vec::IntoIter<web::Bytes>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl futures_core::Stream for Sending {
    type Item = Result<web::Bytes, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.chunks.next().map(Ok))
    }
}

/// `work` once the server admits it ([`super::admission`]), answered as JSON.
pub(super) async fn heavy<T: Send + 'static>(
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
        (status = 422, description = "The answers would pass the server's output limit for one batch (`/items`): split it", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "As many batches as the server runs at once are being computed or sent; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/batch")]
pub async fn batch_handler(
    // First, so a batch that finds every slot taken is refused before its body is read and
    // parsed (a client retrying in a loop costs a connection, not a parse).
    BatchSlot(slot, max_output_bytes): BatchSlot,
    state: web::Data<AppState>,
    Json(request): Json<BatchRequest>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let state = state.into_inner();
    let max = max_output_bytes;
    // Estimated and serialised on the blocking pool, never on the HTTP worker.
    let body = super::blocking::off_worker("batch", move || batch_body(&state, &request, max)).await?;
    let stream = Sending { chunks: body.chunks.into_iter(), _slot: slot };
    Ok(actix_web::HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(actix_web::body::SizedStream::new(body.len as u64, stream)))
}

/// Fits an engine's constants to your own measurements, with the error before and after.
///
/// Send the benchmark result files you have (`results`: `vllm bench serve --save-result` JSON,
/// GuideLLM reports, llm-d benchmark reports, genai-perf/AIPerf exports; a body up to the import
/// limit, 64 MiB by default) with the `deployment` they ran on: each run is replayed and five
/// engine constants are fitted, with the error per metric and per number, and on runs held out
/// of the fit. The answer's `profile` goes back as a request's `engine_profile`. Or send
/// measured estimate requests (`points`) for efficiency `overrides`.
#[utoipa::path(operation_id = "calibrate",
    tag = "validation",
    request_body = CalibrationRequest,
    responses(
        (status = 200, description = "Fitted efficiencies", body = CalibrationResult),
        (status = 400, description = "Malformed or out-of-range input", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Points that cannot be estimated or mix kinds, or a result file that cannot be read (the pointer names its field) or replayed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/calibrate")]
pub async fn calibrate_handler(
    state: web::Data<AppState>,
    FileJson(request): FileJson<CalibrationRequest>,
) -> Result<web::Json<CalibrationResult>, ApiError> {
    // Up to 200 points x ~200 engine runs, or 32 runs x ~1,000 replays of at most 500 requests:
    // bounded, but CPU-bound.
    let shared = state.clone().into_inner();
    heavy(&state, "calibration", move || calibrate(&shared, &request)).await
}
