//! The serving request (`POST /v1/estimate/serving`, `hwcost estimate serving`, a validation
//! point run under load) and its one parser.
//!
//! A serving request is an inference deployment (the same fields, parsed by
//! [`InferenceScenario::parse`]) plus a workload, optional scheduler overrides and an optional
//! SLO. Work is bounded here: the output tokens a replay may generate are capped, more tightly
//! when an SLO asks for a search over rates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::deployment::{Deployment, DeploymentBody, deployment_request};
use super::inference::InferenceScenario;
use super::range::{self, Checks, Range};
use super::{Assumptions, Error};
use crate::catalog::Catalog;
use crate::engine::inference::Batch;
use crate::engine::serving::{Arrival, Detail, Lengths, Slo, SloTarget, TraceRequest, Workload};

/// Tokens one replay may process (requests x longest request, prompt and output).
pub const MAX_OUTPUT_TOKENS: f64 = 2e8;
/// The same with an SLO, whose rate search replays about fifteen times.
pub const MAX_OUTPUT_TOKENS_WITH_SLO: f64 = 2e7;

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalId {
    /// All requests queued at time 0 (maximum throughput).
    Offline,
    /// Poisson arrivals at `requests_per_s`.
    Poisson,
    /// A closed loop of `concurrency` clients.
    Concurrency,
    /// The explicit `trace`.
    Trace,
}

/// A length distribution's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DistributionId {
    /// Uniform on `[min, max]`.
    Uniform,
    /// Normal (`mean`, `stddev`), clipped to `[min, max]`.
    Normal,
    /// Log-normal with this `mean` and `stddev` of the lengths (long-tailed, like chat data).
    Lognormal,
    /// Exponential with this `mean`.
    Exponential,
}

/// A drawn length.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributionBody {
    /// Shape.
    pub distribution: DistributionId,
    /// Mean (normal, lognormal, exponential).
    pub mean: Option<f64>,
    /// Standard deviation (normal, lognormal).
    pub stddev: Option<f64>,
    /// Smallest length (default 1; uniform: required).
    pub min: Option<u64>,
    /// Largest length (default 4 x mean; uniform: required).
    pub max: Option<u64>,
}

/// A token count: a number, or a distribution.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TokenCount {
    /// Every request has this many.
    Fixed(u64),
    /// Drawn per request.
    Drawn(DistributionBody),
}

/// One request of a trace.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceEntry {
    /// Arrival, seconds from the start.
    pub arrival_s: f64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Output tokens (at least 1).
    pub output_tokens: u64,
}

/// What arrives at the server.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServingWorkload {
    /// Prompt tokens per request: a number or a distribution (default 1024).
    pub input_tokens: Option<TokenCount>,
    /// Output tokens per request: a number or a distribution (default 256).
    pub output_tokens: Option<TokenCount>,
    /// Arrival pattern (default: `poisson` with `requests_per_s`, `concurrency` with
    /// `concurrency`, `trace` with `trace`, else `offline`).
    pub arrival: Option<ArrivalId>,
    /// Mean arrival rate for `poisson`, all replicas together.
    pub requests_per_s: Option<f64>,
    /// Clients of a closed loop, all replicas together.
    pub concurrency: Option<u64>,
    /// Requests to simulate (default 1000; a trace simulates its own).
    pub requests: Option<u64>,
    /// Explicit requests for `trace`.
    pub trace: Option<Vec<TraceEntry>>,
    /// Share of each prompt served from the prefix cache, 0 to 0.99 (default 0); leave it out
    /// when `prefix` describes the reuse.
    pub prefix_cache_hit_rate: Option<f64>,
    /// Prompt prefixes shared between requests (system prompts, conversation history,
    /// documents): the share of hits each KV tier serves follows from their working set
    /// (`distinct` x `tokens`) against the tiers' capacities.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub prefix: Option<PrefixBody>,
    /// Seed of the random arrivals and lengths (default 0).
    pub seed: Option<u64>,
}

/// Prompt prefixes shared between requests.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tokens": 4000, "distinct": 200}))]
pub struct PrefixBody {
    /// Shared tokens at the start of each request's prompt (a system prompt, a conversation's
    /// history, a document); a prompt shorter than this shares all but its last token.
    pub tokens: Option<u64>,
    /// Distinct prefixes live at once (users, conversations, documents), each reused about as
    /// often as the others (default 1: one system prompt for every request).
    pub distinct: Option<u64>,
}

/// Scheduler settings that replace the engine's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulerOverrides {
    /// Most sequences per step (`max_batch_size`, `max_num_seqs`).
    pub max_num_seqs: Option<u64>,
    /// Most tokens per step (`max_num_tokens`, `max_num_batched_tokens`).
    pub max_num_tokens: Option<u64>,
    /// Split prompts over steps.
    pub chunked_prefill: Option<bool>,
    /// Decodes and prefill chunks share a step (false: prefill-first steps, vLLM v0).
    pub mixed_batches: Option<bool>,
    /// Tokens per KV block.
    pub kv_block_tokens: Option<u64>,
    /// Reserve KV for the whole request at admission (no preemption).
    pub kv_reserve_full: Option<bool>,
    /// Share of memory for the KV cache (`kv_cache_free_gpu_mem_fraction`, `gpu_memory_utilization`).
    pub kv_fraction: Option<f64>,
    /// Size the sequence and token limits from the KV capacity and the mean lengths, as
    /// trtllm-bench does for its throughput runs.
    pub tuned_limits: Option<bool>,
}

/// A latency target: a limit, or a limit at a percentile.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SloTargetBody {
    /// Milliseconds at the 90th percentile.
    Limit(f64),
    /// Milliseconds at a percentile (50, 90 or 99; default 90).
    Target {
        /// Limit, ms.
        max: f64,
        /// 50, 90 or 99.
        percentile: Option<u8>,
    },
}

/// Latency targets; the answer then says the highest request rate that meets all of them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloBody {
    /// Time to first token.
    pub ttft_ms: Option<SloTargetBody>,
    /// Time per output token.
    pub tpot_ms: Option<SloTargetBody>,
    /// End to end.
    pub e2e_ms: Option<SloTargetBody>,
}

/// A deployment under load: the deployment's fields ([`DeploymentBody`]) at the top level of
/// the body, with the workload, scheduler and SLO.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "serde_json::Value")]
pub struct ServingRequest {
    /// What runs where.
    #[serde(flatten)]
    pub deployment: DeploymentBody,
    /// The load and what it is held to.
    #[serde(flatten)]
    pub load: ServingLoad,
}

/// The fields of a serving request beside its deployment's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServingLoad {
    /// The load.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub workload: Option<ServingWorkload>,
    /// Scheduler settings replacing the engine's.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub scheduler: Option<SchedulerOverrides>,
    /// Latency targets.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub slo: Option<SloBody>,
    /// What the answer carries beyond its summary (nothing by default: the replay over time
    /// and the latency histograms cost memory and bytes).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub detail: Option<DetailBody>,
    /// Disaggregated prefill and decode: a prefill pool and a decode pool, each with its own
    /// device, count and layout, and the network the KV cache crosses between them. The answer
    /// then replays both pools (its `disaggregation` says each one's share).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub disaggregation: Option<super::disaggregation::DisaggregationBody>,
}

/// Detail of the replay to return, each off by default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"timeline": true, "histograms": true}))]
pub struct DetailBody {
    /// The replay over time (`timeline`): KV-cache tokens held, running sequences and queued
    /// requests, at most 200 points, each the largest value of its time bucket.
    pub timeline: Option<bool>,
    /// Per-request histograms of TTFT, TPOT and end-to-end latency (`histograms`), 24
    /// log-spaced bins each.
    pub histograms: Option<bool>,
}

deployment_request!(
    ServingRequest,
    ServingLoad,
    load,
    "A deployment under load.",
    serde_json::json!({
        "model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8",
        "engine": "vllm",
        "workload": {"input_tokens": 1000, "output_tokens": 200, "arrival": "poisson", "requests_per_s": 10, "requests": 500},
        "slo": {"ttft_ms": {"max": 500, "percentile": 99}, "tpot_ms": 50},
        "detail": {"timeline": true, "histograms": true}
    })
);

/// A parsed serving request.
#[derive(Debug, Clone)]
pub struct ServingScenario {
    /// The deployment (its batch and lengths are not used).
    pub inference: InferenceScenario,
    /// The load.
    pub workload: Workload,
    /// Latency targets.
    pub slo: Option<Slo>,
    /// What the replay records beyond its summary.
    pub detail: Detail,
    /// Every default applied.
    pub assumptions: Assumptions,
    /// The two pools of a disaggregated deployment, when the request gives them.
    pub disaggregation: Option<super::disaggregation::DisaggregatedScenario>,
}

fn lengths(checks: &mut Checks, pointer: &str, count: Option<&TokenCount>, default: u64, range: Range) -> Lengths {
    let max_of = range.max as u64;
    match count {
        None => Lengths::Fixed(default),
        Some(TokenCount::Fixed(n)) => Lengths::Fixed(checks.int(pointer.to_owned(), range, *n)),
        Some(TokenCount::Drawn(d)) => {
            let mean = checks.number(format!("{pointer}/mean"), Range::number(0.0, range.max), d.mean);
            let stddev = checks.number(format!("{pointer}/stddev"), Range::number(0.0, range.max), d.stddev);
            let min = checks.opt_int(format!("{pointer}/min"), range, d.min);
            let max = checks.opt_int(format!("{pointer}/max"), range, d.max);
            let need = |checks: &mut Checks, field: &str, v: Option<f64>| {
                if v.is_none() {
                    checks.push(
                        format!("{pointer}/{field}"),
                        format!("a {:?} distribution needs {field}", d.distribution).to_lowercase(),
                    );
                }
                v.unwrap_or(0.0)
            };
            let bounds = |mean: f64| {
                let lo = min.unwrap_or(1);
                let hi = max.unwrap_or(((mean * 4.0).ceil() as u64).clamp(lo, max_of));
                (lo, hi.max(lo))
            };
            match d.distribution {
                DistributionId::Uniform => {
                    if min.is_none() || max.is_none() {
                        checks.push(pointer.to_owned(), "a uniform distribution needs min and max");
                    }
                    let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(0));
                    if hi < lo {
                        checks.push(format!("{pointer}/max"), "must be at least min");
                    }
                    Lengths::Uniform { min: lo, max: hi.max(lo) }
                }
                DistributionId::Normal => {
                    let mean = need(checks, "mean", mean);
                    let stddev = need(checks, "stddev", stddev);
                    let (min, max) = bounds(mean);
                    Lengths::Normal { mean, stddev, min, max }
                }
                DistributionId::Lognormal => {
                    let mean = need(checks, "mean", mean);
                    let stddev = need(checks, "stddev", stddev);
                    let (min, max) = bounds(mean);
                    Lengths::LogNormal { mean, stddev, min, max }
                }
                DistributionId::Exponential => {
                    let mean = need(checks, "mean", mean);
                    let (min, max) = bounds(mean);
                    Lengths::Exponential { mean, min, max }
                }
            }
        }
    }
}

/// One target of the SLO; `field` is its path relative to the request (`slo/ttft_ms`). A target
/// left out, or a limit without a percentile, is listed among the assumptions.
fn target(
    checks: &mut Checks,
    assumed: &mut Assumptions,
    prefix: &str,
    field: &str,
    body: Option<&SloTargetBody>,
) -> Option<SloTarget> {
    let pointer = format!("{prefix}/{field}");
    let Some(body) = body else {
        assumed.push(field, "none", "no target given: this latency does not limit the capacity");
        return None;
    };
    let (max, percentile) = match body {
        SloTargetBody::Limit(max) => (*max, None),
        SloTargetBody::Target { max, percentile } => (*max, *percentile),
    };
    let max = checks.number(pointer.clone(), range::LATENCY_MS, Some(max)).unwrap_or(0.0);
    if percentile.is_none() {
        assumed.push(format!("{field}/percentile"), 90, "a limit without a percentile holds the 90th percentile");
    }
    let percentile = percentile.unwrap_or(90);
    if !matches!(percentile, 50 | 90 | 99) {
        checks.push(format!("{pointer}/percentile"), format!("must be 50, 90 or 99, got {percentile}"));
    }
    Some(SloTarget { max: max / 1e3, percentile })
}

impl ServingScenario {
    /// Parses a request; `prefix` is its pointer in the document.
    pub fn parse(catalog: &Catalog, request: &ServingRequest, prefix: &str) -> Result<Self, Error> {
        let at = |field: &str| format!("{prefix}/{field}");
        let mut assumed = Assumptions::default();
        let w = request.load.workload.clone().unwrap_or_default();
        let mut checks = Checks::default();
        let input_tokens =
            lengths(&mut checks, &at("workload/input_tokens"), w.input_tokens.as_ref(), 1024, range::INPUT_TOKENS);
        let output_tokens = lengths(
            &mut checks,
            &at("workload/output_tokens"),
            w.output_tokens.as_ref(),
            256,
            Range::int(1, range::OUTPUT_TOKENS.max as u64),
        );
        let rate = checks.number(at("workload/requests_per_s"), range::ARRIVAL_RATE, w.requests_per_s);
        let clients = checks.opt_int(at("workload/concurrency"), range::CONCURRENCY, w.concurrency);
        let requests = checks.opt_int(at("workload/requests"), range::REPLAY_REQUESTS, w.requests);
        let hit = checks.number(at("workload/prefix_cache_hit_rate"), range::PREFIX_HIT_RATE, w.prefix_cache_hit_rate);
        let shared = match &w.prefix {
            Some(p) => {
                let Some(tokens) = p.tokens else {
                    return Err(Error::field(
                        at("workload/prefix/tokens"),
                        "is required: the shared prefix tokens per request",
                    ));
                };
                if hit.is_some() {
                    return Err(Error::field(
                        at("workload/prefix_cache_hit_rate"),
                        "give either prefix_cache_hit_rate or prefix: the prefix's hits follow from its working set",
                    ));
                }
                let tokens = checks.int(at("workload/prefix/tokens"), range::PREFIX_TOKENS, tokens);
                let distinct =
                    checks.int(at("workload/prefix/distinct"), range::PREFIX_DISTINCT, p.distinct.unwrap_or(1));
                if p.distinct.is_none() {
                    assumed.push("workload/prefix/distinct", 1, "one prefix shared by every request (a system prompt)");
                }
                Some(crate::engine::kv_offload::Prefix { tokens, distinct })
            }
            None => None,
        };
        let mut trace = Vec::new();
        if let Some(entries) = &w.trace {
            if entries.is_empty() || entries.len() as f64 > range::REPLAY_REQUESTS.max {
                checks.push(at("workload/trace"), format!("must hold 1 to {} requests", range::REPLAY_REQUESTS.max));
            }
            for (i, e) in entries.iter().enumerate().take(range::REPLAY_REQUESTS.max as usize) {
                let p = |f: &str| at(&format!("workload/trace/{i}/{f}"));
                trace.push(TraceRequest {
                    arrival_s: checks.number(p("arrival_s"), range::ARRIVAL_S, Some(e.arrival_s)).unwrap_or(0.0),
                    input_tokens: checks.int(p("input_tokens"), range::INPUT_TOKENS, e.input_tokens),
                    output_tokens: checks.int(
                        p("output_tokens"),
                        Range::int(1, range::OUTPUT_TOKENS.max as u64),
                        e.output_tokens,
                    ),
                });
            }
        }
        let s = request.load.scheduler.clone().unwrap_or_default();
        let max_num_seqs = checks.opt_int(at("scheduler/max_num_seqs"), range::SCHEDULER_LIMIT, s.max_num_seqs);
        let max_num_tokens = checks.opt_int(at("scheduler/max_num_tokens"), range::SCHEDULER_LIMIT, s.max_num_tokens);
        let block = checks.opt_int(at("scheduler/kv_block_tokens"), range::KV_BLOCK_TOKENS, s.kv_block_tokens);
        let kv_fraction = checks.number(at("scheduler/kv_fraction"), range::SHARE, s.kv_fraction);
        let slo_body = request.load.slo.clone().unwrap_or_default();
        let mut slo_assumed = Assumptions::default();
        let slo = request.load.slo.as_ref().map(|_| {
            let mut one = |field: &str, body: Option<&SloTargetBody>| {
                target(&mut checks, &mut slo_assumed, prefix, field, body).into_iter().collect()
            };
            Slo {
                ttft: one("slo/ttft_ms", slo_body.ttft_ms.as_ref()),
                tpot: one("slo/tpot_ms", slo_body.tpot_ms.as_ref()),
                e2e: one("slo/e2e_ms", slo_body.e2e_ms.as_ref()),
            }
        });
        let detail = request.load.detail.clone().unwrap_or_default();
        let detail =
            Detail { timeline: detail.timeline.unwrap_or(false), histograms: detail.histograms.unwrap_or(false) };
        checks.finish()?;

        let arrival_id = match (w.arrival, rate, clients, &w.trace) {
            (Some(a), ..) => a,
            (None, Some(_), _, _) => ArrivalId::Poisson,
            (None, None, Some(_), _) => ArrivalId::Concurrency,
            (None, None, None, Some(_)) => ArrivalId::Trace,
            (None, None, None, None) => {
                assumed.push("workload/arrival", "offline", "no rate, clients or trace: all requests queued at once");
                ArrivalId::Offline
            }
        };
        let arrival = match arrival_id {
            ArrivalId::Offline => Arrival::Offline,
            ArrivalId::Poisson => Arrival::Poisson {
                requests_per_s: rate.ok_or_else(|| {
                    Error::field(at("workload/requests_per_s"), "poisson arrivals need requests_per_s")
                })?,
            },
            ArrivalId::Concurrency => Arrival::Concurrency {
                clients: clients
                    .ok_or_else(|| Error::field(at("workload/concurrency"), "a closed loop needs concurrency"))?,
            },
            ArrivalId::Trace => {
                if trace.is_empty() {
                    return Err(Error::field(at("workload/trace"), "trace arrivals need a trace"));
                }
                Arrival::Trace(trace.clone())
            }
        };
        let requests = match (&arrival, requests) {
            (Arrival::Trace(t), _) => t.len() as u64,
            (_, Some(n)) => n,
            // Poisson: the capacity search's probe size, set once the replicas are known below.
            (Arrival::Poisson { .. }, None) => 1000,
            (_, None) => {
                assumed.push("workload/requests", 1000, "enough requests for stable percentiles");
                1000
            }
        };
        if w.input_tokens.is_none() && !matches!(arrival, Arrival::Trace(_)) {
            assumed.push("workload/input_tokens", 1024, "the default prompt length");
        }
        if w.output_tokens.is_none() && !matches!(arrival, Arrival::Trace(_)) {
            assumed.push("workload/output_tokens", 256, "the default output length");
        }
        let longest = match &arrival {
            Arrival::Trace(t) => t.iter().map(|r| r.input_tokens + r.output_tokens).max().unwrap_or(1),
            _ => input_tokens.max() + output_tokens.max(),
        };
        let work = requests as f64 * longest as f64;
        let cap = if slo.is_some() { MAX_OUTPUT_TOKENS_WITH_SLO } else { MAX_OUTPUT_TOKENS };
        if work > cap {
            return Err(Error::unprocessable(
                at("workload/requests"),
                format!(
                    "requests x longest request ({work:.0} tokens) exceeds the {cap:.0} tokens one estimate may simulate{}; simulate fewer or shorter requests",
                    if slo.is_some() { " with an SLO search" } else { "" }
                ),
            ));
        }

        let (mean_in, mean_out) = match &arrival {
            Arrival::Trace(t) => (
                t.iter().map(|r| r.input_tokens as f64).sum::<f64>() / t.len() as f64,
                t.iter().map(|r| r.output_tokens as f64).sum::<f64>() / t.len() as f64,
            ),
            _ => (input_tokens.mean(), output_tokens.mean()),
        };
        let deployment = Deployment::parse(catalog, &request.deployment, prefix, Checks::default())?;
        let mut inference = InferenceScenario::from_deployment(
            deployment,
            Batch::Fixed(1),
            mean_in.round() as u64,
            (mean_out.round() as u64).max(1),
            Assumptions::default(),
        )?;
        // A sequence limit given is the limit on concurrent sequences, as a check's and a plan's
        // `batch_size` is (not per pipeline micro-batch, not tuned from the dataset unless
        // `tuned_limits` says so below).
        inference.profile = crate::engine::serving::capacity::with_sequence_limit(&inference.profile, max_num_seqs);
        let sched = &mut inference.profile.scheduler;
        let set = |field: &mut u64, v: Option<u64>| {
            if let Some(v) = v {
                *field = v
            }
        };
        set(&mut sched.max_num_tokens, max_num_tokens);
        set(&mut sched.kv_block_tokens, block);
        if let Some(v) = kv_fraction {
            sched.kv_fraction = v;
        }
        let flags = [
            (&mut sched.chunked_prefill, s.chunked_prefill),
            (&mut sched.mixed_batches, s.mixed_batches),
            (&mut sched.kv_reserve_full, s.kv_reserve_full),
            (&mut sched.tuned_limits, s.tuned_limits),
        ];
        for (field, v) in flags {
            if let Some(v) = v {
                *field = v;
            }
        }
        assumed.0.extend(inference.assumptions.0.iter().cloned());
        assumed.0.extend(slo_assumed.0);
        if w.seed.is_none() && !matches!(arrival, Arrival::Offline | Arrival::Concurrency { .. })
            || w.seed.is_none() && !matches!(input_tokens, Lengths::Fixed(_))
        {
            assumed.push("workload/seed", 0, "a fixed seed, so the same request gives the same answer");
        }
        let requests = match (&arrival, w.requests) {
            (Arrival::Poisson { .. }, None) => {
                let replicas = u64::from(inference.parallelism.data.max(1));
                let n = crate::engine::serving::capacity::probe_requests(output_tokens.mean()).saturating_mul(replicas);
                assumed.push(
                    "workload/requests",
                    n,
                    "the capacity search's probe per replica (enough for a p99), so a replay at a rate replays what max_requests_per_s_within_slo was judged on",
                );
                n
            }
            _ => requests,
        };
        let disaggregation = match &request.load.disaggregation {
            None => None,
            Some(body) => {
                if matches!(arrival, Arrival::Concurrency { .. }) {
                    return Err(Error::unprocessable(
                        at("workload/arrival"),
                        "a disaggregated deployment replays open-loop arrivals (poisson, trace) or offline runs, not a closed loop",
                    ));
                }
                let longest_input = match &arrival {
                    Arrival::Trace(t) => t.iter().map(|r| r.input_tokens).max().unwrap_or(1),
                    _ => input_tokens.max(),
                };
                Some(super::disaggregation::DisaggregatedScenario::parse(
                    catalog,
                    &request.deployment,
                    body,
                    prefix,
                    &inference,
                    (longest_input, longest.saturating_sub(longest_input).max(1)),
                    (mean_in.round() as u64, (mean_out.round() as u64).max(1)),
                    &mut assumed,
                )?)
            }
        };
        Ok(Self {
            disaggregation,
            workload: Workload {
                arrival,
                input_tokens,
                output_tokens,
                requests,
                prefix_cache_hit_rate: hit.unwrap_or(0.0),
                prefix: shared,
                seed: w.seed.unwrap_or(0),
            },
            inference,
            slo,
            detail,
            assumptions: assumed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::inference;
    use crate::engine::serving::{Regime, ServingEstimate, simulate};

    fn run(body: serde_json::Value) -> (ServingScenario, ServingEstimate) {
        let catalog = Catalog::embedded().unwrap();
        let request: ServingRequest = serde_json::from_value(body).unwrap();
        let scenario = ServingScenario::parse(&catalog, &request, "").unwrap();
        let estimate = simulate(&scenario.inference.input(), &scenario.workload);
        (scenario, estimate)
    }

    fn llama(workload: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8",
            "engine": "vllm", "workload": workload})
    }

    #[test]
    fn littles_law_holds_on_the_replay() {
        for workload in [
            serde_json::json!({"input_tokens": 500, "output_tokens": 100, "requests_per_s": 20, "requests": 400}),
            serde_json::json!({"input_tokens": 500, "output_tokens": 100, "concurrency": 16, "requests": 400}),
            serde_json::json!({"input_tokens": {"distribution": "lognormal", "mean": 400, "stddev": 300}, "output_tokens": {"distribution": "exponential", "mean": 150}, "requests_per_s": 30, "requests": 400, "seed": 3}),
        ] {
            let (_, e) = run(llama(workload.clone()));
            let lambda_w = e.requests_per_s * e.e2e.mean;
            assert!(
                (e.concurrency_mean - lambda_w).abs() <= 0.01 * lambda_w,
                "{workload}: L {} vs lambda W {lambda_w}",
                e.concurrency_mean
            );
        }
    }

    #[test]
    fn throughput_never_falls_when_kv_capacity_grows() {
        let mut last = 0.0;
        for fraction in [0.2, 0.3, 0.5, 0.7, 0.9] {
            let mut body = llama(serde_json::json!({"input_tokens": 2000, "output_tokens": 1000, "requests": 600}));
            body["model"] = "llama-3.1-70b".into();
            body["devices"] = 2.into();
            body["parallelism"] = serde_json::json!({"tensor": 2});
            body["scheduler"] = serde_json::json!({"kv_fraction": fraction, "max_num_seqs": 4096});
            let (_, e) = run(body);
            assert!(
                e.output_tokens_per_s >= last * 0.999,
                "kv fraction {fraction}: {} < {last}",
                e.output_tokens_per_s
            );
            last = e.output_tokens_per_s;
        }
    }

    #[test]
    fn a_single_request_reproduces_the_static_estimate() {
        let (s, e) = run(llama(serde_json::json!({"input_tokens": 512, "output_tokens": 128, "requests": 1})));
        let static_estimate = inference::estimate(&s.inference.input());
        let close = |a: f64, b: f64, tolerance: f64| (a - b).abs() <= tolerance * b;
        assert!(close(e.ttft.mean, static_estimate.ttft.0, 0.15), "ttft {} vs {}", e.ttft.mean, static_estimate.ttft.0);
        assert!(close(e.tpot.mean, static_estimate.tpot.0, 0.15), "tpot {} vs {}", e.tpot.mean, static_estimate.tpot.0);
        assert_eq!(e.completed, 1);
        assert_eq!(e.preemptions, 0);
    }

    #[test]
    fn a_rate_above_capacity_overloads_and_the_queue_grows_with_the_run() {
        let capacity = run(llama(serde_json::json!({"input_tokens": 1000, "output_tokens": 300, "requests": 800})))
            .1
            .requests_per_s;
        let at = |requests: u64| {
            run(llama(serde_json::json!({"input_tokens": 1000, "output_tokens": 300, "requests_per_s": capacity * 2.0, "requests": requests}))).1
        };
        let (short, long) = (at(300), at(1200));
        assert_eq!(long.regime, Regime::Overloaded);
        assert!(long.queue.mean > 2.0 * short.queue.mean, "queue {} vs {}", long.queue.mean, short.queue.mean);
        let light = run(llama(serde_json::json!({"input_tokens": 1000, "output_tokens": 300, "requests_per_s": capacity * 0.05, "requests": 300}))).1;
        assert_eq!(light.regime, Regime::Stable);
    }

    /// Two requests, one replica, a scheduler of one sequence: the second waits for the first,
    /// so its TTFT is the first's whole time plus its own prefill, and the makespan is twice one
    /// request.
    #[test]
    fn a_tiny_case_computed_by_hand() {
        let (_, one) = run(llama(serde_json::json!({"input_tokens": 100, "output_tokens": 10, "requests": 1})));
        let mut body = llama(serde_json::json!({"input_tokens": 100, "output_tokens": 10, "requests": 2}));
        body["scheduler"] = serde_json::json!({"max_num_seqs": 1});
        let (s, two) = run(body);
        let overhead = s.inference.profile.request_overhead.0;
        let service = one.e2e.mean - overhead;
        assert!(
            (two.makespan - (2.0 * service + overhead)).abs() < 1e-9 + 1e-6 * service,
            "{} vs {}",
            two.makespan,
            2.0 * service
        );
        // The second request's first token: after the first finished, plus one prefill.
        let prefill = one.ttft.mean - overhead;
        assert!((two.ttft.p99 - (overhead + service + prefill)).abs() < 1e-6 * service + 1e-9);
        assert_eq!(two.running_max, 1);
        assert_eq!(two.concurrency_max, 2);
    }

    fn detailed(body: serde_json::Value) -> ServingEstimate {
        detailed_with(body).1
    }

    fn detailed_with(body: serde_json::Value) -> (ServingScenario, ServingEstimate) {
        let catalog = Catalog::embedded().unwrap();
        let request: ServingRequest = serde_json::from_value(body).unwrap();
        let scenario = ServingScenario::parse(&catalog, &request, "").unwrap();
        let e =
            crate::engine::serving::simulate_detailed(&scenario.inference.input(), &scenario.workload, scenario.detail);
        (scenario, e)
    }

    /// One request alone, one-token KV blocks: it reaches the scheduler after the engine's
    /// request overhead (an idle first point at 0), then nobody waits, one sequence runs every
    /// step, and the cache holds the prompt after the prefill, then one more token per decode
    /// step (each decode writes the token sampled by the step before), up to input + output - 1.
    #[test]
    fn a_lone_requests_timeline_computed_by_hand() {
        let mut body = llama(serde_json::json!({"input_tokens": 100, "output_tokens": 10, "requests": 1}));
        body["scheduler"] = serde_json::json!({"kv_block_tokens": 1});
        body["detail"] = serde_json::json!({"timeline": true, "histograms": true});
        let (s, e) = detailed_with(body);
        let overhead = s.inference.profile.request_overhead.0;
        assert!(overhead > 0.0);
        let t = e.timeline.expect("a timeline was asked for");
        assert_eq!(t.kv_used_tokens, [0].into_iter().chain(100..110).collect::<Vec<u64>>());
        assert_eq!(t.running, [0].into_iter().chain([1; 10]).collect::<Vec<u64>>());
        assert_eq!(t.waiting, vec![0; 11]);
        assert_eq!(t.t_s[0], 0.0);
        // The prefill starts when the request is ready, in the bucket that holds the overhead.
        assert!(t.t_s[1] <= overhead && overhead < t.t_s[1] + t.bucket_s, "{:?} vs {overhead}", t.t_s);
        assert_eq!(e.kv_peak_used_tokens, 109);
        let h = e.histograms.expect("histograms were asked for");
        for (name, hist) in [("ttft", &h.ttft), ("tpot", &h.tpot), ("e2e", &h.e2e)] {
            assert_eq!(hist.counts.iter().sum::<u64>(), 1, "{name}");
            assert!(hist.edges[0] < hist.edges[hist.edges.len() - 1], "{name}");
        }
        // The one sample lies inside its histogram's range.
        assert!(h.e2e.edges[0] <= e.e2e.mean && e.e2e.mean <= h.e2e.edges[h.e2e.edges.len() - 1]);
    }

    /// Under load: at most 200 points, whose maxima are the replay's own peak KV use and most
    /// running sequences (one answer); the histograms count every finished request.
    #[test]
    fn a_loaded_timeline_agrees_with_the_replays_peaks_and_histograms_count_every_request() {
        let workload = serde_json::json!({"input_tokens": {"distribution": "lognormal", "mean": 600, "stddev": 400},
            "output_tokens": {"distribution": "exponential", "mean": 150}, "requests_per_s": 40, "requests": 800, "seed": 5});
        let mut body = llama(workload);
        body["detail"] = serde_json::json!({"timeline": true, "histograms": true});
        let e = detailed(body.clone());
        let t = e.timeline.as_ref().unwrap();
        assert!(!t.t_s.is_empty() && t.t_s.len() <= crate::engine::serving::simulate::TIMELINE_POINTS);
        assert_eq!(t.kv_used_tokens.iter().max(), Some(&e.kv_peak_used_tokens));
        assert_eq!(t.running.iter().max(), Some(&e.running_max));
        assert!(t.waiting.iter().all(|&w| w < e.requests));
        assert!(t.t_s.iter().all(|x| x.is_finite() && *x >= 0.0 && *x <= e.makespan));
        let h = e.histograms.as_ref().unwrap();
        assert_eq!(h.ttft.counts.iter().sum::<u64>(), e.completed);
        assert_eq!(h.e2e.counts.iter().sum::<u64>(), e.completed);
        assert!(h.tpot.counts.iter().sum::<u64>() <= e.completed);
        for hist in [&h.ttft, &h.tpot, &h.e2e] {
            assert_eq!(hist.edges.len(), hist.counts.len() + 1);
            assert!(hist.edges.iter().all(|x| x.is_finite() && *x > 0.0));
        }
        // Recorded only when asked, and asking changes no other number.
        body["detail"] = serde_json::json!({});
        let plain = detailed(body);
        assert_eq!((plain.timeline.as_ref(), plain.histograms.as_ref()), (None, None));
        assert_eq!(ServingEstimate { timeline: None, histograms: None, ..e }, plain);
    }

    #[test]
    fn preemption_happens_when_blocks_run_out_on_demand_and_never_with_reservation() {
        let mut body = llama(serde_json::json!({"input_tokens": 100, "output_tokens": 3000, "requests": 300}));
        // A KV cache of about 15,600 tokens (0.14 of the device less the weights, the runtime and
        // the profiling pass at 8,192 tokens): five 3,100-token requests at most.
        body["scheduler"] = serde_json::json!({"kv_fraction": 0.14, "max_num_seqs": 1024});
        let (_, e) = run(body.clone());
        assert!(e.preemptions > 0, "no preemption");
        assert_eq!(e.completed, 300);
        assert!(e.kv_peak_used_tokens <= e.kv_capacity_tokens + 16);
        body["scheduler"]["kv_reserve_full"] = true.into();
        let (_, reserved) = run(body);
        assert_eq!(reserved.preemptions, 0);
        assert_eq!(reserved.completed, 300);
    }

    #[test]
    fn bad_workloads_are_refused_at_their_pointer() {
        let catalog = Catalog::embedded().unwrap();
        for (workload, pointer) in [
            (serde_json::json!({"arrival": "poisson"}), "/workload/requests_per_s"),
            (serde_json::json!({"requests": 0}), "/workload/requests"),
            (serde_json::json!({"requests": 100000, "output_tokens": 4096}), "/workload/requests"),
            (
                serde_json::json!({"input_tokens": {"distribution": "normal", "mean": 10}}),
                "/workload/input_tokens/stddev",
            ),
            (
                serde_json::json!({"trace": [{"arrival_s": -1, "input_tokens": 5, "output_tokens": 5}]}),
                "/workload/trace/0/arrival_s",
            ),
        ] {
            let request: ServingRequest = serde_json::from_value(llama(workload.clone())).unwrap();
            let error = ServingScenario::parse(&catalog, &request, "").unwrap_err();
            let pointers: Vec<String> = error.field_errors().into_iter().map(|f| f.pointer).collect();
            assert!(pointers.contains(&pointer.to_owned()), "{workload}: {pointers:?}");
        }
        let mut body = llama(serde_json::json!({}));
        body["engine"] = "tensorrt-llm@9.9".into();
        let request: ServingRequest = serde_json::from_value(body).unwrap();
        let error = ServingScenario::parse(&catalog, &request, "").unwrap_err();
        assert_eq!(error.field_errors()[0].pointer, "/engine");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]

        /// Whatever the workload and scheduler, the replay finishes every request (or says one
        /// does not fit), never panics, and every number it reports is finite and consistent.
        #[test]
        fn any_workload_replays_to_finite_numbers(
            input in 0u64..6000,
            output in 1u64..600,
            requests in 1u64..300,
            arrival in 0u8..3,
            rate in 0.05f64..200.0,
            clients in 1u64..300,
            seqs in 1u64..600,
            tokens in 1u64..20_000,
            block in 1u64..300,
            fraction in 0.02f64..1.0,
            flags in 0u8..16,
            hit in 0.0f64..0.99,
            engine in 0usize..4,
        ) {
            let arrival = match arrival {
                0 => serde_json::json!({"arrival": "offline"}),
                1 => serde_json::json!({"arrival": "poisson", "requests_per_s": rate}),
                _ => serde_json::json!({"arrival": "concurrency", "concurrency": clients}),
            };
            let mut workload = serde_json::json!({"input_tokens": input, "output_tokens": output, "requests": requests,
                "prefix_cache_hit_rate": hit, "seed": requests});
            workload.as_object_mut().unwrap().extend(arrival.as_object().unwrap().clone());
            let mut body = llama(workload);
            body["engine"] = ["vllm@v0", "vllm", "tensorrt-llm@0.14", "sglang"][engine].into();
            body["scheduler"] = serde_json::json!({"max_num_seqs": seqs, "max_num_tokens": tokens, "kv_block_tokens": block,
                "kv_fraction": fraction, "chunked_prefill": flags & 1 == 1, "mixed_batches": flags & 2 == 2,
                "kv_reserve_full": flags & 4 == 4, "tuned_limits": flags & 8 == 8});
            let (_, e) = run(body);
            if e.fits {
                proptest::prop_assert_eq!(e.completed, e.requests);
            }
            for x in [e.output_tokens_per_s, e.requests_per_s, e.total_tokens_per_s, e.ttft.p99, e.tpot.p99, e.itl.p99,
                      e.e2e.p99, e.queue.p99, e.concurrency_mean, e.running_mean, e.makespan] {
                proptest::prop_assert!(x.is_finite() && x >= 0.0, "{x} in {e:?}");
            }
            proptest::prop_assert!(e.ttft.p50 <= e.e2e.p99 + 1e-9);
            proptest::prop_assert!(e.kv_peak_used_tokens <= e.kv_capacity_tokens.saturating_add(2 * block * e.running_max.max(1)));
        }
    }
}
