//! `POST /v1/models/import`: a model from outside, described by its Hugging Face `config.json`,
//! a `model.safetensors.index.json`, or the header bytes of a `.safetensors` or `.gguf` file.
//!
//! The media type picks the reader: JSON is a config (or, when it has a `weight_map`, a
//! safetensors index); `application/octet-stream` is sniffed (`GGUF` magic, else safetensors).
//! Binary headers can be large (GGUF keeps the tokenizer in its header), so this route has its
//! own body limit, [`ImportLimit`].

use std::sync::Arc;

use actix_web::{HttpRequest, post, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{
    body_timeout, declared_length, declared_too_large, describe_media_type, is_json, media_type, parse_json,
    read_limited_with,
};
use super::models::ParameterAnatomy;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::catalog::models::ArchitectureRecord;
use crate::engine::anatomy::anatomy;
use crate::import::{ImportError, gguf, safetensors};
use crate::scenario::config::{HfConfig, architecture_from_config};

/// Largest import body, bytes (GGUF headers carry the whole vocabulary).
#[derive(Debug, Clone, Copy)]
pub struct ImportLimit(pub usize);

impl Default for ImportLimit {
    fn default() -> Self {
        Self(64 * 1024 * 1024)
    }
}

/// What imports may hold at once: `parsing` imports parsed at the same time (others wait, up to
/// the body timeout, once their body has arrived), and `bytes`, a budget in KiB for the bodies
/// being read or parsed (a body that would overrun it is answered 429).
#[derive(Debug, Clone)]
pub struct ImportSlots {
    /// One permit per import being parsed.
    pub parsing: Arc<tokio::sync::Semaphore>,
    /// One permit per KiB of import body held.
    pub bytes: Arc<tokio::sync::Semaphore>,
}

impl ImportSlots {
    /// Half the cores, at least one: the other half keeps answering everything else; bodies in
    /// flight up to three times the import limit (three full GGUF headers).
    pub fn for_this_host(limit_bytes: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new((cores / 2).max(1), limit_bytes.saturating_mul(3))
    }

    /// `parsing` concurrent parses and `budget_bytes` of bodies in flight.
    pub fn new(parsing: usize, budget_bytes: usize) -> Self {
        let kib = budget_bytes.div_ceil(1024).clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        Self {
            parsing: Arc::new(tokio::sync::Semaphore::new(parsing.max(1))),
            bytes: Arc::new(tokio::sync::Semaphore::new(kib)),
        }
    }
}

impl Default for ImportSlots {
    fn default() -> Self {
        Self::new(1, 3 * ImportLimit::default().0)
    }
}

/// Reads an import body under the byte budget of `slots`: the permits for what has arrived are
/// returned with the body and held until the import is answered.
async fn read_budgeted(
    payload: web::Payload,
    limit: usize,
    wait: std::time::Duration,
    expected: Option<usize>,
    slots: &ImportSlots,
) -> Result<(web::Bytes, Option<tokio::sync::OwnedSemaphorePermit>), ApiError> {
    let budget = slots.bytes.clone();
    let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
    let mut held_kib = 0usize;
    let body = read_limited_with(payload, limit, wait, expected, |so_far| {
        let need = so_far.div_ceil(1024);
        if need <= held_kib {
            return true;
        }
        let Ok(more) = u32::try_from(need - held_kib) else { return false };
        match budget.clone().try_acquire_many_owned(more) {
            Ok(permit) => {
                held_kib = need;
                match held.as_mut() {
                    Some(h) => h.merge(permit),
                    None => held = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    })
    .await?;
    match body {
        Some(body) => Ok((body, held)),
        None => Err(ApiError::Busy {
            detail: "import bodies in flight fill the server's budget; try again shortly".into(),
            retry_after_s: wait.as_secs().clamp(1, 60) as u32,
        }),
    }
}

/// Largest JSON import body.
pub const JSON_IMPORT_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// What was imported.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ImportSource {
    /// A Hugging Face `config.json`.
    HfConfig,
    /// A `model.safetensors.index.json`.
    SafetensorsIndex,
    /// A `.safetensors` header.
    Safetensors,
    /// A `.gguf` header.
    Gguf,
}

/// Parameters of one data type in a weights file.
#[derive(Debug, Serialize, ToSchema)]
pub struct DtypeBody {
    /// safetensors dtype (`BF16`) or ggml type (`Q4_K`).
    pub dtype: String,
    /// Parameters stored in it.
    pub parameters: u64,
    /// Bytes they occupy.
    pub bytes: u64,
    /// Tensors of this type.
    pub tensors: u64,
    /// Bits per weight, block scales included.
    pub bits_per_weight: f64,
}

/// Parameters in one group of tensor names.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupBody {
    /// Group: embedding, position_embedding, attention, mlp, experts, router, norm, lm_head, other.
    pub group: String,
    /// Parameters in the group (absent for an index, which has no shapes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<u64>,
    /// Tensors in the group.
    pub tensors: u64,
}

/// What a weights file header says.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeightsFile {
    /// Exact parameter count from tensor shapes (absent for an index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_parameters: Option<u64>,
    /// Elements of floating-point tensors only. Integer tensors in a float checkpoint are usually
    /// buffers (BERT's `position_ids`), not parameters; in a GPTQ/AWQ checkpoint they are packed
    /// weights, so both figures are given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floating_point_parameters: Option<u64>,
    /// Bytes of tensor data (for an index, its `total_size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Average bits per weight over all tensors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_weight: Option<f64>,
    /// Tensors in the file.
    pub tensor_count: u64,
    /// Shard files (index only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Split by data type.
    pub by_dtype: Vec<DtypeBody>,
    /// Split by tensor-name group.
    pub by_group: Vec<GroupBody>,
    /// GGUF `general.architecture`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// GGUF `general.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// GGUF architecture metadata (`{arch}.block_count`, ...), as Hugging Face-style names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture_hints: Option<serde_json::Map<String, Value>>,
    /// Scalar metadata (safetensors `__metadata__`, GGUF key/values; arrays summarised).
    pub metadata: serde_json::Map<String, Value>,
}

/// The result of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// What was read.
    pub source: ImportSource,
    /// The normalised architecture (config imports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<ArchitectureRecord>,
    /// Parameter anatomy computed from the architecture (config imports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ParameterAnatomy>,
    /// What the weights file header says (binary and index imports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsFile>,
}

/// Imports a model description and returns its normalised architecture and parameter anatomy
/// (for a config) or its exact parameter count by data type and tensor group (for weights
/// headers).
#[utoipa::path(operation_id = "import_model",
    tag = "catalog",
    request_body(
        description = "A Hugging Face config.json (application/json), a model.safetensors.index.json (application/json), or the first bytes of a .safetensors or .gguf file up to the end of its header (application/octet-stream)",
        content(
            (HfConfig = "application/json", example = json!({
                "model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
                "num_key_value_heads": 32, "intermediate_size": 11008, "vocab_size": 32000, "max_position_embeddings": 4096
            })),
            (Vec<u8> = "application/octet-stream"),
        )
    ),
    responses(
        (status = 200, description = "The imported model", body = ImportResult),
        (status = 400, description = "Malformed body or invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the import limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor octet-stream", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Every import slot stayed busy for the body timeout once the body had arrived, or the bodies of imports in flight fill the server's budget (three times the import limit)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unsupported model type or file format", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/models/import")]
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<web::Json<ImportResult>, ApiError> {
    let media = media_type(&req).unwrap_or_default();
    let binary = media == "application/octet-stream";
    if !binary && !is_json(&media) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "{}; expected application/json or application/octet-stream",
            describe_media_type(&req)
        )));
    }
    // JSON is parsed into a tree (a few times its size in memory), so it gets a tighter limit
    // than binary headers, which are read in place: 8 MiB holds any real config.json or
    // safetensors index.
    let binary_limit = req.app_data::<ImportLimit>().copied().unwrap_or_default().0;
    let limit = if binary { binary_limit } else { binary_limit.min(JSON_IMPORT_LIMIT_BYTES) };
    if declared_too_large(&req, limit) {
        return Err(ApiError::PayloadTooLarge { limit_bytes: limit });
    }
    // The body is read before a slot is taken: a client that opens the request and sends
    // nothing holds only its connection (until the body timeout answers it 408), never the
    // slot a complete import is waiting for. Bodies being read are bounded instead by the
    // bytes they hold: every import in flight takes its share of [`ImportSlots`]' byte budget
    // as its chunks arrive, and one that would overrun it is answered 429.
    let slots = req.app_data::<ImportSlots>().cloned().unwrap_or_default();
    let wait = body_timeout(&req);
    let busy = || ApiError::Busy {
        detail: "every import slot is busy; try again shortly".into(),
        retry_after_s: wait.as_secs().clamp(1, 60) as u32,
    };
    let (body, _held) = read_budgeted(payload, limit, wait, declared_length(&req), &slots).await?;
    // One permit per import being parsed: bounds the cores parsing takes from everything else.
    let _permit = match actix_web::rt::time::timeout(wait, slots.parsing.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => return Err(busy()),
    };
    // Parsing is CPU-bound and proportional to the body (up to 64 MiB of tensor infos).
    let catalog = state.catalog.clone();
    let result = super::blocking::off_worker("import", move || {
        if binary {
            return import_binary(&body);
        }
        let value: Value = parse_json(&body)?;
        let Value::Object(map) = value else {
            return Err(ApiError::field("", "must be a JSON object (a config.json or a safetensors index)"));
        };
        if map.contains_key("weight_map") { import_index(&body) } else { import_config(&map, &catalog) }
    })
    .await?;
    Ok(web::Json(result))
}

/// Imports a config.json object.
pub fn import_config(
    config: &serde_json::Map<String, Value>,
    catalog: &crate::catalog::Catalog,
) -> Result<ImportResult, ApiError> {
    let (record, architecture) = architecture_from_config(config, "")?;
    let parameters = ParameterAnatomy::new(&anatomy(&architecture), catalog.formats());
    Ok(ImportResult {
        source: ImportSource::HfConfig,
        architecture: Some(record),
        parameters: Some(parameters),
        weights: None,
    })
}

fn unprocessable(error: ImportError) -> ApiError {
    crate::scenario::Error::unprocessable("", error.to_string()).into()
}

fn import_index(body: &[u8]) -> Result<ImportResult, ApiError> {
    let index = safetensors::parse_index(body).map_err(unprocessable)?;
    Ok(ImportResult {
        source: ImportSource::SafetensorsIndex,
        architecture: None,
        parameters: None,
        weights: Some(WeightsFile {
            total_parameters: None,
            floating_point_parameters: None,
            total_bytes: index.total_size_bytes,
            bits_per_weight: None,
            tensor_count: index.tensor_count,
            files: index.files,
            by_dtype: Vec::new(),
            by_group: index
                .by_group
                .into_iter()
                .map(|g| GroupBody { group: g.group, parameters: None, tensors: g.tensors })
                .collect(),
            architecture: None,
            name: None,
            architecture_hints: None,
            metadata: serde_json::Map::new(),
        }),
    })
}

fn bits(bytes: u64, parameters: u64) -> f64 {
    if parameters == 0 { 0.0 } else { bytes as f64 * 8.0 / parameters as f64 }
}

fn import_binary(body: &[u8]) -> Result<ImportResult, ApiError> {
    if body.starts_with(b"GGUF") {
        let summary = gguf::parse(body).map_err(unprocessable)?;
        let hints = &summary.architecture_hints;
        let mut hint_map = serde_json::Map::new();
        for (name, value) in [
            ("num_hidden_layers", hints.block_count),
            ("hidden_size", hints.embedding_length),
            ("intermediate_size", hints.feed_forward_length),
            ("num_attention_heads", hints.head_count),
            ("num_key_value_heads", hints.head_count_kv),
            ("max_position_embeddings", hints.context_length),
            ("vocab_size", hints.vocab_size),
            ("num_experts", hints.expert_count),
            ("num_experts_per_tok", hints.expert_used_count),
        ] {
            if let Some(v) = value {
                hint_map.insert(name.into(), v.into());
            }
        }
        let metadata = summary.metadata.iter().map(|(k, v)| (k.clone(), metadata_json(v))).collect();
        return Ok(ImportResult {
            source: ImportSource::Gguf,
            architecture: None,
            parameters: None,
            weights: Some(WeightsFile {
                total_parameters: Some(summary.total_parameters),
                floating_point_parameters: None,
                total_bytes: Some(summary.total_bytes),
                bits_per_weight: Some(summary.bits_per_weight),
                tensor_count: summary.tensor_count,
                files: Vec::new(),
                by_dtype: summary
                    .by_type
                    .into_iter()
                    .map(|t| DtypeBody {
                        dtype: t.ggml_type,
                        parameters: t.parameters,
                        bytes: t.bytes,
                        tensors: t.tensors,
                        bits_per_weight: t.bits_per_weight,
                    })
                    .collect(),
                by_group: Vec::new(),
                architecture: summary.architecture,
                name: summary.name,
                architecture_hints: Some(hint_map),
                metadata,
            }),
        });
    }
    let summary = safetensors::parse(body).map_err(unprocessable)?;
    let total_bytes = summary.by_dtype.iter().map(|d| d.bytes).fold(0u64, u64::saturating_add);
    let floating = summary
        .by_dtype
        .iter()
        .filter(|d| d.dtype.starts_with('F') || d.dtype.starts_with("BF"))
        .map(|d| d.parameters)
        .fold(0u64, u64::saturating_add);
    Ok(ImportResult {
        source: ImportSource::Safetensors,
        architecture: None,
        parameters: None,
        weights: Some(WeightsFile {
            total_parameters: Some(summary.total_parameters),
            floating_point_parameters: Some(floating),
            total_bytes: Some(total_bytes),
            bits_per_weight: Some(bits(total_bytes, summary.total_parameters)),
            tensor_count: summary.tensor_count,
            files: Vec::new(),
            by_dtype: summary
                .by_dtype
                .into_iter()
                .map(|d| DtypeBody {
                    bits_per_weight: bits(d.bytes, d.parameters),
                    dtype: d.dtype,
                    parameters: d.parameters,
                    bytes: d.bytes,
                    tensors: d.tensors,
                })
                .collect(),
            by_group: summary
                .by_group
                .into_iter()
                .map(|g| GroupBody { group: g.group, parameters: Some(g.parameters), tensors: g.tensors })
                .collect(),
            architecture: None,
            name: None,
            architecture_hints: None,
            metadata: summary.metadata.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
        }),
    })
}

fn metadata_json(value: &gguf::MetadataValue) -> Value {
    match value {
        gguf::MetadataValue::U64(n) => (*n).into(),
        gguf::MetadataValue::I64(n) => (*n).into(),
        // Non-finite floats have no JSON form; `from_f64` gives None and we send null.
        gguf::MetadataValue::F64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        gguf::MetadataValue::Bool(b) => (*b).into(),
        gguf::MetadataValue::String(s) => s.clone().into(),
        gguf::MetadataValue::Array { elem_type, len } => serde_json::json!({"array_of": elem_type, "len": len}),
    }
}
