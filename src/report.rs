//! Human-readable tables of API responses, for the CLI.

use crate::api::inference::InferenceResponse;
use crate::api::training::TrainingResponse;

fn gb(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

fn money(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "n/a (no price)".to_owned(), |v| format!("${v:.3} {unit}"))
}

/// A readable summary of an inference estimate: the numbers a person checks first, then the
/// warnings.
pub fn inference_table(r: &InferenceResponse) -> String {
    let m = &r.memory;
    let rows: Vec<(&str, String)> = vec![
        ("model", r.model.clone()),
        ("hardware", format!("{} x {}", r.devices, r.hardware)),
        ("weights / kv cache", format!("{} / {}", r.weights, r.kv_cache)),
        ("engine", r.engine.clone()),
        ("batch", format!("{} sequences, {} in + {} out tokens", r.batch_size, r.input_tokens, r.output_tokens)),
        (
            "memory per device",
            format!(
                "{} of {} usable (weights {}, kv {}, activations {}, overhead {})",
                gb(m.per_device.total_bytes),
                gb(m.capacity_bytes),
                gb(m.per_device.weights_bytes),
                gb(m.per_device.kv_cache_bytes),
                gb(m.per_device.activations_bytes),
                gb(m.per_device.overhead_bytes)
            ),
        ),
        (
            "fits",
            format!(
                "{} (max batch {}, max context {} tokens)",
                if m.fits { "yes" } else { "NO" },
                m.max_batch_size,
                m.max_context_tokens
            ),
        ),
        ("time to first token", format!("{:.1} ms ({}-bound prefill)", r.latency.ttft_ms, r.compute.prefill.bound)),
        ("time per output token", format!("{:.2} ms ({}-bound decode)", r.latency.tpot_ms, r.compute.decode.bound)),
        ("end to end", format!("{:.1} ms", r.latency.e2e_ms)),
        (
            "throughput",
            format!(
                "{:.0} output tokens/s ({:.1} per user), {:.0} prefill tokens/s",
                r.throughput.output_tokens_per_s,
                r.throughput.output_tokens_per_s_per_user,
                r.throughput.prefill_tokens_per_s
            ),
        ),
        (
            "cost",
            format!(
                "{}, {}",
                money(r.cost.usd_per_hour, "per hour"),
                money(r.cost.usd_per_million_output_tokens, "per million output tokens")
            ),
        ),
        (
            "energy",
            r.energy
                .joules_per_output_token
                .map_or_else(|| "n/a (no power figure)".to_owned(), |j| format!("{j:.3} J per output token")),
        ),
    ];
    render(&rows, r.warnings.iter().map(|w| (w.code, w.message.as_str())))
}

/// Key-value rows aligned, then warnings.
fn render<'w>(rows: &[(&str, String)], warnings: impl Iterator<Item = (&'w str, &'w str)>) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        out.push_str(&format!("{key:<width$}  {value}\n"));
    }
    for (code, message) in warnings {
        out.push_str(&format!("warning [{code}]: {message}\n"));
    }
    out
}

/// A readable summary of a training estimate.
pub fn training_table(r: &TrainingResponse) -> String {
    let m = &r.memory.per_device;
    let rows: Vec<(&str, String)> = vec![
        ("model", r.model.clone()),
        ("hardware", format!("{} x {}", r.devices, r.hardware)),
        (
            "layout",
            format!(
                "tensor {} x pipeline {} x context {} x data {}{}",
                r.parallelism.tensor.unwrap_or(1),
                r.parallelism.pipeline.unwrap_or(1),
                r.parallelism.context.unwrap_or(1),
                r.parallelism.data.unwrap_or(1),
                if r.parallelism.sequence_parallel == Some(true) { ", sequence parallel" } else { "" }
            ),
        ),
        ("tokens", format!("{:.3e} ({} per step, sequence {})", r.tokens, r.global_batch_tokens, r.sequence_length)),
        (
            "memory per device",
            format!(
                "{} of {} usable (weights {}, master {}, gradients {}, optimizer {}, activations {}, overhead {})",
                gb(m.total_bytes),
                gb(r.memory.capacity_bytes),
                gb(m.weights_bytes),
                gb(m.master_weights_bytes),
                gb(m.gradients_bytes),
                gb(m.optimizer_bytes),
                gb(m.activations_bytes),
                gb(m.overhead_bytes)
            ),
        ),
        (
            "fits",
            format!(
                "{} (largest micro-batch {})",
                if r.memory.fits { "yes" } else { "NO" },
                r.memory.max_micro_batch_size
            ),
        ),
        (
            "throughput",
            format!(
                "{:.0} tokens/s per device, {:.0} in all",
                r.throughput.tokens_per_s_per_device, r.throughput.tokens_per_s
            ),
        ),
        (
            "utilisation",
            format!(
                "MFU {:.1}% (HFU {:.1}%, bubble {:.1}%)",
                r.utilization.mfu * 100.0,
                r.utilization.hfu * 100.0,
                r.utilization.pipeline_bubble_fraction * 100.0
            ),
        ),
        ("time", format!("{:.1} days wall clock, {:.0} device-hours", r.time.wall_clock_days, r.time.gpu_hours)),
        ("cost", money(r.cost.usd, "")),
        (
            "energy",
            r.energy
                .kwh
                .map_or_else(|| "n/a (no power figure)".to_owned(), |k| format!("{k:.0} kWh (PUE {})", r.energy.pue)),
        ),
    ];
    render(&rows, r.warnings.iter().map(|w| (w.code, w.message.as_str())))
}

/// A readable summary of `hwcost bench`.
pub fn bench_table(r: &crate::host::calibration::BenchReport) -> String {
    let mut out = format!("{} benchmark\n\nf32 GEMM (faer), GFLOP/s median [min, max]:\n", r.size);
    for g in &r.gemm {
        out.push_str(&format!(
            "  n = {:>5}, {} thread(s): {:>7.1} [{:.1}, {:.1}]\n",
            g.n, g.threads, g.gflops.median, g.gflops.min, g.gflops.max
        ));
    }
    out.push_str(&format!(
        "\nmemory bandwidth on {} MiB arrays, GB/s median: read {:.1}, copy {:.1}, triad {:.1}\n",
        r.bandwidth_bytes >> 20,
        r.read_gb_per_s.median,
        r.copy_gb_per_s.median,
        r.triad_gb_per_s.median
    ));
    match (&r.forward, &r.forward_unavailable) {
        (Some(f), _) => {
            out.push_str(&format!(
                "\nLlama forward pass ({} parameters, f32, candle), predicted vs measured:\n",
                f.parameters
            ));
            for (name, c) in [
                (format!("prefill of {} tokens", f.prefill_tokens), &f.prefill),
                ("decode, per token".to_owned(), &f.decode_per_token),
            ] {
                out.push_str(&format!(
                    "  {name:<24} predicted {:>8.1} ms  measured {:>8.1} ms  error {:+.1}%\n",
                    c.predicted_ms,
                    c.measured_ms,
                    c.error * 100.0
                ));
            }
        }
        (None, Some(why)) => out.push_str(&format!("\nno forward pass: {why}\n")),
        (None, None) => {}
    }
    out
}
