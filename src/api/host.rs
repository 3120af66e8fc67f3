//! `GET /v1/host`: the machine the service runs on.

use actix_web::{get, web};

use super::state::AppState;
use crate::host::{HostDescription, describe};

/// CPU, cores, frequency, memory, OS, SIMD and matrix extensions, and the matching catalog
/// device, read when asked (available memory changes).
#[utoipa::path(tag = "host", responses((status = 200, description = "This host", body = HostDescription)))]
#[get("/v1/host")]
pub async fn host(state: web::Data<AppState>) -> web::Json<HostDescription> {
    let catalog = state.catalog.clone();
    // sysinfo samples /proc; keep it off the async worker.
    let description = web::block(move || describe(&catalog)).await;
    web::Json(description.unwrap_or_else(|_| describe(&state.catalog)))
}
