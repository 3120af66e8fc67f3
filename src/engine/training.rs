//! Training estimates: memory per device, FLOPs, step time, throughput, MFU, wall-clock time,
//! GPU-hours, cost and energy.
//!
//! Memory follows the ZeRO paper (Rajbhandari et al. 2020, section 3: 2 + 2 + 12 bytes per
//! parameter for mixed-precision Adam, divided by the data-parallel degree from the stage that
//! shards each part) and activation memory follows Korthikanti et al. 2022 ("Reducing Activation
//! Recomputation in Large Transformer Models", table 2). FLOPs follow Kaplan et al. 2020 and
//! Narayanan et al. 2021: `6 N` per token plus attention; hwcost's model FLOPs halve the attention
//! term for causal masking (the work a causal kernel does), and the response also gives the
//! other common definitions so a source's MFU can be compared like for like.
//!
//! Time: the step's hardware FLOPs over achievable throughput (an engine efficiency that grows
//! with model width, data in `data/engines/training.toml`), plus tensor-parallel all-reduces that
//! are not overlapped, the pipeline bubble of the schedule (1F1B `(p - 1) / (m + p - 1)`,
//! interleaved and zero-bubble schedules in `training/pipeline.rs`) and its point-to-point sends, and the
//! data-parallel gradient reduction that backward does not hide.

use super::anatomy::{Anatomy, Group};
use super::architecture::{Architecture, Mlp};
use super::device::{ComputeType, Device, compute_name};
use super::explain::{Explanation, Trace, Warning};
use super::network::Network;
use super::parallelism::{all_reduce, link};
use super::units::{Bytes, Seconds};

mod context;
mod energy;
mod experts;
mod fit;
mod fp8;
mod memory;
mod pipeline;

pub use experts::{ExpertCost, ExpertTraining, layer_all_to_alls};
pub use fp8::{Fp8Recipe, Fp8Training};

pub use context::ContextRing;
pub use energy::{EnergyBreakdown, energy, host_w, system_w};

pub use fit::{Change, FitAdvice, advise};
pub use memory::{
    LoraTargets, Loss, Phase, Recipe, TrainingMemory, device_need, fits, nf4_bytes, optimizer_state_bytes,
};
pub use pipeline::PipelineSchedule;

/// Effective host-link rate for offloaded activations: PCIe 4.0 x16 in practice (about 25 GB/s
/// of its 32); newer links only help when the rest of the system keeps up.
const HOST_LINK_BYTES_PER_S: f64 = 25e9;

/// The share of a layer's elementwise work that tensor parallelism without sequence parallelism
/// leaves whole on every rank: the norms, dropouts and residual adds outside its regions. Taken
/// from the activations they save, 10 of the 34 bytes per token per hidden unit in Korthikanti
/// et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models", equation 2:
/// `sbh(10 + 24/t + 5as/(ht))`); the other 24 are split over the tensor ranks.
const REPLICATED_ELEMENTWISE_SHARE: f64 = 10.0 / 34.0;

/// Arithmetic precision of training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// BF16 mixed precision with FP32 master weights.
    Bf16,
    /// FP16 mixed precision with FP32 master weights and loss scaling.
    Fp16,
    /// FP8 GEMMs (Transformer Engine) with BF16 weights and FP32 master weights.
    Fp8,
    /// Pure FP32 (TF32 tensor cores where available are not assumed).
    Fp32,
}

/// Optimizer, for its state size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimizer {
    /// Adam/AdamW: two FP32 moments.
    AdamW,
    /// 8-bit AdamW (bitsandbytes): two 8-bit moments.
    AdamW8bit,
    /// bitsandbytes' paged AdamW: 32-bit moments in CUDA unified memory.
    PagedAdamW,
    /// bitsandbytes' paged 8-bit AdamW.
    PagedAdamW8bit,
    /// Adafactor without momentum: factored second moment.
    Adafactor,
    /// SGD with momentum: one FP32 buffer.
    SgdMomentum,
    /// Lion: one FP32 momentum.
    Lion,
}

/// How model state is sharded across data-parallel ranks (ZeRO stages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sharding {
    /// Plain data parallel: every rank holds everything.
    None,
    /// Optimizer states (and master weights) sharded.
    Zero1,
    /// Plus gradients.
    Zero2,
    /// Plus weights (FSDP full shard).
    Zero3,
    /// FSDP hybrid: full shard within a node of `hsdp_group` ranks, replicated across nodes.
    Hsdp,
}

/// Activation recomputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpointing {
    /// Keep all activations.
    None,
    /// Recompute attention internals only (Korthikanti et al. selective recomputation).
    Selective,
    /// Recompute each layer from its input.
    Full,
}

/// What is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// All parameters.
    Full,
    /// Low-rank adapters of this rank on every linear layer of frozen 16-bit weights.
    Lora(u32),
    /// LoRA on a frozen 4-bit (NF4) base.
    Qlora(u32),
}

/// Parallel layout of a training run: `devices = tensor x pipeline x context x data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainingParallelism {
    /// Tensor parallel degree.
    pub tensor: u32,
    /// Pipeline stages.
    pub pipeline: u32,
    /// Data-parallel ranks (including the expert-parallel ones).
    pub data: u32,
    /// Expert parallel degree (divides `data`).
    pub expert: u32,
    /// Context (sequence-dimension) parallel degree.
    pub context: u32,
    /// Megatron sequence parallelism (shards the non-tensor-parallel activations over `tensor`).
    pub sequence_parallel: bool,
    /// Causal load balance of context parallelism: each sequence cut into `2 x context` chunks,
    /// rank `r` holding chunks `r` and `2 context - 1 - r` (Megatron-Core, torchtitan), so every
    /// rank does the same attention work; false: contiguous shards, the last rank the most.
    pub context_load_balanced: bool,
    /// Pipeline schedule (bubble, activations in flight on the first stage, point-to-point
    /// traffic); only matters with more than one stage.
    pub schedule: PipelineSchedule,
}

impl TrainingParallelism {
    /// Devices in all.
    pub fn devices(&self) -> u64 {
        u64::from(self.tensor) * u64::from(self.pipeline) * u64::from(self.context) * u64::from(self.data)
    }
}

/// A training engine's efficiencies; the numbers are data.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingProfile {
    /// Engine id.
    pub id: String,
    /// Share of dense peak the step's matrix multiplies reach (hardware FLOPs).
    pub compute_efficiency: f64,
    /// `compute_efficiency` on another microarchitecture (`Volta`), where the era's kernels
    /// reached another share of that architecture's peak.
    pub compute_by_architecture: Vec<(String, f64)>,
    /// Share of dense peak the fused attention kernels (FlashAttention) reach on the score and
    /// value products, counted with causal halving: below the GEMMs' share, and what long
    /// sequences, where attention dominates the FLOPs, run at.
    pub attention_efficiency: f64,
    /// `attention_efficiency` on another microarchitecture (`Hopper`), where the stack's
    /// attention kernel reaches another share of the peak.
    pub attention_by_architecture: Vec<(String, f64)>,
    /// Memory-bound traffic between GEMMs (norms, residual adds, activation functions, dropout,
    /// read and written in 16 bit forward and backward): bytes per token per layer per unit of
    /// hidden size. This is why narrow models and high-FLOP/byte devices (H100 vs A100) reach a
    /// lower share of peak: FLOPs grow with hidden squared, this traffic with hidden.
    pub elementwise_bytes_per_hidden: f64,
    /// Fraction of peak bandwidth that traffic reaches.
    pub memory_efficiency: f64,
    /// FP8 runs reach this share of the BF16 efficiency, measured against the FP8 peak.
    pub fp8_factor: f64,
    /// Share of the data-parallel gradient reduction hidden behind backward.
    pub dp_overlap: f64,
    /// Share of memory lost to allocator caching and fragmentation.
    pub allocator_overhead: f64,
    /// Communication buffers per device when there is more than one (NCCL's).
    pub runtime_overhead: Bytes,
    /// Share of device memory usable.
    pub memory_fraction: f64,
    /// Latency per collective.
    pub collective_latency: Seconds,
    /// Share of TDP drawn while training.
    pub power_fraction: f64,
    /// Share of a node's host power (its rating beyond the devices' TDP: CPUs, memory, NICs,
    /// fans) drawn while training.
    pub host_power_fraction: f64,
    /// Network switch power per device, watts.
    pub network_w_per_device: f64,
    /// Efficiency multiplier for QLoRA (4-bit dequantisation in every GEMM).
    pub qlora_factor: f64,
    /// CUDA context and library workspaces per device, outside the caching allocator.
    pub context: Bytes,
}

impl TrainingProfile {
    /// The GEMMs' share of peak on a device of `architecture`.
    pub fn compute_efficiency_on(&self, architecture: &str) -> f64 {
        self.compute_by_architecture
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(architecture))
            .map_or(self.compute_efficiency, |(_, e)| *e)
    }

    /// The attention kernels' share of peak on a device of `architecture`.
    pub fn attention_efficiency_on(&self, architecture: &str) -> f64 {
        self.attention_by_architecture
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(architecture))
            .map_or(self.attention_efficiency, |(_, e)| *e)
    }
}

#[cfg(test)]
impl TrainingProfile {
    /// A profile for tests: round numbers near the fitted ones, no network power.
    pub(crate) fn for_tests() -> Self {
        Self {
            id: "test".into(),
            compute_efficiency: 0.5,
            compute_by_architecture: Vec::new(),
            attention_efficiency: 0.5,
            attention_by_architecture: Vec::new(),
            elementwise_bytes_per_hidden: 200.0,
            memory_efficiency: 0.8,
            fp8_factor: 0.7,
            dp_overlap: 0.8,
            allocator_overhead: 0.1,
            runtime_overhead: Bytes(2e9),
            memory_fraction: 0.95,
            collective_latency: Seconds(2e-5),
            power_fraction: 0.85,
            host_power_fraction: 0.6,
            network_w_per_device: 0.0,
            qlora_factor: 0.6,
            context: Bytes(0.45e9),
        }
    }
}

/// Tokens per parameter of a compute-optimal run (Hoffmann et al. 2022, "Training
/// Compute-Optimal Large Language Models", table 3: about 20).
pub const CHINCHILLA_TOKENS_PER_PARAMETER: f64 = 20.0;

/// Compute-optimal training tokens for a model of `parameters`.
pub fn compute_optimal_tokens(parameters: f64) -> f64 {
    CHINCHILLA_TOKENS_PER_PARAMETER * parameters
}

/// Everything a training estimate needs, validated.
#[derive(Debug, Clone, Copy)]
pub struct TrainingInput<'a> {
    /// Model shape.
    pub arch: &'a Architecture,
    /// Its anatomy.
    pub anatomy: &'a Anatomy,
    /// Device kind.
    pub device: &'a Device,
    /// Layout.
    pub parallelism: TrainingParallelism,
    /// Tokens to train on.
    pub tokens: f64,
    /// Sequence length.
    pub sequence_length: u64,
    /// Sequences per micro-batch per data-parallel rank.
    pub micro_batch: u64,
    /// Tokens per optimizer step, all ranks.
    pub global_batch_tokens: f64,
    /// Precision.
    pub precision: Precision,
    /// Optimizer.
    pub optimizer: Optimizer,
    /// Sharding.
    pub sharding: Sharding,
    /// HSDP shard group size (ranks that fully shard; ignored otherwise).
    pub hsdp_group: u32,
    /// Recomputation.
    pub checkpointing: Checkpointing,
    /// Full training or adapters.
    pub method: Method,
    /// Optimizer states and master weights kept in host memory.
    pub cpu_offload: bool,
    /// Flash attention (scores never materialised).
    pub flash_attention: bool,
    /// Engine efficiencies.
    pub profile: &'a TrainingProfile,
    /// The GEMMs' share of peak on this device ([`TrainingProfile::compute_efficiency_on`] its
    /// architecture, or a request's override).
    pub compute_efficiency: f64,
    /// The attention kernels' share of peak on this device
    /// ([`TrainingProfile::attention_efficiency_on`] its architecture).
    pub attention_efficiency: f64,
    /// What the framework's recipe keeps in memory.
    pub recipe: Recipe,
    /// A measured MFU (model FLOPs, hwcost's definition) to use instead of the rule.
    pub measured_mfu: Option<f64>,
    /// The share of wall-clock time that trains (goodput; 1 = no restarts or checkpoint stalls).
    pub effective_time_share: f64,
    /// Price per device-hour.
    pub usd_per_device_hour: Option<f64>,
    /// Data-centre power usage effectiveness.
    pub pue: f64,
    /// Device-hours available for the "largest compute-optimal model" helper, if any.
    pub budget_device_hours: Option<f64>,
    /// Expert parallelism: the hottest rank's load, the all-to-all's overlap, dispatch
    /// precision and the network beyond a node ([`ExpertTraining::NONE`] for dense runs).
    pub experts: ExpertTraining,
    /// The FP8 recipe (read when `precision` is FP8; [`Fp8Training::UNSCALED`] otherwise).
    pub fp8: Fp8Training,
    /// The scale-out network, for traffic that leaves a node (the context-parallel ring).
    pub network: Option<Network>,
}

/// A training estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingEstimate {
    /// Memory.
    pub memory: TrainingMemory,
    /// Model FLOPs for the whole run (hwcost definition: causal attention halved).
    pub model_flops: f64,
    /// Hardware FLOPs for the whole run (with recomputation).
    pub hardware_flops: f64,
    /// Model FLOPs per token, three definitions: (causal halving, no halving, 6N only).
    pub flops_per_token: (f64, f64, f64),
    /// Tokens per second per device.
    pub tokens_per_s_per_device: f64,
    /// Model FLOPs utilization (hwcost definition), against the precision's dense peak.
    pub mfu: f64,
    /// MFU with attention not halved (llm-foundry, NVIDIA's benchmark repo).
    pub mfu_no_causal_halving: f64,
    /// Hardware FLOPs utilization (with recomputation).
    pub hfu: f64,
    /// Time of one optimizer step.
    pub step_time: Seconds,
    /// Share of step time lost to the pipeline bubble.
    pub bubble_fraction: f64,
    /// Exposed communication per step.
    pub communication_time: Seconds,
    /// The context-parallel ring, with more than one context rank.
    pub context: Option<ContextRing>,
    /// Wall-clock time of the run.
    pub wall_clock: Seconds,
    /// Device-hours.
    pub gpu_hours: f64,
    /// USD, if priced.
    pub usd: Option<f64>,
    /// kWh including PUE, if the device has a power figure (`energy.kwh`).
    pub kwh: Option<f64>,
    /// That energy by where it goes: devices, hosts, network, facility.
    pub energy: Option<EnergyBreakdown>,
    /// Compute type used.
    pub compute_type: ComputeType,
    /// Chinchilla compute-optimal tokens for this model ([`compute_optimal_tokens`]).
    pub compute_optimal_tokens: f64,
    /// Largest compute-optimal model (parameters) trainable within the budget at this layout's
    /// achieved FLOP/s per device, when a budget is given.
    pub largest_model_within_budget: Option<f64>,
    /// Expert parallelism's all-to-all and load imbalance per step.
    pub experts: ExpertCost,
    /// Caveats.
    pub warnings: Vec<Warning>,
    /// How each number was made.
    pub explain: Vec<Explanation>,
}

/// Parameters of LoRA adapters of `rank` on the `targets` linear layers of every block (and
/// the output layer when `output`): `rank x (in + out)` per matrix. MoE experts are adapted per
/// expert, as PEFT does.
pub fn lora_params(arch: &Architecture, rank: u32, targets: LoraTargets, output: bool) -> f64 {
    let r = f64::from(rank);
    let (d, q, kv, f) = (
        arch.hidden as f64,
        (arch.heads * arch.head_dim) as f64,
        (arch.kv_heads * arch.head_dim) as f64,
        arch.intermediate as f64,
    );
    let gated = arch.mlp == Mlp::Gated;
    let mut per_layer = 0.0;
    for (module, width) in [
        (LoraTargets::Q, d + q),
        (LoraTargets::K, d + kv),
        (LoraTargets::V, d + kv),
        (LoraTargets::O, q + d),
        (LoraTargets::GATE, if gated { d + f } else { 0.0 }),
        (LoraTargets::UP, d + f),
        (LoraTargets::DOWN, f + d),
    ] {
        if targets.contains(module) {
            per_layer += r * width;
        }
    }
    let head = if output { r * (d + arch.vocab as f64) } else { 0.0 };
    f64::from(arch.layers) * per_layer + head
}

/// Micro-batches per optimizer step on each pipeline: global batch tokens / (sequence x
/// micro-batch x data ranks), at least 1 (the global batch is at least one sequence).
pub(crate) fn micro_batches(input: &TrainingInput<'_>, sequence: f64, micro_batch: f64) -> f64 {
    let global_batch = input.global_batch_tokens.max(sequence);
    (global_batch / (sequence * micro_batch * f64::from(input.parallelism.data)).max(1.0)).max(1.0)
}

/// Estimates a training run. Total for validated input.
pub fn estimate(input: &TrainingInput<'_>) -> TrainingEstimate {
    let mut trace = Trace::new(true);
    let (arch, anatomy, device, profile, par) =
        (input.arch, input.anatomy, input.device, input.profile, input.parallelism);
    let (tp, pp, dp, cp) =
        (f64::from(par.tensor), f64::from(par.pipeline), f64::from(par.data), f64::from(par.context));
    let ep = f64::from(par.expert);
    let (s, b, h, layers) =
        (input.sequence_length as f64, input.micro_batch as f64, arch.hidden as f64, f64::from(arch.layers));
    let heads = arch.heads as f64;

    // --- Memory ---------------------------------------------------------------------------
    let memory = memory::memory(input, &mut trace);
    let local_params = {
        let experts = anatomy.by_group(Group::Experts).as_f64();
        (anatomy.total.as_f64() - experts) / (tp * pp) + experts / (tp * pp * ep)
    };
    let adapters = match input.method {
        Method::Full => 0.0,
        Method::Lora(rank) | Method::Qlora(rank) => {
            lora_params(arch, rank, input.recipe.lora_targets, input.recipe.lora_on_output) / (tp * pp)
        }
    };
    let trained = if input.method == Method::Full { local_params } else { adapters };
    // Context ranks hold the same weights and reduce their gradients together, so the ZeRO
    // group is data x context (Megatron's distributed optimizer, torchtitan's FSDP mesh).
    let zero1_shards = match input.sharding {
        Sharding::None => 1.0,
        Sharding::Hsdp => f64::from(input.hsdp_group.max(1)).min(dp * cp),
        _ => dp * cp,
    };
    let seq = s / cp;

    // --- FLOPs ----------------------------------------------------------------------------
    let n = super::inference::matmul_params(anatomy);
    // Attention per token over `s` keys, forward and backward (3x forward): QK^T `2 h d_qk` and
    // AV `2 h d_v` FLOPs per key per layer. Standard attention: 12 L h d s.
    let (qk_dim, v_dim) = arch.attention_dims();
    let per_key = 2.0 * heads * (qk_dim + v_dim) as f64;
    let attention_full = 3.0 * per_key * layers * s;
    // Frozen base (LoRA, QLoRA): forward 2N and backward through activations 2N, no weight
    // gradients; attention has no weights, so its backward is unchanged.
    let matmul_factor = if input.method == Method::Full { 6.0 } else { 4.0 };
    let per_token_causal = matmul_factor * n + attention_full / 2.0;
    let per_token_full = matmul_factor * n + attention_full;
    let per_token_6n = matmul_factor * n;
    let model_per_token = trace.record(
        "flops.model_per_token",
        "6 x matmul parameters (4 x for adapters on a frozen base) + 3 x layers x sequence x 2 x heads x (qk dim + v dim) / 2 (attention forward and backward, causal halving)",
        &[("matmul_parameters", n), ("attention_flops_per_key_per_layer", per_key), ("sequence_length", s)],
        per_token_causal,
        "FLOPs",
    );
    let forward = 2.0 * n + attention_full / 6.0;
    let recompute = match input.checkpointing {
        Checkpointing::Full => forward,
        Checkpointing::Selective => attention_full / 6.0,
        Checkpointing::None => 0.0,
    };
    // Preference training (DPO) runs the reference model's forward over every sequence too.
    let reference = if input.recipe.reference_forward { forward } else { 0.0 };
    let hardware_per_token = trace.record(
        "flops.hardware_per_token",
        "model FLOPs + recomputation (full: one more forward, 2N + attention forward; selective: the attention forward) + the reference model's forward in preference training",
        &[("model_flops_per_token", model_per_token), ("recompute_flops_per_token", recompute), ("reference_flops_per_token", reference)],
        model_per_token + recompute + reference,
        "FLOPs",
    );

    // --- Time -----------------------------------------------------------------------------
    let wanted = match input.precision {
        Precision::Bf16 => ComputeType::Bf16,
        Precision::Fp16 => ComputeType::Fp16,
        Precision::Fp8 => ComputeType::Fp8,
        Precision::Fp32 => ComputeType::Fp32,
    };
    let compute_type = device.resolve(wanted);
    if compute_type != wanted {
        trace.warn("unsupported-precision", || {
            format!(
                "the catalog has no dense {} peak for {} (unsupported, or not yet collected); computed as {}",
                compute_name(wanted),
                device.id,
                compute_name(compute_type)
            )
        });
    }
    let peak = device.peak(compute_type).unwrap_or(0.0);
    let precision_factor = if compute_type == ComputeType::Fp8 { profile.fp8_factor } else { 1.0 };
    let recipe_factor = if compute_type == ComputeType::Fp8 { input.fp8.gemm_factor } else { 1.0 };
    let method_factor = if matches!(input.method, Method::Qlora(_)) { profile.qlora_factor } else { 1.0 };
    let efficiency = trace.record(
        "time.compute_efficiency",
        "engine GEMM efficiency x FP8 factor (FP8 runs) x FP8 recipe factor (block scaling's extra work) x QLoRA factor: the share of dense peak the step's matrix multiplies reach",
        &[("engine_efficiency", input.compute_efficiency), ("fp8_factor", precision_factor), ("fp8_recipe_factor", recipe_factor), ("qlora_factor", method_factor)],
        input.compute_efficiency * precision_factor * recipe_factor * method_factor,
        "fraction",
    );
    let global_batch = input.global_batch_tokens.max(s);
    let micro_batches = micro_batches(input, s, b);
    // The attention score and value products run in the fused attention kernel, not in the
    // GEMMs: its own share of peak (scaled like the GEMMs for FP8 and QLoRA runs, which change
    // the whole step). Counted with causal halving, as FlashAttention's own benchmarks count.
    let attention_per_token = attention_full / 2.0
        + match input.checkpointing {
            Checkpointing::Full | Checkpointing::Selective => attention_full / 6.0,
            Checkpointing::None => 0.0,
        }
        + if input.recipe.reference_forward { attention_full / 6.0 } else { 0.0 };
    let attention_efficiency = trace.record(
        "time.attention_efficiency",
        "engine attention-kernel efficiency x the same FP8 and QLoRA factors: the share of dense peak the fused attention kernels reach on causal-halved score and value FLOPs",
        &[("engine_attention_efficiency", input.attention_efficiency), ("fp8_factor", precision_factor), ("qlora_factor", method_factor)],
        input.attention_efficiency * precision_factor * method_factor,
        "fraction",
    );
    let tokens_here = global_batch / par.devices().max(1) as f64;
    let compute_time = trace.record(
        "time.compute",
        "tokens per device x ((hardware FLOPs per token - attention FLOPs per token) / (peak x GEMM efficiency) + attention FLOPs per token / (peak x attention efficiency))",
        &[("tokens_per_device", tokens_here), ("hardware_flops_per_token", hardware_per_token), ("attention_flops_per_token", attention_per_token), ("peak_flops_per_s", peak)],
        tokens_here
            * ((hardware_per_token - attention_per_token).max(0.0) / (peak * efficiency).max(1.0)
                + attention_per_token / (peak * attention_efficiency).max(1.0)),
        "s",
    );
    // Memory-bound work: the elementwise traffic of this device's tokens through its layers
    // (full recomputation repeats the forward half), plus the optimizer step reading and writing
    // its parameter shard (weights, master, gradients, two moments: about 36 bytes per trained
    // parameter). Tensor parallelism splits the work inside its regions (attention internals,
    // the MLP's activation) and, without sequence parallelism, leaves the norms, dropouts and
    // residual adds whole on every rank; sequence parallelism splits those too.
    let tokens_per_device = global_batch / (dp * cp);
    let width = if par.sequence_parallel {
        h / tp
    } else {
        h * (REPLICATED_ELEMENTWISE_SHARE + (1.0 - REPLICATED_ELEMENTWISE_SHARE) / tp)
    };
    let recompute_traffic = if input.checkpointing == Checkpointing::Full { 4.0 / 3.0 } else { 1.0 };
    let elementwise =
        tokens_per_device * layers / pp * width * profile.elementwise_bytes_per_hidden * recompute_traffic;
    let optimizer_step = trained / zero1_shards * 36.0;
    let memory_time = trace.record(
        "time.memory_bound",
        "(tokens per device x layers per stage x width x elementwise bytes per hidden + trained parameters per shard x 36 bytes) / (bandwidth x memory efficiency); width = hidden / tensor with sequence parallelism, else hidden x (10/34 + 24/34 / tensor): the norms, dropouts and residual adds stay whole on each tensor rank (Korthikanti et al. 2022)",
        &[("elementwise_bytes", elementwise), ("optimizer_bytes", optimizer_step), ("bandwidth_bytes_per_s", device.memory_bandwidth_bytes_per_s), ("memory_efficiency", profile.memory_efficiency)],
        (elementwise + optimizer_step) / (device.memory_bandwidth_bytes_per_s * profile.memory_efficiency).max(1.0),
        "s",
    );
    let link = link(device, par.tensor, None);
    // Tensor parallel: 2 all-reduces forward and 2 backward per layer of s x b x h 16-bit values
    // (Megatron, Narayanan et al. 2021 section 3.2); not overlapped.
    let tp_message = Bytes(seq * b * h * 2.0);
    let tp_time =
        all_reduce(tp_message, par.tensor, link, profile.collective_latency).0 * 4.0 * layers / pp * micro_batches;
    // Data parallel: a ring all-reduce of the gradients of this device's parameters (reduce-scatter
    // + all-gather under ZeRO moves the same volume), partly hidden behind backward.
    // Dense gradients reduce over all data ranks; expert gradients over data / expert ranks.
    let (dense_grads, expert_grads) = if input.method == Method::Full {
        let experts = anatomy.by_group(Group::Experts).as_f64();
        ((anatomy.total.as_f64() - experts) / (tp * pp), experts / (tp * pp * ep))
    } else {
        (adapters, 0.0)
    };
    let expert_ranks = (dp * cp / ep).max(1.0) as u32;
    let dp_time =
        (all_reduce(Bytes(dense_grads * 2.0), par.data.saturating_mul(par.context), link, profile.collective_latency)
            .0
            + if expert_grads > 0.0 {
                all_reduce(Bytes(expert_grads * 2.0), expert_ranks, link, profile.collective_latency).0
            } else {
                0.0
            })
            * (1.0 - profile.dp_overlap);
    let schedule = par.schedule;
    let bubble_fraction = trace.record(
        "time.pipeline_bubble",
        "the schedule's bubble over the ideal time r = (pipeline - 1) / micro-batches (1F1B), / virtual stages (interleaved 1F1B, Narayanan et al. 2021 section 2.2.2), / 3 (zero bubble ZB-H1, Qi et al. 2024); as a share of the step r / (1 + r); 0 without a pipeline",
        &[("pipeline_stages", pp), ("micro_batches", micro_batches), ("virtual_stages", f64::from(schedule.virtual_stages())), ("bubble_over_ideal", schedule.bubble_over_ideal(par.pipeline, micro_batches))],
        schedule.bubble_fraction(par.pipeline, micro_batches),
        "fraction",
    );
    // Pipeline point-to-point: each micro-batch's activations go forward and their gradients
    // back across every model chunk boundary, `v` times per micro-batch interleaved. With tensor
    // parallelism each rank sends only its 1 / tensor slice (Megatron's scatter-gather,
    // Narayanan et al. 2021 section 4.1). Not overlapped with compute.
    let p2p_time = if par.pipeline > 1 {
        let message = seq * b * h * 2.0 / tp;
        let sends = 2.0 * schedule.sends_per_micro_batch(par.pipeline) * micro_batches;
        trace.record(
            "time.pipeline_p2p",
            "2 (activations forward, gradients back) x sends per micro-batch (virtual stages) x micro-batches x (sequence / context x micro-batch x hidden x 2 bytes / tensor) / link bandwidth",
            &[("message_bytes", message), ("sends", sends), ("link_bytes_per_s", link.bandwidth.0)],
            sends * (message / link.bandwidth.0.max(1.0) + profile.collective_latency.0),
            "s",
        )
    } else {
        0.0
    };
    // Offloaded activations cross the host link out in forward and back in backward, on their
    // own stream: what half the compute time does not cover shows.
    let offload_time = if input.recipe.activation_offloading {
        let per_micro_batch = memory.activations.0 * 2.0;
        (per_micro_batch * micro_batches / HOST_LINK_BYTES_PER_S - compute_time / 2.0).max(0.0)
    } else {
        0.0
    };
    let experts = experts::cost(input, compute_time, hardware_per_token, micro_batches, &mut trace);
    // Context parallelism: the K and V ring, overlapped with block attention, and the most
    // loaded rank's extra attention when the causal layout is not balanced.
    let ring = context::ring(
        &context::RingInput {
            arch,
            device,
            network: input.network.as_ref(),
            tensor: par.tensor,
            context: par.context,
            load_balanced: par.context_load_balanced,
            sequence: s,
            micro_batch: b * input.recipe.sequences_per_example,
            layers_per_stage: layers / pp,
            micro_batches,
            recompute_attention: input.checkpointing != Checkpointing::None,
            flops_per_s: peak * attention_efficiency,
            latency_s: profile.collective_latency.0,
        },
        &mut trace,
    );
    let (cp_exposed, cp_imbalance) = ring.map_or((0.0, 0.0), |r| (r.exposed_s, r.imbalance_s));
    let busy = compute_time
        + memory_time
        + tp_time
        + offload_time
        + p2p_time
        + experts.exposed_s
        + experts.imbalance_s
        + cp_exposed
        + cp_imbalance;
    let training_time = busy / (1.0 - bubble_fraction).max(1e-3) + dp_time;
    let generation = input.recipe.generation_share.clamp(0.0, 0.95);
    let step_time = trace.record(
        "time.step",
        "((hardware FLOPs per step per device / (peak x efficiency) + memory-bound time + tensor-parallel all-reduces + exposed activation offloading + pipeline point-to-point + exposed expert all-to-all + the hottest expert rank's extra compute + exposed context-parallel ring + causal imbalance) / (1 - pipeline bubble) + exposed data-parallel gradient reduction) / (1 - generation share (GRPO's rollouts))",
        &[("compute_s", compute_time), ("memory_bound_s", memory_time), ("tensor_parallel_s", tp_time), ("offload_exposed_s", offload_time), ("pipeline_p2p_s", p2p_time), ("expert_all_to_all_exposed_s", experts.exposed_s), ("expert_imbalance_s", experts.imbalance_s), ("context_ring_exposed_s", cp_exposed), ("context_imbalance_s", cp_imbalance), ("bubble_fraction", bubble_fraction), ("data_parallel_exposed_s", dp_time), ("micro_batches", micro_batches), ("generation_share", generation)],
        training_time / (1.0 - generation),
        "s",
    );
    let devices = par.devices() as f64;
    let mut tokens_per_s_per_device = if step_time > 0.0 { global_batch / step_time / devices } else { 0.0 };
    if let Some(mfu) = input.measured_mfu {
        tokens_per_s_per_device = mfu * peak / model_per_token.max(1.0);
    }
    let tokens_per_s_per_device = trace.record(
        "throughput.tokens_per_s_per_device",
        "global batch tokens / step time / devices (or measured MFU x peak / model FLOPs per token when given)",
        &[("global_batch_tokens", global_batch), ("step_s", step_time), ("devices", devices)],
        tokens_per_s_per_device,
        "tokens/s",
    );
    let mfu = trace.record(
        "utilization.mfu",
        "model FLOPs per token (causal halving) x tokens/s per device / dense peak of the compute type",
        &[
            ("model_flops_per_token", model_per_token),
            ("tokens_per_s_per_device", tokens_per_s_per_device),
            ("peak_flops_per_s", peak),
        ],
        if peak > 0.0 { model_per_token * tokens_per_s_per_device / peak } else { 0.0 },
        "fraction",
    );
    let mfu_no_causal = if peak > 0.0 { per_token_full * tokens_per_s_per_device / peak } else { 0.0 };
    let hfu = if peak > 0.0 { hardware_per_token * tokens_per_s_per_device / peak } else { 0.0 };
    let share = input.effective_time_share.clamp(0.01, 1.0);
    let wall = trace.record(
        "time.wall_clock",
        "tokens / (tokens/s per device x devices) / effective training-time share (goodput; 1 unless the request states one)",
        &[
            ("tokens", input.tokens),
            ("tokens_per_s_per_device", tokens_per_s_per_device),
            ("devices", devices),
            ("effective_time_share", share),
        ],
        if tokens_per_s_per_device > 0.0 { input.tokens / (tokens_per_s_per_device * devices) / share } else { 0.0 },
        "s",
    );
    let gpu_hours = trace.record(
        "time.gpu_hours",
        "devices x wall-clock hours",
        &[("devices", devices), ("wall_clock_s", wall)],
        devices * wall / 3600.0,
        "device-hours",
    );
    let usd = input.usd_per_device_hour.map(|price| {
        trace.record(
            "cost.usd",
            "device-hours x price per device-hour",
            &[("gpu_hours", gpu_hours), ("usd_per_device_hour", price)],
            gpu_hours * price,
            "USD",
        )
    });
    if usd.is_none() {
        trace.warn("no-price", || {
            format!("no price for {}; pass cost.usd_per_device_hour to rent, or cost.purchase_usd to own", device.id)
        });
    }
    let energy = energy::energy(device, profile, devices, wall, input.pue, &mut trace);
    let kwh = energy.map(|e| e.kwh);
    if s > 0.0 && input.sequence_length > arch.max_context {
        trace.warn("context-above-maximum", || {
            format!("sequence length {} exceeds the model's maximum of {}", input.sequence_length, arch.max_context)
        });
    }
    if par.tensor > 1 && link.over_pcie {
        trace.warn("tensor-parallel-over-pcie", || format!("tensor parallelism over PCIe on {}", device.id));
    }

    let total_params = input.anatomy.total.as_f64();
    let compute_optimal = trace.record(
        "tokens.compute_optimal",
        "20 tokens per parameter (Hoffmann et al. 2022, Chinchilla)",
        &[("parameters", total_params)],
        compute_optimal_tokens(total_params),
        "tokens",
    );
    let largest_model_within_budget = input.budget_device_hours.map(|hours| {
        let achieved = mfu * peak;
        trace.record(
            "budget.largest_compute_optimal_model",
            "sqrt(budget device-seconds x achieved FLOP/s per device / 120): C = 6 N D with D = 20 N",
            &[("budget_device_hours", hours), ("achieved_flops_per_s_per_device", achieved)],
            (hours * 3600.0 * achieved / (6.0 * CHINCHILLA_TOKENS_PER_PARAMETER)).sqrt(),
            "parameters",
        )
    });

    let (warnings, explain) = trace.finish();
    TrainingEstimate {
        compute_optimal_tokens: compute_optimal,
        largest_model_within_budget,
        memory,
        model_flops: model_per_token * input.tokens,
        hardware_flops: hardware_per_token * input.tokens,
        flops_per_token: (per_token_causal, per_token_full, per_token_6n),
        tokens_per_s_per_device,
        mfu,
        mfu_no_causal_halving: mfu_no_causal,
        hfu,
        step_time: Seconds(step_time),
        bubble_fraction,
        communication_time: Seconds(tp_time + dp_time + p2p_time + experts.exposed_s + cp_exposed),
        context: ring,
        wall_clock: Seconds(wall),
        gpu_hours,
        usd,
        kwh,
        energy,
        compute_type,
        experts,
        warnings,
        explain,
    }
}
