//! The inference estimate as the API answers it (`POST /v1/estimate/inference`) and the CLI
//! prints it (`hwcost estimate inference --json`): memory, FLOPs, latency, throughput, cost and
//! energy, every number explained, with the defaults assumed and the measured error band.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::error_band::ErrorBand;
use super::verdict::{self, NotRun};
use super::{Context, finite};
use crate::engine::cost::JOULES_PER_KWH;
use crate::engine::device::compute_name;
use crate::engine::explain::{Explanation, Warning};
use crate::engine::inference::{self, Batch, Bound, InferenceEstimate, Memory, Phase};
use crate::scenario::Assumption;
use crate::scenario::cost::CostBasis;
use crate::scenario::inference::{InferenceScenario, ParallelismBody};
use crate::validation::Side;

/// Per-device memory, bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerDeviceMemory {
    /// Weights on one device.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub weights_bytes: f64,
    /// KV cache of its sequences at full context.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub kv_cache_bytes: f64,
    /// Activations and logits of the largest pass.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub activations_bytes: f64,
    /// Runtime overhead (context, workspaces).
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub overhead_bytes: f64,
    /// Sum.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub total_bytes: f64,
}

/// KV-cache bytes one token of context adds (`engine::kv_cache::bytes_per_token`).
#[derive(Debug, Serialize, ToSchema)]
pub struct KvBytesPerToken {
    /// For the whole model: every layer, one copy (any tensor split undone): GQA `2 x kv_heads x
    /// head_dim`, or an MLA latent `kv_lora_rank + qk_rope_head_dim`, per layer, x layers x bytes
    /// per element of the cache format.
    pub bytes_per_token: f64,
    /// On one device: kv heads split over the tensor ranks (`ceil(kv_heads / tensor)`, a head
    /// replicated when there are fewer kv heads than ranks), an MLA latent whole on every rank,
    /// layers split over the pipeline stages.
    pub bytes_per_token_per_device: f64,
    /// Tokens the host-memory tier holds (`kv_offload.host_gb` per device / bytes per token per
    /// device x expert ranks); present with `kv_offload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_capacity_tokens: Option<u64>,
    /// Tokens the disk tier holds, the same way; present with `kv_offload.disk_gb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_capacity_tokens: Option<u64>,
}

impl KvBytesPerToken {
    /// The figures of a scenario's model, cache format and split.
    pub fn of(s: &InferenceScenario) -> Self {
        let b = crate::engine::kv_cache::bytes_per_token(
            &s.model.architecture,
            s.parallelism.tensor,
            s.parallelism.pipeline,
            s.kv_cache.bits.0 / 8.0,
        );
        let offload = s.techniques.kv_offload;
        let tokens = |c| crate::engine::kv_offload::capacity_tokens(c, b.per_device, s.parallelism.expert) as u64;
        Self {
            bytes_per_token: finite(b.whole_model),
            bytes_per_token_per_device: finite(b.per_device),
            host_capacity_tokens: offload.map(|o| tokens(o.host.capacity)),
            disk_capacity_tokens: offload.and_then(|o| o.disk).map(|d| tokens(d.capacity)),
        }
    }
}

/// Memory verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemoryBody {
    /// One device's breakdown.
    pub per_device: PerDeviceMemory,
    /// Memory the engine may use on one device.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub capacity_bytes: f64,
    /// Whether the total fits the capacity.
    pub fits: bool,
    /// Largest batch that fits at this context.
    pub max_batch_size: u64,
    /// Longest usable context (input + output) at this batch: the smaller of the model's trained
    /// context and what memory holds.
    pub max_context_tokens: u64,
    /// Longest context memory holds at this batch (at most 1e9 tokens).
    pub memory_context_tokens: u64,
    /// Which limit `max_context_tokens` is: `model` (its trained context) or `memory`.
    #[schema(example = "model")]
    pub context_bound: &'static str,
    /// KV-cache bytes per token, for the whole model and on one device.
    pub kv_cache: KvBytesPerToken,
}

/// One phase's roofline.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseBody {
    /// Wall time, ms.
    pub time_ms: f64,
    /// Arithmetic-only time, ms.
    pub compute_ms: f64,
    /// Memory-traffic-only time, ms.
    pub memory_ms: f64,
    /// Communication time, ms.
    pub communication_ms: f64,
    /// What limits it: compute, memory or communication.
    pub bound: &'static str,
    /// FLOPs per device.
    pub flops: f64,
    /// Bytes moved per device.
    pub bytes: f64,
}

/// FLOPs and the phases.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComputeBody {
    /// One token's forward pass at the mean decode context.
    pub forward_flops_per_token: f64,
    /// Prefill of one sequence.
    pub prefill_flops_per_sequence: f64,
    /// One decode step of the whole batch.
    pub decode_flops_per_step: f64,
    /// Data type the GEMMs run in.
    pub compute_type: &'static str,
    /// Prefill of the batch.
    pub prefill: PhaseBody,
    /// One decode step.
    pub decode: PhaseBody,
}

/// Latency, ms.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatencyBody {
    /// Time to first token.
    pub ttft_ms: f64,
    /// Time per output token.
    pub tpot_ms: f64,
    /// Whole request.
    pub e2e_ms: f64,
}

/// Throughput.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThroughputBody {
    /// Output tokens per second, all devices.
    pub output_tokens_per_s: f64,
    /// Output tokens per second one user sees.
    pub output_tokens_per_s_per_user: f64,
    /// Prompt tokens per second, all devices.
    pub prefill_tokens_per_s: f64,
}

/// Cost, USD (null when no price is known).
#[derive(Debug, Serialize, ToSchema)]
pub struct CostBody {
    /// All devices, per hour.
    pub usd_per_hour: Option<f64>,
    /// Per million output tokens at this throughput.
    pub usd_per_million_output_tokens: Option<f64>,
    /// Per million input tokens at the prefill rate.
    pub usd_per_million_input_tokens: Option<f64>,
    /// How the devices are paid for: rent or own, and every input of the device-hour price.
    pub basis: CostBasis,
}

/// Energy (null when the device has no power figure).
#[derive(Debug, Serialize, ToSchema)]
pub struct EnergyBody {
    /// Joules per output token.
    pub joules_per_output_token: Option<f64>,
    /// That energy as money, per million output tokens, at `cost.basis`'s electricity price and
    /// PUE (included in the device-hour price when owning; in the rent when renting).
    pub usd_per_million_output_tokens: Option<f64>,
}

/// A caveat.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningBody {
    /// Stable code.
    #[schema(example = "does-not-fit")]
    pub code: &'static str,
    /// A sentence.
    pub message: String,
}

/// One rule of the estimate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExplainBody {
    /// Rule id.
    #[schema(example = "memory.weights")]
    pub rule: &'static str,
    /// The formula in words.
    pub formula: &'static str,
    /// Named inputs.
    pub inputs: BTreeMap<&'static str, f64>,
    /// Result.
    pub value: f64,
    /// Unit of the result.
    pub unit: &'static str,
}

/// An inference estimate.
#[derive(Debug, Serialize, ToSchema)]
pub struct InferenceResponse {
    /// `fits`, or `does_not_fit` when one device cannot hold what the request asks (then
    /// `not_run` says why, and `latency`, `throughput`, `cost` and `energy` are null).
    #[schema(example = "fits")]
    pub verdict: &'static str,
    /// Why the running sections are left out; null when it fits.
    #[schema(required = true)]
    pub not_run: Option<NotRun>,
    /// Model id (`inline` for an inline config).
    pub model: String,
    /// Device id.
    pub hardware: String,
    /// Devices in all.
    pub devices: u64,
    /// Parallel degrees used.
    pub parallelism: ParallelismBody,
    /// Weight format.
    pub weights: String,
    /// KV-cache format.
    pub kv_cache: String,
    /// Engine profile.
    pub engine: String,
    /// Sequences per replica (resolves "max").
    pub batch_size: u64,
    /// Prompt tokens per sequence.
    pub input_tokens: u64,
    /// Generated tokens per sequence.
    pub output_tokens: u64,
    /// Memory.
    pub memory: MemoryBody,
    /// FLOPs and phases.
    pub compute: ComputeBody,
    /// Latency (null when it does not fit).
    #[schema(required = true)]
    pub latency: Option<LatencyBody>,
    /// Throughput (null when it does not fit).
    #[schema(required = true)]
    pub throughput: Option<ThroughputBody>,
    /// Cost (null when it does not fit).
    #[schema(required = true)]
    pub cost: Option<CostBody>,
    /// Energy (null when it does not fit).
    #[schema(required = true)]
    pub energy: Option<EnergyBody>,
    /// Caveats; when it does not fit, the first is `does-not-fit`, saying `not_run.reason`.
    pub warnings: Vec<WarningBody>,
    /// How each number was made.
    pub explain: Vec<ExplainBody>,
    /// The defaults applied because the request left fields out.
    pub assumptions: Vec<Assumption>,
    /// Expert parallelism (MoE with `parallelism.expert` above 1): the layout over expert
    /// ranks, the dispatch and combine of one decode step, the imbalance used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert_parallel: Option<super::moe::ExpertParallelBody>,
    /// Measured error of this kind of estimate.
    pub error_band: ErrorBand,
    /// Speculative decoding at this batch: tokens per step, speedup, where it stops paying
    /// (present when the request's `speculative` asked for it; `latency.tpot_ms` and the
    /// throughput already include it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculation: Option<super::speculative::SpeculationBody>,
}

fn ms(s: crate::engine::units::Seconds) -> f64 {
    s.0 * 1e3
}

fn phase(p: &Phase) -> PhaseBody {
    PhaseBody {
        time_ms: finite(ms(p.time)),
        compute_ms: finite(ms(p.compute_time)),
        memory_ms: finite(ms(p.memory_time)),
        communication_ms: finite(ms(p.communication_time)),
        bound: match p.bound {
            Bound::Compute => "compute",
            Bound::Memory => "memory",
            Bound::Communication => "communication",
        },
        flops: finite(p.flops.0),
        bytes: finite(p.bytes.0),
    }
}

impl MemoryBody {
    /// The memory section of an estimate of scenario `s`.
    pub fn new(m: &Memory, s: &InferenceScenario) -> Self {
        MemoryBody {
            per_device: PerDeviceMemory {
                weights_bytes: finite(m.per_device.weights.0),
                kv_cache_bytes: finite(m.per_device.kv_cache.0),
                activations_bytes: finite(m.per_device.activations.0),
                overhead_bytes: finite(m.per_device.overhead.0),
                total_bytes: finite(m.per_device.total.0),
            },
            capacity_bytes: finite(m.capacity.0),
            fits: m.fits,
            max_batch_size: m.max_batch_size,
            max_context_tokens: m.max_context_tokens,
            memory_context_tokens: m.memory_context_tokens,
            context_bound: m.context_bound.as_str(),
            kv_cache: KvBytesPerToken::of(s),
        }
    }
}

impl From<Warning> for WarningBody {
    fn from(Warning { code, message }: Warning) -> Self {
        Self { code, message }
    }
}

impl From<Explanation> for ExplainBody {
    fn from(Explanation { rule, formula, inputs, value, unit }: Explanation) -> Self {
        Self {
            rule,
            formula,
            inputs: inputs.into_iter().map(|(k, v)| (k, finite(v))).collect(),
            value: finite(value),
            unit,
        }
    }
}

impl InferenceResponse {
    /// The answer to `scenario`: runs the engine and attaches the error band.
    pub fn new(ctx: &Context, scenario: &InferenceScenario) -> Self {
        Self::from_estimate(ctx, scenario, inference::estimate(&scenario.input()))
    }

    /// The sections an answer that does not fit leaves out (serialized as null).
    pub const LEFT_OUT: [&'static str; 4] = ["latency", "throughput", "cost", "energy"];

    /// The answer for a scenario and its estimate.
    pub fn from_estimate(ctx: &Context, scenario: &InferenceScenario, estimate: InferenceEstimate) -> Self {
        let parsed = scenario;
        let e = estimate;
        let fits = e.memory.fits;
        let not_run = (!fits).then(|| NotRun {
            reason: verdict::memory_reason(ctx, &parsed.input(), &e),
            left_out: Self::LEFT_OUT.to_vec(),
        });
        let mut warnings: Vec<WarningBody> = e.warnings.into_iter().map(WarningBody::from).collect();
        if let Some(n) = &not_run {
            verdict::lead_with(&mut warnings, &n.reason);
        }
        let speculation = parsed
            .techniques
            .speculation
            .zip(e.speculation)
            .map(|(s, a)| super::speculative::SpeculationBody::new(&s, &a));
        Self {
            speculation,
            verdict: verdict::verdict(fits),
            model: parsed.model.id.clone(),
            hardware: parsed.device.id.clone(),
            devices: parsed.parallelism.devices(),
            parallelism: ParallelismBody {
                tensor: Some(parsed.parallelism.tensor),
                pipeline: Some(parsed.parallelism.pipeline),
                expert: Some(parsed.parallelism.expert),
                data: Some(parsed.parallelism.data),
            },
            weights: parsed.weights.id.clone(),
            kv_cache: parsed.kv_cache.id.clone(),
            engine: parsed.engine.to_string(),
            batch_size: e.batch_size,
            input_tokens: parsed.input_tokens,
            output_tokens: parsed.output_tokens,
            memory: MemoryBody::new(&e.memory, parsed),
            compute: ComputeBody {
                forward_flops_per_token: finite(e.forward_flops_per_token.0),
                prefill_flops_per_sequence: finite(e.prefill_flops_per_sequence.0),
                decode_flops_per_step: finite(e.decode_flops_per_step.0),
                compute_type: compute_name(e.compute_type),
                prefill: phase(&e.prefill),
                decode: phase(&e.decode),
            },
            latency: fits.then(|| LatencyBody {
                ttft_ms: finite(ms(e.ttft)),
                tpot_ms: finite(ms(e.tpot)),
                e2e_ms: finite(ms(e.e2e)),
            }),
            throughput: fits.then(|| ThroughputBody {
                output_tokens_per_s: finite(e.output_tokens_per_s),
                output_tokens_per_s_per_user: finite(e.output_tokens_per_s_per_user),
                prefill_tokens_per_s: finite(e.prefill_tokens_per_s),
            }),
            cost: fits.then(|| CostBody {
                usd_per_hour: e.usd_per_hour.map(finite),
                usd_per_million_output_tokens: e.usd_per_million_output_tokens.map(finite),
                usd_per_million_input_tokens: e.usd_per_million_input_tokens.map(finite),
                basis: parsed.cost.basis.clone(),
            }),
            energy: fits.then(|| EnergyBody {
                joules_per_output_token: e.joules_per_output_token.map(finite),
                usd_per_million_output_tokens: e
                    .joules_per_output_token
                    .map(|j| finite(parsed.cost.energy_usd(j * 1e6 / JOULES_PER_KWH))),
            }),
            not_run,
            warnings,
            expert_parallel: super::moe::ExpertParallelBody::of(parsed, e.decode_expert_all_to_all.0, None),
            explain: e.explain.into_iter().map(ExplainBody::from).collect(),
            assumptions: parsed.assumptions.0.clone(),
            error_band: band(ctx, parsed),
        }
    }
}

/// The measured error of this kind of estimate: throughput at "max" batch is judged on the
/// maximum-throughput tables, a fixed batch on per-device throughput.
fn band(ctx: &Context, scenario: &InferenceScenario) -> ErrorBand {
    band_for(ctx, &scenario.device.id, scenario.batch)
}

/// The error band of an inference estimate on device `device_id` (its kind's validation
/// families) at `batch`: what a check of such a deployment reads.
pub fn band_for(ctx: &Context, device_id: &str, batch: Batch) -> ErrorBand {
    let class = ctx.catalog.device(device_id).map_or("inline", |d| d.record.kind.as_str());
    let throughput_family = if batch == Batch::Max { "output_throughput_total" } else { "output_throughput_per_gpu" };
    ErrorBand::from_report(
        &ctx.validation,
        Side::Inference,
        class,
        &[
            ("latency.tpot_ms", "decode_tokens_per_s_per_user"),
            ("latency.ttft_ms", "ttft_ms"),
            ("throughput.prefill_tokens_per_s", "prefill_tokens_per_s"),
            ("throughput.output_tokens_per_s", throughput_family),
        ],
    )
}
