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
use crate::engine::serving::workload::Rng;
use crate::engine::serving::{self, ServingEstimate};
use crate::import::benchmarks::{Arrival, MeasuredRequest, MeasuredRun, MetricKind};
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
    /// The most requests a run is replayed with (default and ceiling [`MAX_REPLAYED`]).
    pub max_requests: Option<u64>,
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

/// The seed of the arrival times drawn for a run that records lengths but no send times: fixed,
/// so the same file gives the same replay.
pub const REPLAY_SEED: u64 = 0;

/// The serving request that replays `run` on `given`.
pub fn request(run: &MeasuredRun, given: &Given) -> Result<Value, String> {
    request_with_notes(run, given).map(|(body, _)| body)
}

/// [`request`], with a line saying which replay was used (the file's send times, its per-request
/// lengths at drawn arrivals, or its mean lengths at its arrival pattern) and why.
pub fn request_with_notes(run: &MeasuredRun, given: &Given) -> Result<(Value, Vec<String>), String> {
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
    let mut notes = Vec::new();
    let most = given.max_requests.map_or(MAX_REPLAYED, |n| n.clamp(1, MAX_REPLAYED));
    let cap = (range::REPLAY_REQUESTS.max as usize).min(most as usize);
    let entry = |t: f64, r: &MeasuredRequest| json!({"arrival_s": t, "input_tokens": r.input_tokens, "output_tokens": r.output_tokens.max(1)});
    let kept = run.requests.len().min(cap);
    let cut = if kept < run.requests.len() {
        format!(" (the first {kept} of {}: at most {cap} are replayed)", run.requests.len())
    } else {
        String::new()
    };
    let timed = !run.requests.is_empty() && run.requests.iter().all(|r| r.arrival_s.is_some());
    let workload = if timed {
        let trace: Vec<Value> = run.requests.iter().take(kept).map(|r| entry(r.arrival_s.unwrap_or(0.0), r)).collect();
        notes.push(format!("replay: the file's {kept} requests{cut} at their recorded send times and lengths (trace)"));
        json!({"arrival": "trace", "trace": trace})
    } else if let Some((arrivals, how)) = drawn_arrivals(c.arrival, kept).filter(|_| !run.requests.is_empty()) {
        let trace: Vec<Value> = run.requests.iter().zip(arrivals).map(|(r, t)| entry(t, r)).collect();
        notes.push(format!(
            "replay: the file's {kept} per-request lengths{cut} in the file's order (it records no send times), {how}"
        ));
        json!({"arrival": "trace", "trace": trace})
    } else {
        let input = c.input_tokens_mean.ok_or("the file states no input lengths (input_tokens)")?;
        let output = c.output_tokens_mean.ok_or("the file states no output lengths (output_tokens)")?;
        let requests = c.completed.unwrap_or(1000).clamp(1, most);
        let mut w = json!({
            "input_tokens": (input.round() as u64).max(1),
            "output_tokens": (output.round() as u64).max(1),
            "requests": requests,
        });
        let pattern = match c.arrival {
            Some(Arrival::Rate { per_second, .. }) => {
                w["arrival"] = json!("poisson");
                w["requests_per_s"] = json!(per_second);
                format!("Poisson at {per_second} requests/s")
            }
            Some(Arrival::Concurrency(n)) | Some(Arrival::Unbounded { max_concurrency: Some(n) }) => {
                w["arrival"] = json!("concurrency");
                w["concurrency"] = json!(n);
                format!("a closed loop of {n} clients")
            }
            Some(Arrival::Unbounded { max_concurrency: None }) => {
                w["arrival"] = json!("offline");
                "all requests at once (offline)".to_owned()
            }
            Some(Arrival::NotStated) | None => {
                return Err("the file states no arrival pattern (request rate or concurrency)".to_owned());
            }
        };
        let why = if run.requests.is_empty() {
            "the file keeps no per-request records"
        } else {
            "the simulator's closed loop draws its lengths and takes no trace, so the file's per-request lengths are not replayed"
        };
        notes.push(format!("replay: {requests} requests of the file's mean lengths ({why}), {pattern}"));
        w
    };
    deployment["workload"] = workload;
    Ok((deployment, notes))
}

/// Arrival times for `n` requests drawn from an open-loop `arrival` (seed [`REPLAY_SEED`]) and
/// what was drawn; `None` for a closed loop or an unstated pattern, which a trace cannot replay.
///
/// vLLM's `get_request` sends the first request at once and waits a gamma interval of shape
/// `burstiness` and scale `1 / (rate * burstiness)` after each (mean `1 / rate`; burstiness 1 is
/// Poisson); `request_rate: inf` sends all at once. A `max_concurrency` cap is not enforced: the
/// simulator's trace has no client-side cap, so where the cap bound, the replay queues at the
/// server instead (and its TTFT includes that wait).
pub fn drawn_arrivals(arrival: Option<Arrival>, n: usize) -> Option<(Vec<f64>, String)> {
    let capped = |m: Option<u64>| {
        m.map(|m| format!("; max_concurrency {m} is not enforced (a trace has no client cap)")).unwrap_or_default()
    };
    match arrival? {
        Arrival::Rate { per_second, burstiness, max_concurrency } if per_second > 0.0 => {
            let shape = burstiness.filter(|b| *b > 0.0).unwrap_or(1.0);
            let mut rng = Rng::new(REPLAY_SEED);
            let mut clock = 0.0;
            let times = (0..n)
                .map(|i| {
                    if i > 0 {
                        clock += gamma(&mut rng, shape) / (per_second * shape);
                    }
                    clock
                })
                .collect();
            let process = if shape == 1.0 { "Poisson".to_owned() } else { format!("gamma (burstiness {shape})") };
            Some((
                times,
                format!(
                    "arrivals drawn from a {process} process at {per_second} requests/s (seed {REPLAY_SEED}){}",
                    capped(max_concurrency)
                ),
            ))
        }
        Arrival::Unbounded { max_concurrency: None } => {
            Some((vec![0.0; n], "all sent at time 0 (request_rate inf)".to_owned()))
        }
        _ => None,
    }
}

/// A draw from a gamma distribution of this shape and scale 1 (Marsaglia and Tsang 2000; shape < 1
/// by the boost `G(a) = G(a + 1) U^(1/a)`); shape 1 is an exponential draw, as the simulator's own
/// Poisson arrivals.
fn gamma(rng: &mut Rng, shape: f64) -> f64 {
    if shape == 1.0 {
        return -(1.0 - rng.unit()).ln();
    }
    if shape < 1.0 {
        let u = 1.0 - rng.unit();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.normal();
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.unit();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
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
    parse(catalog, request(run, given)?).map_err(|e| match (&given.hardware, &run.conditions.device) {
        (None, Some(name)) if catalog.device(name).is_err() => {
            format!("{e} (the device as the file names it is not in the catalog: give hardware)")
        }
        _ => e,
    })
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

/// What the reader of a comparison should know about how `run` was replayed on `given`: which
/// replay was used (see [`request_with_notes`]) and what the names the file states resolved to,
/// with the assumption where a fine-tune's name resolved to its base model.
pub fn notes(catalog: &Catalog, run: &MeasuredRun, given: &Given) -> Vec<String> {
    let mut out = request_with_notes(run, given).map(|(_, notes)| notes).unwrap_or_default();
    let c = &run.conditions;
    if given.hardware.is_none()
        && let Some(name) = &c.device
        && let Ok(d) = catalog.device(name)
        && !d.record.id.eq_ignore_ascii_case(name)
    {
        out.push(format!("device: the file's \"{name}\" is {}", d.record.id));
    }
    if given.model.is_none()
        && let Some(name) = &c.model
    {
        if let Some(m) = catalog.model_fine_tune(name) {
            out.push(format!(
                "model: the file's \"{name}\" is not in the catalog; assumed to have the architecture of its base model {} (a fine-tune keeps its base's architecture)",
                m.record.id
            ));
        } else if let Ok(m) = catalog.model(name)
            && !m.record.id.eq_ignore_ascii_case(name)
        {
            out.push(format!("model: the file's \"{name}\" is {}", m.record.id));
        }
    }
    out
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

    /// A hand-made `--save-detailed` file: 5 requests (the third failed), 2 requests/s, and the
    /// summary keys of `--percentile-metrics ttft` only, without medians or percentiles.
    fn detailed(rate: Value, burstiness: Value, max_concurrency: Value) -> Value {
        json!({
            "completed": 4, "failed": 1, "request_rate": rate, "burstiness": burstiness,
            "max_concurrency": max_concurrency, "duration": 3.0,
            "total_input_tokens": 1000, "total_output_tokens": 40, "mean_ttft_ms": 250.0,
            "input_lens": [100, 400, 50, 300, 200], "output_lens": [5, 11, 0, 20, 4],
            "ttfts": [0.1, 0.4, 0.0, 0.2, 0.3],
            "itls": [vec![0.01; 4], vec![0.02; 10], Vec::<f64>::new(), vec![0.005; 19], vec![0.03; 3]],
            "errors": ["", "", "timeout", "", ""]
        })
    }

    fn trace(body: &Value) -> Vec<(f64, u64, u64)> {
        body["workload"]["trace"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["arrival_s"].as_f64().unwrap(),
                    e["input_tokens"].as_u64().unwrap(),
                    e["output_tokens"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn per_request_records_without_send_times_replay_in_file_order_at_drawn_arrivals() {
        let run = crate::import::benchmarks::vllm::read(&detailed(json!(2.0), json!(1.0), Value::Null)).unwrap();
        let (body, notes) = request_with_notes(&run, &given()).unwrap();
        assert_eq!(body["workload"]["arrival"], "trace");
        let t = trace(&body);
        // The successful requests' exact lengths, in the file's order (the failed third dropped).
        let lengths: Vec<(u64, u64)> = t.iter().map(|&(_, i, o)| (i, o)).collect();
        assert_eq!(lengths, [(100, 5), (400, 11), (300, 20), (200, 4)]);
        // Poisson at 2/s, seed 0: the first at 0, then exponential gaps -ln(1 - u) / 2 from the
        // simulator's generator, drawn here by hand.
        let mut rng = Rng::new(REPLAY_SEED);
        let mut clock = 0.0;
        let mut expected = vec![0.0];
        for _ in 1..4 {
            clock += -(1.0 - rng.unit()).ln() / 2.0;
            expected.push(clock);
        }
        for ((got, _, _), want) in t.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            notes[0].contains("4 per-request lengths") && notes[0].contains("Poisson process at 2 requests/s (seed 0)"),
            "{notes:?}"
        );
        // Deterministic: the same file gives the same trace.
        assert_eq!(request(&run, &given()).unwrap(), body);

        // Burstiness 0.5 is a gamma process: other gaps, same lengths and order, and a cap that the
        // trace cannot enforce is said.
        let bursty = crate::import::benchmarks::vllm::read(&detailed(json!(2.0), json!(0.5), json!(2))).unwrap();
        let (body, notes) = request_with_notes(&bursty, &given()).unwrap();
        let b = trace(&body);
        assert_eq!(b.iter().map(|&(_, i, o)| (i, o)).collect::<Vec<_>>(), lengths);
        assert_eq!(b[0].0, 0.0);
        assert_ne!(b[1].0, t[1].0);
        assert!(
            notes[0].contains("gamma (burstiness 0.5)") && notes[0].contains("max_concurrency 2 is not enforced"),
            "{notes:?}"
        );

        // request_rate inf without a cap: all at 0.
        let inf = crate::import::benchmarks::vllm::read(&detailed(json!("inf"), json!(1.0), Value::Null)).unwrap();
        let body = request(&inf, &given()).unwrap();
        assert!(trace(&body).iter().all(|&(a, _, _)| a == 0.0));
        // A closed loop (inf with a cap) cannot take a trace: the mean lengths, said why.
        let closed = crate::import::benchmarks::vllm::read(&detailed(json!("inf"), json!(1.0), json!(2))).unwrap();
        let (body, notes) = request_with_notes(&closed, &given()).unwrap();
        assert_eq!(body["workload"]["arrival"], "concurrency");
        assert_eq!((&body["workload"]["input_tokens"], &body["workload"]["output_tokens"]), (&json!(250), &json!(10)));
        assert!(notes[0].contains("closed loop") && notes[0].contains("not replayed"), "{notes:?}");
    }

    #[test]
    fn drawn_gamma_gaps_have_the_rate_and_the_burstiness() {
        // Gamma(shape b, scale 1 / (r b)): mean gap 1 / r, squared coefficient of variation 1 / b.
        for b in [0.5, 1.0, 2.0, 4.0] {
            let arrival = Some(Arrival::Rate { per_second: 5.0, burstiness: Some(b), max_concurrency: None });
            let (times, _) = drawn_arrivals(arrival, 20_001).unwrap();
            let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
            let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
            assert!((mean - 0.2).abs() < 0.01, "b {b}: mean {mean}");
            assert!((var / (mean * mean) - 1.0 / b).abs() < 0.1 / b, "b {b}: cv2 {}", var / (mean * mean));
            assert!(gaps.iter().all(|g| *g >= 0.0 && g.is_finite()));
        }
        assert!(drawn_arrivals(Some(Arrival::Concurrency(4)), 3).is_none());
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
