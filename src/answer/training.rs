//! The training estimate as the API answers it (`POST /v1/estimate/training`) and the CLI
//! prints it (`hwcost estimate training --json`): can this model be trained on these devices,
//! how long will it take, what will it cost.

use serde::Serialize;
use utoipa::ToSchema;

use super::error_band::ErrorBand;
use super::inference::{ExplainBody, WarningBody};
use super::{Context, finite};
use crate::engine::training::{self, TrainingEstimate};
use crate::scenario::Assumption;
use crate::scenario::cost::CostBasis;
use crate::scenario::training::{PipelineScheduleId, TrainingParallelismBody, TrainingScenario};
use crate::validation::Side;

/// Per-device training memory, bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingPerDevice {
    /// Weights.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub weights_bytes: f64,
    /// Of which the FP8 copy of the linear layers' weights an FP8 recipe keeps (0 otherwise).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub fp8_weight_copy_bytes: f64,
    /// FP32 master weights.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub master_weights_bytes: f64,
    /// Gradients.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub gradients_bytes: f64,
    /// Optimizer states.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub optimizer_bytes: f64,
    /// Activations.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub activations_bytes: f64,
    /// Caching-allocator reserve, CUDA context and communication buffers.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub overhead_bytes: f64,
    /// What the device holds at its peak: reserved + context + the paged optimizer states that
    /// stay on it. At most `memory.capacity_bytes` whenever `memory.fits`; what lives in host
    /// memory is in `host_bytes`, never here.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub total_bytes: f64,
    /// Held in host memory rather than on the device: `offloaded_bytes` plus the paged
    /// optimizer states that spill (`memory.spilled_bytes`).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub host_bytes: f64,
    /// Moved to host memory by the recipe: optimizer states and master weights (and a fully
    /// sharded model's weight and gradient shards) under `cpu_offload`, saved activations under
    /// `activation_offloading`.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub offloaded_bytes: f64,
    /// Logits and loss at their peak.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub logits_bytes: f64,
    /// A frozen reference model (DPO full fine-tuning).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub reference_model_bytes: f64,
    /// Optimizer states in CUDA unified memory (paged optimizers), outside the allocator: on
    /// the device as far as room allows (counted in `total_bytes`), the rest spilled to host
    /// memory (`memory.spilled_bytes`, counted in `host_bytes`).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub paged_optimizer_bytes: f64,
    /// Peak allocated, as PyTorch's `max_memory_allocated` reports it.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub allocated_bytes: f64,
    /// Peak reserved by the caching allocator (`max_memory_reserved`).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub reserved_bytes: f64,
    /// CUDA context, workspaces and communication buffers outside the allocator.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub context_bytes: f64,
}

/// Allocated memory at the peak of each phase of a step.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhasesBody {
    /// End of forward: states, carried gradients, saved activations, logits.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub forward_bytes: f64,
    /// Backward: activations giving way to gradients (and a recomputed layer).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub backward_bytes: f64,
    /// Optimizer step: states, gradients, temporaries.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub optimizer_step_bytes: f64,
    /// The largest: `forward`, `backward` or `optimizer_step`.
    pub peak: String,
}

/// One change that may make a run fit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeBody {
    /// The request fields changed (`activation_checkpointing=full`).
    pub change: String,
    /// Peak device memory after it.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub total_bytes: f64,
    /// Whether the run fits after it.
    pub fits: bool,
    /// Tokens per second per device after it.
    pub tokens_per_s_per_device: f64,
    /// Step time relative to the run as given.
    pub slowdown: f64,
    /// Whether it changes what is trained (adapters, a 4-bit base), not only how.
    pub changes_training: bool,
}

/// What makes a run that does not fit fit.
#[derive(Debug, Serialize, ToSchema)]
pub struct FitBody {
    /// Each change alone: those that fit first, changes of how before changes of what is
    /// trained, then by slowdown.
    pub changes: Vec<ChangeBody>,
    /// The changes applied one after another until the run fits (and then the longest
    /// sequence that fits, if nothing else does).
    pub cumulative: Vec<ChangeBody>,
    /// The cheapest change that makes it fit (null when it fits already, or nothing does).
    pub cheapest: Option<ChangeBody>,
}

/// The recipe the run was estimated with: what decides its memory.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipeBody {
    /// FP32 master weights beside 16-bit ones.
    pub master_weights: bool,
    /// The optimizer steps inside backward.
    pub optimizer_in_backward: bool,
    /// Saved activations offloaded to host memory.
    pub activation_offloading: bool,
    /// Loss computation: fused, chunked or full.
    pub loss: String,
    /// LoRA target modules (empty for a full fine-tune).
    pub lora_targets: Vec<String>,
    /// LoRA on the output layer.
    pub lora_on_output: bool,
    /// NF4 double quantisation of a QLoRA base.
    pub double_quantization: bool,
    /// A frozen reference model in memory.
    pub reference_model: bool,
    /// Sequences per example (2 for preference pairs).
    pub sequences_per_example: f64,
    /// Share of step time generating (GRPO).
    pub generation_share: f64,
    /// Where the engine's defaults were read.
    pub defaults_source: Option<String>,
}

/// What was read from a config file.
#[derive(Debug, Serialize, ToSchema)]
pub struct FinetuneConfigBody {
    /// The framework: axolotl, torchtune, trl or trainer.
    pub format: String,
    /// Request fields it set, `field=value` (fields the request gave itself win).
    pub applied: Vec<String>,
    /// Keys neither mapped nor known to be irrelevant.
    pub unknown_keys: Vec<String>,
    /// What could not be mapped, and what was inferred.
    pub notes: Vec<String>,
}

/// Memory verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingMemoryBody {
    /// One device.
    pub per_device: TrainingPerDevice,
    /// Usable memory per device.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub capacity_bytes: f64,
    /// Whether it fits.
    pub fits: bool,
    /// Largest micro-batch that fits.
    pub max_micro_batch_size: u64,
    /// Longest sequence that fits at this micro-batch (memory alone; the model's context
    /// window is not applied).
    pub max_sequence_length: u64,
    /// Allocated memory per phase of a step.
    pub phases: PhasesBody,
    /// Paged optimizer state that does not fit and lives in host memory.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub spilled_bytes: f64,
}

/// FLOPs.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlopsBody {
    /// Model FLOPs of the run (causal attention halved).
    pub model_flops: f64,
    /// Hardware FLOPs of the run (with recomputation).
    pub hardware_flops: f64,
    /// Model FLOPs per token, causal halving applied.
    pub model_flops_per_token: f64,
    /// Model FLOPs per token without causal halving.
    pub model_flops_per_token_no_causal_halving: f64,
    /// 6 x parameters per token.
    pub model_flops_per_token_6n: f64,
    /// Whether `model_flops` halves causal attention (always true).
    pub causal_halving_applied: bool,
}

/// Throughput.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingThroughput {
    /// Tokens per second per device.
    pub tokens_per_s_per_device: f64,
    /// Tokens per second, all devices.
    pub tokens_per_s: f64,
}

/// Utilization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Utilization {
    /// Model FLOPs utilization (causal halving), against the dense peak of the compute type.
    pub mfu: f64,
    /// MFU without causal halving (as llm-foundry and NVIDIA's benchmarks report).
    pub mfu_no_causal_halving: f64,
    /// Hardware FLOPs utilization (recomputation counted).
    pub hfu: f64,
    /// Share of step time in the pipeline bubble.
    pub pipeline_bubble_fraction: f64,
    /// Data type of the peak.
    pub compute_type: String,
}

/// Whole optimizer steps for a fractional count (at least one: a run takes a step).
fn whole_steps(steps: f64) -> u64 {
    if steps.is_finite() && steps > 0.0 { steps.ceil().min(u64::MAX as f64) as u64 } else { 1 }
}

/// Time.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeBody {
    /// One optimizer step, s.
    pub step_s: f64,
    /// Optimizer steps in the run: whole steps, the last one possibly partial (tokens / global
    /// batch tokens, rounded up).
    pub steps: u64,
    /// Wall-clock, s.
    pub wall_clock_s: f64,
    /// Wall-clock, days.
    pub wall_clock_days: f64,
    /// Device-hours (GPU, TPU or CPU alike).
    pub device_hours: f64,
    /// The same as `device_hours`, under the name v1 first gave it; kept because dashboards
    /// read it (deprecated: read `device_hours`).
    pub gpu_hours: f64,
    /// Exposed communication per step, s (the expert all-to-all's exposed part included).
    pub communication_s: f64,
    /// The expert all-to-all's exposed time per step, s (0 without expert parallelism; detail
    /// in `expert_parallel`).
    pub expert_all_to_all_s: f64,
    /// Extra compute per step the hottest expert rank takes, s (0 without expert parallelism).
    pub expert_imbalance_s: f64,
}

/// Expert parallelism in a training step: the all-to-all dispatch and combine of every MoE
/// layer (forward and backward) and the wait for the hottest expert rank.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpertParallelBody {
    /// Expert-parallel ranks.
    pub ranks: u32,
    /// Expert ranks in one node (joined by the device fabric).
    pub ranks_per_node: u32,
    /// Whether the all-to-all crosses the network between nodes.
    pub crosses_network: bool,
    /// The network it crosses (catalog id), when it does.
    pub network: Option<String>,
    /// Bytes one device sends in the step's all-to-alls (the hottest rank's), in all.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub bytes_per_device_per_step: f64,
    /// Of which to peers inside its node.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub intra_node_bytes: f64,
    /// Of which across the network.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub inter_node_bytes: f64,
    /// All-to-all time per step before overlap, s.
    pub all_to_all_s: f64,
    /// Share of it run under compute (the request's or the default).
    pub all_to_all_overlap: f64,
    /// What shows in the step, s: max(all-to-all x (1 - overlap), all-to-all - compute).
    pub exposed_s: f64,
    /// Precision of the dispatches (`bf16` or `fp8`); combines are BF16.
    pub dispatch_precision: String,
    /// The hottest expert rank's routed tokens over the mean rank's.
    pub hottest_expert_load: f64,
    /// Share of the step's hardware FLOPs in the routed experts' GEMMs.
    pub expert_flops_share: f64,
    /// Extra compute per step the hottest rank takes, s.
    pub imbalance_s: f64,
}

/// An FP8 run's scaling recipe and which tensors it keeps in which precision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Fp8Body {
    /// `per_tensor` or `block`.
    pub recipe: String,
    /// Multiplier on the FP8 GEMM efficiency (block scaling's extra work; 1 per tensor).
    pub gemm_factor: f64,
    /// What the GEMMs read.
    pub gemm_inputs: String,
    /// The weights the model holds.
    pub weights: String,
    /// The FP8 weight copy kept for the step, if any.
    pub weight_copy: String,
    /// Master weights.
    pub master_weights: String,
    /// Weight gradients.
    pub gradients: String,
    /// Optimizer states.
    pub optimizer_states: String,
    /// Linear layers' inputs saved for backward.
    pub saved_activations: String,
}

/// The context-parallel ring (ring attention) of one device, per optimizer step.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContextParallelBody {
    /// Context parallel degree: ranks sharing each sequence, each holding sequence / degree
    /// tokens of it.
    pub degree: u32,
    /// Whether the causal layout is load-balanced (zigzag: 2 x degree chunks, rank r holding r
    /// and 2 x degree - 1 - r); false: contiguous shards, the last rank the slowest.
    pub load_balanced: bool,
    /// Bytes of one K and V block, what one ring step moves forward: micro-batch x sequence /
    /// degree x KV heads / tensor x (qk dim + v dim) x 2 (only the KV heads under GQA).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub block_bytes: f64,
    /// Ring steps per layer per micro-batch, all passes: (degree - 1) x (forward 1 + backward 2
    /// (K, V and dK, dV) + 1 more forward when attention is recomputed).
    pub steps_per_layer: f64,
    /// Bytes one device sends around the ring per optimizer step.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub bytes_per_step: f64,
    /// `network` when tensor x context devices span more than a node (the ring crosses the
    /// scale-out network), else `node` (NVLink or the device's own fabric).
    pub link: &'static str,
    /// Bandwidth of that link, bytes per second one direction.
    pub link_bytes_per_s: f64,
    /// Time the ring's transfers take per optimizer step, s, before overlap.
    pub transfer_s: f64,
    /// What block attention does not hide, per optimizer step, s: ring steps x max(0, a block's
    /// transfer - its attention compute). In `time.step_s`.
    pub exposed_s: f64,
    /// Extra attention time of the most loaded rank per optimizer step, s: 0 when load-balanced.
    /// In `time.step_s`.
    pub imbalance_s: f64,
}

impl From<training::ContextRing> for ContextParallelBody {
    fn from(r: training::ContextRing) -> Self {
        Self {
            degree: r.degree,
            load_balanced: r.load_balanced,
            block_bytes: finite(r.block_bytes),
            steps_per_layer: finite(r.steps_per_layer),
            bytes_per_step: finite(r.bytes_per_step),
            link: if r.over_network { "network" } else { "node" },
            link_bytes_per_s: finite(r.link_bytes_per_s),
            transfer_s: finite(r.transfer_s),
            exposed_s: finite(r.exposed_s),
            imbalance_s: finite(r.imbalance_s),
        }
    }
}

/// Cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingCost {
    /// USD for the run (null without a price).
    pub usd: Option<f64>,
    /// Price used per device-hour.
    pub usd_per_device_hour: Option<f64>,
    /// How the devices are paid for: rent or own, and every input of the device-hour price.
    pub basis: CostBasis,
}

/// Energy.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingEnergy {
    /// kWh including PUE (null without a power figure).
    pub kwh: Option<f64>,
    /// PUE used.
    pub pue: f64,
    /// Where that energy goes: devices, hosts, network, facility (null without a power figure).
    pub breakdown: Option<TrainingEnergyBreakdown>,
    /// That energy as money at `cost.basis`'s electricity price, USD (null without a power
    /// figure).
    pub usd: Option<f64>,
}

/// Where a training run's energy goes: `energy.kwh` is the sum of the four parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingEnergyBreakdown {
    /// Average draw of one device under training load, watts: TDP x the engine's
    /// `power_fraction`.
    pub device_w: f64,
    /// Host power per device (CPUs, memory, NICs, fans), watts: the node's rating per device
    /// less the TDP, times `host_power_fraction`; 0 when the catalog has no node rating for the
    /// device (a `no-host-power` warning says so).
    pub host_w: f64,
    /// Network switch power per device, watts.
    pub network_w: f64,
    /// The devices' energy, kWh.
    pub device_kwh: f64,
    /// The hosts' energy, kWh.
    pub host_kwh: f64,
    /// The network's energy, kWh.
    pub network_kwh: f64,
    /// Cooling and power delivery, (PUE - 1) x the devices', hosts' and network's energy, kWh.
    pub facility_kwh: f64,
}

/// Scaling-law helpers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Helpers {
    /// Chinchilla compute-optimal tokens for this model: 20 x parameters (Hoffmann et al. 2022).
    pub compute_optimal_tokens: f64,
    /// Largest compute-optimal model (parameters) trainable within the budget at this layout's
    /// achieved FLOP/s per device: C = budget device-seconds x achieved FLOP/s, N = sqrt(C / 120).
    pub largest_model_parameters_within_budget: Option<f64>,
    /// The budget in device-hours used for that.
    pub budget_device_hours: Option<f64>,
}

/// The sections of a training answer that describe running it: null when it does not fit.
pub const TRAINING_RUN_SECTIONS: [&str; 5] = ["throughput", "utilization", "time", "cost", "energy"];

/// A training estimate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingResponse {
    /// `fits` or `does_not_fit`: whether the run fits the devices' memory (`memory.fits`).
    pub verdict: &'static str,
    /// Why the run cannot happen (null when it fits); the sections it names are null.
    pub not_run: Option<super::verdict::NotRun>,
    /// Model id.
    pub model: String,
    /// Device id.
    pub hardware: String,
    /// Devices.
    pub devices: u64,
    /// Layout used.
    pub parallelism: TrainingParallelismBody,
    /// Precision used: the request's, else bf16 where the device has it (fp16 where it has no
    /// bf16).
    pub precision: String,
    /// Sharding used: the request's, else the automatic layout's (see `assumptions`).
    pub sharding: String,
    /// Activation recomputation used: the request's, else the automatic layout's.
    pub activation_checkpointing: String,
    /// Training tokens.
    pub tokens: f64,
    /// Sequence length.
    pub sequence_length: u64,
    /// Micro-batch.
    pub micro_batch_size: u64,
    /// Global batch tokens.
    pub global_batch_tokens: f64,
    /// Engine profile.
    pub engine: String,
    /// Memory.
    pub memory: TrainingMemoryBody,
    /// FLOPs.
    pub flops: FlopsBody,
    /// Throughput (null when the run does not fit: see `not_run`).
    pub throughput: Option<TrainingThroughput>,
    /// Utilization (null when the run does not fit: see `not_run`).
    pub utilization: Option<Utilization>,
    /// Time (null when the run does not fit: see `not_run`).
    pub time: Option<TimeBody>,
    /// The context-parallel ring (ring attention), per optimizer step: null without context
    /// parallelism (`parallelism.context` 1) or when the run does not fit.
    pub context_parallel: Option<ContextParallelBody>,
    /// Cost (null when the run does not fit: see `not_run`).
    pub cost: Option<TrainingCost>,
    /// Energy (null when the run does not fit: see `not_run`).
    pub energy: Option<TrainingEnergy>,
    /// Expert parallelism's all-to-all and load imbalance per step (null without expert
    /// parallelism on an MoE model, or when the run does not fit).
    pub expert_parallel: Option<ExpertParallelBody>,
    /// The FP8 recipe and the precision of each stored tensor (null unless `precision` is `fp8`).
    pub fp8: Option<Fp8Body>,
    /// Helpers.
    pub helpers: Helpers,
    /// Caveats.
    pub warnings: Vec<WarningBody>,
    /// How each number was made.
    pub explain: Vec<ExplainBody>,
    /// The defaults applied because the request left fields out.
    pub assumptions: Vec<Assumption>,
    /// Measured error of this kind of estimate.
    pub error_band: ErrorBand,
    /// The recipe the memory was estimated with.
    pub recipe: RecipeBody,
    /// What makes the run fit, when it does not.
    pub fit: FitBody,
    /// The config file read, when the request gave one.
    pub config: Option<FinetuneConfigBody>,
}

impl From<training::Change> for ChangeBody {
    fn from(c: training::Change) -> Self {
        ChangeBody {
            change: c.change,
            total_bytes: finite(c.total.0),
            fits: c.fits,
            tokens_per_s_per_device: finite(c.tokens_per_s_per_device),
            slowdown: finite(c.slowdown),
            changes_training: c.changes_training,
        }
    }
}

/// Which tensors an FP8 run keeps in which precision, from its recipe.
fn fp8_body(input: &training::TrainingInput<'_>) -> Fp8Body {
    let f = input.fp8;
    let block = f.recipe == training::Fp8Recipe::Block;
    let scales = if block {
        "FP8 (E4M3) with an FP32 scale per 1 x 128 tile of activations and per 128 x 128 block of weights"
    } else {
        "FP8 (E4M3 forward, E5M2 gradients) with one FP32 scale per tensor"
    };
    let master = input.recipe.master_weights && input.method == training::Method::Full;
    Fp8Body {
        recipe: f.recipe.as_str().to_owned(),
        gemm_factor: finite(f.gemm_factor),
        gemm_inputs: scales.to_owned(),
        weights: "BF16".to_owned(),
        weight_copy: if f.weight_copy_bytes > 0.0 {
            format!("FP8, {:.4} bytes per linear-layer weight (scales included)", f.weight_copy_bytes)
        } else {
            "none".to_owned()
        },
        master_weights: if master { "FP32" } else { "none" }.to_owned(),
        gradients: if f.gradient_bytes >= 4.0 { "FP32" } else { "BF16" }.to_owned(),
        optimizer_states: if f.optimizer_states_16bit { "BF16" } else { "FP32" }.to_owned(),
        saved_activations: format!(
            "linear layers' inputs in FP8, {:.4} bytes per element (scales included); the rest BF16",
            f.saved_input_bytes
        ),
    }
}

fn recipe_body(ctx: &Context, s: &TrainingScenario) -> RecipeBody {
    use crate::engine::training::{Loss, Method};
    use crate::scenario::training::LoraModuleId;
    let input = s.input();
    let r = input.recipe;
    let targets = if input.method == Method::Full { Vec::new() } else { LoraModuleId::names(r.lora_targets) };
    RecipeBody {
        master_weights: r.master_weights,
        optimizer_in_backward: r.optimizer_in_backward,
        activation_offloading: r.activation_offloading,
        loss: match r.loss {
            Loss::Fused => "fused",
            Loss::Chunked => "chunked",
            Loss::Full => "full",
        }
        .to_owned(),
        lora_targets: targets,
        lora_on_output: r.lora_on_output,
        double_quantization: r.double_quantization,
        reference_model: r.reference_model,
        sequences_per_example: r.sequences_per_example,
        generation_share: r.generation_share,
        defaults_source: ctx.catalog.training_profile(s.engine.as_str()).and_then(|e| e.record.defaults_source.clone()),
    }
}

impl TrainingResponse {
    /// The answer to `scenario`: runs the engine and attaches the error band.
    pub fn new(ctx: &Context, scenario: &TrainingScenario) -> Self {
        Self::from_estimate(ctx, scenario, training::estimate(&scenario.input()))
    }

    /// The answer for a scenario and its estimate.
    pub fn from_estimate(ctx: &Context, s: &TrainingScenario, e: TrainingEstimate) -> Self {
        let input = s.input();
        let devices = s.layout.devices;
        let m = &e.memory;
        let runs = m.fits;
        let not_run = (!runs).then(|| super::verdict::NotRun {
            reason: format!("needs {} per device, {} usable", size(m.total.0), size(m.capacity.0)),
            left_out: TRAINING_RUN_SECTIONS.to_vec(),
        });
        TrainingResponse {
            verdict: super::verdict::verdict(runs),
            not_run,
            model: s.model().id.clone(),
            hardware: s.device.id.clone(),
            devices,
            parallelism: TrainingParallelismBody {
                tensor: Some(s.layout.tensor),
                pipeline: Some(s.layout.pipeline),
                data: Some(s.layout.data),
                expert: Some(s.layout.expert),
                context: Some(s.layout.context),
                sequence_parallel: Some(input.parallelism.sequence_parallel),
                schedule: Some(match input.parallelism.schedule {
                    training::PipelineSchedule::OneFOneB => PipelineScheduleId::OneFOneB,
                    training::PipelineSchedule::Interleaved(_) => PipelineScheduleId::Interleaved,
                    training::PipelineSchedule::ZeroBubble => PipelineScheduleId::ZeroBubble,
                }),
                virtual_stages: match input.parallelism.schedule {
                    training::PipelineSchedule::Interleaved(v) => Some(v),
                    _ => None,
                },
                context_load_balanced: (s.layout.context > 1).then_some(input.parallelism.context_load_balanced),
            },
            precision: match s.precision {
                training::Precision::Bf16 => "bf16",
                training::Precision::Fp16 => "fp16",
                training::Precision::Fp8 => "fp8",
                training::Precision::Fp32 => "fp32",
            }
            .to_owned(),
            sharding: match s.sharding {
                training::Sharding::None => "none",
                training::Sharding::Zero1 => "zero1",
                training::Sharding::Zero2 => "zero2",
                training::Sharding::Zero3 => "zero3",
                training::Sharding::Hsdp => "hsdp",
            }
            .to_owned(),
            activation_checkpointing: match s.checkpointing {
                training::Checkpointing::None => "none",
                training::Checkpointing::Selective => "selective",
                training::Checkpointing::Full => "full",
            }
            .to_owned(),
            tokens: finite(s.tokens),
            sequence_length: s.sequence_length(),
            micro_batch_size: s.micro_batch(),
            global_batch_tokens: s.global_batch_tokens,
            engine: s.engine.as_str().to_owned(),
            memory: TrainingMemoryBody {
                per_device: TrainingPerDevice {
                    weights_bytes: finite(m.weights.0),
                    fp8_weight_copy_bytes: finite(m.fp8_weight_copy.0),
                    master_weights_bytes: finite(m.master_weights.0),
                    gradients_bytes: finite(m.gradients.0),
                    optimizer_bytes: finite(m.optimizer.0),
                    activations_bytes: finite(m.activations.0),
                    overhead_bytes: finite(m.overhead.0),
                    total_bytes: finite(m.total.0),
                    host_bytes: finite(m.host.0),
                    offloaded_bytes: finite(m.offloaded.0),
                    logits_bytes: finite(m.logits.0),
                    reference_model_bytes: finite(m.reference_model.0),
                    paged_optimizer_bytes: finite(m.paged_optimizer.0),
                    allocated_bytes: finite(m.allocated.0),
                    reserved_bytes: finite(m.reserved.0),
                    context_bytes: finite(m.context.0),
                },
                capacity_bytes: finite(m.capacity.0),
                fits: m.fits,
                max_micro_batch_size: m.max_micro_batch,
                max_sequence_length: m.max_sequence_length,
                phases: PhasesBody {
                    forward_bytes: finite(m.phases[0].0),
                    backward_bytes: finite(m.phases[1].0),
                    optimizer_step_bytes: finite(m.phases[2].0),
                    peak: m.peak_phase.as_str().to_owned(),
                },
                spilled_bytes: finite(m.spilled.0),
            },
            flops: FlopsBody {
                model_flops: finite(e.model_flops),
                hardware_flops: finite(e.hardware_flops),
                model_flops_per_token: finite(e.flops_per_token.0),
                model_flops_per_token_no_causal_halving: finite(e.flops_per_token.1),
                model_flops_per_token_6n: finite(e.flops_per_token.2),
                causal_halving_applied: true,
            },
            throughput: runs.then(|| TrainingThroughput {
                tokens_per_s_per_device: finite(e.tokens_per_s_per_device),
                tokens_per_s: finite(e.tokens_per_s_per_device * devices as f64),
            }),
            utilization: runs.then(|| Utilization {
                mfu: finite(e.mfu),
                mfu_no_causal_halving: finite(e.mfu_no_causal_halving),
                hfu: finite(e.hfu),
                pipeline_bubble_fraction: finite(e.bubble_fraction),
                compute_type: crate::engine::device::compute_name(e.compute_type).to_owned(),
            }),
            time: runs.then(|| TimeBody {
                step_s: finite(e.step_time.0),
                steps: whole_steps(s.tokens / s.global_batch_tokens),
                wall_clock_s: finite(e.wall_clock.0),
                wall_clock_days: finite(e.wall_clock.0 / 86_400.0),
                device_hours: finite(e.gpu_hours),
                gpu_hours: finite(e.gpu_hours),
                communication_s: finite(e.communication_time.0),
                expert_all_to_all_s: finite(e.experts.exposed_s),
                expert_imbalance_s: finite(e.experts.imbalance_s),
            }),
            expert_parallel: (runs && e.experts.ranks > 1).then(|| ExpertParallelBody {
                ranks: e.experts.ranks,
                ranks_per_node: e.experts.ranks_per_node,
                crosses_network: e.experts.crosses_network,
                network: s.network().filter(|_| e.experts.crosses_network).map(str::to_owned),
                bytes_per_device_per_step: finite(e.experts.bytes_per_step),
                intra_node_bytes: finite(e.experts.intra_node_bytes),
                inter_node_bytes: finite(e.experts.inter_node_bytes),
                all_to_all_s: finite(e.experts.all_to_all_s),
                all_to_all_overlap: finite(input.experts.all_to_all_overlap),
                exposed_s: finite(e.experts.exposed_s),
                dispatch_precision: if input.experts.dispatch_bytes < 2.0 { "fp8" } else { "bf16" }.to_owned(),
                hottest_expert_load: finite(e.experts.hottest_rank_load),
                expert_flops_share: finite(e.experts.expert_flops_share),
                imbalance_s: finite(e.experts.imbalance_s),
            }),
            fp8: (s.precision == training::Precision::Fp8).then(|| fp8_body(&input)),
            context_parallel: if runs { e.context.map(ContextParallelBody::from) } else { None },
            cost: runs.then(|| TrainingCost {
                usd: e.usd.map(finite),
                usd_per_device_hour: s.usd_per_device_hour(),
                basis: s.cost.basis.clone(),
            }),
            energy: runs.then(|| TrainingEnergy {
                kwh: e.kwh.map(finite),
                pue: s.pue(),
                breakdown: e.energy.map(|b| TrainingEnergyBreakdown {
                    device_w: finite(b.device_w),
                    host_w: finite(b.host_w),
                    network_w: finite(b.network_w),
                    device_kwh: finite(b.device_kwh),
                    host_kwh: finite(b.host_kwh),
                    network_kwh: finite(b.network_kwh),
                    facility_kwh: finite(b.facility_kwh),
                }),
                // The kWh already carry the run's PUE; the basis' PUE replaces it.
                usd: e.kwh.map(|kwh| finite(s.cost.energy_usd(kwh / s.pue()))),
            }),
            helpers: Helpers {
                compute_optimal_tokens: finite(e.compute_optimal_tokens),
                largest_model_parameters_within_budget: e.largest_model_within_budget.map(finite),
                budget_device_hours: s.budget_device_hours(),
            },
            warnings: e.warnings.into_iter().map(WarningBody::from).collect(),
            explain: e.explain.into_iter().map(ExplainBody::from).collect(),
            assumptions: s.assumptions.0.clone(),
            error_band: band(ctx, s),
            recipe: recipe_body(ctx, s),
            fit: {
                let advice = training::advise(&input);
                FitBody {
                    changes: advice.single.into_iter().map(ChangeBody::from).collect(),
                    cumulative: advice.cumulative.into_iter().map(ChangeBody::from).collect(),
                    cheapest: advice.cheapest.map(ChangeBody::from),
                }
            },
            config: s.config().map(|c| FinetuneConfigBody {
                format: c.format.to_owned(),
                applied: c.applied.clone(),
                unknown_keys: c.unknown_keys.clone(),
                notes: c.notes.clone(),
            }),
        }
    }
}

/// Bytes as a person reads them: GB, TB from a thousand GB.
fn size(bytes: f64) -> String {
    if bytes >= 1e12 { format!("{:.1} TB", bytes / 1e12) } else { format!("{:.1} GB", bytes / 1e9) }
}

/// The measured error of this kind of estimate.
fn band(ctx: &Context, s: &TrainingScenario) -> ErrorBand {
    let class = ctx.catalog.device(&s.device.id).map_or("inline", |d| d.record.kind.as_str());
    ErrorBand::from_report(
        &ctx.validation,
        Side::Training,
        class,
        &[
            ("throughput.tokens_per_s_per_device", "throughput"),
            ("utilization.mfu", "mfu"),
            ("memory.per_device.total_bytes", "memory"),
            ("time.gpu_hours", "gpu_hours"),
            ("time.wall_clock_s", "time_to_train"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::catalog::Catalog;
    use crate::scenario::resolve::{self, HardwareRef};
    use crate::scenario::training::{TrainingRequest, TrainingScenario};

    fn context() -> &'static Context {
        static CONTEXT: OnceLock<Context> = OnceLock::new();
        CONTEXT.get_or_init(|| Context::new(Arc::new(Catalog::embedded().unwrap())))
    }

    const MODELS: [&str; 5] = ["llama-2-7b", "llama-3.1-8b", "llama-2-70b", "gpt-3-175b", "mixtral-8x7b"];
    const DEVICES: [&str; 6] = [
        "nvidia-v100-sxm2-32gb",
        "nvidia-rtx-4090",
        "nvidia-t4",
        "nvidia-a100-sxm4-80gb",
        "nvidia-h100-sxm-80gb",
        "amd-mi300x",
    ];
    const SHARDINGS: [&str; 4] = ["none", "zero1", "zero2", "zero3"];

    fn parse(request: &Value) -> Option<TrainingScenario> {
        let request: TrainingRequest = serde_json::from_value(request.clone()).unwrap();
        TrainingScenario::parse(&context().catalog, &request, "").ok()
    }

    /// Whether some explicit layout in the automatic search's order fits: tensor degrees
    /// dividing the heads within a node, power-of-two pipelines (ZeRO-1 at most), each sharding
    /// (or the request's), the request's recomputation.
    fn an_explicit_layout_fits(base: &Value, devices: u64) -> bool {
        let catalog = &context().catalog;
        let arch = &catalog.model(base["model"].as_str().unwrap()).unwrap().architecture;
        let hardware = base["hardware"].as_str().unwrap().to_owned();
        let device = resolve::hardware(catalog, &HardwareRef::Id(hardware), "").unwrap();
        let node = device.device.interconnect.and_then(|l| l.group).unwrap_or(8);
        let shardings: Vec<&str> = match base["sharding"].as_str() {
            Some(s) => vec![s],
            None => SHARDINGS.to_vec(),
        };
        let pipelines = (0..8).map(|k| 1u32 << k).filter(|p| *p <= arch.layers);
        for pipeline in pipelines {
            for tensor in (1..=node).filter(|t| arch.heads.is_multiple_of(u64::from(*t))) {
                if !devices.is_multiple_of(u64::from(tensor * pipeline)) {
                    continue;
                }
                for sharding in &shardings {
                    if pipeline > 1 && !matches!(*sharding, "none" | "zero1") && base["sharding"].is_null() {
                        continue;
                    }
                    let mut request = base.clone();
                    request["sharding"] = json!(sharding);
                    request["parallelism"] = json!({"tensor": tensor, "pipeline": pipeline});
                    if let Some(s) = parse(&request)
                        && crate::engine::training::estimate(&s.input()).memory.fits
                    {
                        return true;
                    }
                }
            }
        }
        false
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Memory means the device, and `devices` alone never leaves a fitting layout unused.
        #[test]
        fn device_memory_and_the_automatic_layout(
            model in 0..MODELS.len(),
            device in 0..DEVICES.len(),
            devices in prop_oneof![1u64..=16, 17u64..=4096, Just(64u64), Just(1024u64), Just(4096u64)],
            precision in prop::option::of(prop_oneof![Just("bf16"), Just("fp16"), Just("fp32")]),
            sharding in prop::option::of(0..SHARDINGS.len()),
        ) {
            let mut request = json!({"model": MODELS[model], "hardware": DEVICES[device], "devices": devices, "tokens": 1e9});
            if let Some(p) = precision {
                request["precision"] = json!(p);
            }
            if let Some(s) = sharding {
                request["sharding"] = json!(SHARDINGS[s]);
            }
            let scenario = parse(&request);
            prop_assume!(scenario.is_some());
            let scenario = scenario.unwrap();
            let answer = TrainingResponse::new(context(), &scenario);
            let m = &answer.memory;
            for x in [m.per_device.total_bytes, m.per_device.host_bytes, m.capacity_bytes, m.spilled_bytes, answer.tokens, answer.global_batch_tokens] {
                prop_assert!(x.is_finite() && x >= 0.0, "{x}");
            }
            prop_assert_eq!(answer.verdict == "fits", m.fits);
            if m.fits {
                prop_assert!(m.per_device.total_bytes <= m.capacity_bytes, "{} > {}", m.per_device.total_bytes, m.capacity_bytes);
                let time = answer.time.as_ref().unwrap();
                let throughput = answer.throughput.as_ref().unwrap();
                for x in [time.wall_clock_s, time.step_s, time.device_hours, throughput.tokens_per_s_per_device, answer.utilization.as_ref().unwrap().mfu] {
                    prop_assert!(x.is_finite() && x >= 0.0, "{x}");
                }
                prop_assert!(answer.not_run.is_none());
            } else {
                prop_assert!(answer.time.is_none() && answer.cost.is_none() && answer.throughput.is_none());
                prop_assert!(answer.not_run.is_some());
                if devices > 1 {
                    prop_assert!(!an_explicit_layout_fits(&request, devices), "{request}: an explicit layout fits");
                }
            }
            if let Some(p) = precision {
                prop_assert_eq!(answer.precision.as_str(), p);
            }
            if let Some(s) = sharding {
                prop_assert_eq!(answer.sharding.as_str(), SHARDINGS[s]);
            }
        }
    }
}
