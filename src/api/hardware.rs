//! `GET /v1/hardware` and `GET /v1/hardware/{id}`.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::listing::{Listing, PageQuery};
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::catalog::hardware::{DeviceRecord, Kind};
use crate::catalog::{Catalog, CatalogDevice, DeviceFilter};
use crate::scenario::range::{self, Checks};

/// Filters for the device list; all optional and combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HardwareFilters {
    /// Vendor slug (`nvidia`, `amd`, `intel`, `google`, `apple`), case-insensitive.
    #[param(example = "nvidia")]
    pub vendor: Option<String>,
    /// Device kind.
    pub kind: Option<Kind>,
    /// At least this much memory per device, GiB (0 to 1000000).
    #[param(example = 80)]
    pub min_memory_gib: Option<f64>,
    /// At most this much memory per device, GiB (0 to 1000000).
    pub max_memory_gib: Option<f64>,
}

/// A device in a list: the figures that tell devices apart at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceSummary {
    /// Catalog id.
    #[schema(example = "nvidia-h100-sxm-80gb")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names that resolve to this id (case-insensitive).
    pub aliases: Vec<String>,
    /// Vendor slug.
    pub vendor: String,
    /// Device kind.
    pub kind: Kind,
    /// Year of release.
    pub release_year: u16,
    /// Memory per device, bytes (vendors' "GB" capacities are binary: 80 GB is 80 GiB).
    pub memory_bytes: u64,
    /// Peak memory bandwidth, decimal GB/s.
    pub memory_bandwidth_gb_per_s: f64,
    /// Dense BF16 peak (FP16 when BF16 is absent, else FP32), TFLOP/s.
    pub dense_16bit_tflops: Option<f64>,
    /// Thermal design power, watts, when published.
    pub tdp_w: Option<f64>,
    /// Lowest published on-demand rental price per device-hour, USD.
    pub usd_per_hour: Option<f64>,
    /// Newest published purchase price, USD (for a system-on-chip, the machine).
    pub purchase_usd: Option<f64>,
}

impl From<&CatalogDevice> for DeviceSummary {
    fn from(d: &CatalogDevice) -> Self {
        let r = &d.record;
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            aliases: r.aliases.clone(),
            vendor: r.vendor.clone(),
            kind: r.kind,
            release_year: r.release_year,
            memory_bytes: gib_to_bytes(r.memory_gib),
            memory_bandwidth_gb_per_s: r.memory_bandwidth_gb_per_s,
            dense_16bit_tflops: r.dense_tflops.bf16.or(r.dense_tflops.fp16).or(r.dense_tflops.fp32),
            tdp_w: r.tdp_w,
            usd_per_hour: r.lowest_usd_per_hour(),
            purchase_usd: d.pricing.newest_purchase().map(|p| p.usd),
        }
    }
}

/// Whole bytes of a capacity given in GiB.
pub fn gib_to_bytes(gib: f64) -> u64 {
    (gib * 1024.0 * 1024.0 * 1024.0).round() as u64
}

crate::list_body!(
    /// A page of devices, sorted by id.
    DeviceList,
    DeviceSummary
);

/// Lists catalog devices, optionally filtered.
#[utoipa::path(operation_id = "list_hardware",
    tag = "catalog",
    params(HardwareFilters, PageQuery),
    responses(
        (status = 200, description = "Matching devices, sorted by id", body = DeviceList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/hardware")]
pub async fn list(
    state: web::Data<AppState>,
    Listing { filters, page }: Listing<HardwareFilters>,
) -> Result<web::Json<DeviceList>, ApiError> {
    list_devices(&state.catalog, filters, &page).map(web::Json)
}

/// The device list for `filters`.
pub fn list_devices(catalog: &Catalog, filters: HardwareFilters, page: &PageQuery) -> Result<DeviceList, ApiError> {
    let mut checks = Checks::default();
    let min = checks.number("/min_memory_gib", range::MEMORY_GIB, filters.min_memory_gib);
    let max = checks.number("/max_memory_gib", range::MEMORY_GIB, filters.max_memory_gib);
    checks.finish().map_err(ApiError::from)?;
    let filter = DeviceFilter {
        vendor: filters.vendor,
        kinds: filters.kind.into_iter().collect(),
        min_memory_gib: min,
        max_memory_gib: max,
    };
    let items: Vec<DeviceSummary> = catalog.devices_matching(&filter).map(DeviceSummary::from).collect();
    let page = page.apply(items, |d| {
        let mut text = vec![d.id.clone(), d.name.clone()];
        text.extend(d.aliases.iter().cloned());
        text
    })?;
    Ok(page.into())
}

/// One device, with every figure and its sources.
#[utoipa::path(operation_id = "get_hardware",
    tag = "catalog",
    params(("id" = String, Path, description = "Device id or alias", example = "nvidia-h100-sxm-80gb")),
    responses(
        (status = 200, description = "The device record", body = DeviceRecord),
        (status = 404, description = "Unknown id; the detail suggests close matches", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/hardware/{id}")]
pub async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<web::Json<DeviceRecord>, ApiError> {
    record(&state.catalog, &id).map(web::Json)
}

/// The full record of device `id`.
pub fn record(catalog: &Catalog, id: &str) -> Result<DeviceRecord, ApiError> {
    let device = catalog
        .device(id)
        .map_err(|suggestions| ApiError::from(crate::scenario::Error::unknown_id("hardware", id, suggestions)))?;
    Ok(device.record.clone())
}
