//! `GET /v1/host`: the machine the service runs on; `POST /v1/host/benchmarks`: measure it.
//!
//! Benchmarks load the machine for seconds and allocate hundreds of megabytes, so they are off
//! unless the server was started with a token (`--benchmark-token`), need that token as a bearer
//! credential, run one at a time, and always run at the quick, bounded size.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpRequest, get, http::header, post, web};

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

/// Who may run benchmarks, and whether one is running.
#[derive(Debug, Default)]
pub struct BenchmarkGate {
    token: Option<String>,
    running: AtomicBool,
}

impl BenchmarkGate {
    /// A gate that opens for `token`; `None` keeps benchmarks disabled.
    pub fn new(token: Option<String>) -> Self {
        Self { token: token.filter(|t| !t.is_empty()), running: AtomicBool::new(false) }
    }

    /// Checks the request's credentials and claims the single benchmark slot.
    ///
    /// No bearer credentials is a 401 (the operation needs them); credentials on a server that
    /// has benchmarks off is a 403 (no token could succeed); the wrong token is a 401.
    fn enter(self: &Arc<Self>, request: &HttpRequest) -> Result<Running, ApiError> {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let Some(token) = &self.token else {
            return Err(ApiError::Disabled(
                "benchmarks are disabled on this server; start it with --benchmark-token (HWCOST_BENCHMARK_TOKEN) to enable them".into(),
            ));
        };
        if !constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(ApiError::Busy {
                detail: "a benchmark is already running on this host".into(),
                retry_after_s: 5,
            });
        }
        Ok(Running(self.clone()))
    }
}

/// The claimed benchmark slot; released when the run ends, even if the client has gone.
struct Running(Arc<BenchmarkGate>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
        calibration::run(&catalog, Size::Quick)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("benchmark thread failed: {e}")))?;
    Ok(web::Json(report))
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
