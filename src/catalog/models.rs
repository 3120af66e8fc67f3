//! Model records: the schema of `data/models/*.toml` and its conversion into engine types.
//!
//! A record is metadata (id, names, sizes, sources) plus an [`ArchitectureRecord`] whose field
//! names follow Hugging Face `config.json`. The same architecture record is what an inline model
//! in a request becomes after import, so catalog models and imported ones go through one
//! validation ([`ArchitectureRecord::to_engine`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::architecture::{Architecture, Biases, Mla, Mlp, Moe, Norm, Positions, QkNorm, SlidingWindow};

/// A catalog model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRecord {
    /// Catalog id: the lowercase Hugging Face repo name without organisation.
    #[schema(example = "llama-2-7b")]
    pub id: String,
    /// Display name.
    #[schema(example = "Llama 2 7B")]
    pub name: String,
    /// Family slug.
    #[schema(example = "llama-2")]
    pub family: String,
    /// Hugging Face repository, when the weights are published there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_repo: Option<String>,
    /// Other names that resolve to this model.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Size as the publisher names it.
    #[schema(example = "7B")]
    pub nominal_size: String,
    /// Year of release.
    pub release_year: u16,
    /// A published exact parameter count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_parameters: Option<u64>,
    /// Where the exact count was published and what it counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_parameters_source: Option<String>,
    /// Tokens the model was pre-trained on, as its paper or card states them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 300e9)]
    pub training_tokens: Option<f64>,
    /// Where the training-token figure was published (and what it counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_tokens_source: Option<String>,
    /// Where the architecture figures come from.
    pub sources: Vec<String>,
    /// Caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The architecture, in Hugging Face config terms.
    pub architecture: ArchitectureRecord,
}

/// MLP shape on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MlpShape {
    /// gate + up + down.
    Gated,
    /// up + down.
    Plain,
}

/// Position embedding scheme on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PositionEmbedding {
    /// Rotary.
    Rope,
    /// Learned table of `learned_positions` rows.
    Learned,
    /// ALiBi.
    Alibi,
}

/// Norm flavour on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// RMSNorm (gain).
    Rmsnorm,
    /// LayerNorm (gain and bias).
    Layernorm,
    /// LayerNorm without bias.
    LayernormNobias,
}

fn yes() -> bool {
    true
}
fn two() -> u32 {
    2
}
fn one() -> u32 {
    1
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A transformer architecture with Hugging Face `config.json` field names, normalised across
/// model types.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchitectureRecord {
    /// Hugging Face `model_type`.
    #[schema(example = "llama")]
    pub model_type: String,
    /// Transformer blocks (1 to 1024).
    #[schema(example = 32, minimum = 1, maximum = 1024)]
    pub num_hidden_layers: u32,
    /// Model width (1 to 131072).
    #[schema(example = 4096, minimum = 1, maximum = 131072)]
    pub hidden_size: u64,
    /// Query heads (1 to 1024).
    #[schema(example = 32, minimum = 1, maximum = 1024)]
    pub num_attention_heads: u64,
    /// Key/value heads; defaults to `num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_key_value_heads: Option<u64>,
    /// Per-head dimension; defaults to `hidden_size / num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<u64>,
    /// Dense MLP inner size.
    #[schema(example = 11008)]
    pub intermediate_size: u64,
    /// MLP shape.
    pub mlp: MlpShape,
    /// Activation function.
    #[schema(example = "silu")]
    pub hidden_act: String,
    /// Vocabulary size.
    #[schema(example = 32000)]
    pub vocab_size: u64,
    /// Longest context, tokens.
    #[schema(example = 4096)]
    pub max_position_embeddings: u64,
    /// Position embedding scheme.
    pub position_embedding: PositionEmbedding,
    /// Rows of the learned position table (when `position_embedding` is `learned`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub learned_positions: u64,
    /// Token-type embedding rows (BERT).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub type_vocab_size: u64,
    /// LM head shares the token embedding.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Norm flavour.
    pub norm: NormKind,
    /// Norms per block.
    #[serde(default = "two")]
    pub norms_per_layer: u32,
    /// A norm after the last block.
    #[serde(default = "yes")]
    pub final_norm: bool,
    /// A norm after the embeddings.
    #[serde(default, skip_serializing_if = "is_false")]
    pub embedding_norm: bool,
    /// Per-head q/k norms.
    #[serde(default, skip_serializing_if = "is_false")]
    pub qk_norm: bool,
    /// Full-width q/k norms (OLMo 2).
    #[serde(default, skip_serializing_if = "is_false")]
    pub qk_norm_full_width: bool,
    /// Biases on q, k, v.
    #[serde(default)]
    pub attention_bias: bool,
    /// Bias on the attention output projection.
    #[serde(default)]
    pub attention_output_bias: bool,
    /// Biases on MLP projections.
    #[serde(default)]
    pub mlp_bias: bool,
    /// Bias on the LM head.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lm_head_bias: bool,
    /// gpt-oss attention sinks.
    #[serde(default, skip_serializing_if = "is_false")]
    pub attention_sinks: bool,
    /// BERT pooler.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pooler: bool,
    /// OPT-350m word embedding projection width.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub embedding_projection_dim: u64,
    /// Sliding window length, tokens (0 = none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sliding_window: u64,
    /// Layers using the sliding window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window_layers: Option<u32>,
    /// RoPE base frequency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_theta: Option<f64>,
    /// Mixture of experts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe: Option<MoeRecord>,
    /// Multi-head latent attention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mla: Option<MlaRecord>,
}

/// Mixture-of-experts settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoeRecord {
    /// Routed experts per MoE layer.
    pub num_experts: u64,
    /// Routed experts per token.
    pub experts_per_token: u64,
    /// Inner size of a routed expert.
    pub expert_intermediate_size: u64,
    /// Shared experts.
    #[serde(default)]
    pub shared_experts: u64,
    /// Inner size of a shared expert (default: `expert_intermediate_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_expert_intermediate_size: Option<u64>,
    /// Sigmoid gate on the shared expert.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared_expert_gate: bool,
    /// Leading dense layers.
    #[serde(default)]
    pub first_dense_layers: u32,
    /// Every k-th later layer is MoE.
    #[serde(default = "one")]
    pub moe_layer_step: u32,
    /// Router bias.
    #[serde(default, skip_serializing_if = "is_false")]
    pub router_bias: bool,
    /// DeepSeek-V3 routing correction bias.
    #[serde(default, skip_serializing_if = "is_false")]
    pub router_correction_bias: bool,
    /// Biases inside experts.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expert_bias: bool,
}

/// Multi-head latent attention settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MlaRecord {
    /// Query compression rank (0 = none).
    #[serde(default)]
    pub q_lora_rank: u64,
    /// Key/value latent rank.
    pub kv_lora_rank: u64,
    /// Rotary dims per head.
    pub qk_rope_head_dim: u64,
    /// Non-rotary q/k dims per head.
    pub qk_nope_head_dim: u64,
    /// Value dims per head.
    pub v_head_dim: u64,
}

/// One problem with a record: the field (a JSON pointer relative to the architecture) and why.
pub type Invalid = (String, String);

struct Checks(Vec<Invalid>);

impl Checks {
    fn range(&mut self, field: &str, value: u64, min: u64, max: u64) -> u64 {
        if value < min || value > max {
            self.0.push((format!("/{field}"), format!("must be an integer from {min} to {max}, got {value}")));
        }
        value.clamp(min, max)
    }
    fn fail(&mut self, field: &str, detail: String) {
        self.0.push((format!("/{field}"), detail));
    }
}

/// Largest sizes accepted. They are far above any published model and keep every product of
/// sizes the engine forms inside `u64`.
const MAX_LAYERS: u64 = 1024;
const MAX_HIDDEN: u64 = 131_072;
const MAX_HEADS: u64 = 1024;
const MAX_HEAD_DIM: u64 = 4096;
const MAX_FFN: u64 = 1_048_576;
const MAX_VOCAB: u64 = 4_194_304;
const MAX_CONTEXT: u64 = 16_777_216;
const MAX_EXPERTS: u64 = 1024;
const MAX_RANK: u64 = 65_536;

impl ArchitectureRecord {
    /// Validates the record and converts it into the engine's [`Architecture`]. Every problem is
    /// reported, not just the first, each with the pointer of its field.
    pub fn to_engine(&self) -> Result<Architecture, Vec<Invalid>> {
        let mut c = Checks(Vec::new());
        let layers = c.range("num_hidden_layers", u64::from(self.num_hidden_layers), 1, MAX_LAYERS) as u32;
        let hidden = c.range("hidden_size", self.hidden_size, 1, MAX_HIDDEN);
        let heads = c.range("num_attention_heads", self.num_attention_heads, 1, MAX_HEADS);
        let kv_heads = c.range("num_key_value_heads", self.num_key_value_heads.unwrap_or(heads), 1, heads);
        let head_dim = match self.head_dim {
            Some(dim) => c.range("head_dim", dim, 1, MAX_HEAD_DIM),
            None => {
                if !hidden.is_multiple_of(heads) {
                    c.fail(
                        "head_dim",
                        format!(
                            "is required when hidden_size ({hidden}) is not a multiple of num_attention_heads ({heads})"
                        ),
                    );
                }
                (hidden / heads).max(1)
            }
        };
        let intermediate = c.range("intermediate_size", self.intermediate_size, 0, MAX_FFN);
        let vocab = c.range("vocab_size", self.vocab_size, 1, MAX_VOCAB);
        let max_context = c.range("max_position_embeddings", self.max_position_embeddings, 1, MAX_CONTEXT);
        let positions = match self.position_embedding {
            PositionEmbedding::Rope => Positions::Rope,
            PositionEmbedding::Alibi => Positions::Alibi,
            PositionEmbedding::Learned => {
                Positions::Learned(c.range("learned_positions", self.learned_positions, 1, MAX_CONTEXT))
            }
        };
        let type_vocab = c.range("type_vocab_size", self.type_vocab_size, 0, 1024);
        let norms_per_layer = c.range("norms_per_layer", u64::from(self.norms_per_layer), 0, 16) as u32;
        let embedding_projection = c.range("embedding_projection_dim", self.embedding_projection_dim, 0, MAX_HIDDEN);
        if self.qk_norm && self.qk_norm_full_width {
            c.fail("qk_norm_full_width", "cannot be combined with qk_norm".into());
        }
        let sliding_window = if self.sliding_window > 0 {
            let tokens = c.range("sliding_window", self.sliding_window, 1, MAX_CONTEXT);
            let window_layers = c.range(
                "sliding_window_layers",
                u64::from(self.sliding_window_layers.unwrap_or(layers)),
                0,
                u64::from(layers),
            ) as u32;
            Some(SlidingWindow { tokens, layers: window_layers })
        } else {
            None
        };
        if let Some(theta) = self.rope_theta
            && !(theta.is_finite() && theta > 0.0)
        {
            c.fail("rope_theta", "must be a positive finite number".into());
        }
        let moe = self.moe.as_ref().map(|m| {
            let experts = c.range("moe/num_experts", m.num_experts, 1, MAX_EXPERTS);
            let expert_intermediate = c.range("moe/expert_intermediate_size", m.expert_intermediate_size, 1, MAX_FFN);
            Moe {
                experts,
                experts_per_token: c.range("moe/experts_per_token", m.experts_per_token, 1, experts),
                expert_intermediate,
                shared_experts: c.range("moe/shared_experts", m.shared_experts, 0, 64),
                shared_expert_intermediate: c.range(
                    "moe/shared_expert_intermediate_size",
                    m.shared_expert_intermediate_size.unwrap_or(expert_intermediate),
                    1,
                    MAX_FFN,
                ),
                shared_expert_gate: m.shared_expert_gate,
                first_dense_layers: c.range(
                    "moe/first_dense_layers",
                    u64::from(m.first_dense_layers),
                    0,
                    u64::from(layers),
                ) as u32,
                layer_step: c.range("moe/moe_layer_step", u64::from(m.moe_layer_step), 1, MAX_LAYERS) as u32,
                router_bias: m.router_bias,
                router_correction_bias: m.router_correction_bias,
                expert_bias: m.expert_bias,
            }
        });
        let mla = self.mla.as_ref().map(|m| Mla {
            q_lora_rank: c.range("mla/q_lora_rank", m.q_lora_rank, 0, MAX_RANK),
            kv_lora_rank: c.range("mla/kv_lora_rank", m.kv_lora_rank, 1, MAX_RANK),
            qk_rope_head_dim: c.range("mla/qk_rope_head_dim", m.qk_rope_head_dim, 0, MAX_HEAD_DIM),
            qk_nope_head_dim: c.range("mla/qk_nope_head_dim", m.qk_nope_head_dim, 0, MAX_HEAD_DIM),
            v_head_dim: c.range("mla/v_head_dim", m.v_head_dim, 1, MAX_HEAD_DIM),
        });
        if !c.0.is_empty() {
            return Err(c.0);
        }
        Ok(Architecture {
            model_type: self.model_type.clone(),
            layers,
            hidden,
            heads,
            kv_heads,
            head_dim,
            intermediate,
            mlp: match self.mlp {
                MlpShape::Gated => Mlp::Gated,
                MlpShape::Plain => Mlp::Plain,
            },
            activation: self.hidden_act.clone(),
            vocab,
            max_context,
            positions,
            type_vocab,
            tied_embeddings: self.tie_word_embeddings,
            norm: match self.norm {
                NormKind::Rmsnorm => Norm::RmsNorm,
                NormKind::Layernorm => Norm::LayerNorm,
                NormKind::LayernormNobias => Norm::LayerNormNoBias,
            },
            norms_per_layer,
            final_norm: self.final_norm,
            embedding_norm: self.embedding_norm,
            qk_norm: if self.qk_norm {
                QkNorm::PerHead
            } else if self.qk_norm_full_width {
                QkNorm::FullWidth
            } else {
                QkNorm::None
            },
            biases: Biases {
                attention_qkv: self.attention_bias,
                attention_output: self.attention_output_bias,
                mlp: self.mlp_bias,
                lm_head: self.lm_head_bias,
            },
            attention_sinks: self.attention_sinks,
            pooler: self.pooler,
            embedding_projection,
            sliding_window,
            moe,
            mla,
        })
    }
}
