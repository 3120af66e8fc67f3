//! `GET /v1/validation`: the estimator against published measurements.

use actix_web::{get, web};

use super::problem::ApiError;
use super::state::AppState;
use crate::validation::Report;

/// Per point (measured, predicted, error) and per metric family (points, coverage, median and
/// p90 absolute percentage error, signed bias) on `data/validation/`.
#[utoipa::path(operation_id = "get_validation_report", tag = "validation", responses((status = 200, description = "The validation report", body = Report)))]
#[get("/v1/validation")]
pub async fn report(state: web::Data<AppState>) -> Result<web::Json<Report>, ApiError> {
    // The first call runs every point (most of a second): off the HTTP worker.
    let validation = std::sync::Arc::clone(&state.context.validation);
    super::blocking::off_worker("validation", move || Ok::<_, ApiError>((*validation.report()).clone()))
        .await
        .map(web::Json)
}
