//! The automatic training layout: a request that names its devices but not how to split the
//! run over them gets the layout of least overhead that fits one device's memory.
//!
//! The order is the usual order of cost: plain data parallelism; then sharding the states over
//! the data ranks (ZeRO-1, ZeRO-2, ZeRO-3/FSDP), which adds gathers but no idle time; then
//! tensor parallelism inside a node (degrees dividing the heads, at most the devices the
//! catalog's interconnect joins, else 8), whose all-reduces sit on the critical path; then
//! pipeline stages (with ZeRO-1 at most, as Megatron and DeepSpeed run them; never more stages
//! than micro-batches), which add a
//! bubble; and last, when the request leaves recomputation out, selective then full activation
//! recomputation over the same order. Fit is judged by the estimate's own memory accounting
//! (`engine::training::fits`). Fields the request gives (its degrees, its sharding, its
//! recomputation) are never changed; every choice is listed in the answer's `assumptions`.
//!
//! When nothing fits, the answer shows the layout that needs the least memory (and says so)
//! and names the fewest devices, doubling from the request, at which a layout fits.

use std::sync::Arc;

use super::Error;
use super::layout::Degrees;
use super::range;
use super::resolve::ResolvedDevice;
use super::training::{Choice, TrainingScenario, TrainingSpec, assume};
use crate::engine::training::{self, Checkpointing, Sharding};

/// The most devices tensor parallelism spans when the catalog does not say how many its
/// interconnect joins: an 8-GPU node.
const NODE: u32 = 8;

/// Doublings of the device count tried for the "fewest devices that fit" note.
const DOUBLINGS: u32 = 12;

/// One candidate: degrees and what it sets besides.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    degrees: Degrees,
    choice: Choice,
}

/// The candidates for `devices`, in order of overhead.
fn candidates(spec: &TrainingSpec, device: &ResolvedDevice, devices: u64) -> Vec<Candidate> {
    let (sharding, checkpointing, given) = spec.placement();
    let arch = &spec.model.architecture;
    let base = spec.degrees;
    let context = u64::from(base.context.max(1));
    let shardings: Vec<Sharding> = if given.sharding {
        vec![sharding]
    } else {
        vec![Sharding::None, Sharding::Zero1, Sharding::Zero2, Sharding::Zero3]
    };
    let mut layouts: Vec<(u32, u32)> = Vec::new();
    if given.parallelism {
        layouts.push((base.tensor, base.pipeline));
    } else {
        let node = device.device.interconnect.and_then(|link| link.group).unwrap_or(NODE).max(1);
        let divides = |group: u64| group > 0 && devices.is_multiple_of(group * context);
        let tensors: Vec<u32> = (1..=node.min(range::DEGREE.max as u32))
            .filter(|t| arch.heads.is_multiple_of(u64::from(*t)) && divides(u64::from(*t)))
            .collect();
        layouts.extend(tensors.iter().map(|t| (*t, 1)));
        let stages = arch.layers.min(range::DEGREE.max as u32);
        for p in 2..=stages {
            for t in &tensors {
                if divides(u64::from(*t) * u64::from(p)) {
                    layouts.push((*t, p));
                }
            }
        }
    }
    let recomputation: Vec<Option<Checkpointing>> = if given.checkpointing {
        vec![None]
    } else {
        [checkpointing, Checkpointing::Selective, Checkpointing::Full]
            .into_iter()
            .filter(|c| rank(*c) >= rank(checkpointing))
            .enumerate()
            .filter(|(i, c)| *i == 0 || *c != checkpointing)
            .map(|(_, c)| Some(c))
            .collect()
    };
    let mut out = Vec::new();
    for c in &recomputation {
        for &(tensor, pipeline) in &layouts {
            for &s in &shardings {
                // Pipelines run with ZeRO-1 at most (Megatron's distributed optimizer, DeepSpeed's
                // pipeline engine), unless the request asks for more itself.
                if pipeline > 1 && s > Sharding::Zero1 && !given.sharding {
                    continue;
                }
                out.push(Candidate {
                    degrees: Degrees {
                        tensor,
                        pipeline,
                        data: if given.parallelism { base.data } else { None },
                        devices: Some(devices),
                        ..base
                    },
                    choice: Choice { sharding: Some(s), checkpointing: *c, any_batch: true },
                });
            }
        }
    }
    out
}

fn rank(c: Checkpointing) -> u8 {
    match c {
        Checkpointing::None => 0,
        Checkpointing::Selective => 1,
        Checkpointing::Full => 2,
    }
}

fn sharding_name(s: Sharding) -> &'static str {
    match s {
        Sharding::None => "none",
        Sharding::Zero1 => "zero1",
        Sharding::Zero2 => "zero2",
        Sharding::Zero3 => "zero3",
        Sharding::Hsdp => "hsdp",
    }
}

fn checkpointing_name(c: Checkpointing) -> &'static str {
    match c {
        Checkpointing::None => "none",
        Checkpointing::Selective => "selective",
        Checkpointing::Full => "full",
    }
}

/// The first candidate of `devices` that fits, if any. Each candidate changes only the layout
/// fields of one placed run's engine input (the memory check needs nothing else), so a search
/// places the run once, not once per candidate.
fn first_fitting(spec: &Arc<TrainingSpec>, device: &ResolvedDevice, devices: u64) -> Option<Candidate> {
    let all = candidates(spec, device, devices);
    let given_degrees = spec.placement().2.parallelism;
    let base = all.iter().find_map(|c| spec.at_with(device.clone(), c.degrees, c.choice).ok())?;
    let input = base.input();
    all.into_iter().find(|c| {
        let d = c.degrees;
        let group = u64::from(d.tensor) * u64::from(d.pipeline) * u64::from(d.context.max(1));
        let Ok(data) = u32::try_from(devices / group.max(1)) else { return false };
        if !data.is_multiple_of(d.expert.max(1)) {
            return false;
        }
        let mut probe = input;
        probe.parallelism.tensor = d.tensor;
        probe.parallelism.pipeline = d.pipeline;
        probe.parallelism.data = data;
        probe.sharding = c.choice.sharding.unwrap_or(input.sharding);
        probe.checkpointing = c.choice.checkpointing.unwrap_or(input.checkpointing);
        probe.global_batch_tokens = spec.search_batch(data);
        // A pipeline deeper than its micro-batches idles most of the step (1F1B's bubble
        // (p - 1) / (m + p - 1) is over half) and holds only what little there is in flight: it is
        // never the least-overhead layout, so the search does not take it.
        let micro_batches = training::micro_batches(&probe, probe.sequence_length as f64, probe.micro_batch as f64);
        if !given_degrees && d.pipeline > 1 && micro_batches < f64::from(d.pipeline) {
            return false;
        }
        training::fits(&probe)
    })
}

const WHY: &str = "the least-overhead layout that fits one device's memory, tried in order: plain data parallel, sharding (zero1, zero2, zero3), tensor parallel within a node, pipeline stages, then recomputation";

/// Places a run whose request names its devices but leaves its layout (or its sharding) out.
pub fn place(spec: &Arc<TrainingSpec>, device: ResolvedDevice) -> Result<TrainingScenario, Error> {
    let devices = spec.degrees.devices.unwrap_or(1);
    let (_, _, given) = spec.placement();
    let record = |mut s: TrainingScenario, why: &'static str| {
        let l = s.layout;
        if !given.parallelism {
            assume(
                &mut s.assumptions,
                "parallelism",
                format!("tensor {} x pipeline {} x data {}", l.tensor, l.pipeline, l.data),
                why,
            );
            // The data degree is part of the layout entry.
            s.assumptions.0.retain(|a| a.field != "parallelism/data");
        }
        if !given.sharding {
            assume(&mut s.assumptions, "sharding", sharding_name(s.sharding), why);
        }
        if !given.checkpointing && s.checkpointing != spec.placement().1 {
            assume(&mut s.assumptions, "activation_checkpointing", checkpointing_name(s.checkpointing), why);
        }
        s
    };
    // The search judges memory alone; the layout it picks is placed again with the request's
    // batch (rounded to whole micro-batches, or refused naming device counts that take it).
    let exact = |s: &TrainingScenario| {
        let l = s.layout;
        let degrees = Degrees {
            tensor: l.tensor,
            pipeline: l.pipeline,
            data: Some(l.data),
            devices: Some(l.devices),
            ..spec.degrees
        };
        let degrees = if given.parallelism { spec.degrees } else { degrees };
        let choice = Choice { sharding: Some(s.sharding), checkpointing: Some(s.checkpointing), any_batch: false };
        spec.at_with(device.clone(), degrees, choice)
    };
    if let Some(c) = first_fitting(spec, &device, devices) {
        let s = spec.at_with(device.clone(), c.degrees, c.choice)?;
        return Ok(record(exact(&s)?, WHY));
    }
    // Nothing fits: the candidate needing the least memory, and the fewest devices that fit.
    let mut first_error = None;
    let mut least: Option<(f64, TrainingScenario)> = None;
    for c in candidates(spec, &device, devices) {
        match spec.at_with(device.clone(), c.degrees, c.choice) {
            Ok(s) => {
                let need = training::device_need(&s.input());
                if least.as_ref().is_none_or(|(best, _)| need < *best) {
                    least = Some((need, s));
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some((_, s)) = least else {
        // No candidate places (a batch no layout of these devices can take): the request as it
        // stands says why.
        return match first_error {
            Some(e) => Err(e),
            None => spec.at(device, spec.degrees),
        };
    };
    let mut s = record(
        exact(&s)?,
        "no layout of these devices fits one device's memory (data parallel, sharding, tensor parallel within a node, pipeline stages and recomputation tried): the one needing the least memory",
    );
    let max = range::TRAINING_DEVICES.max as u64;
    let more = (1..=DOUBLINGS)
        .map(|k| devices.saturating_mul(1 << k))
        .take_while(|n| *n <= max)
        .find(|n| first_fitting(spec, &device, *n).is_some());
    match more {
        Some(n) => s.assumptions.push(
            "devices",
            format!("{devices} (a layout fits from {n})"),
            "the fewest devices, doubling from the request, at which a layout in the same order fits",
        ),
        None => s.assumptions.push(
            "devices",
            format!("{devices} (no layout fits up to {})", devices.saturating_mul(1 << DOUBLINGS).min(max)),
            "more devices alone do not make it fit: see fit.changes",
        ),
    }
    Ok(s)
}
