//! llm-d benchmark reports, schema v0.1 (`llm-d-benchmark`, `workload/report/benchmark_report_v0_1.py`,
//! written as YAML or JSON).
//!
//! `version: "0.1"`; `scenario.{model.name, host.{accelerator[] {model, count, parallelism {tp,
//! pp, dp, ep}}, type[] (replica | prefill | decode)}, platform.engine[] {name, version}, load
//! {name (the workload generator), args}}`; `metrics.{time.duration (s), requests.{total,
//! failures, input_length, output_length}, latency.{time_to_first_token, time_per_output_token,
//! inter_token_latency, request_latency}, throughput.{output_tokens_per_sec, requests_per_sec}}`,
//! where each statistic carries its `units` (`ms`/`s`, `ms/token`/`s/token`, `count`) and `mean`,
//! `p50`, `p90`, `p99`. The schema defines TPOT and ITL as excluding the first token but says
//! they may differ by harness: the note names the harness whose numbers these are.

use super::{Arrival, Layout, MeasuredRun, MetricKind, Node, ReadError, Summary, Tool};
use serde_json::Value;

/// Reads an llm-d v0.1 benchmark report.
pub fn read(value: &Value) -> Result<MeasuredRun, ReadError> {
    let doc = Node::root(value);
    let version = doc.req("version")?;
    let v = version.opt_str_self();
    if v.as_deref() != Some("0.1") {
        return Err(version.err(format!("llm-d benchmark report version {} is not read; read is 0.1", version.value)));
    }
    let mut run = MeasuredRun::new(Tool::LlmD, "");
    run.tool_version = Some("0.1".to_owned());
    let scenario = doc.req("scenario")?;
    let metrics = doc.req("metrics")?;
    let c = &mut run.conditions;
    let name = scenario.req("model")?.req("name")?;
    c.model = Some(name.opt_str_self().ok_or_else(|| name.err("expected a string"))?);

    if let Some(host) = scenario.get("host") {
        let accelerators = host.req("accelerator")?.items()?;
        let mut models = Vec::new();
        let mut count = 0u64;
        for a in &accelerators {
            let model = a.req("model")?;
            models.push(model.opt_str_self().ok_or_else(|| model.err("expected a string"))?);
            count += a.req("count")?.count()?;
        }
        models.dedup();
        if models.len() == 1 {
            c.device = models.pop();
        } else if !models.is_empty() {
            run.notes.push(format!("several accelerator models ({}): device left unstated", models.join(", ")));
        }
        c.devices = u32::try_from(count).ok().filter(|&n| n > 0);
        let types: Vec<String> = host
            .get("type")
            .map(|t| t.items())
            .transpose()?
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.opt_str_self())
            .collect();
        if accelerators.len() == 1 {
            if let Some(p) = accelerators[0].get("parallelism") {
                let degree = |k: &str| -> Result<u32, ReadError> {
                    Ok(p.opt_count(k)?.map_or(1, |d| u32::try_from(d).unwrap_or(u32::MAX)).max(1))
                };
                c.layout = Some(Layout {
                    tensor: degree("tp")?,
                    pipeline: degree("pp")?,
                    data: degree("dp")?,
                    expert: degree("ep")?,
                });
            }
        } else if accelerators.len() > 1 {
            run.notes.push(format!(
                "{} host groups ({}): a disaggregated or mixed deployment; layout left unstated, devices summed",
                accelerators.len(),
                types.join(", ")
            ));
        }
    }
    if let Some(engine) = scenario
        .get("platform")
        .map(|p| p.req("engine"))
        .transpose()?
        .map(|e| e.items())
        .transpose()?
        .and_then(|e| e.into_iter().next())
    {
        c.engine = engine.opt_str("name");
        c.engine_version = engine.opt_str("version");
    }
    let load = scenario.req("load")?;
    let harness = load.req("name")?.opt_str_self().unwrap_or_default();
    if let Some(args) = load.get("args") {
        let rate = args.opt_num("request_rate").ok().flatten().or(args.opt_num("rate").ok().flatten());
        let concurrency =
            args.opt_count("max_concurrency").ok().flatten().or(args.opt_count("concurrency").ok().flatten());
        c.arrival = match (rate, concurrency) {
            (Some(r), mc) if r > 0.0 => Some(Arrival::Rate { per_second: r, burstiness: None, max_concurrency: mc }),
            (None, Some(n)) => Some(Arrival::Concurrency(n)),
            _ => None,
        };
        if c.arrival.is_some() {
            run.notes.push(format!("arrival from scenario.load.args of the `{harness}` harness"));
        }
    }

    c.duration_s = metrics.get("time").map(|t| t.opt_num("duration")).transpose()?.flatten();
    let requests = metrics.req("requests")?;
    let total = requests.req("total")?.count()?;
    let failures = requests.opt_count("failures")?.unwrap_or(0) + requests.opt_count("incomplete")?.unwrap_or(0);
    c.completed = Some(total.saturating_sub(failures));
    c.failed = Some(failures);
    c.input_tokens_mean = statistics(&requests, "input_length", Units::Count)?.mean;
    c.output_tokens_mean = statistics(&requests, "output_length", Units::Count)?.mean;

    let latency = metrics.req("latency")?;
    let from = format!("llm-d report of the `{harness}` harness");
    run.push(
        MetricKind::TtftMs,
        statistics(&latency, "time_to_first_token", Units::Time)?,
        format!("{from}, latency.time_to_first_token (hwcost's definition), ms"),
    );
    run.push(
        MetricKind::TpotMs,
        statistics(&latency, "time_per_output_token", Units::PerToken)?,
        format!("{from}, latency.time_per_output_token: the schema's TPOT excludes the first token; the harness's own definition applies (vllm-benchmark: vLLM's, hwcost's)"),
    );
    run.push(
        MetricKind::ItlMs,
        statistics(&latency, "inter_token_latency", Units::PerToken)?,
        format!("{from}, latency.inter_token_latency: between output tokens, excluding the first; the harness's own definition applies (vllm-benchmark: vLLM's, hwcost's)"),
    );
    run.push(
        MetricKind::E2eMs,
        statistics(&latency, "request_latency", Units::Time)?,
        format!("{from}, latency.request_latency (hwcost's definition), ms"),
    );
    if latency.get("normalized_time_per_output_token").is_some() {
        run.notes.push("latency.normalized_time_per_output_token (includes the first token) not mapped".to_owned());
    }
    if let Some(t) = metrics.get("throughput") {
        if let Some(x) = t.opt_num("output_tokens_per_sec")? {
            run.push(
                MetricKind::OutputTokensPerSecond,
                Summary { mean: Some(x), ..Summary::default() },
                format!("{from}, throughput.output_tokens_per_sec"),
            );
        }
        if let Some(x) = t.opt_num("requests_per_sec")? {
            run.push(
                MetricKind::RequestsPerSecond,
                Summary { mean: Some(x), ..Summary::default() },
                format!("{from}, throughput.requests_per_sec"),
            );
        }
    }
    Ok(run)
}

#[derive(Clone, Copy)]
enum Units {
    Count,
    Time,
    PerToken,
}

/// A `Statistics` block in ms (or tokens for counts), its `units` checked.
fn statistics(parent: &Node, key: &str, units: Units) -> Result<Summary, ReadError> {
    let Some(s) = parent.get(key) else {
        return Ok(Summary::default());
    };
    let u = s.req("units")?;
    let unit = u.opt_str_self().unwrap_or_default();
    let scale = match (units, unit.as_str()) {
        (Units::Count, "count") => 1.0,
        (Units::Time, "ms") | (Units::PerToken, "ms/token") => 1.0,
        (Units::Time, "s") | (Units::PerToken, "s/token") => 1000.0,
        _ => {
            let allowed = match units {
                Units::Count => "count",
                Units::Time => "ms or s",
                Units::PerToken => "ms/token or s/token",
            };
            return Err(u.err(format!("units `{unit}` not read here; expected {allowed}")));
        }
    };
    let x = |k: &str| -> Result<Option<f64>, ReadError> { Ok(s.opt_num(k)?.map(|v| v * scale)) };
    Ok(Summary { mean: Some(s.req("mean")?.num()? * scale), median: x("p50")?, p90: x("p90")?, p99: x("p99")? })
}
