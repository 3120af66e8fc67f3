//! A transformer's shape as the engine sees it.
//!
//! Field meanings follow Hugging Face `config.json` (`hidden_size`, `num_key_value_heads`, ...),
//! normalised across model types: whatever a config calls it, GPT-2's `n_embd` and Llama's
//! `hidden_size` both arrive here as [`Architecture::hidden`]. Values are validated by the edges
//! (`catalog`, `import`): every size is at least 1 where a size is needed, and bounded so that
//! products of sizes fit in `u64`.

/// The feed-forward block's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mlp {
    /// Gate, up and down projections (SwiGLU, GeGLU): 3 matrices.
    Gated,
    /// Up and down projections (GPT-2, OPT, BERT): 2 matrices.
    Plain,
}

impl Mlp {
    /// Matrices of `hidden x inner` per MLP.
    pub fn matrices(self) -> u64 {
        match self {
            Mlp::Gated => 3,
            Mlp::Plain => 2,
        }
    }
}

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// Rotary embeddings: no parameters.
    Rope,
    /// A learned table with this many rows.
    Learned(u64),
    /// ALiBi attention biases: no parameters.
    Alibi,
}

/// Normalisation layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// RMSNorm: a gain vector.
    RmsNorm,
    /// LayerNorm with gain and bias.
    LayerNorm,
    /// LayerNorm without a bias (MPT, OLMo).
    LayerNormNoBias,
}

impl Norm {
    /// Parameters of one norm over `width` features.
    pub fn params(self, width: u64) -> u64 {
        match self {
            Norm::LayerNorm => width.saturating_mul(2),
            Norm::RmsNorm | Norm::LayerNormNoBias => width,
        }
    }
}

/// Normalisation of queries and keys inside attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QkNorm {
    /// None.
    None,
    /// One norm over `head_dim` for queries and one for keys, shared by heads (Qwen3, Gemma 3).
    PerHead,
    /// Norms over all query heads and all key heads (OLMo 2).
    FullWidth,
}

/// Which projections carry a bias vector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Biases {
    /// q, k and v projections.
    pub attention_qkv: bool,
    /// The attention output projection.
    pub attention_output: bool,
    /// Every MLP projection.
    pub mlp: bool,
    /// The language-model head.
    pub lm_head: bool,
}

/// Layers that attend within a sliding window instead of the whole context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlidingWindow {
    /// Window length in tokens.
    pub tokens: u64,
    /// How many of the layers use the window.
    pub layers: u32,
}

/// Mixture-of-experts feed-forward layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moe {
    /// Routed experts per MoE layer.
    pub experts: u64,
    /// Routed experts each token uses.
    pub experts_per_token: u64,
    /// Inner size of one routed expert.
    pub expert_intermediate: u64,
    /// Always-active shared experts per MoE layer.
    pub shared_experts: u64,
    /// Inner size of one shared expert.
    pub shared_expert_intermediate: u64,
    /// A sigmoid gate (`hidden x 1`) on the shared expert output (Qwen2-MoE).
    pub shared_expert_gate: bool,
    /// Leading layers that keep the dense MLP (DeepSeek-V3: 3).
    pub first_dense_layers: u32,
    /// After those, every `layer_step`-th layer is MoE (Llama 4 Maverick: 2).
    pub layer_step: u32,
    /// A bias on the router logits (gpt-oss).
    pub router_bias: bool,
    /// DeepSeek-V3's routing correction bias, one per expert.
    pub router_correction_bias: bool,
    /// Biases inside each expert's projections (gpt-oss).
    pub expert_bias: bool,
}

#[cfg(test)]
impl Moe {
    /// Routed experts only: no shared experts, no dense layers, no biases (test models).
    pub(crate) fn routed(experts: u64, experts_per_token: u64, expert_intermediate: u64) -> Self {
        Self {
            experts,
            experts_per_token,
            expert_intermediate,
            shared_experts: 0,
            shared_expert_intermediate: 0,
            shared_expert_gate: false,
            first_dense_layers: 0,
            layer_step: 1,
            router_bias: false,
            router_correction_bias: false,
            expert_bias: false,
        }
    }
}

impl Moe {
    /// Whether layer `index` (0-based) uses experts. Layer `i >= first_dense_layers` is MoE when
    /// `(i - first_dense_layers + 1)` is a multiple of `layer_step`: with step 2 the odd layers,
    /// as Llama 4's `interleave_moe_layer_step` places them.
    pub fn is_moe_layer(&self, index: u32) -> bool {
        index >= self.first_dense_layers && (index - self.first_dense_layers + 1).is_multiple_of(self.layer_step.max(1))
    }
}

/// DeepSeek's multi-head latent attention: low-rank compressed queries and keys/values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mla {
    /// Rank of the query compression; 0 means queries are not compressed.
    pub q_lora_rank: u64,
    /// Rank of the key/value latent (what the KV cache stores).
    pub kv_lora_rank: u64,
    /// Per-head dimensions carrying rotary position.
    pub qk_rope_head_dim: u64,
    /// Per-head query/key dimensions without position.
    pub qk_nope_head_dim: u64,
    /// Per-head value dimension.
    pub v_head_dim: u64,
}

/// A decoder (or encoder) stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// Hugging Face `model_type` (`llama`, `gpt2`, ...), for display and warnings.
    pub model_type: String,
    /// Transformer blocks.
    pub layers: u32,
    /// Model width `d`.
    pub hidden: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads (equal to `heads` without GQA, 1 for MQA).
    pub kv_heads: u64,
    /// Per-head dimension.
    pub head_dim: u64,
    /// Dense MLP inner size.
    pub intermediate: u64,
    /// MLP shape.
    pub mlp: Mlp,
    /// Activation function name, as in the config.
    pub activation: String,
    /// Vocabulary size.
    pub vocab: u64,
    /// Longest context the model was trained for, in tokens.
    pub max_context: u64,
    /// Position embedding scheme.
    pub positions: Positions,
    /// Token-type embedding rows (BERT: 2).
    pub type_vocab: u64,
    /// The LM head reuses the token embedding matrix.
    pub tied_embeddings: bool,
    /// Norm flavour.
    pub norm: Norm,
    /// Norms per block.
    pub norms_per_layer: u32,
    /// A norm after the last block.
    pub final_norm: bool,
    /// A norm right after the embeddings (BLOOM, BERT).
    pub embedding_norm: bool,
    /// Query/key normalisation.
    pub qk_norm: QkNorm,
    /// Projections with biases.
    pub biases: Biases,
    /// gpt-oss attention sinks: one learned scalar per head per layer.
    pub attention_sinks: bool,
    /// BERT's pooler (`hidden x hidden` + bias).
    pub pooler: bool,
    /// OPT-350m's embedding projection width; 0 when absent.
    pub embedding_projection: u64,
    /// Sliding-window attention, if any layers use it.
    pub sliding_window: Option<SlidingWindow>,
    /// Mixture of experts, if the MLP is routed.
    pub moe: Option<Moe>,
    /// Multi-head latent attention, replacing standard q/k/v projections.
    pub mla: Option<Mla>,
}

impl Architecture {
    /// Number of MoE layers (0 for dense models).
    pub fn moe_layers(&self) -> u32 {
        self.moe.map_or(0, |moe| (0..self.layers).filter(|&i| moe.is_moe_layer(i)).count() as u32)
    }

    /// Per-head (query/key, value) dimensions: `head_dim` for both in standard attention; MLA's
    /// `qk_nope + qk_rope` and `v_head_dim`.
    pub fn attention_dims(&self) -> (u64, u64) {
        match self.mla {
            Some(mla) => (mla.qk_nope_head_dim + mla.qk_rope_head_dim, mla.v_head_dim),
            None => (self.head_dim, self.head_dim),
        }
    }

    /// Number of layers with the dense MLP.
    pub fn dense_mlp_layers(&self) -> u32 {
        self.layers - self.moe_layers()
    }

    /// A small dense Llama-style architecture, for tests and examples.
    pub fn llama_like(layers: u32, hidden: u64, heads: u64, kv_heads: u64, intermediate: u64, vocab: u64) -> Self {
        Architecture {
            model_type: "llama".into(),
            layers,
            hidden,
            heads,
            kv_heads,
            head_dim: hidden / heads.max(1),
            intermediate,
            mlp: Mlp::Gated,
            activation: "silu".into(),
            vocab,
            max_context: 4096,
            positions: Positions::Rope,
            type_vocab: 0,
            tied_embeddings: false,
            norm: Norm::RmsNorm,
            norms_per_layer: 2,
            final_norm: true,
            embedding_norm: false,
            qk_norm: QkNorm::None,
            biases: Biases::default(),
            attention_sinks: false,
            pooler: false,
            embedding_projection: 0,
            sliding_window: None,
            moe: None,
            mla: None,
        }
    }
}
