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
