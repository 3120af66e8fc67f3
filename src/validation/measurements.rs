//! `hwcost validate --measurements FILE...`: hwcost's error on a user's own benchmark results.
//!
//! Each run read by [`crate::import::benchmarks`] is replayed with the serving simulator at the
//! run's arrival pattern and lengths (its per-request trace where the file records send times),
//! on the deployment the request names: the file rarely states the device or the layout, so
//! `model` and `hardware` come from the request, and what the file states (device count, tensor
//! and pipeline degrees) is used where the request leaves it out. What neither states is an
//! error naming it. No fitting here: the profile is the default one.

use serde_json::{Value, json};

use crate::catalog::Catalog;
use crate::engine::inference::InferenceInput;
use crate::engine::serving::{self, ServingEstimate};
use crate::import::benchmarks::{Arrival, MeasuredRun, MetricKind};
use crate::scenario::range;
use crate::scenario::serving::{ServingRequest, ServingScenario};

/// The deployment a run is replayed on: what the request supplies.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// Catalog model id or alias (default: the model the file names).
    pub model: Option<String>,
    /// Catalog device id (default: the device the file names).
    pub hardware: Option<String>,
    /// Devices (default: the file's count, else 1).
    pub devices: Option<u32>,
    /// Engine (and release), as a request's `engine`.
    pub engine: Option<String>,
    /// Weight format, as a request's `weights`.
    pub weights: Option<String>,
    /// A fitted engine profile (`hwcost calibrate`'s), as a request's `engine_profile`.
    pub engine_profile: Option<crate::scenario::engine_profile::EngineProfileBody>,
}

/// The most requests one run is replayed with (the replay's time grows with them).
pub const MAX_REPLAYED: u64 = 2000;

/// One compared number.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// The run's label (`benchmarks/1`) or `""`.
    pub run: String,
    /// The metric.
    pub metric: MetricKind,
    /// `mean`, `median`, `p90` or `p99`.
    pub statistic: &'static str,
    /// The file's number, in the metric's unit.
    pub measured: f64,
    /// hwcost's.
    pub predicted: f64,
    /// `(predicted - measured) / measured`.
    pub error: f64,
}

/// The serving request that replays `run` on `given`.
pub fn request(run: &MeasuredRun, given: &Given) -> Result<Value, String> {
    let c = &run.conditions;
    let model = given.model.as_ref().or(c.model.as_ref()).ok_or("the file names no model: give model")?;
    let hardware = given.hardware.as_ref().or(c.device.as_ref()).ok_or("the file names no device: give hardware")?;
    let mut deployment = json!({"model": model, "hardware": hardware});
    let devices = given.devices.or(c.devices).unwrap_or(1);
    deployment["devices"] = json!(devices);
    if given.devices.is_none()
        && let Some(l) = c.layout
    {
        deployment["parallelism"] = json!({"tensor": l.tensor, "pipeline": l.pipeline});
    }
    if let Some(e) = &given.engine {
        deployment["engine"] = json!(e);
    }
    if let Some(w) = &given.weights {
        deployment["weights"] = json!(w);
    }
    if let Some(p) = &given.engine_profile {
        deployment["engine_profile"] = json!(p);
    }
    let timed: Vec<_> = run.requests.iter().filter_map(|r| r.arrival_s.map(|t| (t, r))).collect();
    let workload = if !timed.is_empty() && timed.len() == run.requests.len() {
        let cap = range::REPLAY_REQUESTS.max as usize;
        let trace: Vec<Value> = timed
            .iter()
            .take(cap.min(MAX_REPLAYED as usize))
            .map(|(t, r)| json!({"arrival_s": t, "input_tokens": r.input_tokens, "output_tokens": r.output_tokens.max(1)}))
            .collect();
        json!({"arrival": "trace", "trace": trace})
    } else {
        let input = c.input_tokens_mean.ok_or("the file states no input lengths (input_tokens)")?;
        let output = c.output_tokens_mean.ok_or("the file states no output lengths (output_tokens)")?;
        let requests = c.completed.unwrap_or(1000).clamp(1, MAX_REPLAYED);
        let mut w = json!({
            "input_tokens": (input.round() as u64).max(1),
            "output_tokens": (output.round() as u64).max(1),
            "requests": requests,
        });
        match c.arrival {
            Some(Arrival::Rate { per_second, .. }) => {
                w["arrival"] = json!("poisson");
                w["requests_per_s"] = json!(per_second);
            }
            Some(Arrival::Concurrency(n)) | Some(Arrival::Unbounded { max_concurrency: Some(n) }) => {
                w["arrival"] = json!("concurrency");
                w["concurrency"] = json!(n);
            }
            Some(Arrival::Unbounded { max_concurrency: None }) => w["arrival"] = json!("offline"),
            Some(Arrival::NotStated) | None => {
                return Err("the file states no arrival pattern (request rate or concurrency)".to_owned());
            }
        }
        w
    };
    deployment["workload"] = workload;
    Ok(deployment)
}

fn predicted(e: &ServingEstimate, kind: MetricKind) -> [Option<f64>; 4] {
    let ms = |p: &serving::Percentiles| [Some(p.mean * 1e3), Some(p.p50 * 1e3), Some(p.p90 * 1e3), Some(p.p99 * 1e3)];
    match kind {
        MetricKind::TtftMs => ms(&e.ttft),
        MetricKind::TpotMs => ms(&e.tpot),
        MetricKind::ItlMs => ms(&e.itl),
        MetricKind::E2eMs => ms(&e.e2e),
        MetricKind::OutputTokensPerSecond => [Some(e.output_tokens_per_s), None, None, None],
        MetricKind::RequestsPerSecond => [Some(e.requests_per_s), None, None, None],
    }
}

/// The serving scenario that replays `run` on `given` (a colocated deployment).
pub fn scenario(catalog: &Catalog, run: &MeasuredRun, given: &Given) -> Result<ServingScenario, String> {
    parse(catalog, request(run, given)?)
}

/// The serving scenario of a replay's request body ([`request`]'s, perhaps trimmed).
pub fn parse(catalog: &Catalog, body: Value) -> Result<ServingScenario, String> {
    let request: ServingRequest = serde_json::from_value(body).map_err(|e| e.to_string())?;
    let scenario = ServingScenario::parse(catalog, &request, "").map_err(|e| e.to_string())?;
    if scenario.disaggregation.is_some() {
        return Err("a disaggregated deployment is not replayed here".to_owned());
    }
    Ok(scenario)
}

/// Every number `run` measured beside hwcost's from `estimate` (the replay of the run).
pub fn numbers(run: &MeasuredRun, estimate: &ServingEstimate) -> Vec<Compared> {
    let mut out = Vec::new();
    for m in &run.metrics {
        let s = m.summary;
        let measured = [s.mean, s.median, s.p90, s.p99];
        for ((stat, measured), predicted) in STATISTICS.into_iter().zip(measured).zip(predicted(estimate, m.kind)) {
            if let (Some(measured), Some(predicted)) = (measured, predicted)
                && measured > 0.0
            {
                out.push(Compared {
                    run: run.label.clone(),
                    metric: m.kind,
                    statistic: stat,
                    measured,
                    predicted,
                    error: (predicted - measured) / measured,
                });
            }
        }
    }
    out
}

/// The statistics a metric may have, in [`crate::import::benchmarks::Summary`] order.
pub const STATISTICS: [&str; 4] = ["mean", "median", "p90", "p99"];

/// Replays `run` on `given` and compares every number the file has with hwcost's.
pub fn compare(catalog: &Catalog, run: &MeasuredRun, given: &Given) -> Result<Vec<Compared>, String> {
    let scenario = scenario(catalog, run, given)?;
    let input = InferenceInput { explain: false, ..scenario.inference.input() };
    Ok(numbers(run, &serving::simulate(&input, &scenario.workload)))
}

/// The table `hwcost validate --measurements` prints for one file.
pub fn table(file: &str, results: &[(String, Result<Vec<Compared>, String>)]) -> String {
    let mut s = format!("{file}\n");
    s.push_str(&format!(
        "  {:<14} {:<26} {:<7} {:>12} {:>12} {:>8}\n",
        "run", "metric", "stat", "measured", "hwcost", "error"
    ));
    for (label, result) in results {
        let label = if label.is_empty() { "-" } else { label.as_str() };
        match result {
            Err(e) => s.push_str(&format!("  {label:<14} not replayed: {e}\n")),
            Ok(rows) => {
                for r in rows {
                    s.push_str(&format!(
                        "  {:<14} {:<26} {:<7} {:>12.2} {:>12.2} {:>+7.1}%\n",
                        label,
                        r.metric.as_str(),
                        r.statistic,
                        r.measured,
                        r.predicted,
                        r.error * 100.0
                    ));
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::benchmarks::read;

    fn given() -> Given {
        Given {
            model: Some("llama-3.1-8b".to_owned()),
            hardware: Some("nvidia-h100-sxm-80gb".to_owned()),
            ..Given::default()
        }
    }

    #[test]
    fn the_request_takes_what_the_file_states_and_the_rest_from_the_request() {
        let runs = read(include_bytes!("../../tests/fixtures/benchmarks/llmd_report_v0.1.yaml")).unwrap();
        let body = request(&runs[0], &given()).unwrap();
        assert_eq!(body["devices"], 2);
        assert_eq!(body["parallelism"], json!({"tensor": 2, "pipeline": 1}));
        assert_eq!(
            body["workload"],
            json!({"arrival": "poisson", "requests_per_s": 4.0, "input_tokens": 1000, "output_tokens": 199, "requests": 400})
        );
        let runs = read(include_bytes!("../../tests/fixtures/benchmarks/guidellm_0.2.json")).unwrap();
        let body = request(&runs[1], &given()).unwrap();
        assert_eq!(body["workload"]["arrival"], "trace");
        let second = &body["workload"]["trace"][1];
        assert_eq!((&second["input_tokens"], &second["output_tokens"]), (&json!(260), &json!(128)));
        assert!((second["arrival_s"].as_f64().unwrap() - 0.35).abs() < 1e-6);
    }

    #[test]
    fn what_neither_states_is_named() {
        let run = &read(include_bytes!("../../tests/fixtures/benchmarks/vllm_bench_serve.json")).unwrap()[0];
        let no_device = Given { hardware: None, ..given() };
        assert_eq!(request(run, &no_device).unwrap_err(), "the file names no device: give hardware");
        assert_eq!(request(run, &Given { model: None, ..given() }).unwrap()["model"], "example-org/example-model-70b");
        let mut runs = read(include_bytes!("../../tests/fixtures/benchmarks/genai_perf_profile_export.json")).unwrap();
        runs[0].conditions.arrival = None;
        assert!(request(&runs[0], &given()).unwrap_err().contains("arrival"));
        runs[0].conditions.input_tokens_mean = None;
        assert!(request(&runs[0], &given()).unwrap_err().contains("input_tokens"));
    }

    #[test]
    fn every_fixture_run_replays_and_compares() {
        let catalog = Catalog::embedded().unwrap();
        for bytes in [
            &include_bytes!("../../tests/fixtures/benchmarks/vllm_bench_serve_detailed.json")[..],
            include_bytes!("../../tests/fixtures/benchmarks/genai_perf_profile_export.json"),
            include_bytes!("../../tests/fixtures/benchmarks/guidellm_v1.json"),
        ] {
            for run in read(bytes).unwrap() {
                let rows = compare(&catalog, &run, &given()).unwrap();
                assert!(
                    rows.iter().any(|r| r.metric == MetricKind::TtftMs && r.statistic == "mean"),
                    "{}",
                    run.tool.as_str()
                );
                assert!(rows.iter().all(|r| r.predicted.is_finite() && r.predicted > 0.0 && r.error.is_finite()));
            }
        }
    }
}
