//! The command line: `hwcost serve` (the default), `hwcost openapi`, `hwcost estimate`,
//! `hwcost validate`, `hwcost host`, `hwcost bench`, `hwcost check` and `hwcost plan`.
//!
//! Flags mirror environment variables (`HWCOST_ADDR`, ...), so the same settings work in a
//! shell and in a container. This module parses arguments and wires adapters together; it holds
//! no domain logic.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::catalog::Catalog;

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
    Host,
    /// Measure this machine (GEMM, memory bandwidth, a real forward pass with the
    /// `transformer-bench` feature) and compare hwcost's prediction of the forward pass.
    Bench(BenchArgs),
    /// Check a deployment plan (JSON or TOML, as for `POST /v1/check`) against its requirements.
    /// Exit 0 when it passes, 1 when a rule fails, 2 when the plan is invalid.
    Check(CheckArgs),
    /// Search deployments for a workload (JSON or TOML, as for `POST /v1/plan`) and rank them.
    Plan(PlanArgs),
}

/// Flags of `hwcost plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The planning request (`.json` or `.toml`), or `-` for standard input.
    pub request: PathBuf,
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
    /// The plan file (`.json` or `.toml`), or `-` for standard input.
    pub plan: PathBuf,
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
}

/// What to estimate.
#[derive(Debug, Subcommand)]
pub enum EstimateCommand {
    /// Memory, latency, throughput, cost and energy of serving a model.
    Inference(Box<InferenceArgs>),
    /// Memory, time, GPU-hours, cost and energy of training a model.
    Training(Box<TrainingArgs>),
}

/// Flags of `hwcost estimate training`; names mirror the request fields.
#[derive(Debug, Clone, Args)]
pub struct TrainingArgs {
    /// Model id or alias.
    #[arg(long)]
    pub model: String,
    /// Device id or alias.
    #[arg(long)]
    pub hardware: String,
    /// Devices in all.
    #[arg(long)]
    pub devices: Option<u32>,
    /// Training tokens (or `compute_optimal`).
    #[arg(long)]
    pub tokens: Option<String>,
    /// Sequence length.
    #[arg(long)]
    pub sequence_length: Option<u64>,
    /// Sequences per micro-batch per data rank.
    #[arg(long)]
    pub micro_batch_size: Option<u64>,
    /// Tokens per optimizer step.
    #[arg(long)]
    pub global_batch_tokens: Option<u64>,
    /// bf16, fp16, fp8 or fp32.
    #[arg(long)]
    pub precision: Option<String>,
    /// adamw, adamw-8bit, adafactor, sgd-momentum, lion.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// none, zero1, zero2, zero3, fsdp, hsdp.
    #[arg(long)]
    pub sharding: Option<String>,
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
    /// Megatron sequence parallelism.
    #[arg(long)]
    pub sequence_parallel: bool,
    /// none, selective or full.
    #[arg(long)]
    pub activation_checkpointing: Option<String>,
    /// full, lora or qlora.
    #[arg(long)]
    pub method: Option<String>,
    /// LoRA rank.
    #[arg(long)]
    pub lora_rank: Option<u32>,
    /// generic, megatron, torchtitan, fsdp, deepspeed, llm-foundry.
    #[arg(long)]
    pub engine: Option<String>,
    /// Print the full JSON response instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Flags of `hwcost estimate inference`; names mirror the request fields.
#[derive(Debug, Clone, Args)]
pub struct InferenceArgs {
    /// Model id or alias.
    #[arg(long)]
    pub model: String,
    /// Device id or alias.
    #[arg(long)]
    pub hardware: String,
    /// Devices in all (default: the product of the parallel degrees).
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
    /// Weight format (fp32 bf16 fp16 fp8 int8 int4 nvfp4 mxfp4 q4_0 q8_0 q6_k q5_k_m q4_k_m).
    #[arg(long)]
    pub weights: Option<String>,
    /// KV-cache format.
    #[arg(long)]
    pub kv_cache: Option<String>,
    /// Sequences per replica, or `max`.
    #[arg(long)]
    pub batch_size: Option<String>,
    /// Prompt tokens per sequence.
    #[arg(long)]
    pub input_tokens: Option<u64>,
    /// Generated tokens per sequence.
    #[arg(long)]
    pub output_tokens: Option<u64>,
    /// Engine profile (generic, tensorrt-llm, vllm, sglang, llama.cpp, transformers).
    #[arg(long)]
    pub engine: Option<String>,
    /// Print the full JSON response instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Load the catalog from this directory instead of the embedded copy.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
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
    #[arg(long, env = "HWCOST_BODY_LIMIT_BYTES", default_value_t = 256 * 1024)]
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
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Openapi) => {
            say!("{}", crate::api::openapi_json());
            ExitCode::SUCCESS
        }
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Estimate(EstimateCommand::Inference(args))) => estimate_inference(&args),
        Some(Command::Estimate(EstimateCommand::Training(args))) => estimate_training(&args),
        Some(Command::Validate(args)) => validate(&args),
        Some(Command::Bench(args)) => bench(&args),
        Some(Command::Check(args)) => check(&args),
        Some(Command::Plan(args)) => plan(&args),
        Some(Command::Host) => match catalog_or_exit(None) {
            Ok(catalog) => {
                sayln!("{}", serde_json::to_string_pretty(&crate::host::describe(&catalog)).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
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

/// Sets `key` in a JSON object when the flag was given.
fn put(map: &mut serde_json::Map<String, serde_json::Value>, key: &str, value: Option<impl Into<serde_json::Value>>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

/// A number when the text is one, else the text (for `batch_size: max`, `tokens: compute_optimal`).
fn number_or_keyword(text: &str) -> serde_json::Value {
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| text.into(), serde_json::Value::Number)
}

/// Builds the request document from flags, so the CLI goes through the API's own parsing.
fn inference_request(args: &InferenceArgs) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    put(&mut map, "model", Some(args.model.clone()));
    put(&mut map, "hardware", Some(args.hardware.clone()));
    let mut parallelism = serde_json::Map::new();
    for (name, value) in
        [("tensor", args.tensor), ("pipeline", args.pipeline), ("expert", args.expert), ("data", args.data)]
    {
        put(&mut parallelism, name, value);
    }
    if !parallelism.is_empty() {
        map.insert("parallelism".into(), parallelism.into());
    }
    put(&mut map, "weights", args.weights.clone());
    put(&mut map, "kv_cache", args.kv_cache.clone());
    put(&mut map, "engine", args.engine.clone());
    put(&mut map, "batch_size", args.batch_size.as_deref().map(number_or_keyword));
    put(&mut map, "input_tokens", args.input_tokens);
    put(&mut map, "output_tokens", args.output_tokens);
    put(&mut map, "devices", args.devices);
    map.into()
}

/// Builds the training request document from flags.
fn training_request(args: &TrainingArgs) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    put(&mut map, "model", Some(args.model.clone()));
    put(&mut map, "hardware", Some(args.hardware.clone()));
    put(&mut map, "devices", args.devices);
    put(&mut map, "tokens", args.tokens.as_deref().map(number_or_keyword));
    put(&mut map, "sequence_length", args.sequence_length);
    put(&mut map, "micro_batch_size", args.micro_batch_size);
    put(&mut map, "global_batch_tokens", args.global_batch_tokens);
    for (key, value) in [
        ("precision", &args.precision),
        ("optimizer", &args.optimizer),
        ("sharding", &args.sharding),
        ("activation_checkpointing", &args.activation_checkpointing),
        ("method", &args.method),
        ("engine", &args.engine),
    ] {
        put(&mut map, key, value.clone());
    }
    put(&mut map, "lora_rank", args.lora_rank);
    let mut parallelism = serde_json::Map::new();
    for (name, value) in [
        ("tensor", args.tensor),
        ("pipeline", args.pipeline),
        ("data", args.data),
        ("context", args.context),
        ("expert", args.expert),
    ] {
        put(&mut parallelism, name, value);
    }
    if args.sequence_parallel {
        parallelism.insert("sequence_parallel".into(), true.into());
    }
    if !parallelism.is_empty() {
        map.insert("parallelism".into(), parallelism.into());
    }
    map.into()
}

/// Prints a response as a table or JSON, or the problem; exit 0 or 2.
fn finish<R: serde::Serialize>(
    outcome: Result<R, crate::api::problem::ApiError>,
    json: bool,
    table: impl Fn(&R) -> String,
) -> ExitCode {
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
            let problem = error.problem();
            eprintln!("hwcost: {}", problem.detail);
            for field in &problem.errors {
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

fn estimate_training(args: &TrainingArgs) -> ExitCode {
    let catalog = match catalog_or_exit(args.data_dir.as_ref()) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let outcome = serde_json::from_value::<crate::api::training::TrainingRequest>(training_request(args))
        .map_err(|e| crate::api::problem::ApiError::field("", e.to_string()))
        .and_then(|request| crate::api::training::run(&catalog, &request, ""));
    finish(outcome, args.json, crate::report::training_table)
}

fn estimate_inference(args: &InferenceArgs) -> ExitCode {
    let catalog = match catalog_or_exit(args.data_dir.as_ref()) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let outcome = serde_json::from_value::<crate::api::inference::InferenceRequest>(inference_request(args))
        .map_err(|e| crate::api::problem::ApiError::field("", e.to_string()))
        .and_then(|request| crate::api::inference::run(&catalog, &request, ""));
    finish(outcome, args.json, crate::report::inference_table)
}

/// Reads a plan file as JSON or TOML (by extension; standard input may be either).
fn read_plan(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("reading standard input: {e}"))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?
    };
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    let as_toml =
        || toml::from_str::<serde_json::Value>(&text).map_err(|e| format!("{} is not valid TOML: {e}", path.display()));
    let as_json = || {
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))
    };
    match extension {
        "toml" => as_toml(),
        "json" => as_json(),
        _ => as_json().or_else(|json_error| as_toml().map_err(|toml_error| format!("{json_error}; {toml_error}"))),
    }
}

/// Deserialises a document read by [`read_plan`], with JSON-pointer errors.
fn document<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, crate::api::problem::ApiError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(crate::api::problem::from_json_error)
}

fn plan(args: &PlanArgs) -> ExitCode {
    let catalog = match catalog_or_exit(args.data_dir.as_ref()) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let request = match read_plan(&args.request) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("hwcost: {message}");
            return ExitCode::from(2);
        }
    };
    let state = crate::api::state::AppState::new(Arc::new(catalog), None);
    let outcome = document::<crate::api::plan::PlanRequest>(request).and_then(|r| crate::api::plan::plan(&state, &r));
    finish(outcome, args.json, crate::report::plan_table)
}

fn check(args: &CheckArgs) -> ExitCode {
    let catalog = match catalog_or_exit(args.data_dir.as_ref()) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let plan = match read_plan(&args.plan) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("hwcost: {message}");
            return ExitCode::from(2);
        }
    };
    let state = crate::api::state::AppState::new(Arc::new(catalog), None);
    let outcome = document::<crate::api::check::CheckRequest>(plan)
        .and_then(|request| crate::api::check::check(&state, &request));
    let verdict = outcome.as_ref().map(|r| r.verdict).unwrap_or_default();
    let code = finish(outcome, args.json, crate::report::check_table);
    match verdict {
        "fail" => ExitCode::from(1),
        "at_risk" if args.strict => ExitCode::from(1),
        _ => code,
    }
}

fn validate(args: &ValidateArgs) -> ExitCode {
    let report =
        load_catalog(args.data_dir.as_ref()).map_err(|e| e.to_string()).and_then(|c| crate::validation::run(&c));
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
        for p in &report.points {
            match (p.predicted, p.error) {
                (Some(predicted), Some(error)) => sayln!(
                    "{:<48} {:<30} {:<10} measured {:>12.4e}  predicted {:>12.4e}  error {:+7.1}%",
                    p.id,
                    p.family,
                    p.device_class,
                    p.measured,
                    predicted,
                    error * 100.0
                ),
                _ => sayln!("{:<48} {:<30} not estimated: {}", p.id, p.family, p.problem.as_deref().unwrap_or("")),
            }
        }
        sayln!();
        say!("{}", crate::validation::markdown(&report));
    }
    ExitCode::SUCCESS
}

fn bench(args: &BenchArgs) -> ExitCode {
    use crate::host::calibration::{Size, run};
    let catalog = match catalog_or_exit(None) {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let report = run(&catalog, if args.quick { Size::Quick } else { Size::Full });
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
    telemetry::init(args.log_format, std::io::stdout);
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
        addr: args.addr.clone(),
        catalog,
        cors_origins: args.cors_origins,
        body_limit_bytes: args.body_limit_bytes,
        import_limit_bytes: args.import_limit_bytes,
        workers: args.workers,
        benchmark_token: args.benchmark_token,
        plan_max_configurations: args.plan_max_configurations,
        batch_max_items: args.batch_max_items,
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
