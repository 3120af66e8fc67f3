//! `GET /v1/engines`, `GET /v1/formats`, `GET /v1/networks` and `GET /v1/families`: every id a
//! request may name, listable, so a dashboard never hard-codes one.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::listing::{Listing, PageQuery};
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::catalog::Catalog;
use crate::catalog::formats::ComputeName;
use crate::catalog::networks::NetworkRecord;

/// What an engine profile estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Serving: `engine` of inference, serving, check and plan requests.
    Inference,
    /// Training and fine-tuning: `engine` of training requests.
    Training,
}

/// Filters for the engine list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EngineFilters {
    /// Only inference or only training profiles.
    pub kind: Option<EngineKind>,
}

/// An engine profile: the id a request's `engine` names, and what its constants rest on.
#[derive(Debug, Serialize, ToSchema)]
pub struct EngineSummary {
    /// The id to send (`vllm`, `vllm@v0`, `torchtune`).
    #[schema(example = "vllm")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Inference or training.
    pub kind: EngineKind,
    /// The release this profile describes (`v0` for `vllm@v0`); absent for the plain id, which
    /// means the engine's latest release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// What the calibration constants were fitted on.
    pub fitted_on: String,
    /// Where the defaults come from.
    pub sources: Vec<String>,
}

crate::list_body!(
    /// A page of engine profiles: inference ones first, then training ones, each in catalog order.
    EngineList,
    EngineSummary
);

/// Lists the engine profiles.
#[utoipa::path(operation_id = "list_engines",
    tag = "catalog",
    params(EngineFilters, PageQuery),
    responses(
        (status = 200, description = "Engine profiles with what each was fitted on", body = EngineList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/engines")]
pub async fn engines(
    state: web::Data<AppState>,
    Listing { filters, page }: Listing<EngineFilters>,
) -> Result<web::Json<EngineList>, ApiError> {
    list_engines(&state.catalog, &filters, &page).map(web::Json)
}

/// The engine list for `filters`.
pub fn list_engines(catalog: &Catalog, filters: &EngineFilters, page: &PageQuery) -> Result<EngineList, ApiError> {
    let inference = catalog.engines().iter().map(|e| EngineSummary {
        id: e.record.id.clone(),
        name: e.record.name.clone(),
        kind: EngineKind::Inference,
        release: e.record.id.split_once('@').map(|(_, release)| release.to_owned()),
        fitted_on: e.record.fitted_on.clone(),
        sources: e.record.sources.clone(),
    });
    let training = catalog.training_profiles().iter().map(|t| EngineSummary {
        id: t.record.id.clone(),
        name: t.record.name.clone(),
        kind: EngineKind::Training,
        release: None,
        fitted_on: t.record.fitted_on.clone(),
        sources: t.record.defaults_source.iter().cloned().collect(),
    });
    let items: Vec<EngineSummary> =
        inference.chain(training).filter(|e| filters.kind.is_none_or(|kind| e.kind == kind)).collect();
    Ok(page.apply(items, |e| vec![e.id.clone(), e.name.clone()])?.into())
}

/// Filters for the format list (none yet; the struct keeps unknown parameters a 400).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatFilters {
    /// Only formats whose matrix products run in this data type.
    pub compute: Option<ComputeName>,
}

/// A weight or KV-cache format: the id `weights` and `kv_cache` name.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormatSummary {
    /// The id to send.
    #[schema(example = "q4_k_m")]
    pub id: String,
    /// Bits per weight, scales included.
    pub bits_per_weight: f64,
    /// The data type matrix products run in with this format.
    pub compute: ComputeName,
    /// Where the figure comes from.
    pub source: String,
}

crate::list_body!(
    /// A page of formats, in catalog order (widest first).
    FormatList,
    FormatSummary
);

/// Lists the weight formats.
#[utoipa::path(operation_id = "list_formats",
    tag = "catalog",
    params(FormatFilters, PageQuery),
    responses(
        (status = 200, description = "Weight and KV-cache formats with their bits per weight", body = FormatList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/formats")]
pub async fn formats(
    state: web::Data<AppState>,
    Listing { filters, page }: Listing<FormatFilters>,
) -> Result<web::Json<FormatList>, ApiError> {
    list_formats(&state.catalog, &filters, &page).map(web::Json)
}

/// The format list for `filters`.
pub fn list_formats(catalog: &Catalog, filters: &FormatFilters, page: &PageQuery) -> Result<FormatList, ApiError> {
    let items: Vec<FormatSummary> = catalog
        .formats()
        .iter()
        .filter(|f| filters.compute.is_none_or(|c| f.compute == c))
        .map(|f| FormatSummary {
            id: f.id.clone(),
            bits_per_weight: f.bits_per_weight,
            compute: f.compute,
            source: f.source.clone(),
        })
        .collect();
    Ok(page.apply(items, |f| vec![f.id.clone()])?.into())
}

/// Filters for the family list (none yet; the struct keeps unknown parameters a 400).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FamilyFilters {}

/// A model family: the value `GET /v1/models?family=` takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelFamily {
    /// Family slug.
    #[schema(example = "llama-3.1")]
    pub id: String,
    /// Models of the family in the catalog.
    pub models: usize,
    /// Their ids, sorted.
    pub model_ids: Vec<String>,
    /// Their Hugging Face `model_type`s.
    pub model_types: Vec<String>,
}

crate::list_body!(
    /// A page of model families, sorted by id.
    ModelFamilyList,
    ModelFamily
);

/// Lists the model families.
#[utoipa::path(operation_id = "list_families",
    tag = "catalog",
    params(FamilyFilters, PageQuery),
    responses(
        (status = 200, description = "Model families and their models", body = ModelFamilyList),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/families")]
pub async fn families(
    state: web::Data<AppState>,
    Listing { filters: FamilyFilters {}, page }: Listing<FamilyFilters>,
) -> Result<web::Json<ModelFamilyList>, ApiError> {
    list_families(&state.catalog, &page).map(web::Json)
}

/// The family list.
pub fn list_families(catalog: &Catalog, page: &PageQuery) -> Result<ModelFamilyList, ApiError> {
    let mut by_family: std::collections::BTreeMap<&str, ModelFamily> = std::collections::BTreeMap::new();
    for m in catalog.models() {
        let family = by_family.entry(m.record.family.as_str()).or_insert_with(|| ModelFamily {
            id: m.record.family.clone(),
            models: 0,
            model_ids: Vec::new(),
            model_types: Vec::new(),
        });
        family.models += 1;
        family.model_ids.push(m.record.id.clone());
        if !family.model_types.contains(&m.architecture.model_type) {
            family.model_types.push(m.architecture.model_type.clone());
        }
    }
    let items: Vec<ModelFamily> = by_family
        .into_values()
        .map(|mut f| {
            f.model_ids.sort();
            f.model_types.sort();
            f
        })
        .collect();
    Ok(page
        .apply(items, |f| {
            let mut text = vec![f.id.clone()];
            text.extend(f.model_ids.iter().cloned());
            text
        })?
        .into())
}

/// Filters for the network list (none yet; the struct keeps unknown parameters a 400).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NetworkFilters {}

crate::list_body!(
    /// A page of networks between nodes, in catalog order (the default first).
    NetworkList,
    NetworkRecord
);

/// Lists the networks between nodes: the ids a deployment's `network` names.
#[utoipa::path(operation_id = "list_networks",
    tag = "catalog",
    params(NetworkFilters, PageQuery),
    responses(
        (status = 200, description = "Networks between nodes, per device, with sources", body = NetworkList),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/networks")]
pub async fn networks(
    state: web::Data<AppState>,
    Listing { filters: NetworkFilters {}, page }: Listing<NetworkFilters>,
) -> Result<web::Json<NetworkList>, ApiError> {
    list_networks(&state.catalog, &page).map(web::Json)
}

/// The network list.
pub fn list_networks(catalog: &Catalog, page: &PageQuery) -> Result<NetworkList, ApiError> {
    let items: Vec<NetworkRecord> = catalog.networks().iter().map(|n| n.record.clone()).collect();
    Ok(page.apply(items, |n| vec![n.id.clone(), n.name.clone(), n.kind.clone()])?.into())
}
