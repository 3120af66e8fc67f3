//! The committed OpenAPI document matches the code, and every `$ref` in it resolves.

use std::path::Path;

use serde_json::Value;

const COMMITTED: &str = "openapi/openapi.json";

#[test]
fn committed_spec_matches_the_generated_one() {
    let generated = hwcost::api::openapi_json();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{COMMITTED} is out of date; run `UPDATE_OPENAPI=1 cargo test --test api openapi` (or `cargo run -- openapi > {COMMITTED}`)"
    );
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => out.push(reference.clone()),
                    _ => collect_refs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves() {
    let spec: Value = serde_json::from_str(&hwcost::api::openapi_json()).unwrap();
    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("external ref {reference}"));
        assert!(spec.pointer(pointer).is_some(), "dangling $ref {reference}");
    }
}

#[test]
fn every_operation_is_documented_with_examples_where_it_has_a_body() {
    let spec: Value = serde_json::from_str(&hwcost::api::openapi_json()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let summary = operation.get("summary").and_then(Value::as_str).unwrap_or("");
            assert!(!summary.is_empty(), "{method} {path} has no summary (doc comment)");
        }
    }
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(body) = operation.pointer("/requestBody/content/application~1json") {
                let has_example = body.get("example").is_some()
                    || body["schema"].get("$ref").is_some_and(|r| {
                        let name = r.as_str().unwrap().rsplit('/').next().unwrap();
                        spec["components"]["schemas"][name].get("example").is_some()
                    });
                assert!(has_example, "{method} {path}: request body without an example");
            }
            if let Some(ok) = operation.pointer("/responses/200/content/application~1json") {
                let has_example = ok.get("example").is_some()
                    || ok["schema"].get("$ref").is_some_and(|r| {
                        let name = r.as_str().unwrap().rsplit('/').next().unwrap();
                        spec["components"]["schemas"][name].get("example").is_some()
                    });
                assert!(has_example, "{method} {path}: 200 response without an example");
            }
        }
    }
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        let described =
            schema.get("description").is_some() || schema.get("properties").is_some() || schema.get("oneOf").is_some();
        assert!(described, "schema {name} has neither description nor properties");
    }
}

#[test]
fn cli_prints_the_same_spec() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hwcost")).arg("openapi").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), hwcost::api::openapi_json());
}

/// The operationIds the published clients are generated from (`.ci/python-client.sh` checks that a
/// generator turns each into a function).
const OPERATION_IDS: &[&str] = &[
    "healthz",
    "readyz",
    "metrics",
    "list_hardware",
    "get_hardware",
    "list_models",
    "get_model",
    "get_model_parameters",
    "import_model",
    "estimate_inference",
    "estimate_training",
    "get_validation_report",
    "calibrate",
    "check_plan",
    "plan_deployment",
    "plan_training",
    "estimate_batch",
    "describe_host",
    "run_host_benchmarks",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

#[test]
fn every_operation_has_a_unique_operation_id() {
    let spec: Value = serde_json::from_str(&hwcost::api::openapi_json()).unwrap();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_else(|| {
                panic!("{method} {path} has no operationId");
            });
            let snake = id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            assert!(snake, "{method} {path}: operationId {id:?} is not snake_case");
            if let Some((other, _)) = seen.iter().find(|(_, seen_id)| seen_id == id) {
                panic!("operationId {id:?} is used by both {other} and {method} {path}");
            }
            seen.push((format!("{method} {path}"), id.to_owned()));
        }
    }
    for id in OPERATION_IDS {
        assert!(seen.iter().any(|(_, seen_id)| seen_id == id), "no operation has operationId {id:?}");
    }
}

/// The request schemas whose numeric bounds must all come from `scenario::range::DECLARED`.
const RANGED_SCHEMAS: &[&str] = &[
    "InferenceRequest",
    "ParallelismBody",
    "InferenceOverrides",
    "TrainingRequest",
    "TrainingParallelismBody",
    "Budget",
    "TrainingOverrides",
    "RequirementsBody",
    "WorkloadBody",
    "SearchBody",
    "ApiPriceBody",
    "PlanRequest",
    "TrainingSearchBody",
    "TrainingPlanRequest",
    "HfConfig",
    "InferenceMeasured",
    "TrainingMeasured",
];

/// Whether a schema's `type` (a string, or an array such as `["integer", "null"]`) includes `kind`.
fn has_type(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(types) => types.iter().any(|t| t == kind),
        _ => false,
    }
}

/// The schema a declared range is written on.
fn declared_schema<'a>(spec: &'a Value, declared: &hwcost::scenario::range::Declared) -> &'a Value {
    use hwcost::scenario::range::Place;
    let (schema, property) = (declared.schema, declared.property);
    match declared.place {
        Place::Property | Place::Items => {
            let component = spec["components"]["schemas"]
                .get(schema)
                .unwrap_or_else(|| panic!("DECLARED names schema {schema}, which the document lacks"));
            let found = component["properties"]
                .get(property)
                .unwrap_or_else(|| panic!("DECLARED names {schema}.{property}, which the document lacks"));
            if declared.place == Place::Items {
                found.get("items").unwrap_or_else(|| panic!("{schema}.{property} has no items"))
            } else {
                found
            }
        }
        Place::Query => {
            let parameters = spec["paths"][schema]["get"]["parameters"]
                .as_array()
                .unwrap_or_else(|| panic!("DECLARED names GET {schema}, which has no parameters"));
            let parameter = parameters
                .iter()
                .find(|p| p["name"] == property && p["in"] == "query")
                .unwrap_or_else(|| panic!("GET {schema} has no query parameter {property}"));
            &parameter["schema"]
        }
    }
}

#[test]
fn every_declared_range_is_in_the_document_as_declared() {
    let spec: Value = serde_json::from_str(&hwcost::api::openapi_json()).unwrap();
    for declared in hwcost::scenario::range::DECLARED {
        let at = format!("{} {} ({:?})", declared.schema, declared.property, declared.place);
        let schema = declared_schema(&spec, declared);
        let range = declared.range;
        assert_eq!(schema["maximum"].as_f64(), Some(range.max), "{at}: maximum in {schema}");
        if range.exclusive_min {
            assert_eq!(schema["exclusiveMinimum"].as_f64(), Some(range.min), "{at}: exclusiveMinimum in {schema}");
            assert!(schema.get("minimum").is_none(), "{at}: minimum beside exclusiveMinimum in {schema}");
        } else {
            assert_eq!(schema["minimum"].as_f64(), Some(range.min), "{at}: minimum in {schema}");
            assert!(schema.get("exclusiveMinimum").is_none(), "{at}: exclusiveMinimum in {schema}");
        }
        let kind = if range.integer { "integer" } else { "number" };
        assert!(has_type(schema, kind), "{at}: declared as {kind}, typed {}", schema["type"]);
    }
}

/// JSON pointers (relative to `value`) of every `maximum` / `exclusiveMaximum` inside it.
fn maxima(value: &Value, pointer: &str, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let here = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                if matches!(key.as_str(), "maximum" | "exclusiveMaximum") && inner.is_number() {
                    out.push((here.clone(), inner.as_f64().unwrap()));
                }
                maxima(inner, &here, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                maxima(item, &format!("{pointer}/{index}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_maximum_of_a_request_schema_comes_from_declared() {
    use hwcost::scenario::range::{DECLARED, Place};
    let spec: Value = serde_json::from_str(&hwcost::api::openapi_json()).unwrap();
    for name in RANGED_SCHEMAS {
        let schema =
            spec["components"]["schemas"].get(*name).unwrap_or_else(|| panic!("the document has no schema {name}"));
        let mut found = Vec::new();
        maxima(schema, "", &mut found);
        for (pointer, maximum) in found {
            let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
            let (property, place) = match parts.as_slice() {
                ["properties", property, "maximum"] => (*property, Place::Property),
                ["properties", property, "items", "maximum"] => (*property, Place::Items),
                _ => panic!("{name}{pointer}: a bound that is not the `maximum` of a property or of its items"),
            };
            let declared = DECLARED
                .iter()
                .find(|d| d.schema == *name && d.property == property && d.place == place)
                .unwrap_or_else(|| {
                    panic!("{name}{pointer} = {maximum} is not in scenario::range::DECLARED (written by hand?)")
                });
            assert_eq!(declared.range.max, maximum, "{name}{pointer}");
        }
    }
}

/// The server answers `/openapi.json` with the finished document, not the raw schemas that
/// registering the routes collects (those lack the declared ranges and the opened records).
#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let app = crate::helpers::spawn_app().await;
    let (status, served) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    let generated: Value = serde_json::from_str(&hwcost::api::openapi_json()).unwrap();
    assert!(served == generated, "GET /openapi.json differs from hwcost::api::openapi()");
}
