//! The calibration loop on this host: measure the peaks, turn them into a device, ask the
//! inference engine to predict a real forward pass on it, and compare with the measured pass.
//!
//! The host device carries measured numbers instead of datasheet ones: the f32 GEMM peak of all
//! threads and the weight-streaming rate of a one-row matmul, both through candle (the backend
//! the pass runs on). The engine profile is the catalog's `candle` profile (its
//! per-pass overhead is what separates a framework's decode step from the bandwidth roofline).

use serde::Serialize;
use utoipa::ToSchema;

use super::bench::{self, Bandwidth, Gemm};
use crate::catalog::Catalog;
use crate::engine::anatomy::anatomy;
use crate::engine::device::{ComputeType, Device, DeviceKind};
use crate::engine::format::Format;
use crate::engine::inference::{Batch, InferenceInput, estimate};
use crate::engine::parallelism::Parallelism;
use crate::engine::units::{BitsPerWeight, Bytes};

/// How much work a benchmark run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Seconds: small matrices and model (tests, the HTTP endpoint).
    Quick,
    /// About a minute: the figures the README quotes.
    Full,
}

/// A measured figure with its spread.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Measured {
    /// Median.
    pub median: f64,
    /// Smallest of the repeats.
    pub min: f64,
    /// Largest of the repeats.
    pub max: f64,
}

impl From<bench::Spread> for Measured {
    fn from(s: bench::Spread) -> Self {
        Self { median: s.median, min: s.min, max: s.max }
    }
}

/// One GEMM row of the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GemmRow {
    /// Matrix size.
    pub n: usize,
    /// Threads.
    pub threads: usize,
    /// f32 GFLOP/s.
    pub gflops: Measured,
}

/// One 16-bit GEMM row (all threads, through candle's CPU backend).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Gemm16Row {
    /// `bf16` or `f16`.
    pub dtype: &'static str,
    /// Matrix size.
    pub n: usize,
    /// Threads.
    pub threads: usize,
    /// GFLOP/s.
    pub gflops: Measured,
}

/// Predicted against measured for one phase.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comparison {
    /// What hwcost predicts on the measured host device, ms.
    pub predicted_ms: f64,
    /// What the forward pass took, ms (median).
    pub measured_ms: f64,
    /// `(predicted - measured) / measured`.
    pub error: f64,
}

/// The forward-pass part of a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForwardReport {
    /// Parameters of the benchmark model.
    pub parameters: u64,
    /// Prompt tokens.
    pub prefill_tokens: usize,
    /// Generated tokens.
    pub decode_tokens: usize,
    /// The f32 GEMM peak the prediction used: candle's own kernels (the pass's backend) on all
    /// threads, GFLOP/s (median).
    pub backend_gemm_gflop_per_s: f64,
    /// The weight-streaming rate the prediction used: candle's one-row f32 matmul over weights
    /// larger than the caches, as a decode step reads its layers, GB/s (median).
    pub backend_stream_gb_per_s: f64,
    /// Prefill of the prompt.
    pub prefill: Comparison,
    /// One decode step.
    pub decode_per_token: Comparison,
}

/// Everything `hwcost bench` measures and predicts.
#[derive(Debug, Clone, Serialize, ToSchema)]
// The example is a quick run on the 2-core Zen 4 build machine, 2026-11-28.
#[schema(example = json!({"size": "quick", "gemm": [{"n": 512, "threads": 1, "gflops": {"median": 109.6, "min": 109.6, "max": 112.1}}, {"n": 512, "threads": 2, "gflops": {"median": 200.6, "min": 194.2, "max": 209.0}}, {"n": 1024, "threads": 1, "gflops": {"median": 102.1, "min": 101.8, "max": 103.7}}, {"n": 1024, "threads": 2, "gflops": {"median": 211.7, "min": 211.3, "max": 212.7}}], "gemm_16bit": [{"dtype": "bf16", "n": 512, "threads": 2, "gflops": {"median": 98.7, "min": 96.1, "max": 128.1}}, {"dtype": "f16", "n": 512, "threads": 2, "gflops": {"median": 84.9, "min": 83.7, "max": 85.6}}], "bandwidth_bytes": 536870912, "read_gb_per_s": {"median": 24.5, "min": 22.5, "max": 27.4}, "copy_gb_per_s": {"median": 33.4, "min": 26.3, "max": 35.7}, "triad_gb_per_s": {"median": 33.0, "min": 32.7, "max": 33.4}, "forward": {"parameters": 35363328, "prefill_tokens": 128, "decode_tokens": 16, "backend_gemm_gflop_per_s": 215.4, "backend_stream_gb_per_s": 26.4, "prefill": {"predicted_ms": 65.5, "measured_ms": 69.5, "error": -0.058}, "decode_per_token": {"predicted_ms": 8.16, "measured_ms": 8.17, "error": -0.001}}}))]
pub struct BenchReport {
    /// `quick` or `full`.
    pub size: &'static str,
    /// f32 GEMM throughput.
    pub gemm: Vec<GemmRow>,
    /// 16-bit GEMM throughput (with the `transformer-bench` feature, whose candle backend
    /// provides the CPU path; faer has none).
    pub gemm_16bit: Vec<Gemm16Row>,
    /// Bandwidth buffer size, bytes.
    pub bandwidth_bytes: usize,
    /// Read bandwidth, GB/s.
    pub read_gb_per_s: Measured,
    /// Copy bandwidth, GB/s.
    pub copy_gb_per_s: Measured,
    /// Triad bandwidth, GB/s.
    pub triad_gb_per_s: Measured,
    /// The real forward pass against the prediction (absent without the `transformer-bench` feature).
    pub forward: Option<ForwardReport>,
    /// Why there is no forward pass, if there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_unavailable: Option<String>,
}

/// The host as a device: measured f32 peak and weight-streaming rate.
pub fn host_device(peak_gflops: f64, bandwidth_gb_per_s: f64, memory_bytes: f64) -> Device {
    Device {
        id: "this-host".into(),
        kind: DeviceKind::Cpu,
        memory: Bytes(memory_bytes),
        memory_bandwidth_bytes_per_s: bandwidth_gb_per_s * 1e9,
        dense_peak_flops_per_s: vec![(ComputeType::Fp32, peak_gflops * 1e9)],
        unified_memory: true,
        interconnect: None,
        tdp_w: None,
    }
}

/// The engine's predicted (prefill, decode per token) seconds for `arch` in f32 on `device`.
pub fn predict(
    catalog: &Catalog,
    device: &Device,
    arch: &crate::engine::architecture::Architecture,
    prefill: u64,
    decode: u64,
) -> Option<(f64, f64)> {
    let profile = &catalog.engine("candle")?.profile;
    let anatomy = anatomy(arch);
    let f32_format = Format { id: "fp32".into(), bits: BitsPerWeight(32.0), compute: ComputeType::Fp32 };
    let e = estimate(&InferenceInput {
        arch,
        anatomy: &anatomy,
        device,
        parallelism: Parallelism::SINGLE,
        weights: &f32_format,
        kv_cache: &f32_format,
        batch: Batch::Fixed(1),
        input_tokens: prefill,
        output_tokens: decode,
        profile,
        usd_per_device_hour: None,
        explain: false,
        network: None,
        techniques: Default::default(),
    });
    Some(((e.prefill.time.0), e.decode.time.0))
}

#[cfg(feature = "transformer-bench")]
fn compare(predicted_s: f64, measured_s: f64) -> Comparison {
    let error = if measured_s > 0.0 { (predicted_s - measured_s) / measured_s } else { 0.0 };
    Comparison { predicted_ms: predicted_s * 1e3, measured_ms: measured_s * 1e3, error }
}

/// Runs the benchmarks and the prediction.
pub fn measure(catalog: &Catalog, size: Size) -> BenchReport {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let (sizes, repeats, buffer): (&[usize], usize, usize) = match size {
        Size::Quick => (&[512, 1024], 3, 512 << 20),
        Size::Full => (&[512, 1024, 2048], 7, 512 << 20),
    };
    let mut gemm: Vec<Gemm> = Vec::new();
    for &n in sizes {
        gemm.push(bench::gemm_f32(n, 1, repeats));
        if threads > 1 {
            gemm.push(bench::gemm_f32(n, threads, repeats));
        }
    }
    let bw: Bandwidth = bench::bandwidth(buffer, threads, repeats);
    let (forward, forward_unavailable) = forward_report(catalog, size, repeats);
    let gemm_16bit = gemm_16bit(if size == Size::Quick { 512 } else { 1024 }, repeats, threads);
    BenchReport {
        size: match size {
            Size::Quick => "quick",
            Size::Full => "full",
        },
        gemm: gemm.iter().map(|g| GemmRow { n: g.n, threads: g.threads, gflops: g.gflops.into() }).collect(),
        gemm_16bit,
        bandwidth_bytes: bw.bytes,
        read_gb_per_s: bw.read.into(),
        copy_gb_per_s: bw.copy.into(),
        triad_gb_per_s: bw.triad.into(),
        forward,
        forward_unavailable,
    }
}

#[cfg(feature = "transformer-bench")]
fn forward_report(catalog: &Catalog, size: Size, repeats: usize) -> (Option<ForwardReport>, Option<String>) {
    use super::forward;
    let (shape, prefill, decode) = match size {
        Size::Quick => (forward::quick(), 128, 16),
        Size::Full => (forward::small(), 128, 32),
    };
    let measured = match forward::forward(shape, prefill, decode, repeats.min(5)) {
        Ok(m) => m,
        Err(e) => return (None, Some(format!("forward pass failed: {e}"))),
    };
    // The host as the pass's backend sees it. faer's GEMM (the `gemm` rows) and STREAM (the
    // bandwidth rows) describe the machine; candle's kernels reach a different fraction of them
    // on different CPUs (on the 2-core Xeon CI machine prefill ran at half the Zen build
    // machine's fraction), so a profile fitted against faer would be fitted to one CPU.
    let backend =
        forward::gemm_f32(1024, repeats).and_then(|gemm| Ok((gemm, forward::gemv_f32(2048, 2048, 4, repeats)?)));
    let (gemm, stream) = match backend {
        Ok((gemm, stream)) => (gemm.median, stream.median),
        Err(e) => return (None, Some(format!("backend benchmark failed: {e}"))),
    };
    let arch = shape.architecture();
    let device = host_device(gemm, stream, 1e12);
    let Some((predicted_prefill, predicted_decode)) = predict(catalog, &device, &arch, prefill as u64, decode as u64)
    else {
        return (None, Some("the catalog has no `candle` engine profile".into()));
    };
    (
        Some(ForwardReport {
            parameters: anatomy(&arch).total.0,
            prefill_tokens: prefill,
            decode_tokens: decode,
            backend_gemm_gflop_per_s: gemm,
            backend_stream_gb_per_s: stream,
            prefill: compare(predicted_prefill, measured.prefill_s.median),
            decode_per_token: compare(predicted_decode, measured.decode_s_per_token.median),
        }),
        None,
    )
}

#[cfg(feature = "transformer-bench")]
fn gemm_16bit(n: usize, repeats: usize, threads: usize) -> Vec<Gemm16Row> {
    super::forward::gemm_16bit(n, repeats)
        .map(|rows| rows.into_iter().map(|(dtype, s)| Gemm16Row { dtype, n, threads, gflops: s.into() }).collect())
        .unwrap_or_default()
}

#[cfg(not(feature = "transformer-bench"))]
fn gemm_16bit(_: usize, _: usize, _: usize) -> Vec<Gemm16Row> {
    Vec::new()
}

#[cfg(not(feature = "transformer-bench"))]
fn forward_report(_: &Catalog, _: Size, _: usize) -> (Option<ForwardReport>, Option<String>) {
    (None, Some("built without the `transformer-bench` feature (cargo build --features transformer-bench)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmarks time the whole machine: two of them at once (the test harness runs tests
    /// in parallel) would each measure half of it, and the loop would compare a pass slowed by
    /// its neighbour with peaks that were not.
    static MACHINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    #[cfg_attr(debug_assertions, ignore = "runs the real kernels: cargo test --release, or .ci/calibration.sh")]
    fn quick_benchmarks_measure_something() {
        let _machine = MACHINE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let report = measure(&Catalog::embedded().unwrap(), Size::Quick);
        assert!(report.gemm.iter().all(|g| g.gflops.median > 0.1), "{report:?}");
        assert!(report.read_gb_per_s.median > 0.1);
    }

    /// The calibration loop, quick size: hwcost's prediction of a real forward pass on this
    /// host's measured peaks is within 30% of the measured pass, for prefill and for decode.
    /// This is a ratio, not a time. The build machines are shared, and a neighbour's burst slows
    /// either the peak measurement or the pass, not both; so the loop may run three times and
    /// the best run counts.
    #[cfg(feature = "transformer-bench")]
    #[test]
    #[cfg_attr(debug_assertions, ignore = "times the real kernels: cargo test --release, or .ci/calibration.sh")]
    fn the_forward_pass_is_predicted_within_30_percent() {
        let _machine = MACHINE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let catalog = Catalog::embedded().unwrap();
        let mut runs = Vec::new();
        for _ in 0..3 {
            let forward = measure(&catalog, Size::Quick).forward.expect("the forward pass runs");
            let worst = forward.prefill.error.abs().max(forward.decode_per_token.error.abs());
            eprintln!("{forward:?}");
            runs.push((worst, forward));
            if worst <= 0.30 {
                return;
            }
        }
        panic!("every run was off by more than 30%: {runs:#?}");
    }
}
