//! The command line: `hwcost serve` (the default), `hwcost openapi`, `hwcost estimate`,
//! `hwcost validate`, `hwcost host`, `hwcost bench`, `hwcost check` and `hwcost plan`.
//!
//! Flags mirror environment variables (`HWCOST_ADDR`, ...), so the same settings work in a
//! shell and in a container. This module parses arguments and wires adapters together; it holds
//! no domain logic.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::answer::Context;
use crate::answer::inference::InferenceResponse;
use crate::answer::scaling::{ScalingPlanResponse, ScalingResponse};
use crate::answer::serving::ServingResponse;
use crate::answer::training::TrainingResponse;
use crate::catalog::Catalog;
use crate::scenario::Error;
use crate::scenario::cost::{Basis, CostChoice};
use crate::scenario::deployment::DeploymentBody;
use crate::scenario::document::{self, Syntax};
use crate::scenario::inference::{
    BatchSize, EngineRef, FormatId, InferenceRequest, InferenceRun, InferenceScenario, MaxKeyword,
};
use crate::scenario::scaling::{
    ScalingObjective, ScalingPlanRequest, ScalingPlanScenario, ScalingRequest, ScalingScenario,
};
use crate::scenario::serving::{ServingLoad, ServingRequest, ServingScenario, TokenCount};
use crate::scenario::speculative::{SpeculativeBody, SpeculativeMethod};
use crate::scenario::training::{
    CheckpointingId, ComputeOptimal, MethodId, OptimizerId, PipelineScheduleId, PrecisionId, ShardingId, TokensSpec,
    TrainingEngineId, TrainingRequest, TrainingScenario,
};

/// `print!` to standard output, except that a closed pipe (`hwcost validate | head`) ends the
/// output quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!`, quiet on a closed pipe like [`say!`].
macro_rules! sayln {
    () => { say!("\n") };
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
use crate::startup::{Application, Settings};
use crate::telemetry::{self, LogFormat};

/// hwcost: what a model needs from hardware (memory, FLOPs, time, latency, cost).
#[derive(Debug, Parser)]
#[command(name = "hwcost", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server settings, when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Print the OpenAPI document (the same as `openapi/openapi.json`).
    Openapi,
    /// Estimate a workload with the same engine and validation as the API.
    #[command(subcommand)]
    Estimate(EstimateCommand),
    /// Run every published measurement in data/validation through the estimator and report the
    /// error per point and per metric family.
    Validate(ValidateArgs),
    /// Describe this machine: CPU, cores, memory, SIMD and matrix extensions, matching catalog device.
    Host(HostArgs),
    /// Measure this machine (GEMM, memory bandwidth, a real forward pass with the
    /// `transformer-bench` feature) and compare hwcost's prediction of the forward pass.
    Bench(BenchArgs),
    /// Check a deployment plan (JSON or TOML, as for `POST /v1/check`) against its requirements.
    /// Exit 0 when it passes, 1 when a rule fails, 2 when the plan is invalid, 3 when a rule cannot be judged (a cost limit on a device with no price).
    Check(CheckArgs),
    /// Search deployments for a workload (JSON or TOML, as for `POST /v1/plan`) and rank them.
    Plan(PlanArgs),
    /// Fit an engine profile to benchmark result files (vllm bench serve, GuideLLM, llm-d,
    /// genai-perf/AIPerf), as `POST /v1/calibrate` does: the error before and after, on runs held
    /// out of the fit, and the profile to pass back with `--engine-profile FILE`.
    Calibrate(CalibrateArgs),
    /// Probe a running server (the container's health check): exit 0 when the URL answers 200.
    Healthcheck(HealthcheckArgs),
}

/// Flags of `hwcost healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The URL to GET (plain http).
    #[arg(long, env = "HWCOST_HEALTHCHECK_URL", default_value = "http://127.0.0.1:8080/healthz")]
    pub url: String,
}

/// Flags of `hwcost plan`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PlanArgs {
    /// `scaling`: the lifetime-optimal model instead of a deployment search.
    #[command(subcommand)]
    pub command: Option<PlanCommand>,
    /// The planning request (`.json` or `.toml`), or `-` for standard input.
    #[arg(required = true)]
    pub request: Option<PathBuf>,
    /// Print the whole answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Flags of `hwcost check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The plan file (`.json` or `.toml`), or `-` for standard input; or a fine-tuning config
    /// (`.yaml`/`.yml`: Axolotl, torchtune, TRL or Trainer arguments) checked with `--hardware`.
    pub plan: PathBuf,
    /// The device a fine-tuning config runs on (id or alias).
    #[arg(long)]
    pub hardware: Option<String>,
    /// Devices for a fine-tuning config (default 1).
    #[arg(long)]
    pub devices: Option<u32>,
    /// Print the whole answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// Treat `at_risk` (within the estimate's measured error of a limit) as a failure.
    #[arg(long)]
    pub strict: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Flags of `hwcost host`.
#[derive(Debug, Clone, Args)]
pub struct HostArgs {
    /// Print JSON (what `GET /v1/host` answers) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `hwcost bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Small sizes (seconds) instead of the full run (about a minute).
    #[arg(long)]
    pub quick: bool,
    /// Exit 1 when a prediction is off by more than the tolerance.
    #[arg(long)]
    pub check: bool,
    /// Largest accepted |predicted - measured| / measured for --check.
    #[arg(long, default_value_t = 0.30)]
    pub tolerance: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `hwcost validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Print the whole report as JSON.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the README's accuracy tables.
    #[arg(long)]
    pub markdown: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Benchmark result files (vllm bench serve, GuideLLM, llm-d, genai-perf/AIPerf) to compare
    /// hwcost with, instead of the embedded points: each run is replayed on the deployment below.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with = "markdown")]
    pub measurements: Vec<PathBuf>,
    /// With --measurements: the model (default: the one the file names).
    #[arg(long, requires = "measurements")]
    pub model: Option<String>,
    /// With --measurements: the device (default: the one the file names).
    #[arg(long, requires = "measurements")]
    pub hardware: Option<String>,
    /// With --measurements: devices (default: the file's count, else 1).
    #[arg(long, requires = "measurements")]
    pub devices: Option<u32>,
    /// With --measurements: the engine and release (`vllm@0.10`).
    #[arg(long, requires = "measurements")]
    pub engine: Option<String>,
    /// With --measurements: the weight format (`bf16`, `fp8`...).
    #[arg(long, requires = "measurements")]
    pub weights: Option<String>,
    /// With --measurements: a fitted engine profile (`hwcost calibrate --out`).
    #[arg(long, requires = "measurements", value_name = "FILE")]
    pub engine_profile: Option<PathBuf>,
}

/// Flags of `hwcost calibrate`.
#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {
    /// Benchmark result files: `vllm bench serve --save-result` JSON, GuideLLM reports, llm-d
    /// benchmark reports, genai-perf/AIPerf profile exports.
    #[arg(required = true, num_args = 1.., value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The model (`deployment.model`; default: the one the files name).
    #[arg(long)]
    pub model: Option<String>,
    /// The device (`deployment.hardware`; default: the one the files name).
    #[arg(long)]
    pub hardware: Option<String>,
    /// Devices (`deployment.devices`; default: the files' count, else 1).
    #[arg(long)]
    pub devices: Option<u32>,
    /// The engine whose profile is fitted, and its release (`vllm`, `vllm@0.10`).
    #[arg(long, value_parser = clap::value_parser!(EngineRef))]
    pub engine: Option<EngineRef>,
    /// The weight format.
    #[arg(long, value_enum)]
    pub weights: Option<FormatId>,
    /// Groups of runs held out in turn (`folds`; default 5).
    #[arg(long)]
    pub folds: Option<u32>,
    /// Write the fitted profile here (JSON), for `--engine-profile FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the API's JSON answer instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// What to estimate.
#[derive(Debug, Subcommand)]
pub enum EstimateCommand {
    /// Memory, latency, throughput, cost and energy of serving a model.
    Inference(Box<InferenceArgs>),
    /// Memory, time, GPU-hours, cost and energy of training a model.
    Training(Box<TrainingArgs>),
    /// A deployment replayed under load (continuous batching): throughput, latency
    /// percentiles, queueing, KV-cache use and the capacity within an SLO.
    Serving(Box<ServingArgs>),
    /// What scale buys: a run's loss under a published scaling law, its compute-optimal twin,
    /// and what each further 10x of compute buys in loss and in dollars.
    Scaling(Box<ScalingArgs>),
}

/// Flags of `hwcost estimate scaling` (the fields of `POST /v1/estimate/scaling`, `_` becoming
/// `-`). `--request` takes the very body; flags given beside it replace its fields.
#[derive(Debug, Clone, Args)]
pub struct ScalingArgs {
    /// A request body (`.json` or `.toml`; `-` reads standard input).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// Fit id (besiroglu2024, hoffmann2022, sardana2024, kaplan2020, muennighoff2023).
    #[arg(long)]
    pub fit: Option<String>,
    /// Catalog model id (its parameters and published training tokens).
    #[arg(long)]
    pub model: Option<String>,
    /// Parameters (instead of --model).
    #[arg(long)]
    pub parameters: Option<f64>,
    /// Training tokens.
    #[arg(long)]
    pub tokens: Option<f64>,
    /// Unique tokens the run repeats.
    #[arg(long)]
    pub unique_tokens: Option<f64>,
    /// Device the money side trains on.
    #[arg(long)]
    pub hardware: Option<String>,
    /// Devices per run.
    #[arg(long)]
    pub devices: Option<u32>,
    /// Print the whole response as JSON.
    #[arg(long)]
    pub json: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Plans other than a deployment search.
#[derive(Debug, Clone, Subcommand)]
pub enum PlanCommand {
    /// The lifetime-optimal model for a target quality and an inference demand (as `POST
    /// /v1/plan/scaling`).
    Scaling(Box<ScalingPlanArgs>),
}

/// Flags of `hwcost plan scaling` (the fields of `POST /v1/plan/scaling`). `--request` takes the
/// very body; flags given beside it replace its fields.
#[derive(Debug, Clone, Args)]
pub struct ScalingPlanArgs {
    /// A request body (`.json` or `.toml`; `-` reads standard input).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// Fit id.
    #[arg(long)]
    pub fit: Option<String>,
    /// Target loss (nats per token on the fit's data).
    #[arg(long)]
    pub target_loss: Option<f64>,
    /// Target: the quality of this catalog model.
    #[arg(long)]
    pub target_model: Option<String>,
    /// Target: the quality of a run of these parameters (compute-optimal unless --target-tokens).
    #[arg(long)]
    pub target_parameters: Option<f64>,
    /// Tokens of that run.
    #[arg(long)]
    pub target_tokens: Option<f64>,
    /// Lifetime inference tokens.
    #[arg(long)]
    pub inference_tokens: Option<f64>,
    /// `flops` or `cost`.
    #[arg(long, value_enum)]
    pub objective: Option<ScalingObjective>,
    /// Training device.
    #[arg(long)]
    pub hardware: Option<String>,
    /// Serving device (default: --hardware).
    #[arg(long)]
    pub serving_hardware: Option<String>,
    /// Print the whole response as JSON.
    #[arg(long)]
    pub json: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Flags of `hwcost estimate serving`. `--request` takes the very body `POST
/// /v1/estimate/serving` takes; flags given beside it replace its fields.
#[derive(Debug, Clone, Args)]
pub struct ServingArgs {
    /// A request body (`.json` or `.toml`; `-` reads standard input).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// What runs where.
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Prompt tokens per request.
    #[arg(long)]
    pub input_tokens: Option<u64>,
    /// Output tokens per request.
    #[arg(long)]
    pub output_tokens: Option<u64>,
    /// Poisson arrivals at this rate.
    #[arg(long)]
    pub requests_per_s: Option<f64>,
    /// A closed loop of this many clients.
    #[arg(long)]
    pub concurrency: Option<u64>,
    /// Requests to simulate.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Shared prompt-prefix tokens per request (`workload.prefix.tokens`).
    #[arg(long)]
    pub prefix_tokens: Option<u64>,
    /// Distinct live prefixes (`workload.prefix.distinct`).
    #[arg(long)]
    pub prefix_distinct: Option<u64>,
    /// Return the replay over time (`detail.timeline`: KV-cache use, running sequences, queue
    /// depth); shown with `--json`.
    #[arg(long)]
    pub timeline: bool,
    /// Return per-request latency histograms (`detail.histograms`); shown with `--json`.
    #[arg(long)]
    pub histograms: bool,
    /// Disaggregated prefill and decode: devices of the prefill pool
    /// (`disaggregation.prefill.devices`; with `--decode-devices`).
    #[arg(long, requires = "decode_devices")]
    pub prefill_devices: Option<u32>,
    /// Devices of the decode pool (`disaggregation.decode.devices`). Without `--prefill-devices`
    /// and `--prefill-hardware`: the decode pool alone, fed prefilled requests (an unlimited
    /// prefill side, no `disaggregation.prefill`).
    #[arg(long)]
    pub decode_devices: Option<u32>,
    /// Device of the prefill pool (`disaggregation.prefill.hardware`; default `--hardware`).
    #[arg(long)]
    pub prefill_hardware: Option<String>,
    /// Device of the decode pool (`disaggregation.decode.hardware`; default `--hardware`).
    #[arg(long)]
    pub decode_hardware: Option<String>,
    /// Network between the pools (`disaggregation.network`, `GET /v1/networks`).
    #[arg(long)]
    pub kv_network: Option<String>,
    /// Print the whole response as JSON.
    #[arg(long)]
    pub json: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The deployment's flags (`scenario::deployment::DeploymentBody`: the same names, `_` becoming
/// `-`), shared by `hwcost estimate inference` and `hwcost estimate serving`.
#[derive(Debug, Clone, Args)]
pub struct DeploymentArgs {
    /// Model id or alias (inline config.json models go through `--request`).
    #[arg(long, required_unless_present = "request")]
    pub model: Option<String>,
    /// Device id or alias (inline device records go through `--request`).
    #[arg(long, required_unless_present = "request")]
    pub hardware: Option<String>,
    /// Devices in all (default: the product of the parallel degrees; without degrees, hwcost
    /// splits the model over them as the engine would).
    #[arg(long)]
    pub devices: Option<u32>,
    /// Tensor parallel degree.
    #[arg(long)]
    pub tensor: Option<u32>,
    /// Pipeline stages.
    #[arg(long)]
    pub pipeline: Option<u32>,
    /// Expert parallel degree.
    #[arg(long)]
    pub expert: Option<u32>,
    /// Replicas.
    #[arg(long)]
    pub data: Option<u32>,
    /// Weight format.
    #[arg(long, value_enum)]
    pub weights: Option<FormatId>,
    /// KV-cache format.
    #[arg(long, value_enum)]
    pub kv_cache: Option<FormatId>,
    /// Group size of int4 weights.
    #[arg(long)]
    pub weights_group_size: Option<u32>,
    /// Engine profile and release (`vllm`, `tensorrt-llm@1.0`).
    #[arg(long, value_parser = clap::value_parser!(EngineRef))]
    pub engine: Option<EngineRef>,
    /// A fitted engine profile (`engine_profile`): the file `hwcost calibrate --out` writes
    /// (JSON or TOML).
    #[arg(long, value_name = "FILE")]
    pub engine_profile: Option<PathBuf>,
    /// Large-GEMM fraction of peak (`overrides.compute_efficiency`).
    #[arg(long)]
    pub compute_efficiency: Option<f64>,
    /// Fraction of peak memory bandwidth (`overrides.memory_efficiency`).
    #[arg(long)]
    pub memory_efficiency: Option<f64>,
    /// Share of device memory the engine may use (`overrides.memory_fraction`).
    #[arg(long)]
    pub memory_fraction: Option<f64>,
    /// Price of one device-hour, USD (`overrides.usd_per_device_hour`).
    #[arg(long)]
    pub usd_per_device_hour: Option<f64>,
    /// The network between nodes (`network`: an id of `GET /v1/networks`).
    #[arg(long)]
    pub network: Option<String>,
    /// The hottest expert rank's routed tokens over the mean rank's (`moe.hottest_expert_load`).
    #[arg(long)]
    pub hottest_expert_load: Option<f64>,
    /// Two-batch overlap of the expert all-to-alls (`moe.two_batch_overlap: true`).
    #[arg(long)]
    pub two_batch_overlap: bool,
    /// How the devices are paid for.
    #[command(flatten)]
    pub cost: CostArgs,
    /// Speculative decoding method (`speculative.method`): draft, eagle, eagle3, mtp, ngram.
    #[arg(long, value_enum)]
    pub speculative: Option<SpeculativeMethod>,
    /// The draft model's id, for `--speculative draft` (`speculative.draft_model`).
    #[arg(long)]
    pub draft_model: Option<String>,
    /// Draft tokens per step, k (`speculative.tokens`).
    #[arg(long)]
    pub speculative_tokens: Option<u32>,
    /// Probability that a draft token is accepted (`speculative.acceptance_rate`).
    #[arg(long)]
    pub acceptance_rate: Option<f64>,
    /// KV-cache tiers beyond device memory.
    #[command(flatten)]
    pub kv_offload: KvOffloadArgs,
}

/// The flags of `kv_offload` (`--kv-offload-host-gb` is `kv_offload.host_gb`, and so on).
#[derive(Debug, Clone, Default, Args)]
pub struct KvOffloadArgs {
    /// Host memory for KV per device, GB (`kv_offload.host_gb`).
    #[arg(long)]
    pub kv_offload_host_gb: Option<f64>,
    /// Host link bandwidth per device, GB/s (`kv_offload.host_gb_per_s`).
    #[arg(long)]
    pub kv_offload_host_gb_per_s: Option<f64>,
    /// Disk for KV per device, GB (`kv_offload.disk_gb`).
    #[arg(long)]
    pub kv_offload_disk_gb: Option<f64>,
    /// Disk read rate per device, GB/s (`kv_offload.disk_gb_per_s`).
    #[arg(long)]
    pub kv_offload_disk_gb_per_s: Option<f64>,
}

impl KvOffloadArgs {
    fn over(&self, d: &mut DeploymentBody) {
        let given = [
            self.kv_offload_host_gb,
            self.kv_offload_host_gb_per_s,
            self.kv_offload_disk_gb,
            self.kv_offload_disk_gb_per_s,
        ];
        if given.iter().any(Option::is_some) {
            let o = d.kv_offload.get_or_insert_with(Default::default);
            set(&mut o.host_gb, &self.kv_offload_host_gb);
            set(&mut o.host_gb_per_s, &self.kv_offload_host_gb_per_s);
            set(&mut o.disk_gb, &self.kv_offload_disk_gb);
            set(&mut o.disk_gb_per_s, &self.kv_offload_disk_gb_per_s);
        }
    }
}

impl DeploymentArgs {
    /// Lays the flags over a request's deployment.
    fn over(&self, d: &mut DeploymentBody) -> Result<(), Error> {
        if let Some(model) = &self.model {
            d.model = model.as_str().into();
        }
        if let Some(hardware) = &self.hardware {
            d.hardware = hardware.as_str().into();
        }
        set(&mut d.devices, &self.devices);
        let degrees = [self.tensor, self.pipeline, self.expert, self.data];
        if degrees.iter().any(Option::is_some) {
            let p = d.parallelism.get_or_insert_with(Default::default);
            set(&mut p.tensor, &self.tensor);
            set(&mut p.pipeline, &self.pipeline);
            set(&mut p.expert, &self.expert);
            set(&mut p.data, &self.data);
        }
        set(&mut d.weights, &self.weights);
        set(&mut d.kv_cache, &self.kv_cache);
        set(&mut d.weights_group_size, &self.weights_group_size);
        set(&mut d.engine, &self.engine);
        if let Some(path) = &self.engine_profile {
            d.engine_profile = Some(read_document(path)?);
        }
        let overrides =
            [self.compute_efficiency, self.memory_efficiency, self.memory_fraction, self.usd_per_device_hour];
        if overrides.iter().any(Option::is_some) {
            let o = d.overrides.get_or_insert_with(Default::default);
            set(&mut o.compute_efficiency, &self.compute_efficiency);
            set(&mut o.memory_efficiency, &self.memory_efficiency);
            set(&mut o.memory_fraction, &self.memory_fraction);
            set(&mut o.usd_per_device_hour, &self.usd_per_device_hour);
        }
        set(&mut d.network, &self.network);
        if self.hottest_expert_load.is_some() {
            let m = d.moe.get_or_insert_with(Default::default);
            set(&mut m.hottest_expert_load, &self.hottest_expert_load);
        }
        if self.two_batch_overlap {
            d.moe.get_or_insert_with(Default::default).two_batch_overlap = Some(true);
        }
        d.cost = self.cost.over(d.cost.take())?;
        if let Some(method) = self.speculative {
            let s = d.speculative.get_or_insert(SpeculativeBody {
                method,
                draft_model: None,
                tokens: None,
                acceptance_rate: None,
            });
            s.method = method;
        }
        let refinements =
            self.draft_model.is_some() || self.speculative_tokens.is_some() || self.acceptance_rate.is_some();
        match d.speculative.as_mut() {
            Some(s) => {
                set(&mut s.draft_model, &self.draft_model);
                set(&mut s.tokens, &self.speculative_tokens);
                set(&mut s.acceptance_rate, &self.acceptance_rate);
            }
            None if refinements => {
                return Err(Error::field(
                    "/speculative/method",
                    "--draft-model, --speculative-tokens and --acceptance-rate need --speculative METHOD",
                ));
            }
            None => {}
        }
        self.kv_offload.over(d);
        Ok(())
    }
}

/// Flags of `hwcost estimate training`: every field of the request, by the same names (`_`
/// becomes `-`) and ids. `--request` takes the very body `POST /v1/estimate/training` takes;
/// flags given beside it replace its fields.
#[derive(Debug, Clone, Args)]
pub struct TrainingArgs {
    /// A request body (`.json` or `.toml`; `-` reads standard input, JSON or TOML).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// Model id or alias (inline config.json models go through `--request`).
    #[arg(long, required_unless_present = "request")]
    pub model: Option<String>,
    /// Device id or alias (inline device records go through `--request`).
    #[arg(long, required_unless_present = "request")]
    pub hardware: Option<String>,
    /// Devices in all.
    #[arg(long)]
    pub devices: Option<u32>,
    /// Training tokens, or `compute_optimal`.
    #[arg(long, value_parser = tokens)]
    pub tokens: Option<TokensSpec>,
    /// Optimizer steps (tokens = steps x global batch tokens).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Sequence length.
    #[arg(long)]
    pub sequence_length: Option<u64>,
    /// Sequences per micro-batch per data rank.
    #[arg(long)]
    pub micro_batch_size: Option<u64>,
    /// Tokens per optimizer step.
    #[arg(long)]
    pub global_batch_tokens: Option<u64>,
    /// Sequences per optimizer step.
    #[arg(long)]
    pub global_batch_sequences: Option<u64>,
    /// Precision.
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionId>,
    /// Optimizer.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerId>,
    /// State sharding.
    #[arg(long, value_enum)]
    pub sharding: Option<ShardingId>,
    /// Ranks per HSDP shard group.
    #[arg(long)]
    pub hsdp_group: Option<u32>,
    /// Tensor parallel degree.
    #[arg(long)]
    pub tensor: Option<u32>,
    /// Pipeline stages.
    #[arg(long)]
    pub pipeline: Option<u32>,
    /// Data-parallel ranks.
    #[arg(long)]
    pub data: Option<u32>,
    /// Context parallel degree.
    #[arg(long)]
    pub context: Option<u32>,
    /// Expert parallel degree.
    #[arg(long)]
    pub expert: Option<u32>,
    /// Megatron sequence parallelism (`--sequence-parallel` or `--sequence-parallel false`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub sequence_parallel: Option<bool>,
    /// Pipeline schedule (`1f1b`, `interleaved`, `zero_bubble`).
    #[arg(long, value_enum)]
    pub pipeline_schedule: Option<PipelineScheduleId>,
    /// Model chunks per device of the interleaved schedule.
    #[arg(long)]
    pub virtual_stages: Option<u32>,
    /// FP8 scaling recipe with `--precision fp8` (`per_tensor`, `block`).
    #[arg(long, value_enum)]
    pub fp8_recipe: Option<crate::scenario::training::Fp8RecipeId>,
    /// The hottest expert rank's load over the mean's (`moe.hottest_expert_load`).
    #[arg(long)]
    pub hottest_expert_load: Option<f64>,
    /// Share of the expert all-to-all hidden under compute, 0 to 1 (`moe.all_to_all_overlap`).
    #[arg(long)]
    pub all_to_all_overlap: Option<f64>,
    /// Precision of the expert dispatch (`bf16`, `fp8`; `moe.dispatch_precision`).
    #[arg(long, value_enum)]
    pub dispatch_precision: Option<crate::scenario::training::DispatchPrecisionId>,
    /// Network between nodes the expert all-to-all crosses (`GET /v1/networks`).
    #[arg(long)]
    pub network: Option<String>,
    /// Activation recomputation.
    #[arg(long, value_enum)]
    pub activation_checkpointing: Option<CheckpointingId>,
    /// Full training or adapters.
    #[arg(long, value_enum)]
    pub method: Option<MethodId>,
    /// LoRA rank.
    #[arg(long)]
    pub lora_rank: Option<u32>,
    /// Offload optimizer states and master weights to the CPU.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub cpu_offload: Option<bool>,
    /// Flash attention (default true; `--flash-attention false` to turn it off).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub flash_attention: Option<bool>,
    /// Engine profile.
    #[arg(long, value_enum)]
    pub engine: Option<TrainingEngineId>,
    /// A measured MFU to use instead of the rule, 0.01 to 1.
    #[arg(long)]
    pub measured_mfu: Option<f64>,
    /// Share of the wall-clock time that trains (goodput: restarts and checkpoint stalls
    /// excluded), 0.01 to 1 (default 1).
    #[arg(long)]
    pub effective_time_share: Option<f64>,
    /// Data-centre power usage effectiveness, 1 to 3.
    #[arg(long)]
    pub pue: Option<f64>,
    /// Budget in device-hours for the largest compute-optimal model helper.
    #[arg(long)]
    pub budget_gpu_hours: Option<f64>,
    /// Budget in USD for the same helper (uses the device price).
    #[arg(long)]
    pub budget_usd: Option<f64>,
    /// Price of one device-hour, USD (`overrides.usd_per_device_hour`).
    #[arg(long)]
    pub usd_per_device_hour: Option<f64>,
    /// How the devices are paid for.
    #[command(flatten)]
    pub cost: CostArgs,
    /// Share of dense peak reached (`overrides.compute_efficiency`).
    #[arg(long)]
    pub compute_efficiency: Option<f64>,
    /// Print exactly what `POST /v1/estimate/training` answers instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the run does not fit in memory (as `hwcost check` exits 1 when a rule fails).
    #[arg(long)]
    pub strict: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Flags of `hwcost estimate inference`: every field of the request, by the same names (`_`
/// becomes `-`) and ids. `--request` takes the very body `POST /v1/estimate/inference` takes;
/// flags given beside it replace its fields.
#[derive(Debug, Clone, Args)]
pub struct InferenceArgs {
    /// A request body (`.json` or `.toml`; `-` reads standard input, JSON or TOML).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// What runs where.
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Sequences per replica, or `max`.
    #[arg(long, value_parser = batch_size)]
    pub batch_size: Option<BatchSize>,
    /// Prompt tokens per sequence.
    #[arg(long)]
    pub input_tokens: Option<u64>,
    /// Generated tokens per sequence.
    #[arg(long)]
    pub output_tokens: Option<u64>,
    /// Print exactly what `POST /v1/estimate/inference` answers instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the plan does not fit in memory (as `hwcost check` exits 1 when a rule fails).
    #[arg(long)]
    pub strict: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// How devices are paid for (the request's `cost` object), shared by the estimate commands.
#[derive(Debug, Clone, Default, Args)]
pub struct CostArgs {
    /// `rent` or `own` (`cost.basis`).
    #[arg(long, value_enum)]
    pub basis: Option<BasisArg>,
    /// Rent from this provider (`cost.provider`, e.g. `aws`, `lambda`).
    #[arg(long)]
    pub provider: Option<String>,
    /// Rental term: on-demand, spot, 1-year, 3-year (`cost.term`).
    #[arg(long)]
    pub term: Option<String>,
    /// Purchase price of one device, USD (`cost.purchase_usd`).
    #[arg(long)]
    pub purchase_usd: Option<f64>,
    /// Years a purchase is spread over (`cost.amortization_years`).
    #[arg(long)]
    pub amortization_years: Option<f64>,
    /// Electricity, USD per kWh (`cost.electricity_usd_per_kwh`).
    #[arg(long)]
    pub electricity_usd_per_kwh: Option<f64>,
    /// Share of calendar hours the devices work (`cost.utilization`).
    #[arg(long)]
    pub utilization: Option<f64>,
    /// Hosting per device and month, USD (`cost.hosting_usd_per_month`).
    #[arg(long)]
    pub hosting_usd_per_month: Option<f64>,
}

/// `--basis`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BasisArg {
    /// Pay a provider per device-hour.
    Rent,
    /// Buy the devices.
    Own,
}

impl CostArgs {
    /// Lays the flags over a request's `cost` object; `None` when neither says anything.
    fn over(&self, base: Option<CostChoice>) -> Result<Option<CostChoice>, Error> {
        let term = match &self.term {
            Some(t) => Some(
                serde_json::from_value(serde_json::Value::String(t.clone()))
                    .map_err(|_| Error::field("/cost/term", "must be on-demand, spot, 1-year or 3-year"))?,
            ),
            None => None,
        };
        let flags = CostChoice {
            basis: self.basis.map(|b| match b {
                BasisArg::Rent => Basis::Rent,
                BasisArg::Own => Basis::Own,
            }),
            provider: self.provider.clone(),
            term,
            usd_per_device_hour: None,
            purchase_usd: self.purchase_usd,
            amortization_years: self.amortization_years,
            electricity_usd_per_kwh: self.electricity_usd_per_kwh,
            pue: None,
            utilization: self.utilization,
            hosting_usd_per_month: self.hosting_usd_per_month,
        };
        Ok(match (base, self.any_given()) {
            (base, false) => base,
            (Some(base), true) => Some(flags.over(&base)),
            (None, true) => Some(flags),
        })
    }

    /// Whether any cost flag was given.
    fn any_given(&self) -> bool {
        let Self {
            basis,
            provider,
            term,
            purchase_usd,
            amortization_years,
            electricity_usd_per_kwh,
            utilization,
            hosting_usd_per_month,
        } = self;
        basis.is_some()
            || provider.is_some()
            || term.is_some()
            || [purchase_usd, amortization_years, electricity_usd_per_kwh, utilization, hosting_usd_per_month]
                .iter()
                .any(|f| f.is_some())
    }
}

/// `--batch-size`: a count or `max`.
fn batch_size(text: &str) -> Result<BatchSize, String> {
    match text {
        "max" => Ok(BatchSize::Max(MaxKeyword::Max)),
        n => n.parse().map(BatchSize::Count).map_err(|_| format!("expected a count or \"max\", got \"{n}\"")),
    }
}

/// `--tokens`: a count or `compute_optimal`.
fn tokens(text: &str) -> Result<TokensSpec, String> {
    match text {
        "compute_optimal" => Ok(TokensSpec::Keyword(ComputeOptimal::ComputeOptimal)),
        n => n
            .parse()
            .map(TokensSpec::Count)
            .map_err(|_| format!("expected a number of tokens or \"compute_optimal\", got \"{n}\"")),
    }
}

/// Settings of `hwcost serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HWCOST_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Load the catalog from this directory (with hardware/, models/, formats.toml) instead of
    /// the copy embedded in the binary.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log line format.
    #[arg(long, env = "HWCOST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// An origin allowed by CORS (repeatable; `*` allows any). None by default.
    #[arg(long = "cors-origin", env = "HWCOST_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, bytes.
    #[arg(long, env = "HWCOST_BODY_LIMIT_BYTES", default_value_t = crate::startup::BODY_LIMIT_BYTES)]
    pub body_limit_bytes: usize,
    /// Largest accepted body for `POST /v1/models/import`, bytes.
    #[arg(long, env = "HWCOST_IMPORT_LIMIT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub import_limit_bytes: usize,
    /// Worker threads (default: one per physical core).
    #[arg(long, env = "HWCOST_WORKERS")]
    pub workers: Option<usize>,
    /// Enables `POST /v1/host/benchmarks` for clients presenting this bearer token (off when
    /// unset: a benchmark loads the host for seconds).
    #[arg(long, env = "HWCOST_BENCHMARK_TOKEN", hide_env_values = true)]
    pub benchmark_token: Option<String>,
    /// Most configurations one `POST /v1/plan` may search; larger search spaces get a 422.
    #[arg(long, env = "HWCOST_PLAN_MAX_CONFIGURATIONS", default_value_t = 2_000_000)]
    pub plan_max_configurations: u64,
    /// Most items in one `POST /v1/estimate/batch`.
    #[arg(long, env = "HWCOST_BATCH_MAX_ITEMS", default_value_t = 1000)]
    pub batch_max_items: usize,
    /// Most `POST /v1/estimate/batch` computed or sent at once; one more is a 429 with
    /// `Retry-After` (each batch already uses every core).
    #[arg(long, env = "HWCOST_BATCH_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub batch_concurrency: u64,
    /// Largest answer of one `POST /v1/estimate/batch`, bytes; a batch whose answers would be
    /// larger is a 422 at `/items` (1000 inference items answer about 16 MB).
    #[arg(long, env = "HWCOST_BATCH_MAX_OUTPUT_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub batch_max_output_bytes: usize,
    /// Longest a request body may take to arrive after its headers, seconds (then 408).
    #[arg(long, env = "HWCOST_BODY_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_seconds: u64,
    /// After SIGTERM, seconds during which `/readyz` answers 503 while requests are still
    /// served, so a load balancer stops routing here before the listener closes.
    #[arg(long, env = "HWCOST_DRAIN_SECONDS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_seconds: u64,
    /// Longest wait for in-flight requests after the drain, seconds.
    #[arg(long, env = "HWCOST_SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout_seconds: u64,
    /// Fraction of requests that write an access log line, 0 to 1 (server errors always do).
    #[arg(long, env = "HWCOST_ACCESS_LOG_SAMPLE_RATE", default_value_t = 0.01, value_parser = sample_rate)]
    pub access_log_sample_rate: f64,
}

fn sample_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("expected a fraction from 0 to 1, got \"{text}\"")),
    }
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Openapi) => {
            // Equal to the built document byte for byte (a test keeps it so), without running
            // every example.
            print!("{}", crate::api::PUBLISHED_OPENAPI_JSON);
            ExitCode::SUCCESS
        }
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Estimate(EstimateCommand::Inference(args))) => estimate_inference(&args),
        Some(Command::Estimate(EstimateCommand::Training(args))) => estimate_training(&args),
        Some(Command::Estimate(EstimateCommand::Serving(args))) => estimate_serving(&args),
        Some(Command::Estimate(EstimateCommand::Scaling(args))) => estimate_scaling(&args),
        Some(Command::Validate(args)) => validate(&args),
        Some(Command::Bench(args)) => bench(&args),
        Some(Command::Check(args)) => check(&args),
        Some(Command::Plan(args)) => plan(&args),
        Some(Command::Calibrate(args)) => calibrate(&args),
        Some(Command::Healthcheck(args)) => {
            match crate::healthcheck::probe(&args.url, std::time::Duration::from_secs(3)) {
                Ok(200) => ExitCode::SUCCESS,
                Ok(status) => {
                    eprintln!("hwcost: {} answered {status}", args.url);
                    ExitCode::FAILURE
                }
                Err(error) => {
                    eprintln!("hwcost: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Host(args)) => host(&args),
        None => serve(cli.serve),
    }
}

fn load_catalog(data_dir: Option<&PathBuf>) -> Result<Catalog, crate::catalog::CatalogError> {
    match data_dir {
        Some(dir) => Catalog::from_dir(dir),
        None => Catalog::embedded(),
    }
}

/// The catalog for a one-shot command, or exit code 2 after saying why.
fn catalog_or_exit(data_dir: Option<&PathBuf>) -> Result<Catalog, ExitCode> {
    load_catalog(data_dir).map_err(|error| {
        eprintln!("hwcost: catalog failed to load: {error}");
        ExitCode::from(2)
    })
}

/// Replaces `field` with the flag's value when the flag was given.
fn set<T: Clone>(field: &mut Option<T>, flag: &Option<T>) {
    if flag.is_some() {
        field.clone_from(flag);
    }
}

/// The `--request` document, or `empty` when there is none.
fn base<T: serde::de::DeserializeOwned>(path: Option<&PathBuf>, empty: T) -> Result<T, Error> {
    match path {
        Some(path) => read_document(path),
        None => Ok(empty),
    }
}

/// The inference request of the flags: the `--request` body with the flags laid over it.
fn inference_request(args: &InferenceArgs) -> Result<InferenceRequest, Error> {
    let empty = InferenceRequest { deployment: DeploymentBody::default(), run: InferenceRun::default() };
    let mut r = base(args.request.as_ref(), empty)?;
    args.deployment.over(&mut r.deployment)?;
    set(&mut r.run.batch_size, &args.batch_size);
    set(&mut r.run.input_tokens, &args.input_tokens);
    set(&mut r.run.output_tokens, &args.output_tokens);
    Ok(r)
}

/// The training request of the flags: the `--request` body with the flags laid over it.
fn training_request(args: &TrainingArgs) -> Result<TrainingRequest, Error> {
    let empty: TrainingRequest =
        crate::scenario::document::from_value(serde_json::json!({"model": null, "hardware": null}))?;
    let mut r = base(args.request.as_ref(), empty)?;
    if let Some(model) = &args.model {
        r.model = model.as_str().into();
    }
    if let Some(hardware) = &args.hardware {
        r.hardware = hardware.as_str().into();
    }
    set(&mut r.devices, &args.devices);
    set(&mut r.tokens, &args.tokens);
    set(&mut r.steps, &args.steps);
    set(&mut r.sequence_length, &args.sequence_length);
    set(&mut r.micro_batch_size, &args.micro_batch_size);
    set(&mut r.global_batch_tokens, &args.global_batch_tokens);
    set(&mut r.global_batch_sequences, &args.global_batch_sequences);
    set(&mut r.precision, &args.precision);
    set(&mut r.optimizer, &args.optimizer);
    set(&mut r.sharding, &args.sharding);
    set(&mut r.hsdp_group, &args.hsdp_group);
    let p = r.parallelism.get_or_insert_with(Default::default);
    set(&mut p.tensor, &args.tensor);
    set(&mut p.pipeline, &args.pipeline);
    set(&mut p.data, &args.data);
    set(&mut p.context, &args.context);
    set(&mut p.expert, &args.expert);
    set(&mut p.sequence_parallel, &args.sequence_parallel);
    set(&mut p.schedule, &args.pipeline_schedule);
    set(&mut p.virtual_stages, &args.virtual_stages);
    set(&mut r.activation_checkpointing, &args.activation_checkpointing);
    set(&mut r.fp8_recipe, &args.fp8_recipe);
    set(&mut r.network, &args.network);
    if args.hottest_expert_load.is_some() || args.all_to_all_overlap.is_some() || args.dispatch_precision.is_some() {
        let m = r.moe.get_or_insert_with(Default::default);
        set(&mut m.hottest_expert_load, &args.hottest_expert_load);
        set(&mut m.all_to_all_overlap, &args.all_to_all_overlap);
        set(&mut m.dispatch_precision, &args.dispatch_precision);
    }
    set(&mut r.method, &args.method);
    set(&mut r.lora_rank, &args.lora_rank);
    set(&mut r.cpu_offload, &args.cpu_offload);
    set(&mut r.flash_attention, &args.flash_attention);
    set(&mut r.engine, &args.engine);
    set(&mut r.measured_mfu, &args.measured_mfu);
    set(&mut r.effective_time_share, &args.effective_time_share);
    set(&mut r.pue, &args.pue);
    let b = r.budget.get_or_insert_with(Default::default);
    set(&mut b.device_hours, &args.budget_gpu_hours);
    set(&mut b.usd, &args.budget_usd);
    let o = r.overrides.get_or_insert_with(Default::default);
    set(&mut o.usd_per_device_hour, &args.usd_per_device_hour);
    set(&mut o.compute_efficiency, &args.compute_efficiency);
    r.cost = args.cost.over(r.cost.take())?;
    Ok(r)
}

/// Prints an answer as a table or JSON, or the error with its pointers; exit 0, or 2 for a
/// request that cannot be answered.
fn finish<R: serde::Serialize>(outcome: Result<R, Error>, json: bool, table: impl Fn(&R) -> String) -> ExitCode {
    match outcome {
        Ok(response) if json => {
            sayln!("{}", serde_json::to_string_pretty(&response).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(response) => {
            say!("{}", table(&response));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("hwcost: {error}");
            for field in error.field_errors() {
                eprintln!(
                    "  {}: {}",
                    if field.pointer.is_empty() { "(request)" } else { &field.pointer },
                    field.detail
                );
            }
            ExitCode::from(2)
        }
    }
}

/// The answer context of a one-shot command (error bands: the committed summaries of the
/// validation run, nothing replayed).
fn context_or_exit(data_dir: Option<&PathBuf>) -> Result<Context, ExitCode> {
    catalog_or_exit(data_dir).map(|catalog| Context::new(Arc::new(catalog)))
}

fn estimate_training(args: &TrainingArgs) -> ExitCode {
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let outcome = training_request(args)
        .and_then(|request| TrainingScenario::parse(&ctx.catalog, &request, ""))
        .map(|scenario| TrainingResponse::new(&ctx, &scenario));
    let fit = outcome.as_ref().ok().map(|r| (r.memory.fits, crate::report::training_misfit(r)));
    finish(outcome, args.json, crate::report::training_table);
    fit_verdict(fit, args.json, args.strict)
}

fn estimate_inference(args: &InferenceArgs) -> ExitCode {
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let outcome = inference_request(args)
        .and_then(|request| InferenceScenario::parse(&ctx.catalog, &request, ""))
        .map(|scenario| InferenceResponse::new(&ctx, &scenario));
    let fit = outcome.as_ref().ok().map(|r| (r.not_run.is_none(), crate::report::inference_misfit(r)));
    finish(outcome, args.json, crate::report::inference_table);
    fit_verdict(fit, args.json, args.strict)
}

/// After an estimate is printed: under `--strict` a plan that does not fit is a failure, said on
/// standard error when the JSON on standard output leaves it unsaid (the table already opens
/// with it). `fit` is `None` when the request could not be answered.
fn fit_verdict(fit: Option<(bool, Option<String>)>, json: bool, strict: bool) -> ExitCode {
    if let Some((false, Some(line))) = &fit
        && json
        && strict
    {
        eprintln!("hwcost: {line}");
    }
    ExitCode::from(estimate_status(fit.map(|(fits, _)| fits), strict))
}

/// Exit status of an estimate: 2 when the request cannot be answered (its problems were
/// printed), 1 when the plan does not fit under `--strict` (as `hwcost check` exits 1 when a
/// rule fails), else 0: without `--strict` a misfit is reported, not failed.
fn estimate_status(fits: Option<bool>, strict: bool) -> u8 {
    match fits {
        None => 2,
        Some(false) if strict => 1,
        Some(_) => 0,
    }
}

fn estimate_serving(args: &ServingArgs) -> ExitCode {
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let outcome = serving_request(args)
        .and_then(|request| ServingScenario::parse(&ctx.catalog, &request, ""))
        .map(|scenario| ServingResponse::new(&ctx, &scenario));
    finish(outcome, args.json, crate::report::serving_table)
}

/// The request of `hwcost estimate serving`: `--request`, with flags replacing its fields.
fn serving_request(args: &ServingArgs) -> Result<ServingRequest, Error> {
    let empty = ServingRequest { deployment: DeploymentBody::default(), load: ServingLoad::default() };
    let mut r = base(args.request.as_ref(), empty)?;
    args.deployment.over(&mut r.deployment)?;
    let w = r.load.workload.get_or_insert_with(Default::default);
    if let Some(n) = args.input_tokens {
        w.input_tokens = Some(TokenCount::Fixed(n));
    }
    if let Some(n) = args.output_tokens {
        w.output_tokens = Some(TokenCount::Fixed(n));
    }
    set(&mut w.requests_per_s, &args.requests_per_s);
    set(&mut w.concurrency, &args.concurrency);
    set(&mut w.requests, &args.requests);
    if args.prefix_tokens.is_some() || args.prefix_distinct.is_some() {
        let p = w.prefix.get_or_insert_with(Default::default);
        set(&mut p.tokens, &args.prefix_tokens);
        set(&mut p.distinct, &args.prefix_distinct);
    }
    if args.timeline || args.histograms {
        let detail = r.load.detail.get_or_insert_with(Default::default);
        if args.timeline {
            detail.timeline = Some(true);
        }
        if args.histograms {
            detail.histograms = Some(true);
        }
    }
    let prefill_given = args.prefill_devices.is_some() || args.prefill_hardware.is_some();
    if prefill_given || args.decode_devices.is_some() || args.decode_hardware.is_some() || args.kv_network.is_some() {
        let d = r.load.disaggregation.get_or_insert_with(Default::default);
        if prefill_given {
            let p = d.prefill.get_or_insert_with(Default::default);
            set(&mut p.devices, &args.prefill_devices);
            if let Some(h) = &args.prefill_hardware {
                p.hardware = Some(serde_json::Value::String(h.clone()));
            }
        }
        set(&mut d.decode.devices, &args.decode_devices);
        if let Some(h) = &args.decode_hardware {
            d.decode.hardware = Some(serde_json::Value::String(h.clone()));
        }
        set(&mut d.network, &args.kv_network);
    }
    Ok(r)
}

/// Reads a request file (`-`: standard input) as text, at most the server's default body limit
/// ([`crate::startup::BODY_LIMIT_BYTES`]): 100 MB of newlines on standard input took 4.8 GB to
/// parse (the TOML reader keeps a token per line) and 1 GB of spaces aborted the process. A
/// larger input is an invalid request (exit 2), read no further than the limit.
fn read_bounded(path: &std::path::Path) -> Result<String, Error> {
    use std::io::Read;
    let limit = crate::startup::BODY_LIMIT_BYTES;
    let name = if path.as_os_str() == "-" { "standard input".to_owned() } else { path.display().to_string() };
    let unreadable = |e: std::io::Error| Error::field("", format!("cannot read {name}: {e}"));
    let mut bytes = Vec::new();
    let cap = limit as u64 + 1;
    if path.as_os_str() == "-" {
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes).map_err(unreadable)?;
    } else {
        std::fs::File::open(path).map_err(unreadable)?.take(cap).read_to_end(&mut bytes).map_err(unreadable)?;
    }
    if bytes.len() > limit {
        return Err(Error::field(
            "",
            format!("{name} is larger than {limit} bytes, the largest request body the server accepts by default"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| Error::field("", format!("{name} is not UTF-8 text")))
}

/// Reads a request document: JSON or TOML by extension; standard input (`-`) and other names
/// are tried as JSON, then as TOML.
fn read_document<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, Error> {
    let text = read_bounded(path)?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => document::parse(&text, Syntax::Toml),
        Some("json") => document::parse(&text, Syntax::Json),
        _ => document::parse(&text, Syntax::Json).or_else(|json_error| match json_error {
            Error::MalformedJson { .. } => document::parse(&text, Syntax::Toml),
            other => Err(other),
        }),
    }
}

fn plan(args: &PlanArgs) -> ExitCode {
    if let Some(PlanCommand::Scaling(scaling)) = &args.command {
        return plan_scaling(scaling);
    }
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let Some(request) = &args.request else {
        eprintln!("hwcost: give a planning request file, or `hwcost plan scaling`");
        return ExitCode::from(2);
    };
    let outcome = read_document(request).and_then(|r| crate::answer::plan::plan(&ctx, &r));
    finish(outcome, args.json, crate::report::plan_table)
}

fn estimate_scaling(args: &ScalingArgs) -> ExitCode {
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let outcome = base(args.request.as_ref(), ScalingRequest::default())
        .map(|mut r| {
            set(&mut r.fit, &args.fit);
            set(&mut r.model, &args.model);
            set(&mut r.parameters, &args.parameters);
            set(&mut r.tokens, &args.tokens);
            set(&mut r.unique_tokens, &args.unique_tokens);
            set(&mut r.hardware, &args.hardware);
            set(&mut r.devices, &args.devices);
            r
        })
        .and_then(|request| ScalingScenario::parse(&ctx.catalog, &request))
        .map(|scenario| ScalingResponse::new(&ctx, &scenario));
    finish(outcome, args.json, crate::report::scaling_table)
}

fn plan_scaling(args: &ScalingPlanArgs) -> ExitCode {
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let outcome = base(args.request.as_ref(), ScalingPlanRequest::default())
        .map(|mut r| {
            set(&mut r.fit, &args.fit);
            set(&mut r.target.loss, &args.target_loss);
            set(&mut r.target.model, &args.target_model);
            set(&mut r.target.parameters, &args.target_parameters);
            set(&mut r.target.tokens, &args.target_tokens);
            set(&mut r.inference_tokens, &args.inference_tokens);
            set(&mut r.hardware, &args.hardware);
            set(&mut r.serving_hardware, &args.serving_hardware);
            set(&mut r.objective, &args.objective);
            r
        })
        .and_then(|request| ScalingPlanScenario::parse(&ctx.catalog, &request))
        .and_then(|scenario| ScalingPlanResponse::new(&ctx, &scenario));
    finish(outcome, args.json, crate::report::scaling_plan_table)
}

/// A check plan, or a fine-tuning config file made into one (it must fit).
fn check_request(args: &CheckArgs) -> Result<crate::scenario::check::CheckRequest, Error> {
    let yaml = matches!(args.plan.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    if !yaml && args.hardware.is_none() {
        return read_document(&args.plan);
    }
    let text = read_bounded(&args.plan)?;
    let Some(hardware) = &args.hardware else {
        return Err(Error::field("/training/hardware", "a fine-tuning config names no device: give --hardware"));
    };
    let request = serde_json::json!({
        "training": {"hardware": hardware, "devices": args.devices, "config": {"text": text}}
    });
    serde_json::from_value(request).map_err(|e| Error::field("/training", e.to_string()))
}

fn check(args: &CheckArgs) -> ExitCode {
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let outcome = check_request(args).and_then(|request| crate::answer::check::check(&ctx, &request));
    let verdict = outcome.as_ref().map(|r| r.verdict).unwrap_or_default();
    let code = finish(outcome, args.json, crate::report::check_table);
    match verdict {
        "fail" => ExitCode::from(1),
        "at_risk" if args.strict => ExitCode::from(1),
        // Not a pass: a cost rule with no price to judge it by.
        "unknown" => ExitCode::from(3),
        _ => code,
    }
}

fn validate(args: &ValidateArgs) -> ExitCode {
    if !args.measurements.is_empty() {
        return validate_measurements(args);
    }
    let report =
        load_catalog(args.data_dir.as_ref()).map_err(|e| e.to_string()).and_then(|c| crate::validation::validate(&c));
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("hwcost: {error}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        sayln!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else if args.markdown {
        say!("{}", crate::validation::markdown(&report));
    } else {
        say!("{}", crate::validation::points_table(&report));
        sayln!();
        say!("{}", crate::validation::markdown(&report));
    }
    ExitCode::SUCCESS
}

/// `hwcost validate --measurements FILE...`: exit 2 when a file cannot be read, 1 when a run
/// cannot be replayed.
fn validate_measurements(args: &ValidateArgs) -> ExitCode {
    use crate::validation::measurements::{Given, compare, notes, table};
    let catalog = match catalog_or_exit(args.data_dir.as_ref()) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let given = Given {
        model: args.model.clone(),
        hardware: args.hardware.clone(),
        devices: args.devices,
        engine: args.engine.clone(),
        weights: args.weights.clone(),
        engine_profile: match args.engine_profile.as_deref().map(read_document).transpose() {
            Ok(profile) => profile,
            Err(error) => return finish::<()>(Err(error), false, |_| String::new()),
        },
        max_requests: None,
    };
    let mut failed = false;
    for path in &args.measurements {
        let name = path.display().to_string();
        let runs = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| crate::import::benchmarks::read(&bytes).map_err(|e| e.to_string()));
        let runs = match runs {
            Ok(runs) => runs,
            Err(error) => {
                eprintln!("hwcost: {name}: {error}");
                return ExitCode::from(2);
            }
        };
        let results: Vec<_> = runs.iter().map(|run| (run.label.clone(), compare(&catalog, run, &given))).collect();
        failed |= results.iter().any(|(_, r)| r.is_err());
        say!("{}", table(&name, &results));
        for run in &runs {
            let label = if run.label.is_empty() { "-" } else { run.label.as_str() };
            for note in notes(&catalog, run, &given) {
                sayln!("  {label}: {note}");
            }
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// `hwcost calibrate FILE...`: the request `POST /v1/calibrate` takes, built from the files and
/// flags, answered by the same function.
fn calibrate(args: &CalibrateArgs) -> ExitCode {
    use crate::answer::calibrate::{self, CalibrationRequest, runs};
    let ctx = match context_or_exit(args.data_dir.as_ref()) {
        Ok(ctx) => ctx,
        Err(code) => return code,
    };
    let mut results = Vec::new();
    for path in &args.files {
        match std::fs::read_to_string(path) {
            Ok(text) => results.push(runs::ResultFile {
                name: Some(
                    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
                ),
                content: serde_json::Value::String(text),
            }),
            Err(error) => {
                eprintln!("hwcost: {}: {error}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let request = CalibrationRequest {
        points: Vec::new(),
        results,
        deployment: Some(runs::RunDeployment {
            model: args.model.clone(),
            hardware: args.hardware.clone(),
            devices: args.devices,
            engine: args.engine.clone(),
            weights: args.weights,
        }),
        folds: args.folds,
    };
    let outcome = calibrate::calibrate(&ctx, &request);
    if let (Ok(result), Some(out)) = (&outcome, &args.out) {
        let text = serde_json::to_string_pretty(&result.profile).unwrap_or_default();
        if let Err(error) = std::fs::write(out, text + "\n") {
            eprintln!("hwcost: {}: {error}", out.display());
            return ExitCode::from(2);
        }
    }
    finish(outcome, args.json, crate::report::calibration_table)
}

fn host(args: &HostArgs) -> ExitCode {
    let catalog = match catalog_or_exit(None) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let host = crate::host::describe(&catalog);
    if args.json {
        sayln!("{}", serde_json::to_string_pretty(&host).unwrap_or_default());
    } else {
        say!("{}", crate::report::host_table(&host));
    }
    ExitCode::SUCCESS
}

fn bench(args: &BenchArgs) -> ExitCode {
    use crate::host::calibration::{Size, measure};
    let catalog = match catalog_or_exit(None) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let report = measure(&catalog, if args.quick { Size::Quick } else { Size::Full });
    if args.json {
        sayln!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        say!("{}", crate::report::bench_table(&report));
    }
    if !args.check {
        return ExitCode::SUCCESS;
    }
    match &report.forward {
        Some(f) if f.prefill.error.abs() <= args.tolerance && f.decode_per_token.error.abs() <= args.tolerance => {
            ExitCode::SUCCESS
        }
        Some(_) => {
            eprintln!("hwcost: a prediction is off by more than {:.0}%", args.tolerance * 100.0);
            ExitCode::FAILURE
        }
        None => {
            eprintln!(
                "hwcost: no forward pass to check: {}",
                report.forward_unavailable.as_deref().unwrap_or("unknown reason")
            );
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let ansi = telemetry::use_ansi(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    telemetry::init(args.log_format, std::io::stdout, ansi);
    let catalog = match load_catalog(args.data_dir.as_ref()) {
        Ok(catalog) => Arc::new(catalog),
        Err(error) => {
            tracing::error!(%error, "catalog failed to load");
            eprintln!("hwcost: catalog failed to load: {error}");
            return ExitCode::from(2);
        }
    };
    let host = crate::host::describe(&catalog);
    tracing::info!(counts = ?catalog.counts(), cpu = %host.cpu_brand, cores = host.physical_cores, memory_bytes = host.total_memory_bytes, "catalog loaded");
    let settings = Settings {
        cors_origins: args.cors_origins,
        body_limit_bytes: args.body_limit_bytes,
        import_limit_bytes: args.import_limit_bytes,
        workers: args.workers,
        benchmark_token: args.benchmark_token,
        plan_max_configurations: args.plan_max_configurations,
        batch_max_items: args.batch_max_items,
        batch_concurrency: usize::try_from(args.batch_concurrency).unwrap_or(1),
        batch_max_output_bytes: args.batch_max_output_bytes,
        body_timeout: Duration::from_secs(args.body_timeout_seconds),
        drain: Duration::from_secs(args.drain_seconds),
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout_seconds),
        access_log_sample_rate: args.access_log_sample_rate,
        ..Settings::new(args.addr.clone(), catalog)
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        tracing::info!(addr = %args.addr, port = app.port(), "listening");
        app.run_until_stopped().await
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            eprintln!("hwcost: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_fails_an_estimate_that_does_not_fit_and_nothing_else() {
        // (fits: None when the request could not be answered, --strict, exit status)
        let cases = [
            (Some(true), false, 0),
            (Some(true), true, 0),
            (Some(false), false, 0),
            (Some(false), true, 1),
            (None, false, 2),
            (None, true, 2),
        ];
        for (fits, strict, expected) in cases {
            assert_eq!(estimate_status(fits, strict), expected, "fits {fits:?}, strict {strict}");
        }
    }

    #[test]
    fn host_and_estimates_take_their_flags() {
        // (command line, whether clap accepts it)
        let cases: &[(&[&str], bool)] = &[
            (&["hwcost", "host"], true),
            (&["hwcost", "host", "--json"], true),
            (&["hwcost", "estimate", "inference", "--model", "gpt3", "--hardware", "h100", "--strict"], true),
            (&["hwcost", "estimate", "training", "--model", "gpt3", "--hardware", "h100", "--strict", "--json"], true),
            (&["hwcost", "host", "--strict"], false),
        ];
        for (args, ok) in cases {
            assert_eq!(Cli::try_parse_from(*args).is_ok(), *ok, "{args:?}");
        }
    }

    /// Any one cost flag is laid over the request's `cost` (or becomes it); none leaves the
    /// request's own. A flag given as NaN counts as given, so the cost checks refuse it (it is
    /// not dropped as if absent).
    #[test]
    fn any_cost_flag_counts_as_given() {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            cost: CostArgs,
        }
        // (flags, whether any was given)
        let cases: &[(&[&str], bool)] = &[
            (&[], false),
            (&["--basis", "own"], true),
            (&["--provider", "lambda"], true),
            (&["--term", "spot"], true),
            (&["--purchase-usd", "30000"], true),
            (&["--amortization-years", "4"], true),
            (&["--electricity-usd-per-kwh", "0.2"], true),
            (&["--utilization", "0.5"], true),
            (&["--hosting-usd-per-month", "100"], true),
            (&["--purchase-usd", "NaN"], true),
        ];
        let request = CostChoice { provider: Some("aws".into()), pue: Some(1.3), ..CostChoice::default() };
        for (flags, given) in cases {
            let args = Flags::try_parse_from(["hwcost"].iter().chain(*flags)).unwrap().cost;
            assert_eq!(args.any_given(), *given, "{flags:?}");
            assert_eq!(args.over(None).unwrap().is_some(), *given, "{flags:?} without a request's cost");
            let laid = args.over(Some(request.clone())).unwrap().unwrap();
            assert_eq!(laid.pue, Some(1.3), "{flags:?} keeps the request's own fields");
            let provider = if flags.first() == Some(&"--provider") { "lambda" } else { "aws" };
            assert_eq!(laid.provider.as_deref(), Some(provider), "{flags:?}");
        }
    }

    /// The CLI's deployment flags come from one struct, for inference and serving alike, and
    /// `--devices` alone gets the layout the API gives the same request.
    #[test]
    fn the_cli_lays_out_devices_as_the_api_does() {
        let catalog = Catalog::embedded().unwrap();
        let flags = [
            "--model",
            "llama-3.1-70b",
            "--hardware",
            "rtx-4090",
            "--weights",
            "q4_k_m",
            "--engine",
            "llama.cpp",
            "--devices",
            "2",
        ];
        let cli = Cli::try_parse_from(["hwcost", "estimate", "inference"].iter().chain(&flags)).unwrap();
        let Some(Command::Estimate(EstimateCommand::Inference(args))) = cli.command else { panic!("not an inference") };
        let from_flags = InferenceScenario::parse(&catalog, &inference_request(&args).unwrap(), "").unwrap();
        let body = serde_json::json!({"model": "llama-3.1-70b", "hardware": "rtx-4090", "weights": "q4_k_m",
            "engine": "llama.cpp", "devices": 2});
        let from_api = InferenceScenario::parse(&catalog, &document::from_value(body).unwrap(), "").unwrap();
        assert_eq!(from_flags.parallelism, from_api.parallelism);
        assert_eq!((from_flags.parallelism.tensor, from_flags.parallelism.pipeline), (1, 2));

        let cli = Cli::try_parse_from(["hwcost", "estimate", "serving"].iter().chain(&flags).chain(&[
            "--requests",
            "4",
            "--pipeline",
            "2",
        ]))
        .unwrap();
        let Some(Command::Estimate(EstimateCommand::Serving(args))) = cli.command else { panic!("not a serving") };
        let request = serving_request(&args).unwrap();
        assert_eq!(request.deployment.parallelism.and_then(|p| p.pipeline), Some(2));
        assert_eq!(request.deployment.devices, Some(2));
    }
}
