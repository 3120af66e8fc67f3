//! Calibration on benchmark result files: every run replayed by the serving simulator, five
//! engine constants fitted to every number the files measured, and the error on runs held out of
//! the fit, so a user sees whether the fit generalises beyond the runs it saw.
//!
//! The fit minimises the weighted squared log error of hwcost's numbers against the file's
//! (means, medians and rates weigh 1, p90s 0.5, p99s 0.25: tails are the noisiest statistics of
//! a short benchmark) plus a weak pull of each constant towards the catalog's value
//! ([`PRIOR`]), so a constant the files say nothing about stays where the catalog put it. Each
//! constant is searched within physical bounds (`CONSTANTS`).
//!
//! Work is bounded: at most [`MAX_FILES`] files and [`MAX_RUNS`] runs, each replayed with at
//! most [`MAX_REPLAYED`] requests, and a fixed number of replays per fit.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CalibrationRequest, CalibrationResult, ErrorSummary, summary};
use crate::answer::Context;
use crate::engine::device::{ComputeType, DeviceKind};
use crate::engine::inference::InferenceInput;
use crate::engine::profile::EngineProfile;
use crate::engine::serving;
use crate::import::benchmarks::{self, MeasuredRun};
use crate::scenario::engine_profile::Constants;
use crate::scenario::inference::{EngineRef, FormatId};
use crate::scenario::serving::ServingScenario;
use crate::scenario::{Error, range};
use crate::validation::measurements::{self, Given};

/// Most result files per request.
pub const MAX_FILES: usize = 16;
/// Most runs over all files.
pub const MAX_RUNS: usize = 32;
/// Most requests each run is replayed with while fitting (the file's first ones, in order).
pub const MAX_REPLAYED: usize = 500;
/// Weight of the pull towards the catalog's constants, per constant, on the scale of one
/// measured number's squared log error (0.05: as much as one number off by 25%).
pub const PRIOR: f64 = 0.05;
/// Coordinate-descent passes of the fit on all runs (a held-out fold starts from that fit and
/// takes one pass). The step's and the weights' constants trade off against each other, so two
/// passes left the fit short of its minimum (a fold's extra pass then beat it).
const ROUNDS: usize = 4;

/// One benchmark result file: `{"name", "content"}`, or the file itself (its JSON document, or
/// its text as a string), which is then named `results/N`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(from = "serde_json::Value")]
pub struct ResultFile {
    /// The file's name, to label its points (default `results/N`).
    pub name: Option<String>,
    /// The file: its JSON document, or its text as a string (YAML for llm-d reports).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

impl From<serde_json::Value> for ResultFile {
    fn from(value: serde_json::Value) -> Self {
        // A wrapper has `content` and nothing but `name` beside it; anything else is a file.
        if let serde_json::Value::Object(map) = &value
            && map.contains_key("content")
            && map.keys().all(|k| k == "content" || k == "name")
        {
            let name = map.get("name").and_then(|n| n.as_str()).map(str::to_owned);
            return ResultFile { name, content: map["content"].clone() };
        }
        ResultFile { name: None, content: value }
    }
}

/// What the runs ran on, where the files do not say.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunDeployment {
    /// Catalog model id or alias (default: the model the file names).
    pub model: Option<String>,
    /// Catalog device id or alias (default: the device the file names).
    pub hardware: Option<String>,
    /// Devices (default: the file's count, else 1).
    pub devices: Option<u32>,
    /// The engine, and release, whose profile is fitted (default: the engine the file names,
    /// else `generic`).
    pub engine: Option<EngineRef>,
    /// Weight format (default bf16).
    pub weights: Option<FormatId>,
}

/// A fitted constant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConstantChange {
    /// The profile field (`engine_profile` names it the same way).
    pub name: &'static str,
    /// The catalog's value (for the device's kind).
    pub before: f64,
    /// The fitted value.
    pub after: f64,
    /// `(after - before) / before`.
    pub change: f64,
    /// Lower bound of the search.
    pub min: f64,
    /// Upper bound of the search.
    pub max: f64,
}

/// The error on runs held out of the fit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldOut {
    /// Groups of runs, each predicted by a fit on the others.
    pub folds: usize,
    /// What is held out: `run`.
    pub unit: &'static str,
    /// The catalog profile's error on the same numbers.
    pub before: ErrorSummary,
    /// The error of each number predicted by the fit that did not see its run.
    pub after: ErrorSummary,
}

/// The error on one metric's statistic.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricError {
    /// `ttft_ms`, `tpot_ms`, `itl_ms`, `e2e_ms`, `output_tokens_per_second`, `requests_per_second`.
    pub metric: &'static str,
    /// `mean`, `median`, `p90` or `p99`.
    pub statistic: &'static str,
    /// With the catalog's profile.
    pub before: ErrorSummary,
    /// With the fitted profile.
    pub after: ErrorSummary,
    /// Held out of the fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out: Option<ErrorSummary>,
}

/// One measured number.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointError {
    /// The file's name.
    pub file: String,
    /// The run in the file (`benchmarks/2`), `""` for a single-run file.
    pub run: String,
    /// The metric, in hwcost's definition and unit (`ttft_ms`...).
    pub metric: &'static str,
    /// `mean`, `median`, `p90` or `p99`.
    pub statistic: &'static str,
    /// The file's number.
    pub measured: f64,
    /// hwcost's with the catalog's profile.
    pub before: f64,
    /// hwcost's with the fitted profile.
    pub after: f64,
    /// hwcost's from the fit that did not see this run.
    pub held_out: Option<f64>,
}

/// A run that was not used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Skipped {
    /// The file's name.
    pub file: String,
    /// The run in the file.
    pub run: String,
    /// Why.
    pub reason: String,
}

/// A metric and one of its statistics.
type MetricKey = (&'static str, &'static str);

/// A fitted constant: its field, bounds, and where it sits in a profile.
struct Constant {
    name: &'static str,
    min: f64,
    max: f64,
    get: fn(&EngineProfile, DeviceKind) -> f64,
    set: fn(&mut Constants, f64),
}

/// The constants fitted, with their physical bounds: efficiencies from 2% of peak to all of it;
/// a step from 5 us (a CUDA graph launch) to 100 ms; a request's fixed cost from 50 us to 2 s
/// (tokenisation, scheduling, HTTP); a sequence's per-step cost from 0.2 us to 2 ms.
const CONSTANTS: [Constant; 5] = [
    Constant {
        name: "compute_efficiency",
        min: 0.02,
        max: 1.0,
        get: |p, kind| p.efficiencies(kind, ComputeType::Bf16).0,
        set: |c, v| c.compute_efficiency = Some(v),
    },
    Constant {
        name: "memory_efficiency",
        min: 0.02,
        max: 1.0,
        get: |p, kind| p.efficiencies(kind, ComputeType::Bf16).1,
        set: |c, v| c.memory_efficiency = Some(v),
    },
    Constant {
        name: "step_overhead_us",
        min: 5.0,
        max: 1e5,
        get: |p, _| p.step_overhead.0 * 1e6,
        set: |c, v| c.step_overhead_us = Some(v),
    },
    Constant {
        name: "request_overhead_us",
        min: 50.0,
        max: 2e6,
        get: |p, _| p.request_overhead.0 * 1e6,
        set: |c, v| c.request_overhead_us = Some(v),
    },
    Constant {
        name: "serving.sequence_overhead_us",
        min: 0.2,
        max: 2000.0,
        get: |p, _| p.sequence_overhead.0 * 1e6,
        set: |c, v| c.sequence_overhead_us = Some(v),
    },
];

fn constants(values: &[f64]) -> Constants {
    let mut c = Constants::default();
    for (constant, &v) in CONSTANTS.iter().zip(values) {
        (constant.set)(&mut c, v);
    }
    c
}

/// A run ready to replay: its scenario and the numbers it measured.
struct Replay {
    file: String,
    run: MeasuredRun,
    scenario: ServingScenario,
    /// (metric, statistic, measured, weight), in [`measurements::numbers`] order.
    numbers: Vec<(&'static str, &'static str, f64, f64)>,
    /// hwcost's numbers with the catalog's profile, in the same order.
    before: Vec<f64>,
}

impl Replay {
    /// hwcost's numbers with `constants` over the scenario's profile.
    fn predict(&self, constants: &Constants) -> Vec<f64> {
        let mut profile = self.scenario.inference.profile.clone();
        constants.apply(&mut profile);
        let input = InferenceInput { profile: &profile, explain: false, ..self.scenario.inference.input() };
        let estimate = serving::simulate(&input, &self.scenario.workload);
        measurements::numbers(&self.run, &estimate).into_iter().map(|c| c.predicted).collect()
    }
}

fn weight(statistic: &str) -> f64 {
    match statistic {
        "p90" => 0.5,
        "p99" => 0.25,
        _ => 1.0,
    }
}

/// Reads every file into runs, labelled by file.
fn read(request: &CalibrationRequest) -> Result<Vec<(String, MeasuredRun)>, Error> {
    if request.results.len() > MAX_FILES {
        return Err(Error::field("/results", format!("at most {MAX_FILES} files, got {}", request.results.len())));
    }
    let mut runs = Vec::new();
    for (i, file) in request.results.iter().enumerate() {
        let at = format!("/results/{i}/content");
        let bytes = match &file.content {
            serde_json::Value::String(text) => text.as_bytes().to_vec(),
            other => serde_json::to_vec(other).map_err(|e| Error::field(at.clone(), e.to_string()))?,
        };
        let name = file.name.clone().unwrap_or_else(|| format!("results/{i}"));
        let read = benchmarks::read(&bytes)
            .map_err(|e| Error::unprocessable(format!("{at}{}", e.field), format!("{name}: {}", e.problem)))?;
        runs.extend(read.into_iter().map(|run| (name.clone(), run)));
    }
    if runs.len() > MAX_RUNS {
        return Err(Error::unprocessable("/results", format!("at most {MAX_RUNS} runs in all, got {}", runs.len())));
    }
    Ok(runs)
}

/// Fits the engine constants to the runs of `request.results`.
pub fn calibrate(ctx: &Context, request: &CalibrationRequest) -> Result<CalibrationResult, Error> {
    let mut checks = range::Checks::default();
    let folds = request.folds.map(|f| checks.int(String::from("/folds"), range::CALIBRATION_FOLDS, u64::from(f)));
    if let Some(d) = &request.deployment
        && let Some(n) = d.devices
    {
        checks.int(String::from("/deployment/devices"), range::INFERENCE_DEVICES, u64::from(n));
    }
    checks.finish()?;
    let runs = read(request)?;
    let deployment = request.deployment.clone().unwrap_or_default();
    // One engine for every run: the request's, else the first one a file names.
    let engine = deployment.engine.clone().or_else(|| {
        runs.iter().find_map(|(_, r)| r.conditions.engine.as_deref().and_then(|e| e.parse::<EngineRef>().ok()))
    });
    let given = Given {
        model: deployment.model.clone(),
        hardware: deployment.hardware.clone(),
        devices: deployment.devices,
        engine: engine.as_ref().map(ToString::to_string),
        weights: deployment.weights.map(|w| w.as_str().to_owned()),
        engine_profile: None,
        max_requests: Some(MAX_REPLAYED as u64),
    };
    let mut replays = Vec::new();
    let mut skipped = Vec::new();
    for (file, run) in runs {
        let label = run.label.clone();
        let scenario = measurements::request(&run, &given).and_then(|body| measurements::parse(&ctx.catalog, body));
        match scenario {
            Ok(scenario) => {
                let input = InferenceInput { explain: false, ..scenario.inference.input() };
                let estimate = serving::simulate(&input, &scenario.workload);
                let compared = measurements::numbers(&run, &estimate);
                let before = compared.iter().map(|c| c.predicted).collect();
                let numbers: Vec<_> = compared
                    .into_iter()
                    .map(|c| (c.metric.as_str(), c.statistic, c.measured, weight(c.statistic)))
                    .collect();
                if numbers.is_empty() {
                    skipped.push(Skipped { file, run: label, reason: "no metric hwcost predicts".into() });
                } else {
                    replays.push(Replay { file, run, scenario, numbers, before });
                }
            }
            Err(reason) => skipped.push(Skipped { file, run: label, reason }),
        }
    }
    let Some(first) = replays.first() else {
        let reasons: Vec<String> = skipped.iter().map(|s| format!("{} {}: {}", s.file, s.run, s.reason)).collect();
        return Err(Error::unprocessable("/results", format!("no run could be replayed: {}", reasons.join("; "))));
    };
    // Runs on different engines (a file naming another) cannot share one profile.
    let profile_id = first.scenario.inference.profile.id.clone();
    let (replays, others): (Vec<_>, Vec<_>) =
        replays.into_iter().partition(|r| r.scenario.inference.profile.id == profile_id);
    skipped.extend(others.into_iter().map(|r| Skipped {
        file: r.file,
        run: r.run.label,
        reason: format!("ran on {}, not {profile_id}: give deployment.engine", r.scenario.inference.profile.id),
    }));
    let base_profile = &replays[0].scenario.inference.profile;
    let kind = replays[0].scenario.inference.device.device.kind;
    let start: Vec<f64> = CONSTANTS.iter().map(|c| (c.get)(base_profile, kind).clamp(c.min, c.max)).collect();
    let bounds: Vec<(f64, f64)> = CONSTANTS.iter().map(|c| (c.min, c.max)).collect();

    // The first replay, with the catalog's profile, is the `before` of every number.
    let before: Vec<Vec<f64>> = replays.iter().map(|r| r.before.clone()).collect();
    let fit = |runs: &[usize], from: &[f64], rounds: usize| {
        super::fit::descend(from, &bounds, rounds, |x| cost(&replays, runs, x, &start))
    };
    let all: Vec<usize> = (0..replays.len()).collect();
    // Four significant digits: the document stays readable and reproduces `after` exactly.
    let fitted: Vec<f64> = fit(&all, &start, ROUNDS).into_iter().map(|v| significant(v, 4)).collect();
    let after: Vec<Vec<f64>> = replays.iter().map(|r| r.predict(&constants(&fitted))).collect();

    // Cross-validation by run: fold k holds the runs i with i % folds == k.
    let folds = (folds.unwrap_or(5) as usize).min(replays.len());
    let held: Option<Vec<Vec<f64>>> = (folds >= 2).then(|| {
        let mut held = vec![Vec::new(); replays.len()];
        for k in 0..folds {
            let train: Vec<usize> = all.iter().copied().filter(|i| i % folds != k).collect();
            let x = fit(&train, &fitted, 1);
            for i in all.iter().copied().filter(|i| i % folds == k) {
                held[i] = replays[i].predict(&constants(&x));
            }
        }
        held
    });

    let log = |p: f64, m: f64| (p.max(1e-300) / m).ln();
    let mut points = Vec::new();
    let (mut e_before, mut e_after, mut e_held) = (Vec::new(), Vec::new(), Vec::new());
    // (metric, statistic) -> log errors before, after and held out.
    let mut by_metric: Vec<(MetricKey, [Vec<f64>; 3])> = Vec::new();
    for (i, r) in replays.iter().enumerate() {
        for (j, &(metric, statistic, measured, _)) in r.numbers.iter().enumerate() {
            let held_out = held.as_ref().map(|h| h[i][j]);
            let errors =
                [log(before[i][j], measured), log(after[i][j], measured), held_out.map_or(0.0, |h| log(h, measured))];
            e_before.push(errors[0]);
            e_after.push(errors[1]);
            e_held.push(errors[2]);
            let slot = match by_metric.iter_mut().position(|(key, _)| *key == (metric, statistic)) {
                Some(p) => p,
                None => {
                    by_metric.push(((metric, statistic), Default::default()));
                    by_metric.len() - 1
                }
            };
            for (list, e) in by_metric[slot].1.iter_mut().zip(errors) {
                list.push(e);
            }
            points.push(PointError {
                file: r.file.clone(),
                run: r.run.label.clone(),
                metric,
                statistic,
                measured,
                before: before[i][j],
                after: after[i][j],
                held_out,
            });
        }
    }
    by_metric.sort_by_key(|((metric, statistic), _)| {
        (*metric, crate::validation::measurements::STATISTICS.iter().position(|s| s == statistic))
    });
    let metrics = by_metric
        .into_iter()
        .map(|((metric, statistic), [b, a, h])| MetricError {
            metric,
            statistic,
            before: summary(&b),
            after: summary(&a),
            held_out: held.is_some().then(|| summary(&h)),
        })
        .collect();
    let constants_moved: Vec<ConstantChange> = CONSTANTS
        .iter()
        .zip(&start)
        .zip(&fitted)
        .map(|((c, &before), &after)| ConstantChange {
            name: c.name,
            before: significant(before, 6),
            after,
            change: (after - before) / before,
            min: c.min,
            max: c.max,
        })
        .collect();
    let engine = engine.unwrap_or_else(|| EngineRef::from(crate::scenario::inference::EngineId::Generic));
    let device = &replays[0].scenario.inference.device;
    let files: Vec<&str> = {
        let mut f: Vec<&str> = replays.iter().map(|r| r.file.as_str()).collect();
        f.dedup();
        f
    };
    let fitted_on = format!(
        "{} run(s) of {} ({}) on {}, {} x {}, by hwcost calibrate: weighted squared log error of every measured number, held-out error by run",
        replays.len(),
        files.join(", "),
        replays[0].run.tool.as_str(),
        replays[0].scenario.inference.model.id,
        replays[0].scenario.inference.parallelism.devices(),
        device.id,
    );
    let fitted_constants = constants(&fitted);
    Ok(CalibrationResult {
        kind: "serving",
        compute_efficiency: fitted[0],
        memory_efficiency: Some(fitted[1]),
        before: summary(&e_before),
        after: summary(&e_after),
        overrides: None,
        engine: Some(profile_id),
        profile: Some(fitted_constants.body(engine, fitted_on)),
        constants: constants_moved,
        held_out: held.as_ref().map(|_| HeldOut {
            folds,
            unit: "run",
            before: summary(&e_before),
            after: summary(&e_held),
        }),
        held_out_note: held.is_none().then(|| {
            "one run: nothing to hold out of the fit (send runs at several rates or concurrencies)".to_owned()
        }),
        metrics,
        points,
        skipped,
    })
}

/// The fit's objective on the runs `runs`: weighted squared log errors plus the pull towards
/// `start` (the catalog's constants).
fn cost(replays: &[Replay], runs: &[usize], x: &[f64], start: &[f64]) -> f64 {
    let c = constants(x);
    let mut total = 0.0;
    for &i in runs {
        let r = &replays[i];
        for (p, &(_, _, measured, w)) in r.predict(&c).iter().zip(&r.numbers) {
            total += w * (p.max(1e-300) / measured).ln().powi(2);
        }
    }
    total + PRIOR * x.iter().zip(start).map(|(v, s)| (v / s).ln().powi(2)).sum::<f64>()
}

/// `v` rounded to `digits` significant digits.
fn significant(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}
