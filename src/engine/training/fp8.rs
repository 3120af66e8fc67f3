//! FP8 training: how a run scales its FP8 tensors, and what it then stores in which precision.
//!
//! Two recipes: per-tensor scaling (one scale per tensor, delayed or current: NVIDIA
//! Transformer Engine's `DelayedScaling`/`Float8CurrentScaling`, torchao's `tensorwise`) and
//! fine-grained block scaling (1 x 128 tiles of activations and 128 x 128 blocks of weights,
//! DeepSeek-V3, Liu et al. 2024, arXiv:2412.19437, section 3.3). The numbers (what block scaling
//! costs the GEMMs, the bytes each stored tensor takes) are data in `data/training/fp8.toml`.

/// The FP8 scaling recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fp8Recipe {
    /// One scale per tensor (Transformer Engine delayed or current scaling).
    PerTensor,
    /// 1 x 128 activation tiles and 128 x 128 weight blocks (DeepSeek-V3).
    Block,
}

impl Fp8Recipe {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Fp8Recipe::PerTensor => "per_tensor",
            Fp8Recipe::Block => "block",
        }
    }
}

/// An FP8 recipe's costs and storage; read only when the run's precision is FP8.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fp8Training {
    /// The recipe.
    pub recipe: Fp8Recipe,
    /// Multiplies the FP8 GEMM efficiency (the engine's `fp8_factor` was fitted on per-tensor
    /// runs: 1 there; block scaling's extra scaling work below 1).
    pub gemm_factor: f64,
    /// Bytes per weight of the FP8 copy of the linear layers' weights the step keeps (scales
    /// included); 0 when the recipe casts them again each time.
    pub weight_copy_bytes: f64,
    /// Bytes per element of the linear layers' inputs saved for backward (1 in FP8 plus scales;
    /// 2 when saved in BF16).
    pub saved_input_bytes: f64,
    /// Bytes per gradient (2 in BF16, 4 where they accumulate in FP32).
    pub gradient_bytes: f64,
    /// The optimizer's moments in 16 bit (DeepSeek-V3: BF16) instead of FP32.
    pub optimizer_states_16bit: bool,
}

impl Fp8Training {
    /// Storage as in BF16 mixed precision, no extra GEMM cost: what FP8 meant before recipes
    /// (tests and runs that are not FP8).
    pub const UNSCALED: Fp8Training = Fp8Training {
        recipe: Fp8Recipe::PerTensor,
        gemm_factor: 1.0,
        weight_copy_bytes: 0.0,
        saved_input_bytes: 2.0,
        gradient_bytes: 2.0,
        optimizer_states_16bit: false,
    };
}
