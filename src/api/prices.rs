//! `GET /v1/prices/devices` and `GET /v1/prices/api`: the catalog's dated, sourced prices, listable
//! and filterable, so a dashboard can show where every cost comes from.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Query;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::catalog::Catalog;
use crate::catalog::api_prices::ApiPriceRecord;
use crate::catalog::hardware::{Price, Purchase, Term};
use crate::catalog::prices::OwnershipDefaults;

/// Filters for device prices; all optional and combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DevicePriceFilters {
    /// Only this device (id or alias).
    #[param(example = "nvidia-h100-sxm-80gb")]
    pub device: Option<String>,
    /// Only rentals from this provider (`aws`, `lambda`, ...), case-insensitive.
    pub provider: Option<String>,
    /// Only rentals of this term.
    pub term: Option<Term>,
}

/// One rental price and its device.
#[derive(Debug, Serialize, ToSchema)]
pub struct RentalItem {
    /// Catalog device id.
    pub device: String,
    /// The price, its provider, term, source and date.
    pub price: Price,
}

/// One purchase price and its device.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseItem {
    /// Catalog device id.
    pub device: String,
    /// The price, what is bought, its source and date.
    pub purchase: Purchase,
}

/// Device prices.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevicePriceList {
    /// Devices with at least one listed price.
    pub devices: usize,
    /// Rental prices, by device, then term, then price.
    pub rentals: Vec<RentalItem>,
    /// Purchase prices, by device (none when a provider or term is asked for).
    pub purchases: Vec<PurchaseItem>,
    /// What owning costs beyond the purchase when a request does not say.
    pub ownership_defaults: OwnershipDefaults,
}

/// Lists the catalog's device prices.
#[utoipa::path(operation_id = "list_device_prices",
    tag = "catalog",
    params(DevicePriceFilters),
    responses(
        (status = 200, description = "Rental and purchase prices, each with its source and date", body = DevicePriceList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown device id", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/prices/devices")]
pub async fn devices(
    state: web::Data<AppState>,
    Query(filters): Query<DevicePriceFilters>,
) -> Result<web::Json<DevicePriceList>, ApiError> {
    device_prices(&state.catalog, &filters).map(web::Json)
}

/// The device prices `filters` pass.
pub fn device_prices(catalog: &Catalog, filters: &DevicePriceFilters) -> Result<DevicePriceList, ApiError> {
    let only = match &filters.device {
        Some(id) => Some(
            catalog
                .device(id)
                .map_err(|s| ApiError::from(crate::scenario::Error::unknown_id("hardware", id, s)))?
                .record
                .id
                .clone(),
        ),
        None => None,
    };
    let rental_only = filters.provider.is_some() || filters.term.is_some();
    let mut rentals = Vec::new();
    let mut purchases = Vec::new();
    let mut priced = 0;
    for d in catalog.devices() {
        let r = &d.record;
        if only.as_ref().is_some_and(|id| *id != r.id) {
            continue;
        }
        let before = rentals.len() + purchases.len();
        let mut own: Vec<&Price> = r
            .price
            .iter()
            .filter(|p| filters.provider.as_ref().is_none_or(|want| p.provider.eq_ignore_ascii_case(want)))
            .filter(|p| filters.term.is_none_or(|t| p.term == t))
            .collect();
        own.sort_by(|a, b| a.term.cmp(&b.term).then(a.usd_per_hour.total_cmp(&b.usd_per_hour)));
        rentals.extend(own.into_iter().map(|p| RentalItem { device: r.id.clone(), price: p.clone() }));
        if !rental_only {
            purchases.extend(r.purchase.iter().map(|p| PurchaseItem { device: r.id.clone(), purchase: p.clone() }));
        }
        if rentals.len() + purchases.len() > before {
            priced += 1;
        }
    }
    Ok(DevicePriceList { devices: priced, rentals, purchases, ownership_defaults: catalog.ownership() })
}

/// Filters for hosted-API prices.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApiPriceFilters {
    /// Only this provider, case-insensitive.
    #[param(example = "OpenAI")]
    pub provider: Option<String>,
    /// Only this model (a catalog id or alias for open weights, the vendor's name otherwise).
    pub model: Option<String>,
    /// Only open-weight (true) or closed (false) models.
    pub open_weights: Option<bool>,
}

/// Hosted-API prices.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiPriceList {
    /// Number of items.
    pub count: usize,
    /// Prices per million tokens, by id; `id` is what a plan's `api_price_id` names.
    pub items: Vec<ApiPriceRecord>,
}

/// Lists the hosted-API prices.
#[utoipa::path(operation_id = "list_api_prices",
    tag = "catalog",
    params(ApiPriceFilters),
    responses(
        (status = 200, description = "Hosted-model prices per million tokens, each with its source and date", body = ApiPriceList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/prices/api")]
pub async fn api(state: web::Data<AppState>, Query(filters): Query<ApiPriceFilters>) -> web::Json<ApiPriceList> {
    web::Json(api_prices(&state.catalog, &filters))
}

/// The API prices `filters` pass.
pub fn api_prices(catalog: &Catalog, filters: &ApiPriceFilters) -> ApiPriceList {
    // A model filter matches the catalog id its alias resolves to, or the name as given.
    let model = filters.model.as_ref().map(|m| catalog.model(m).map_or_else(|_| m.clone(), |c| c.record.id.clone()));
    let mut items: Vec<ApiPriceRecord> = catalog
        .api_prices()
        .iter()
        .filter(|p| filters.provider.as_ref().is_none_or(|want| p.provider.eq_ignore_ascii_case(want)))
        .filter(|p| model.as_ref().is_none_or(|want| p.model.eq_ignore_ascii_case(want)))
        .filter(|p| filters.open_weights.is_none_or(|o| p.open_weights == o))
        .cloned()
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    ApiPriceList { count: items.len(), items }
}
