//! `vllm bench serve --save-result` JSON (`vllm/benchmarks/serve.py`, formerly
//! `benchmarks/benchmark_serving.py`), which SGLang's `bench_serving` also writes.
//!
//! The flat summary: `model_id`, `backend` / `endpoint_type` (the client API, not the server's
//! engine), `request_rate` (a number or `"inf"`), `burstiness` (gamma shape, 1 = Poisson),
//! `max_concurrency`, `duration` (s), `completed`, `failed`, `total_input_tokens`,
//! `total_output_tokens`, `request_throughput`, `output_throughput`, and for each of `ttft`,
//! `tpot`, `itl`, `e2el` the keys `mean_X_ms`, `median_X_ms`, `std_X_ms` and `pP_X_ms` for the
//! `--metric-percentiles` asked (99 by default). SGLang names e2e `*_e2e_latency_ms`.
//! With `--save-detailed`: `input_lens`, `output_lens`, `ttfts` (s), `itls` (per request, the
//! gaps between chunks, s) and `errors` (`""` when the request succeeded), one entry per request.

use super::{Arrival, MAX_REQUESTS, MeasuredRequest, MeasuredRun, MetricKind, Node, ReadError, Summary, Tool};
use serde_json::Value;

fn summary(doc: &Node, metric: &str) -> Result<Summary, ReadError> {
    Ok(Summary {
        mean: doc.opt_num(&format!("mean_{metric}_ms"))?,
        median: doc.opt_num(&format!("median_{metric}_ms"))?,
        p90: doc.opt_num(&format!("p90_{metric}_ms"))?,
        p99: doc.opt_num(&format!("p99_{metric}_ms"))?,
    })
}

/// Reads a vLLM (or SGLang) bench result.
pub fn read(value: &Value) -> Result<MeasuredRun, ReadError> {
    let doc = Node::root(value);
    let mut run = MeasuredRun::new(Tool::VllmBench, "");
    let completed = doc.req("completed")?.count()?;
    let c = &mut run.conditions;
    c.model = doc.opt_str("model_id");
    c.completed = Some(completed);
    c.failed = doc.opt_count("failed")?;
    c.duration_s = doc.opt_num("duration")?;
    if completed > 0 {
        c.input_tokens_mean = doc.opt_num("total_input_tokens")?.map(|t| t / completed as f64);
        c.output_tokens_mean = doc.opt_num("total_output_tokens")?.map(|t| t / completed as f64);
    }
    let max_concurrency = doc.opt_count("max_concurrency")?;
    let burstiness = match doc.get("burstiness") {
        Some(b) if b.num()? == 0.0 => return Err(b.err("a burstiness of 0 is no gamma shape (1 is Poisson)")),
        Some(b) => Some(b.num()?),
        None => None,
    };
    c.arrival = match doc.get("request_rate") {
        None => max_concurrency.map(|n| Arrival::Unbounded { max_concurrency: Some(n) }),
        Some(rate) => match rate.value {
            Value::String(s) if s.eq_ignore_ascii_case("inf") => Some(Arrival::Unbounded { max_concurrency }),
            _ => {
                let per_second = rate.num()?;
                if per_second == 0.0 {
                    return Err(rate.err("a request rate of 0 sends nothing"));
                }
                Some(Arrival::Rate { per_second, burstiness, max_concurrency })
            }
        },
    };
    if let Some(client) = doc.opt_str("backend").or_else(|| doc.opt_str("endpoint_type")) {
        run.notes.push(format!(
            "client API `{client}` (backend/endpoint_type names the API the client spoke, not the server's engine or release, which the file does not state)"
        ));
    }

    run.push(
        MetricKind::TtftMs,
        summary(&doc, "ttft")?,
        "vLLM *_ttft_ms: request sent to first token, ms (hwcost's definition)",
    );
    run.push(
        MetricKind::TpotMs,
        summary(&doc, "tpot")?,
        "vLLM *_tpot_ms: per request (latency - ttft) / (output_tokens - 1), excluding the first token, ms (hwcost's definition)",
    );
    run.push(
        MetricKind::ItlMs,
        summary(&doc, "itl")?,
        "vLLM *_itl_ms: every gap between streamed chunks of all requests pooled, ms (hwcost's definition; a chunk of several tokens is one gap)",
    );
    let e2e = summary(&doc, "e2el")?;
    if e2e.mean.is_some() || e2e.median.is_some() {
        run.push(MetricKind::E2eMs, e2e, "vLLM *_e2el_ms: request sent to last token, ms (hwcost's definition)");
    } else {
        run.push(
            MetricKind::E2eMs,
            summary(&doc, "e2e_latency")?,
            "SGLang *_e2e_latency_ms: request sent to last token, ms (hwcost's definition)",
        );
    }
    if let Some(x) = doc.opt_num("output_throughput")? {
        run.push(
            MetricKind::OutputTokensPerSecond,
            Summary { mean: Some(x), ..Summary::default() },
            "vLLM output_throughput: total_output_tokens / duration (hwcost's definition)",
        );
    }
    if let Some(x) = doc.opt_num("request_throughput")? {
        run.push(
            MetricKind::RequestsPerSecond,
            Summary { mean: Some(x), ..Summary::default() },
            "vLLM request_throughput: completed / duration (hwcost's definition)",
        );
    }
    let (requests, per_request) = requests(&doc, &mut run.notes)?;
    run.requests = requests;
    run.fill_from_requests(MetricKind::TtftMs, &per_request.ttft_ms, "ttfts (s, as ms)");
    run.fill_from_requests(
        MetricKind::TpotMs,
        &per_request.tpot_ms,
        "records: (ttfts + sum(itls) - ttfts) / (output_lens - 1), requests of 2 or more tokens",
    );
    run.fill_from_requests(MetricKind::ItlMs, &per_request.itl_ms, "itls, every gap of every request pooled");
    run.fill_from_requests(MetricKind::E2eMs, &per_request.e2e_ms, "records: ttfts + sum(itls)");
    Ok(run)
}

/// The per-request values of the successful requests, ms, for the statistics the summary lacks.
#[derive(Debug, Default)]
struct PerRequest {
    ttft_ms: Vec<f64>,
    tpot_ms: Vec<f64>,
    itl_ms: Vec<f64>,
    e2e_ms: Vec<f64>,
}

/// The per-request arrays of `--save-detailed`, successful requests only.
fn requests(doc: &Node, notes: &mut Vec<String>) -> Result<(Vec<MeasuredRequest>, PerRequest), ReadError> {
    let mut per = PerRequest::default();
    let (Some(inputs), Some(outputs)) = (doc.get("input_lens"), doc.get("output_lens")) else {
        if doc.get("ttfts").is_some() {
            notes.push("ttfts without input_lens/output_lens: per-request records skipped".to_owned());
        }
        return Ok((Vec::new(), per));
    };
    let inputs = inputs.items()?;
    let outputs = outputs.items()?;
    let ttfts = doc.get("ttfts").map(|n| n.items()).transpose()?;
    let itls = doc.get("itls").map(|n| n.items()).transpose()?;
    let errors = doc.get("errors").map(|n| n.items()).transpose()?;
    let n = inputs.len();
    if n > MAX_REQUESTS {
        return Err(doc.req("input_lens")?.err(format!("{n} requests; at most {MAX_REQUESTS} are read")));
    }
    let same_length = |name: &str, len: Option<usize>| match len {
        Some(len) if len != n => {
            Err(ReadError::new(format!("/{name}"), format!("{len} entries, but input_lens has {n}")))
        }
        _ => Ok(()),
    };
    same_length("output_lens", Some(outputs.len()))?;
    same_length("ttfts", ttfts.as_ref().map(Vec::len))?;
    same_length("itls", itls.as_ref().map(Vec::len))?;
    same_length("errors", errors.as_ref().map(Vec::len))?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let failed = errors.as_ref().is_some_and(|e| matches!(e[i].value, Value::String(s) if !s.is_empty()));
        let output_tokens = outputs[i].count()?;
        if failed || output_tokens == 0 {
            continue;
        }
        let ttft_s = ttfts.as_ref().map(|t| t[i].num()).transpose()?;
        let gaps_s = match itls.as_ref() {
            Some(itls) => Some(itls[i].items()?.iter().map(|g| g.num()).collect::<Result<Vec<f64>, _>>()?),
            None => None,
        };
        let e2e_ms = ttft_s.zip(gaps_s.as_ref()).map(|(t, g)| (t + g.iter().sum::<f64>()) * 1000.0);
        let ttft_ms = ttft_s.map(|t| t * 1000.0);
        per.ttft_ms.extend(ttft_ms);
        per.e2e_ms.extend(e2e_ms);
        per.itl_ms.extend(gaps_s.iter().flatten().map(|g| g * 1000.0));
        if let (Some(t), Some(e)) = (ttft_ms, e2e_ms)
            && output_tokens > 1
        {
            per.tpot_ms.push((e - t) / (output_tokens - 1) as f64);
        }
        out.push(MeasuredRequest { arrival_s: None, input_tokens: inputs[i].count()?, output_tokens, ttft_ms, e2e_ms });
    }
    notes.push(format!(
        "{} of {n} requests kept (failed ones dropped); vLLM records no send times, so a replay draws arrivals from request_rate and burstiness; e2e per request = ttfts + sum(itls), vLLM's own latency to the last chunk",
        out.len()
    ));
    Ok((out, per))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failed_request_is_dropped_and_e2e_is_ttft_plus_the_gaps() {
        let doc = json!({
            "completed": 2, "failed": 1, "request_rate": 4.0, "burstiness": 1.0, "max_concurrency": null,
            "input_lens": [10, 20, 30], "output_lens": [3, 0, 2],
            "ttfts": [0.1, 0.0, 0.2], "itls": [[0.01, 0.02], [], [0.05]], "errors": ["", "timeout", ""]
        });
        let run = read(&doc).unwrap();
        assert_eq!(
            run.conditions.arrival,
            Some(Arrival::Rate { per_second: 4.0, burstiness: Some(1.0), max_concurrency: None })
        );
        assert_eq!(run.requests.len(), 2);
        let r = run.requests[0];
        assert_eq!((r.input_tokens, r.output_tokens), (10, 3));
        assert!((r.ttft_ms.unwrap() - 100.0).abs() < 1e-9);
        assert!((r.e2e_ms.unwrap() - 130.0).abs() < 1e-9);
        assert!((run.requests[1].e2e_ms.unwrap() - 250.0).abs() < 1e-9);
    }

    #[test]
    fn the_statistics_a_summary_lacks_come_from_the_per_request_arrays() {
        // Summary keys for TTFT's mean only; 5 requests, the third failed.
        let doc = json!({
            "completed": 4, "failed": 1, "request_rate": 2.0, "mean_ttft_ms": 250.0,
            "input_lens": [100, 400, 50, 300, 200], "output_lens": [5, 11, 0, 20, 4],
            "ttfts": [0.1, 0.4, 0.0, 0.2, 0.3],
            "itls": [[0.01, 0.01, 0.01, 0.01], [0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02], [],
                     [0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005,
                      0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.005], [0.03, 0.03, 0.03]],
            "errors": ["", "", "timeout", "", ""]
        });
        let run = read(&doc).unwrap();
        let close = |got: Option<f64>, want: f64| (got.unwrap() - want).abs() < 1e-9;
        // By hand, numpy's linear percentiles at position q (n - 1).
        // TTFT 100, 200, 300, 400 ms: the file's mean kept; p50 250, p90 370, p99 397.
        let ttft = run.metric(MetricKind::TtftMs).unwrap();
        assert!(close(ttft.summary.mean, 250.0) && close(ttft.summary.median, 250.0));
        assert!(close(ttft.summary.p90, 370.0) && close(ttft.summary.p99, 397.0), "{ttft:?}");
        assert!(ttft.definition.contains("median, p90, p99 from the per-request ttfts"), "{}", ttft.definition);
        // e2e = ttft + sum(itls): 140, 600, 295, 390 -> mean 356.25, p50 342.5, p90 537, p99 593.7.
        let e2e = run.metric(MetricKind::E2eMs).unwrap().summary;
        assert!(close(e2e.mean, 356.25) && close(e2e.median, 342.5) && close(e2e.p90, 537.0) && close(e2e.p99, 593.7));
        // TPOT = (e2e - ttft) / (out - 1): 10, 20, 5, 30 -> mean 16.25, p50 15, p90 27, p99 29.7.
        let tpot = run.metric(MetricKind::TpotMs).unwrap().summary;
        assert!(close(tpot.mean, 16.25) && close(tpot.median, 15.0) && close(tpot.p90, 27.0) && close(tpot.p99, 29.7));
        // ITL, 36 gaps pooled: 19 of 5 ms, 4 of 10, 10 of 20, 3 of 30 -> mean 425/36, p50 (rank
        // 17.5) 5, p90 (rank 31.5) 20, p99 (rank 34.65) 30.
        let itl = run.metric(MetricKind::ItlMs).unwrap().summary;
        assert!(
            close(itl.mean, 425.0 / 36.0) && close(itl.median, 5.0) && close(itl.p90, 20.0) && close(itl.p99, 30.0)
        );
    }

    #[test]
    fn a_burstiness_of_zero_is_named() {
        let e = read(&json!({"completed": 1, "request_rate": 2.0, "burstiness": 0})).unwrap_err();
        assert_eq!(e.field, "/burstiness");
        assert!(e.problem.contains("gamma shape"), "{e}");
        assert_eq!(read(&json!({"completed": 1, "burstiness": "x"})).unwrap_err().field, "/burstiness");
    }

    #[test]
    fn arrays_of_different_lengths_name_the_field() {
        let doc = json!({"completed": 1, "input_lens": [1, 2], "output_lens": [1]});
        assert_eq!(read(&doc).unwrap_err().field, "/output_lens");
        let doc = json!({"completed": 1, "input_lens": [1], "output_lens": [1], "itls": [[-0.1]]});
        let e = read(&doc).unwrap_err();
        assert_eq!(e.field, "/itls/0/0");
    }
}
