//! The fuzz targets' bodies: one function per target, each taking the raw input and panicking
//! (a finding) when hwcost panics or an invariant fails. The binaries in `fuzz_targets/` only
//! hand libFuzzer's input to these, so the same code runs under any engine.
//!
//! Beyond "no panic", every target checks what is cheap to check: counts that must add up,
//! error pointers that are JSON pointers, no internal (5xx) error for client input, and no
//! non-finite number in an engine estimate or in a serialised answer.

pub mod mutate;

use std::sync::{Arc, OnceLock};

use hwcost::answer::Context;
use hwcost::catalog::Catalog;
use hwcost::import::{ImportError, gguf, safetensors};
use hwcost::scenario::Error;
use hwcost::scenario::document::{self, Syntax};
use serde::Serialize;
use serde_json::Value;

/// Most configurations a fuzzed plan may search: enough for small spaces, and one input stays
/// well under a millisecond per configuration times this.
const PLAN_MAX_CONFIGURATIONS: u64 = 20_000;

/// The embedded catalog and its validation report, built once per process.
fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let catalog = Catalog::embedded().expect("the embedded catalog loads");
        let mut ctx = Context::new(Arc::new(catalog));
        ctx.plan_max_configurations = PLAN_MAX_CONFIGURATIONS;
        ctx
    })
}

/// Builds the context before fuzzing starts. Building it runs the validation harness (about 5 s
/// in an instrumented build, more on a loaded machine); inside the first input it counted
/// against libFuzzer's 10 s per-input timeout, and a busy CI machine reported that as a finding.
pub fn init() {
    let _ = context();
}

/// Error messages go back to clients and quote names they chose; the importers clip them.
fn check_import_error(e: &ImportError) {
    let message = e.to_string();
    assert!(message.chars().count() <= 400, "import error message of {} chars", message.chars().count());
}

/// A safetensors header: counts by dtype and by group add up to the totals, and the first
/// `header_bytes` of the input give the same summary (tensor data is never needed).
pub fn safetensors(data: &[u8]) {
    let summary = match safetensors::parse(data) {
        Ok(s) => s,
        Err(e) => return check_import_error(&e),
    };
    let sum = |f: &dyn Fn(&safetensors::DtypeCount) -> u64| summary.by_dtype.iter().map(f).sum::<u64>();
    assert_eq!(sum(&|d| d.tensors), summary.tensor_count, "tensors by dtype");
    assert_eq!(sum(&|d| d.parameters), summary.total_parameters, "parameters by dtype");
    assert_eq!(summary.by_group.iter().map(|g| g.tensors).sum::<u64>(), summary.tensor_count, "tensors by group");
    assert_eq!(summary.by_group.iter().map(|g| g.parameters).sum::<u64>(), summary.total_parameters);
    assert!(summary.by_dtype.len() <= safetensors::MAX_DTYPES);
    assert!(summary.by_dtype.windows(2).all(|w| w[0].dtype < w[1].dtype), "by_dtype sorted and distinct");
    assert!(summary.by_dtype.iter().all(|d| d.tensors > 0 && d.dtype.len() <= safetensors::MAX_DTYPE_BYTES));
    assert!(summary.by_group.windows(2).all(|w| w[0].group < w[1].group), "by_group sorted and distinct");
    assert!(summary.metadata.len() <= safetensors::MAX_METADATA_ENTRIES);
    for (k, v) in &summary.metadata {
        assert!(k.chars().count() <= safetensors::MAX_KEPT_STRING_CHARS);
        assert!(v.chars().count() <= safetensors::MAX_KEPT_STRING_CHARS);
    }
    let header = usize::try_from(summary.header_bytes).expect("header fits in memory");
    assert!(header <= data.len(), "header_bytes {header} beyond the {} bytes given", data.len());
    assert_eq!(safetensors::parse(&data[..header]).as_ref(), Ok(&summary), "header alone");
}

/// A `model.safetensors.index.json`: files sorted and distinct, tensors by group add up.
pub fn safetensors_index(data: &[u8]) {
    let index = match safetensors::parse_index(data) {
        Ok(s) => s,
        Err(e) => return check_import_error(&e),
    };
    assert_eq!(index.file_count, index.files.len() as u64);
    assert!(index.files.windows(2).all(|w| w[0] < w[1]), "files sorted and distinct");
    assert_eq!(index.by_group.iter().map(|g| g.tensors).sum::<u64>(), index.tensor_count);
    assert!(index.file_count <= index.tensor_count, "every file comes from a tensor");
    assert!(index.by_group.windows(2).all(|w| w[0].group < w[1].group));
}

/// A GGUF header: counts by type add up, bits per weight finite and consistent, and the first
/// `header_bytes` of the input give the same summary.
pub fn gguf(data: &[u8]) {
    let summary = match gguf::parse(data) {
        Ok(s) => s,
        Err(e) => return check_import_error(&e),
    };
    assert_eq!(summary.by_type.iter().map(|t| t.tensors).sum::<u64>(), summary.tensor_count, "tensors by type");
    assert_eq!(summary.by_type.iter().map(|t| t.parameters).sum::<u64>(), summary.total_parameters);
    assert_eq!(summary.by_type.iter().map(|t| t.bytes).sum::<u64>(), summary.total_bytes);
    assert!(summary.bits_per_weight.is_finite() && summary.bits_per_weight >= 0.0);
    for t in &summary.by_type {
        assert!(t.bits_per_weight.is_finite() && t.bits_per_weight >= 0.0, "{t:?}");
        assert!(t.tensors > 0);
        let known = (0..64).filter_map(gguf::ggml_type).find(|g| g.name == t.ggml_type);
        assert!(known.is_some(), "type {} is not in the table", t.ggml_type);
    }
    for (_, v) in &summary.metadata {
        if let gguf::MetadataValue::String(s) = v {
            assert!(s.chars().count() <= gguf::MAX_KEPT_STRING_CHARS);
        }
    }
    let header = usize::try_from(summary.header_bytes).expect("header fits in memory");
    assert!(header <= data.len());
    // Compared as Debug text: metadata may hold a NaN float, which is not equal to itself.
    let alone = gguf::parse(&data[..header]).map(|s| format!("{s:?}"));
    assert_eq!(alone, Ok(format!("{summary:?}")), "header alone");
}

/// A `config.json`: converted under a prefix, errors point under it; an accepted config's
/// record converts to the same architecture again, survives a JSON round trip (clients paste
/// it into requests), and its anatomy has no non-finite number.
pub fn hf_config(data: &[u8]) {
    let Ok(Value::Object(config)) = serde_json::from_slice::<Value>(data) else { return };
    let prefix = "/models/0";
    match hwcost::scenario::config::architecture_from_config(&config, prefix) {
        Err(e) => check_client_error(&e, prefix),
        Ok((record, architecture)) => {
            assert_eq!(record.to_engine().as_ref(), Ok(&architecture), "to_engine is deterministic");
            let json = serde_json::to_value(&record).expect("the record serialises");
            let back: hwcost::catalog::models::ArchitectureRecord =
                serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("round trip of {json}: {e}"));
            assert_eq!(back, record, "JSON round trip");
            let anatomy = hwcost::engine::anatomy::anatomy(&architecture);
            check_debug_finite("anatomy", &anatomy);
        }
    }
}

/// An inference request as JSON: parsed, estimated and answered.
pub fn inference_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let ctx = context();
    let request: hwcost::scenario::inference::InferenceRequest = match document::parse(&text, Syntax::Json) {
        Ok(r) => r,
        Err(e) => return check_client_error(&e, ""),
    };
    let scenario = match hwcost::scenario::inference::InferenceScenario::parse(&ctx.catalog, &request, "") {
        Ok(s) => s,
        Err(e) => return check_client_error(&e, ""),
    };
    let estimate = hwcost::engine::inference::estimate(&scenario.input());
    check_debug_finite("inference estimate", &estimate);
    let answer = hwcost::answer::inference::InferenceResponse::from_estimate(ctx, &scenario, estimate);
    check_answer(&answer);
}

/// A training request as JSON: parsed, estimated and answered.
pub fn training_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let ctx = context();
    let request: hwcost::scenario::training::TrainingRequest = match document::parse(&text, Syntax::Json) {
        Ok(r) => r,
        Err(e) => return check_client_error(&e, ""),
    };
    let scenario = match hwcost::scenario::training::TrainingScenario::parse(&ctx.catalog, &request, "") {
        Ok(s) => s,
        Err(e) => return check_client_error(&e, ""),
    };
    let estimate = hwcost::engine::training::estimate(&scenario.input());
    check_debug_finite("training estimate", &estimate);
    let answer = hwcost::answer::training::TrainingResponse::from_estimate(ctx, &scenario, estimate);
    check_answer(&answer);
}

/// A capacity-check plan as TOML (`hwcost check FILE`): parsed and judged.
pub fn check_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let ctx = context();
    let request: hwcost::scenario::check::CheckRequest = match document::parse(&text, Syntax::Toml) {
        Ok(r) => r,
        Err(e) => return check_client_error(&e, ""),
    };
    match hwcost::answer::check::check(ctx, &request) {
        Ok(answer) => check_answer(&answer),
        Err(e) => check_client_error(&e, ""),
    }
}

/// A planning request as TOML (`hwcost plan FILE`): parsed and searched (spaces over
/// [`PLAN_MAX_CONFIGURATIONS`] are refused by the parser, as the server refuses its cap).
pub fn plan_toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let ctx = context();
    let request: hwcost::scenario::plan::PlanRequest = match document::parse(&text, Syntax::Toml) {
        Ok(r) => r,
        Err(e) => return check_client_error(&e, ""),
    };
    match hwcost::answer::plan::plan(ctx, &request) {
        Ok(answer) => check_answer(&answer),
        Err(e) => check_client_error(&e, ""),
    }
}

/// A catalog data file: the first byte picks which kind (hardware, models, engines, formats),
/// the rest is its TOML. A loaded catalog resolves each entry's id to that entry.
pub fn catalog_toml(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else { return };
    let name = ["hardware/fuzz.toml", "models/fuzz.toml", "engines/fuzz.toml", "formats.toml"][usize::from(kind % 4)];
    let text = String::from_utf8_lossy(rest).into_owned();
    let catalog = match Catalog::from_files([(name.to_owned(), text)]) {
        Ok(c) => c,
        Err(e) => {
            assert!(!e.file.is_empty(), "a catalog error names its file");
            return;
        }
    };
    for d in catalog.devices() {
        let found = catalog.device(&d.record.id).unwrap_or_else(|s| panic!("device {} not found: {s:?}", d.record.id));
        assert_eq!(found.record.id, d.record.id);
        check_debug_finite("device", &d.device);
    }
    for m in catalog.models() {
        let found = catalog.model(&m.record.id).unwrap_or_else(|s| panic!("model {} not found: {s:?}", m.record.id));
        assert_eq!(found.record.id, m.record.id);
        check_debug_finite("anatomy", &m.anatomy);
    }
}

/// Client input never produces an internal error, and every pointer is a JSON pointer under
/// `prefix`.
fn check_client_error(e: &Error, prefix: &str) {
    assert!(!matches!(e, Error::Internal(_)), "client input produced an internal error: {e:?}");
    if let Error::InvalidRequest(errors) = e {
        assert!(!errors.is_empty(), "an invalid request names at least one field");
    }
    for f in e.field_errors() {
        assert!(f.pointer.is_empty() || f.pointer.starts_with('/'), "pointer {:?} of {e:?}", f.pointer);
        // Syntax errors point where parsing stopped, which is above any prefix.
        if !prefix.is_empty() && !matches!(e, Error::MalformedJson { .. }) {
            assert!(f.pointer.starts_with(prefix), "pointer {:?} not under {prefix:?}: {e:?}", f.pointer);
        }
    }
}

/// An answer serialises, and no number in it is a clamped infinity (`answer::finite` turns one
/// into the largest finite value; reaching it means the engine produced a non-finite number).
fn check_answer<T: Serialize>(answer: &T) {
    let json = serde_json::to_value(answer).expect("the answer serialises");
    let mut stack = vec![&json];
    while let Some(v) = stack.pop() {
        match v {
            Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    assert!(f.is_finite() && f.abs() < f64::MAX, "clamped non-finite number in {json}");
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
}

/// No `NaN` or `inf` in a value's `Debug` form outside strings: engine types are not
/// serialisable, but they all derive `Debug`, which prints floats as they are.
fn check_debug_finite<T: std::fmt::Debug>(what: &str, value: &T) {
    let text = format!("{value:?}");
    let mut in_string = false;
    let mut escaped = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if b == b'"' {
            in_string = true;
            continue;
        }
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'_';
        if word_start {
            for word in [&b"NaN"[..], b"inf"] {
                let end = i + word.len();
                let word_end = bytes.get(end).is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_');
                if bytes[i..].starts_with(word) && word_end {
                    panic!("non-finite number in {what}: {text}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_scan_finds_non_finite_numbers_outside_strings() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct S {
            name: &'static str,
            x: f64,
        }
        check_debug_finite("s", &S { name: "NaN inf \"inf\"", x: 1.5 });
        check_debug_finite("s", &S { name: "a", x: f64::MAX });
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let caught = std::panic::catch_unwind(|| check_debug_finite("s", &S { name: "a", x }));
            assert!(caught.is_err(), "{x} not caught");
        }
    }
}
