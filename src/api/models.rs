//! `GET /v1/models`, `GET /v1/models/{id}` and `GET /v1/models/{id}/parameters`.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::listing::{Listing, PageQuery};
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::catalog::formats::FormatRecord;
use crate::catalog::models::ModelRecord;
use crate::catalog::{Catalog, CatalogModel};
use crate::engine::anatomy::{Anatomy, Group, Kind};
use crate::engine::units::Params;
use crate::scenario::range::{self, Checks};

/// Filters for the model list; all optional and combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ModelFilters {
    /// Family slug (`llama-2`, `gpt-3`, `qwen3`), case-insensitive.
    #[param(example = "llama-2")]
    pub family: Option<String>,
    /// Hugging Face `model_type` (`llama`, `gpt2`, `mixtral`).
    pub model_type: Option<String>,
    /// At least this many parameters, in billions (0 to 100000).
    #[param(example = 7)]
    pub min_parameters_b: Option<f64>,
    /// At most this many parameters, in billions (0 to 100000).
    pub max_parameters_b: Option<f64>,
    /// Only mixture-of-experts models (`true`) or only dense ones (`false`).
    pub moe: Option<bool>,
    /// Only models whose pre-training tokens are published (`true`: they carry
    /// `training_tokens`) or only those without (`false`).
    pub has_training_tokens: Option<bool>,
}

/// A model in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelSummary {
    /// Catalog id.
    #[schema(example = "llama-2-7b")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names that resolve to this id (case-insensitive), the Hugging Face repo name among them.
    pub aliases: Vec<String>,
    /// Family slug.
    pub family: String,
    /// Hugging Face `model_type`.
    pub model_type: String,
    /// Size as published.
    pub nominal_size: String,
    /// Parameters computed from the architecture.
    #[schema(example = 6738415616u64)]
    pub total_parameters: u64,
    /// Parameters one token computes with: all but the routed experts it skips and the
    /// embedding tables it only looks up (a tied table counts once, as the LM head).
    pub active_parameters_per_token: u64,
    /// Transformer blocks.
    pub layers: u32,
    /// The longest context the model was trained for (its window-aware limit), tokens; an
    /// estimate's usable context is the smaller of this and what memory holds.
    pub trained_context_tokens: u64,
    /// Mixture of experts.
    pub moe: bool,
    /// Tokens the model was pre-trained on, as its paper or card states them (the detail gives
    /// the source); absent where none is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 2.0e12)]
    pub training_tokens: Option<f64>,
    /// `training_tokens` per parameter computed from the architecture (`total_parameters`);
    /// absent without `training_tokens`. Chinchilla's compute-optimal ratio is about 20.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 296.8)]
    pub tokens_per_parameter: Option<f64>,
}

impl From<&CatalogModel> for ModelSummary {
    fn from(m: &CatalogModel) -> Self {
        Self {
            id: m.record.id.clone(),
            name: m.record.name.clone(),
            aliases: crate::catalog::model_aliases(&m.record),
            family: m.record.family.clone(),
            model_type: m.architecture.model_type.clone(),
            nominal_size: m.record.nominal_size.clone(),
            total_parameters: m.anatomy.total.0,
            active_parameters_per_token: m.anatomy.active_per_token.0,
            layers: m.architecture.layers,
            trained_context_tokens: m.architecture.max_context,
            moe: m.architecture.moe.is_some(),
            training_tokens: m.record.training_tokens,
            tokens_per_parameter: m.tokens_per_parameter(),
        }
    }
}

crate::list_body!(
    /// A page of models, sorted by id.
    ModelList,
    ModelSummary
);

/// Lists catalog models, optionally filtered.
#[utoipa::path(operation_id = "list_models",
    tag = "catalog",
    params(ModelFilters, PageQuery),
    responses(
        (status = 200, description = "Matching models, sorted by id", body = ModelList),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No model has this family or model_type; the detail suggests close ones", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/models")]
pub async fn list(
    state: web::Data<AppState>,
    Listing { filters, page }: Listing<ModelFilters>,
) -> Result<web::Json<ModelList>, ApiError> {
    list_models(&state.catalog, filters, &page).map(web::Json)
}

/// The model list for `filters`.
pub fn list_models(catalog: &Catalog, filters: ModelFilters, page: &PageQuery) -> Result<ModelList, ApiError> {
    let mut checks = Checks::default();
    let min = checks.number("/min_parameters_b", range::PARAMETERS_B, filters.min_parameters_b);
    let max = checks.number("/max_parameters_b", range::PARAMETERS_B, filters.max_parameters_b);
    checks.finish().map_err(ApiError::from)?;
    let family = filters.family.map(|f| f.to_ascii_lowercase());
    let model_type = filters.model_type.map(|f| f.to_ascii_lowercase());
    // A family or model type no model has is a typo, not an empty answer: 404, as an unknown
    // device filter is, with the names that come closest.
    let unknown = |kind: &'static str, given: &str, names: Vec<&str>| {
        let mut names: Vec<String> = names.into_iter().map(str::to_owned).collect();
        names.sort();
        names.dedup();
        let stem = given.split(['-', '.', '_']).next().unwrap_or(given);
        let close: Vec<String> =
            names.into_iter().filter(|n| n.contains(stem) || stem.contains(n.as_str())).take(8).collect();
        ApiError::from(crate::scenario::Error::unknown_id(kind, given, close))
    };
    if let Some(f) = &family
        && !catalog.models().iter().any(|m| m.record.family == *f)
    {
        return Err(unknown("family", f, catalog.models().iter().map(|m| m.record.family.as_str()).collect()));
    }
    if let Some(t) = &model_type
        && !catalog.models().iter().any(|m| m.architecture.model_type == *t)
    {
        return Err(unknown(
            "model_type",
            t,
            catalog.models().iter().map(|m| m.architecture.model_type.as_str()).collect(),
        ));
    }
    let billions = |m: &CatalogModel| params_f64(m.anatomy.total) / 1e9;
    let items: Vec<ModelSummary> = catalog
        .models()
        .iter()
        .filter(|m| family.as_ref().is_none_or(|f| m.record.family == *f))
        .filter(|m| model_type.as_ref().is_none_or(|t| m.architecture.model_type == *t))
        .filter(|m| min.is_none_or(|b| billions(m) >= b))
        .filter(|m| max.is_none_or(|b| billions(m) <= b))
        .filter(|m| filters.moe.is_none_or(|moe| m.architecture.moe.is_some() == moe))
        .filter(|m| filters.has_training_tokens.is_none_or(|has| m.record.training_tokens.is_some() == has))
        .map(ModelSummary::from)
        .collect();
    let page = page.apply(items, |m| {
        let mut text = vec![m.id.clone(), m.name.clone(), m.family.clone()];
        text.extend(m.aliases.iter().cloned());
        text
    })?;
    Ok(page.into())
}

/// A model's full record with its computed size: the record's fields at the top level, as a
/// device's are.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDetail {
    /// The catalog record, with sources. Inlined: the record's schema is closed (a data file
    /// may not carry unknown keys), and a closed schema under `allOf` would forbid the fields
    /// this detail adds.
    #[serde(flatten)]
    #[schema(inline)]
    pub model: ModelRecord,
    /// Parameters computed from the architecture.
    pub total_parameters: u64,
    /// Parameters one token uses.
    pub active_parameters_per_token: u64,
    /// `training_tokens` per parameter computed from the architecture (`total_parameters`, every
    /// expert of a mixture counted); absent where the record has no `training_tokens`.
    /// Chinchilla's compute-optimal ratio is about 20; GPT-3 175B's is 1.7, Llama 2 7B's about 300.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 296.8)]
    pub tokens_per_parameter: Option<f64>,
}

fn find<'c>(catalog: &'c Catalog, id: &str) -> Result<&'c CatalogModel, ApiError> {
    catalog
        .model(id)
        .map_err(|suggestions| ApiError::from(crate::scenario::Error::unknown_id("model", id, suggestions)))
}

/// One model, with its architecture and sources.
#[utoipa::path(operation_id = "get_model",
    tag = "catalog",
    params(("id" = String, Path, description = "Model id, alias or Hugging Face repo name", example = "gpt-3-175b")),
    responses(
        (status = 200, description = "The model record", body = ModelDetail),
        (status = 404, description = "Unknown id; the detail suggests close matches", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/models/{id}")]
pub async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<web::Json<ModelDetail>, ApiError> {
    detail(&state.catalog, &id).map(web::Json)
}

/// The record of model `id` with its computed size.
pub fn detail(catalog: &Catalog, id: &str) -> Result<ModelDetail, ApiError> {
    let model = find(catalog, id)?;
    Ok(ModelDetail {
        model: model.record.clone(),
        total_parameters: model.anatomy.total.0,
        active_parameters_per_token: model.anatomy.active_per_token.0,
        tokens_per_parameter: model.tokens_per_parameter(),
    })
}

/// Where a model's parameters sit and what they weigh.
#[utoipa::path(operation_id = "get_model_parameters",
    tag = "catalog",
    params(("id" = String, Path, description = "Model id, alias or Hugging Face repo name", example = "gpt-3-175b")),
    responses(
        (status = 200, description = "The parameter anatomy", body = ParameterAnatomy),
        (status = 404, description = "Unknown id; the detail suggests close matches", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/models/{id}/parameters")]
pub async fn parameters(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<ParameterAnatomy>, ApiError> {
    anatomy_of(&state.catalog, &id).map(web::Json)
}

/// The anatomy of model `id`.
pub fn anatomy_of(catalog: &Catalog, id: &str) -> Result<ParameterAnatomy, ApiError> {
    let model = find(catalog, id)?;
    let mut body = ParameterAnatomy::new(&model.anatomy, catalog.formats());
    body.model = Some(model.record.id.clone());
    body.nominal_size = Some(model.record.nominal_size.clone());
    body.exact_parameters = model.record.exact_parameters;
    body.exact_parameters_source = model.record.exact_parameters_source.clone();
    body.matches_exact = model.record.exact_parameters.map(|exact| exact == model.anatomy.total.0);
    Ok(body)
}

/// Parameters by kind of tensor.
#[derive(Debug, Serialize, ToSchema)]
pub struct ByKind {
    /// Weight matrices and embedding tables.
    pub weights: u64,
    /// Bias vectors.
    pub biases: u64,
    /// Norm gains and norm biases.
    pub norms: u64,
    /// Anything else (attention sinks, routing correction biases).
    pub other: u64,
}

/// Parameters by part of the network.
#[derive(Debug, Serialize, ToSchema)]
pub struct ByGroup {
    /// Token, position and token-type embeddings.
    pub embeddings: u64,
    /// Attention projections and q/k norms.
    pub attention: u64,
    /// Dense MLPs.
    pub mlp: u64,
    /// MoE routers.
    pub router: u64,
    /// Routed experts.
    pub experts: u64,
    /// Shared experts.
    pub shared_experts: u64,
    /// Block, embedding and final norms.
    pub norms: u64,
    /// LM head and pooler.
    pub head: u64,
}

/// One tensor of the model, repeated over layers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentBody {
    /// Dotted name.
    #[schema(example = "attention.q")]
    pub name: &'static str,
    /// Network part.
    #[schema(example = "attention")]
    pub group: &'static str,
    /// Tensor kind.
    #[schema(example = "weight")]
    pub kind: &'static str,
    /// Occurrences (layers).
    pub repeats: u64,
    /// Parameters of one occurrence.
    pub parameters_each: u64,
    /// Parameters over all occurrences.
    pub parameters: u64,
    /// Share of the total, 0 to 1.
    pub share: f64,
    /// Used by every token (false for routed experts).
    pub always_active: bool,
}

/// Memory for all weights in one format.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormatBytes {
    /// Format id.
    #[schema(example = "bf16")]
    pub format: String,
    /// Bits per weight, scales included.
    pub bits_per_weight: f64,
    /// Bytes for all parameters (a display divides by 1e9 for GB or 2^30 for GiB, and says
    /// which).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub total_bytes: f64,
}

/// A model's parameter anatomy.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "model": "gpt2", "nominal_size": "124M", "total_parameters": 124439808u64,
    "active_parameters_per_token": 124439808u64, "exact_parameters": 124439808u64, "matches_exact": true,
    "by_kind": {"weights": 124318464u64, "biases": 102144, "norms": 38400, "other": 0},
    "by_group": {"embeddings": 39383808u64, "attention": 28348416u64, "mlp": 56669184u64, "router": 0, "experts": 0, "shared_experts": 0, "norms": 38400, "head": 0},
    "components": [{"name": "embedding.tokens", "group": "embeddings", "kind": "weight", "repeats": 1, "parameters_each": 38597376u64, "parameters": 38597376u64, "share": 0.31, "always_active": true}],
    "bytes_by_format": [{"format": "bf16", "bits_per_weight": 16.0, "total_bytes": 248879616}]
}))]
pub struct ParameterAnatomy {
    /// Catalog id, when the model is from the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Size as published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nominal_size: Option<String>,
    /// All parameters, tied weights counted once.
    pub total_parameters: u64,
    /// Parameters one token uses.
    pub active_parameters_per_token: u64,
    /// A published exact count, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_parameters: Option<u64>,
    /// Where the exact count was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_parameters_source: Option<String>,
    /// Whether the computed total equals the published exact count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches_exact: Option<bool>,
    /// Split by tensor kind.
    pub by_kind: ByKind,
    /// Split by network part.
    pub by_group: ByGroup,
    /// Every tensor, in network order.
    pub components: Vec<ComponentBody>,
    /// Weight memory in each catalog format.
    pub bytes_by_format: Vec<FormatBytes>,
}

fn params_f64(p: Params) -> f64 {
    p.0 as f64
}

fn group_name(group: Group) -> &'static str {
    match group {
        Group::Embeddings => "embeddings",
        Group::Attention => "attention",
        Group::Mlp => "mlp",
        Group::Router => "router",
        Group::Experts => "experts",
        Group::SharedExperts => "shared_experts",
        Group::Norms => "norms",
        Group::Head => "head",
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Weight => "weight",
        Kind::Bias => "bias",
        Kind::Norm => "norm",
        Kind::Other => "other",
    }
}

impl ParameterAnatomy {
    /// The response body for an anatomy, with bytes in each of `formats`.
    pub fn new(anatomy: &Anatomy, formats: &[FormatRecord]) -> Self {
        let total = params_f64(anatomy.total).max(1.0);
        Self {
            model: None,
            nominal_size: None,
            total_parameters: anatomy.total.0,
            active_parameters_per_token: anatomy.active_per_token.0,
            exact_parameters: None,
            exact_parameters_source: None,
            matches_exact: None,
            by_kind: ByKind {
                weights: anatomy.by_kind(Kind::Weight).0,
                biases: anatomy.by_kind(Kind::Bias).0,
                norms: anatomy.by_kind(Kind::Norm).0,
                other: anatomy.by_kind(Kind::Other).0,
            },
            by_group: ByGroup {
                embeddings: anatomy.by_group(Group::Embeddings).0,
                attention: anatomy.by_group(Group::Attention).0,
                mlp: anatomy.by_group(Group::Mlp).0,
                router: anatomy.by_group(Group::Router).0,
                experts: anatomy.by_group(Group::Experts).0,
                shared_experts: anatomy.by_group(Group::SharedExperts).0,
                norms: anatomy.by_group(Group::Norms).0,
                head: anatomy.by_group(Group::Head).0,
            },
            components: anatomy
                .components
                .iter()
                .map(|c| ComponentBody {
                    name: c.name,
                    group: group_name(c.group),
                    kind: kind_name(c.kind),
                    repeats: c.repeats,
                    parameters_each: c.each.0,
                    parameters: c.total().0,
                    share: params_f64(c.total()) / total,
                    always_active: c.always_active,
                })
                .collect(),
            bytes_by_format: formats
                .iter()
                .map(|f| {
                    let bytes = anatomy.total * f.to_engine().bits;
                    FormatBytes { format: f.id.clone(), bits_per_weight: f.bits_per_weight, total_bytes: bytes.0 }
                })
                .collect(),
        }
    }
}
