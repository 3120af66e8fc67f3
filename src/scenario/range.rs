//! Every numeric range a request accepts, declared once.
//!
//! Parsers check values against these constants (through [`Checks`], which collects every bad
//! field with its pointer), and `api::openapi()` writes the same constants into the schema's
//! `minimum` / `maximum` through [`DECLARED`], so the document and the runtime check cannot
//! disagree; a test in `tests/api/openapi.rs` compares the two.

use std::fmt::Display;

use super::{Error, FieldError};

/// An inclusive range (optionally exclusive at the bottom) of integers or numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Smallest accepted value (or the bound just below it, when `exclusive_min`).
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
    /// Whole numbers only.
    pub integer: bool,
    /// `min` itself is refused.
    pub exclusive_min: bool,
}

impl Range {
    /// Integers from `min` to `max`.
    pub const fn int(min: u64, max: u64) -> Self {
        Self { min: min as f64, max: max as f64, integer: true, exclusive_min: false }
    }

    /// Numbers from `min` to `max`.
    pub const fn number(min: f64, max: f64) -> Self {
        Self { min, max, integer: false, exclusive_min: false }
    }

    /// Numbers above `min`, at most `max`.
    pub const fn above(min: f64, max: f64) -> Self {
        Self { min, max, integer: false, exclusive_min: true }
    }

    /// Whether `value` is accepted (NaN and infinities never are).
    pub fn contains(&self, value: f64) -> bool {
        let low = if self.exclusive_min { value > self.min } else { value >= self.min };
        value.is_finite() && low && value <= self.max && (!self.integer || value.fract() == 0.0)
    }

    /// The problem detail for `got`: `must be an integer from 1 to 65536, got 0`.
    pub fn detail(&self, got: impl Display) -> String {
        let what = if self.integer { "an integer" } else { "a number" };
        if self.exclusive_min {
            format!("must be {what} above {} and at most {}, got {got}", self.min, self.max)
        } else {
            format!("must be {what} from {} to {}, got {got}", self.min, self.max)
        }
    }
}

/// Collects the field errors of one parse; [`Checks::finish`] turns them into one error.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// `value` when it is in `range`; otherwise records an error at `pointer` and returns the
    /// nearest accepted value, so parsing can go on and report every bad field at once.
    pub fn int(&mut self, pointer: impl Into<String>, range: Range, value: u64) -> u64 {
        if range.contains(value as f64) {
            value
        } else {
            self.0.push(FieldError::new(pointer, range.detail(value)));
            (value as f64).clamp(range.min.max(0.0), range.max) as u64
        }
    }

    /// [`Checks::int`] for a `u32` field.
    pub fn int32(&mut self, pointer: impl Into<String>, range: Range, value: u32) -> u32 {
        u32::try_from(self.int(pointer, range, u64::from(value))).unwrap_or(u32::MAX)
    }

    /// [`Checks::int`] for an optional field; `None` stays `None`.
    pub fn opt_int(&mut self, pointer: impl Into<String>, range: Range, value: Option<u64>) -> Option<u64> {
        value.map(|v| self.int(pointer, range, v))
    }

    /// A number in `range`, or `None` after recording an error; `None` stays `None`.
    pub fn number(&mut self, pointer: impl Into<String>, range: Range, value: Option<f64>) -> Option<f64> {
        let value = value?;
        if range.contains(value) {
            Some(value)
        } else {
            self.0.push(FieldError::new(pointer, range.detail(value)));
            None
        }
    }

    /// Records an error.
    pub fn push(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    /// `Ok` when nothing was recorded, else every error at once.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::InvalidRequest(self.0)) }
    }
}

/// Where in the OpenAPI document a range is stated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A property of a component schema.
    Property,
    /// The items of an array property of a component schema.
    Items,
    /// A query parameter of a `GET` path (`schema` is then the path).
    Query,
}

/// A range as the OpenAPI document states it.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    /// Component schema name (the path, for a query parameter).
    pub schema: &'static str,
    /// Property or parameter name.
    pub property: &'static str,
    /// The range.
    pub range: Range,
    /// Where it is stated.
    pub place: Place,
}

const fn on(schema: &'static str, property: &'static str, range: Range) -> Declared {
    Declared { schema, property, range, place: Place::Property }
}

const fn each(schema: &'static str, property: &'static str, range: Range) -> Declared {
    Declared { schema, property, range, place: Place::Items }
}

const fn query(path: &'static str, parameter: &'static str, range: Range) -> Declared {
    Declared { schema: path, property: parameter, range, place: Place::Query }
}

// Inference.
/// Devices of an inference deployment.
pub const INFERENCE_DEVICES: Range = Range::int(1, 65_536);
/// A model-parallel degree (tensor, pipeline, expert, context).
pub const DEGREE: Range = Range::int(1, 1024);
/// Model chunks per device of an interleaved pipeline schedule.
pub const VIRTUAL_STAGES: Range = Range::int(1, 64);
/// The hottest expert rank's load over the mean (1 = balanced; 64 = one rank takes 64x).
pub const HOTTEST_EXPERT_LOAD: Range = Range::number(1.0, 64.0);
/// A fitted profile's time per forward pass, microseconds (up to a second).
pub const STEP_OVERHEAD_US: Range = Range::number(0.0, 1e6);
/// A fitted profile's time added to each request's first token, microseconds (up to a minute).
pub const REQUEST_OVERHEAD_US: Range = Range::number(0.0, 6e7);
/// A fitted profile's time per sequence per step, microseconds (up to 100 ms).
pub const SEQUENCE_OVERHEAD_US: Range = Range::number(0.0, 1e5);
/// Groups of runs a calibration holds out in turn.
pub const CALIBRATION_FOLDS: Range = Range::int(2, 10);
/// Inference replicas.
pub const REPLICAS: Range = Range::int(1, 65_536);
/// Group size of int4 weights.
pub const GROUP_SIZE: Range = Range::int(16, 4096);
/// Concurrent sequences per replica.
pub const BATCH_SIZE: Range = Range::int(1, 1_000_000);
/// Prompt tokens per sequence.
pub const INPUT_TOKENS: Range = Range::int(0, 16_777_216);
/// Generated tokens per sequence.
pub const OUTPUT_TOKENS: Range = Range::int(0, 1_048_576);
/// A memory share (efficiencies are a [`SHARE`]: a vanishing one makes times infinite).
pub const FRACTION: Range = Range::above(0.0, 1.0);
/// Price of a device-hour, USD.
pub const USD_PER_DEVICE_HOUR: Range = Range::number(0.0, 10_000.0);
/// Purchase price of one device, USD.
pub const PURCHASE_USD: Range = Range::number(1.0, 1e8);
/// Years a purchase is spread over.
pub const AMORTIZATION_YEARS: Range = Range::number(0.1, 30.0);
/// Electricity price, USD per kWh.
pub const USD_PER_KWH: Range = Range::number(0.0, 10.0);
/// Share of calendar hours in use.
pub const UTILIZATION: Range = Range::number(0.001, 1.0);
/// Hosting per device and month, USD.
pub const HOSTING_USD_PER_MONTH: Range = Range::number(0.0, 1e6);

// Training.
/// Devices of a training run.
pub const TRAINING_DEVICES: Range = Range::int(1, 1_048_576);
/// Data-parallel ranks, and ranks per HSDP group.
pub const RANKS: Range = Range::int(1, 1_048_576);
/// Training tokens.
pub const TOKENS: Range = Range::number(1.0, 1e16);
/// Optimizer steps.
pub const STEPS: Range = Range::int(1, 100_000_000);
/// Sequence length.
pub const SEQUENCE_LENGTH: Range = Range::int(1, 1_048_576);
/// Sequences per micro-batch.
pub const MICRO_BATCH: Range = Range::int(1, 65_536);
/// Tokens per optimizer step.
pub const GLOBAL_BATCH_TOKENS: Range = Range::int(1, 10_000_000_000);
/// Sequences per optimizer step.
pub const GLOBAL_BATCH_SEQUENCES: Range = Range::int(1, 100_000_000);
/// LoRA rank.
pub const LORA_RANK: Range = Range::int(1, 4096);
/// A measured MFU or an efficiency override, 0.01 to 1.
pub const SHARE: Range = Range::number(0.01, 1.0);
/// A probability that may be zero (LoRA dropout).
pub const SHARE_OR_ZERO: Range = Range::number(0.0, 1.0);
/// Share of a step spent generating (GRPO).
pub const GENERATION_SHARE: Range = Range::number(0.0, 0.95);
/// Power usage effectiveness.
pub const PUE: Range = Range::number(1.0, 3.0);
/// Device-hours of a budget.
pub const BUDGET_GPU_HOURS: Range = Range::number(0.0, 1e12);
/// Dollars of a budget.
pub const BUDGET_USD: Range = Range::number(0.0, 1e13);

// Requirements.
/// A latency limit, ms.
pub const LATENCY_MS: Range = Range::number(0.0, 1e9);
/// A rate limit (output tokens per second).
pub const TOKEN_RATE: Range = Range::number(0.0, 1e12);
/// A rate limit (requests per second), or a price limit.
pub const RATE_OR_PRICE: Range = Range::number(0.0, 1e9);
/// Memory to keep free.
pub const HEADROOM: Range = Range::number(0.0, 0.9);
/// Context that must fit.
pub const CONTEXT_TOKENS: Range = Range::int(0, 16_777_216);
/// Most devices.
pub const MAX_DEVICES: Range = Range::int(1, 65_536);
/// Days of a training deadline.
pub const DAYS: Range = Range::number(0.0, 1e6);
/// Dollars of a training run.
pub const RUN_USD: Range = Range::number(0.0, 1e12);

// Serving replays.
/// Requests one replay may simulate.
pub const REPLAY_REQUESTS: Range = Range::int(1, 100_000);
/// Share of a prompt found in the prefix cache.
pub const PREFIX_HIT_RATE: Range = Range::number(0.0, 0.99);
/// Scheduler sequence and token limits.
pub const SCHEDULER_LIMIT: Range = Range::int(1, 1_000_000);
/// KV block size, tokens.
pub const KV_BLOCK_TOKENS: Range = Range::int(1, 4096);
/// Arrival time in a trace, seconds.
pub const ARRIVAL_S: Range = Range::number(0.0, 1e7);

// Planning.
/// Tokens per request in a planned workload.
pub const WORKLOAD_TOKENS: Range = Range::int(0, 1_048_576);
/// Requests per second to plan for.
pub const REQUESTS_PER_S: Range = Range::number(0.0, 1e7);
/// A rate that arrivals are replayed at, requests per second: at least one request every 1000 s.
/// A replay of the most requests (100,000) then spans at most 1e8 s, where a double still
/// resolves time to tens of nanoseconds; at 1e-200 arrivals were 1e200 s apart, latencies
/// rounded to 0 ms, and 5e-324 replayed to 1e16 tokens/s.
pub const ARRIVAL_RATE: Range = Range::number(crate::plan::rules::MIN_REPLAY_REQUESTS_PER_S, 1e7);
/// Concurrent requests to plan for.
pub const CONCURRENCY: Range = Range::int(1, 10_000_000);
/// Device memory filter, GiB.
pub const MEMORY_GIB: Range = Range::number(0.0, 1_000_000.0);
/// A list page's `limit`.
pub const PAGE_LIMIT: Range = Range::int(1, 1000);
/// Devices per replica.
pub const DEVICES_PER_REPLICA: Range = Range::int(1, 1024);
/// Replicas a plan may need.
pub const MAX_REPLICAS: Range = Range::int(1, 65_536);
/// Hosted API price per million tokens.
pub const API_USD_PER_MILLION: Range = Range::number(0.0, 10_000.0);
/// Ranked answers.
pub const LIMIT: Range = Range::int(1, 100);
/// Planner deadline, ms.
pub const DEADLINE_MS: Range = Range::int(10, 30_000);
/// Device counts a training plan searches.
pub const TRAINING_PLAN_DEVICES: Range = Range::int(1, 1_048_576);

// Inline models (config.json).
/// Transformer blocks, heads.
pub const LAYERS_OR_HEADS: Range = Range::int(1, 1024);
/// Model width.
pub const HIDDEN_SIZE: Range = Range::int(1, 131_072);
/// Dense MLP inner size.
pub const INTERMEDIATE_SIZE: Range = Range::int(0, 1_048_576);
/// Vocabulary size.
pub const VOCAB_SIZE: Range = Range::int(1, 4_194_304);
/// Longest context, tokens.
pub const MAX_POSITIONS: Range = Range::int(1, 16_777_216);

// Catalog lists.
/// A model-size filter, billions of parameters.
pub const PARAMETERS_B: Range = Range::number(0.0, 1e5);

// Scaling laws. Maxima stay below 2^53 (about 9.007e15), where every integer is an f64, so a
// client's integer just above a maximum cannot round onto it and be accepted.
/// Parameters of a run a fit judges.
pub const SCALING_PARAMETERS: Range = Range::number(1e3, 1e15);
/// Training (or unique) tokens of a run.
pub const SCALING_TOKENS: Range = Range::number(1e3, 9e15);
/// A target loss, nats per token.
pub const SCALING_LOSS: Range = Range::above(0.0, 100.0);
/// Lifetime inference tokens.
pub const SCALING_INFERENCE_TOKENS: Range = Range::number(0.0, 9e15);
/// Lifetime requests.
pub const SCALING_REQUESTS: Range = Range::int(0, 1_000_000_000_000_000);

// Calibration.
/// A measured latency, ms.
pub const MEASURED_MS: Range = Range::above(0.0, 1e9);
/// A measured rate.
pub const MEASURED_RATE: Range = Range::above(0.0, 1e12);

// Speculative decoding.
/// Draft tokens per verifier step.
pub const SPECULATIVE_TOKENS: Range = Range::int(1, 16);
/// Probability that a draft token is accepted (1 would make every draft free).
pub const ACCEPTANCE_RATE: Range = Range::above(0.0, 0.99);
// KV-cache tiers and prefix reuse.
/// Memory or disk of a KV tier per device, GB.
pub const KV_TIER_GB: Range = Range::number(0.0, 1e6);
/// A KV tier's bandwidth per device, GB/s.
pub const KV_TIER_GB_PER_S: Range = Range::above(0.0, 1e4);
/// Shared prefix tokens per request.
pub const PREFIX_TOKENS: Range = Range::int(1, 10_000_000);
/// Distinct live prefixes.
pub const PREFIX_DISTINCT: Range = Range::int(1, 1_000_000_000);
// Disaggregated pools in a plan.
/// Prefill or decode replicas per unit of a plan's pool search.
pub const POOL_REPLICAS: Range = Range::int(1, 64);
/// Best colocated configurations a plan splits into pools.
pub const POOL_CONFIGURATIONS: Range = Range::int(1, 10);

/// Where each range appears in the OpenAPI document.
pub const DECLARED: &[Declared] = &[
    on("ScalingRequest", "parameters", SCALING_PARAMETERS),
    on("ScalingRequest", "tokens", SCALING_TOKENS),
    on("ScalingRequest", "unique_tokens", SCALING_TOKENS),
    on("ScalingRequest", "devices", TRAINING_DEVICES),
    on("ScalingTarget", "loss", SCALING_LOSS),
    on("ScalingTarget", "parameters", SCALING_PARAMETERS),
    on("ScalingTarget", "tokens", SCALING_TOKENS),
    on("ScalingPlanRequest", "inference_tokens", SCALING_INFERENCE_TOKENS),
    on("ScalingRequests", "count", SCALING_REQUESTS),
    on("ScalingRequests", "input_tokens", INPUT_TOKENS),
    on("ScalingRequests", "output_tokens", OUTPUT_TOKENS),
    on("InferenceRequest", "devices", INFERENCE_DEVICES),
    on("InferenceRequest", "weights_group_size", GROUP_SIZE),
    on("InferenceRequest", "input_tokens", INPUT_TOKENS),
    on("InferenceRequest", "output_tokens", OUTPUT_TOKENS),
    on("ServingRequest", "devices", INFERENCE_DEVICES),
    on("ServingRequest", "weights_group_size", GROUP_SIZE),
    on("SpeculativeBody", "tokens", SPECULATIVE_TOKENS),
    on("SpeculativeBody", "acceptance_rate", ACCEPTANCE_RATE),
    on("ParallelismBody", "tensor", DEGREE),
    on("ParallelismBody", "pipeline", DEGREE),
    on("ParallelismBody", "expert", DEGREE),
    on("ParallelismBody", "data", REPLICAS),
    on("MoeBody", "hottest_expert_load", HOTTEST_EXPERT_LOAD),
    on("CalibrationRequest", "folds", CALIBRATION_FOLDS),
    on("RunDeployment", "devices", INFERENCE_DEVICES),
    on("EngineProfileBody", "compute_efficiency", SHARE),
    on("EngineProfileBody", "memory_efficiency", SHARE),
    on("EngineProfileBody", "step_overhead_us", STEP_OVERHEAD_US),
    on("EngineProfileBody", "request_overhead_us", REQUEST_OVERHEAD_US),
    on("ServingConstants", "sequence_overhead_us", SEQUENCE_OVERHEAD_US),
    on("InferenceOverrides", "compute_efficiency", SHARE),
    on("InferenceOverrides", "memory_efficiency", SHARE),
    on("InferenceOverrides", "memory_fraction", FRACTION),
    on("InferenceOverrides", "usd_per_device_hour", USD_PER_DEVICE_HOUR),
    on("CostChoice", "usd_per_device_hour", USD_PER_DEVICE_HOUR),
    on("CostChoice", "purchase_usd", PURCHASE_USD),
    on("CostChoice", "amortization_years", AMORTIZATION_YEARS),
    on("CostChoice", "electricity_usd_per_kwh", USD_PER_KWH),
    on("CostChoice", "pue", PUE),
    on("CostChoice", "utilization", UTILIZATION),
    on("CostChoice", "hosting_usd_per_month", HOSTING_USD_PER_MONTH),
    on("TrainingRequest", "devices", TRAINING_DEVICES),
    on("TrainingRequest", "steps", STEPS),
    on("TrainingRequest", "sequence_length", SEQUENCE_LENGTH),
    on("TrainingRequest", "micro_batch_size", MICRO_BATCH),
    on("TrainingRequest", "global_batch_tokens", GLOBAL_BATCH_TOKENS),
    on("TrainingRequest", "global_batch_sequences", GLOBAL_BATCH_SEQUENCES),
    on("TrainingRequest", "hsdp_group", RANKS),
    on("TrainingRequest", "lora_rank", LORA_RANK),
    on("TrainingRequest", "measured_mfu", SHARE),
    on("TrainingRequest", "effective_time_share", SHARE),
    on("TrainingRequest", "pue", PUE),
    on("TrainingParallelismBody", "tensor", DEGREE),
    on("TrainingParallelismBody", "pipeline", DEGREE),
    on("TrainingParallelismBody", "data", RANKS),
    on("TrainingParallelismBody", "expert", DEGREE),
    on("TrainingParallelismBody", "context", DEGREE),
    on("TrainingParallelismBody", "virtual_stages", VIRTUAL_STAGES),
    on("TrainingMoeBody", "hottest_expert_load", HOTTEST_EXPERT_LOAD),
    on("TrainingMoeBody", "all_to_all_overlap", SHARE_OR_ZERO),
    on("Budget", "device_hours", BUDGET_GPU_HOURS),
    on("Budget", "usd", BUDGET_USD),
    on("TrainingOverrides", "usd_per_device_hour", USD_PER_DEVICE_HOUR),
    on("TrainingOverrides", "compute_efficiency", SHARE),
    on("RequirementsBody", "max_ttft_ms", LATENCY_MS),
    on("RequirementsBody", "max_tpot_ms", LATENCY_MS),
    on("RequirementsBody", "min_output_tokens_per_s", TOKEN_RATE),
    on("RequirementsBody", "min_requests_per_s", RATE_OR_PRICE),
    on("RequirementsBody", "max_usd_per_million_output_tokens", RATE_OR_PRICE),
    on("RequirementsBody", "max_usd_per_hour", RATE_OR_PRICE),
    on("RequirementsBody", "memory_headroom_fraction", HEADROOM),
    on("RequirementsBody", "min_context_tokens", CONTEXT_TOKENS),
    on("RequirementsBody", "max_devices", MAX_DEVICES),
    on("RequirementsBody", "max_days", DAYS),
    on("RequirementsBody", "max_usd", RUN_USD),
    on("RequirementsBody", "max_ttft_p90_ms", LATENCY_MS),
    on("RequirementsBody", "max_ttft_p99_ms", LATENCY_MS),
    on("RequirementsBody", "max_tpot_p90_ms", LATENCY_MS),
    on("RequirementsBody", "max_tpot_p99_ms", LATENCY_MS),
    on("RequirementsBody", "forecast_requests_per_s", ARRIVAL_RATE),
    on("ServingWorkload", "requests", REPLAY_REQUESTS),
    on("ServingWorkload", "requests_per_s", ARRIVAL_RATE),
    on("ServingWorkload", "concurrency", CONCURRENCY),
    on("ServingWorkload", "prefix_cache_hit_rate", PREFIX_HIT_RATE),
    on("PrefixBody", "tokens", PREFIX_TOKENS),
    on("PrefixBody", "distinct", PREFIX_DISTINCT),
    on("KvOffloadBody", "host_gb", KV_TIER_GB),
    on("KvOffloadBody", "host_gb_per_s", KV_TIER_GB_PER_S),
    on("KvOffloadBody", "disk_gb", KV_TIER_GB),
    on("KvOffloadBody", "disk_gb_per_s", KV_TIER_GB_PER_S),
    on("SchedulerOverrides", "max_num_seqs", SCHEDULER_LIMIT),
    on("SchedulerOverrides", "max_num_tokens", SCHEDULER_LIMIT),
    on("SchedulerOverrides", "kv_block_tokens", KV_BLOCK_TOKENS),
    on("SchedulerOverrides", "kv_fraction", SHARE),
    on("TraceEntry", "arrival_s", ARRIVAL_S),
    on("TraceEntry", "input_tokens", INPUT_TOKENS),
    on("TraceEntry", "output_tokens", Range::int(1, 1_048_576)),
    on("WorkloadBody", "input_tokens", WORKLOAD_TOKENS),
    on("WorkloadBody", "output_tokens", WORKLOAD_TOKENS),
    on("WorkloadBody", "requests_per_s", REQUESTS_PER_S),
    on("WorkloadBody", "concurrency", CONCURRENCY),
    on("SearchBody", "min_memory_gib", MEMORY_GIB),
    each("SearchBody", "tensor", DEGREE),
    each("SearchBody", "pipeline", DEGREE),
    each("SearchBody", "batch_sizes", BATCH_SIZE),
    on("SearchBody", "max_devices_per_replica", DEVICES_PER_REPLICA),
    on("SearchBody", "max_replicas", MAX_REPLICAS),
    each("PoolSearchBody", "prefill_replicas", POOL_REPLICAS),
    each("PoolSearchBody", "decode_replicas", POOL_REPLICAS),
    on("PoolSearchBody", "configurations", POOL_CONFIGURATIONS),
    on("ApiPriceBody", "usd_per_million_input_tokens", API_USD_PER_MILLION),
    on("ApiPriceBody", "usd_per_million_output_tokens", API_USD_PER_MILLION),
    on("PlanRequest", "limit", LIMIT),
    on("PlanRequest", "deadline_ms", DEADLINE_MS),
    on("TrainingSearchBody", "min_memory_gib", MEMORY_GIB),
    each("TrainingSearchBody", "devices", TRAINING_PLAN_DEVICES),
    each("TrainingSearchBody", "tensor", DEGREE),
    each("TrainingSearchBody", "pipeline", DEGREE),
    on("TrainingPlanRequest", "limit", LIMIT),
    on("HfConfig", "num_hidden_layers", LAYERS_OR_HEADS),
    on("HfConfig", "hidden_size", HIDDEN_SIZE),
    on("HfConfig", "num_attention_heads", LAYERS_OR_HEADS),
    on("HfConfig", "num_key_value_heads", LAYERS_OR_HEADS),
    on("HfConfig", "intermediate_size", INTERMEDIATE_SIZE),
    on("HfConfig", "vocab_size", VOCAB_SIZE),
    on("HfConfig", "max_position_embeddings", MAX_POSITIONS),
    query("/v1/hardware", "limit", PAGE_LIMIT),
    query("/v1/models", "limit", PAGE_LIMIT),
    query("/v1/engines", "limit", PAGE_LIMIT),
    query("/v1/formats", "limit", PAGE_LIMIT),
    query("/v1/networks", "limit", PAGE_LIMIT),
    query("/v1/families", "limit", PAGE_LIMIT),
    query("/v1/prices/devices", "limit", PAGE_LIMIT),
    query("/v1/prices/api", "limit", PAGE_LIMIT),
    query("/v1/scaling/fits", "limit", PAGE_LIMIT),
    query("/v1/hardware", "min_memory_gib", MEMORY_GIB),
    query("/v1/hardware", "max_memory_gib", MEMORY_GIB),
    query("/v1/models", "min_parameters_b", PARAMETERS_B),
    query("/v1/models", "max_parameters_b", PARAMETERS_B),
    on("InferenceMeasured", "ttft_ms", MEASURED_MS),
    on("InferenceMeasured", "tpot_ms", MEASURED_MS),
    on("InferenceMeasured", "output_tokens_per_s", MEASURED_RATE),
    on("InferenceMeasured", "prefill_tokens_per_s", MEASURED_RATE),
    on("TrainingMeasured", "tokens_per_s_per_device", MEASURED_RATE),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_accept_their_bounds_and_refuse_what_lies_outside() {
        for d in DECLARED {
            let r = d.range;
            assert!(r.min < r.max, "{}.{}", d.schema, d.property);
            assert_eq!(r.contains(r.min), !r.exclusive_min, "{}.{}", d.schema, d.property);
            assert!(r.contains(r.max) && !r.contains(r.max * 1.5 + 1.0) && !r.contains(f64::NAN));
        }
        assert_eq!(INFERENCE_DEVICES.detail(0), "must be an integer from 1 to 65536, got 0");
        assert_eq!(FRACTION.detail(0), "must be a number above 0 and at most 1, got 0");
    }

    #[test]
    fn each_property_is_declared_once() {
        let mut keys: Vec<_> = DECLARED.iter().map(|d| (d.schema, d.property)).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len());
    }
}
