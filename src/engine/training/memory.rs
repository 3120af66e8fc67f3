//! Peak training memory of one device, phase by phase.
//!
//! A training step does not hold everything at once. Forward builds up the saved activations
//! and ends with the logits of the loss; backward starts from all of them and, layer by layer,
//! trades activations for gradients; the optimizer step holds gradients, states and the
//! optimizer's temporaries. The peak is the largest of the three, not the sum of everything,
//! and that difference is what makes single-GPU fine-tunes fit (Rajbhandari et al. 2020 for the
//! states; Korthikanti et al. 2022, table 2, for what each layer saves).
//!
//! Three figures come out, because tools report different ones: `allocated` (PyTorch's
//! `max_memory_allocated`), `reserved` (the caching allocator's segments,
//! `max_memory_reserved`), and the device's demand (reserved plus the CUDA context and
//! communication buffers outside the allocator, what `nvidia-smi` shows and what must fit).
//! bitsandbytes' paged optimizers keep their states in CUDA unified memory: outside the
//! allocator's statistics, and able to spill to host memory instead of failing.

use super::{Checkpointing, Method, Optimizer, Precision, Sharding, TrainingInput};
use crate::engine::anatomy::{Group, Kind};
use crate::engine::architecture::Mlp;
use crate::engine::device::DeviceKind;
use crate::engine::explain::Trace;
use crate::engine::units::Bytes;

/// How the loss is computed from the output layer, which decides how many bytes per logit
/// (sequence x vocabulary) are alive at its peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The output projection and the cross entropy fused so that logits never exist whole
    /// (Liger's fused linear cross entropy, Apple's cut cross entropy, Unsloth's kernels).
    Fused,
    /// 16-bit logits, the loss taken over chunks in FP32 (torchtune's
    /// `CEWithChunkedOutputLoss`, LitGPT's chunked cross entropy, Megatron's vocab-parallel
    /// loss). Run eagerly, every chunk's FP32 log-softmax is saved until backward; compiled, each
    /// chunk's upcast and loss fuse into one kernel that saves only the 16-bit chunk.
    Chunked,
    /// 16-bit logits upcast to FP32 and a full FP32 log-softmax saved for backward (Hugging
    /// Face `transformers` models under the Trainer).
    Full,
}

impl Loss {
    /// Bytes per logit alive at the end of forward and at the start of backward.
    ///
    /// Full: 2 (16-bit logits, kept by the model's returned output) + 4 (FP32 copy) + 4 (FP32
    /// log-softmax saved for backward); in backward the FP32 copy is gone but the log-softmax's
    /// incoming gradient (4) and the gradient it produces (4) join the saved log-softmax and the
    /// 16-bit logits: 14. Chunked: the 16-bit chunks the loss saves plus one FP32 chunk of
    /// eight; eager, every chunk's FP32 log-softmax (4) is saved as well. In backward each
    /// chunk's gradient lives only until the output layer's backward for that chunk, so half a
    /// byte more. Fused: a few chunks' worth.
    pub fn bytes_per_logit(self, compiled: bool) -> (f64, f64) {
        match self {
            Loss::Fused => (0.25, 0.25),
            Loss::Chunked if compiled => (2.5, 2.5),
            Loss::Chunked => (6.0, 6.5),
            Loss::Full => (10.0, 14.0),
        }
    }
}

/// Linear layers that carry LoRA adapters, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoraTargets(pub u8);

impl LoraTargets {
    /// Query projection.
    pub const Q: Self = Self(1);
    /// Key projection.
    pub const K: Self = Self(2);
    /// Value projection.
    pub const V: Self = Self(4);
    /// Attention output projection.
    pub const O: Self = Self(8);
    /// MLP gate projection (gated MLPs only).
    pub const GATE: Self = Self(16);
    /// MLP up projection (the first MLP linear of a plain MLP).
    pub const UP: Self = Self(32);
    /// MLP down projection.
    pub const DOWN: Self = Self(64);
    /// Every linear layer of the blocks (PEFT's `all-linear`, Axolotl's `lora_target_linear`).
    pub const ALL_LINEAR: Self = Self(127);
    /// Query and value: PEFT's and LitGPT's default.
    pub const QV: Self = Self(1 | 4);

    /// Whether `other`'s modules are all in this set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any of `other`'s modules is in this set.
    pub fn any(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The union.
    pub fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// What a framework's recipe keeps in memory and how: the knobs that decide whether a fine-tune
/// fits. Every field is a framework default in `data/engines/training.toml`, overridable per
/// request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    /// FP32 master weights beside 16-bit ones (mixed precision); false trains in pure 16 bit
    /// (torchtune, LitGPT `bf16-true`), where the optimizer states take the weights' 16 bits too.
    pub master_weights: bool,
    /// The optimizer steps each parameter as soon as its gradient is ready, so only one
    /// parameter's gradient is alive (torchtune `optimizer_in_bwd`). Incompatible with gradient
    /// accumulation.
    pub optimizer_in_backward: bool,
    /// Saved activations (the checkpoints, under checkpointing) are moved to host memory and
    /// brought back for backward (torchtune `enable_activation_offloading`, Unsloth's
    /// `use_gradient_checkpointing="unsloth"`).
    pub activation_offloading: bool,
    /// How the loss is computed.
    pub loss: Loss,
    /// Under torch.compile (fuses a chunked loss's per-chunk upcast and log-softmax).
    pub compiled: bool,
    /// What `selective` recomputation keeps: false, Korthikanti et al.'s (everything but the
    /// attention internals); true, torchtitan's op-level policy (`selective_ac_option = "op"`,
    /// `_save_list` in its `apply_ac`): each layer keeps its input, the attention output and
    /// every other matmul's output (the 1st, 3rd, 5th, 7th of wq, wk, wv, wo, w1, w3, w2), and
    /// rebuilds the rest in backward.
    pub selective_op: bool,
    /// The 4-bit linear layers of a QLoRA base save their inputs for backward (bitsandbytes'
    /// `MatMul4Bit`; torchao's NF4 linear in torchtune and Unsloth's kernels do not).
    pub quantized_linear_saves_input: bool,
    /// The stack keeps the output layer as a tensor of its own even where the checkpoint ties
    /// it to the token table (LitGPT's `GPT` has a separate `lm_head` and `wte`, and its
    /// checkpoint conversion copies a tied table into both), so a tied model holds the table
    /// twice, the second copy stored, trained and sharded like an untied model's head.
    pub unties_embeddings: bool,
    /// LoRA adapters are created in the weights' dtype and stay there (torchtune, LitGPT), so in
    /// a pure 16-bit recipe their optimizer states are 16-bit too; false counts FP32 states, as
    /// for PEFT-based stacks.
    pub adapters_in_weight_dtype: bool,
    /// A QLoRA base quantises the output layer too (LitGPT: Lightning's bitsandbytes plugin
    /// replaces every `nn.Linear`, the head included; Hugging Face keeps the head in 16 bit).
    pub quantizes_output_layer: bool,
    /// Linear layers with LoRA adapters.
    pub lora_targets: LoraTargets,
    /// Adapters on the output projection too (torchtune `apply_lora_to_output`, LitGPT
    /// `lora_head`).
    pub lora_on_output: bool,
    /// LoRA dropout before each adapter, which saves a dropped-out copy of the input and its
    /// mask per adapted module.
    pub lora_dropout: bool,
    /// NF4 double quantisation of the scales (4.127 bits per weight instead of 4.5).
    pub double_quantization: bool,
    /// Bytes per parameter of what QLoRA leaves unquantised (embeddings, output layer, norms):
    /// 2 in 16 bit, 4 where PEFT's `prepare_model_for_kbit_training` upcasts them to FP32.
    pub unquantized_bytes: f64,
    /// Bytes per hidden unit per token each trained norm saves for backward: 2 for a fused
    /// kernel that keeps only its input, 6 to 8 for an eager RMSNorm that upcasts to FP32 (its
    /// FP32 input and the normalised tensor for the weight's gradient); a frozen norm keeps at
    /// most its FP32 input.
    pub norm_bytes_per_hidden: f64,
    /// Every sequence also goes through a reference model's forward (DPO).
    pub reference_forward: bool,
    /// A frozen 16-bit copy of the policy as reference model (DPO full fine-tuning; with
    /// adapters, the base with adapters disabled serves as the reference).
    pub reference_model: bool,
    /// Sequences per example in a micro-batch (2 for DPO: chosen and rejected).
    pub sequences_per_example: f64,
    /// Share of step time spent generating completions (GRPO), during which no training
    /// happens.
    pub generation_share: f64,
}

impl Recipe {
    /// Plain mixed-precision training: what pre-training stacks (Megatron, torchtitan, DeepSpeed)
    /// do.
    pub const MIXED_PRECISION: Recipe = Recipe {
        master_weights: true,
        optimizer_in_backward: false,
        activation_offloading: false,
        loss: Loss::Chunked,
        compiled: true,
        selective_op: false,
        quantized_linear_saves_input: true,
        unties_embeddings: false,
        quantizes_output_layer: false,
        adapters_in_weight_dtype: false,
        lora_targets: LoraTargets::ALL_LINEAR,
        lora_on_output: false,
        lora_dropout: false,
        double_quantization: true,
        unquantized_bytes: 2.0,
        norm_bytes_per_hidden: 2.0,
        reference_forward: false,
        reference_model: false,
        sequences_per_example: 1.0,
        generation_share: 0.0,
    };
}

/// The phases of a step whose peaks are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// End of forward: saved activations and the loss's logits.
    Forward,
    /// Backward: activations giving way to gradients.
    Backward,
    /// The optimizer step: gradients, states and temporaries.
    OptimizerStep,
}

impl Phase {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Forward => "forward",
            Phase::Backward => "backward",
            Phase::OptimizerStep => "optimizer_step",
        }
    }
}

/// Memory of one device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingMemory {
    /// Weights (16-bit, or 4-bit for a QLoRA base), adapters and an FP8 recipe's weight copy.
    pub weights: Bytes,
    /// Of which the FP8 copy of the linear layers' weights (FP8 recipes that keep one).
    pub fp8_weight_copy: Bytes,
    /// FP32 master weights.
    pub master_weights: Bytes,
    /// Gradients at their largest (one parameter's under optimizer-in-backward).
    pub gradients: Bytes,
    /// Optimizer states (paged ones included).
    pub optimizer: Bytes,
    /// Of which in unified memory (paged optimizers): outside the allocator, can spill.
    pub paged_optimizer: Bytes,
    /// A frozen reference model (DPO).
    pub reference_model: Bytes,
    /// Activations saved for backward at the end of forward, on the device.
    pub activations: Bytes,
    /// Logits and loss at their peak.
    pub logits: Bytes,
    /// Everything not in the allocator's allocations: caching-allocator reserve, CUDA context,
    /// communication buffers.
    pub overhead: Bytes,
    /// Allocated at the end of forward, in backward, and in the optimizer step.
    pub phases: [Bytes; 3],
    /// The phase with the largest allocation.
    pub peak_phase: Phase,
    /// Peak allocated (PyTorch `max_memory_allocated`).
    pub allocated: Bytes,
    /// Peak reserved by the caching allocator (`max_memory_reserved`).
    pub reserved: Bytes,
    /// CUDA context and runtime memory outside the allocator.
    pub context: Bytes,
    /// What the device holds at its peak: reserved + context + the paged states that stay on it
    /// (as `nvidia-smi` sees it); at most `capacity` when the run fits. Host-resident bytes are
    /// apart, in `host`.
    pub total: Bytes,
    /// Usable memory.
    pub capacity: Bytes,
    /// Whether it runs without running out of memory (paged states may spill).
    pub fits: bool,
    /// Paged states that do not fit and live in host memory.
    pub spilled: Bytes,
    /// Offloaded to host memory by the recipe: optimizer states and master weights (and the
    /// weight and gradient shards of a fully sharded model) under CPU offload, saved
    /// activations under activation offloading.
    pub offloaded: Bytes,
    /// Everything of this device's run held in host memory: `offloaded` + `spilled`.
    pub host: Bytes,
    /// Largest micro-batch that fits (0 when none does).
    pub max_micro_batch: u64,
    /// Longest sequence that fits at this micro-batch (0 when none does).
    pub max_sequence_length: u64,
}

/// Bytes per hidden unit per token a frozen norm saves at most: its input in FP32, for the
/// gradient with respect to that input.
const FROZEN_NORM_BYTES: f64 = 4.0;

/// What the states take on one device; independent of the batch.
#[derive(Debug, Clone, Copy)]
struct States {
    weights: f64,
    /// Of which the FP8 copy of the linear layers' weights (FP8 recipes).
    fp8_copy: f64,
    master: f64,
    /// All gradients of this device's trained parameters.
    gradients: f64,
    /// The largest single gradient (optimizer in backward).
    one_gradient: f64,
    optimizer: f64,
    paged: bool,
    reference: f64,
    /// Optimizer-step temporaries.
    scratch: f64,
    /// A quantised base's largest weight dequantised to 16 bit for its multiply, alive while it
    /// runs (forward and backward).
    dequantized: f64,
    /// Trained parameters on this device (before ZeRO sharding).
    trained: f64,
    /// What CPU offload keeps in host memory instead.
    host: f64,
}

/// What the activations take on one device at a sequence length and micro-batch.
#[derive(Debug, Clone, Copy)]
struct Activations {
    /// Saved for backward at the end of forward, on the device.
    saved: f64,
    /// Per layer, as saved without checkpointing (what a recomputed layer rebuilds).
    one_layer: f64,
    logits_forward: f64,
    logits_backward: f64,
    /// Bytes per layer per token without checkpointing.
    per_layer_token: f64,
    /// Saved activations moved to host memory (activation offloading).
    offloaded: f64,
}

/// Parameters held by one device before ZeRO sharding: (dense, experts).
fn local_parameters(input: &TrainingInput<'_>) -> (f64, f64) {
    let par = input.parallelism;
    let (tp, pp, ep) = (f64::from(par.tensor), f64::from(par.pipeline), f64::from(par.expert));
    let experts = input.anatomy.by_group(Group::Experts).as_f64();
    let dense = input.anatomy.total.as_f64() - experts + untied_copy(input);
    (dense / (tp * pp), experts / (tp * pp * ep))
}

/// The output layer's weight when it is a tensor of its own: an untied head, or the copy of a
/// tied table a stack that unties it holds.
fn output_layer(input: &TrainingInput<'_>) -> f64 {
    let head = input.anatomy.components.iter().filter(|c| c.name == "lm_head").map(|c| c.total().as_f64()).sum::<f64>();
    head + untied_copy(input)
}

/// The largest weight a QLoRA base dequantises whole for one multiply (bitsandbytes'
/// `MatMul4Bit`, torchao's NF4 linear and Unsloth's kernels all rebuild the 16-bit matrix and
/// free it after): the largest linear layer of the blocks, or the head where it is quantised.
fn largest_quantized(input: &TrainingInput<'_>) -> f64 {
    let blocks = input
        .anatomy
        .components
        .iter()
        .filter(|c| c.kind == Kind::Weight)
        .filter(|c| matches!(c.group, Group::Attention | Group::Mlp | Group::Experts | Group::SharedExperts))
        .map(|c| c.each.as_f64())
        .fold(0.0, f64::max);
    let head = if input.recipe.quantizes_output_layer { output_layer(input) } else { 0.0 };
    blocks.max(head) / f64::from(input.parallelism.tensor)
}

/// The second copy of a tied token table a stack that unties it holds (0 otherwise).
fn untied_copy(input: &TrainingInput<'_>) -> f64 {
    if input.recipe.unties_embeddings { input.anatomy.tied_table(input.arch).as_f64() } else { 0.0 }
}

/// Shards of a state sharded from stage `from`: (dense group, expert group), 1 when unsharded.
fn shards(input: &TrainingInput<'_>, from: Sharding) -> (f64, f64) {
    // Context ranks hold the same weights: the sharding group is data x context (Megatron-Core's
    // distributed optimizer over the data-and-context group, torchtitan's FSDP over its
    // `dp_shard_cp` mesh).
    let dp = f64::from(input.parallelism.data) * f64::from(input.parallelism.context);
    let ep = f64::from(input.parallelism.expert);
    let group = match input.sharding {
        Sharding::Hsdp => f64::from(input.hsdp_group.max(1)).min(dp),
        _ => dp,
    };
    if input.sharding >= from && input.sharding != Sharding::None { (group, (group / ep).max(1.0)) } else { (1.0, 1.0) }
}

/// Bytes per weight of a QLoRA NF4 base: 4 bits plus one FP32 absmax per 64 weights (0.5 bits),
/// or with double quantisation 8-bit absmaxes plus an FP32 one per 256 of them (0.127 bits);
/// Dettmers et al. 2023, section 3.
pub fn nf4_bytes(double_quantization: bool) -> f64 {
    if double_quantization { 4.127 / 8.0 } else { 4.5 / 8.0 }
}

/// Optimizer state bytes per trained parameter: 32-bit states, or the weights' 16 bits in pure
/// 16-bit training (PyTorch creates states in the parameter's dtype).
pub fn optimizer_state_bytes(optimizer: Optimizer, wide: bool) -> f64 {
    let word = if wide { 4.0 } else { 2.0 };
    match optimizer {
        Optimizer::AdamW => 2.0 * word,
        // bitsandbytes' 32-bit optimizers keep FP32 states whatever the weights' dtype.
        Optimizer::PagedAdamW => 8.0,
        // bitsandbytes: two 8-bit moments, block-wise scales negligible.
        Optimizer::AdamW8bit | Optimizer::PagedAdamW8bit => 2.0,
        // Factored row and column statistics: about nothing per parameter for large matrices.
        Optimizer::Adafactor => 0.05,
        Optimizer::SgdMomentum | Optimizer::Lion => word,
    }
}

fn states(input: &TrainingInput<'_>) -> States {
    let (arch, recipe) = (input.arch, &input.recipe);
    let par = input.parallelism;
    let (tp, pp) = (f64::from(par.tensor), f64::from(par.pipeline));
    let (dense_local, expert_local) = local_parameters(input);
    let sharded = |from: Sharding, dense: f64, experts: f64| {
        let (d, e) = shards(input, from);
        dense / d + experts / e
    };
    let fp32 = input.precision == Precision::Fp32;
    let adapters = match input.method {
        Method::Full => 0.0,
        Method::Lora(rank) | Method::Qlora(rank) => {
            super::lora_params(arch, rank, recipe.lora_targets, recipe.lora_on_output) / (tp * pp)
        }
    };
    // Adapters are trained in FP32 under mixed precision and in the weights' 16 bits in pure
    // 16-bit recipes.
    let adapter_bytes = if recipe.master_weights || fp32 { 4.0 } else { 2.0 };
    let base = match input.method {
        Method::Full => (if fp32 { 4.0 } else { 2.0 }) * sharded(Sharding::Zero3, dense_local, expert_local),
        // A frozen base is held in the run's precision: 16 bit, or 32 in FP32 training.
        Method::Lora(_) => (if fp32 { 4.0 } else { 2.0 }) * sharded(Sharding::Zero3, dense_local, expert_local),
        Method::Qlora(_) => {
            // The linear layers are quantised; embeddings, the output layer, norms and routers
            // stay in 16 (or 32) bit.
            let a = input.anatomy;
            let linear = [Group::Attention, Group::Mlp, Group::Experts, Group::SharedExperts]
                .iter()
                .map(|g| a.by_group(*g).as_f64())
                .sum::<f64>();
            let experts = a.by_group(Group::Experts).as_f64();
            let head = if recipe.quantizes_output_layer { output_layer(input) } else { 0.0 };
            let rest = (a.total.as_f64() + untied_copy(input) - linear - head).max(0.0);
            let q = nf4_bytes(recipe.double_quantization);
            let dense_part = (q * (linear - experts + head) + recipe.unquantized_bytes * rest) / (tp * pp);
            let expert_part = q * experts / (tp * pp * f64::from(par.expert));
            sharded(Sharding::Zero3, dense_part, expert_part)
        }
    };
    let full = input.method == Method::Full;
    let trained = if full { dense_local + expert_local } else { adapters };
    let state = |bytes: f64, from: Sharding| {
        if full { bytes * sharded(from, dense_local, expert_local) } else { bytes * sharded(from, adapters, 0.0) }
    };
    let offload = if input.cpu_offload { 0.0 } else { 1.0 };
    let mixed_master = full && !fp32 && recipe.master_weights;
    // FP8 recipes store gradients and moments as the recipe says (DeepSeek-V3: FP32 gradients,
    // BF16 moments).
    let fp8 = (input.precision == Precision::Fp8 && full).then_some(input.fp8);
    let grad_bytes = if !full {
        adapter_bytes
    } else if fp32 {
        4.0
    } else if let Some(f) = fp8 {
        f.gradient_bytes
    } else {
        2.0
    };
    // PyTorch's optimizers keep a state in its parameter's dtype, so 16-bit adapters that stay
    // 16-bit (torchtune, LitGPT) have 16-bit states; PEFT-based stacks are counted with FP32
    // states (see `adapters_in_weight_dtype`).
    let wide_states = (fp32 || recipe.master_weights || (!full && !recipe.adapters_in_weight_dtype))
        && !fp8.is_some_and(|f| f.optimizer_states_16bit);
    let optimizer_bytes = optimizer_state_bytes(input.optimizer, wide_states);
    // Offloading a fully sharded model (FSDP's CPU offload, ZeRO-3's offload_param) moves the
    // weight and gradient shards to host memory too; a couple of gathered layers are in flight.
    let offload_shards = input.cpu_offload && input.sharding >= Sharding::Zero3;
    let in_flight = |bytes: f64| bytes * (dense_local + expert_local) * 2.0 / f64::from(arch.layers.max(1));
    let gradients = if offload_shards {
        in_flight(grad_bytes).min(state(grad_bytes, Sharding::Zero2))
    } else {
        state(grad_bytes, Sharding::Zero2)
    };
    let optimizer = state(optimizer_bytes, Sharding::Zero1) * offload;
    // Under optimizer-in-backward the largest tensor's gradient is the one alive: the embedding
    // or output matrix for a full fine-tune.
    let largest = if full { (arch.vocab * arch.hidden) as f64 / tp } else { f64::from(arch.layers).recip() * adapters };
    let paged = matches!(input.optimizer, Optimizer::PagedAdamW | Optimizer::PagedAdamW8bit);
    // PyTorch's multi-tensor (foreach) AdamW and Lion materialise about one moment's worth of
    // temporaries in the step; bitsandbytes' 8-bit kernels and per-parameter steps do not.
    let scratch = match input.optimizer {
        _ if recipe.optimizer_in_backward || input.cpu_offload => 0.0,
        Optimizer::AdamW | Optimizer::Lion | Optimizer::SgdMomentum => optimizer / 2.0,
        _ => 0.0,
    };
    let base_bytes = match input.method {
        Method::Qlora(_) => nf4_bytes(recipe.double_quantization),
        _ if fp32 => 4.0,
        _ => 2.0,
    };
    let device_base = if offload_shards { in_flight(base_bytes).min(base) } else { base };
    let master_full = if mixed_master { state(4.0, Sharding::Zero1) } else { 0.0 };
    let host = if input.cpu_offload {
        state(optimizer_bytes, Sharding::Zero1)
            + master_full
            + (base - device_base)
            + (state(grad_bytes, Sharding::Zero2) - gradients).max(0.0)
    } else {
        0.0
    };
    let base = device_base;
    // The FP8 copy of the linear layers' weights the recipe keeps for the step (Transformer
    // Engine caches it across micro-batches), sharded as the weights are.
    let fp8_copy = match fp8 {
        Some(f) if f.weight_copy_bytes > 0.0 => {
            let a = input.anatomy;
            let experts = a.by_group(Group::Experts).as_f64();
            let dense_linear = [Group::Attention, Group::Mlp, Group::SharedExperts]
                .iter()
                .map(|g| a.by_group(*g).as_f64())
                .sum::<f64>();
            f.weight_copy_bytes
                * sharded(Sharding::Zero3, dense_linear / (tp * pp), experts / (tp * pp * f64::from(par.expert)))
        }
        _ => 0.0,
    };
    States {
        weights: base + adapters * adapter_bytes + fp8_copy,
        fp8_copy,
        master: master_full * offload,
        gradients,
        one_gradient: (largest * grad_bytes).min(gradients),
        optimizer,
        paged,
        reference: if recipe.reference_model && full {
            2.0 * sharded(Sharding::Zero3, dense_local, expert_local)
        } else {
            0.0
        },
        scratch,
        dequantized: if matches!(input.method, Method::Qlora(_)) {
            (if fp32 { 4.0 } else { 2.0 }) * largest_quantized(input)
        } else {
            0.0
        },
        trained,
        host,
    }
}

/// Saved activations at `sequence` tokens and `micro_batch` sequences (examples; DPO doubles
/// them).
fn activations(input: &TrainingInput<'_>, sequence: f64, micro_batch: f64) -> Activations {
    let (arch, recipe, par) = (input.arch, &input.recipe, input.parallelism);
    let tp = f64::from(par.tensor);
    let seq = sequence / f64::from(par.context);
    let b = micro_batch * recipe.sequences_per_example;
    let h = arch.hidden as f64;
    let (qk, v) = arch.attention_dims();
    let q = (arch.heads * qk) as f64;
    let k = (arch.kv_heads * qk) as f64;
    let vd = (arch.kv_heads * v) as f64;
    let o_in = (arch.heads * v) as f64;
    // The routed MLP runs each token through `experts_per_token` experts of their own width.
    let f = match &arch.moe {
        Some(m) => {
            (m.expert_intermediate * m.experts_per_token.max(1) + m.shared_expert_intermediate * m.shared_experts)
                as f64
        }
        None => arch.intermediate as f64,
    };
    let full = input.method == Method::Full;
    // bitsandbytes' 4-bit matmul saves its input for backward even for a frozen weight, so a
    // QLoRA base on it keeps every linear layer's input, as training all of them would.
    let saves_all_inputs = full || (matches!(input.method, Method::Qlora(_)) && recipe.quantized_linear_saves_input);
    let targets = if saves_all_inputs { LoraTargets::ALL_LINEAR } else { recipe.lora_targets };
    let gated = arch.mlp == Mlp::Gated;
    // Sequence parallelism shards what tensor parallelism replicates (norms, block inputs).
    let replicated = if par.sequence_parallel { tp } else { 1.0 };
    // A frozen norm's weight needs no gradient, so it keeps at most its FP32 input.
    let norm_bytes =
        if full { recipe.norm_bytes_per_hidden } else { recipe.norm_bytes_per_hidden.min(FROZEN_NORM_BYTES) };
    let norms = f64::from(arch.norms_per_layer.max(1)) * norm_bytes * h / replicated;
    // Flash attention saves q, k, v and the output (and a log-sum-exp per head); without it,
    // the softmax probabilities per head per key too.
    let mut attention = 2.0 * (q + k + vd + o_in) / tp;
    if !input.flash_attention && input.checkpointing == Checkpointing::None {
        attention += 2.0 * arch.heads as f64 * seq / tp;
    }
    // A frozen linear layer needs no saved input (its weight gradient is not computed); a
    // trained or adapted one saves it, shared by the modules reading the same tensor.
    // FP8 recipes save these inputs as the FP8 GEMMs read them (1 byte plus scales).
    let ib = if input.precision == Precision::Fp8 && full { input.fp8.saved_input_bytes } else { 2.0 };
    let mut inputs = 0.0;
    if targets.any(LoraTargets::Q.with(LoraTargets::K).with(LoraTargets::V)) {
        inputs += ib * h / replicated;
    }
    if targets.any(LoraTargets::GATE.with(LoraTargets::UP)) {
        inputs += ib * h / replicated;
    }
    if targets.contains(LoraTargets::DOWN) {
        inputs += ib * f / tp;
    }
    // The MLP's activation function and gate product need their inputs whatever is trained:
    // gated, the gate and up outputs and the activated gate; plain, the first layer's output.
    // A fused SwiGLU (Megatron's `bias_swiglu_impl` and Transformer Engine's LayerNormMLP save
    // only the first linear layer's gate and up outputs; torch.compile fuses the pointwise chain
    // the same way) recomputes the activated gate in backward: 4 x intermediate, not 6.
    let mlp = match (gated, recipe.compiled) {
        (true, true) => 4.0 * f / tp,
        (true, false) => 6.0 * f / tp,
        (false, _) => 2.0 * f / tp,
    };
    let mut lora = 0.0;
    if !full {
        let rank = match input.method {
            Method::Lora(r) | Method::Qlora(r) => f64::from(r),
            Method::Full => 0.0,
        };
        for (module, width) in [
            (LoraTargets::Q, h),
            (LoraTargets::K, h),
            (LoraTargets::V, h),
            (LoraTargets::O, o_in),
            (LoraTargets::GATE, h),
            (LoraTargets::UP, h),
            (LoraTargets::DOWN, f),
        ] {
            if targets.contains(module) && (gated || module != LoraTargets::GATE) {
                // The low-rank intermediate, and with dropout a dropped-out input and its mask.
                lora += 2.0 * rank + if recipe.lora_dropout { 3.0 * width / tp } else { 0.0 };
            }
        }
    }
    let per_layer_token = norms + attention + inputs + mlp + lora;
    let one_layer = seq * b * per_layer_token;
    // The first stage holds the most: the schedule's micro-batches in flight (1F1B: `pipeline`,
    // at most all of them; interleaved: p + (p - 1) / v) of its L / p layers, so L layers' worth
    // for 1F1B (see `pipeline`; one layer fewer per micro-batch when the split counts the
    // embedding as a layer).
    let in_flight =
        par.schedule.first_stage_in_flight(par.pipeline, super::micro_batches(input, sequence, micro_batch));
    let held_layers = par.schedule.first_stage_layers(par.pipeline, arch.layers) * in_flight;
    let kept_per_layer = match input.checkpointing {
        // Only each layer's input; the layer is rebuilt in backward.
        Checkpointing::Full => seq * b * 2.0 * h / replicated,
        // torchtitan's op-level policy: the layer's input, the attention output, and the
        // outputs of every other matmul in call order (wq, wv, w1, w2 of a gated MLP's seven;
        // wq, wv, w1 of a plain one's six), in 16 bit.
        Checkpointing::Selective if recipe.selective_op => {
            let matmuls = q + vd + f + if gated { h } else { 0.0 };
            (seq * b * (2.0 * h / replicated + 2.0 * o_in / tp + 2.0 * matmuls / tp)).min(one_layer)
        }
        Checkpointing::Selective | Checkpointing::None => one_layer,
    };
    // Offloading keeps about two layers' worth on the device (one in flight each way).
    let kept_layers = if recipe.activation_offloading { held_layers.min(2.0) } else { held_layers };
    let vocab = arch.vocab as f64 / tp;
    let (fwd, bwd) = recipe.loss.bytes_per_logit(recipe.compiled);
    // The final norm's and output layer's inputs.
    let head = seq * b * (2.0 + recipe.norm_bytes_per_hidden) * h;
    Activations {
        saved: kept_per_layer * kept_layers + head,
        one_layer,
        logits_forward: seq * b * vocab * fwd,
        logits_backward: seq * b * vocab * bwd,
        per_layer_token,
        offloaded: kept_per_layer * (held_layers - kept_layers).max(0.0),
    }
}

/// CUDA context, library workspaces and communication buffers outside the allocator.
fn context(input: &TrainingInput<'_>) -> f64 {
    let profile = input.profile;
    // No CUDA context on CPUs and unified-memory SoCs (their runtime's memory is the host's).
    let base = match input.device.kind {
        DeviceKind::Cpu | DeviceKind::AppleSoc => 0.0,
        _ => profile.context.0,
    };
    let communication = if input.parallelism.devices() > 1 { profile.runtime_overhead.0 } else { 0.0 };
    base + communication
}

/// Whether gradients accumulate over micro-batches (and so stay alive across them).
pub(super) fn gradient_accumulation(input: &TrainingInput<'_>) -> bool {
    let s = input.sequence_length as f64 * input.micro_batch as f64 * f64::from(input.parallelism.data);
    input.global_batch_tokens > s * 1.000_001
}

/// The phase peaks (allocated) for states and activations.
fn phases(input: &TrainingInput<'_>, st: &States, act: &Activations) -> [f64; 3] {
    let recipe = &input.recipe;
    let resident_optimizer = if st.paged { 0.0 } else { st.optimizer };
    let persistent = st.weights + st.master + resident_optimizer + st.reference;
    let live_gradients = if recipe.optimizer_in_backward { st.one_gradient } else { st.gradients };
    let carried = if gradient_accumulation(input) && !recipe.optimizer_in_backward { st.gradients } else { 0.0 };
    // A layer rebuilt in backward holds what it saves without checkpointing while its backward
    // runs (full recomputation, and torchtitan's op-level selective policy).
    let rebuilt = match input.checkpointing {
        Checkpointing::Full => true,
        Checkpointing::Selective => recipe.selective_op,
        Checkpointing::None => false,
    };
    let recomputed = if rebuilt { act.one_layer } else { 0.0 };
    let layers = f64::from(input.arch.layers).max(1.0);
    // A quantised base's head (or largest layer) is rebuilt in 16 bit for the last multiply of
    // forward and the first of backward, beside everything those two ends hold.
    let forward = persistent + carried + act.saved + act.logits_forward + st.dequantized;
    // Backward starts with every activation and the loss gradient, and ends with every
    // gradient; a recomputed layer's activations come on top.
    let backward = persistent
        + (carried + act.saved + act.logits_backward + st.dequantized).max(live_gradients + act.saved / layers)
        + recomputed;
    let step = persistent + live_gradients.min(st.gradients) + st.scratch;
    [forward, backward, step]
}

/// What cannot spill at a sequence length and micro-batch: peak allocated, the allocator's
/// reserve, context and buffers. Paged optimizer states are outside it.
fn fixed_demand(input: &TrainingInput<'_>, st: &States, sequence: f64, micro_batch: f64) -> f64 {
    let act = activations(input, sequence, micro_batch);
    let allocated = phases(input, st, &act).into_iter().fold(0.0, f64::max);
    allocated * (1.0 + input.profile.allocator_overhead) + context(input)
}

fn capacity(input: &TrainingInput<'_>) -> f64 {
    input.device.memory.0 * input.profile.memory_fraction
}

/// The largest integer in `[1, limit]` whose demand is within `capacity`, 0 when none is;
/// `demand` grows with its argument.
///
/// Demand is linear in the micro-batch, and in the sequence length under flash attention, so
/// the line through 1 and 2 lands on the answer or next to it and a handful of evaluations
/// confirm it; a bisection around that guess covers the curved cases (attention scores grow
/// with the square of the sequence). The estimate calls this twice on every run, the training
/// planner millions of times.
fn largest(limit: u64, capacity: f64, demand: impl Fn(u64) -> f64) -> u64 {
    let fits = |x: u64| demand(x) <= capacity;
    let first = demand(1);
    if first > capacity {
        return 0;
    }
    let slope = demand(2) - first;
    let guess = if slope > 0.0 { 1.0 + ((capacity - first) / slope).floor() } else { limit as f64 };
    let guess = (guess.clamp(1.0, limit as f64)) as u64;
    // Gallop away from the guess, doubling the step, until [lo, hi) brackets the boundary: lo
    // fits, hi does not (or is past the limit). 1 fits, so going down always ends.
    let up = fits(guess);
    let (mut lo, mut hi) = (guess, guess);
    let mut step = 1u64;
    loop {
        if up {
            let next = lo.saturating_add(step);
            if next > limit || !fits(next) {
                hi = next.min(limit.saturating_add(1));
                break;
            }
            lo = next;
        } else {
            let next = hi.saturating_sub(step).max(1);
            if fits(next) {
                lo = next;
                break;
            }
            hi = next;
        }
        step = step.saturating_mul(2);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) { lo = mid } else { hi = mid }
    }
    lo
}

/// Most sequences per micro-batch and tokens per sequence searched.
const MICRO_BATCH_LIMIT: u64 = 1 << 20;
const SEQUENCE_LIMIT: u64 = 1 << 24;

/// Whether `input` fits; for the fit advice's and the automatic layout's searches.
pub fn fits(input: &TrainingInput<'_>) -> bool {
    device_need(input) <= capacity(input)
}

/// What must fit on one device (paged states, which may spill, apart), bytes: the `total` of
/// the memory estimate for a run that does not fit, without its explanation or searches.
pub fn device_need(input: &TrainingInput<'_>) -> f64 {
    let st = states(input);
    fixed_demand(input, &st, input.sequence_length as f64, input.micro_batch as f64)
}

/// Peak memory of one device, recorded in `trace`.
pub fn memory(input: &TrainingInput<'_>, trace: &mut Trace) -> TrainingMemory {
    let st = states(input);
    let (s, b) = (input.sequence_length as f64, input.micro_batch as f64);
    let act = activations(input, s, b);
    let recipe = &input.recipe;
    let weights = trace.record(
        "memory.weights",
        "parameters / (tensor x pipeline) (experts also / expert) x bytes per weight (2, 4 in FP32; a QLoRA base: NF4 for linear layers, 4.127 bits with double quantisation or 4.5 without, the rest at the recipe's unquantised bytes), / the data-parallel group under ZeRO-3; plus adapters (4 bytes under mixed precision, 2 in pure 16 bit); plus the FP8 recipe's copy of the linear layers' weights",
        &[("trained_parameters", st.trained), ("zero3_shards", shards(input, Sharding::Zero3).0), ("fp8_weight_copy_bytes", st.fp8_copy)],
        st.weights,
        "bytes",
    );
    let master_weights = trace.record(
        "memory.master_weights",
        "FP32 master copy (4 bytes per parameter) in mixed-precision full training with master weights, / data ranks from ZeRO-1; 0 offloaded, in pure 16-bit recipes, or for adapters",
        &[("trained_parameters", st.trained), ("zero1_shards", shards(input, Sharding::Zero1).0)],
        st.master,
        "bytes",
    );
    let gradients = trace.record(
        "memory.gradients",
        "trained parameters x gradient bytes (the weights' dtype; adapters' own), / data ranks from ZeRO-2; with the optimizer in backward only the largest parameter's gradient is alive",
        &[("trained_parameters", st.trained), ("optimizer_in_backward", f64::from(u8::from(recipe.optimizer_in_backward)))],
        if recipe.optimizer_in_backward { st.one_gradient } else { st.gradients },
        "bytes",
    );
    let optimizer = trace.record(
        "memory.optimizer",
        "trained parameters x state bytes (AdamW two 32-bit moments, or two 16-bit ones in pure 16-bit training; 8-bit AdamW 2; Lion and SGD one moment; Adafactor about 0), / data ranks from ZeRO-1; 0 when offloaded; paged optimizers hold them in unified memory",
        &[("trained_parameters", st.trained), ("paged", f64::from(u8::from(st.paged)))],
        st.optimizer,
        "bytes",
    );
    let activations = trace.record(
        "memory.activations",
        "per layer per token: norms x norm bytes x hidden + flash attention's q, k, v, output (x2 bytes; + 2 x heads x sequence without flash attention) + inputs of trained or adapted linear layers + MLP activations (gated: 6 x intermediate eager, 4 fused under a compiled stack; plain 2) + LoRA intermediates (and dropout copies); x tokens per micro-batch x layers / pipeline x the micro-batches the first stage holds in flight (1F1B: min(pipeline, micro-batches), L layers' worth; interleaved: p + (p - 1) / v; zero bubble ZB-H1: as 1F1B), or only each layer's input under full checkpointing, about two layers when offloaded; plus the output layer's input",
        &[("sequence_tokens", s / f64::from(input.parallelism.context)), ("micro_batch_sequences", b * recipe.sequences_per_example), ("bytes_per_layer_per_token", act.per_layer_token), ("layers", f64::from(input.arch.layers)), ("first_stage_micro_batches_in_flight", input.parallelism.schedule.first_stage_in_flight(input.parallelism.pipeline, super::micro_batches(input, s, b)))],
        act.saved,
        "bytes",
    );
    let logits = trace.record(
        "memory.logits",
        "tokens x vocabulary / tensor x bytes per logit at the peak (full FP32 loss 10 forward and 14 in backward; chunked 6 and 6.5 eager, 2.5 both compiled; fused 0.25)",
        &[("vocabulary", input.arch.vocab as f64), ("bytes_per_logit_forward", recipe.loss.bytes_per_logit(recipe.compiled).0)],
        act.logits_forward.max(act.logits_backward),
        "bytes",
    );
    let [forward, backward, step] = phases(input, &st, &act);
    let allocated = trace.record(
        "memory.allocated",
        "the largest of three phases: forward end (states + carried gradients + activations + logits), backward (states + the larger of activations and loss gradient, or gradients; + one recomputed layer under full checkpointing), optimizer step (states + gradients + foreach temporaries); paged optimizer states are outside",
        &[("forward_bytes", forward), ("backward_bytes", backward), ("optimizer_step_bytes", step)],
        forward.max(backward).max(step),
        "bytes",
    );
    let peak_phase = if allocated == forward {
        Phase::Forward
    } else if allocated == backward {
        Phase::Backward
    } else {
        Phase::OptimizerStep
    };
    let reserved = trace.record(
        "memory.reserved",
        "allocated x (1 + the engine's caching-allocator share: fragmentation and cached blocks)",
        &[("allocated_bytes", allocated), ("allocator_share", input.profile.allocator_overhead)],
        allocated * (1.0 + input.profile.allocator_overhead),
        "bytes",
    );
    let context = trace.record(
        "memory.context",
        "CUDA context and library workspaces (the engine's figure; none on CPUs and unified-memory SoCs) + communication buffers when there is more than one device",
        &[("context_bytes", input.profile.context.0), ("communication_bytes", input.profile.runtime_overhead.0)],
        context(input),
        "bytes",
    );
    let paged = if st.paged { optimizer } else { 0.0 };
    let capacity = trace.record(
        "memory.capacity",
        "device memory x the share the engine may use",
        &[("device_memory_bytes", input.device.memory.0), ("fraction", input.profile.memory_fraction)],
        capacity(input),
        "bytes",
    );
    let fixed = reserved + context;
    let fits = fixed <= capacity;
    // Paged states fill what the rest leaves and spill the remainder to host memory; when the
    // rest does not fit, the device's need is the rest alone (the states could all spill).
    let spilled = if fits { (fixed + paged - capacity).max(0.0) } else { paged };
    let total = trace.record(
        "memory.total",
        "what the device holds at its peak: reserved + context + the paged optimizer states that stay on the device (those that do not fit beside the rest spill to host memory, and all of them when the rest alone does not fit)",
        &[("reserved_bytes", reserved), ("context_bytes", context), ("paged_optimizer_bytes", paged), ("spilled_bytes", spilled)],
        fixed + paged - spilled,
        "bytes",
    );
    let offloaded = st.host + act.offloaded;
    let max_micro_batch = largest(MICRO_BATCH_LIMIT, capacity, |mb| fixed_demand(input, &st, s, mb as f64));
    let max_micro_batch = trace.record(
        "memory.max_micro_batch_size",
        "the largest micro-batch (sequences) at this sequence length whose peak allocated x (1 + allocator share) + context is within the usable memory (paged optimizer states may spill); 0 when not even one fits",
        &[("sequence_length", s), ("capacity_bytes", capacity), ("allocator_share", input.profile.allocator_overhead), ("context_bytes", context)],
        max_micro_batch as f64,
        "sequences",
    ) as u64;
    let max_sequence_length = largest(SEQUENCE_LIMIT, capacity, |len| fixed_demand(input, &st, len as f64, b));
    let max_sequence_length = trace.record(
        "memory.max_sequence_length",
        "the longest sequence (tokens) at this micro-batch whose peak allocated x (1 + allocator share) + context is within the usable memory (paged optimizer states may spill); 0 when not even one token fits",
        &[("micro_batch_sequences", b), ("capacity_bytes", capacity), ("allocator_share", input.profile.allocator_overhead), ("context_bytes", context)],
        max_sequence_length as f64,
        "tokens",
    ) as u64;
    if !fits {
        // The parts add up to the figure (`memory.per_device.total_bytes`): what the peak phase
        // allocates (the states that stay allocated, then what lives only in that phase), the
        // allocator's reserve and context. Paged optimizer states are outside the allocator and
        // would spill to host memory, so they are named apart, never in the sum.
        trace.warn("does-not-fit", || {
            let resident_optimizer = if st.paged { 0.0 } else { optimizer };
            let persistent = weights + master_weights + resident_optimizer + st.reference;
            let reference = if st.reference > 0.0 { format!(", reference model {:.1}", st.reference / 1e9) } else { String::new() };
            let outside = if paged > 0.0 {
                format!("; the paged optimizer states ({:.1} GB) are not in this figure: they would live in host memory", paged / 1e9)
            } else {
                String::new()
            };
            format!(
                "needs {:.1} GB per device at its peak ({} phase: weights {:.1}, master {:.1}, optimizer {:.1}{reference}, gradients, activations and logits live in the phase {:.1}, allocator reserve and context {:.1}) but {:.1} GB is usable{outside}; see fit.changes for what makes it fit",
                fixed / 1e9, peak_phase.as_str(), weights / 1e9, master_weights / 1e9, resident_optimizer / 1e9, (allocated - persistent).max(0.0) / 1e9, (fixed - allocated) / 1e9, capacity / 1e9
            )
        });
    }
    if fits && spilled > 0.0 {
        trace.warn("paged-optimizer-spills", || {
            format!(
                "{:.1} GB of paged optimizer state does not fit beside the rest and lives in host memory, paged in at every step: slower",
                spilled / 1e9
            )
        });
    }
    if recipe.optimizer_in_backward && gradient_accumulation(input) {
        trace.warn("optimizer-in-backward-with-accumulation", || {
            "the optimizer steps inside backward, which cannot accumulate gradients over micro-batches; frameworks refuse this (torchtune requires gradient_accumulation_steps 1)".to_owned()
        });
    }
    TrainingMemory {
        weights: Bytes(weights),
        fp8_weight_copy: Bytes(st.fp8_copy),
        master_weights: Bytes(master_weights),
        gradients: Bytes(gradients),
        optimizer: Bytes(optimizer),
        paged_optimizer: Bytes(paged),
        reference_model: Bytes(st.reference),
        activations: Bytes(activations),
        logits: Bytes(logits),
        overhead: Bytes(fixed - allocated),
        phases: [Bytes(forward), Bytes(backward), Bytes(step)],
        peak_phase,
        allocated: Bytes(allocated),
        reserved: Bytes(reserved),
        context: Bytes(context),
        total: Bytes(total),
        capacity: Bytes(capacity),
        fits,
        spilled: Bytes(spilled),
        offloaded: Bytes(offloaded),
        host: Bytes(offloaded + spilled),
        max_micro_batch,
        max_sequence_length,
    }
}

#[cfg(test)]
mod tests {
    use super::largest;

    #[test]
    fn largest_finds_the_boundary() {
        // Linear, curved, flat, and nothing fits.
        assert_eq!(largest(100, 37.0, |x| x as f64), 37);
        assert_eq!(largest(1 << 20, 1e6, |x| (x * x) as f64 + 10.0 * x as f64), 995);
        assert_eq!(largest(100, 1.0, |_| 0.5), 100);
        assert_eq!(largest(100, 1.0, |_| 2.0), 0);
        assert_eq!(largest(1, 5.0, |x| x as f64), 1);
        for cap in [1.0, 2.5, 99.0, 1e4] {
            let expected = (1..=10_000u64).take_while(|x| (x * x) as f64 <= cap).last().unwrap_or(0);
            assert_eq!(largest(10_000, cap, |x| (x * x) as f64), expected, "{cap}");
        }
    }
}
