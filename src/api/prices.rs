//! `GET /v1/prices/devices` and `GET /v1/prices/api`: the catalog's dated, sourced prices, listable
//! and filterable, so a dashboard can show where every cost comes from.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::listing::{Listing, PageQuery};
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

/// One device's prices.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevicePrices {
    /// Catalog device id.
    pub device: String,
    /// Rental prices, by term, then price; each with its provider, source and date.
    pub rentals: Vec<Price>,
    /// Purchase prices, each with what is bought, its source and date (none when a provider or
    /// term is asked for).
    pub purchases: Vec<Purchase>,
}

/// A page of devices with at least one price that passes the filters, sorted by device id.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevicePriceList {
    /// Items on this page.
    pub count: usize,
    /// Devices matching the filters and search, on every page.
    pub total: usize,
    /// The `cursor` of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// This page's devices and their prices.
    pub items: Vec<DevicePrices>,
    /// What owning costs beyond the purchase when a request does not say.
    pub ownership_defaults: OwnershipDefaults,
}

/// Lists the catalog's device prices.
#[utoipa::path(operation_id = "list_device_prices",
    tag = "catalog",
    params(DevicePriceFilters, PageQuery),
    responses(
        (status = 200, description = "Rental and purchase prices, each with its source and date", body = DevicePriceList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown device id", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/prices/devices")]
pub async fn devices(
    state: web::Data<AppState>,
    Listing { filters, page }: Listing<DevicePriceFilters>,
) -> Result<web::Json<DevicePriceList>, ApiError> {
    device_prices(&state.catalog, &filters, &page).map(web::Json)
}

/// The device prices `filters` pass.
pub fn device_prices(
    catalog: &Catalog,
    filters: &DevicePriceFilters,
    page: &PageQuery,
) -> Result<DevicePriceList, ApiError> {
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
    let mut items = Vec::new();
    for d in catalog.devices() {
        let r = &d.record;
        if only.as_ref().is_some_and(|id| *id != r.id) {
            continue;
        }
        let mut rentals: Vec<Price> = r
            .price
            .iter()
            .filter(|p| filters.provider.as_ref().is_none_or(|want| p.provider.eq_ignore_ascii_case(want)))
            .filter(|p| filters.term.is_none_or(|t| p.term == t))
            .cloned()
            .collect();
        rentals.sort_by(|a, b| a.term.cmp(&b.term).then(a.usd_per_hour.total_cmp(&b.usd_per_hour)));
        let purchases: Vec<Purchase> = if rental_only { Vec::new() } else { r.purchase.clone() };
        if !rentals.is_empty() || !purchases.is_empty() {
            items.push(DevicePrices { device: r.id.clone(), rentals, purchases });
        }
    }
    items.sort_by(|a, b| a.device.cmp(&b.device));
    let page = page.apply(items, |d| {
        let mut text = vec![d.device.clone()];
        text.extend(d.rentals.iter().map(|p| p.provider.clone()));
        text
    })?;
    Ok(DevicePriceList {
        count: page.items.len(),
        total: page.total,
        next_cursor: page.next_cursor,
        items: page.items,
        ownership_defaults: catalog.ownership(),
    })
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

crate::list_body!(
    /// A page of hosted-API prices per million tokens, by id; `id` is what a plan's
    /// `api_price_id` names.
    ApiPriceList,
    ApiPriceRecord
);

/// Lists the hosted-API prices.
#[utoipa::path(operation_id = "list_api_prices",
    tag = "catalog",
    params(ApiPriceFilters, PageQuery),
    responses(
        (status = 200, description = "Hosted-model prices per million tokens, each with its source and date", body = ApiPriceList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/prices/api")]
pub async fn api(
    state: web::Data<AppState>,
    Listing { filters, page }: Listing<ApiPriceFilters>,
) -> Result<web::Json<ApiPriceList>, ApiError> {
    api_prices(&state.catalog, &filters, &page).map(web::Json)
}

/// The API prices `filters` pass.
pub fn api_prices(catalog: &Catalog, filters: &ApiPriceFilters, page: &PageQuery) -> Result<ApiPriceList, ApiError> {
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
    Ok(page.apply(items, |p| vec![p.id.clone(), p.provider.clone(), p.model.clone()])?.into())
}
