//! The API style (`docs/api.md`): the contract test that walks every schema of the OpenAPI
//! document, and the behaviours a dashboard relies on (paging, search, discovery, any casing,
//! plain errors with pointers, HEAD, usable context, layouts by default).

use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::{RefOr, Type};

use crate::helpers::spawn_app;

/// Names that break the style but stay, each with the reason. Nothing else may.
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    ("TimeBody", "gpu_hours", "pinned in DESIGN.md; `device_hours` beside it is the style's name"),
    ("DeviceRecord", "memory_gib", "the catalog record echoes the datasheet's unit; lists carry memory_bytes"),
    ("Variant", "memory_gib", "the catalog record echoes the datasheet's unit"),
    ("SearchBody", "min_memory_gib", "a request filter in the unit people shop in, as the list's query filter"),
    ("TrainingSearchBody", "min_memory_gib", "a request filter in the unit people shop in"),
    ("ServingTimeline", "t_s", "a series: an array of numbers in seconds, one per point of the timeline"),
    ("LatencyHistogram", "edges_ms", "a series: an array of numbers in ms, the bin edges"),
    (
        "KvOffloadBody",
        "host_gb",
        "a request setting in the unit the engines size it in (LMCache max_local_cpu_size, vLLM swap_space), as issue 28 names it",
    ),
    (
        "KvOffloadBody",
        "disk_gb",
        "a request setting in the unit the engines size it in (LMCache max_local_disk_size), as issue 28 names it",
    ),
];

/// Spellings of the other variant of English; names use one (American, as HTTP and most APIs).
const BRITISH: &[&str] =
    &["utilis", "amortis", "optimis", "normalis", "quantis", "behaviour", "colour", "favour", "centre"];

/// One property somewhere in a component schema.
struct Property<'a> {
    schema: &'a str,
    name: &'a str,
    types: Vec<Type>,
}

fn types(schema: &RefOr<Schema>) -> Vec<Type> {
    use utoipa::openapi::schema::SchemaType;
    let mut found = match schema {
        RefOr::T(Schema::Object(o)) => match &o.schema_type {
            SchemaType::Type(t) => vec![t.clone()],
            SchemaType::Array(ts) => ts.iter().filter(|t| **t != Type::Null).cloned().collect(),
            SchemaType::AnyValue => Vec::new(),
        },
        RefOr::T(Schema::Array(_)) => vec![Type::Array],
        RefOr::T(Schema::OneOf(one)) => one.items.iter().flat_map(types).collect(),
        RefOr::T(Schema::AllOf(all)) => all.items.iter().flat_map(types).collect(),
        RefOr::T(Schema::AnyOf(any)) => any.items.iter().flat_map(types).collect(),
        _ => Vec::new(),
    };
    // `null` is how an optional field is written, not its type.
    found.retain(|t| *t != Type::Null);
    found
}

fn walk<'a>(schema_name: &'a str, schema: &'a RefOr<Schema>, out: &mut Vec<Property<'a>>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            for (name, property) in &o.properties {
                out.push(Property { schema: schema_name, name, types: types(property) });
                walk(schema_name, property, out);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &a.items {
                walk(schema_name, items, out);
            }
        }
        Schema::OneOf(x) => x.items.iter().for_each(|s| walk(schema_name, s, out)),
        Schema::AllOf(x) => x.items.iter().for_each(|s| walk(schema_name, s, out)),
        Schema::AnyOf(x) => x.items.iter().for_each(|s| walk(schema_name, s, out)),
        _ => {}
    }
}

/// Every rule of the style a name can break, as `schema.property: why`.
fn style_errors(p: &Property<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    let name = p.name;
    let at = format!("{}.{}", p.schema, name);
    if !name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        errors.push(format!("{at}: names are snake_case"));
    }
    if let Some(word) = BRITISH.iter().find(|w| name.contains(*w)) {
        errors.push(format!("{at}: one spelling, American ({word}...)"));
    }
    if name.ends_with("_bytes") && !p.types.is_empty() && p.types.iter().any(|t| *t != Type::Integer) {
        errors.push(format!("{at}: byte counts are whole numbers"));
    }
    for decimal in ["_gb", "_mb", "_kb", "_tb"] {
        if name.ends_with(decimal)
            || name.contains(&format!("{decimal}_")) && !name.contains(&format!("{decimal}_per_s"))
        {
            errors.push(format!("{at}: amounts of memory are _bytes; decimal GB only in rates (_gb_per_s)"));
        }
    }
    if name.ends_with("_gib") || name.contains("_gib_") {
        errors.push(format!("{at}: GiB only where the catalog echoes a datasheet"));
    }
    if name.contains("gpu_") || name.ends_with("_gpu") {
        errors.push(format!("{at}: devices are GPUs, TPUs and CPUs alike: device_..."));
    }
    let unit_number = ["_ms", "_s", "_usd", "_kwh", "_flops", "_tokens_per_s", "_bytes", "_w", "_hours"];
    if unit_number.iter().any(|u| name.ends_with(u))
        && !p.types.is_empty()
        && !p.types.iter().all(|t| matches!(t, Type::Number | Type::Integer | Type::Object))
    {
        errors.push(format!("{at}: a unit suffix names a number"));
    }
    if matches!(name, "count" | "total" | "steps") && p.types.iter().any(|t| *t != Type::Integer) {
        errors.push(format!("{at}: counts are whole numbers"));
    }
    errors
}

#[test]
fn every_schema_follows_the_api_style() {
    let spec = hwcost::api::openapi();
    let components = spec.components.as_ref().expect("components");
    let mut properties = Vec::new();
    for (name, schema) in &components.schemas {
        walk(name, schema, &mut properties);
    }
    assert!(properties.len() > 500, "the walk reaches nested properties ({})", properties.len());
    let errors: Vec<String> = properties
        .iter()
        .filter(|p| !EXCEPTIONS.iter().any(|(s, n, _)| *s == p.schema && *n == p.name))
        .flat_map(style_errors)
        .collect();
    assert!(errors.is_empty(), "{} names break docs/api.md:\n{}", errors.len(), errors.join("\n"));
    // Every exception is still needed (a stale one would hide a future break).
    for (schema, name, _) in EXCEPTIONS {
        assert!(properties.iter().any(|p| p.schema == *schema && p.name == *name), "stale exception {schema}.{name}");
    }
}

#[test]
fn the_style_check_catches_what_it_names() {
    let bad = [
        ("X", "utilisation", vec![Type::Number]),
        ("X", "capacity_bytes", vec![Type::Number]),
        ("X", "memory_gb", vec![Type::Number]),
        ("X", "gpu_hours", vec![Type::Number]),
        ("X", "maxBatch", vec![Type::Integer]),
        ("X", "steps", vec![Type::Number]),
        ("X", "ttft_ms", vec![Type::String]),
    ];
    for (schema, name, types) in bad {
        assert!(!style_errors(&Property { schema, name, types }).is_empty(), "{name} passes");
    }
    let good = [("X", "read_gb_per_s", vec![Type::Number]), ("X", "total_bytes", vec![Type::Integer])];
    for (schema, name, types) in good {
        assert!(style_errors(&Property { schema, name, types }).is_empty(), "{name} fails");
    }
}

/// Every list operation pages and searches alike.
#[test]
fn every_list_takes_q_limit_cursor_and_answers_count_total_next_cursor() {
    let spec = hwcost::api::openapi();
    let schemas = &spec.components.as_ref().unwrap().schemas;
    let mut lists = 0;
    for (path, item) in &spec.paths.paths {
        let Some(get) = &item.get else { continue };
        let Some(RefOr::T(response)) = get.responses.responses.get("200") else { continue };
        let Some(RefOr::T(content)) = response.content.get("application/json") else { continue };
        let Some(RefOr::Ref(reference)) = &content.schema else { continue };
        let name = reference.ref_location.rsplit('/').next().unwrap();
        let Some(RefOr::T(Schema::Object(body))) = schemas.get(name) else { continue };
        if !body.properties.contains_key("items") {
            continue;
        }
        lists += 1;
        for field in ["count", "total", "next_cursor", "items"] {
            assert!(body.properties.contains_key(field), "{path}: {name} lacks {field}");
        }
        let parameters: Vec<&str> = get
            .parameters
            .iter()
            .flatten()
            .map(|p| match p {
                RefOr::T(p) => p.name.as_str(),
                RefOr::Ref(_) => "",
            })
            .collect();
        for parameter in ["q", "limit", "cursor"] {
            assert!(parameters.contains(&parameter), "{path} lacks ?{parameter}");
        }
    }
    assert!(lists >= 7, "hardware, models, engines, formats, families and both price lists ({lists})");
}

#[tokio::test]
async fn pages_walk_every_model_once_and_search_is_case_insensitive() {
    let app = spawn_app().await;
    let (_, all) = app.get_json("/v1/models").await;
    let total = all["total"].as_u64().unwrap();
    assert_eq!(all["count"].as_u64(), Some(total));
    assert!(all.get("next_cursor").is_none());
    let mut seen = Vec::new();
    let mut path = "/v1/models?limit=25".to_owned();
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"].as_u64(), Some(total));
        seen.extend(page["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/models?limit=25&cursor={cursor}"),
            None => break,
        }
    }
    let ids: Vec<String> =
        all["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(seen, ids);

    let (_, found) = app.get_json("/v1/hardware?q=H100&_=1733140000000").await;
    assert!(found["count"].as_u64().unwrap() >= 2, "{found}");
    for d in found["items"].as_array().unwrap() {
        let text = format!("{} {} {}", d["id"], d["name"], d["aliases"]).to_lowercase();
        assert!(text.contains("h100"), "{text}");
    }
    let (status, bad) = app.get_json("/v1/models?cursor=nonsense").await;
    assert_eq!((status, bad["errors"][0]["pointer"].as_str()), (400, Some("/cursor")));
}

#[tokio::test]
async fn filters_and_ids_take_any_casing_and_an_unknown_family_is_named() {
    let app = spawn_app().await;
    let (status, gpus) = app.get_json("/v1/hardware?kind=GPU&vendor=NVIDIA").await;
    assert_eq!(status, 200, "{gpus}");
    assert!(gpus["items"].as_array().unwrap().iter().all(|d| d["kind"] == "gpu"));
    let (status, llama) = app.get_json("/v1/models?family=LLAMA-2").await;
    assert_eq!((status, llama["count"].as_u64()), (200, Some(3)), "{llama}");
    let llama_2_7b = llama["items"].as_array().unwrap().iter().find(|m| m["id"] == "llama-2-7b").unwrap();
    assert!(llama_2_7b["aliases"].as_array().unwrap().iter().any(|a| a == "meta-llama/llama-2-7b-hf"), "{llama_2_7b}");
    let (status, typo) = app.get_json("/v1/models?family=Llama").await;
    assert_eq!((status, typo["code"].as_str()), (404, Some("unknown-id")), "{typo}");
    assert!(typo["detail"].as_str().unwrap().contains("llama-2"), "close families are suggested: {typo}");

    let (status, body) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "Llama-3.1-8B", "hardware": "NVIDIA-H100-SXM-80GB", "weights": "Q4_K_M",
                    "kv_cache": "FP8", "engine": "vLLM"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["weights"].as_str(), body["kv_cache"].as_str(), body["engine"].as_str()),
        (Some("q4_k_m"), Some("fp8"), Some("vllm"))
    );
}

#[tokio::test]
async fn discovery_lists_every_id_a_request_names() {
    let app = spawn_app().await;
    let (_, engines) = app.get_json("/v1/engines").await;
    let engines = engines["items"].as_array().unwrap();
    let find = |id: &str| engines.iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("{id}"));
    assert_eq!(find("vllm")["kind"], "inference");
    assert_eq!(find("torchtune")["kind"], "training");
    assert!(!find("vllm")["fitted_on"].as_str().unwrap().is_empty());
    assert!(engines.iter().any(|e| e["release"].is_string()), "releases are listed as engine@release");
    let (_, training) = app.get_json("/v1/engines?kind=Training").await;
    assert!(training["items"].as_array().unwrap().iter().all(|e| e["kind"] == "training"));

    let (_, formats) = app.get_json("/v1/formats").await;
    let ids: Vec<&str> = formats["items"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    for id in ["fp32", "bf16", "fp8", "int4", "nvfp4", "q4_k_m"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let (_, networks) = app.get_json("/v1/networks").await;
    let networks = networks["items"].as_array().unwrap();
    let defaults: Vec<&serde_json::Value> = networks.iter().filter(|n| n["default"] == true).collect();
    assert_eq!(defaults.len(), 1, "one default network: {networks:?}");
    assert!(networks.iter().all(|n| !n["sources"].as_array().unwrap().is_empty()), "every network has a source");
    // A deployment names one by id; an unknown id is refused at its pointer, with the known ones.
    let (status, problem) = app
        .post_json(
            "/v1/estimate/inference",
            &serde_json::json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "network": "carrier-pigeon"}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/network", "{problem}");
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("infiniband-ndr"), "{problem}");
    let (status, _) = app
        .post_json(
            "/v1/estimate/inference",
            &serde_json::json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "network": "RoCE-400G"}),
        )
        .await;
    assert_eq!(status, 200, "network ids in any case");
    let (_, families) = app.get_json("/v1/families?q=llama-2").await;
    let family = &families["items"][0];
    assert_eq!(family["id"], "llama-2");
    assert!(family["model_ids"].as_array().unwrap().iter().any(|m| m == "llama-2-7b"));
    let (_, prices) = app.get_json("/v1/prices/devices?limit=1").await;
    assert_eq!(prices["count"], 1);
    assert!(prices["next_cursor"].is_string() && prices["items"][0]["device"].is_string(), "{prices}");
}

#[tokio::test]
async fn errors_speak_plainly_and_point_at_the_field() {
    let app = spawn_app().await;
    let (status, missing) = app.post_json("/v1/estimate/inference", &json!({"hardware": "nvidia-h100-sxm-80gb"})).await;
    assert_eq!(status, 400, "{missing}");
    assert_eq!(missing["errors"][0]["pointer"], "/model", "{missing}");

    let response =
        app.post_raw("/v1/estimate/inference", "application/json", r#"{"model": "llama-2-7b", "hardware": "#).await;
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    let detail = body["errors"][0]["detail"].as_str().unwrap_or_default().to_owned()
        + body["detail"].as_str().unwrap_or_default();
    assert!(!detail.contains("EOF") && !detail.contains("eOF") && detail.contains("line 1, column"), "{body}");
    assert!(body["errors"].as_array().is_none_or(|e| e.iter().all(|e| e["pointer"] != "/?")), "{body}");

    let (status, typed) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb", "batch_size": "lots"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(typed["errors"][0]["pointer"], "/batch_size");
    assert!(!typed.to_string().contains("at line"), "{typed}");
}

#[tokio::test]
async fn head_answers_wherever_get_does() {
    let app = spawn_app().await;
    for path in ["/v1/models", "/v1/hardware/nvidia-h100-sxm-80gb", "/healthz", "/openapi.json", "/v1/engines"] {
        let response = app.client.head(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let length: u64 = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
        assert!(length > 0, "{path}: the length of the GET body");
        assert!(response.bytes().await.unwrap().is_empty(), "{path}: no body");
    }
    let response = app.client.head(format!("{}/v1/plan", app.address)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
}

#[tokio::test]
async fn the_usable_context_is_the_smaller_of_trained_and_memory() {
    let app = spawn_app().await;
    let (_, llama2) = app
        .post_json("/v1/estimate/inference", &json!({"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb"}))
        .await;
    let memory = &llama2["memory"];
    assert_eq!(memory["max_context_tokens"], 4096, "{memory}");
    assert_eq!(memory["context_bound"], "model");
    assert!(memory["memory_context_tokens"].as_u64().unwrap() > 100_000, "{memory}");

    let (_, crowded) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-l4", "batch_size": 64}),
        )
        .await;
    assert_eq!(crowded["memory"]["context_bound"], "memory", "{}", crowded["memory"]);
    assert!(crowded["memory"]["max_context_tokens"].as_u64().unwrap() < 131_072);
}

#[tokio::test]
async fn a_device_count_alone_splits_a_model_too_big_for_one_device() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["memory"]["fits"], true, "{}", body["memory"]);
    let p = &body["parallelism"];
    assert_eq!(p["tensor"].as_u64().unwrap() * p["pipeline"].as_u64().unwrap() * p["data"].as_u64().unwrap(), 4, "{p}");
    assert!(p["tensor"].as_u64().unwrap() > 1, "{p}");
    assert!(
        body["assumptions"].as_array().unwrap().iter().any(|a| a["field"] == "parallelism"),
        "{}",
        body["assumptions"]
    );

    let (status, small) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4}),
        )
        .await;
    assert_eq!((status, small["parallelism"]["data"].as_u64()), (200, Some(4)), "{small}");

    let (status, refused) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-405b", "hardware": "nvidia-h100-sxm-80gb", "devices": 2}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["pointer"], "/devices");
}

#[tokio::test]
async fn training_counts_whole_steps_and_device_hours() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/estimate/training",
            &json!({"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb", "devices": 64, "tokens": 1e9,
                    "cost": {"basis": "own", "purchase_usd": 30000, "utilisation": 0.5}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["time"]["steps"].is_u64(), "{}", body["time"]);
    assert_eq!(body["time"]["device_hours"], body["time"]["gpu_hours"]);
    assert!(body["memory"]["per_device"]["total_bytes"].is_u64());
}
