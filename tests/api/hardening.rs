//! Hostile clients: made-up methods, stalled bodies, trailing data, odd paths and queries,
//! refused preflights, heavy imports; and the graceful drain, security headers and logs.
//! Each test reproduces a defect found by abusing the release binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_with};

/// Sends `request` on a fresh connection and returns everything the server sends back before
/// it closes (or `wait` passes).
fn raw(address: &str, request: Vec<u8>, wait: Duration) -> String {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(&request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

async fn raw_async(address: &str, request: Vec<u8>, wait: Duration) -> String {
    let address = address.to_owned();
    tokio::task::spawn_blocking(move || raw(&address, request, wait)).await.unwrap()
}

fn inference() -> Value {
    json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "batch_size": 8,
           "input_tokens": 1024, "output_tokens": 128})
}

#[tokio::test]
async fn made_up_methods_do_not_create_metric_series() {
    let app = spawn_app().await;
    for i in 0..50 {
        let answer = raw_async(
            &app.address,
            format!("X{i} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
            Duration::from_secs(5),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains("method=\"X"), "made-up methods became labels:\n{text}");
    assert!(text.contains("hwcost_http_requests_unknown_method_total 50"), "{text}");
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let app = spawn_with(|s| s.body_timeout = Duration::from_secs(1)).await;
    let started = Instant::now();
    let answer = raw_async(
        &app.address,
        b"POST /v1/estimate/inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            .to_vec(),
        Duration::from_secs(10),
    )
    .await;
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    // read_to_end returned: the server closed the connection, well before the 10 s read timeout.
    assert!(took < Duration::from_secs(6), "took {took:?}");

    // A chunked body that stalls: actix would keep the connection to drain the rest.
    let started = Instant::now();
    let chunked = raw_async(
        &app.address,
        b"POST /v1/plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
            .to_vec(),
        Duration::from_secs(10),
    )
    .await;
    let took = started.elapsed();
    assert!(chunked.starts_with("HTTP/1.1 408"), "{chunked}");
    assert!(took < Duration::from_secs(6), "the chunked connection stayed open {took:?}");
}

#[tokio::test]
async fn trailing_data_after_the_json_is_refused() {
    let app = spawn_app().await;
    let plan = json!({"models": ["llama-2-7b"], "workload": {"input_tokens": 512, "output_tokens": 128},
                      "search": {"hardware": ["nvidia-a100-sxm4-80gb"], "batch_sizes": [1]}});
    let config = json!({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
                        "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 128});
    for (path, body) in [("/v1/estimate/inference", inference()), ("/v1/plan", plan), ("/v1/models/import", config)] {
        let valid = app.post_raw(path, "application/json", body.to_string()).await;
        assert_eq!(valid.status(), 200, "{path}: {}", valid.text().await.unwrap());
        for tail in ["xyz", "{}", "]"] {
            let response = app.post_raw(path, "application/json", format!("{body}{tail}")).await;
            assert_eq!(response.status(), 400, "{path} + {tail}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["code"], "malformed-json", "{path} + {tail}: {problem}");
        }
    }
}

#[tokio::test]
async fn a_trailing_slash_is_not_found_rather_than_a_method_problem() {
    let app = spawn_app().await;
    for path in ["/v1/hardware/", "/v1/models/", "/v1/hardware//", "/healthz/"] {
        let (status, problem) = app.get_json(path).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("route-not-found")), "{path}: {problem}");
    }
    // The paths themselves still answer.
    assert_eq!(app.get("/v1/hardware").await.status(), 200);
}

#[tokio::test]
async fn query_errors_are_about_the_query() {
    let app = spawn_app().await;
    let (status, problem) = app.get_json("/v1/hardware?vendor=a&vendor=b").await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["pointer"], "/vendor", "{problem}");
    assert!(!problem["detail"].as_str().unwrap().contains("body"), "{problem}");
    let (status, problem) = app.get_json("/v1/hardware?colour=red").await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["pointer"], "/colour", "{problem}");
}

#[tokio::test]
async fn a_refused_preflight_is_a_problem_document() {
    let app = spawn_app().await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/v1/estimate/inference", app.address))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert!(response.headers().contains_key("x-request-id"));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "cors-refused", "{problem}");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    // Credentials on a server without benchmarks are a 403 (no token could work); before, a
    // lower-case scheme was not read as credentials at all and got a 401.
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .post(format!("{}/v1/host/benchmarks", app.address))
            .header("authorization", format!("{scheme} some-token"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{scheme}");
    }
}

#[tokio::test]
async fn answers_carry_security_and_cache_headers() {
    let app = spawn_app().await;
    for path in ["/v1/hardware", "/v1/models/no-such-model", "/healthz", "/openapi.json"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert!(headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"), "{path}");
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.headers()["x-content-type-options"], "nosniff");
    let policy = docs.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
}

#[tokio::test]
async fn errors_name_no_rust_types() {
    let app = spawn_app().await;
    let mut body = inference();
    body["batch_size"] = json!("lots");
    let (status, problem) = app.post_json("/v1/estimate/inference", &body).await;
    assert_eq!(status, 400);
    let mut training =
        json!({"model": "llama-2-7b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 8, "tokens": "many"});
    let (_, training_problem) = app.post_json("/v1/estimate/training", &training).await;
    training["tokens"] = json!(1e12);
    training["devices"] = json!("eight");
    let (_, devices_problem) = app.post_json("/v1/estimate/training", &training).await;
    for problem in [problem, training_problem, devices_problem] {
        let text = problem.to_string();
        for rust in ["untagged", "enum ", "struct ", "u32", "u64", "f64", "BatchSize", "TokensSpec"] {
            assert!(!text.contains(rust), "{rust} in {text}");
        }
    }
}

/// A GGUF header listing `tensors` one-block F32 tensors: cheap to send, slow to read.
fn gguf_with(tensors: u64) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend(tensors.to_le_bytes());
    out.extend(0u64.to_le_bytes());
    for i in 0..tensors {
        let name = format!("blk.{i}.w");
        out.extend((name.len() as u64).to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(32u64.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(0u64.to_le_bytes());
    }
    out
}

#[tokio::test]
async fn a_heavy_import_does_not_stall_other_requests() {
    // One worker: if the import were parsed on it, /healthz would wait for the whole parse.
    let app = spawn_with(|s| s.workers = Some(1)).await;
    let body = gguf_with(1_000_000);
    let started = Instant::now();
    let import = {
        let client = app.client.clone();
        let url = format!("{}/v1/models/import", app.address);
        tokio::spawn(async move {
            let response =
                client.post(url).header("content-type", "application/octet-stream").body(body).send().await.unwrap();
            (response.status().as_u16(), Instant::now())
        })
    };
    let mut worst = Duration::ZERO;
    let mut probes_during_import = 0;
    while !import.is_finished() {
        let asked = Instant::now();
        assert_eq!(app.get("/healthz").await.status(), 200);
        worst = worst.max(asked.elapsed());
        if !import.is_finished() {
            probes_during_import += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, finished) = import.await.unwrap();
    let import_took = finished - started;
    assert_eq!(status, 200);
    // Meaningful only if the import took a while; the probes must each be a small part of it.
    assert!(probes_during_import >= 3, "import took {import_took:?}; only {probes_during_import} probes");
    assert!(worst * 3 < import_took, "a /healthz probe took {worst:?} while the import took {import_took:?}");
}

#[tokio::test]
async fn stalled_imports_do_not_hold_the_slot_a_complete_one_needs() {
    // The import slot was taken before the body was read: clients that opened an import and
    // sent nothing kept a 1 KB config.json at 429 for as long as they kept coming. 16 stalled
    // imports outnumber the slots of any host (half its cores).
    let app = spawn_with(|s| s.body_timeout = Duration::from_secs(3)).await;
    let mut stalled = Vec::new();
    for _ in 0..16 {
        let mut stream = TcpStream::connect(app.address.trim_start_matches("http://")).unwrap();
        stream
            .write_all(
                b"POST /v1/models/import HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
            )
            .unwrap();
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let config = json!({"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
        "num_key_value_heads": 32, "intermediate_size": 11008, "vocab_size": 32000, "max_position_embeddings": 4096});
    let started = Instant::now();
    let response = app.post_raw("/v1/models/import", "application/json", serde_json::to_vec(&config).unwrap()).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
    assert!(took < Duration::from_secs(2), "the import waited {took:?} behind stalled bodies");
    drop(stalled);
}

#[tokio::test]
async fn draining_answers_503_on_readyz_then_stops() {
    let app = spawn_with(|s| s.drain = Duration::from_millis(800)).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let shutdown = app.shutdown.clone();
    let stopping = tokio::spawn(async move { shutdown.begin().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, problem) = app.get_json("/readyz").await;
    assert_eq!((status, problem["code"].as_str()), (503, Some("not-ready")), "{problem}");
    // Still serving while draining.
    assert_eq!(app.get("/healthz").await.status(), 200);
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("the drain ends").unwrap();
    tokio::time::timeout(Duration::from_secs(10), app.server).await.expect("the server stops").unwrap().unwrap();
    assert!(app.client.get(format!("{}/healthz", app.address)).send().await.is_err(), "no longer listening");
}

#[tokio::test]
async fn requests_already_sent_are_answered_when_shutdown_begins_without_a_drain() {
    // With the default drain of 0 s, SIGTERM closed the listener at once: requests that clients
    // had already sent, queued behind a busy worker or in the listener's backlog, were reset
    // (2 of 6 in the audit). One worker, 24 estimates sent at once, then the shutdown.
    let app = spawn_with(|s| {
        s.workers = Some(1);
        s.drain = Duration::ZERO;
    })
    .await;
    let body = json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "batch_size": 32,
        "input_tokens": 2048, "output_tokens": 256})
    .to_string();
    let (sent_tx, sent) = std::sync::mpsc::channel::<()>();
    let clients: Vec<_> = (0..24)
        .map(|_| {
            let address = app.address.trim_start_matches("http://").to_owned();
            let request = format!(
                "POST /v1/estimate/inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let sent_tx = sent_tx.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&address).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                stream.write_all(request.as_bytes()).unwrap();
                let _ = sent_tx.send(());
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
                String::from_utf8_lossy(&answer).get(..12).unwrap_or_default().to_owned()
            })
        })
        .collect();
    for _ in 0..24 {
        sent.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    let shutdown = app.shutdown.clone();
    tokio::time::timeout(Duration::from_secs(30), shutdown.begin()).await.expect("the shutdown ends");
    let statuses: Vec<String> =
        tokio::task::spawn_blocking(move || clients.into_iter().map(|c| c.join().unwrap()).collect()).await.unwrap();
    let answered = statuses.iter().filter(|s| s.as_str() == "HTTP/1.1 200").count();
    assert_eq!(answered, 24, "{statuses:?}");
}

#[tokio::test]
async fn a_second_shutdown_does_not_cut_the_drain_short() {
    let app = spawn_with(|s| s.drain = Duration::from_millis(1500)).await;
    let first = app.shutdown.clone();
    let started = Instant::now();
    let stopping = tokio::spawn(async move { first.begin().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The impatient second signal.
    app.shutdown.begin().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.get("/healthz").await.status(), 200, "still serving during the drain");
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("the drain ends").unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500), "stopped after {:?}", started.elapsed());
}

/// The status code of a raw GET.
fn status_of(address: &str, path: &str) -> u16 {
    let answer = raw(
        address,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
        Duration::from_secs(5),
    );
    answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0)
}

#[test]
fn the_binary_logs_little_leaks_nothing_and_drains_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_hwcost"))
        .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--drain-seconds", "1"])
        .env("RUST_LOG", "info")
        .env_remove("HWCOST_ACCESS_LOG_SAMPLE_RATE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut log = Vec::new();
    let port = loop {
        let line = lines.recv_timeout(Duration::from_secs(30)).expect("the server says where it listens");
        let event: Value = serde_json::from_str(&line).unwrap_or_default();
        log.push(line);
        if event["message"] == "listening" {
            break event["port"].as_u64().unwrap();
        }
    };
    let address = format!("127.0.0.1:{port}");

    // 300 requests: fine ones, ones carrying a secret in the body, ones with a 60 KB path.
    let secret = "SECRET-7f3a9c";
    let body = json!({"model": secret, "hardware": "nvidia-h100-sxm-80gb"}).to_string();
    let long_path = format!("/v1/models/{}", "a".repeat(60_000));
    for _ in 0..100 {
        assert_eq!(status_of(&address, "/healthz"), 200);
        let answer = raw(
            &address,
            format!(
                "POST /v1/estimate/inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
            Duration::from_secs(5),
        );
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        let answer = raw(
            &address,
            format!("GET {long_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
            Duration::from_secs(5),
        );
        assert!(answer.starts_with("HTTP/1.1 4"), "{}", &answer[..answer.len().min(200)]);
    }

    // SIGTERM: readiness fails at once while the server still answers, then it exits 0.
    let terminated = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(status_of(&address, "/readyz"), 503);
    assert_eq!(status_of(&address, "/healthz"), 200);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(terminated.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(terminated.elapsed() >= Duration::from_millis(900), "exited before the 1 s drain");

    while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
        log.push(line);
    }
    let access: Vec<&String> = log.iter().filter(|l| l.contains("request completed")).collect();
    // 1% of 300 requests (plus the few after SIGTERM), not one line each.
    assert!(
        access.len() <= 6,
        "{} access lines:\n{}",
        access.len(),
        access.iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\n")
    );
    for line in &log {
        assert!(!line.contains(secret), "client input in the log: {line}");
        assert!(line.len() < 2048, "a {} byte log line", line.len());
        assert!(!line.contains("WARN"), "a warning per client error: {line}");
    }
    for line in access {
        assert!(line.contains("\"request_id\":"), "no request id: {line}");
    }
}

#[test]
fn client_errors_write_no_unsampled_warnings_and_sigterm_twice_still_drains() {
    // Every 405 on a parameterised route wrote a WARN line (the metrics middleware could not
    // label a route whose parameters did not match): 16 MB of a 20 MB log in a load run.
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_hwcost"))
        .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--workers", "1"])
        .env("RUST_LOG", "warn,hwcost=info")
        .env_remove("HWCOST_DRAIN_SECONDS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let port = loop {
        let line = lines.recv_timeout(Duration::from_secs(30)).expect("the server says where it listens");
        let event: Value = serde_json::from_str(&line).unwrap_or_default();
        if event["message"] == "listening" {
            break event["port"].as_u64().unwrap();
        }
    };
    let address = format!("127.0.0.1:{port}");
    for path in ["/v1/hardware/h100", "/v1/models/llama-3.1-8b", "/v1/models/llama-3.1-8b/parameters"] {
        for method in ["DELETE", "PUT", "POST"] {
            let answer = raw(
                &address,
                format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .into_bytes(),
                Duration::from_secs(5),
            );
            assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        }
    }
    // Two SIGTERMs: the second is logged, and the server still exits 0.
    for _ in 0..2 {
        assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let log: Vec<String> = lines.try_iter().collect();
    let warnings: Vec<&String> = log.iter().filter(|l| l.contains("\"WARN\"")).collect();
    assert!(warnings.is_empty(), "{} warnings: {warnings:?}", warnings.len());
}
