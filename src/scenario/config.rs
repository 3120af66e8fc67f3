//! An inline model: a Hugging Face `config.json` object, as `POST /v1/models/import` takes it
//! and as a request's `model` field may give it, validated into an architecture.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{Error, FieldError, range};
use crate::catalog::models::ArchitectureRecord;
use crate::import::hf_config::{self, ConfigError};

/// Model types the importer understands (`hf_config::SUPPORTED`).
#[derive(Debug, Serialize, ToSchema)]
pub enum SupportedModelType {
    /// `bert`
    #[serde(rename = "bert")]
    Bert,
    /// `bloom`
    #[serde(rename = "bloom")]
    Bloom,
    /// `deepseek_v2`
    #[serde(rename = "deepseek_v2")]
    DeepseekV2,
    /// `deepseek_v3`
    #[serde(rename = "deepseek_v3")]
    DeepseekV3,
    /// `falcon`
    #[serde(rename = "falcon")]
    Falcon,
    /// `gemma`
    #[serde(rename = "gemma")]
    Gemma,
    /// `gemma2`
    #[serde(rename = "gemma2")]
    Gemma2,
    /// `gemma3`
    #[serde(rename = "gemma3")]
    Gemma3,
    /// `gemma3_text`
    #[serde(rename = "gemma3_text")]
    Gemma3Text,
    /// `gpt2`
    #[serde(rename = "gpt2")]
    Gpt2,
    /// `gpt_neox`
    #[serde(rename = "gpt_neox")]
    GptNeox,
    /// `gpt_oss`
    #[serde(rename = "gpt_oss")]
    GptOss,
    /// `gptj`
    #[serde(rename = "gptj")]
    Gptj,
    /// `llama`
    #[serde(rename = "llama")]
    Llama,
    /// `llama4`
    #[serde(rename = "llama4")]
    Llama4,
    /// `llama4_text`
    #[serde(rename = "llama4_text")]
    Llama4Text,
    /// `mistral`
    #[serde(rename = "mistral")]
    Mistral,
    /// `mixtral`
    #[serde(rename = "mixtral")]
    Mixtral,
    /// `mpt`
    #[serde(rename = "mpt")]
    Mpt,
    /// `olmo2`
    #[serde(rename = "olmo2")]
    Olmo2,
    /// `opt`
    #[serde(rename = "opt")]
    Opt,
    /// `phi3`
    #[serde(rename = "phi3")]
    Phi3,
    /// `qwen2`
    #[serde(rename = "qwen2")]
    Qwen2,
    /// `qwen2_moe`
    #[serde(rename = "qwen2_moe")]
    Qwen2Moe,
    /// `qwen3`
    #[serde(rename = "qwen3")]
    Qwen3,
    /// `qwen3_moe`
    #[serde(rename = "qwen3_moe")]
    Qwen3Moe,
}

/// A Hugging Face `config.json`. Only `model_type` is required by the schema; which size fields
/// are needed depends on it (GPT-2 says `n_layer` where Llama says `num_hidden_layers`), and
/// anything else in the file is accepted and ignored. Sizes are checked against the ranges below.
#[derive(Debug, Serialize, ToSchema)]
pub struct HfConfig {
    /// The Hugging Face model type.
    pub model_type: SupportedModelType,
    /// Transformer blocks.
    pub num_hidden_layers: Option<u32>,
    /// Model width.
    pub hidden_size: Option<u64>,
    /// Query heads.
    pub num_attention_heads: Option<u64>,
    /// Key/value heads (at most `num_attention_heads`).
    pub num_key_value_heads: Option<u64>,
    /// Dense MLP inner size.
    pub intermediate_size: Option<u64>,
    /// Vocabulary size.
    pub vocab_size: Option<u64>,
    /// Longest context, tokens.
    pub max_position_embeddings: Option<u64>,
}

/// The size fields [`HfConfig`]'s schema declares (their ranges are in [`range::DECLARED`]).
/// A config that has one must have it in range even when its model type reads another name (a
/// BERT config's stray `num_key_value_heads`): the schema promises it.
fn declared_fields() -> impl Iterator<Item = (&'static str, range::Range)> {
    range::DECLARED.iter().filter(|d| d.schema == "HfConfig").map(|d| (d.property, d.range))
}

fn check_declared_fields(config: &serde_json::Map<String, Value>, prefix: &str) -> Result<(), Error> {
    let errors: Vec<FieldError> = declared_fields()
        .filter_map(|(name, range)| {
            let value = config.get(name).filter(|v| !v.is_null())?;
            // JSON Schema's integer includes 4096.0.
            let n = value
                .as_u64()
                .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| f as u64));
            match n {
                Some(n) if range.contains(n as f64) => None,
                _ => Some(FieldError::new(format!("{prefix}/{name}"), range.detail(value))),
            }
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(Error::InvalidRequest(errors)) }
}

/// Converts an HF config (an import, or an inline model in a request) into a validated
/// architecture, mapping every failure to a problem whose pointer is under `prefix`.
pub fn architecture_from_config(
    config: &serde_json::Map<String, Value>,
    prefix: &str,
) -> Result<(ArchitectureRecord, crate::engine::architecture::Architecture), Error> {
    check_declared_fields(config, prefix)?;
    let record = hf_config::convert(config).map_err(|error| match error {
        ConfigError::Field { pointer, detail } => Error::field(format!("{prefix}{pointer}"), detail),
        ConfigError::UnsupportedType(model_type) => Error::Unprocessable {
            detail: format!("unsupported model_type \"{model_type}\"; supported: {}", hf_config::SUPPORTED.join(", ")),
            pointer: Some(format!("{prefix}/model_type")),
        },
    })?;
    let architecture = record.to_engine().map_err(|problems| {
        Error::InvalidRequest(
            problems
                .into_iter()
                .map(|(pointer, detail)| FieldError::new(format!("{prefix}{pointer}"), detail))
                .collect(),
        )
    })?;
    Ok((record, architecture))
}
