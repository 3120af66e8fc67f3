//! Operational endpoints: liveness, readiness, metrics.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::{ApiError, Problem};
use super::state::AppState;

/// Liveness answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
}

/// Readiness answer: the catalog is loaded.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ready", "version": "0.1.0", "catalog": {"formats": 13, "hardware": 64, "models": 70}}))]
pub struct Readiness {
    /// `ready`.
    pub status: &'static str,
    /// Service version.
    pub version: &'static str,
    /// Entries loaded per catalog section.
    pub catalog: BTreeMap<&'static str, usize>,
}

/// Liveness: the process is up and serving.
#[utoipa::path(operation_id = "healthz", tag = "operations", responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the catalog is loaded and non-empty, and the server is not draining.
#[utoipa::path(operation_id = "readyz", tag = "operations", responses(
    (status = 200, description = "Ready", body = Readiness),
    (status = 503, description = "Catalog not loaded, or the server is draining before it stops", body = Problem, content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Readiness>, ApiError> {
    if state.drain.is_draining() {
        return Err(ApiError::NotReady("the server is draining: it finishes in-flight requests, then stops".into()));
    }
    let catalog = state.catalog.counts();
    if catalog.get("hardware").copied().unwrap_or(0) == 0 || catalog.get("models").copied().unwrap_or(0) == 0 {
        return Err(ApiError::NotReady("the catalog is empty".into()));
    }
    Ok(web::Json(Readiness { status: "ready", version: env!("CARGO_PKG_VERSION"), catalog }))
}

/// Prometheus metrics in the text exposition format: request counts and latency histograms per
/// route and status, and build info.
#[utoipa::path(operation_id = "metrics", tag = "operations", responses((status = 200, description = "Metrics", body = String, content_type = "text/plain; version=0.0.4")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let encoder = prometheus::TextEncoder::new();
    let text = encoder
        .encode_to_string(&state.registry.gather())
        .map_err(|e| ApiError::internal(format!("encoding metrics: {e}")))?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text))
}
