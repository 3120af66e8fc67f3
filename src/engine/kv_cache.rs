//! KV-cache size per token.
//!
//! Standard attention stores a key and a value vector per kv head per layer: `2 x kv_heads x
//! head_dim` elements. Multi-head latent attention (DeepSeek-V2 section 2.1.3) stores the
//! compressed latent plus the shared rotary key: `kv_lora_rank + qk_rope_head_dim` elements per
//! layer, whatever the head count. Sliding-window layers keep at most `window` tokens.

use super::architecture::Architecture;

/// Elements stored per token in one layer, for the whole model (before any sharding).
pub fn elements_per_token_per_layer(arch: &Architecture) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    match arch.mla {
        Some(mla) => (mla.kv_lora_rank + mla.qk_rope_head_dim) as f64,
        None => (2 * arch.kv_heads * arch.head_dim) as f64,
    }
}

/// Elements per token per layer held by one of `tensor` tensor-parallel devices.
///
/// KV heads are split across tensor-parallel ranks; when there are fewer kv heads than ranks,
/// each rank keeps a whole head (the head is replicated), as vLLM and TensorRT-LLM do. The MLA
/// latent is not split: every rank keeps all of it.
pub fn elements_per_token_per_layer_per_device(arch: &Architecture, tensor: u32) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    match arch.mla {
        Some(_) => elements_per_token_per_layer(arch),
        None => {
            let heads_per_device = arch.kv_heads.div_ceil(u64::from(tensor.max(1)));
            (2 * heads_per_device * arch.head_dim) as f64
        }
    }
}

/// Token positions stored across all layers for a sequence of `context` tokens: full layers keep
/// every token, sliding-window layers at most the window.
pub fn token_layers(arch: &Architecture, context: f64) -> f64 {
    let layers = f64::from(arch.layers);
    match arch.sliding_window {
        Some(window) => {
            let windowed = f64::from(window.layers.min(arch.layers));
            #[allow(clippy::cast_precision_loss)]
            let window_tokens = window.tokens as f64;
            (layers - windowed) * context + windowed * context.min(window_tokens)
        }
        None => layers * context,
    }
}
