//! The limits a check or a plan holds a scenario to (`requirements` in `POST /v1/check`,
//! `POST /v1/plan` and `POST /v1/plan/training`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Error;
use super::range::{self, Checks};
use crate::plan::rules::Requirements;

/// Limits a deployment must meet; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"max_ttft_ms": 1000, "max_tpot_ms": 50, "min_requests_per_s": 2, "memory_headroom_fraction": 0.1, "max_devices": 8}))]
pub struct RequirementsBody {
    /// Longest time to first token, ms.
    pub max_ttft_ms: Option<f64>,
    /// Longest time per output token, ms.
    pub max_tpot_ms: Option<f64>,
    /// Least output tokens per second, all devices.
    pub min_output_tokens_per_s: Option<f64>,
    /// Least requests per second at the request's lengths.
    pub min_requests_per_s: Option<f64>,
    /// Most USD per million output tokens.
    pub max_usd_per_million_output_tokens: Option<f64>,
    /// Most USD per hour for all devices.
    pub max_usd_per_hour: Option<f64>,
    /// Fraction of device memory to keep free, 0 to 0.9 (default 0).
    pub memory_headroom_fraction: Option<f64>,
    /// Context (prompt + output) that must fit, tokens.
    pub min_context_tokens: Option<u64>,
    /// Most devices in all.
    pub max_devices: Option<u64>,
    /// Training: longest wall-clock time, days.
    pub max_days: Option<f64>,
    /// Training: most USD for the run.
    pub max_usd: Option<f64>,
    /// Longest 90th-percentile time to first token at the forecast rate, ms (judged on a
    /// continuous-batching replay with Poisson arrivals).
    pub max_ttft_p90_ms: Option<f64>,
    /// Longest 99th-percentile time to first token at the forecast rate, ms.
    pub max_ttft_p99_ms: Option<f64>,
    /// Longest 90th-percentile time per output token at the forecast rate, ms.
    pub max_tpot_p90_ms: Option<f64>,
    /// Longest 99th-percentile time per output token at the forecast rate, ms.
    pub max_tpot_p99_ms: Option<f64>,
    /// Requests per second the percentile rules are judged at, all devices (default
    /// `min_requests_per_s`).
    pub forecast_requests_per_s: Option<f64>,
}

impl RequirementsBody {
    /// Checks every range; `prefix` is the pointer of this object.
    pub fn parse(&self, prefix: &str) -> Result<Requirements, Error> {
        let mut c = Checks::default();
        let at = |name: &str| format!("{prefix}/{name}");
        let requirements = Requirements {
            max_ttft_s: c.number(at("max_ttft_ms"), range::LATENCY_MS, self.max_ttft_ms).map(|ms| ms / 1e3),
            max_tpot_s: c.number(at("max_tpot_ms"), range::LATENCY_MS, self.max_tpot_ms).map(|ms| ms / 1e3),
            min_output_tokens_per_s: c.number(
                at("min_output_tokens_per_s"),
                range::TOKEN_RATE,
                self.min_output_tokens_per_s,
            ),
            min_requests_per_s: c.number(at("min_requests_per_s"), range::RATE_OR_PRICE, self.min_requests_per_s),
            max_usd_per_million_output_tokens: c.number(
                at("max_usd_per_million_output_tokens"),
                range::RATE_OR_PRICE,
                self.max_usd_per_million_output_tokens,
            ),
            max_usd_per_hour: c.number(at("max_usd_per_hour"), range::RATE_OR_PRICE, self.max_usd_per_hour),
            memory_headroom: c
                .number(at("memory_headroom_fraction"), range::HEADROOM, self.memory_headroom_fraction)
                .unwrap_or(0.0),
            min_context_tokens: c.opt_int(at("min_context_tokens"), range::CONTEXT_TOKENS, self.min_context_tokens),
            max_devices: c.opt_int(at("max_devices"), range::MAX_DEVICES, self.max_devices),
            max_days: c.number(at("max_days"), range::DAYS, self.max_days),
            max_usd: c.number(at("max_usd"), range::RUN_USD, self.max_usd),
            max_ttft_p90_s: c.number(at("max_ttft_p90_ms"), range::LATENCY_MS, self.max_ttft_p90_ms).map(|ms| ms / 1e3),
            max_ttft_p99_s: c.number(at("max_ttft_p99_ms"), range::LATENCY_MS, self.max_ttft_p99_ms).map(|ms| ms / 1e3),
            max_tpot_p90_s: c.number(at("max_tpot_p90_ms"), range::LATENCY_MS, self.max_tpot_p90_ms).map(|ms| ms / 1e3),
            max_tpot_p99_s: c.number(at("max_tpot_p99_ms"), range::LATENCY_MS, self.max_tpot_p99_ms).map(|ms| ms / 1e3),
            forecast_requests_per_s: c.number(
                at("forecast_requests_per_s"),
                range::ARRIVAL_RATE,
                self.forecast_requests_per_s,
            ),
        };
        // Without a forecast, percentile rules replay at `min_requests_per_s`: a replay rate.
        if requirements.has_percentiles()
            && requirements.forecast_requests_per_s.is_none()
            && let Some(rate) = requirements.min_requests_per_s.filter(|r| *r > 0.0 && *r < range::ARRIVAL_RATE.min)
        {
            c.push(
                at("min_requests_per_s"),
                format!(
                    "percentile rules replay arrivals at this rate, which must be at least {} requests per second (one every 1000 s), got {rate}; give forecast_requests_per_s",
                    range::ARRIVAL_RATE.min
                ),
            );
        }
        c.finish()?;
        if requirements.has_percentiles()
            && requirements.forecast_requests_per_s.is_none()
            && requirements.min_requests_per_s.is_none_or(|r| r <= 0.0)
        {
            return Err(Error::field(
                at("forecast_requests_per_s"),
                "percentile rules are judged at a request rate: give forecast_requests_per_s or min_requests_per_s",
            ));
        }
        Ok(requirements)
    }
}
