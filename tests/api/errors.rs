//! Every kind of bad request gets the documented problem+json status, code and pointer.

use crate::helpers::{spawn_app, spawn_with};

/// One bad request and what it must produce.
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: &'static str,
    status: u16,
    code: &'static str,
    pointer: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "unknown route",
        method: "GET",
        path: "/v1/nothing",
        content_type: None,
        body: "",
        status: 404,
        code: "route-not-found",
        pointer: None,
    },
    Case {
        name: "unknown hardware id",
        method: "GET",
        path: "/v1/hardware/h100-typo",
        content_type: None,
        body: "",
        status: 404,
        code: "unknown-id",
        pointer: None,
    },
    Case {
        name: "unknown model id",
        method: "GET",
        path: "/v1/models/llama-9",
        content_type: None,
        body: "",
        status: 404,
        code: "unknown-id",
        pointer: None,
    },
    Case {
        name: "method not allowed",
        method: "DELETE",
        path: "/v1/hardware",
        content_type: None,
        body: "",
        status: 405,
        code: "method-not-allowed",
        pointer: None,
    },
    Case {
        name: "post to a get route",
        method: "POST",
        path: "/healthz",
        content_type: Some("application/json"),
        body: "{}",
        status: 405,
        code: "method-not-allowed",
        pointer: None,
    },
    Case {
        name: "query not a number",
        method: "GET",
        path: "/v1/hardware?min_memory_gib=lots",
        content_type: None,
        body: "",
        status: 400,
        code: "invalid-request",
        pointer: Some("/min_memory_gib"),
    },
    Case {
        name: "query negative",
        method: "GET",
        path: "/v1/hardware?max_memory_gib=-1",
        content_type: None,
        body: "",
        status: 400,
        code: "invalid-request",
        pointer: Some("/max_memory_gib"),
    },
    Case {
        name: "query infinite",
        method: "GET",
        path: "/v1/models?min_parameters_b=inf",
        content_type: None,
        body: "",
        status: 400,
        code: "invalid-request",
        pointer: Some("/min_parameters_b"),
    },
    Case {
        name: "query absurdly large",
        method: "GET",
        path: "/v1/models?max_parameters_b=1e300",
        content_type: None,
        body: "",
        status: 400,
        code: "invalid-request",
        pointer: Some("/max_parameters_b"),
    },
    Case {
        name: "query unknown enum",
        method: "GET",
        path: "/v1/hardware?kind=abacus",
        content_type: None,
        body: "",
        status: 400,
        code: "invalid-request",
        pointer: Some("/kind"),
    },
    Case {
        name: "query unknown parameter",
        method: "GET",
        path: "/v1/hardware?colour=red",
        content_type: None,
        body: "",
        status: 400,
        code: "invalid-request",
        pointer: None,
    },
    Case {
        name: "malformed json",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("application/json"),
        body: "{\"model_type\": ",
        status: 400,
        code: "malformed-json",
        pointer: None,
    },
    Case {
        name: "wrong type",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("application/json"),
        body: "{\"model_type\": \"llama\", \"num_hidden_layers\": \"many\"}",
        status: 400,
        code: "invalid-request",
        pointer: Some("/num_hidden_layers"),
    },
    Case {
        name: "missing field",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("application/json"),
        body: "{\"model_type\": \"llama\", \"hidden_size\": 64}",
        status: 400,
        code: "invalid-request",
        pointer: Some("/num_hidden_layers"),
    },
    Case {
        name: "zero where positive",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("application/json"),
        body: "{\"model_type\": \"llama\", \"num_hidden_layers\": 0, \"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 128, \"vocab_size\": 100, \"max_position_embeddings\": 64}",
        status: 400,
        code: "invalid-request",
        pointer: Some("/num_hidden_layers"),
    },
    Case {
        name: "absurdly large",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("application/json"),
        body: "{\"model_type\": \"llama\", \"num_hidden_layers\": 2, \"hidden_size\": 1e30, \"num_attention_heads\": 4, \"intermediate_size\": 128, \"vocab_size\": 100, \"max_position_embeddings\": 64}",
        status: 400,
        code: "invalid-request",
        pointer: Some("/hidden_size"),
    },
    Case {
        name: "unknown model type",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("application/json"),
        body: "{\"model_type\": \"abacus\"}",
        status: 422,
        code: "unprocessable",
        pointer: Some("/model_type"),
    },
    Case {
        name: "wrong content type",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("text/plain"),
        body: "hello",
        status: 415,
        code: "unsupported-media-type",
        pointer: None,
    },
    Case {
        name: "json array",
        method: "POST",
        path: "/v1/models/import",
        content_type: Some("application/json"),
        body: "[1, 2]",
        status: 400,
        code: "invalid-request",
        pointer: None,
    },
];

#[tokio::test]
async fn bad_requests_get_problem_documents() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for case in CASES {
        let mut request = app.client.request(case.method.parse().unwrap(), format!("{}{}", app.address, case.path));
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.body(case.body).send().await.unwrap();
        let status = response.status().as_u16();
        let media = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let pointer_ok =
            case.pointer.is_none_or(|p| body["errors"].as_array().is_some_and(|e| e.iter().any(|x| x["pointer"] == p)));
        let ok = status == case.status
            && media == "application/problem+json"
            && body["code"] == case.code
            && body["status"] == case.status
            && body["type"].as_str().is_some_and(|t| t.ends_with(case.code))
            && body["detail"].as_str().is_some_and(|d| !d.is_empty())
            && pointer_ok;
        if !ok {
            failures.push(format!("{}: got {status} {media} {body}", case.name));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

#[tokio::test]
async fn unknown_ids_suggest_close_matches() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/v1/hardware/nvidia-h100").await;
    assert_eq!(status, 404);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("did you mean") && detail.contains("nvidia-h100-sxm-80gb"), "{detail}");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_with(|s| {
        s.body_limit_bytes = 1024;
        s.import_limit_bytes = 1024;
    })
    .await;
    let big = format!("{{\"model_type\": \"{}\"}}", "x".repeat(4096));
    let response = app.post_raw("/v1/models/import", "application/json", big).await;
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload-too-large");
}

#[tokio::test]
async fn arrays_are_never_read_as_objects() {
    let app = spawn_app().await;
    for (path, body, pointer) in [
        ("/v1/estimate/inference", r#"["llama-2-7b", "nvidia-l4"]"#, ""),
        (
            "/v1/estimate/training",
            r#"{"model": "llama-2-7b", "hardware": "h100", "overrides": [null, null]}"#,
            "/overrides",
        ),
        (
            "/v1/estimate/inference",
            r#"{"model": "llama-2-7b", "hardware": "h100", "parallelism": [2, 1, 1, 1]}"#,
            "/parallelism",
        ),
        ("/v1/estimate/inference", r#"{"model": "llama-2-7b", "hardware": [1, 2]}"#, "/hardware"),
    ] {
        let response = app.post_raw(path, "application/json", body).await;
        assert_eq!(response.status(), 400, "{body}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
}

#[tokio::test]
async fn an_unknown_id_inside_a_body_points_at_its_field() {
    // A 404 for an id named in a body had no pointer, unlike every other field error.
    let app = crate::helpers::spawn_app().await;
    let (status, problem) = app
        .post_json("/v1/estimate/inference", &serde_json::json!({"model": "no-such-model", "hardware": "h100"}))
        .await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["code"], "unknown-id");
    assert_eq!(problem["errors"][0]["pointer"], "/model", "{problem}");
    let (status, problem) = app
        .post_json(
            "/v1/check",
            &serde_json::json!({"inference": {"model": "llama-3.1-8b", "hardware": "no-such-device"}, "requirements": {}}),
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/inference/hardware", "{problem}");
    let (status, body) = app
        .post_json(
            "/v1/estimate/batch",
            &serde_json::json!({"items": [{"inference": {"model": "llama-3.1-8b", "hardware": "no-such-device"}}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["problem"]["errors"][0]["pointer"], "/items/0/inference/hardware", "{body}");
    // An id in the path is the path's business: no body field to point at.
    let (status, problem) = app.get_json("/v1/hardware/no-such-device").await;
    assert_eq!(status, 404);
    assert!(problem.get("errors").is_none_or(|e| e.as_array().is_some_and(Vec::is_empty)), "{problem}");
}
