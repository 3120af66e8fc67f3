//! KV-cache size per token.
//!
//! Standard attention stores a key and a value vector per kv head per layer: `2 x kv_heads x
//! head_dim` elements. Multi-head latent attention (DeepSeek-V2 section 2.1.3) stores the
//! compressed latent plus the shared rotary key: `kv_lora_rank + qk_rope_head_dim` elements per
//! layer, whatever the head count. Sliding-window layers keep at most `window` tokens.

use super::architecture::Architecture;

/// Elements stored per token in one layer, for the whole model (before any sharding).
pub fn elements_per_token_per_layer(arch: &Architecture) -> f64 {
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
    match arch.mla {
        Some(_) => elements_per_token_per_layer(arch),
        None => {
            let heads_per_device = arch.kv_heads.div_ceil(u64::from(tensor.max(1)));
            (2 * heads_per_device * arch.head_dim) as f64
        }
    }
}

/// KV-cache bytes one token of context adds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BytesPerToken {
    /// For the whole model: every layer, one copy (the tensor split undone).
    pub whole_model: f64,
    /// On one device of a `tensor x pipeline` replica.
    pub per_device: f64,
}

/// KV-cache bytes per token, for the whole model and on one device of a replica split
/// `tensor x pipeline`, at `bytes_per_element` (the cache format's bits / 8).
///
/// - Whole model: `elements_per_token_per_layer x layers x bytes`: GQA keeps `2 x kv_heads x
///   head_dim` elements per layer (a key and a value per kv head), MLA keeps its latent
///   `kv_lora_rank + qk_rope_head_dim` (DeepSeek-V2 section 2.1.3).
/// - Per device: tensor ranks split the kv heads, `2 x ceil(kv_heads / tensor) x head_dim` (a
///   kv head is replicated when there are fewer kv heads than ranks, as vLLM and TensorRT-LLM
///   do); an MLA latent is not split, every rank keeps all of it; pipeline stages split the
///   layers, `layers / pipeline` per device. Expert ranks do not split a token's KV (attention
///   runs data-parallel across them: each holds whole sequences).
///
/// Every layer counts: a token inside every sliding window costs this much (beyond a window,
/// windowed layers drop old tokens, which [`token_layers`] accounts for).
pub fn bytes_per_token(arch: &Architecture, tensor: u32, pipeline: u32, bytes_per_element: f64) -> BytesPerToken {
    let layers = f64::from(arch.layers);
    BytesPerToken {
        whole_model: elements_per_token_per_layer(arch) * layers * bytes_per_element,
        per_device: elements_per_token_per_layer_per_device(arch, tensor) * layers / f64::from(pipeline.max(1))
            * bytes_per_element,
    }
}

/// Token positions stored across all layers for a sequence of `context` tokens: full layers keep
/// every token, sliding-window layers at most the window.
pub fn token_layers(arch: &Architecture, context: f64) -> f64 {
    let layers = f64::from(arch.layers);
    match arch.sliding_window {
        Some(window) => {
            let windowed = f64::from(window.layers.min(arch.layers));
            let window_tokens = window.tokens as f64;
            (layers - windowed) * context + windowed * context.min(window_tokens)
        }
        None => layers * context,
    }
}

/// The longest context whose token-layers fit `budget` token-layers: the inverse of
/// [`token_layers`], which is piecewise linear (every layer grows until the window, then only
/// full-attention layers do). Infinite when every layer is windowed and the budget covers the
/// windows.
pub fn max_context(arch: &Architecture, budget: f64) -> f64 {
    let layers = f64::from(arch.layers);
    if budget <= 0.0 || layers <= 0.0 {
        return 0.0;
    }
    match arch.sliding_window {
        None => budget / layers,
        Some(window) => {
            let w = window.tokens as f64;
            let windowed = f64::from(window.layers.min(arch.layers));
            if budget <= layers * w {
                budget / layers
            } else if layers > windowed {
                (budget - windowed * w) / (layers - windowed)
            } else {
                f64::INFINITY
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::architecture::SlidingWindow;

    #[test]
    fn bytes_per_token_split_kv_heads_and_replicate_a_latent() {
        // 80 layers, 8 kv heads of 128: 2 x 8 x 128 x 80 x 2 bytes = 327,680 bytes per token.
        let arch = Architecture::llama_like(80, 8192, 64, 8, 128, 1000);
        let one = bytes_per_token(&arch, 1, 1, 2.0);
        assert_eq!(one.whole_model, 327_680.0);
        assert_eq!(one.per_device, one.whole_model);
        assert_eq!(bytes_per_token(&arch, 8, 1, 2.0).per_device, 327_680.0 / 8.0);
        // 16 ranks, 8 kv heads: each rank keeps one whole head.
        assert_eq!(bytes_per_token(&arch, 16, 1, 2.0).per_device, 327_680.0 / 8.0);
        assert_eq!(bytes_per_token(&arch, 2, 4, 2.0).per_device, 327_680.0 / 8.0);
        assert_eq!(bytes_per_token(&arch, 16, 2, 2.0).whole_model, 327_680.0);
    }

    #[test]
    fn max_context_inverts_token_layers() {
        let mut arch = Architecture::llama_like(6, 64, 4, 4, 128, 100);
        for budget in [10.0, 600.0, 6000.0] {
            assert!((token_layers(&arch, max_context(&arch, budget)) - budget).abs() < 1e-6);
        }
        arch.sliding_window = Some(SlidingWindow { tokens: 100, layers: 5 });
        for budget in [10.0, 600.0, 6000.0] {
            assert!((token_layers(&arch, max_context(&arch, budget)) - budget).abs() < 1e-6, "{budget}");
        }
        // Five of six layers windowed: past the window, context grows six times faster than it
        // would if every layer kept every token.
        assert!(max_context(&arch, 6000.0) > 5.0 * 6000.0 / 6.0);
    }
}
