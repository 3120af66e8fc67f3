//! Hugging Face `config.json` -> [`ArchitectureRecord`].
//!
//! Each supported `model_type` names its sizes differently (`n_embd`, `d_model`,
//! `hidden_size`) and implies things its config never states (GPT-2 has biases everywhere, Llama
//! has none, Falcon-7B has one norm per block). This module holds that knowledge, one function
//! per family, following the `transformers` modeling code of each type. It does not validate
//! ranges: [`ArchitectureRecord::to_engine`] does that for imports and the catalog alike.

use serde_json::{Map, Value};

use crate::catalog::models::{ArchitectureRecord, MlaRecord, MlpShape, MoeRecord, NormKind, PositionEmbedding};

/// Model types [`convert`] understands.
pub const SUPPORTED: &[&str] = &[
    "bert",
    "bloom",
    "deepseek_v2",
    "deepseek_v3",
    "ernie4_5",
    "ernie4_5_moe",
    "falcon",
    "gemma",
    "gemma2",
    "gemma3",
    "gemma3_text",
    "gpt2",
    "gpt_neox",
    "gpt_oss",
    "gptj",
    "llama",
    "llama4",
    "llama4_text",
    "mistral",
    "mixtral",
    "mpt",
    "olmo2",
    "opt",
    "phi3",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
];

/// Why a config could not be converted; `pointer` locates the field in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A required field is missing or has the wrong type.
    Field {
        /// JSON pointer of the field.
        pointer: String,
        /// What is wrong.
        detail: String,
    },
    /// The model type is not one of [`SUPPORTED`].
    UnsupportedType(String),
}

/// Field access with pointer-carrying errors.
struct Config<'a> {
    map: &'a Map<String, Value>,
    prefix: &'static str,
}

impl<'a> Config<'a> {
    fn pointer(&self, key: &str) -> String {
        format!("{}/{key}", self.prefix)
    }

    fn value<'k>(&self, keys: &[&'k str]) -> Option<(&'k str, &'a Value)> {
        keys.iter().find_map(|k| self.map.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
    }

    /// A non-negative integer under the first present key; JSON `4096.0` is accepted, `1e30` is
    /// reported with its pointer rather than truncated.
    fn opt_u64(&self, keys: &[&str]) -> Result<Option<u64>, ConfigError> {
        let Some((key, value)) = self.value(keys) else { return Ok(None) };
        if let Some(n) = value.as_u64() {
            return Ok(Some(n));
        }
        match value.as_f64() {
            Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= 9.0e15 => Ok(Some(f as u64)),
            Some(f) => Err(ConfigError::Field {
                pointer: self.pointer(key),
                detail: format!("must be a non-negative integer of at most 9e15, got {f}"),
            }),
            None => Err(ConfigError::Field {
                pointer: self.pointer(key),
                detail: format!("must be an integer, got {value}"),
            }),
        }
    }

    fn u64(&self, keys: &[&str]) -> Result<u64, ConfigError> {
        self.opt_u64(keys)?.ok_or_else(|| ConfigError::Field {
            pointer: self.pointer(keys[0]),
            detail: format!("missing field `{}`", keys.join("` or `")),
        })
    }

    fn u32(&self, keys: &[&str]) -> Result<u32, ConfigError> {
        let value = self.u64(keys)?;
        u32::try_from(value).map_err(|_| ConfigError::Field {
            pointer: self.pointer(keys[0]),
            detail: format!("must be at most {}, got {value}", u32::MAX),
        })
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(ConfigError::Field {
                pointer: self.pointer(key),
                detail: format!("must be a boolean, got {other}"),
            }),
        }
    }

    fn string(&self, keys: &[&str], default: &str) -> String {
        self.value(keys).and_then(|(_, v)| v.as_str()).unwrap_or(default).chars().take(64).collect()
    }

    fn f64(&self, key: &str) -> Option<f64> {
        self.map.get(key).and_then(Value::as_f64)
    }
}

/// Converts a `config.json` object into an architecture record.
pub fn convert(config: &Map<String, Value>) -> Result<ArchitectureRecord, ConfigError> {
    let model_type = match config.get("model_type") {
        Some(Value::String(t)) => t.to_ascii_lowercase(),
        Some(other) => {
            return Err(ConfigError::Field {
                pointer: "/model_type".into(),
                detail: format!("must be a string, got {other}"),
            });
        }
        None => {
            return Err(ConfigError::Field {
                pointer: "/model_type".into(),
                detail: "missing field `model_type`".into(),
            });
        }
    };
    // Multimodal wrappers keep the language model in `text_config`.
    if matches!(model_type.as_str(), "llama4" | "gemma3")
        && let Some(Value::Object(text)) = config.get("text_config")
    {
        let c = Config { map: text, prefix: "/text_config" };
        let mut record = if model_type == "llama4" { llama4(&c)? } else { gemma(&c, "gemma3")? };
        record.model_type = model_type;
        return Ok(record);
    }
    let c = Config { map: config, prefix: "" };
    let mut record = match model_type.as_str() {
        "llama" | "mistral" | "mixtral" | "qwen2" | "qwen2_moe" | "qwen3" | "qwen3_moe" | "phi3" | "olmo2" => {
            llama_family(&c, &model_type)?
        }
        "gemma" | "gemma2" | "gemma3" | "gemma3_text" => gemma(&c, &model_type)?,
        "llama4" | "llama4_text" => llama4(&c)?,
        "deepseek_v2" | "deepseek_v3" => deepseek(&c, &model_type)?,
        "ernie4_5" => ernie4_5(&c)?,
        "ernie4_5_moe" => ernie4_5_moe(&c)?,
        "gpt_oss" => gpt_oss(&c)?,
        "gpt2" => gpt2(&c)?,
        "gptj" => gptj(&c)?,
        "gpt_neox" => gpt_neox(&c)?,
        "falcon" => falcon(&c)?,
        "opt" => opt(&c)?,
        "bloom" => bloom(&c)?,
        "mpt" => mpt(&c)?,
        "bert" => bert(&c)?,
        other => return Err(ConfigError::UnsupportedType(other.chars().take(64).collect())),
    };
    record.model_type = model_type;
    Ok(record)
}

/// The fields every rotary, RMSNorm, gated-MLP decoder shares; families adjust the rest.
fn decoder(c: &Config<'_>, model_type: &str) -> Result<ArchitectureRecord, ConfigError> {
    Ok(ArchitectureRecord {
        model_type: model_type.to_owned(),
        num_hidden_layers: c.u32(&["num_hidden_layers"])?,
        hidden_size: c.u64(&["hidden_size"])?,
        num_attention_heads: c.u64(&["num_attention_heads"])?,
        num_key_value_heads: c.opt_u64(&["num_key_value_heads"])?,
        head_dim: c.opt_u64(&["head_dim"])?,
        intermediate_size: c.u64(&["intermediate_size"])?,
        mlp: MlpShape::Gated,
        hidden_act: c.string(&["hidden_act", "hidden_activation"], "silu"),
        vocab_size: c.u64(&["vocab_size"])?,
        max_position_embeddings: c.u64(&["max_position_embeddings"])?,
        position_embedding: PositionEmbedding::Rope,
        learned_positions: 0,
        type_vocab_size: 0,
        tie_word_embeddings: c.bool("tie_word_embeddings", false)?,
        norm: NormKind::Rmsnorm,
        norms_per_layer: 2,
        final_norm: true,
        embedding_norm: false,
        qk_norm: false,
        qk_norm_full_width: false,
        attention_bias: false,
        attention_output_bias: false,
        mlp_bias: false,
        lm_head_bias: false,
        attention_sinks: false,
        pooler: false,
        embedding_projection_dim: 0,
        sliding_window: 0,
        sliding_window_layers: None,
        rope_theta: c.f64("rope_theta"),
        moe: None,
        mla: None,
    })
}

fn sliding(c: &Config<'_>, layers_using: impl FnOnce(u32) -> u32) -> Result<(u64, Option<u32>), ConfigError> {
    let window = c.opt_u64(&["sliding_window"])?.unwrap_or(0);
    let layers = c.u32(&["num_hidden_layers"])?;
    let use_window = c.bool("use_sliding_window", true)?;
    if window == 0 || !use_window {
        return Ok((0, None));
    }
    Ok((window, Some(layers_using(layers))))
}

fn llama_family(c: &Config<'_>, model_type: &str) -> Result<ArchitectureRecord, ConfigError> {
    let mut r = decoder(c, model_type)?;
    match model_type {
        // HF LlamaAttention puts `attention_bias` on q, k, v and o.
        "llama" | "mistral" | "mixtral" | "olmo2" => {
            let bias = c.bool("attention_bias", false)?;
            r.attention_bias = bias;
            r.attention_output_bias = bias;
            r.mlp_bias = c.bool("mlp_bias", false)?;
        }
        // Qwen2: biases on q, k, v only, hard-wired in the modeling code.
        "qwen2" | "qwen2_moe" => r.attention_bias = true,
        "qwen3" | "qwen3_moe" => {
            r.attention_bias = c.bool("attention_bias", false)?;
            r.attention_output_bias = r.attention_bias;
            r.qk_norm = true;
        }
        _ => {}
    }
    if model_type == "olmo2" {
        r.qk_norm_full_width = true;
    }
    if matches!(model_type, "mistral" | "mixtral" | "qwen2" | "qwen2_moe" | "qwen3" | "qwen3_moe") {
        let max_window_layers = c.opt_u64(&["max_window_layers"])?;
        let (window, layers) = sliding(c, |n| match max_window_layers {
            // Qwen: layers from `max_window_layers` on use the window.
            Some(first) if model_type.starts_with("qwen") => n.saturating_sub(u32::try_from(first).unwrap_or(u32::MAX)),
            _ => n,
        })?;
        r.sliding_window = window;
        r.sliding_window_layers = layers;
    }
    r.moe = match model_type {
        "mixtral" => Some(MoeRecord {
            num_experts: c.u64(&["num_local_experts"])?,
            experts_per_token: c.u64(&["num_experts_per_tok"])?,
            expert_intermediate_size: r.intermediate_size,
            ..moe_default()
        }),
        "qwen2_moe" | "qwen3_moe" => {
            let shared = c.opt_u64(&["shared_expert_intermediate_size"])?.unwrap_or(0);
            Some(MoeRecord {
                num_experts: c.u64(&["num_experts"])?,
                experts_per_token: c.u64(&["num_experts_per_tok"])?,
                expert_intermediate_size: c.u64(&["moe_intermediate_size"])?,
                shared_experts: u64::from(shared > 0),
                shared_expert_intermediate_size: (shared > 0).then_some(shared),
                shared_expert_gate: shared > 0,
                moe_layer_step: c.u32(&["decoder_sparse_step"]).unwrap_or(1),
                ..moe_default()
            })
        }
        _ => None,
    };
    Ok(r)
}

fn moe_default() -> MoeRecord {
    MoeRecord {
        num_experts: 1,
        experts_per_token: 1,
        expert_intermediate_size: 1,
        shared_experts: 0,
        shared_expert_intermediate_size: None,
        shared_expert_gate: false,
        first_dense_layers: 0,
        moe_layer_step: 1,
        router_bias: false,
        router_correction_bias: false,
        expert_bias: false,
    }
}

fn gemma(c: &Config<'_>, model_type: &str) -> Result<ArchitectureRecord, ConfigError> {
    let mut r = decoder(c, model_type)?;
    r.hidden_act = c.string(&["hidden_activation", "hidden_act"], "gelu_pytorch_tanh");
    r.tie_word_embeddings = c.bool("tie_word_embeddings", true)?;
    if model_type != "gemma" {
        // Gemma 2 and 3 wrap attention and MLP in pre- and post-norms.
        r.norms_per_layer = 4;
        let pattern =
            c.opt_u64(&["sliding_window_pattern"])?.unwrap_or(if model_type == "gemma2" { 2 } else { 6 }).max(1);
        let (window, layers) = sliding(c, |n| n - n / u32::try_from(pattern).unwrap_or(u32::MAX))?;
        r.sliding_window = window;
        r.sliding_window_layers = layers;
    }
    if model_type.starts_with("gemma3") {
        r.qk_norm = true;
    }
    Ok(r)
}

fn llama4(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let mut r = decoder(c, "llama4_text")?;
    let expert = r.intermediate_size;
    r.intermediate_size = c.opt_u64(&["intermediate_size_mlp"])?.unwrap_or(expert);
    r.moe = Some(MoeRecord {
        num_experts: c.u64(&["num_local_experts"])?,
        experts_per_token: c.u64(&["num_experts_per_tok"])?,
        expert_intermediate_size: expert,
        shared_experts: 1,
        shared_expert_intermediate_size: Some(expert),
        moe_layer_step: c.u32(&["interleave_moe_layer_step"]).unwrap_or(1),
        ..moe_default()
    });
    Ok(r)
}

/// DeepSeek-V2 and V3 (HF `DeepseekV2Config`, `DeepseekV3Config`): Multi-head Latent
/// Attention and fine-grained MoE with shared experts after `first_k_dense_replace` dense
/// layers. The two differ only in values the config states: V2-Lite has no query compression
/// (`q_lora_rank` null, a plain q projection), and only V3's sigmoid router with
/// `topk_method` "noaux_tc" carries the `e_score_correction_bias`; V2's softmax "greedy" and
/// "group_limited_greedy" routers have no parameters beyond the gate.
fn deepseek(c: &Config<'_>, model_type: &str) -> Result<ArchitectureRecord, ConfigError> {
    let mut r = decoder(c, model_type)?;
    r.head_dim = None;
    r.moe = Some(MoeRecord {
        num_experts: c.u64(&["n_routed_experts"])?,
        experts_per_token: c.u64(&["num_experts_per_tok"])?,
        expert_intermediate_size: c.u64(&["moe_intermediate_size"])?,
        shared_experts: c.opt_u64(&["n_shared_experts"])?.unwrap_or(0),
        first_dense_layers: c.u32(&["first_k_dense_replace"]).unwrap_or(0),
        moe_layer_step: c.u32(&["moe_layer_freq"]).unwrap_or(1),
        router_correction_bias: c.string(&["topk_method"], "") == "noaux_tc",
        ..moe_default()
    });
    r.mla = Some(MlaRecord {
        q_lora_rank: c.opt_u64(&["q_lora_rank"])?.unwrap_or(0),
        kv_lora_rank: c.u64(&["kv_lora_rank"])?,
        qk_rope_head_dim: c.u64(&["qk_rope_head_dim"])?,
        qk_nope_head_dim: c.u64(&["qk_nope_head_dim"])?,
        v_head_dim: c.u64(&["v_head_dim"])?,
    });
    Ok(r)
}

/// ERNIE 4.5 dense (HF `Ernie4_5Config`, ERNIE-4.5-0.3B): a Llama-style decoder whose
/// `use_bias` puts biases on q, k, v, o, the MLP and the LM head alike, and whose embeddings are
/// tied unless the config says otherwise (the config class defaults to tied).
fn ernie4_5(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let mut r = decoder(c, "ernie4_5")?;
    let bias = c.bool("use_bias", false)?;
    r.attention_bias = bias;
    r.attention_output_bias = bias;
    r.mlp_bias = bias;
    r.lm_head_bias = bias;
    r.tie_word_embeddings = c.bool("tie_word_embeddings", true)?;
    Ok(r)
}

/// ERNIE 4.5 MoE (HF `Ernie4_5_MoeConfig`, ERNIE-4.5-21B-A3B and 300B-A47B): layer `i` is MoE
/// when `moe_layer_start_index <= i <= moe_layer_end_index` and `(i + 1) % moe_layer_interval
/// == 0`, the others keep the dense MLP of `intermediate_size`. The engine places MoE layers
/// after `first_dense_layers` every `layer_step`-th, which is the same placement when the MoE
/// layers run to the last one and the start is a multiple of the interval (both released models:
/// interval 1); other placements are refused with the field's pointer rather than miscounted.
/// Transformers builds the `moe_num_shared_experts` shared experts as one MLP of
/// `moe_intermediate_size x moe_num_shared_experts`: the same parameters and FLOPs as that many
/// experts of `moe_intermediate_size`. The router has no bias but a per-expert correction bias
/// (`moe_statics.e_score_correction_bias`). The multimodal configs (ERNIE-4.5-VL, lists of
/// sizes per modality) are not this type's and fail on the list.
fn ernie4_5_moe(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let mut r = ernie4_5(c)?;
    r.model_type = "ernie4_5_moe".into();
    let layers = r.num_hidden_layers;
    // Transformers' defaults: start 1, end -1 (the last layer), interval 1.
    let start = c.opt_u64(&["moe_layer_start_index"])?.unwrap_or(1);
    let interval = c.opt_u64(&["moe_layer_interval"])?.unwrap_or(1).max(1);
    let end = match c.map.get("moe_layer_end_index").and_then(Value::as_i64) {
        Some(-1) | None => u64::from(layers.saturating_sub(1)),
        Some(e) => u64::try_from(e).map_err(|_| ConfigError::Field {
            pointer: c.pointer("moe_layer_end_index"),
            detail: format!("must be -1 or a layer index, got {e}"),
        })?,
    };
    if end + 1 < u64::from(layers) {
        return Err(ConfigError::Field {
            pointer: c.pointer("moe_layer_end_index"),
            detail: format!(
                "dense layers after the last MoE layer ({end} of {layers}) cannot be expressed; the released ERNIE 4.5 models run MoE to the last layer"
            ),
        });
    }
    if start % interval != 0 {
        return Err(ConfigError::Field {
            pointer: c.pointer("moe_layer_interval"),
            detail: format!(
                "MoE every {interval} layers from layer {start} cannot be expressed (the start must be a multiple of the interval)"
            ),
        });
    }
    let expert = c.u64(&["moe_intermediate_size"])?;
    let shared = c.opt_u64(&["moe_num_shared_experts"])?.unwrap_or(0);
    r.moe = Some(MoeRecord {
        num_experts: c.u64(&["moe_num_experts", "num_experts"])?,
        experts_per_token: c.u64(&["moe_k", "num_experts_per_tok"])?,
        expert_intermediate_size: expert,
        shared_experts: shared,
        shared_expert_intermediate_size: (shared > 0).then_some(expert),
        // With the start a multiple of the interval, `(i - start + 1) % interval` and
        // `(i + 1) % interval` agree: the engine's placement from `start` is the config's.
        first_dense_layers: u32::try_from(start).unwrap_or(u32::MAX).min(layers),
        moe_layer_step: u32::try_from(interval).unwrap_or(u32::MAX),
        router_correction_bias: true,
        ..moe_default()
    });
    Ok(r)
}

fn gpt_oss(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let mut r = decoder(c, "gpt_oss")?;
    r.attention_bias = true;
    r.attention_output_bias = true;
    r.attention_sinks = true;
    // Every other layer uses the 128-token window (`layer_types` alternates).
    let (window, layers) = sliding(c, |n| n / 2)?;
    r.sliding_window = window;
    r.sliding_window_layers = layers;
    r.moe = Some(MoeRecord {
        num_experts: c.u64(&["num_local_experts"])?,
        experts_per_token: c.u64(&["num_experts_per_tok", "experts_per_token"])?,
        expert_intermediate_size: r.intermediate_size,
        router_bias: true,
        expert_bias: true,
        ..moe_default()
    });
    Ok(r)
}

/// GPT-2 style: learned positions, LayerNorm, plain MLP, biases everywhere, tied head.
fn gpt2(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let hidden = c.u64(&["n_embd", "hidden_size"])?;
    let positions = c.u64(&["n_positions", "n_ctx", "max_position_embeddings"])?;
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["n_layer", "num_hidden_layers"])?,
        hidden_size: hidden,
        num_attention_heads: c.u64(&["n_head", "num_attention_heads"])?,
        num_key_value_heads: None,
        head_dim: None,
        intermediate_size: c.opt_u64(&["n_inner"])?.unwrap_or(hidden.saturating_mul(4)),
        mlp: MlpShape::Plain,
        hidden_act: c.string(&["activation_function"], "gelu_new"),
        max_position_embeddings: positions,
        position_embedding: PositionEmbedding::Learned,
        learned_positions: positions,
        tie_word_embeddings: c.bool("tie_word_embeddings", true)?,
        norm: NormKind::Layernorm,
        attention_bias: true,
        attention_output_bias: true,
        mlp_bias: true,
        rope_theta: None,
        ..decoder_defaults(c)?
    })
}

/// Fields shared by the non-Llama families, with sizes to be overridden.
fn decoder_defaults(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    Ok(ArchitectureRecord {
        model_type: String::new(),
        num_hidden_layers: 1,
        hidden_size: 1,
        num_attention_heads: 1,
        num_key_value_heads: None,
        head_dim: None,
        intermediate_size: 1,
        mlp: MlpShape::Plain,
        hidden_act: "gelu".into(),
        vocab_size: c.u64(&["vocab_size"])?,
        max_position_embeddings: 1,
        position_embedding: PositionEmbedding::Rope,
        learned_positions: 0,
        type_vocab_size: 0,
        tie_word_embeddings: false,
        norm: NormKind::Layernorm,
        norms_per_layer: 2,
        final_norm: true,
        embedding_norm: false,
        qk_norm: false,
        qk_norm_full_width: false,
        attention_bias: false,
        attention_output_bias: false,
        mlp_bias: false,
        lm_head_bias: false,
        attention_sinks: false,
        pooler: false,
        embedding_projection_dim: 0,
        sliding_window: 0,
        sliding_window_layers: None,
        rope_theta: None,
        moe: None,
        mla: None,
    })
}

/// GPT-J: rotary, one LayerNorm per block (parallel attention and MLP), no attention biases,
/// MLP and LM-head biases, untied head.
fn gptj(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let hidden = c.u64(&["n_embd"])?;
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["n_layer"])?,
        hidden_size: hidden,
        num_attention_heads: c.u64(&["n_head"])?,
        intermediate_size: c.opt_u64(&["n_inner"])?.unwrap_or(hidden.saturating_mul(4)),
        hidden_act: c.string(&["activation_function"], "gelu_new"),
        max_position_embeddings: c.u64(&["n_positions"])?,
        norms_per_layer: 1,
        mlp_bias: true,
        lm_head_bias: true,
        tie_word_embeddings: c.bool("tie_word_embeddings", false)?,
        ..decoder_defaults(c)?
    })
}

/// GPT-NeoX (Pythia, GPT-NeoX-20B): rotary, two LayerNorms, biases on every projection.
fn gpt_neox(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["num_hidden_layers"])?,
        hidden_size: c.u64(&["hidden_size"])?,
        num_attention_heads: c.u64(&["num_attention_heads"])?,
        intermediate_size: c.u64(&["intermediate_size"])?,
        hidden_act: c.string(&["hidden_act"], "gelu"),
        max_position_embeddings: c.u64(&["max_position_embeddings"])?,
        attention_bias: c.bool("attention_bias", true)?,
        attention_output_bias: c.bool("attention_bias", true)?,
        mlp_bias: true,
        tie_word_embeddings: c.bool("tie_word_embeddings", false)?,
        rope_theta: c.f64("rotary_emb_base"),
        ..decoder_defaults(c)?
    })
}

/// Falcon: the "new decoder architecture" (40B, 180B) has grouped kv heads and two norms per
/// block; 7B has multi-query attention and one. `bias` covers every projection.
fn falcon(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let hidden = c.u64(&["hidden_size"])?;
    let heads = c.u64(&["num_attention_heads", "n_head"])?;
    let new_arch = c.bool("new_decoder_architecture", false)?;
    let kv_heads = if new_arch {
        c.opt_u64(&["num_kv_heads", "n_head_kv"])?.unwrap_or(heads)
    } else if c.bool("multi_query", true)? {
        1
    } else {
        heads
    };
    let bias = c.bool("bias", false)?;
    let alibi = c.bool("alibi", false)?;
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["num_hidden_layers", "n_layer"])?,
        hidden_size: hidden,
        num_attention_heads: heads,
        num_key_value_heads: Some(kv_heads),
        intermediate_size: c.opt_u64(&["ffn_hidden_size"])?.unwrap_or(hidden.saturating_mul(4)),
        max_position_embeddings: c.opt_u64(&["max_position_embeddings"])?.unwrap_or(2048),
        position_embedding: if alibi { PositionEmbedding::Alibi } else { PositionEmbedding::Rope },
        norms_per_layer: if new_arch { 2 } else { 1 },
        attention_bias: bias,
        attention_output_bias: bias,
        mlp_bias: bias,
        tie_word_embeddings: c.bool("tie_word_embeddings", true)?,
        rope_theta: c.f64("rope_theta"),
        ..decoder_defaults(c)?
    })
}

/// OPT: learned positions with an offset of 2 rows, biases everywhere, ReLU plain MLP, tied head;
/// OPT-350m projects a 512-wide embedding and has no final norm.
fn opt(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let hidden = c.u64(&["hidden_size"])?;
    let positions = c.u64(&["max_position_embeddings"])?;
    let projection = c.opt_u64(&["word_embed_proj_dim"])?.unwrap_or(hidden);
    let bias = c.bool("enable_bias", true)?;
    let final_norm = c.bool("do_layer_norm_before", true)? && !c.bool("_remove_final_layer_norm", false)?;
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["num_hidden_layers"])?,
        hidden_size: hidden,
        num_attention_heads: c.u64(&["num_attention_heads"])?,
        intermediate_size: c.u64(&["ffn_dim"])?,
        hidden_act: c.string(&["activation_function"], "relu"),
        max_position_embeddings: positions,
        position_embedding: PositionEmbedding::Learned,
        learned_positions: positions.saturating_add(2),
        final_norm,
        attention_bias: bias,
        attention_output_bias: bias,
        mlp_bias: bias,
        embedding_projection_dim: if projection == hidden { 0 } else { projection },
        tie_word_embeddings: c.bool("tie_word_embeddings", true)?,
        ..decoder_defaults(c)?
    })
}

/// BLOOM: ALiBi, a LayerNorm after the embeddings, biases everywhere, tied head.
fn bloom(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let hidden = c.u64(&["hidden_size", "n_embed"])?;
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["n_layer", "num_hidden_layers"])?,
        hidden_size: hidden,
        num_attention_heads: c.u64(&["n_head", "num_attention_heads"])?,
        intermediate_size: hidden.saturating_mul(4),
        max_position_embeddings: c.opt_u64(&["seq_length", "max_position_embeddings"])?.unwrap_or(2048),
        position_embedding: PositionEmbedding::Alibi,
        embedding_norm: true,
        attention_bias: true,
        attention_output_bias: true,
        mlp_bias: true,
        tie_word_embeddings: c.bool("tie_word_embeddings", true)?,
        ..decoder_defaults(c)?
    })
}

/// MPT: ALiBi, no biases anywhere (`no_bias`), LayerNorm without bias, tied head.
fn mpt(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let hidden = c.u64(&["d_model"])?;
    let ratio = c.opt_u64(&["expansion_ratio"])?.unwrap_or(4);
    let no_bias = c.bool("no_bias", true)?;
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["n_layers"])?,
        hidden_size: hidden,
        num_attention_heads: c.u64(&["n_heads"])?,
        intermediate_size: hidden.saturating_mul(ratio),
        max_position_embeddings: c.u64(&["max_seq_len"])?,
        position_embedding: PositionEmbedding::Alibi,
        norm: if no_bias { NormKind::LayernormNobias } else { NormKind::Layernorm },
        attention_bias: !no_bias,
        attention_output_bias: !no_bias,
        mlp_bias: !no_bias,
        tie_word_embeddings: true,
        ..decoder_defaults(c)?
    })
}

/// BERT (the base `BertModel` with pooler, no task head): learned positions and token types, an
/// embedding LayerNorm, post-norm blocks, biases everywhere.
fn bert(c: &Config<'_>) -> Result<ArchitectureRecord, ConfigError> {
    let positions = c.u64(&["max_position_embeddings"])?;
    Ok(ArchitectureRecord {
        num_hidden_layers: c.u32(&["num_hidden_layers"])?,
        hidden_size: c.u64(&["hidden_size"])?,
        num_attention_heads: c.u64(&["num_attention_heads"])?,
        intermediate_size: c.u64(&["intermediate_size"])?,
        hidden_act: c.string(&["hidden_act"], "gelu"),
        max_position_embeddings: positions,
        position_embedding: PositionEmbedding::Learned,
        learned_positions: positions,
        type_vocab_size: c.opt_u64(&["type_vocab_size"])?.unwrap_or(2),
        final_norm: false,
        embedding_norm: true,
        attention_bias: true,
        attention_output_bias: true,
        mlp_bias: true,
        pooler: true,
        // No LM head: the encoder's output is the product.
        tie_word_embeddings: true,
        ..decoder_defaults(c)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::anatomy::anatomy;

    fn count(config: serde_json::Value) -> u64 {
        let record = convert(config.as_object().unwrap()).unwrap();
        anatomy(&record.to_engine().unwrap()).total.0
    }

    /// Real `config.json` excerpts and the published exact counts.
    #[test]
    fn real_configs_give_published_counts() {
        let cases = [
            (
                serde_json::json!({"model_type": "gpt2", "n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 1024, "vocab_size": 50257}),
                124_439_808,
            ),
            (
                serde_json::json!({"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
                    "num_key_value_heads": 32, "intermediate_size": 11008, "vocab_size": 32000, "max_position_embeddings": 4096}),
                6_738_415_616,
            ),
            (
                serde_json::json!({"model_type": "mistral", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
                    "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 32000, "max_position_embeddings": 32768, "sliding_window": 4096}),
                7_241_732_096,
            ),
            (
                serde_json::json!({"model_type": "mixtral", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
                    "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 32000, "max_position_embeddings": 32768,
                    "num_local_experts": 8, "num_experts_per_tok": 2}),
                46_702_792_704,
            ),
            (
                serde_json::json!({"model_type": "bert", "num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 12,
                    "intermediate_size": 1536, "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2}),
                22_713_216,
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(count(config.clone()), expected, "{config}");
        }
    }

    /// DeepSeek-V2 and V2-Lite `config.json` as published, against their model cards (V2: 236B
    /// total, 21B activated, arXiv 2405.04434; V2-Lite: 15.7B and 2.4B, its Hugging Face card;
    /// active excludes the input table, see `Anatomy::active_per_token`), and against the
    /// catalog entries declared from the same files.
    #[test]
    fn deepseek_v2_configs_give_the_model_cards_counts() {
        use crate::catalog::{Catalog, agrees_with_published};
        let catalog = Catalog::embedded().unwrap();
        #[rustfmt::skip]
        let cases = [
            // (config.json, catalog id, card total, card active, q_lora_rank)
            (include_str!("../../tests/fixtures/deepseek-v2.config.json"), "deepseek-v2", "236", "21", 1536),
            (include_str!("../../tests/fixtures/deepseek-v2-lite.config.json"), "deepseek-v2-lite", "15.7", "2.4", 0),
        ];
        for (config, id, total, active, q_lora_rank) in cases {
            let config: Map<String, Value> = serde_json::from_str(config).unwrap();
            let record = convert(&config).unwrap();
            assert_eq!(record.model_type, "deepseek_v2");
            assert_eq!(record.mla.as_ref().map(|m| m.q_lora_rank), Some(q_lora_rank), "{id}");
            // V2's softmax routers ("greedy", "group_limited_greedy") have no correction bias.
            assert_eq!(record.moe.as_ref().map(|m| m.router_correction_bias), Some(false), "{id}");
            let a = anatomy(&record.to_engine().unwrap());
            assert!(agrees_with_published(a.total.0, total), "{id}: total {:?} vs card {total}B", a.total);
            assert!(
                agrees_with_published(a.active_per_token.0, active),
                "{id}: active {:?} vs card {active}B",
                a.active_per_token
            );
            assert_eq!(a, catalog.model(id).unwrap().anatomy, "{id}: import and catalog differ");
        }
    }

    /// ERNIE 4.5 `config.json` as published (see tests/fixtures/README.md), against the model
    /// cards (300B total / 47B activated, 21B / 3B, 0.3B; the cards round: the engine's 21.8B
    /// and 3.35B are Hugging Face's 22B and the card's 3B) and against the catalog entries
    /// declared from the same files.
    #[test]
    fn ernie_4_5_configs_give_the_model_cards_counts_and_the_catalog_entries() {
        use crate::catalog::{Catalog, agrees_with_published};
        let catalog = Catalog::embedded().unwrap();
        #[rustfmt::skip]
        let cases = [
            // (config.json, catalog id, model type, card total, card active, MoE layers, shared experts)
            (include_str!("../../tests/fixtures/ernie-4.5-300b-a47b-pt.config.json"), "ernie-4.5-300b-a47b-pt", "ernie4_5_moe", "300", "47", 51, 0),
            (include_str!("../../tests/fixtures/ernie-4.5-21b-a3b-pt.config.json"), "ernie-4.5-21b-a3b-pt", "ernie4_5_moe", "21", "3", 27, 2),
            (include_str!("../../tests/fixtures/ernie-4.5-0.3b-pt.config.json"), "ernie-4.5-0.3b-pt", "ernie4_5", "0.3", "0.3", 0, 0),
        ];
        for (config, id, model_type, total, active, moe_layers, shared) in cases {
            let config: Map<String, Value> = serde_json::from_str(config).unwrap();
            let record = convert(&config).unwrap();
            assert_eq!(record.model_type, model_type, "{id}");
            assert_eq!(record.moe.as_ref().map_or(0, |m| m.shared_experts), shared, "{id}");
            let arch = record.to_engine().unwrap();
            assert_eq!(arch.moe_layers(), moe_layers, "{id}");
            let a = anatomy(&arch);
            // Active per token excludes the input table (`Anatomy::active_per_token`).
            let (total_b, active_b) = (a.total.0 as f64 / 1e9, a.active_per_token.0 as f64 / 1e9);
            assert!(agrees_with_published(a.total.0, total), "{id}: total {total_b} vs card {total}B");
            assert!(agrees_with_published(a.active_per_token.0, active), "{id}: active {active_b} vs card {active}B");
            assert_eq!(arch, catalog.model(id).unwrap().architecture, "{id}: import and catalog differ");
        }
    }

    /// What the engine cannot place is refused at the field, not miscounted.
    #[test]
    fn ernie_4_5_moe_placements_the_engine_cannot_express_are_refused() {
        let base: Map<String, Value> =
            serde_json::from_str(include_str!("../../tests/fixtures/ernie-4.5-21b-a3b-pt.config.json")).unwrap();
        let with = |key: &str, value: Value| {
            let mut c = base.clone();
            c.insert(key.into(), value);
            convert(&c)
        };
        let pointer = |r: Result<ArchitectureRecord, ConfigError>| match r {
            Err(ConfigError::Field { pointer, .. }) => pointer,
            other => panic!("{other:?}"),
        };
        assert_eq!(pointer(with("moe_layer_end_index", serde_json::json!(20))), "/moe_layer_end_index");
        assert_eq!(pointer(with("moe_layer_interval", serde_json::json!(2))), "/moe_layer_interval");
        // The multimodal models list sizes per modality.
        assert_eq!(pointer(with("moe_intermediate_size", serde_json::json!([1536, 512]))), "/moe_intermediate_size");
        // Every other layer from layer 2: layers 3, 5, 7... are MoE, as transformers places them.
        let c = with("moe_layer_start_index", serde_json::json!(2));
        let mut c2 = base.clone();
        c2.insert("moe_layer_start_index".into(), serde_json::json!(2));
        c2.insert("moe_layer_interval".into(), serde_json::json!(2));
        let arch = convert(&c2).unwrap().to_engine().unwrap();
        let moe = arch.moe.unwrap();
        let placed: Vec<u32> = (0..arch.layers).filter(|&i| moe.is_moe_layer(i)).collect();
        let hf: Vec<u32> = (0..arch.layers).filter(|&i| i >= 2 && (i + 1) % 2 == 0).collect();
        assert_eq!(placed, hf);
        assert_eq!(c.unwrap().moe.unwrap().first_dense_layers, 2);
    }

    #[test]
    fn unknown_types_and_bad_fields_are_reported_with_pointers() {
        let unknown = serde_json::json!({"model_type": "abacus"});
        assert_eq!(convert(unknown.as_object().unwrap()), Err(ConfigError::UnsupportedType("abacus".into())));
        let bad = serde_json::json!({"model_type": "llama", "num_hidden_layers": "many"});
        assert!(
            matches!(convert(bad.as_object().unwrap()), Err(ConfigError::Field { pointer, .. }) if pointer == "/num_hidden_layers")
        );
        let nested = serde_json::json!({"model_type": "llama4", "text_config": {"hidden_size": 5120}});
        assert!(
            matches!(convert(nested.as_object().unwrap()), Err(ConfigError::Field { pointer, .. }) if pointer.starts_with("/text_config/"))
        );
    }
}
