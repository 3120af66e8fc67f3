//! `GET /v1/host`: the machine the service runs on; `POST /v1/host/benchmarks`: measure it.
//!
//! Benchmarks load the machine for seconds and allocate hundreds of megabytes, so they are off
//! unless the server was started with a token (`--benchmark-token`), need that token as a bearer
//! credential, run one at a time, and always run at the quick, bounded size.

use actix_web::{HttpRequest, get, post, web};

use super::problem::ApiError;
use super::state::AppState;
use crate::host::calibration::{self, BenchReport, Size};
use crate::host::{HostDescription, describe};

/// CPU, cores, frequency, memory, OS, SIMD and matrix extensions, and the matching catalog
/// device, read when asked (available memory changes).
#[utoipa::path(operation_id = "describe_host", tag = "host", responses((status = 200, description = "This host", body = HostDescription)))]
#[get("/v1/host")]
pub async fn host(state: web::Data<AppState>) -> web::Json<HostDescription> {
    let catalog = state.catalog.clone();
    // sysinfo samples /proc; keep it off the async worker.
    let description = web::block(move || describe(&catalog)).await;
    web::Json(description.unwrap_or_else(|_| describe(&state.catalog)))
}

/// Runs the quick microbenchmarks on this host (f32 GEMM, STREAM bandwidth and, in builds with
/// the `transformer-bench` feature, a real forward pass compared with hwcost's prediction of it).
///
/// Takes a few seconds and about 1.6 GB; disabled unless the server was started with a token.
#[utoipa::path(operation_id = "run_host_benchmarks",
    tag = "host",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Measured peaks, and the forward pass against its prediction", body = BenchReport),
        (status = 401, description = "Missing or wrong bearer token", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Bearer credentials sent, but benchmarks are disabled on this server", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "A benchmark is already running", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/host/benchmarks")]
pub async fn benchmarks(state: web::Data<AppState>, request: HttpRequest) -> Result<web::Json<BenchReport>, ApiError> {
    let running = state.benchmarks.enter(&request)?;
    let catalog = state.catalog.clone();
    let report = web::block(move || {
        let _running = running;
        calibration::measure(&catalog, Size::Quick)
    })
    .await
    .map_err(|e| ApiError::internal(format!("benchmark thread failed: {e}")))?;
    Ok(web::Json(report))
}
