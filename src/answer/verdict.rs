//! Whether an answer describes a run that can happen, said first.
//!
//! An inference or serving answer whose deployment does not fit its devices still says what it
//! would need (`memory`), but it does not invent latencies, throughputs or costs for a run that
//! cannot happen: it answers `verdict: "does_not_fit"`, a `not_run` naming the numbers (bytes
//! needed against bytes usable per device, in GB) and the fix when one is known, serializes the
//! running sections as `null`, and puts the does-not-fit warning first.
//!
//! This module builds the reason from engine estimates; it holds no numbers of its own.

use serde::Serialize;
use utoipa::ToSchema;

use super::Context;
use super::inference::WarningBody;
use crate::engine::format::Format;
use crate::engine::inference::{self, Batch, InferenceEstimate, InferenceInput};

/// `verdict` of an answer whose deployment fits.
pub const FITS: &str = "fits";
/// `verdict` of an answer whose deployment does not fit.
pub const DOES_NOT_FIT: &str = "does_not_fit";
/// The warning code of a deployment that does not fit (the engine's).
pub const WARNING: &str = "does-not-fit";

/// Why an answer leaves its running sections out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotRun {
    /// One sentence: what one device needs against what it may use, in GB, and the fix when one
    /// is known.
    #[schema(
        example = "needs 814.3 GB per device, 23.2 GB usable: the weights alone take 811.7 GB per device; use at least 39 devices (tensor or pipeline parallelism)"
    )]
    pub reason: String,
    /// The top-level sections of the answer serialized as `null` because the run cannot happen.
    #[schema(example = json!(["latency", "throughput", "cost", "energy"]))]
    pub left_out: Vec<&'static str>,
}

/// The wire verdict of `fits`.
pub fn verdict(fits: bool) -> &'static str {
    if fits { FITS } else { DOES_NOT_FIT }
}

/// Puts the does-not-fit warning first, saying `reason` (added when the engine gave none).
pub fn lead_with(warnings: &mut Vec<WarningBody>, reason: &str) {
    warnings.retain(|w| w.code != WARNING);
    warnings.insert(0, WarningBody { code: WARNING, message: reason.to_owned() });
}

fn gb(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

/// Why `estimate` (of `input`) does not fit its device, with the fixes the engine can confirm:
/// a smaller batch, a shorter context, more devices, a narrower weight format from the catalog.
pub fn memory_reason(ctx: &Context, input: &InferenceInput<'_>, estimate: &InferenceEstimate) -> String {
    let m = &estimate.memory;
    let p = &m.per_device;
    let (capacity, total) = (m.capacity.0, p.total.0);
    let context = input.input_tokens + input.output_tokens;
    let batch = estimate.batch_size;
    // The same request with one sequence: whether the batch or the context is what is too big.
    let one =
        (batch > 1).then(|| inference::estimate(&InferenceInput { batch: Batch::Fixed(1), explain: false, ..*input }));
    let single = one.as_ref().map_or(&estimate.memory, |e| &e.memory);
    let fixed = p.weights.0 + p.overhead.0;
    let (why, mut fixes) = if p.weights.0 >= capacity {
        (format!("the weights alone take {} per device", gb(p.weights.0)), Vec::new())
    } else if fixed >= capacity {
        (format!("the weights and the runtime overhead take {} per device", gb(fixed)), Vec::new())
    } else if m.max_batch_size >= 1 && batch > m.max_batch_size {
        (
            format!("the KV cache of {batch} sequences takes {}", gb(p.kv_cache.0)),
            vec![format!("a batch of at most {} sequences (batch_size {})", m.max_batch_size, m.max_batch_size)],
        )
    } else {
        let kv_one = single.per_device.kv_cache.0;
        let mut fixes = Vec::new();
        if single.memory_context_tokens > 0 {
            fixes.push(format!("a context of at most {} tokens (input + output)", single.memory_context_tokens));
        }
        (format!("one sequence of {context} tokens needs {} of KV cache", gb(kv_one)), fixes)
    };
    // More devices: the weights spread over k times the tensor x pipeline split.
    let par = input.parallelism;
    let split = u64::from(par.tensor) * u64::from(par.pipeline);
    let room = capacity - p.overhead.0 - p.activations.0;
    if room > 0.0 {
        let needed = (p.weights.0 * split as f64 / room).ceil();
        if needed.is_finite() && needed > split as f64 && needed < 1e6 {
            let devices = needed as u64 * u64::from(par.expert) * u64::from(par.data);
            fixes.push(format!("at least {devices} devices (tensor or pipeline parallelism)"));
        } else if fixed < capacity {
            fixes.push("more devices (tensor or pipeline parallelism)".to_owned());
        }
    }
    if let Some((format, bytes)) = narrower(ctx, input, estimate, Part::Weights) {
        fixes.push(format!("{format} weights ({} per device)", gb(bytes)));
    }
    if fixed < capacity
        && let Some((format, bytes)) = narrower(ctx, input, estimate, Part::KvCache)
    {
        fixes.push(format!("a kv_cache in {format} ({} per device)", gb(bytes)));
    }
    if input.input_tokens + input.output_tokens > input.arch.max_context {
        fixes.push(format!("a context within the model's trained {} tokens", input.arch.max_context));
    }
    let fix = match fixes.as_slice() {
        [] => String::new(),
        [only] => format!("; use {only}"),
        [init @ .., last] => format!("; use {}, or {last}", init.join(", ")),
    };
    format!("needs {} per device, {} usable: {why}{fix}", gb(total), gb(capacity))
}

/// Which format [`narrower`] changes.
#[derive(Clone, Copy)]
enum Part {
    Weights,
    KvCache,
}

/// The widest catalog format narrower than `input`'s weights (or KV cache) with which the whole
/// estimate fits, confirmed by the engine, and the bytes of that part per device.
fn narrower(
    ctx: &Context,
    input: &InferenceInput<'_>,
    estimate: &InferenceEstimate,
    part: Part,
) -> Option<(String, f64)> {
    let p = &estimate.memory.per_device;
    let (bits, bytes) = match part {
        Part::Weights => (input.weights.bits.0, p.weights.0),
        Part::KvCache => (input.kv_cache.bits.0, p.kv_cache.0),
    };
    let rest = p.total.0 - bytes;
    let mut narrower: Vec<_> = ctx
        .catalog
        .formats()
        .iter()
        .filter(|f| f.bits_per_weight < bits && bytes * f.bits_per_weight / bits + rest <= estimate.memory.capacity.0)
        .collect();
    narrower.sort_by(|a, b| b.bits_per_weight.total_cmp(&a.bits_per_weight));
    // Confirmed with the engine: a weight format's compute type may change the activations.
    narrower.into_iter().find_map(|f| {
        let format: Format = f.to_engine();
        let again = match part {
            Part::Weights => inference::estimate(&InferenceInput { weights: &format, explain: false, ..*input }),
            Part::KvCache => inference::estimate(&InferenceInput { kv_cache: &format, explain: false, ..*input }),
        };
        let m = &again.memory;
        m.fits.then(|| {
            (
                f.id.clone(),
                match part {
                    Part::Weights => m.per_device.weights.0,
                    Part::KvCache => m.per_device.kv_cache.0,
                },
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use proptest::prelude::*;

    use crate::answer::Context;
    use crate::answer::inference::InferenceResponse;
    use crate::catalog::Catalog;
    use crate::scenario::inference::{InferenceRequest, InferenceScenario};

    fn ctx() -> &'static Context {
        static CTX: OnceLock<Context> = OnceLock::new();
        CTX.get_or_init(|| Context::new(Arc::new(Catalog::embedded().expect("the embedded catalog loads"))))
    }

    const MODELS: [&str; 4] = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mixtral-8x7b"];
    const DEVICES: [&str; 3] = ["nvidia-rtx-4090", "nvidia-l4", "nvidia-h100-sxm-80gb"];
    const FORMATS: [&str; 4] = ["bf16", "fp8", "int4", "q4_k_m"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the request, the verdict is the memory's, the running sections are present
        /// exactly when it fits, and a misfit's reason names the GB needed and usable per device
        /// and leads the warnings.
        #[test]
        fn the_verdict_is_the_memory_and_a_misfit_runs_nothing(
            model in 0usize..4,
            device in 0usize..3,
            weights in 0usize..4,
            tensor in prop::sample::select(vec![1u32, 2, 4, 8]),
            batch in 1u64..512,
            input in 1u64..300_000,
            output in 1u64..4096,
        ) {
            let request: InferenceRequest = serde_json::from_value(serde_json::json!({
                "model": MODELS[model], "hardware": DEVICES[device], "devices": tensor,
                "parallelism": {"tensor": tensor}, "weights": FORMATS[weights], "batch_size": batch,
                "input_tokens": input, "output_tokens": output,
            })).unwrap();
            let scenario = InferenceScenario::parse(&ctx().catalog, &request, "");
            prop_assert!(scenario.is_ok(), "{:?}", scenario.err());
            let r = InferenceResponse::new(ctx(), &scenario.unwrap());
            let fits = r.memory.fits;
            prop_assert_eq!(r.verdict, super::verdict(fits));
            prop_assert_eq!(r.not_run.is_none(), fits);
            prop_assert_eq!(r.latency.is_some(), fits);
            prop_assert_eq!(r.throughput.is_some(), fits);
            prop_assert_eq!(r.cost.is_some(), fits);
            prop_assert_eq!(r.energy.is_some(), fits);
            if let Some(n) = &r.not_run {
                let needs = format!(
                    "needs {:.1} GB per device, {:.1} GB usable: ",
                    r.memory.per_device.total_bytes / 1e9,
                    r.memory.capacity_bytes / 1e9
                );
                prop_assert!(n.reason.starts_with(&needs), "{}", n.reason);
                prop_assert_eq!(r.warnings[0].code, super::WARNING);
                prop_assert_eq!(&r.warnings[0].message, &n.reason);
                prop_assert_eq!(r.warnings.iter().filter(|w| w.code == super::WARNING).count(), 1);
            } else {
                prop_assert!(r.warnings.iter().all(|w| w.code != super::WARNING));
            }
        }
    }
}
