//! Human-readable tables of API responses, for the CLI.

use crate::answer::check::CheckResponse;
use crate::answer::inference::InferenceResponse;
use crate::answer::plan::PlanResponse;
use crate::answer::serving::{LatencyPercentiles, ServingResponse};
use crate::answer::training::TrainingResponse;
use crate::host::HostDescription;
use crate::scenario::Assumption;
use crate::scenario::cost::CostBasis;

fn gb(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

fn money(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "n/a (no price)".to_owned(), |v| format!("${v:.3} {unit}"))
}

/// How a device-hour was priced, in one line.
fn basis(b: &CostBasis) -> String {
    let per_hour = money(b.usd_per_device_hour, "per device-hour");
    match b.basis {
        "rent" => format!(
            "rented, {per_hour}{}{}",
            b.provider.as_ref().map_or_else(String::new, |p| format!(" from {p}")),
            b.term.map_or_else(String::new, |t| format!(" ({t})"))
        ),
        "own" => format!(
            "owned, {per_hour}: ${:.0} over {} years at {:.0}% use, {} W at ${}/kWh x PUE {}, ${:.0}/month hosting",
            b.purchase_usd.unwrap_or_default(),
            b.amortization_years.unwrap_or_default(),
            b.utilization.unwrap_or_default() * 100.0,
            b.power_w.map_or_else(|| "no power figure".to_owned(), |w| format!("{w:.0}")),
            b.electricity_usd_per_kwh,
            b.pue,
            b.hosting_usd_per_month.unwrap_or_default()
        ),
        _ => "no price: pass --basis rent with a price, or --purchase-usd to own".to_owned(),
    }
}

/// The line that opens a table whose plan does not fit: what one device needs against what it
/// may use, and why. Speeds computed for a plan that cannot run are easy to misread as its speeds.
fn misfit(needs_bytes: f64, usable_bytes: f64, reason: &str) -> String {
    format!("DOES NOT FIT: needs {} per device, {} usable; {reason}", gb(needs_bytes), gb(usable_bytes))
}

/// Why an inference plan does not fit, in one line (the answer's `not_run.reason`); `None` when
/// it fits.
pub fn inference_misfit(r: &InferenceResponse) -> Option<String> {
    r.not_run.as_ref().map(|n| format!("DOES NOT FIT: {}", n.reason))
}

/// Why a serving deployment does not fit, in one line; `None` when it fits.
pub fn serving_misfit(r: &ServingResponse) -> Option<String> {
    r.not_run.as_ref().map(|n| format!("DOES NOT FIT: {}", n.reason))
}

/// Why a training run does not fit, in one line; `None` when it fits.
pub fn training_misfit(r: &TrainingResponse) -> Option<String> {
    let m = &r.memory;
    if m.fits {
        return None;
    }
    let p = &m.per_device;
    let parts = [
        ("weights", p.weights_bytes),
        ("master weights", p.master_weights_bytes),
        ("gradients", p.gradients_bytes),
        ("optimizer states", p.optimizer_bytes),
        ("activations", p.activations_bytes),
        ("logits", p.logits_bytes),
    ];
    let (largest, bytes) = parts.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(("weights", 0.0));
    let advice = r.fit.cheapest.as_ref().map_or_else(
        || "no change hwcost knows of makes it fit".to_owned(),
        |c| format!("cheapest fix: {} (step time x{:.2})", c.change, c.slowdown),
    );
    Some(misfit(p.total_bytes, m.capacity_bytes, &format!("{largest} take the most ({}); {advice}", gb(bytes))))
}

/// A table's first line when its plan does not fit, else nothing.
fn opening(misfit: Option<String>) -> String {
    misfit.map_or_else(String::new, |line| format!("{line}\n\n"))
}

/// A layout as a line: every degree, 1 where the answer leaves one out.
fn layout(p: &crate::scenario::inference::ParallelismBody) -> String {
    format!(
        "tensor {} x pipeline {} x expert {} x data {}",
        p.tensor.unwrap_or(1),
        p.pipeline.unwrap_or(1),
        p.expert.unwrap_or(1),
        p.data.unwrap_or(1)
    )
}

/// A readable summary of an inference estimate: the numbers a person checks first, then the
/// warnings. A plan that does not fit says so first.
pub fn inference_table(r: &InferenceResponse) -> String {
    let m = &r.memory;
    let p = &r.parallelism;
    let mut rows: Vec<(&str, String)> = vec![
        ("model", r.model.clone()),
        ("hardware", format!("{} x {}", r.devices, r.hardware)),
        ("layout", layout(p)),
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
    ];
    // A run that cannot happen has no latency, throughput, cost or energy to print.
    if let Some(l) = &r.latency {
        rows.push(("time to first token", format!("{:.1} ms ({}-bound prefill)", l.ttft_ms, r.compute.prefill.bound)));
        rows.push(("time per output token", format!("{:.2} ms ({}-bound decode)", l.tpot_ms, r.compute.decode.bound)));
        rows.push(("end to end", format!("{:.1} ms", l.e2e_ms)));
    }
    if let Some(t) = &r.throughput {
        rows.push((
            "throughput",
            format!(
                "{:.0} output tokens/s ({:.1} per user), {:.0} prefill tokens/s",
                t.output_tokens_per_s, t.output_tokens_per_s_per_user, t.prefill_tokens_per_s
            ),
        ));
    }
    if let Some(c) = &r.cost {
        rows.push((
            "cost",
            format!(
                "{}, {}",
                money(c.usd_per_hour, "per hour"),
                money(c.usd_per_million_output_tokens, "per million output tokens")
            ),
        ));
        rows.push(("cost basis", basis(&c.basis)));
    }
    if let Some(energy) = &r.energy {
        rows.push((
            "energy",
            match (energy.joules_per_output_token, energy.usd_per_million_output_tokens) {
                (Some(j), Some(usd)) => format!("{j:.3} J per output token, ${usd:.3} of electricity per million"),
                _ => "n/a (no power figure)".to_owned(),
            },
        ));
    }
    if let Some(s) = &r.speculation {
        rows.push(("speculation", speculation(s)));
    }
    opening(inference_misfit(r))
        + &render(&rows, &r.assumptions, r.warnings.iter().map(|w| (w.code, w.message.as_str())))
}

/// The speculation line of a table: what it buys at the batch and where it stops paying.
fn speculation(s: &crate::answer::speculative::SpeculationBody) -> String {
    format!(
        "{} (k {}, a {}): {:.2} tokens per step, {:.2}x at batch {}, {}",
        s.method,
        s.tokens,
        s.acceptance_rate,
        s.tokens_per_step,
        s.speedup,
        s.batch_size,
        match s.stops_paying_at_batch {
            Some(b) => format!("stops paying at batch {b}"),
            None => "pays up to the engine's batch limit".to_owned(),
        }
    )
}

/// `hwcost estimate serving` without `--json`.
pub fn serving_table(r: &ServingResponse) -> String {
    let pct =
        |p: &LatencyPercentiles| format!("mean {:.1}, p50 {:.1}, p90 {:.1}, p99 {:.1} ms", p.mean, p.p50, p.p90, p.p99);
    let m = &r.memory;
    let p = &r.parallelism;
    let mut rows: Vec<(&str, String)> = vec![
        ("model", r.model.clone()),
        ("hardware", format!("{} x {}", r.devices, r.hardware)),
        ("layout", layout(p)),
        ("weights / kv cache", format!("{} / {}", r.weights, r.kv_cache_format)),
        ("engine", r.engine.clone()),
        (
            "longest request alone",
            format!(
                "{} of {} usable per device (weights {}, kv {})",
                gb(m.per_device.total_bytes),
                gb(m.capacity_bytes),
                gb(m.per_device.weights_bytes),
                gb(m.per_device.kv_cache_bytes)
            ),
        ),
    ];
    if r.not_run.is_none() {
        rows.push((
            "requests",
            format!("{} simulated per replica, {} finished; regime {}", r.requests, r.completed, r.regime),
        ));
    }
    if let Some(t) = &r.throughput {
        rows.push((
            "throughput",
            format!(
                "{:.0} output tokens/s ({:.0} per device), {:.3} requests/s",
                t.output_tokens_per_s, t.output_tokens_per_s_per_device, t.requests_per_s
            ),
        ));
    }
    for (label, value) in [
        ("time to first token", &r.ttft_ms),
        ("time per output token", &r.tpot_ms),
        ("inter-token latency", &r.itl_ms),
        ("end to end", &r.e2e_ms),
        ("queueing", &r.queue_ms),
    ] {
        if let Some(p) = value {
            rows.push((label, pct(p)));
        }
    }
    if r.not_run.is_none() {
        rows.push((
            "concurrency",
            format!(
                "mean {:.1}, max {} in the system; {:.1} sequences per step (max {})",
                r.concurrency.mean, r.concurrency.max, r.concurrency.running_mean, r.concurrency.running_max
            ),
        ));
    }
    rows.push((
        "kv cache",
        format!(
            "{} tokens capacity, {} at peak, {} preemptions",
            r.kv_cache.capacity_tokens, r.kv_cache.peak_used_tokens, r.preemptions
        ),
    ));
    if let Some(o) = &r.kv_offload {
        rows.push((
            "kv offload",
            format!(
                "host {} tokens{}, {} swaps; without it: TTFT mean {:.1} ms, {} preemptions, {} sequences held (with it {})",
                o.host_capacity_tokens,
                o.disk_bytes.map_or(String::new(), |_| format!(", disk {} tokens", o.disk_capacity_tokens)),
                o.swaps,
                o.without.ttft_mean_ms,
                o.without.preemptions,
                o.without.largest_concurrency,
                o.largest_concurrency
            ),
        ));
    }
    if let Some(p) = &r.prefix_cache {
        rows.push((
            "prefix cache",
            format!(
                "hits: device {:.0}%, host {:.0}%, disk {:.0}%, miss {:.0}%; {:.1} ms per host hit; TTFT saved {:.1} ms",
                p.hit_share.device * 100.0,
                p.hit_share.host * 100.0,
                p.hit_share.disk * 100.0,
                p.hit_share.miss * 100.0,
                p.host_transfer_ms_per_hit,
                p.ttft_saved_ms
            ),
        ));
    }
    if let Some(c) = &r.cost {
        rows.push(("cost", money(c.usd_per_million_output_tokens, "per million output tokens")));
        rows.push(("cost basis", basis(&c.basis)));
    }
    if let Some(rate) = r.max_requests_per_s_within_slo {
        rows.push(("capacity within SLO", format!("{rate:.3} requests/s")));
    }
    if let Some(s) = &r.speculation {
        rows.push(("speculation", speculation(s)));
    }
    opening(serving_misfit(r)) + &render(&rows, &r.assumptions, r.warnings.iter().map(|w| (w.code, w.message.as_str())))
}

/// Key-value rows aligned, then what was assumed, then warnings.
fn render<'w>(
    rows: &[(&str, String)],
    assumptions: &[Assumption],
    warnings: impl Iterator<Item = (&'w str, &'w str)>,
) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        out.push_str(&format!("{key:<width$}  {value}\n"));
    }
    for a in assumptions {
        out.push_str(&format!("assumed {} = {}: {}\n", a.field, a.value, a.reason));
    }
    for (code, message) in warnings {
        out.push_str(&format!("warning [{code}]: {message}\n"));
    }
    out
}

/// A readable summary of a training estimate; a run that does not fit says so first.
pub fn training_table(r: &TrainingResponse) -> String {
    let m = &r.memory.per_device;
    let mut rows: Vec<(&str, String)> = vec![
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
    ];
    if m.host_bytes > 0.0 {
        rows.push((
            "host memory",
            format!(
                "{} (offloaded {}, spilled {})",
                gb(m.host_bytes),
                gb(m.offloaded_bytes),
                gb(r.memory.spilled_bytes)
            ),
        ));
    }
    // A run that cannot happen has no speed, days or cost: none is printed.
    if let Some(t) = &r.throughput {
        rows.push((
            "throughput",
            format!("{:.0} tokens/s per device, {:.0} in all", t.tokens_per_s_per_device, t.tokens_per_s),
        ));
    }
    if let Some(u) = &r.utilization {
        rows.push((
            "utilization",
            format!(
                "MFU {:.1}% (HFU {:.1}%, bubble {:.1}%)",
                u.mfu * 100.0,
                u.hfu * 100.0,
                u.pipeline_bubble_fraction * 100.0
            ),
        ));
    }
    if let Some(t) = &r.time {
        rows.push(("time", format!("{:.1} days wall clock, {:.0} device-hours", t.wall_clock_days, t.gpu_hours)));
    }
    if let Some(c) = &r.cost {
        rows.push(("cost", money(c.usd, "")));
        rows.push(("cost basis", basis(&c.basis)));
    }
    if let Some(e) = &r.energy {
        rows.push((
            "energy",
            match (e.kwh, e.usd) {
                (Some(k), Some(usd)) => format!("{k:.0} kWh (PUE {}), ${usd:.0} of electricity", e.pue),
                _ => "n/a (no power figure)".to_owned(),
            },
        ));
    }
    if let Some(n) = &r.not_run {
        rows.push(("not run", format!("{}: no {}", n.reason, n.left_out.join(", "))));
    }
    opening(training_misfit(r))
        + &render(&rows, &r.assumptions, r.warnings.iter().map(|w| (w.code, w.message.as_str())))
}

/// `hwcost host` without `--json`: what the machine is, as far as the OS says (0 and empty
/// fields are what it did not say).
pub fn host_table(h: &HostDescription) -> String {
    let or_unknown = |text: &str| if text.is_empty() { "unknown".to_owned() } else { text.to_owned() };
    let count = |n: usize| if n == 0 { "unknown".to_owned() } else { n.to_string() };
    let rows: Vec<(&str, String)> = vec![
        (
            "cpu",
            match h.cpu_vendor.as_str() {
                "" => or_unknown(&h.cpu_brand),
                vendor => format!("{} ({vendor})", or_unknown(&h.cpu_brand)),
            },
        ),
        ("architecture", h.architecture.to_owned()),
        ("cores / threads", format!("{} physical / {} logical", count(h.physical_cores), count(h.logical_cpus))),
        (
            "frequency",
            if h.frequency_mhz == 0 { "unknown".to_owned() } else { format!("{} MHz (nominal)", h.frequency_mhz) },
        ),
        (
            "memory",
            format!("{} total, {} available", gb(h.total_memory_bytes as f64), gb(h.available_memory_bytes as f64)),
        ),
        (
            "os",
            match h.kernel.as_str() {
                "" => or_unknown(&h.os),
                kernel => format!("{}, kernel {kernel}", or_unknown(&h.os)),
            },
        ),
        (
            "simd / matrix",
            if h.cpu_features.is_empty() { "none detected".to_owned() } else { h.cpu_features.join(", ") },
        ),
        ("catalog device", h.catalog_device.clone().unwrap_or_else(|| "none matches this CPU".to_owned())),
    ];
    render(&rows, &[], std::iter::empty())
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
    if r.gemm_16bit.is_empty() {
        out.push_str(
            "16-bit GEMM: needs the transformer-bench feature (candle's CPU backend; faer has no 16-bit path)\n",
        );
    }
    for g in &r.gemm_16bit {
        out.push_str(&format!(
            "{} GEMM (candle), n = {}, {} thread(s): {:.1} GFLOP/s [{:.1}, {:.1}]\n",
            g.dtype, g.n, g.threads, g.gflops.median, g.gflops.min, g.gflops.max
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

/// A number with as many decimals as its size deserves.
fn significant(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.4}"),
    }
}

/// A capacity check: one row per rule (status, value, limit, margin), then the verdict.
pub fn check_table(r: &CheckResponse) -> String {
    let subject = match (&r.inference, &r.training) {
        (Some(i), _) => format!("{} on {} x {} ({}, {})", i.model, i.devices, i.hardware, i.weights, i.engine),
        (_, Some(t)) => format!("training {} on {} x {} ({})", t.model, t.devices, t.hardware, t.engine),
        _ => "plan".to_owned(),
    };
    let mut out = format!("{subject}\n\n");
    let rule_width = r.rules.iter().map(|x| x.rule.len()).max().unwrap_or(4).max(4);
    out.push_str(&format!(
        "{:<rule_width$}  {:<7}  {:>12}  {:>12}  {:>8}  {}\n",
        "rule", "status", "value", "limit", "margin", "unit"
    ));
    for rule in &r.rules {
        out.push_str(&format!(
            "{:<rule_width$}  {:<7}  {:>12}  {:>12}  {:>7.1}%  {}\n",
            rule.rule,
            rule.status,
            rule.value.map_or_else(|| "unknown".to_owned(), significant),
            significant(rule.limit),
            rule.margin * 100.0,
            rule.unit
        ));
    }
    out.push('\n');
    if let Some(load) = r.under_load.as_ref().filter(|l| l.completed == 0) {
        out.push_str(&format!("under load: not run ({}: no request fits this deployment)\n", load.capacity_bound));
    } else if let Some(load) = &r.under_load {
        let at = load.requests_per_s.map_or_else(
            || "one request on an idle server".to_owned(),
            |rate| format!("{} requests/s", significant(rate)),
        );
        out.push_str(&format!(
            "under load ({at}, continuous batching): TTFT {} ms mean, {} ms p99; TPOT {} ms mean; {}; capacity {} requests/s within the latency limits ({}), offline {}\n",
            significant(load.ttft_ms.mean),
            significant(load.ttft_ms.p99),
            significant(load.tpot_ms.mean),
            load.regime,
            significant(load.capacity_requests_per_s),
            load.capacity_bound,
            significant(load.offline_requests_per_s),
        ));
        if let Some(d) = &load.disaggregation {
            let pool = |p: &crate::answer::disaggregation::PoolAnswer| {
                format!(
                    "{} x {} ({} req/s, {:.0}% busy, {} ms mean)",
                    p.devices,
                    p.hardware,
                    significant(p.requests_per_s),
                    p.utilization * 100.0,
                    significant(p.latency_ms)
                )
            };
            let t = &d.kv_transfer;
            out.push_str(&format!(
                "disaggregated: prefill {}, decode {}; KV transfer {} MB per request, p90 {} ms over {}\n",
                d.prefill.as_ref().map_or_else(|| "unlimited".to_owned(), pool),
                pool(&d.decode),
                significant(t.bytes_per_request / 1e6),
                significant(t.ms.p90),
                t.network.as_deref().unwrap_or("the devices' fabric"),
            ));
        }
    }
    for rule in r.rules.iter().filter(|x| x.status != "pass") {
        out.push_str(&format!("{} [{}]: {}\n", rule.status, rule.rule, rule.message));
    }
    out.push_str(&format!("verdict: {} ({})\n", r.verdict.to_uppercase(), r.summary));
    out
}

fn optional_money(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("${v:.3}"))
}

/// A plan: the ranked configurations, rejections, the API comparison and the notes.
pub fn plan_table(r: &PlanResponse) -> String {
    let mut out = format!(
        "{} configurations evaluated{}, {} feasible, in {:.1} ms\n\n",
        r.evaluated,
        if r.complete { "" } else { " (stopped by the deadline)" },
        r.feasible,
        r.elapsed_ms
    );
    out.push_str(&format!(
        "{:>3}  {:<34} {:>4} {:>8} {:<7} {:>6} {:>9} {:>9} {:>10} {:>12}  {}\n",
        "#", "hardware", "tp", "replicas", "weights", "batch", "ttft ms", "tpot ms", "USD/h", "USD/M tokens", "check"
    ));
    for (i, c) in r.ranked.iter().enumerate() {
        out.push_str(&format!(
            "{:>3}  {:<34} {:>4} {:>8} {:<7} {:>6} {:>9.0} {:>9.1} {:>10} {:>12}  {}\n",
            i + 1,
            format!("{} x {}", c.devices, c.hardware),
            c.parallelism.tensor,
            c.parallelism.data,
            c.weights,
            c.batch_size,
            c.latency.ttft_ms,
            c.latency.tpot_ms,
            optional_money(c.cost.usd_per_hour),
            optional_money(c.cost.usd_per_million_output_tokens),
            c.verdict
        ));
    }
    if let Some(rows) = r.disaggregated.as_ref().filter(|rows| !rows.is_empty()) {
        out.push_str(&format!(
            "\ndisaggregated prefill and decode pools:\n{:>3}  {:<8} {:<32} {:<32} {:>9} {:>9} {:>9} {:>10} {:>12}  {}\n",
            "#", "pools", "prefill", "decode", "ttft ms", "tpot ms", "tok/s/dev", "USD/h", "USD/M tokens", "check"
        ));
        for (i, c) in rows.iter().enumerate() {
            let (p, d) = (&c.disaggregation.prefill, &c.disaggregation.decode);
            out.push_str(&format!(
                "{:>3}  {:<8} {:<32} {:<32} {:>9.0} {:>9.1} {:>9.0} {:>10} {:>12}  {}\n",
                i + 1,
                c.xpyd,
                p.as_ref().map_or_else(|| "unlimited".to_owned(), |p| format!("{} x {}", p.devices, p.hardware)),
                format!("{} x {}", d.devices, d.hardware),
                c.latency.ttft_ms,
                c.latency.tpot_ms,
                c.disaggregation.output_tokens_per_s_per_device,
                optional_money(c.cost.usd_per_hour),
                optional_money(c.cost.usd_per_million_output_tokens),
                c.verdict
            ));
        }
    }
    if !r.rejected.is_empty() {
        let reasons: Vec<String> = r.rejected.iter().map(|x| format!("{} {}", x.count, x.reason)).collect();
        out.push_str(&format!("\nrejected: {}\n", reasons.join(", ")));
    }
    if !r.api_comparison.is_empty() {
        out.push_str("\nthe best configuration against hosted APIs, USD per million output tokens:\n");
    }
    for c in &r.api_comparison {
        out.push_str(&format!(
            "  vs {} ({}): API ${:.3}; {} ${:.3} at this load (${:.3} fully used, ${:.0} a month); {}\n",
            c.api,
            if c.source.is_empty() { "given" } else { "catalog" },
            c.api_usd_per_million_output_tokens,
            if c.basis == "own" { "owned" } else { "rented" },
            c.self_hosted_usd_per_million_output_tokens,
            c.self_hosted_floor_usd_per_million_output_tokens,
            c.self_hosted_usd_per_month,
            c.break_even_output_tokens_per_month.map_or_else(
                || "the API is cheaper at any volume".to_owned(),
                |v| format!("self-hosting wins above {v:.3e} output tokens a month")
            )
        ));
    }
    for note in &r.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

fn dollars(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a (no price)".to_owned(), |v| format!("${v:.3e}"))
}

fn run_cost(c: Option<&crate::answer::scaling::RunCost>) -> String {
    c.map_or_else(
        || "n/a (no layout)".to_owned(),
        |c| {
            format!(
                "{} on {} x {}: {:.0} days, {:.3e} device-hours, MFU {:.0}%",
                dollars(c.usd),
                c.devices,
                c.hardware,
                c.wall_clock_days,
                c.device_hours,
                c.mfu * 100.0
            )
        },
    )
}

/// `hwcost estimate scaling`: the run's loss, its compute-optimal twin and what each 10x buys.
pub fn scaling_table(r: &crate::answer::scaling::ScalingResponse) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("fit", format!("{} (loss on {})", r.fit.id, r.fit.loss_measured_on)),
        (
            "run",
            format!(
                "{}{:.3e} parameters on {:.3e} tokens ({:.1} per parameter){}",
                r.model.as_ref().map(|m| format!("{m}: ")).unwrap_or_default(),
                r.parameters,
                r.tokens,
                r.tokens_per_parameter,
                r.unique_tokens.map(|u| format!(", {:.1} epochs of {u:.3e} unique", r.tokens / u)).unwrap_or_default()
            ),
        ),
        ("loss", format!("{:.4} (irreducible {:.4}, reducible {:.4})", r.loss, r.irreducible_loss, r.reducible_loss)),
        ("training compute", format!("{:.3e} FLOPs", r.training_flops)),
        ("cost", run_cost(r.cost.as_ref())),
        (
            "compute-optimal",
            format!(
                "{:.3e} parameters on {:.3e} tokens: loss {:.4}",
                r.compute_optimal.parameters, r.compute_optimal.tokens, r.compute_optimal.loss
            ),
        ),
        (
            "next 10x",
            format!(
                "{:.3e} parameters on {:.3e} tokens: loss {:.4} ({:+.4}, reducible loss x{:.3})",
                r.next_10x.parameters,
                r.next_10x.tokens,
                r.next_10x.loss,
                r.next_10x.delta_loss,
                r.next_10x.reducible_loss_multiplier
            ),
        ),
        ("next 10x cost", run_cost(r.next_10x.cost.as_ref())),
    ];
    let ladder: Vec<String> = r
        .ladder
        .iter()
        .map(|g| {
            format!(
                "{:>5}x: loss {:.4} ({:+.4}), {}{}",
                g.compute_multiplier,
                g.loss,
                g.delta_loss,
                dollars(g.usd),
                g.usd_per_loss_removed.map(|u| format!(", ${u:.3e} per nat removed")).unwrap_or_default()
            )
        })
        .collect();
    rows.push(("ladder", ladder.join("\n                  ")));
    render(&rows, &r.assumptions, r.warnings.iter().map(|w| (w.code, w.message.as_str())))
}

/// `hwcost plan scaling`: the lifetime-optimal model against its compute-optimal twin.
pub fn scaling_plan_table(r: &crate::answer::scaling::ScalingPlanResponse) -> String {
    let model = |m: &crate::answer::scaling::LifetimeBody| {
        format!(
            "{:.3e} parameters on {:.3e} tokens ({:.0} per parameter): {:.3e} FLOPs{}",
            m.parameters,
            m.tokens,
            m.tokens_per_parameter,
            m.total_flops,
            m.total_usd.map(|u| format!(", ${u:.3e}")).unwrap_or_default()
        )
    };
    let rows: Vec<(&str, String)> = vec![
        ("fit", r.fit.id.clone()),
        (
            "target",
            format!(
                "loss {:.4}{}",
                r.target.loss,
                r.target.model.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
            ),
        ),
        ("inference", format!("{:.3e} tokens over the lifetime", r.inference_tokens)),
        ("optimal", model(&r.optimal)),
        ("compute-optimal twin", model(&r.compute_optimal_twin)),
        ("saving", format!("{:.1}% of the {:?} objective", r.saving_fraction * 100.0, r.objective).to_lowercase()),
    ];
    render(&rows, &r.assumptions, r.warnings.iter().map(|w| (w.code, w.message.as_str())))
}

/// `hwcost calibrate`: the error before, after and held out, the constants that moved, the
/// error per metric, and the runs left out.
pub fn calibration_table(r: &crate::answer::calibrate::CalibrationResult) -> String {
    use crate::answer::calibrate::ErrorSummary;
    let e = |s: &ErrorSummary| {
        format!(
            "median {:.1}%, p90 {:.1}%, max {:.1}% over {}",
            s.median_ape * 100.0,
            s.p90_ape * 100.0,
            s.max_ape * 100.0,
            s.measurements
        )
    };
    let mut out = format!("engine      {}\n", r.engine.as_deref().unwrap_or(r.kind));
    out.push_str(&format!("before      {}\n", e(&r.before)));
    out.push_str(&format!("after       {} (on the runs it was fitted to)\n", e(&r.after)));
    match (&r.held_out, &r.held_out_note) {
        (Some(h), _) => out.push_str(&format!(
            "held out    {} ({} folds by {}; the catalog profile on them: median {:.1}%)\n",
            e(&h.after),
            h.folds,
            h.unit,
            h.before.median_ape * 100.0
        )),
        (None, Some(note)) => out.push_str(&format!("held out    none: {note}\n")),
        (None, None) => {}
    }
    if !r.constants.is_empty() {
        out.push_str(&format!("\n{:<30} {:>12} {:>12} {:>8}  bounds\n", "constant", "catalog", "fitted", "change"));
        for c in &r.constants {
            out.push_str(&format!(
                "{:<30} {:>12.4} {:>12.4} {:>+7.1}%  {} to {}\n",
                c.name,
                c.before,
                c.after,
                c.change * 100.0,
                c.min,
                c.max
            ));
        }
    }
    if !r.metrics.is_empty() {
        out.push_str(&format!("\n{:<26} {:<7} {:>9} {:>9} {:>9}\n", "metric", "stat", "before", "after", "held out"));
        for m in &r.metrics {
            out.push_str(&format!(
                "{:<26} {:<7} {:>8.1}% {:>8.1}% {:>9}\n",
                m.metric,
                m.statistic,
                m.before.median_ape * 100.0,
                m.after.median_ape * 100.0,
                m.held_out.as_ref().map_or_else(|| "-".to_owned(), |h| format!("{:.1}%", h.median_ape * 100.0))
            ));
        }
    }
    for s in &r.skipped {
        out.push_str(&format!("skipped {} {}: {}\n", s.file, if s.run.is_empty() { "-" } else { &s.run }, s.reason));
    }
    if let Some(profile) = &r.profile {
        out.push_str(&format!(
            "\nprofile (--out FILE writes it; pass it back with --engine-profile FILE):\n{}\n",
            serde_json::to_string_pretty(profile).unwrap_or_default()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::answer::Context;
    use crate::catalog::Catalog;
    use crate::scenario::document::from_value;
    use crate::scenario::inference::InferenceScenario;
    use crate::scenario::training::TrainingScenario;
    use crate::validation::{Report, Validation};

    /// The embedded catalog without error bands (they play no part in a table's opening line).
    fn context() -> Context {
        let catalog = Arc::new(Catalog::embedded().unwrap());
        Context {
            validation: Arc::new(Validation::from_report(Arc::clone(&catalog), Report::empty())),
            catalog,
            plan_max_configurations: 1,
            batch_max_items: 1,
        }
    }

    /// `table`'s first line must start with `prefix` and hold each of `words`.
    fn check(table: &str, prefix: &str, words: &[&str]) {
        let first = table.lines().next().unwrap_or_default();
        assert!(first.starts_with(prefix), "first line {first:?}, expected {prefix:?}:\n{table}");
        for word in words {
            assert!(first.contains(word), "first line lacks {word:?}:\n{table}");
        }
    }

    #[test]
    fn an_inference_plan_that_does_not_fit_says_so_first() {
        let ctx = context();
        // (request, first line's start, words it holds)
        let cases: &[(serde_json::Value, &str, &[&str])] = &[
            (json!({"model": "llama-3.1-8b", "hardware": "h100"}), "model ", &[]),
            (
                json!({"model": "llama-3.1-405b", "hardware": "h100"}),
                "DOES NOT FIT: needs ",
                &["GB per device", "GB usable", "the weights alone take", "devices (tensor or pipeline parallelism)"],
            ),
            (
                json!({"model": "llama-3.1-8b", "hardware": "h100", "batch_size": 256, "input_tokens": 32000, "output_tokens": 1000}),
                "DOES NOT FIT: needs ",
                &["the KV cache of 256 sequences", "(batch_size "],
            ),
        ];
        for (request, prefix, words) in cases {
            let request = from_value(request.clone()).unwrap();
            let scenario = InferenceScenario::parse(&ctx.catalog, &request, "").unwrap();
            let response = InferenceResponse::new(&ctx, &scenario);
            assert_eq!(response.memory.fits, *prefix == "model ", "{request:?}");
            check(&inference_table(&response), prefix, words);
        }
    }

    #[test]
    fn a_training_run_that_does_not_fit_says_so_first() {
        let ctx = context();
        let cases: &[(serde_json::Value, &str, &[&str])] = &[
            (json!({"model": "llama-2-7b", "hardware": "h100", "devices": 8, "sharding": "zero3"}), "model ", &[]),
            (
                json!({"model": "llama-2-70b", "hardware": "h100", "devices": 1}),
                "DOES NOT FIT: needs ",
                &["GB per device", "GB usable", "take the most"],
            ),
        ];
        for (request, prefix, words) in cases {
            let request = from_value(request.clone()).unwrap();
            let scenario = TrainingScenario::parse(&ctx.catalog, &request, "").unwrap();
            let response = TrainingResponse::new(&ctx, &scenario);
            assert_eq!(response.memory.fits, *prefix == "model ", "{request:?}");
            let table = training_table(&response);
            check(&table, prefix, words);
            // A run that cannot happen prints no speed, days or cost.
            for run_only in ["days wall clock", "tokens/s", "MFU", "cost basis"] {
                assert_eq!(table.contains(run_only), response.memory.fits, "{run_only} in:\n{table}");
            }
        }
    }

    fn host(brand: &str, cores: usize, features: Vec<&'static str>, device: Option<&str>) -> HostDescription {
        HostDescription {
            cpu_brand: brand.to_owned(),
            cpu_vendor: if brand.is_empty() { String::new() } else { "AuthenticAMD".to_owned() },
            physical_cores: cores,
            logical_cpus: cores * 2,
            frequency_mhz: if cores == 0 { 0 } else { 2400 },
            total_memory_bytes: 768_000_000_000,
            available_memory_bytes: 700_000_000_000,
            os: "Linux (Debian GNU/Linux 12)".to_owned(),
            kernel: "6.1.0".to_owned(),
            architecture: "x86_64",
            cpu_features: features,
            catalog_device: device.map(str::to_owned),
        }
    }

    #[test]
    fn the_host_table_names_each_field_and_what_the_os_did_not_say() {
        let described = host("AMD EPYC 9654 96-Core Processor", 96, vec!["avx2", "avx512f"], Some("amd-epyc-9654"));
        let unknown = host("", 0, vec![], None);
        // (host, rows the table must hold)
        let cases: &[(&HostDescription, &[&str])] = &[
            (
                &described,
                &[
                    "cpu              AMD EPYC 9654 96-Core Processor (AuthenticAMD)",
                    "architecture     x86_64",
                    "cores / threads  96 physical / 192 logical",
                    "frequency        2400 MHz (nominal)",
                    "memory           768.0 GB total, 700.0 GB available",
                    "os               Linux (Debian GNU/Linux 12), kernel 6.1.0",
                    "simd / matrix    avx2, avx512f",
                    "catalog device   amd-epyc-9654",
                ],
            ),
            (
                &unknown,
                &[
                    "cpu              unknown",
                    "cores / threads  unknown physical / unknown logical",
                    "frequency        unknown",
                    "simd / matrix    none detected",
                    "catalog device   none matches this CPU",
                ],
            ),
        ];
        for (h, rows) in cases {
            let table = host_table(h);
            let lines: Vec<&str> = table.lines().collect();
            for row in *rows {
                assert!(lines.contains(row), "no row {row:?} in:\n{table}");
            }
        }
    }
}
