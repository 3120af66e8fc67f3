//! Requirements a deployment must meet, and the rules that judge an estimate against them.
//!
//! Two ways in: [`admits`] for the planner's hot loop (comparisons only, no allocation, central
//! estimates), and [`judge`] for a capacity check (one outcome per rule with value, limit,
//! margin and a sentence). A check does not pass an estimate that sits inside its measured error
//! band of a limit: such a rule is `AtRisk`, whichever side of the limit the estimate falls.

use std::fmt::Write as _;

use crate::engine::serving::capacity::Assessment;
use crate::engine::serving::{Slo, SloTarget};

/// What a deployment must achieve. Every limit is optional; `memory_headroom` is a fraction of
/// device memory to keep free (0 keeps none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Requirements {
    /// Longest acceptable time to first token, seconds.
    pub max_ttft_s: Option<f64>,
    /// Longest acceptable time per output token, seconds.
    pub max_tpot_s: Option<f64>,
    /// Least output tokens per second of the whole deployment.
    pub min_output_tokens_per_s: Option<f64>,
    /// Least requests per second of the whole deployment at the workload's lengths.
    pub min_requests_per_s: Option<f64>,
    /// Most USD per million output tokens.
    pub max_usd_per_million_output_tokens: Option<f64>,
    /// Most USD per hour for all devices.
    pub max_usd_per_hour: Option<f64>,
    /// Fraction of device memory to keep free.
    pub memory_headroom: f64,
    /// Context (prompt + output) that must fit.
    pub min_context_tokens: Option<u64>,
    /// Most devices in all.
    pub max_devices: Option<u64>,
    /// Training: longest acceptable wall-clock time, days.
    pub max_days: Option<f64>,
    /// Training: most USD for the run.
    pub max_usd: Option<f64>,
    /// 90th-percentile time to first token under load, seconds.
    pub max_ttft_p90_s: Option<f64>,
    /// 99th-percentile time to first token under load, seconds.
    pub max_ttft_p99_s: Option<f64>,
    /// 90th-percentile time per output token under load, seconds.
    pub max_tpot_p90_s: Option<f64>,
    /// 99th-percentile time per output token under load, seconds.
    pub max_tpot_p99_s: Option<f64>,
    /// The request rate percentiles are judged at (all devices).
    pub forecast_requests_per_s: Option<f64>,
}

/// The lowest arrival rate a replay runs at: one request every 1000 s.
pub const MIN_REPLAY_REQUESTS_PER_S: f64 = 1e-3;

impl Requirements {
    /// The rate a deployment's load is judged at, all devices: the forecast, else the least
    /// rate required; `None` judges one request on an otherwise idle server, which is also what
    /// a least rate below [`MIN_REPLAY_REQUESTS_PER_S`] means (requests that far apart never
    /// meet, and a replay cannot represent the gaps).
    pub fn load_rate(&self) -> Option<f64> {
        self.forecast_requests_per_s.or(self.min_requests_per_s.filter(|r| *r >= MIN_REPLAY_REQUESTS_PER_S))
    }

    /// The latency limits as serving targets: a plain limit bounds the mean, a percentile
    /// limit its percentile. The capacity a check or a plan reads is the highest rate that
    /// meets them all.
    pub fn slo(&self) -> Slo {
        let target = |max: Option<f64>, percentile: u8| max.map(|max| SloTarget { max, percentile });
        Slo {
            ttft: [target(self.max_ttft_s, 0), target(self.max_ttft_p90_s, 90), target(self.max_ttft_p99_s, 99)]
                .into_iter()
                .flatten()
                .collect(),
            tpot: [target(self.max_tpot_s, 0), target(self.max_tpot_p90_s, 90), target(self.max_tpot_p99_s, 99)]
                .into_iter()
                .flatten()
                .collect(),
            e2e: Vec::new(),
        }
    }

    /// The least request rate the deployment must carry: the larger of the forecast and the
    /// required minimum.
    fn least_rate(&self) -> Option<f64> {
        match (self.min_requests_per_s, self.forecast_requests_per_s) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a percentile rule asks for a replay under load.
    pub fn has_percentiles(&self) -> bool {
        self.max_ttft_p90_s.is_some()
            || self.max_ttft_p99_s.is_some()
            || self.max_tpot_p90_s.is_some()
            || self.max_tpot_p99_s.is_some()
    }
}

/// Latency percentiles from a replay under load, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadPercentiles {
    /// TTFT p90.
    pub ttft_p90: f64,
    /// TTFT p99.
    pub ttft_p99: f64,
    /// TPOT p90.
    pub tpot_p90: f64,
    /// TPOT p99.
    pub tpot_p99: f64,
}

/// What an estimate says about a deployment, in the units the rules compare.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    /// Memory needed per device, bytes.
    pub memory_bytes: f64,
    /// Memory per device, bytes.
    pub capacity_bytes: f64,
    /// Time to first token, seconds (inference).
    pub ttft_s: Option<f64>,
    /// Time per output token, seconds (inference).
    pub tpot_s: Option<f64>,
    /// Output tokens per second of the whole deployment (inference).
    pub output_tokens_per_s: Option<f64>,
    /// Requests per second of the whole deployment (inference).
    pub requests_per_s: Option<f64>,
    /// USD per million output tokens (inference, with a price).
    pub usd_per_million_output_tokens: Option<f64>,
    /// USD per hour for all devices (with a price).
    pub usd_per_hour: Option<f64>,
    /// Context one sequence uses (prompt + output), tokens; 0 when not applicable (training).
    pub context_tokens: u64,
    /// Longest context that fits in memory at this batch, tokens.
    pub max_context_in_memory: u64,
    /// The model's trained maximum context, tokens.
    pub model_max_context: u64,
    /// Devices in all.
    pub devices: u64,
    /// Whether the weights are computed in their own data type on this device.
    pub native_format: bool,
    /// Whether tensor parallelism crosses a slow (PCIe) link.
    pub tensor_parallel_over_pcie: bool,
    /// Training wall-clock time, days.
    pub days: Option<f64>,
    /// Training cost, USD.
    pub total_usd: Option<f64>,
    /// Percentiles under the forecast load, when a replay was run.
    pub percentiles: Option<LoadPercentiles>,
}

impl Observed {
    /// The figures of a deployment under load, from the one assessment the check and the
    /// planner share: latencies are the replay's at the judged rate (means, and percentiles),
    /// the rates its capacity within the latency limits. A replay in which nothing finished (a
    /// request does not fit the KV cache) is out of reach on every latency: a large finite
    /// number keeps those rules failing and the JSON valid.
    pub fn under_load(self, load: &Assessment, output_tokens: u64) -> Self {
        let never = 1e6;
        let r = &load.replay;
        let finished = r.completed > 0;
        let pick = |v: f64| if finished { v } else { never };
        Self {
            ttft_s: Some(pick(r.ttft.mean)),
            tpot_s: (output_tokens > 0).then_some(pick(r.tpot.mean)),
            requests_per_s: Some(load.capacity.requests_per_s),
            output_tokens_per_s: Some(load.capacity.requests_per_s * output_tokens.max(1) as f64),
            percentiles: Some(LoadPercentiles {
                ttft_p90: pick(r.ttft.p90),
                ttft_p99: pick(r.ttft.p99),
                tpot_p90: pick(r.tpot.p90),
                tpot_p99: pick(r.tpot.p99),
            }),
            ..self
        }
    }
}

/// Measured relative errors (median absolute percentage error, as a fraction) of the estimate
/// families a rule depends on; zero where unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bands {
    /// Memory.
    pub memory: f64,
    /// Time to first token.
    pub ttft: f64,
    /// Time per output token.
    pub tpot: f64,
    /// Throughput (and so cost per token and training time).
    pub throughput: f64,
    /// Training wall-clock time.
    pub time: f64,
}

/// A rule of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Memory fits with the required headroom.
    Fits,
    /// Time to first token.
    Ttft,
    /// Time per output token.
    Tpot,
    /// Output tokens per second.
    OutputThroughput,
    /// Requests per second.
    RequestRate,
    /// USD per million output tokens.
    CostPerMillionTokens,
    /// USD per hour.
    CostPerHour,
    /// The required context fits in memory.
    Context,
    /// The workload's context is within the model's trained maximum.
    ModelContext,
    /// Device count.
    Devices,
    /// The parallel layout is valid and on a fast enough link.
    Parallelism,
    /// The weight format is computed natively.
    Format,
    /// Training finishes in time.
    Deadline,
    /// Training costs at most the budget.
    Budget,
    /// 90th-percentile TTFT at the forecast rate.
    TtftP90,
    /// 99th-percentile TTFT at the forecast rate.
    TtftP99,
    /// 90th-percentile TPOT at the forecast rate.
    TpotP90,
    /// 99th-percentile TPOT at the forecast rate.
    TpotP99,
}

impl Rule {
    /// Whether the rule judges a latency (a mean or a percentile under load).
    pub fn is_latency(self) -> bool {
        matches!(self, Self::Ttft | Self::Tpot | Self::TtftP90 | Self::TtftP99 | Self::TpotP90 | Self::TpotP99)
    }

    /// Stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fits => "fits",
            Self::Ttft => "ttft",
            Self::Tpot => "tpot",
            Self::OutputThroughput => "output_throughput",
            Self::RequestRate => "request_rate",
            Self::CostPerMillionTokens => "cost_per_million_tokens",
            Self::CostPerHour => "cost_per_hour",
            Self::Context => "context",
            Self::ModelContext => "model_context",
            Self::Devices => "devices",
            Self::Parallelism => "parallelism",
            Self::Format => "format",
            Self::Deadline => "deadline",
            Self::Budget => "budget",
            Self::TtftP90 => "ttft_p90",
            Self::TtftP99 => "ttft_p99",
            Self::TpotP90 => "tpot_p90",
            Self::TpotP99 => "tpot_p99",
        }
    }
}

/// A rule's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Met, with more margin than the estimate's measured error.
    Pass,
    /// Within the measured error of the limit: may go either way.
    AtRisk,
    /// Cannot be judged: the estimate has no value for it (a cost rule without a price).
    Unknown,
    /// Missed by more than the measured error.
    Fail,
}

impl Status {
    /// Stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::AtRisk => "at_risk",
            Self::Unknown => "unknown",
            Self::Fail => "fail",
        }
    }
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Which rule.
    pub rule: Rule,
    /// Verdict.
    pub status: Status,
    /// The estimated value, in `unit`.
    pub value: f64,
    /// The limit, in `unit` (NaN never: rules without a numeric limit use 1 for true).
    pub limit: f64,
    /// Signed headroom as a fraction of the limit: positive means met.
    pub margin: f64,
    /// The measured relative error used for `AtRisk`.
    pub band: f64,
    /// Unit of `value` and `limit`.
    pub unit: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// Whether the rule limits from above (`value <= limit`) or from below (`value >= limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    AtMost,
    AtLeast,
}

/// Margins are relative to the limit; a limit near 0 would make them overflow (found by
/// fuzzing: a 2.2e-308 requests/s limit gave an infinite margin), so they are capped.
const MAX_MARGIN: f64 = 1e6;

fn verdict(side: Side, value: f64, limit: f64, band: f64) -> (Status, f64) {
    let (status, margin) = verdict_uncapped(side, value, limit, band);
    (status, if margin.is_nan() { 0.0 } else { margin.clamp(-MAX_MARGIN, MAX_MARGIN) })
}

fn verdict_uncapped(side: Side, value: f64, limit: f64, band: f64) -> (Status, f64) {
    let scale = limit.abs().max(f64::MIN_POSITIVE);
    let band = band.clamp(0.0, 0.95);
    match side {
        Side::AtMost => {
            let margin = (limit - value) / scale;
            let status = if value * (1.0 + band) <= limit {
                Status::Pass
            } else if value * (1.0 - band) > limit {
                Status::Fail
            } else {
                Status::AtRisk
            };
            (status, margin)
        }
        Side::AtLeast => {
            let margin = (value - limit) / scale;
            let status = if value * (1.0 - band) >= limit {
                Status::Pass
            } else if value * (1.0 + band) < limit {
                Status::Fail
            } else {
                Status::AtRisk
            };
            (status, margin)
        }
    }
}

/// The first rule a deployment breaks on central estimates, if any: the planner's filter.
/// Comparisons only; allocates nothing.
pub fn admits(req: &Requirements, o: &Observed) -> Result<(), Rule> {
    let usable = o.capacity_bytes * (1.0 - req.memory_headroom);
    if o.memory_bytes > usable {
        return Err(Rule::Fits);
    }
    if o.context_tokens > 0 && o.context_tokens > o.model_max_context {
        return Err(Rule::ModelContext);
    }
    if let Some(min) = req.min_context_tokens
        && (o.max_context_in_memory < min || min > o.model_max_context)
    {
        return Err(Rule::Context);
    }
    if let Some(max) = req.max_devices
        && o.devices > max
    {
        return Err(Rule::Devices);
    }
    let above = |value: Option<f64>, limit: Option<f64>| matches!((value, limit), (Some(v), Some(l)) if v > l);
    let below = |value: Option<f64>, limit: Option<f64>| matches!((value, limit), (Some(v), Some(l)) if v < l);
    // A limit that needs a number the estimate cannot give (a cost without a price) is not met.
    let missing = |value: Option<f64>, limit: Option<f64>| value.is_none() && limit.is_some();
    if above(o.ttft_s, req.max_ttft_s) {
        return Err(Rule::Ttft);
    }
    // Percentile rules judge a replay; without one (the closed-form search) they wait for it.
    if let Some(p) = o.percentiles {
        for (rule, value, limit) in [
            (Rule::TtftP90, p.ttft_p90, req.max_ttft_p90_s),
            (Rule::TtftP99, p.ttft_p99, req.max_ttft_p99_s),
            (Rule::TpotP90, p.tpot_p90, req.max_tpot_p90_s),
            (Rule::TpotP99, p.tpot_p99, req.max_tpot_p99_s),
        ] {
            if above(Some(value), limit) {
                return Err(rule);
            }
        }
    }
    if above(o.tpot_s, req.max_tpot_s) {
        return Err(Rule::Tpot);
    }
    if below(o.output_tokens_per_s, req.min_output_tokens_per_s) {
        return Err(Rule::OutputThroughput);
    }
    if below(o.requests_per_s, o.requests_per_s.and(req.least_rate())) {
        return Err(Rule::RequestRate);
    }
    let per_million = o.usd_per_million_output_tokens;
    if above(per_million, req.max_usd_per_million_output_tokens)
        || missing(per_million, req.max_usd_per_million_output_tokens)
    {
        return Err(Rule::CostPerMillionTokens);
    }
    if above(o.usd_per_hour, req.max_usd_per_hour) || missing(o.usd_per_hour, req.max_usd_per_hour) {
        return Err(Rule::CostPerHour);
    }
    if above(o.days, req.max_days) {
        return Err(Rule::Deadline);
    }
    if above(o.total_usd, req.max_usd) || missing(o.total_usd, req.max_usd) {
        return Err(Rule::Budget);
    }
    Ok(())
}

/// Three significant digits, for messages.
fn round(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

fn gb(bytes: f64) -> f64 {
    bytes / 1e9
}

fn outcome(rule: Rule, side: Side, value: f64, limit: f64, band: f64, unit: &'static str, what: &str) -> Outcome {
    let (status, margin) = verdict(side, value, limit, band);
    let relation = match side {
        Side::AtMost => "at most",
        Side::AtLeast => "at least",
    };
    let mut message = format!("{what}: estimated {} {unit}, must be {relation} {} {unit}", round(value), round(limit));
    match status {
        Status::Pass => {
            let _ = write!(message, " ({:.0}% margin)", margin * 100.0);
        }
        Status::AtRisk => {
            let _ = write!(
                message,
                "; within this estimate's measured error of {:.0}%, so it may go either way",
                band * 100.0
            );
        }
        // A numeric verdict is never unknown; only a missing value is (see `optional`).
        Status::Fail | Status::Unknown => {
            let _ = write!(message, " (missed by {:.0}%)", -margin * 100.0);
        }
    }
    Outcome { rule, status, value, limit, margin, band, unit, message }
}

/// A rule with an optional limit: none without a limit, a failure when the estimate cannot
/// give the number (a cost without a price).
fn optional(
    rule: Rule,
    side: Side,
    value: Option<f64>,
    limit: Option<f64>,
    band: f64,
    unit: &'static str,
    what: &str,
) -> Option<Outcome> {
    let limit = limit?;
    Some(match value {
        Some(v) => outcome(rule, side, v, limit, band, unit, what),
        None => Outcome {
            rule,
            status: Status::Unknown,
            value: 0.0,
            limit,
            margin: 0.0,
            band,
            unit,
            message: format!(
                "{what}: unknown, the device has no price; pass cost.usd_per_device_hour to rent or cost.purchase_usd to own"
            ),
        },
    })
}

/// Every rule that applies, with its verdict. Rules without a limit in `req` are omitted except
/// the ones every deployment must meet (memory, model context, parallelism, format).
pub fn judge(req: &Requirements, o: &Observed, bands: &Bands) -> Vec<Outcome> {
    let usable = o.capacity_bytes * (1.0 - req.memory_headroom);
    let mut out = vec![outcome(
        Rule::Fits,
        Side::AtMost,
        gb(o.memory_bytes),
        gb(usable),
        bands.memory,
        "GB",
        &format!(
            "memory per device, keeping {:.0}% of {:.1} GB free",
            req.memory_headroom * 100.0,
            gb(o.capacity_bytes)
        ),
    )];
    {
        if o.context_tokens > 0 {
            out.push(outcome(
                Rule::ModelContext,
                Side::AtMost,
                o.context_tokens as f64,
                o.model_max_context as f64,
                0.0,
                "tokens",
                "prompt + output within the model's trained context",
            ));
        }
        let available = o.max_context_in_memory.min(o.model_max_context) as f64;
        out.extend(optional(
            Rule::Context,
            Side::AtLeast,
            Some(available),
            req.min_context_tokens.map(|t| t as f64),
            bands.memory,
            "tokens",
            "longest context that fits in memory and the model",
        ));
        out.extend(optional(
            Rule::Devices,
            Side::AtMost,
            Some(o.devices as f64),
            req.max_devices.map(|d| d as f64),
            0.0,
            "devices",
            "devices in all",
        ));
    }
    let ms = |s: Option<f64>| s.map(|s| s * 1e3);
    let load = match req.load_rate() {
        Some(rate) => format!("with Poisson arrivals at {} requests/s", round(rate)),
        None => "of one request on an idle server (no forecast_requests_per_s)".to_owned(),
    };
    for (rule, value, limit, what, band) in [
        (Rule::TtftP90, o.percentiles.map(|p| p.ttft_p90), req.max_ttft_p90_s, "p90 time to first token", bands.ttft),
        (Rule::TtftP99, o.percentiles.map(|p| p.ttft_p99), req.max_ttft_p99_s, "p99 time to first token", bands.ttft),
        (Rule::TpotP90, o.percentiles.map(|p| p.tpot_p90), req.max_tpot_p90_s, "p90 time per output token", bands.tpot),
        (Rule::TpotP99, o.percentiles.map(|p| p.tpot_p99), req.max_tpot_p99_s, "p99 time per output token", bands.tpot),
    ] {
        out.extend(optional(
            rule,
            Side::AtMost,
            ms(value),
            ms(limit),
            band,
            "ms",
            &format!("{what} {load} (continuous-batching replay)"),
        ));
    }
    out.extend(
        [
            optional(
                Rule::Ttft,
                Side::AtMost,
                ms(o.ttft_s),
                ms(req.max_ttft_s),
                bands.ttft,
                "ms",
                &format!("mean time to first token {load} (continuous-batching replay)"),
            ),
            optional(
                Rule::Tpot,
                Side::AtMost,
                ms(o.tpot_s),
                ms(req.max_tpot_s),
                bands.tpot,
                "ms",
                &format!("mean time per output token {load} (continuous-batching replay)"),
            ),
            optional(
                Rule::OutputThroughput,
                Side::AtLeast,
                o.output_tokens_per_s,
                req.min_output_tokens_per_s,
                bands.throughput,
                "tokens/s",
                "output tokens per second, all devices",
            ),
            optional(
                Rule::RequestRate,
                Side::AtLeast,
                o.requests_per_s,
                o.requests_per_s.and(req.least_rate()),
                bands.throughput,
                "requests/s",
                "capacity: the highest Poisson request rate at which the deployment is stable and meets every latency limit",
            ),
            optional(
                Rule::CostPerMillionTokens,
                Side::AtMost,
                o.usd_per_million_output_tokens,
                req.max_usd_per_million_output_tokens,
                bands.throughput,
                "USD",
                "cost per million output tokens",
            ),
            optional(
                Rule::CostPerHour,
                Side::AtMost,
                o.usd_per_hour,
                req.max_usd_per_hour,
                0.0,
                "USD/h",
                "cost per hour",
            ),
            optional(
                Rule::Deadline,
                Side::AtMost,
                o.days,
                req.max_days,
                bands.time,
                "days",
                "wall-clock training time",
            ),
            optional(Rule::Budget, Side::AtMost, o.total_usd, req.max_usd, bands.time, "USD", "training cost"),
        ]
        .into_iter()
        .flatten(),
    );
    out.push(Outcome {
        rule: Rule::Parallelism,
        status: if o.tensor_parallel_over_pcie { Status::AtRisk } else { Status::Pass },
        value: 1.0,
        limit: 1.0,
        margin: 0.0,
        band: 0.0,
        unit: "valid",
        message: if o.tensor_parallel_over_pcie {
            "the layout is valid, but tensor parallelism runs over PCIe: every layer waits on slow all-reduces, and such setups vary widely".into()
        } else {
            "the layout is valid for this model and device".into()
        },
    });
    out.push(Outcome {
        rule: Rule::Format,
        status: if o.native_format { Status::Pass } else { Status::AtRisk },
        value: if o.native_format { 1.0 } else { 0.0 },
        limit: 1.0,
        margin: 0.0,
        band: 0.0,
        unit: "native",
        message: if o.native_format {
            "the weight format is computed natively on this device".into()
        } else {
            "this device has no native kernels for the weight format: it is dequantised, so speed depends on the engine's fallback path".into()
        },
    });
    out
}

/// The overall verdict: the worst rule's.
pub fn overall(outcomes: &[Outcome]) -> Status {
    outcomes.iter().map(|o| o.status).max().unwrap_or(Status::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A least rate too small to replay is an idle server (the fuzzer's 2.2e-308 made a check's
    /// replay produce NaN); a forecast always counts.
    #[test]
    fn a_least_rate_too_small_to_replay_is_an_idle_server() {
        let least = |rate| Requirements { min_requests_per_s: Some(rate), ..Requirements::default() };
        assert_eq!(least(2.2e-308).load_rate(), None);
        assert_eq!(least(0.0).load_rate(), None);
        assert_eq!(least(MIN_REPLAY_REQUESTS_PER_S).load_rate(), Some(MIN_REPLAY_REQUESTS_PER_S));
        let forecast = Requirements { forecast_requests_per_s: Some(2.0), ..least(2.2e-308) };
        assert_eq!(forecast.load_rate(), Some(2.0));
    }

    fn serving() -> Observed {
        Observed {
            memory_bytes: 60e9,
            capacity_bytes: 80e9,
            ttft_s: Some(0.2),
            tpot_s: Some(0.02),
            output_tokens_per_s: Some(1000.0),
            requests_per_s: Some(5.0),
            usd_per_million_output_tokens: Some(2.0),
            usd_per_hour: Some(8.0),
            context_tokens: 2048,
            max_context_in_memory: 100_000,
            model_max_context: 131_072,
            devices: 4,
            native_format: true,
            ..Observed::default()
        }
    }

    fn status(outcomes: &[Outcome], rule: Rule) -> Status {
        outcomes.iter().find(|o| o.rule == rule).map(|o| o.status).unwrap()
    }

    #[test]
    fn clear_margins_pass_and_clear_misses_fail() {
        let bands = Bands { tpot: 0.1, ttft: 0.2, throughput: 0.15, ..Bands::default() };
        let req = Requirements { max_tpot_s: Some(0.05), max_ttft_s: Some(0.1), ..Requirements::default() };
        let outcomes = judge(&req, &serving(), &bands);
        assert_eq!(status(&outcomes, Rule::Tpot), Status::Pass);
        assert_eq!(status(&outcomes, Rule::Ttft), Status::Fail);
        assert_eq!(overall(&outcomes), Status::Fail);
        assert_eq!(admits(&req, &serving()), Err(Rule::Ttft));
    }

    #[test]
    fn estimates_within_the_band_are_at_risk_on_either_side_of_the_limit() {
        let bands = Bands { tpot: 0.2, ..Bands::default() };
        // 20 ms against 21 ms: met, but by less than the 20% measured error.
        let req = Requirements { max_tpot_s: Some(0.021), ..Requirements::default() };
        assert_eq!(status(&judge(&req, &serving(), &bands), Rule::Tpot), Status::AtRisk);
        // 20 ms against 19 ms: missed, but by less than the error.
        let req = Requirements { max_tpot_s: Some(0.019), ..Requirements::default() };
        assert_eq!(status(&judge(&req, &serving(), &bands), Rule::Tpot), Status::AtRisk);
        assert_eq!(overall(&judge(&req, &serving(), &bands)), Status::AtRisk);
        // The planner filters on central estimates.
        assert_eq!(admits(&req, &serving()), Err(Rule::Tpot));
    }

    #[test]
    fn headroom_counts_against_memory() {
        let req = Requirements { memory_headroom: 0.3, ..Requirements::default() };
        assert_eq!(admits(&req, &serving()), Err(Rule::Fits));
        assert_eq!(status(&judge(&req, &serving(), &Bands::default()), Rule::Fits), Status::Fail);
        let req = Requirements { memory_headroom: 0.2, ..Requirements::default() };
        assert_eq!(admits(&req, &serving()), Ok(()));
    }

    #[test]
    fn a_cost_limit_without_a_price_is_unknown_in_a_check_and_never_admitted_by_a_plan() {
        let o = Observed { usd_per_hour: None, usd_per_million_output_tokens: None, ..serving() };
        let req = Requirements { max_usd_per_hour: Some(100.0), ..Requirements::default() };
        // A plan cannot show a configuration meets a cost limit it cannot price.
        assert_eq!(admits(&req, &o), Err(Rule::CostPerHour));
        let outcomes = judge(&req, &o, &Bands::default());
        assert_eq!(status(&outcomes, Rule::CostPerHour), Status::Unknown);
        // Unknown is worse than at risk, better than a failure.
        assert_eq!(overall(&outcomes), Status::Unknown);
        assert!(Status::AtRisk < Status::Unknown && Status::Unknown < Status::Fail);
    }

    #[test]
    fn throughput_floors_use_the_other_side() {
        let req = Requirements { min_requests_per_s: Some(10.0), ..Requirements::default() };
        assert_eq!(admits(&req, &serving()), Err(Rule::RequestRate));
        let outcomes = judge(&req, &serving(), &Bands { throughput: 0.1, ..Bands::default() });
        let rate = outcomes.iter().find(|o| o.rule == Rule::RequestRate).unwrap();
        assert_eq!(rate.status, Status::Fail);
        assert!((rate.margin + 0.5).abs() < 1e-9, "{rate:?}");
    }
}
