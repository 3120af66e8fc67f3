//! What scale buys: `POST /v1/estimate/scaling`, `POST /v1/plan/scaling` and the fits they
//! use, `GET /v1/scaling/fits`. Both posts run training (and serving) estimates for every rung
//! they price, so they take a slot for heavy work.

use actix_web::{get, post, web};

use super::decisions::heavy;
use super::extract::Json;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use serde::Deserialize;
use utoipa::IntoParams;

use super::listing::{Listing, PageQuery};
use crate::answer::scaling::{ScalingPlanResponse, ScalingResponse};
use crate::catalog::Catalog;
use crate::catalog::scaling::ScalingFitRecord;
use crate::scenario::scaling::{ScalingPlanRequest, ScalingPlanScenario, ScalingRequest, ScalingScenario};

/// The loss a run reaches under a published scaling law, the compute-optimal model for the same
/// compute, and what the next 10x of compute buys in loss and in dollars on a device.
#[utoipa::path(operation_id = "estimate_scaling",
    tag = "estimates",
    request_body = ScalingRequest,
    responses(
        (status = 200, description = "Loss, compute-optimal twin, next 10x and the ladder with dollars", body = ScalingResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown fit, model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A catalog model without published training tokens and no `tokens`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/scaling")]
pub async fn estimate(
    state: web::Data<AppState>,
    Json(request): Json<ScalingRequest>,
) -> Result<web::Json<ScalingResponse>, ApiError> {
    let shared = state.clone().into_inner();
    heavy(&state, "scaling estimate", move || {
        let scenario = ScalingScenario::parse(&shared.catalog, &request)?;
        Ok(ScalingResponse::new(&shared, &scenario))
    })
    .await
}

/// The lifetime-optimal model for a target quality and an inference demand: the parameters and
/// tokens that minimise training plus inference FLOPs (Sardana et al. 2024) or dollars (from
/// the training and inference engines), against the compute-optimal model of the same quality.
#[utoipa::path(operation_id = "plan_scaling",
    tag = "decisions",
    request_body = ScalingPlanRequest,
    responses(
        (status = 200, description = "The optimal model, its compute-optimal twin and the saving", body = ScalingPlanResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown fit, model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A loss no model reaches under the fit, or `cost` without a price on the devices", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every slot for heavy work stayed busy: try again after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/plan/scaling")]
pub async fn plan(
    state: web::Data<AppState>,
    Json(request): Json<ScalingPlanRequest>,
) -> Result<web::Json<ScalingPlanResponse>, ApiError> {
    let shared = state.clone().into_inner();
    heavy(&state, "scaling plan", move || {
        let scenario = ScalingPlanScenario::parse(&shared.catalog, &request)?;
        ScalingPlanResponse::new(&shared, &scenario)
    })
    .await
}

/// Filters for the fit list (none yet; the struct keeps unknown parameters a 400).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FitFilters {}

crate::list_body!(
    /// A page of scaling-law fits, the default first.
    FitList,
    ScalingFitRecord
);

/// The published scaling-law fits, with their constants, what each loss is measured on and
/// where each constant comes from.
#[utoipa::path(operation_id = "list_scaling_fits",
    tag = "catalog",
    params(PageQuery),
    responses(
        (status = 200, description = "Every fit, the default first", body = FitList),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/scaling/fits")]
pub async fn fits(
    state: web::Data<AppState>,
    Listing { filters: FitFilters {}, page }: Listing<FitFilters>,
) -> Result<web::Json<FitList>, ApiError> {
    list_fits(&state.catalog, &page).map(web::Json)
}

/// The fit list: the default first, then catalog order.
pub fn list_fits(catalog: &Catalog, page: &PageQuery) -> Result<FitList, ApiError> {
    let mut items: Vec<ScalingFitRecord> = catalog.scaling_fits().iter().map(|f| f.record.clone()).collect();
    items.sort_by_key(|r| !r.default);
    Ok(page.apply(items, |f| vec![f.id.clone(), f.name.clone()])?.into())
}
