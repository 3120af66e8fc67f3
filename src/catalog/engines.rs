//! Engine profile records: the schema of `data/engines/*.toml` (`[[engine]]` for inference,
//! `[[training]]` for training).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::hardware::Kind;
use crate::engine::device::DeviceKind;
use crate::engine::profile::{AutoSplit, EngineProfile, KindAdjustment, Scheduler};
use crate::engine::training::TrainingProfile;
use crate::engine::units::{Bytes, Seconds};

/// Efficiencies of an engine on one device kind.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindRecord {
    /// Device kind.
    pub kind: Kind,
    /// Large-GEMM fraction of peak on that kind.
    pub compute_efficiency: f64,
    /// Fraction of peak bandwidth on that kind.
    pub memory_efficiency: f64,
}

/// A serving engine's efficiency profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineRecord {
    /// Engine id.
    #[schema(example = "tensorrt-llm")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Share of device memory the engine may use.
    pub memory_fraction: f64,
    /// Share of system memory usable on unified-memory devices.
    pub unified_memory_fraction: f64,
    /// Per-device runtime overhead, decimal GB.
    pub runtime_overhead_gb: f64,
    /// Large 16-bit GEMM fraction of dense peak.
    pub compute_efficiency: f64,
    /// FP8/INT8 share of the 16-bit efficiency.
    pub fp8_factor: f64,
    /// FP4 share of the 16-bit efficiency.
    pub fp4_factor: f64,
    /// Whether the engine has FP8/FP4/INT8 GEMM kernels (else it dequantises to 16 bit).
    pub low_precision_gemms: bool,
    /// Tokens per pass at half GEMM efficiency.
    pub gemm_half_tokens: f64,
    /// Fraction of peak memory bandwidth.
    pub memory_efficiency: f64,
    /// Fixed time per forward pass, microseconds.
    pub step_overhead_us: f64,
    /// Time per layer per forward pass, microseconds (eager frameworks; 0 when fused or graphed).
    #[serde(default)]
    pub layer_overhead_us: f64,
    /// Bits per weight the token embeddings and the LM head keep when the other weights are
    /// quantised below that (0: stored like the rest). Quantised checkpoints the engine loads
    /// leave those two tables in 16 bit.
    #[serde(default)]
    pub unquantized_table_bits: f64,
    /// Latency per collective, microseconds.
    pub collective_latency_us: f64,
    /// Added once to time to first token, microseconds.
    pub request_overhead_us: f64,
    /// Scheduler batch limit.
    pub max_batch_size: u64,
    /// Tokens per prefill pass.
    pub prefill_chunk_tokens: u64,
    /// Share of TDP drawn while serving.
    pub power_fraction: f64,
    /// Where the defaults come from.
    pub sources: Vec<String>,
    /// What the calibration constants were fitted on.
    pub fitted_on: String,
    /// Per device-kind efficiencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<KindRecord>,
    /// Step-level constants and the scheduler used by the serving simulation.
    #[serde(default)]
    pub serving: ServingRecord,
    /// How the engine splits a model over several devices when not told: `layers` (pipeline
    /// stages, llama.cpp) or `tensor-then-pipeline` (tensor parallel within a node, pipeline
    /// across; vLLM, SGLang, TensorRT-LLM). The default is `tensor-then-pipeline`.
    #[serde(default)]
    pub auto_split: AutoSplitId,
    /// Releases that behave differently (`[[engine.release]]`): a `version`, `latest = true` on
    /// the one the plain id means, `sources`, `fitted_on`, and any field of this record (the
    /// `serving` table merged key by key) that the release changes. Each becomes the profile
    /// `id@version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub release: Vec<toml::Table>,
}

/// `auto_split` of an engine record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AutoSplitId {
    /// Pipeline stages of whole layers.
    Layers,
    /// Tensor parallel within a node, pipeline stages across nodes.
    #[default]
    TensorThenPipeline,
}

/// Step-level constants of the serving simulation (`[engine.serving]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServingRecord {
    /// GEMM width (hidden / tensor degree) at half GEMM efficiency.
    pub gemm_half_width: f64,
    /// Prefill attention's share of the dense 16-bit peak.
    pub attention_efficiency: f64,
    /// Decode attention's share of peak bandwidth reading the KV cache.
    pub attention_memory_efficiency: f64,
    /// Time per sequence per step, microseconds.
    pub sequence_overhead_us: f64,
    /// Share of a PCIe link's rate that collectives reach.
    pub pcie_collective_efficiency: f64,
    /// Routed-expert (grouped) GEMMs' efficiency relative to the dense GEMMs' at the same rows
    /// (1 = as efficient).
    pub expert_gemm_efficiency: f64,
    /// Share of the weight-streaming bandwidth the routed experts' grouped GEMMs reach when
    /// bound by their weight reads (1 = as the dense GEMMs).
    pub expert_memory_efficiency: f64,
    /// The scheduler.
    pub scheduler: SchedulerRecord,
}

impl Default for ServingRecord {
    fn default() -> Self {
        Self {
            gemm_half_width: 0.0,
            attention_efficiency: 0.5,
            attention_memory_efficiency: 0.7,
            sequence_overhead_us: 10.0,
            pcie_collective_efficiency: 0.5,
            expert_gemm_efficiency: 1.0,
            expert_memory_efficiency: 1.0,
            scheduler: SchedulerRecord::default(),
        }
    }
}

/// A continuous-batching scheduler's settings (`[engine.serving.scheduler]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerRecord {
    /// Most sequences per step.
    pub max_num_seqs: u64,
    /// Most tokens per step.
    pub max_num_tokens: u64,
    /// Whether prompts may be split over steps.
    pub chunked_prefill: bool,
    /// Whether decodes and prefills share a step.
    pub mixed_batches: bool,
    /// Tokens per KV block.
    pub kv_block_tokens: u64,
    /// Whether a request reserves KV for its whole length at admission.
    pub kv_reserve_full: bool,
    /// Share of memory for the KV cache.
    pub kv_fraction: f64,
    /// Whether `kv_fraction` is of the memory left after weights.
    pub kv_fraction_of_free: bool,
    /// Whether sliding-window layers keep only their window.
    pub windowed_kv: bool,
    /// Whether `max_num_seqs` is per pipeline micro-batch.
    pub seqs_per_micro_batch: bool,
    /// Whether the limits are tuned from the workload as trtllm-bench does.
    pub tuned_limits: bool,
    /// Whether an MoE layer with attention data parallelism runs every rank's tokens (gathered
    /// before the experts) in the engine's profiling pass, rather than each rank's own.
    pub moe_gathers_dp_tokens: bool,
}

impl Default for SchedulerRecord {
    fn default() -> Self {
        Self {
            max_num_seqs: 256,
            max_num_tokens: 8192,
            chunked_prefill: true,
            mixed_batches: true,
            kv_block_tokens: 16,
            kv_reserve_full: false,
            kv_fraction: 0.9,
            kv_fraction_of_free: false,
            windowed_kv: true,
            seqs_per_micro_batch: false,
            tuned_limits: false,
            moe_gathers_dp_tokens: false,
        }
    }
}

impl SchedulerRecord {
    /// The engine form.
    pub fn to_engine(&self) -> Scheduler {
        Scheduler {
            max_num_seqs: self.max_num_seqs,
            max_num_tokens: self.max_num_tokens,
            chunked_prefill: self.chunked_prefill,
            mixed_batches: self.mixed_batches,
            kv_block_tokens: self.kv_block_tokens,
            kv_reserve_full: self.kv_reserve_full,
            kv_fraction: self.kv_fraction,
            kv_fraction_of_free: self.kv_fraction_of_free,
            windowed_kv: self.windowed_kv,
            seqs_per_micro_batch: self.seqs_per_micro_batch,
            tuned_limits: self.tuned_limits,
            moe_gathers_dp_tokens: self.moe_gathers_dp_tokens,
        }
    }
}

/// Merges `overlay` into `base` key by key, tables recursively.
fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// One release of an engine, resolved into a whole record.
#[derive(Debug, Clone)]
pub struct Release {
    /// The release's record (id `engine@version`).
    pub record: EngineRecord,
    /// Whether the plain engine id means this release.
    pub latest: bool,
}

impl EngineRecord {
    /// Every `[[engine.release]]`, each merged over this record.
    pub fn releases(&self) -> Result<Vec<Release>, Vec<String>> {
        let mut base = Self { release: Vec::new(), ..self.clone() };
        base.sources.clear();
        let base = toml::Table::try_from(&base).map_err(|e| vec![e.to_string()])?;
        self.release
            .iter()
            .map(|overlay| {
                let mut overlay = overlay.clone();
                let version = match overlay.remove("version") {
                    Some(toml::Value::String(v)) if !v.is_empty() && !v.contains('@') => v,
                    _ => return Err(vec!["each release needs a version string (without '@')".to_string()]),
                };
                let latest = match overlay.remove("latest") {
                    None => false,
                    Some(toml::Value::Boolean(b)) => b,
                    Some(_) => return Err(vec![format!("release {version}: latest must be true or false")]),
                };
                if !overlay.contains_key("sources") || !overlay.contains_key("fitted_on") {
                    return Err(vec![format!("release {version} needs its own sources and fitted_on")]);
                }
                let mut table = base.clone();
                merge(&mut table, &overlay);
                table.insert("id".into(), toml::Value::String(format!("{}@{version}", self.id)));
                let record: EngineRecord = toml::Value::Table(table)
                    .try_into()
                    .map_err(|e: toml::de::Error| vec![format!("release {version}: {}", e.message())])?;
                Ok(Release { record, latest })
            })
            .collect()
    }
}

fn fraction(problems: &mut Vec<String>, field: &str, value: f64) {
    if !(value.is_finite() && value > 0.0 && value <= 1.0) {
        problems.push(format!("{field} must be above 0 and at most 1, got {value}"));
    }
}

fn non_negative(problems: &mut Vec<String>, field: &str, value: f64, max: f64) {
    if !(value.is_finite() && (0.0..=max).contains(&value)) {
        problems.push(format!("{field} must be from 0 to {max}, got {value}"));
    }
}

impl EngineRecord {
    /// Validates and converts into the engine's profile.
    pub fn to_engine(&self) -> Result<EngineProfile, Vec<String>> {
        let mut p = Vec::new();
        fraction(&mut p, "memory_fraction", self.memory_fraction);
        fraction(&mut p, "unified_memory_fraction", self.unified_memory_fraction);
        fraction(&mut p, "compute_efficiency", self.compute_efficiency);
        fraction(&mut p, "fp8_factor", self.fp8_factor);
        fraction(&mut p, "fp4_factor", self.fp4_factor);
        fraction(&mut p, "memory_efficiency", self.memory_efficiency);
        fraction(&mut p, "power_fraction", self.power_fraction);
        non_negative(&mut p, "runtime_overhead_gb", self.runtime_overhead_gb, 1e3);
        non_negative(&mut p, "gemm_half_tokens", self.gemm_half_tokens, 1e6);
        non_negative(&mut p, "step_overhead_us", self.step_overhead_us, 1e7);
        non_negative(&mut p, "layer_overhead_us", self.layer_overhead_us, 1e7);
        non_negative(&mut p, "unquantized_table_bits", self.unquantized_table_bits, 32.0);
        non_negative(&mut p, "collective_latency_us", self.collective_latency_us, 1e7);
        non_negative(&mut p, "request_overhead_us", self.request_overhead_us, 1e8);
        if self.max_batch_size == 0 || self.prefill_chunk_tokens == 0 {
            p.push("max_batch_size and prefill_chunk_tokens must be at least 1".into());
        }
        let sv = &self.serving;
        non_negative(&mut p, "serving.gemm_half_width", sv.gemm_half_width, 1e6);
        fraction(&mut p, "serving.attention_efficiency", sv.attention_efficiency);
        fraction(&mut p, "serving.attention_memory_efficiency", sv.attention_memory_efficiency);
        non_negative(&mut p, "serving.sequence_overhead_us", sv.sequence_overhead_us, 1e6);
        fraction(&mut p, "serving.scheduler.kv_fraction", sv.scheduler.kv_fraction);
        fraction(&mut p, "serving.pcie_collective_efficiency", sv.pcie_collective_efficiency);
        fraction(&mut p, "serving.expert_gemm_efficiency", sv.expert_gemm_efficiency);
        fraction(&mut p, "serving.expert_memory_efficiency", sv.expert_memory_efficiency);
        let sc = &sv.scheduler;
        if sc.max_num_seqs == 0 || sc.max_num_tokens == 0 || sc.kv_block_tokens == 0 || sc.kv_block_tokens > 4096 {
            p.push(
                "serving.scheduler: max_num_seqs and max_num_tokens must be at least 1, kv_block_tokens 1 to 4096"
                    .into(),
            );
        }
        for k in &self.kind {
            fraction(&mut p, "kind.compute_efficiency", k.compute_efficiency);
            fraction(&mut p, "kind.memory_efficiency", k.memory_efficiency);
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(EngineProfile {
            id: self.id.clone(),
            memory_fraction: self.memory_fraction,
            unified_memory_fraction: self.unified_memory_fraction,
            runtime_overhead: Bytes(self.runtime_overhead_gb * 1e9),
            compute_efficiency: self.compute_efficiency,
            fp8_factor: self.fp8_factor,
            fp4_factor: self.fp4_factor,
            low_precision_gemms: self.low_precision_gemms,
            gemm_half_tokens: self.gemm_half_tokens,
            memory_efficiency: self.memory_efficiency,
            step_overhead: Seconds(self.step_overhead_us * 1e-6),
            layer_overhead: Seconds(self.layer_overhead_us * 1e-6),
            unquantized_table_bits: self.unquantized_table_bits,
            collective_latency: Seconds(self.collective_latency_us * 1e-6),
            request_overhead: Seconds(self.request_overhead_us * 1e-6),
            max_batch_size: self.max_batch_size,
            prefill_chunk_tokens: self.prefill_chunk_tokens,
            power_fraction: self.power_fraction,
            kind_adjustments: self
                .kind
                .iter()
                .map(|k| KindAdjustment {
                    kind: DeviceKind::from(k.kind),
                    compute_efficiency: k.compute_efficiency,
                    memory_efficiency: k.memory_efficiency,
                })
                .collect(),
            gemm_half_width: sv.gemm_half_width,
            attention_efficiency: sv.attention_efficiency,
            attention_memory_efficiency: sv.attention_memory_efficiency,
            sequence_overhead: Seconds(sv.sequence_overhead_us * 1e-6),
            pcie_collective_efficiency: sv.pcie_collective_efficiency,
            expert_gemm_efficiency: sv.expert_gemm_efficiency,
            expert_memory_efficiency: sv.expert_memory_efficiency,
            scheduler: sv.scheduler.to_engine(),
            auto_split: match self.auto_split {
                AutoSplitId::Layers => AutoSplit::Layers,
                AutoSplitId::TensorThenPipeline => AutoSplit::TensorThenPipeline,
            },
        })
    }
}

/// A training engine's efficiency profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    /// Engine id.
    #[schema(example = "megatron")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Share of dense peak a wide model's step reaches.
    pub compute_efficiency: f64,
    /// `compute_efficiency` on devices of a given microarchitecture (`Volta`), where the era's
    /// kernels reached another share of that architecture's peak.
    #[serde(default)]
    pub compute_efficiency_by_architecture: std::collections::BTreeMap<String, f64>,
    /// Share of dense peak the fused attention kernels reach (causal-halved FLOPs); the GEMMs'
    /// `compute_efficiency` when absent.
    #[serde(default)]
    pub attention_efficiency: Option<f64>,
    /// `attention_efficiency` on devices of a given microarchitecture (`Hopper`), where the
    /// stack's attention kernel reaches another share of that architecture's peak.
    #[serde(default)]
    pub attention_efficiency_by_architecture: std::collections::BTreeMap<String, f64>,
    /// Bytes of memory-bound traffic (norms, residuals, activations, dropout, in 16 bit, forward
    /// and backward) per token per layer, per unit of hidden size.
    pub elementwise_bytes_per_hidden: f64,
    /// Fraction of peak bandwidth that traffic reaches.
    pub memory_efficiency: f64,
    /// FP8 share of the BF16 efficiency.
    pub fp8_factor: f64,
    /// Share of the gradient reduction hidden behind backward.
    pub dp_overlap: f64,
    /// Allocator caching and fragmentation, share of the rest.
    pub allocator_overhead: f64,
    /// Runtime memory per device, decimal GB.
    pub runtime_overhead_gb: f64,
    /// Share of device memory usable.
    pub memory_fraction: f64,
    /// Latency per collective, microseconds.
    pub collective_latency_us: f64,
    /// Share of TDP drawn while training.
    pub power_fraction: f64,
    /// Share of a node's host power (its rating beyond the devices' TDP) drawn while training.
    pub host_power_fraction: f64,
    /// Network switch power per device, watts.
    pub network_w_per_device: f64,
    /// QLoRA efficiency multiplier.
    pub qlora_factor: f64,
    /// CUDA context and library workspaces per device outside the allocator, decimal GB.
    pub context_gb: f64,
    /// Bytes per hidden unit per token each norm saves (2 fused, about 10 for an unfused
    /// RMSNorm upcasting to FP32).
    pub norm_bytes_per_hidden: f64,
    /// Bytes per parameter of what QLoRA leaves unquantised (2, or 4 where PEFT upcasts it).
    #[serde(default = "two")]
    pub unquantized_bytes: f64,
    /// Sequences per example (2 for preference pairs).
    #[serde(default = "one")]
    pub sequences_per_example: f64,
    /// Whether every sequence also runs through a reference model's forward (DPO).
    #[serde(default)]
    pub reference_forward: bool,
    /// Whether the stack compiles or fuses its loss and elementwise kernels by default (a
    /// request's `compile` overrides): Megatron's and torchtitan's fused kernels, Unsloth's.
    #[serde(default)]
    pub compiled: bool,
    /// Whether a QLoRA base's 4-bit linear layers save their inputs for backward (true for
    /// bitsandbytes, the default; false for torchtune's torchao NF4 and Unsloth's kernels).
    #[serde(default = "yes")]
    pub quantized_linear_saves_input: bool,
    /// Whether the stack keeps the output layer as its own tensor even where the checkpoint
    /// ties it to the token table (LitGPT), so a tied model holds the table twice.
    #[serde(default)]
    pub unties_embeddings: bool,
    /// Whether a QLoRA base quantises the output layer too (LitGPT, through Lightning's
    /// bitsandbytes plugin; Hugging Face keeps the head in 16 bit).
    #[serde(default)]
    pub quantizes_output_layer: bool,
    /// Whether LoRA adapters stay in the weights' dtype (torchtune, LitGPT) rather than being
    /// upcast to FP32 as PEFT does.
    #[serde(default)]
    pub adapters_in_weight_dtype: bool,
    /// Whether `selective` recomputation is torchtitan's op-level policy (each layer keeps its
    /// input, the attention output and every other matmul's output) rather than Korthikanti et
    /// al.'s (everything but the attention internals).
    #[serde(default)]
    pub selective_ac_op: bool,
    /// The framework's recipe defaults, as training-request fields (`optimizer`,
    /// `activation_checkpointing`, `loss`, `lora_targets`, ...); a request's own fields win.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub defaults: serde_json::Map<String, serde_json::Value>,
    /// Further defaults of the framework's full fine-tuning recipe, over `defaults` when the
    /// method is `full`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub full_defaults: serde_json::Map<String, serde_json::Value>,
    /// Where those defaults were read.
    #[serde(default)]
    pub defaults_source: Option<String>,
    /// What the constants were fitted on.
    pub fitted_on: String,
}

fn two() -> f64 {
    2.0
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

impl TrainingRecord {
    /// Validates and converts into the engine's profile.
    pub fn to_engine(&self) -> Result<TrainingProfile, Vec<String>> {
        let mut p = Vec::new();
        for (name, value) in [
            ("compute_efficiency", self.compute_efficiency),
            ("fp8_factor", self.fp8_factor),
            ("memory_fraction", self.memory_fraction),
            ("power_fraction", self.power_fraction),
            ("host_power_fraction", self.host_power_fraction),
            ("qlora_factor", self.qlora_factor),
        ] {
            fraction(&mut p, name, value);
        }
        if let Some(attention) = self.attention_efficiency {
            fraction(&mut p, "attention_efficiency", attention);
        }
        for (architecture, attention) in &self.attention_efficiency_by_architecture {
            fraction(&mut p, &format!("attention_efficiency_by_architecture.{architecture}"), *attention);
        }
        for (architecture, compute) in &self.compute_efficiency_by_architecture {
            fraction(&mut p, &format!("compute_efficiency_by_architecture.{architecture}"), *compute);
        }
        non_negative(&mut p, "dp_overlap", self.dp_overlap, 1.0);
        non_negative(&mut p, "allocator_overhead", self.allocator_overhead, 1.0);
        non_negative(&mut p, "elementwise_bytes_per_hidden", self.elementwise_bytes_per_hidden, 1e6);
        fraction(&mut p, "memory_efficiency", self.memory_efficiency);
        non_negative(&mut p, "runtime_overhead_gb", self.runtime_overhead_gb, 1e3);
        non_negative(&mut p, "collective_latency_us", self.collective_latency_us, 1e7);
        non_negative(&mut p, "context_gb", self.context_gb, 1e3);
        non_negative(&mut p, "network_w_per_device", self.network_w_per_device, 1e4);
        non_negative(&mut p, "norm_bytes_per_hidden", self.norm_bytes_per_hidden, 64.0);
        non_negative(&mut p, "unquantized_bytes", self.unquantized_bytes, 8.0);
        non_negative(&mut p, "sequences_per_example", self.sequences_per_example, 64.0);
        if !p.is_empty() {
            return Err(p);
        }
        Ok(TrainingProfile {
            id: self.id.clone(),
            compute_efficiency: self.compute_efficiency,
            compute_by_architecture: self
                .compute_efficiency_by_architecture
                .iter()
                .map(|(architecture, compute)| (architecture.clone(), *compute))
                .collect(),
            attention_efficiency: self.attention_efficiency.unwrap_or(self.compute_efficiency),
            attention_by_architecture: self
                .attention_efficiency_by_architecture
                .iter()
                .map(|(architecture, attention)| (architecture.clone(), *attention))
                .collect(),
            elementwise_bytes_per_hidden: self.elementwise_bytes_per_hidden,
            memory_efficiency: self.memory_efficiency,
            fp8_factor: self.fp8_factor,
            dp_overlap: self.dp_overlap,
            allocator_overhead: self.allocator_overhead,
            runtime_overhead: Bytes(self.runtime_overhead_gb * 1e9),
            memory_fraction: self.memory_fraction,
            collective_latency: Seconds(self.collective_latency_us * 1e-6),
            power_fraction: self.power_fraction,
            host_power_fraction: self.host_power_fraction,
            network_w_per_device: self.network_w_per_device,
            qlora_factor: self.qlora_factor,
            context: Bytes(self.context_gb * 1e9),
        })
    }
}
