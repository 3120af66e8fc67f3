//! Benchmark result files people already have, read into [`MeasuredRun`]s: `vllm bench serve
//! --save-result` JSON (also SGLang's `bench_serving`), GuideLLM reports, llm-d benchmark reports
//! (schema v0.1) and genai-perf / AIPerf profile exports.
//!
//! Every reader normalises its metrics to one definition each ([`MetricKind`]: milliseconds for
//! latencies, the vLLM definition of TPOT) and says, per number, which definition the source tool
//! used ([`Measured::definition`]). What a file does not state (the device, the layout, the
//! engine) stays `None`: it comes from the request later, never from a guess.
//!
//! Bounded like the other importers: the text is capped at [`MAX_BYTES`], per-request lists at
//! [`MAX_REQUESTS`], and every malformed, truncated or unknown-version file is a [`ReadError`]
//! naming the field (a JSON pointer), never a panic. Pure data out; no HTTP here.

pub mod genai_perf;
pub mod guidellm;
pub mod llmd;
pub mod vllm;

use serde_json::Value;

/// The largest result file read (a detailed vLLM file with per-token gaps for 10k requests is
/// tens of MiB).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// The most per-request records kept from one run.
pub const MAX_REQUESTS: usize = 200_000;

/// The tool that wrote a result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `vllm bench serve --save-result` (or `benchmarks/benchmark_serving.py`, or SGLang's
    /// `bench_serving --output-file`, which writes the same flat keys).
    VllmBench,
    /// A GuideLLM report (`benchmarks.json`).
    GuideLlm,
    /// An llm-d benchmark report (`llm-d-benchmark`, schema v0.1).
    LlmD,
    /// A genai-perf `profile_export_genai_perf.json` or an AIPerf `profile_export_aiperf.json`.
    GenaiPerf,
}

impl Tool {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::VllmBench => "vllm-bench",
            Tool::GuideLlm => "guidellm",
            Tool::LlmD => "llm-d",
            Tool::GenaiPerf => "genai-perf",
        }
    }
}

/// The four formats, for error messages.
pub const FORMATS: &str = "a vllm bench serve --save-result JSON (keys completed, mean_ttft_ms), a GuideLLM report (benchmarks[]), an llm-d benchmark report (version, scenario, metrics) or a genai-perf/AIPerf profile export (time_to_first_token {unit, avg})";

/// Why a result file could not be read: the field (a JSON pointer into the file; empty for the
/// whole document) and what is wrong with it.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{}: {problem}", if field.is_empty() { "the file" } else { field.as_str() })]
pub struct ReadError {
    /// JSON pointer of the offending field, `""` for the document.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl ReadError {
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ReadError { field: field.into(), problem: problem.into() }
    }
}

/// How requests arrived during a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Open loop at `per_second` requests/s. `burstiness` is vLLM's gamma shape (1 = Poisson);
    /// `None` where the tool does not say (GuideLLM `poisson` says 1, `constant` says none).
    /// `max_concurrency` caps requests in flight where the tool had such a cap.
    Rate { per_second: f64, burstiness: Option<f64>, max_concurrency: Option<u64> },
    /// All requests sent at once (vLLM `request_rate: "inf"`), at most `max_concurrency` in flight.
    Unbounded { max_concurrency: Option<u64> },
    /// Closed loop: a fixed number of requests in flight (GuideLLM `concurrent`, `synchronous` = 1,
    /// genai-perf `--concurrency`).
    Concurrency(u64),
    /// The file does not say.
    NotStated,
}

/// The layout a run used, where the file states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Tensor parallel degree.
    pub tensor: u32,
    /// Pipeline parallel degree.
    pub pipeline: u32,
    /// Data parallel degree.
    pub data: u32,
    /// Expert parallel degree.
    pub expert: u32,
}

/// What the run was: the conditions the file states. Unstated ones are `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conditions {
    /// The model as the file names it (a served name or a Hugging Face id; not resolved here).
    pub model: Option<String>,
    /// The serving engine (`vllm`, `sglang`...), where the file states the server's engine.
    pub engine: Option<String>,
    /// The engine's release, where stated.
    pub engine_version: Option<String>,
    /// The accelerator as the file names it (not resolved to a catalog id here).
    pub device: Option<String>,
    /// How many accelerators.
    pub devices: Option<u32>,
    /// Tensor/pipeline/data/expert degrees.
    pub layout: Option<Layout>,
    /// The arrival pattern.
    pub arrival: Option<Arrival>,
    /// Mean input tokens per request.
    pub input_tokens_mean: Option<f64>,
    /// Mean output tokens per request.
    pub output_tokens_mean: Option<f64>,
    /// Requests that completed.
    pub completed: Option<u64>,
    /// Requests that failed.
    pub failed: Option<u64>,
    /// The measured span, seconds.
    pub duration_s: Option<f64>,
}

/// One normalised metric: the definitions hwcost uses everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKind {
    /// Time to first token, ms: request sent to first token received.
    TtftMs,
    /// Time per output token, ms, the vLLM definition: per request
    /// `(e2e - ttft) / (output_tokens - 1)`, which excludes the first token.
    TpotMs,
    /// Inter-token latency, ms, the vLLM definition: every gap between consecutive output tokens
    /// (of all requests pooled), so a token-weighted, not a request-weighted, statistic.
    ItlMs,
    /// End-to-end request latency, ms.
    E2eMs,
    /// Output tokens per second over the run (all requests).
    OutputTokensPerSecond,
    /// Completed requests per second over the run.
    RequestsPerSecond,
}

impl MetricKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::TtftMs => "ttft_ms",
            MetricKind::TpotMs => "tpot_ms",
            MetricKind::ItlMs => "itl_ms",
            MetricKind::E2eMs => "e2e_ms",
            MetricKind::OutputTokensPerSecond => "output_tokens_per_second",
            MetricKind::RequestsPerSecond => "requests_per_second",
        }
    }
}

/// A metric's summary statistics, in the unit of its [`MetricKind`]. A run-level rate has only a
/// `mean` (the run's total over its duration).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Mean.
    pub mean: Option<f64>,
    /// Median (p50).
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

impl Summary {
    fn is_empty(&self) -> bool {
        self.mean.is_none() && self.median.is_none() && self.p90.is_none() && self.p99.is_none()
    }
}

/// One measured metric with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// What it is, in hwcost's definition and unit.
    pub kind: MetricKind,
    /// The values, normalised (seconds to ms and so on).
    pub summary: Summary,
    /// The source field(s) and the source tool's definition of the number, and how it relates to
    /// hwcost's (equal, or how it differs).
    pub definition: String,
}

/// One request as the file records it, for replay as a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredRequest {
    /// When it was sent, seconds after the run's first request; `None` where the file does not
    /// record send times (vLLM's detailed arrays do not: replay at the run's arrival pattern).
    pub arrival_s: Option<f64>,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Measured time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Measured end-to-end latency, ms.
    pub e2e_ms: Option<f64>,
}

/// One benchmark run read from a file: its conditions, metrics and requests.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredRun {
    /// The tool that wrote the file.
    pub tool: Tool,
    /// The tool's release, where the file states it.
    pub tool_version: Option<String>,
    /// Which run of the file this is (`benchmarks/2` for the third GuideLLM benchmark); `""` for a
    /// single-run file.
    pub label: String,
    /// The conditions the file states.
    pub conditions: Conditions,
    /// The metrics, one per kind at most, in [`MetricKind`] order.
    pub metrics: Vec<Measured>,
    /// Successful requests, where the file keeps them (empty otherwise).
    pub requests: Vec<MeasuredRequest>,
    /// What was read but not mapped, and why (definitions that differ, fields ignored).
    pub notes: Vec<String>,
}

impl MeasuredRun {
    pub(crate) fn new(tool: Tool, label: impl Into<String>) -> Self {
        MeasuredRun {
            tool,
            tool_version: None,
            label: label.into(),
            conditions: Conditions::default(),
            metrics: Vec::new(),
            requests: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The metric of `kind`, if the file has it.
    pub fn metric(&self, kind: MetricKind) -> Option<&Measured> {
        self.metrics.iter().find(|m| m.kind == kind)
    }

    pub(crate) fn push(&mut self, kind: MetricKind, summary: Summary, definition: impl Into<String>) {
        if summary.is_empty() || self.metric(kind).is_some() {
            return;
        }
        self.metrics.push(Measured { kind, summary, definition: definition.into() });
        self.metrics.sort_by_key(|m| m.kind);
    }
}

/// Parses `bytes` (JSON, or YAML for llm-d reports) into a document.
pub fn parse(bytes: &[u8]) -> Result<Value, ReadError> {
    if bytes.len() > MAX_BYTES {
        return Err(ReadError::new("", format!("{} bytes; at most {MAX_BYTES} are read", bytes.len())));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ReadError::new("", format!("not UTF-8 text: {e}")))?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ReadError::new("", "empty"));
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(text).map_err(|e| {
            let why = if e.is_eof() { "truncated JSON" } else { "malformed JSON" };
            ReadError::new("", format!("{why}: {e}"))
        });
    }
    serde_yaml_ng::from_str(text).map_err(|e| ReadError::new("", format!("neither JSON nor YAML: {e}")))
}

/// Which reader applies to `doc`, from its keys.
pub fn sniff(doc: &Value) -> Result<Tool, ReadError> {
    let Value::Object(map) = doc else {
        return Err(ReadError::new("", format!("a result file is a JSON object; expected {FORMATS}")));
    };
    let has = |k: &str| map.contains_key(k);
    let object_with_unit = |k: &str| map.get(k).and_then(|v| v.get("unit")).is_some();
    if has("benchmarks") {
        Ok(Tool::GuideLlm)
    } else if has("scenario") && has("metrics") {
        Ok(Tool::LlmD)
    } else if object_with_unit("time_to_first_token")
        || object_with_unit("request_throughput")
        || object_with_unit("request_latency")
    {
        Ok(Tool::GenaiPerf)
    } else if has("mean_ttft_ms") || (has("completed") && has("request_throughput")) {
        Ok(Tool::VllmBench)
    } else {
        Err(ReadError::new("", format!("not a benchmark result this service reads; expected {FORMATS}")))
    }
}

/// Which reader applies to `bytes`.
pub fn sniff_bytes(bytes: &[u8]) -> Result<Tool, ReadError> {
    sniff(&parse(bytes)?)
}

/// Reads a result file of any of the four formats into its runs.
pub fn read(bytes: &[u8]) -> Result<Vec<MeasuredRun>, ReadError> {
    let doc = parse(bytes)?;
    read_as(sniff(&doc)?, &doc)
}

/// Reads `doc` as a `tool` result.
pub fn read_as(tool: Tool, doc: &Value) -> Result<Vec<MeasuredRun>, ReadError> {
    match tool {
        Tool::VllmBench => vllm::read(doc).map(|r| vec![r]),
        Tool::GuideLlm => guidellm::read(doc),
        Tool::LlmD => llmd::read(doc).map(|r| vec![r]),
        Tool::GenaiPerf => genai_perf::read(doc).map(|r| vec![r]),
    }
}

/// A cursor into the document that knows its JSON pointer, so every error names its field.
#[derive(Clone)]
pub(crate) struct Node<'a> {
    pub value: &'a Value,
    pub path: String,
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value) -> Self {
        Node { value, path: String::new() }
    }

    /// The child at `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => {
                Some(Node { value: v, path: format!("{}/{}", self.path, key.replace('~', "~0").replace('/', "~1")) })
            }
        }
    }

    /// The child at `key`, which must be present.
    pub fn req(&self, key: &str) -> Result<Node<'a>, ReadError> {
        self.get(key).ok_or_else(|| ReadError::new(format!("{}/{key}", self.path), "missing"))
    }

    /// The elements of an array.
    pub fn items(&self) -> Result<Vec<Node<'a>>, ReadError> {
        let Value::Array(items) = self.value else {
            return Err(self.err("expected an array"));
        };
        Ok(items.iter().enumerate().map(|(i, v)| Node { value: v, path: format!("{}/{i}", self.path) }).collect())
    }

    pub fn err(&self, problem: impl Into<String>) -> ReadError {
        ReadError::new(self.path.clone(), problem)
    }

    /// A finite, non-negative number.
    pub fn num(&self) -> Result<f64, ReadError> {
        let x = match self.value {
            Value::Number(n) => n.as_f64(),
            _ => None,
        };
        match x {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
            Some(x) => Err(self.err(format!("expected a finite number >= 0, found {x}"))),
            None => Err(self.err(format!("expected a number, found {}", crate::wire::kind(self.value)))),
        }
    }

    /// A non-negative whole number.
    pub fn count(&self) -> Result<u64, ReadError> {
        let x = self.num()?;
        if x.fract() != 0.0 || x > 1e15 {
            return Err(self.err(format!("expected a whole number, found {x}")));
        }
        Ok(x as u64)
    }

    /// The number at `key`, if present.
    pub fn opt_num(&self, key: &str) -> Result<Option<f64>, ReadError> {
        self.get(key).map(|n| n.num()).transpose()
    }

    /// The whole number at `key`, if present.
    pub fn opt_count(&self, key: &str) -> Result<Option<u64>, ReadError> {
        self.get(key).map(|n| n.count()).transpose()
    }

    /// The string at `key`, if present (numbers are written as strings).
    pub fn opt_str(&self, key: &str) -> Option<String> {
        self.get(key)?.opt_str_self()
    }

    /// This node as a string (numbers written as strings).
    pub fn opt_str_self(&self) -> Option<String> {
        match self.value {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// The `q`-th percentile (0..=100) of `values` by linear interpolation between the closest ranks,
/// numpy's default (`np.percentile`, which vLLM uses): position `q / 100 * (n - 1)` in the sorted
/// values. `None` when empty.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 100.0) / 100.0 * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64))
}

impl Summary {
    /// Mean, median, p90 and p99 of per-request values (numpy's linear percentiles).
    pub fn of(values: &[f64]) -> Summary {
        Summary {
            mean: mean(values),
            median: percentile(values, 50.0),
            p90: percentile(values, 90.0),
            p99: percentile(values, 99.0),
        }
    }
}

impl MeasuredRun {
    /// Completes the `kind` metric with the statistics of per-request `values` that the file's
    /// summary lacks (all of them when it has none), saying so in its definition. `source` names
    /// the per-request field and its definition.
    pub(crate) fn fill_from_requests(&mut self, kind: MetricKind, values: &[f64], source: &str) {
        if values.is_empty() {
            return;
        }
        let computed = Summary::of(values);
        let how = "numpy linear percentiles, as vLLM computes its own";
        let Some(m) = self.metrics.iter_mut().find(|m| m.kind == kind) else {
            self.push(kind, computed, format!("from the per-request {source}, {} requests ({how})", values.len()));
            return;
        };
        let mut filled = Vec::new();
        for (name, have, value) in [
            ("mean", &mut m.summary.mean, computed.mean),
            ("median", &mut m.summary.median, computed.median),
            ("p90", &mut m.summary.p90, computed.p90),
            ("p99", &mut m.summary.p99, computed.p99),
        ] {
            if have.is_none() {
                *have = value;
                filled.push(name);
            }
        }
        if !filled.is_empty() {
            m.definition.push_str(&format!("; {} from the per-request {source} ({how})", filled.join(", ")));
        }
    }
}

/// Mean of a slice (None when empty).
pub(crate) fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sniffer_names_the_four_formats_when_it_knows_none() {
        let e = sniff_bytes(br#"{"hello": 1}"#).unwrap_err();
        assert_eq!(e.field, "");
        for name in ["vllm bench serve", "GuideLLM", "llm-d", "genai-perf"] {
            assert!(e.problem.contains(name), "{e}");
        }
        assert!(sniff_bytes(b"[1, 2]").unwrap_err().problem.contains("JSON object"));
        assert!(sniff_bytes(b"").unwrap_err().problem.contains("empty"));
    }

    #[test]
    fn truncated_json_says_so() {
        let e = read(br#"{"completed": 10, "mean_ttft_ms": 1"#).unwrap_err();
        assert!(e.problem.starts_with("truncated JSON"), "{e}");
    }

    #[test]
    fn percentiles_interpolate_linearly_between_ranks_as_numpy_does() {
        // Sorted 10, 20, 30, 40: p50 at position 1.5 -> 25; p90 at 2.7 -> 37; p99 at 2.97 -> 39.7.
        let xs = [40.0, 10.0, 30.0, 20.0];
        assert_eq!(percentile(&xs, 50.0), Some(25.0));
        assert!((percentile(&xs, 90.0).unwrap() - 37.0).abs() < 1e-9);
        assert!((percentile(&xs, 99.0).unwrap() - 39.7).abs() < 1e-9);
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn pointers_escape_slashes() {
        let v: Value = serde_json::json!({"a/b": {"c": "x"}});
        let e = Node::root(&v).req("a/b").unwrap().req("c").unwrap().num().unwrap_err();
        assert_eq!(e.field, "/a~1b/c");
        assert_eq!(e.problem, "expected a number, found a string");
    }
}
