//! GuideLLM reports (`guidellm benchmark --output-path benchmarks.json`,
//! `GenerativeBenchmarksReport`).
//!
//! Two layouts are read:
//! - no `metadata` key (guidellm 0.2 and 0.3): `{"benchmarks": [...]}`;
//! - `metadata.version` 1 (later releases, with `metadata.guidellm_version` and a top-level `args`).
//!
//! Any other `metadata.version` is refused, naming the field. Each benchmark has
//! `metrics.{time_to_first_token_ms, time_per_output_token_ms, inter_token_latency_ms,
//! request_latency (s), output_tokens_per_second, requests_per_second, prompt_token_count,
//! output_token_count}`, each a status distribution summary whose `successful` member holds
//! `mean`, `median` and `percentiles.{p90, p99, ...}`; the strategy that paced it
//! (`args.strategy` or `config.strategy`: `type_` synchronous / concurrent / throughput /
//! constant / poisson, with `rate` or `streams`); and `requests.successful[]` with per-request
//! `prompt_tokens`, `output_tokens`, `time_to_first_token_ms`, `request_latency` (s) and a send
//! time (`start_time` in 0.2, `scheduler_info.request_timings.request_start` in 0.3,
//! `info.timings.request_start` later).
//!
//! Definitions differ from vLLM's (see the notes the reader writes):
//! - `time_per_output_token_ms` is never mapped: in 0.2 it is `(last_token - first_token) /
//!   output_tokens`, from 0.3 on `(last_token - request_start) / output_tokens`, which includes
//!   the time to the first token; neither is vLLM's TPOT.
//! - `inter_token_latency_ms` per request is `(last_token - first_token) / (output_tokens - 1)`,
//!   vLLM's TPOT of that request; 0.2 and 0.3 aggregate it weighted by `output_tokens - 1`, so
//!   its mean is the pooled gap, vLLM's mean ITL; it is read as ITL for those layouts. Later
//!   releases changed the weighting, so for them it is not mapped.
//! - TPOT is computed from `requests.successful[]` where present: per request
//!   `(request_latency - ttft) / (output_tokens - 1)`, vLLM's definition exactly.

use super::{Arrival, MAX_REQUESTS, MeasuredRequest, MeasuredRun, MetricKind, Node, ReadError, Summary, Tool, mean};
use serde_json::Value;

/// Which report layout a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// No `metadata`: guidellm 0.2 or 0.3.
    Unversioned,
    /// `metadata.version` 1.
    V1,
}

/// Reads every benchmark of a GuideLLM report.
pub fn read(value: &Value) -> Result<Vec<MeasuredRun>, ReadError> {
    let doc = Node::root(value);
    let (layout, version) = match doc.get("metadata") {
        None => (Layout::Unversioned, None),
        Some(meta) => {
            let v = meta.req("version")?;
            match v.value.as_u64() {
                Some(1) => (Layout::V1, meta.opt_str("guidellm_version")),
                _ => {
                    return Err(v.err(format!(
                        "GuideLLM report schema version {} is not read; read are the unversioned layout of guidellm 0.2-0.3 and version 1",
                        v.value
                    )));
                }
            }
        }
    };
    let benchmarks = doc.req("benchmarks")?.items()?;
    if benchmarks.is_empty() {
        return Err(doc.req("benchmarks")?.err("no benchmarks in the report"));
    }
    let top_model = doc.get("args").and_then(|a| a.opt_str("model"));
    benchmarks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut run = benchmark(b, layout, &format!("benchmarks/{i}"))?;
            run.tool_version = version.clone();
            if run.conditions.model.is_none() {
                run.conditions.model = top_model.clone();
            }
            Ok(run)
        })
        .collect()
}

/// The `successful` member of a status distribution summary, in `scale` times its unit.
fn distribution(metrics: &Node, key: &str, scale: f64) -> Result<Summary, ReadError> {
    let Some(d) = metrics.get(key) else {
        return Ok(Summary::default());
    };
    let s = d.req("successful")?;
    let p = s.get("percentiles");
    let pct =
        |k: &str| -> Result<Option<f64>, ReadError> { Ok(p.as_ref().map(|p| p.opt_num(k)).transpose()?.flatten()) };
    let scaled = |x: Option<f64>| x.map(|x| x * scale);
    Ok(Summary {
        mean: scaled(s.opt_num("mean")?),
        median: scaled(s.opt_num("median")?.or(pct("p50")?)),
        p90: scaled(pct("p90")?),
        p99: scaled(pct("p99")?),
    })
}

fn benchmark(b: &Node, layout: Layout, label: &str) -> Result<MeasuredRun, ReadError> {
    let mut run = MeasuredRun::new(Tool::GuideLlm, label);
    let metrics = b.req("metrics")?;
    run.conditions.model = b.get("worker").and_then(|w| w.opt_str("backend_model"));
    run.conditions.duration_s = b.opt_num("duration")?;
    if run.conditions.duration_s.is_none()
        && let (Some(start), Some(end)) = (b.opt_num("start_time")?, b.opt_num("end_time")?)
    {
        run.conditions.duration_s = Some((end - start).max(0.0));
    }
    run.conditions.input_tokens_mean = distribution(&metrics, "prompt_token_count", 1.0)?.mean;
    run.conditions.output_tokens_mean = distribution(&metrics, "output_token_count", 1.0)?.mean;
    run.conditions.arrival = arrival(b, &mut run.notes)?;

    let requests = requests(b)?;
    run.push(
        MetricKind::TpotMs,
        tpot_from(&requests),
        "hwcost from requests.successful[]: per request (request_latency - time_to_first_token_ms) / (output_tokens - 1), vLLM's TPOT",
    );
    run.push(
        MetricKind::TtftMs,
        distribution(&metrics, "time_to_first_token_ms", 1.0)?,
        "GuideLLM time_to_first_token_ms: request start to first token, ms, over successful requests (hwcost's definition)",
    );
    run.push(
        MetricKind::E2eMs,
        distribution(&metrics, "request_latency", 1000.0)?,
        "GuideLLM request_latency: request start to end, seconds, here in ms (hwcost's definition)",
    );
    match layout {
        Layout::Unversioned => run.push(
            MetricKind::ItlMs,
            distribution(&metrics, "inter_token_latency_ms", 1.0)?,
            "GuideLLM 0.2/0.3 inter_token_latency_ms: per request (last_token - first_token) / (output_tokens - 1), aggregated weighted by output_tokens - 1, so the mean is the pooled gap (vLLM's mean ITL); its percentiles are of per-request averages, smoother than vLLM's per-gap ITL percentiles",
        ),
        Layout::V1 => run.notes.push(
            "inter_token_latency_ms not mapped: its aggregation weighting changed between releases of this layout (TPOT is computed from the requests where the report keeps them)".to_owned(),
        ),
    }
    run.notes.push(
        "time_per_output_token_ms not mapped: 0.2 divides (last_token - first_token) by all output tokens, 0.3 and later include the time to the first token; neither is vLLM's TPOT".to_owned(),
    );
    run.push(
        MetricKind::OutputTokensPerSecond,
        distribution(&metrics, "output_tokens_per_second", 1.0)?,
        "GuideLLM output_tokens_per_second: output tokens per second over the benchmark (the mean; its percentiles are over time windows)",
    );
    run.push(
        MetricKind::RequestsPerSecond,
        distribution(&metrics, "requests_per_second", 1.0)?,
        "GuideLLM requests_per_second: completed requests per second over the benchmark (the mean; its percentiles are over time windows)",
    );
    run.conditions.completed = metrics
        .get("request_latency")
        .and_then(|d| d.get("successful"))
        .map(|s| s.opt_count("count"))
        .transpose()?
        .flatten();
    if !requests.is_empty() {
        run.notes.push(format!(
            "{} successful requests kept (GuideLLM may keep only a sample: --output-sampling); arrival_s from their send times",
            requests.len()
        ));
    }
    run.requests = requests;
    Ok(run)
}

fn arrival(b: &Node, notes: &mut Vec<String>) -> Result<Option<Arrival>, ReadError> {
    let strategy =
        b.get("args").and_then(|a| a.get("strategy")).or_else(|| b.get("config").and_then(|c| c.get("strategy")));
    let Some(s) = strategy else {
        return Ok(None);
    };
    let kind = s.opt_str("type_").unwrap_or_default();
    Ok(match kind.as_str() {
        "synchronous" => Some(Arrival::Concurrency(1)),
        "concurrent" => Some(Arrival::Concurrency(s.req("streams")?.count()?)),
        "throughput" => Some(Arrival::Unbounded { max_concurrency: s.opt_count("max_concurrency")? }),
        "constant" | "poisson" => {
            let rate = s.req("rate")?;
            let per_second = rate.num()?;
            if per_second == 0.0 {
                return Err(rate.err("a request rate of 0 sends nothing"));
            }
            Some(Arrival::Rate {
                per_second,
                burstiness: (kind == "poisson").then_some(1.0),
                max_concurrency: s.opt_count("max_concurrency")?,
            })
        }
        other => {
            notes.push(format!("strategy type_ `{other}` not read as an arrival pattern"));
            Some(Arrival::NotStated)
        }
    })
}

/// The send time of a request record, in any of the three layouts.
fn send_time(r: &Node) -> Result<Option<f64>, ReadError> {
    if let Some(t) = r.opt_num("start_time")? {
        return Ok(Some(t));
    }
    for outer in ["scheduler_info", "info"] {
        let timings = r.get(outer).and_then(|o| o.get("request_timings").or_else(|| o.get("timings")));
        if let Some(t) = timings {
            return t.opt_num("request_start");
        }
    }
    Ok(None)
}

fn requests(b: &Node) -> Result<Vec<MeasuredRequest>, ReadError> {
    let Some(successful) = b.get("requests").and_then(|r| r.get("successful")) else {
        return Ok(Vec::new());
    };
    let items = successful.items()?;
    if items.len() > MAX_REQUESTS {
        return Err(successful.err(format!("{} requests; at most {MAX_REQUESTS} are read", items.len())));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut sent = Vec::with_capacity(items.len());
    for r in &items {
        let output_tokens = r.req("output_tokens")?.count()?;
        out.push(MeasuredRequest {
            arrival_s: None,
            input_tokens: r.req("prompt_tokens")?.count()?,
            output_tokens,
            ttft_ms: r.opt_num("time_to_first_token_ms")?,
            e2e_ms: r.opt_num("request_latency")?.map(|s| s * 1000.0),
        });
        sent.push(send_time(r)?);
    }
    if let Some(first) = sent.iter().flatten().copied().reduce(f64::min) {
        for (r, t) in out.iter_mut().zip(&sent) {
            r.arrival_s = t.map(|t| t - first);
        }
    }
    out.sort_by(|a, b| a.arrival_s.unwrap_or(0.0).total_cmp(&b.arrival_s.unwrap_or(0.0)));
    Ok(out)
}

/// vLLM's TPOT statistics over requests with two or more output tokens.
pub(crate) fn tpot_from(requests: &[MeasuredRequest]) -> Summary {
    let mut tpots: Vec<f64> = requests
        .iter()
        .filter(|r| r.output_tokens > 1)
        .filter_map(|r| Some(((r.e2e_ms? - r.ttft_ms?) / (r.output_tokens - 1) as f64).max(0.0)))
        .collect();
    tpots.sort_by(f64::total_cmp);
    Summary {
        mean: mean(&tpots),
        median: percentile(&tpots, 50.0),
        p90: percentile(&tpots, 90.0),
        p99: percentile(&tpots, 99.0),
    }
}

/// Linear-interpolated percentile of sorted values (numpy's default, which vLLM uses).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = p / 100.0 * (n - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 3, 4], 90) = 3.7
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 90.0).unwrap() - 3.7).abs() < 1e-12);
        assert_eq!(percentile(&[5.0], 99.0), Some(5.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn tpot_excludes_the_first_token() {
        // e2e 1100 ms, ttft 100 ms, 11 tokens: 1000 ms over 10 gaps = 100 ms.
        let r = MeasuredRequest {
            arrival_s: None,
            input_tokens: 5,
            output_tokens: 11,
            ttft_ms: Some(100.0),
            e2e_ms: Some(1100.0),
        };
        let one = MeasuredRequest { output_tokens: 1, ..r };
        assert_eq!(tpot_from(&[r, one]).mean, Some(100.0));
    }

    #[test]
    fn an_unknown_schema_version_is_refused_by_name() {
        let doc = serde_json::json!({"metadata": {"version": 2}, "benchmarks": []});
        let e = read(&doc).unwrap_err();
        assert_eq!(e.field, "/metadata/version");
        assert!(e.problem.contains("version 2"), "{e}");
    }
}
