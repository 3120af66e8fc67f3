//! genai-perf `profile_export_genai_perf.json` and AIPerf `profile_export_aiperf.json`.
//!
//! One object per metric at the top level, each `{unit, avg, p50, p90, p99, min, max, std, ...}`:
//! `time_to_first_token`, `inter_token_latency`, `request_latency` (`ms`), `output_token_throughput`
//! (`tokens/sec`), `request_throughput` (`requests/sec`), `input_sequence_length`,
//! `output_sequence_length` (`tokens`); and `input_config`, the arguments of the run: genai-perf's
//! flat CLI arguments (`model` list, `concurrency`, `request_rate`), its later config layout
//! (`model_names`, `perf_analyzer.stimulus.{concurrency, request_rate}`), or AIPerf's
//! (`models.items[].name`, `loadgen.{concurrency, request_rate}`).
//!
//! genai-perf and AIPerf define `inter_token_latency` per request as `(request_latency - ttft) /
//! (output_sequence_length - 1)`, averaged over requests: that is vLLM's TPOT, so it is read as
//! TPOT (not as vLLM's pooled ITL).

use super::{Arrival, MeasuredRun, MetricKind, Node, ReadError, Summary, Tool};
use serde_json::Value;

#[derive(Clone, Copy)]
enum Units {
    Time,
    Tokens,
    TokensPerSecond,
    RequestsPerSecond,
}

fn metric(doc: &Node, key: &str, units: Units) -> Result<Summary, ReadError> {
    let Some(m) = doc.get(key) else {
        return Ok(Summary::default());
    };
    let u = m.req("unit")?;
    let unit = u.opt_str_self().unwrap_or_default();
    let scale = match (units, unit.as_str()) {
        (Units::Time, "ms") | (Units::Tokens, "tokens") => 1.0,
        (Units::Time, "s" | "sec") => 1000.0,
        (Units::Time, "us") => 1e-3,
        (Units::Time, "ns") => 1e-6,
        (Units::TokensPerSecond, "tokens/sec" | "tokens/s") => 1.0,
        (Units::RequestsPerSecond, "requests/sec" | "requests/s") => 1.0,
        _ => {
            let allowed = match units {
                Units::Time => "ms, s, us or ns",
                Units::Tokens => "tokens",
                Units::TokensPerSecond => "tokens/sec",
                Units::RequestsPerSecond => "requests/sec",
            };
            return Err(u.err(format!("unit `{unit}` not read here; expected {allowed}")));
        }
    };
    let x = |k: &str| -> Result<Option<f64>, ReadError> { Ok(m.opt_num(k)?.map(|v| v * scale)) };
    Ok(Summary { mean: x("avg")?, median: x("p50")?, p90: x("p90")?, p99: x("p99")? })
}

/// Reads a genai-perf or AIPerf profile export.
pub fn read(value: &Value) -> Result<MeasuredRun, ReadError> {
    let doc = Node::root(value);
    let mut run = MeasuredRun::new(Tool::GenaiPerf, "");
    let config = doc.get("input_config");
    if let Some(cfg) = &config {
        let aiperf = cfg.get("models").is_some_and(|m| m.get("items").is_some());
        let c = &mut run.conditions;
        c.model = if aiperf {
            cfg.req("models")?.req("items")?.items()?.first().and_then(|m| m.opt_str("name"))
        } else {
            let names = cfg.get("model").or_else(|| cfg.get("model_names"));
            names.and_then(|n| match n.value {
                Value::Array(_) => n.items().ok()?.first().and_then(|m| m.opt_str_self()),
                _ => n.opt_str_self(),
            })
        };
        let stimulus = if aiperf {
            cfg.get("loadgen")
        } else {
            cfg.get("perf_analyzer").and_then(|p| p.get("stimulus")).or_else(|| config.clone())
        };
        if let Some(s) = stimulus {
            let rate = s.opt_num("request_rate")?;
            let concurrency = s.opt_count("concurrency")?;
            c.arrival = match (rate, concurrency) {
                (Some(r), _) if r > 0.0 => {
                    Some(Arrival::Rate { per_second: r, burstiness: None, max_concurrency: None })
                }
                (_, Some(n)) if n > 0 => Some(Arrival::Concurrency(n)),
                _ => None,
            };
        }
        run.notes.push(format!(
            "written by {}; the server's engine, device and layout are not stated in the export",
            if aiperf { "AIPerf" } else { "genai-perf" }
        ));
    }
    let ttft = metric(&doc, "time_to_first_token", Units::Time)?;
    let e2e = metric(&doc, "request_latency", Units::Time)?;
    if ttft.mean.is_none() && e2e.mean.is_none() {
        return Err(ReadError::new(
            "/request_latency",
            "missing (neither time_to_first_token nor request_latency is in the export)",
        ));
    }
    run.push(
        MetricKind::TtftMs,
        ttft,
        "genai-perf time_to_first_token: request sent to first response token (hwcost's definition)",
    );
    run.push(
        MetricKind::TpotMs,
        metric(&doc, "inter_token_latency", Units::Time)?,
        "genai-perf inter_token_latency: per request (request_latency - ttft) / (output_sequence_length - 1), averaged over requests = vLLM's TPOT (not vLLM's pooled ITL)",
    );
    run.push(MetricKind::E2eMs, e2e, "genai-perf request_latency: request sent to last response (hwcost's definition)");
    run.push(
        MetricKind::OutputTokensPerSecond,
        metric(&doc, "output_token_throughput", Units::TokensPerSecond)?,
        "genai-perf output_token_throughput: all output tokens over the measurement window",
    );
    run.push(
        MetricKind::RequestsPerSecond,
        metric(&doc, "request_throughput", Units::RequestsPerSecond)?,
        "genai-perf request_throughput: completed requests over the measurement window",
    );
    run.conditions.input_tokens_mean = metric(&doc, "input_sequence_length", Units::Tokens)?.mean;
    run.conditions.output_tokens_mean = metric(&doc, "output_sequence_length", Units::Tokens)?.mean;
    Ok(run)
}
