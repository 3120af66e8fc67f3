//! `POST /v1/estimate/training` end to end.

use serde_json::{Value, json};

use crate::helpers::{TestApp, explain_rule, spawn_app};

async fn estimate(app: &TestApp, request: Value) -> (u16, Value) {
    let response =
        app.post_raw("/v1/estimate/training", "application/json", serde_json::to_vec(&request).unwrap()).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

const CONTRACT_PATHS: &[&str] = &[
    "/memory/per_device/weights_bytes",
    "/memory/per_device/gradients_bytes",
    "/memory/per_device/optimizer_bytes",
    "/memory/per_device/activations_bytes",
    "/memory/per_device/overhead_bytes",
    "/memory/per_device/total_bytes",
    "/memory/fits",
    "/flops/model_flops",
    "/flops/hardware_flops",
    "/throughput/tokens_per_s_per_device",
    "/utilization/mfu",
    "/time/wall_clock_s",
    "/time/gpu_hours",
    "/cost/usd",
    "/energy/kwh",
    "/warnings",
    "/explain",
    "/error_band",
];

/// Llama 2 70B: the model card reports 1,720,320 A100-80GB hours for 2T tokens. The request
/// describes Meta's published setup in general terms (Megatron-style 3D parallelism); nothing in
/// the engine names the model.
#[tokio::test]
async fn llama_2_70b_gpu_hours_are_within_15_percent_of_the_model_card() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-2-70b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 2048, "tokens": 2.0e12,
               "sequence_length": 4096, "global_batch_tokens": 4194304, "sharding": "zero1",
               "parallelism": {"tensor": 8, "pipeline": 4, "sequence_parallel": true},
               "activation_checkpointing": "selective", "engine": "megatron"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for path in CONTRACT_PATHS {
        assert!(body.pointer(path).is_some(), "missing {path}");
    }
    let hours = body["time"]["gpu_hours"].as_f64().unwrap();
    let error = (hours - 1_720_320.0) / 1_720_320.0;
    assert!(error.abs() <= 0.15, "{hours} GPU-hours, {:.1}% off", error * 100.0);
    let explain = body["explain"].as_array().unwrap();
    assert!(explain.iter().any(|e| e["rule"] == "utilization.mfu"));
    assert!(explain.iter().any(|e| e["rule"] == "time.compute_efficiency"));
    assert_eq!(body["memory"]["fits"], true);
}

#[tokio::test]
async fn gpt3_on_1024_a100s_and_llama_405b_on_16k_h100s_are_sensible() {
    let app = spawn_app().await;
    let (_, gpt3) = estimate(
        &app,
        json!({"model": "gpt-3-175b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 1024, "tokens": 3.0e11, "sequence_length": 2048,
               "global_batch_tokens": 3145728, "sharding": "zero1", "parallelism": {"tensor": 8, "pipeline": 8, "sequence_parallel": true},
               "activation_checkpointing": "selective", "engine": "megatron"}),
    )
    .await;
    let days = gpt3["time"]["wall_clock_days"].as_f64().unwrap();
    // Narayanan et al. 2021 estimate 34 days for GPT-3 on 1024 A100s at 140 TFLOP/s per GPU.
    assert!((15.0..60.0).contains(&days), "{days}");
    assert_eq!(gpt3["memory"]["fits"], true);
    let (_, llama) = estimate(
        &app,
        json!({"model": "llama-3.1-405b", "hardware": "nvidia-h100-sxm-80gb", "devices": 16384, "tokens": 1.56e13, "sequence_length": 8192,
               "global_batch_tokens": 16777216, "sharding": "zero1", "parallelism": {"tensor": 8, "pipeline": 16, "sequence_parallel": true},
               "activation_checkpointing": "full", "engine": "megatron"}),
    )
    .await;
    let mfu = llama["utilization"]["mfu"].as_f64().unwrap();
    assert!((0.15..0.6).contains(&mfu), "{mfu}");
    assert_eq!(llama["memory"]["fits"], true, "{}", llama["memory"]);
    let hours = llama["time"]["gpu_hours"].as_f64().unwrap();
    // The model card reports 30.84M H100 hours for the whole 405B training.
    assert!((1.0e7..1.0e8).contains(&hours), "{hours}");
}

#[tokio::test]
async fn a_qlora_65b_fine_tune_fits_one_48gb_gpu() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-65b", "hardware": "nvidia-rtx-a6000", "method": "qlora", "sequence_length": 512,
               "tokens": 1.0e8, "activation_checkpointing": "full"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["memory"]["fits"], true, "{}", body["memory"]);
    let weights = body["memory"]["per_device"]["weights_bytes"].as_f64().unwrap();
    assert!((30e9..40e9).contains(&weights), "4-bit base of 65B parameters: {weights}");
    let (_, full) = estimate(
        &app,
        json!({"model": "llama-65b", "hardware": "nvidia-rtx-a6000", "sequence_length": 512, "tokens": 1.0e8}),
    )
    .await;
    assert_eq!(full["memory"]["fits"], false);
}

#[tokio::test]
async fn helpers_give_compute_optimal_tokens_and_the_largest_model_for_a_budget() {
    let app = spawn_app().await;
    let (_, body) = estimate(
        &app,
        json!({"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb", "devices": 64, "tokens": "compute_optimal",
               "sharding": "zero3", "budget": {"gpu_hours": 100000}, "engine": "fsdp"}),
    )
    .await;
    let optimal = body["helpers"]["compute_optimal_tokens"].as_f64().unwrap();
    assert!((1.3e11..1.4e11).contains(&optimal), "{optimal}");
    assert_eq!(body["tokens"].as_f64().unwrap(), optimal);
    let largest = body["helpers"]["largest_model_parameters_within_budget"].as_f64().unwrap();
    assert!((1e9..1e12).contains(&largest), "{largest}");
}

#[tokio::test]
async fn zero3_needs_no_more_memory_than_zero1_and_bad_layouts_are_422() {
    let app = spawn_app().await;
    let base =
        json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "devices": 8, "sequence_length": 4096});
    let with = |sharding: &str| {
        let mut r = base.clone();
        r["sharding"] = sharding.into();
        r
    };
    let (_, z1) = estimate(&app, with("zero1")).await;
    let (_, z3) = estimate(&app, with("zero3")).await;
    let total = |v: &Value| v["memory"]["per_device"]["total_bytes"].as_f64().unwrap();
    assert!(total(&z3) <= total(&z1));
    for (request, pointer) in [
        (json!({"model": "llama-3.1-8b", "hardware": "h100", "devices": 12, "parallelism": {"tensor": 8}}), "/devices"),
        (json!({"model": "llama-3.1-8b", "hardware": "h100", "parallelism": {"tensor": 5}}), "/parallelism/tensor"),
        (
            json!({"model": "llama-3.1-8b", "hardware": "h100", "devices": 8, "sequence_length": 4096, "global_batch_tokens": 5000}),
            "/global_batch_tokens",
        ),
    ] {
        let (status, body) = estimate(&app, request).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["pointer"], pointer);
    }
    let (status, body) = estimate(&app, json!({"model": "llama-3.1-8b", "hardware": "h100", "pue": 0.5})).await;
    assert_eq!(status, 400, "{body}");
}

#[test]
fn the_cli_estimates_training() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hwcost"))
        .args([
            "estimate",
            "training",
            "--model",
            "llama-2-7b",
            "--hardware",
            "h100",
            "--devices",
            "8",
            "--tokens",
            "1e11",
            "--sharding",
            "zero3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("device-hours") && text.contains("MFU"), "{text}");
}

#[tokio::test]
async fn global_batch_can_be_given_in_sequences() {
    let app = spawn_app().await;
    let base = json!({"model": "llama-2-7b", "hardware": "h100", "devices": 8, "sequence_length": 4096});
    let mut tokens = base.clone();
    tokens["global_batch_tokens"] = (1024 * 4096).into();
    let mut sequences = base.clone();
    sequences["global_batch_sequences"] = 1024.into();
    let (_, a) = estimate(&app, tokens).await;
    let (_, b) = estimate(&app, sequences).await;
    assert_eq!(a["global_batch_tokens"], b["global_batch_tokens"]);
    assert_eq!(a["time"]["step_s"], b["time"]["step_s"]);
}

/// A full fine-tune of a 7B model does not fit a 24 GB card as plain mixed precision; the
/// answer says what does, and torchtune's recipe (pure bf16, paged 8-bit AdamW stepped inside
/// backward, checkpointing) fits the way torchtune's README reports.
#[tokio::test]
async fn a_fine_tune_that_does_not_fit_names_the_changes_that_make_it_fit() {
    let app = spawn_app().await;
    let base = json!({"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "sequence_length": 2048, "tokens": 1e7});
    let (status, plain) = estimate(&app, base.clone()).await;
    assert_eq!(status, 200, "{plain}");
    assert_eq!(plain["memory"]["fits"], false);
    let cheapest = &plain["fit"]["cheapest"];
    assert_eq!(cheapest["fits"], true, "{}", plain["fit"]);
    assert!(plain["fit"]["changes"].as_array().unwrap().len() >= 5);
    let phases = &plain["memory"]["phases"];
    let peak = plain["memory"]["per_device"]["allocated_bytes"].as_f64().unwrap();
    let largest = ["forward_bytes", "backward_bytes", "optimizer_step_bytes"]
        .iter()
        .map(|k| phases[*k].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(peak, largest);

    let mut torchtune = base;
    torchtune["engine"] = json!("torchtune");
    let (status, tt) = estimate(&app, torchtune).await;
    assert_eq!(status, 200, "{tt}");
    assert_eq!(tt["memory"]["fits"], true, "{}", tt["memory"]);
    assert_eq!(tt["recipe"]["optimizer_in_backward"], true);
    assert_eq!(tt["recipe"]["master_weights"], false);
    assert!(
        tt["assumptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["field"] == "optimizer" && a["value"] == "paged-adamw-8bit")
    );
    assert!(tt["memory"]["max_sequence_length"].as_u64().unwrap() >= 2048);
}

/// A config file becomes the request; its unknown keys are reported; a bad one is a 422 at the
/// config's pointer.
#[tokio::test]
async fn a_config_file_is_read_and_its_unknown_keys_reported() {
    let app = spawn_app().await;
    let text = "base_model: meta-llama/Llama-2-7b-hf\nadapter: qlora\nload_in_4bit: true\nlora_r: 16\nsequence_len: 2048\nmicro_batch_size: 2\noptimizer: paged_adamw_8bit\ngradient_checkpointing: true\nfancy_new_knob: 1\n";
    let (status, body) = estimate(&app, json!({"hardware": "nvidia-rtx-4090", "config": {"text": text}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "llama-2-7b");
    assert_eq!(body["engine"], "axolotl");
    assert_eq!(body["config"]["format"], "axolotl");
    assert_eq!(body["config"]["unknown_keys"], json!(["fancy_new_knob"]));
    assert_eq!(body["micro_batch_size"], 2);
    assert_eq!(body["memory"]["fits"], true);

    let (status, bad) =
        estimate(&app, json!({"hardware": "nvidia-rtx-4090", "config": {"text": "- not\n- a mapping"}})).await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["errors"][0]["pointer"], "/config/text");
}

/// `devices` alone: the layout of least overhead that fits, every choice in `assumptions`.
/// GPT-3 on 10,000 V100s cannot run as plain data parallelism (every rank holding 175B
/// parameters' states); the answer picks sharding and tensor parallelism inside a node, and fp16
/// because a V100 has no bf16.
#[tokio::test]
async fn devices_alone_get_a_layout_that_fits_in_a_precision_the_device_has() {
    let app = spawn_app().await;
    let (status, body) =
        estimate(&app, json!({"model": "gpt-3-175b", "hardware": "nvidia-v100-sxm2-32gb", "devices": 10000})).await;
    assert_eq!(status, 200, "{body}");
    let assumed = |field: &str| {
        body["assumptions"].as_array().unwrap().iter().find(|a| a["field"] == field).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(body["precision"], "fp16");
    assert_eq!(assumed("precision")["value"], "fp16", "{}", body["assumptions"]);
    assert!(assumed("precision")["reason"].as_str().unwrap().contains("no bf16"));
    assert!(!body["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "unsupported-precision"));
    assert_eq!(body["verdict"], "fits", "{}", body["memory"]);
    assert_eq!(body["not_run"], Value::Null);
    let (total, capacity) = (
        body["memory"]["per_device"]["total_bytes"].as_f64().unwrap(),
        body["memory"]["capacity_bytes"].as_f64().unwrap(),
    );
    assert!(total <= capacity, "{total} > {capacity}");
    assert_ne!(body["sharding"], "none");
    assert!(assumed("sharding")["reason"].as_str().unwrap().contains("least-overhead"));
    let p = &body["parallelism"];
    let product = ["tensor", "pipeline", "context", "data"].iter().map(|k| p[*k].as_u64().unwrap()).product::<u64>();
    assert_eq!(product, 10000, "{p}");
    assert!(p["tensor"].as_u64().unwrap() <= 8);
    assert_eq!(
        assumed("parallelism")["value"],
        format!("tensor {} x pipeline {} x data {}", p["tensor"], p["pipeline"], p["data"])
    );
    assert!(body["time"]["wall_clock_days"].as_f64().unwrap() > 0.0);

    // The same layout given explicitly is the same answer; plain data parallelism given
    // explicitly does not fit, and says so.
    let (_, explicit) = estimate(
        &app,
        json!({"model": "gpt-3-175b", "hardware": "nvidia-v100-sxm2-32gb", "devices": 10000, "precision": "fp16",
               "sharding": body["sharding"], "parallelism": {"tensor": p["tensor"], "pipeline": p["pipeline"]}}),
    )
    .await;
    assert_eq!(explicit["memory"]["per_device"]["total_bytes"], body["memory"]["per_device"]["total_bytes"]);
    let (_, plain) = estimate(
        &app,
        json!({"model": "gpt-3-175b", "hardware": "nvidia-v100-sxm2-32gb", "devices": 10000, "sharding": "none",
               "precision": "bf16", "parallelism": {"tensor": 1}}),
    )
    .await;
    assert_eq!(plain["verdict"], "does_not_fit");
    // Explicit fields win: bf16 asked for on a V100 stays bf16 (computed as fp16, with a warning).
    assert_eq!(plain["precision"], "bf16");
}

/// The README's 2,048-GPU recipe with Llama-2-7B and without its 3D layout: 2,048 data ranks of
/// 4,096-token sequences take 8M tokens a step, so the 4M-token batch is rounded and the answer
/// says so; a batch far from any multiple is a 422 that names device counts that take it.
#[tokio::test]
async fn a_global_batch_is_rounded_to_whole_micro_batches_and_says_so() {
    let app = spawn_app().await;
    let recipe = json!({"model": "llama-2-7b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 2048, "tokens": 2e12,
        "sequence_length": 4096, "global_batch_tokens": 4194304, "sharding": "zero1",
        "activation_checkpointing": "selective", "engine": "megatron"});
    let (status, body) = estimate(&app, recipe.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["global_batch_tokens"].as_f64().unwrap(), 8388608.0);
    let batch = body["assumptions"].as_array().unwrap().iter().find(|a| a["field"] == "global_batch_tokens").unwrap();
    assert_eq!(batch["value"], "8388608 (asked 4194304)");
    assert!(batch["reason"].as_str().unwrap().contains("data ranks"));
    assert_eq!(body["verdict"], "fits");
    // With the README's own layout (tensor 8 x pipeline 4) the batch divides: no rounding.
    let mut layout = recipe.clone();
    layout["parallelism"] = json!({"tensor": 8, "pipeline": 4, "sequence_parallel": true});
    let (status, body) = estimate(&app, layout).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["global_batch_tokens"].as_f64().unwrap(), 4194304.0);
    assert!(!body["assumptions"].as_array().unwrap().iter().any(|a| a["field"] == "global_batch_tokens"));
    // 1M tokens cannot be spread over 2,048 ranks of 4,096-token sequences: 256 devices can.
    let mut far = recipe;
    far["global_batch_tokens"] = json!(1048576);
    far["parallelism"] = json!({"tensor": 1});
    let (status, body) = estimate(&app, far).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/global_batch_tokens");
    assert!(body["detail"].as_str().unwrap().contains("256 devices"), "{body}");
    // Devices that the degrees do not divide: the answer names counts that work.
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-3.1-8b", "hardware": "h100", "devices": 12, "parallelism": {"tensor": 8}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("8 or 16 devices work"), "{body}");
}

/// torchtune's full fine-tune of Llama-2-7B on one RTX 4090 keeps its paged 8-bit AdamW states
/// in unified memory: what spills lives in host memory, reported apart; the device's total
/// never exceeds its capacity when the run fits.
#[tokio::test]
async fn device_memory_is_the_device_peak_and_host_memory_is_apart() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "devices": 1, "engine": "torchtune", "tokens": 1e7}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let m = &body["memory"];
    let p = &m["per_device"];
    let bytes = |v: &Value| v.as_f64().unwrap();
    assert_eq!(m["fits"], true, "{m}");
    assert!(bytes(&p["total_bytes"]) <= bytes(&m["capacity_bytes"]), "{m}");
    assert!(bytes(&p["paged_optimizer_bytes"]) > 0.0, "{m}");
    assert!(bytes(&m["spilled_bytes"]) > 0.0, "{m}");
    assert_eq!(bytes(&p["host_bytes"]), bytes(&p["offloaded_bytes"]) + bytes(&m["spilled_bytes"]));
    // What the device holds: the allocator's reserve, the context, and the paged states that
    // did not spill.
    let on_device = bytes(&p["reserved_bytes"]) + bytes(&p["context_bytes"]) + bytes(&p["paged_optimizer_bytes"])
        - bytes(&m["spilled_bytes"]);
    assert!((bytes(&p["total_bytes"]) - on_device).abs() <= 2.0, "{m}");
    // CPU offload moves optimizer states and master weights to the host: counted there, not on
    // the device.
    let (_, offloaded) = estimate(
        &app,
        json!({"model": "llama-2-7b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 1, "tokens": 1e7,
               "cpu_offload": true, "activation_checkpointing": "full"}),
    )
    .await;
    let p = &offloaded["memory"]["per_device"];
    assert_eq!(bytes(&p["optimizer_bytes"]), 0.0);
    assert!(bytes(&p["offloaded_bytes"]) > 50e9, "{p}");
    assert_eq!(bytes(&p["host_bytes"]), bytes(&p["offloaded_bytes"]));
}

/// A run that does not fit says so at the top, with one sentence, and has no time, speed, cost
/// or energy: numbers for a run that cannot happen are easy to misread as its numbers.
#[tokio::test]
async fn a_run_that_does_not_fit_has_a_verdict_a_reason_and_no_time_or_cost() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-2-70b", "hardware": "nvidia-rtx-4090", "devices": 1, "tokens": 1e9,
               "cost": {"basis": "rent", "usd_per_device_hour": 0.5}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verdict"], "does_not_fit");
    assert_eq!(body["memory"]["fits"], false);
    let reason = body["not_run"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("needs ") && reason.contains("per device") && reason.ends_with("usable"), "{reason}");
    let left_out: Vec<&str> =
        body["not_run"]["left_out"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(left_out, ["throughput", "utilization", "time", "cost", "energy"]);
    for section in left_out {
        assert_eq!(body[section], Value::Null, "{section}");
    }
    assert_eq!(body["warnings"][0]["code"], "does-not-fit");
    // What it would need is still there.
    assert!(
        body["memory"]["per_device"]["total_bytes"].as_f64().unwrap()
            > body["memory"]["capacity_bytes"].as_f64().unwrap()
    );
    assert!(body["fit"]["changes"].as_array().unwrap().len() > 1);

    // Devices alone that no layout fits: the least-memory layout, and the device count from
    // which one fits.
    let (status, body) =
        estimate(&app, json!({"model": "llama-2-70b", "hardware": "nvidia-rtx-4090", "devices": 4})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verdict"], "does_not_fit");
    assert_eq!(body["time"], Value::Null);
    let devices = body["assumptions"].as_array().unwrap().iter().find(|a| a["field"] == "devices").unwrap();
    assert!(devices["value"].as_str().unwrap().contains("a layout fits from"), "{devices}");
}

/// One figure for a fine-tune that does not fit (issue 27: a 295 GB "peak" beside a 157 GB
/// chart). Llama 2 70B, full fine-tune with torchtune's paged 8-bit optimizer on one RTX 4090:
/// the does-not-fit warning's parts add up to the figure it names, which is
/// `memory.per_device.total_bytes` and the explain entry `memory.total`; the paged optimizer
/// states (which would live in host memory) are named apart, not in the sum.
#[tokio::test]
async fn a_fine_tune_that_does_not_fit_gives_one_peak_and_parts_that_add_up_to_it() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/estimate/training",
            &json!({"model": "llama-2-70b", "hardware": "nvidia-rtx-4090", "devices": 1, "tokens": 1e7,
                "engine": "torchtune", "method": "full"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verdict"], "does_not_fit");
    // The batch and sequence it ran at, left out, are named among the assumptions.
    let assumed = |field: &str| {
        body["assumptions"].as_array().unwrap().iter().find(|a| a["field"] == field).map(|a| a["value"].clone())
    };
    assert_eq!(assumed("sequence_length"), Some(json!(body["sequence_length"].to_string())), "{}", body["assumptions"]);
    assert_eq!(
        assumed("micro_batch_size"),
        Some(json!(body["micro_batch_size"].to_string())),
        "{}",
        body["assumptions"]
    );
    let m = &body["memory"];
    let total_gb = m["per_device"]["total_bytes"].as_f64().unwrap() / 1e9;
    let warning = body["warnings"].as_array().unwrap().iter().find(|w| w["code"] == "does-not-fit").unwrap();
    let message = warning["message"].as_str().unwrap();
    let numbers = |text: &str| -> Vec<f64> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter_map(|t| t.parse::<f64>().ok()).collect()
    };
    let needs = numbers(message.split(" GB per device").next().unwrap())[0];
    assert!((needs - total_gb).abs() < 0.06, "{message} vs total_bytes {total_gb}");
    let inside = message.split_once('(').unwrap().1.split_once(')').unwrap().0;
    let parts: f64 = numbers(inside).iter().sum();
    assert!((parts - needs).abs() < 0.35, "the parts ({parts}) must add up to {needs}: {message}");
    let paged = m["per_device"]["paged_optimizer_bytes"].as_f64().unwrap() / 1e9;
    assert!(paged > 100.0, "{m}");
    assert!(message.contains(&format!("paged optimizer states ({paged:.1} GB) are not in this figure")), "{message}");
    let rule = |name: &str| {
        body["explain"].as_array().unwrap().iter().find(|e| e["rule"] == name).unwrap_or_else(|| panic!("no {name}"))["value"].as_f64().unwrap()
    };
    assert!((rule("memory.total") - m["per_device"]["total_bytes"].as_f64().unwrap()).abs() < 1.0);
    assert!((rule("memory.capacity") - m["capacity_bytes"].as_f64().unwrap()).abs() < 1.0);
    assert_eq!(rule("memory.max_micro_batch_size") as u64, m["max_micro_batch_size"].as_u64().unwrap());
    assert_eq!(rule("memory.max_sequence_length") as u64, m["max_sequence_length"].as_u64().unwrap());
}

/// A fine-tune at a given micro-batch and sequence length (issue 27, item 4): the answer runs
/// at them and its largest micro-batch and sequence open explain entries of their own.
#[tokio::test]
async fn a_fine_tune_at_its_batch_and_sequence_explains_its_largest_batch_and_sequence() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/estimate/training",
            &json!({"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "devices": 1, "engine": "torchtune",
                "method": "lora", "micro_batch_size": 4, "sequence_length": 2048}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["micro_batch_size"], 4);
    assert_eq!(body["sequence_length"], 2048);
    assert!(
        body["assumptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["field"] != "micro_batch_size" && a["field"] != "sequence_length"),
        "{}",
        body["assumptions"]
    );
    let m = &body["memory"];
    let rule = |name: &str| {
        body["explain"].as_array().unwrap().iter().find(|e| e["rule"] == name).unwrap_or_else(|| panic!("no {name}"))["value"].as_f64().unwrap()
    };
    assert!(m["max_micro_batch_size"].as_u64().unwrap() >= 4, "{m}");
    assert_eq!(rule("memory.max_micro_batch_size") as u64, m["max_micro_batch_size"].as_u64().unwrap());
    assert_eq!(rule("memory.max_sequence_length") as u64, m["max_sequence_length"].as_u64().unwrap());
}

/// GPT-3 175B as Patterson et al. 2021 ("Carbon Emissions and Large Neural Network Training",
/// arXiv:2104.10350, Table 4) report it: 10,000 V100s at a measured 24.6 TFLOP/s each (3.14e23
/// FLOPs counted as 6 N D) for 14.8 days, PUE 1.1, 1,287 MWh. The measured throughput is given
/// as `measured_mfu` in hwcost's FLOP definition: 24.6e12 x (hwcost's FLOPs per token / 6 N) /
/// 125e12 = 0.1993. The energy breakdown is in the answer, its parts add up to the pinned
/// `energy.kwh`, and the host share is the DGX-1's by hand: (3,500 / 8 - 300) x 0.6 = 82.5 W.
#[tokio::test]
async fn gpt_3_energy_is_within_15_percent_of_patterson_with_its_breakdown() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "gpt-3-175b", "hardware": "nvidia-v100-sxm2-32gb", "devices": 10000, "tokens": 300e9,
            "sequence_length": 2048, "global_batch_tokens": 3_200_000, "precision": "fp16", "measured_mfu": 0.1993,
            "pue": 1.1}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let f = |path: &str| body.pointer(path).and_then(Value::as_f64).unwrap_or_else(|| panic!("{path} in {body}"));
    let days = f("/time/wall_clock_days");
    assert!((days / 14.8 - 1.0).abs() < 0.02, "{days} days");
    let mwh = f("/energy/kwh") / 1000.0;
    assert!((mwh / 1287.0 - 1.0).abs() < 0.15, "{mwh} MWh against 1,287");
    assert!((f("/energy/breakdown/device_w") - 255.0).abs() < 1e-9);
    assert!((f("/energy/breakdown/host_w") - 82.5).abs() < 1e-9);
    let parts: f64 = ["device_kwh", "host_kwh", "network_kwh", "facility_kwh"]
        .iter()
        .map(|p| f(&format!("/energy/breakdown/{p}")))
        .sum();
    assert!((parts / f("/energy/kwh") - 1.0).abs() < 1e-9, "{parts}");
    for path in CONTRACT_PATHS {
        assert!(body.pointer(path).is_some(), "{path} missing");
    }
}

/// Meta's Llama 3.1 405B layout (Grattafiori et al. 2024, section 3.3 and table 4): 16,384 H100s,
/// tensor 8 with sequence parallelism, pipeline 16 interleaved with one layer per model chunk
/// (the embedding and the loss counted as a layer each), data 128 sharding optimizer states and
/// gradients, 16M-token batches of 8K sequences, BF16, no recomputation.
fn meta_405b(schedule: Value) -> Value {
    let mut parallelism = json!({"tensor": 8, "pipeline": 16, "data": 128, "sequence_parallel": true});
    for (k, v) in schedule.as_object().unwrap() {
        parallelism[k] = v.clone();
    }
    json!({"model": "llama-3.1-405b", "hardware": "nvidia-h100-sxm-80gb", "devices": 16384, "tokens": 1.56e13,
           "sequence_length": 8192, "micro_batch_size": 1, "global_batch_tokens": 16777216, "precision": "bf16",
           "optimizer": "adamw", "sharding": "zero2", "parallelism": parallelism,
           "activation_checkpointing": "none", "engine": "generic"})
}

#[tokio::test]
async fn pipeline_schedules_set_the_bubble_and_metas_405b_layout_fits() {
    let app = spawn_app().await;
    let bubble = |body: &Value| body["utilization"]["pipeline_bubble_fraction"].as_f64().unwrap();
    let recomputed = |schedule: Value| {
        let mut r = meta_405b(schedule);
        r["activation_checkpointing"] = json!("full");
        r
    };
    // p = 16, m = 2048 sequences / 128 data ranks = 16 micro-batches: 1F1B 15/31 of the step,
    // ZB-H1 15/63, interleaved with 8 chunks 15/143.
    let (status, one) = estimate(&app, recomputed(json!({}))).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["parallelism"]["schedule"], "1f1b");
    assert!((bubble(&one) - 15.0 / 31.0).abs() < 1e-9, "{}", bubble(&one));
    let (_, zb) = estimate(&app, recomputed(json!({"schedule": "zero_bubble"}))).await;
    assert!((bubble(&zb) - 15.0 / 63.0).abs() < 1e-9, "{}", bubble(&zb));
    let (status, meta) = estimate(&app, meta_405b(json!({"schedule": "interleaved", "virtual_stages": 8}))).await;
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["parallelism"]["virtual_stages"], 8);
    assert!((bubble(&meta) - 15.0 / 143.0).abs() < 1e-9, "{}", bubble(&meta));
    // It fits: 16 micro-batches in flight of 7 layers on the first device (the embedding counts
    // as the eighth), where 1F1B without recomputation holds 16 of 126 / 16 and does not.
    assert_eq!(meta["memory"]["fits"], true, "{}", meta["memory"]);
    let (_, plain) = estimate(&app, meta_405b(json!({}))).await;
    assert_eq!(plain["memory"]["fits"], false, "{}", plain["memory"]);
    let head = 8192.0 * 4.0 * 16384.0;
    let acts = |b: &Value| b["memory"]["per_device"]["activations_bytes"].as_f64().unwrap() - head;
    assert!((acts(&meta) / acts(&plain) - 7.0 / 7.875).abs() < 1e-9, "{} {}", acts(&meta), acts(&plain));
    // Within 10% of the model card's 30.84M H100-hours, at an MFU near Meta's reported 38-43%.
    let hours = meta["time"]["gpu_hours"].as_f64().unwrap();
    assert!((hours / 30.84e6 - 1.0).abs() < 0.10, "{hours}");
    let mfu = meta["utilization"]["mfu"].as_f64().unwrap();
    assert!((0.33..0.48).contains(&mfu), "{mfu}");
    // Virtual stages alone mean interleaved.
    let (_, alone) = estimate(&app, meta_405b(json!({"virtual_stages": 8}))).await;
    assert_eq!(alone["parallelism"]["schedule"], "interleaved");
    // Out of range, or for another schedule, or more chunks than layers: 400 at the field.
    for schedule in [
        json!({"schedule": "interleaved", "virtual_stages": 0}),
        json!({"schedule": "interleaved", "virtual_stages": 65}),
        json!({"schedule": "1f1b", "virtual_stages": 2}),
        json!({"schedule": "interleaved", "virtual_stages": 9}),
    ] {
        let (status, body) = estimate(&app, meta_405b(schedule.clone())).await;
        assert_eq!(status, 400, "{schedule}: {body}");
        assert_eq!(body["errors"][0]["pointer"], "/parallelism/virtual_stages", "{schedule}: {body}");
    }
    let (status, _) = estimate(&app, meta_405b(json!({"schedule": "gpipe"}))).await;
    assert_eq!(status, 400);
}

/// Meta's long-context stage of Llama 3.1 405B (Grattafiori et al. 2024, table 4): 16,384
/// H100s, tensor 8, context 16, pipeline 16, data 8, 131,072-token sequences in 16M-token
/// batches.
#[tokio::test]
async fn context_parallelism_runs_a_kv_ring_over_the_network_and_balances_the_causal_work() {
    let app = spawn_app().await;
    let long = |extra: Value| {
        let mut r = meta_405b(json!({"schedule": "interleaved", "virtual_stages": 8}));
        r["parallelism"]["data"] = json!(8);
        r["parallelism"]["context"] = json!(16);
        r["sequence_length"] = json!(131072);
        r["activation_checkpointing"] = json!("full");
        for (k, v) in extra.as_object().unwrap() {
            r["parallelism"][k] = v.clone();
        }
        r
    };
    let (status, body) = estimate(&app, long(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let ring = &body["context_parallel"];
    assert_eq!(ring["degree"], 16, "{ring}");
    assert_eq!(ring["load_balanced"], true);
    assert_eq!(body["parallelism"]["context_load_balanced"], true);
    // One K and V block: 131,072 / 16 = 8,192 tokens x 8 KV heads / tensor 8 x (128 + 128) x 2
    // bytes = 4,194,304. Tensor 8 x context 16 = 128 devices: more than a node, so the network.
    assert_eq!(ring["block_bytes"], 4_194_304u64, "{ring}");
    assert_eq!(ring["link"], "network");
    // 15 ring steps a pass, 4 passes (forward, backward twice, recomputation).
    assert_eq!(ring["steps_per_layer"], 60.0);
    let rule = |b: &Value, id: &str| b["explain"].as_array().unwrap().iter().any(|e| e["rule"] == id);
    assert!(rule(&body, "context.ring_block_bytes") && rule(&body, "time.context_ring_exposed"), "{}", body["explain"]);
    // Contiguous shards: the last rank does 31/16 of the average attention, and every rank
    // waits for it.
    let (_, unbalanced) = estimate(&app, long(json!({"context_load_balanced": false}))).await;
    assert_eq!(unbalanced["context_parallel"]["load_balanced"], false);
    assert!(unbalanced["context_parallel"]["imbalance_s"].as_f64().unwrap() > 0.0);
    assert!(unbalanced["time"]["step_s"].as_f64().unwrap() > body["time"]["step_s"].as_f64().unwrap());
    // Without context ranks there is no ring.
    let (_, short) = estimate(&app, meta_405b(json!({"schedule": "interleaved", "virtual_stages": 8}))).await;
    assert!(short["context_parallel"].is_null(), "{}", short["context_parallel"]);
    assert!(short["parallelism"].get("context_load_balanced").is_none());
    // A wrong type is a 400 at the field.
    let (status, _) = estimate(&app, long(json!({"context_load_balanced": "yes"}))).await;
    assert_eq!(status, 400);
}

/// A V100's GEMMs run at the Volta share the profiles state (0.30, Megatron-LM 2019's
/// single-GPU baseline), an A100's at the profile's own; a request's override wins on either.
/// By hand: the same 1.3B run on one V100 and on the override differ in GEMM time by exactly
/// 0.5 / 0.30, since nothing else in the step moves.
#[tokio::test]
async fn a_v100_runs_at_the_volta_share_unless_the_request_overrides_it() {
    let app = spawn_app().await;
    let efficiency = |v: &Value| {
        let rule = explain_rule(v, "time.compute_efficiency");
        (rule["inputs"]["engine_efficiency"].as_f64().unwrap(), rule["value"].as_f64().unwrap())
    };
    let compute = |v: &Value| explain_rule(v, "time.compute")["value"].as_f64().unwrap();
    let body = |hardware: &str, overrides: Value| {
        json!({"model": "gpt-3-1.3b", "hardware": hardware, "devices": 1, "tokens": 1e9,
               "sequence_length": 2048, "precision": "fp16", "activation_checkpointing": "full",
               "engine": "megatron", "overrides": overrides})
    };
    let (code, volta) = estimate(&app, body("nvidia-v100-sxm2-32gb", json!({}))).await;
    assert_eq!(code, 200, "{volta}");
    assert_eq!(efficiency(&volta), (0.30, 0.30));
    let (_, ampere) = estimate(&app, body("nvidia-a100-sxm4-80gb", json!({}))).await;
    assert_eq!(efficiency(&ampere).0, 0.64);
    let (code, overridden) = estimate(&app, body("nvidia-v100-sxm2-32gb", json!({"compute_efficiency": 0.5}))).await;
    assert_eq!(code, 200, "{overridden}");
    assert_eq!(efficiency(&overridden).0, 0.5);
    // Attention runs at its own share (unchanged here), so only the GEMM part scales.
    let attention = |v: &Value| {
        let i = &explain_rule(v, "time.compute")["inputs"];
        let tokens = i["tokens_per_device"].as_f64().unwrap();
        let peak = i["peak_flops_per_s"].as_f64().unwrap();
        let attention = i["attention_flops_per_token"].as_f64().unwrap();
        let gemm = i["hardware_flops_per_token"].as_f64().unwrap() - attention;
        (tokens, peak, gemm)
    };
    let (tokens, peak, gemm) = attention(&volta);
    let by_hand = tokens * gemm / peak * (1.0 / 0.30 - 1.0 / 0.5);
    let moved = compute(&volta) - compute(&overridden);
    assert!((moved - by_hand).abs() < 1e-9 * by_hand, "{moved} vs {by_hand}");
}

/// llm.c is an engine of its own: its profile's GEMM share (0.75, fitted on its three published
/// runs) is what the step runs at, and GPT-2 124M on 8 A100s (llm.c's own run script) comes out
/// within 15% of the ~90 minutes Karpathy reported.
#[tokio::test]
async fn llm_c_runs_at_its_own_profile() {
    let app = spawn_app().await;
    let (code, v) = estimate(
        &app,
        json!({"model": "gpt2", "hardware": "nvidia-a100-sxm4-80gb", "devices": 8, "tokens": 1e10,
               "sequence_length": 1024, "micro_batch_size": 64, "global_batch_tokens": 524288,
               "precision": "bf16", "sharding": "zero1", "activation_checkpointing": "none",
               "parallelism": {"data": 8}, "engine": "llmc"}),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["engine"], "llmc");
    assert_eq!(explain_rule(&v, "time.compute_efficiency")["inputs"]["engine_efficiency"], 0.75);
    let minutes = v["time"]["wall_clock_s"].as_f64().unwrap() / 60.0;
    assert!((minutes / 90.0 - 1.0).abs() < 0.15, "{minutes} minutes");
}
