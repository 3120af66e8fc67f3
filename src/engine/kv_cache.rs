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
