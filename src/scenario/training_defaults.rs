//! Defaults of MoE and FP8 training, from `data/training/moe.toml` and `data/training/fp8.toml`
//! (each figure with its source): the all-to-all's overlap share where a request does not give
//! `moe.all_to_all_overlap`, and what each FP8 recipe costs and stores.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::engine::training::{Fp8Recipe, Fp8Training};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Moe {
    all_to_all_overlap: f64,
    #[allow(dead_code)]
    all_to_all_overlap_source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recipe {
    gemm_factor: f64,
    weight_copy_bytes: f64,
    saved_input_bytes: f64,
    gradient_bytes: f64,
    optimizer_states_16bit: bool,
    #[allow(dead_code)]
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fp8 {
    per_tensor: Recipe,
    block: Recipe,
}

fn moe() -> &'static Moe {
    static DEFAULTS: OnceLock<Moe> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(include_str!("../../data/training/moe.toml"))
            .expect("data/training/moe.toml parses (a unit test keeps it so)")
    })
}

fn fp8() -> &'static Fp8 {
    static DEFAULTS: OnceLock<Fp8> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(include_str!("../../data/training/fp8.toml"))
            .expect("data/training/fp8.toml parses (a unit test keeps it so)")
    })
}

/// The share of the expert all-to-all hidden under compute when the request does not say.
pub fn all_to_all_overlap() -> f64 {
    moe().all_to_all_overlap
}

/// What `recipe` costs and stores.
pub fn fp8_recipe(recipe: Fp8Recipe) -> Fp8Training {
    let r = match recipe {
        Fp8Recipe::PerTensor => &fp8().per_tensor,
        Fp8Recipe::Block => &fp8().block,
    };
    Fp8Training {
        recipe,
        gemm_factor: r.gemm_factor,
        weight_copy_bytes: r.weight_copy_bytes,
        saved_input_bytes: r.saved_input_bytes,
        gradient_bytes: r.gradient_bytes,
        optimizer_states_16bit: r.optimizer_states_16bit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files parse; per-tensor is the fitted baseline (factor 1) and block scaling costs
    /// more and stores its inputs at 1 + 4/128 bytes (an FP32 scale per 1 x 128 tile).
    #[test]
    fn the_defaults_parse_and_block_scaling_costs_more() {
        assert!((0.0..=1.0).contains(&all_to_all_overlap()));
        let (tensor, block) = (fp8_recipe(Fp8Recipe::PerTensor), fp8_recipe(Fp8Recipe::Block));
        assert_eq!(tensor.gemm_factor, 1.0);
        assert!(block.gemm_factor < 1.0 && block.gemm_factor > 0.5, "{}", block.gemm_factor);
        assert!((block.saved_input_bytes - (1.0 + 4.0 / 128.0)).abs() < 1e-12);
        assert!((block.weight_copy_bytes - (1.0 + 4.0 / 16384.0)).abs() < 1e-6);
        assert!(block.optimizer_states_16bit && !tensor.optimizer_states_16bit);
        assert_eq!((tensor.gradient_bytes, block.gradient_bytes), (2.0, 4.0));
    }
}
