//! `POST /v1/estimate/scaling`, `POST /v1/plan/scaling` and `GET /v1/scaling/fits` end to end:
//! the papers' worked examples reproduce to 3 significant digits, through the public API, with
//! the constants in `data/scaling.toml`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

/// `got` rounds to `want`, a figure printed with `digits` significant digits.
fn same_digits(got: f64, want: f64, digits: i32) -> bool {
    let scale = 10f64.powi(want.abs().log10().floor() as i32 - digits + 1);
    (got - want).abs() <= 0.5 * scale * (1.0 + 1e-9)
}

async fn estimate(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post_json("/v1/estimate/scaling", &body).await;
    assert_eq!(status, 200, "{body} -> {answer}");
    answer
}

async fn plan(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post_json("/v1/plan/scaling", &body).await;
    assert_eq!(status, 200, "{body} -> {answer}");
    answer
}

/// Published figures, each with where it is printed: (request, response path, value, digits).
#[tokio::test]
async fn the_papers_worked_examples_reproduce() {
    let app = spawn_app().await;
    let cases: &[(&str, Value, &str, f64, i32)] = &[
        // Hoffmann et al. 2022, Eq. 10 as printed: Chinchilla (70B, 1.4T) and Gopher (280B, 300B).
        ("chinchilla loss", json!({"fit": "hoffmann2022", "parameters": 70e9, "tokens": 1.4e12}), "/loss", 1.936645, 6),
        ("gopher loss", json!({"fit": "hoffmann2022", "parameters": 280e9, "tokens": 300e9}), "/loss", 1.993258, 6),
        // Eq. 4 with Eq. 10's digits at Gopher's budget, 5.76e23 FLOPs (32.2B; the unrounded
        // constants give Figure 4's 40B, see data/scaling.toml).
        (
            "hoffmann gopher budget",
            json!({"fit": "hoffmann2022", "parameters": 280e9, "tokens": 5.76e23 / 6.0 / 280e9}),
            "/compute_optimal/parameters",
            3.2190e10,
            4,
        ),
        // Muennighoff et al. 2023, Appendix B: "N_opt = 70.0 billion parameters and
        // D_opt = 1.37 trillion tokens" for Gopher's budget on C4.
        (
            "muennighoff gopher N",
            json!({"fit": "muennighoff2023", "parameters": 280e9, "tokens": 5.76e23 / 6.0 / 280e9}),
            "/compute_optimal/parameters",
            70.0e9,
            3,
        ),
        (
            "muennighoff gopher D",
            json!({"fit": "muennighoff2023", "parameters": 280e9, "tokens": 5.76e23 / 6.0 / 280e9}),
            "/compute_optimal/tokens",
            1.37e12,
            3,
        ),
        // Muennighoff et al.'s README, Figure 1 (right): 25B unique tokens, the data-constrained
        // optimum (6.34B on 242B) beats Chinchilla's suggestion (8.67B on 178B).
        (
            "muennighoff repeated 6.34B",
            json!({"fit": "muennighoff2023", "parameters": 6.34e9, "tokens": 242e9, "unique_tokens": 25e9}),
            "/loss",
            2.2256440889984477,
            6,
        ),
        (
            "muennighoff repeated 8.67B",
            json!({"fit": "muennighoff2023", "parameters": 8.67e9, "tokens": 178e9, "unique_tokens": 25e9}),
            "/loss",
            2.2269634075087867,
            6,
        ),
        // Muennighoff et al.'s README: optimal_allocation(1e22, 25e9 unique tokens), a grid search
        // printing 7.022e9 parameters on 2.373e11 tokens at loss 2.222129 (the exact optimum,
        // found here, is 7.026e9 on 2.372e11).
        (
            "muennighoff data-constrained optimum loss",
            json!({"fit": "muennighoff2023", "parameters": 1e10, "tokens": 1e22 / 6.0 / 1e10, "unique_tokens": 25e9}),
            "/compute_optimal/loss",
            2.222129,
            7,
        ),
        (
            "muennighoff data-constrained optimum tokens",
            json!({"fit": "muennighoff2023", "parameters": 1e10, "tokens": 1e22 / 6.0 / 1e10, "unique_tokens": 25e9}),
            "/compute_optimal/tokens",
            2.37e11,
            3,
        ),
        // Besiroglu et al. 2024: about 20 tokens per parameter (18.4 at Gopher's budget).
        (
            "besiroglu ratio",
            json!({"fit": "besiroglu2024", "parameters": 280e9, "tokens": 5.76e23 / 6.0 / 280e9}),
            "/compute_optimal/tokens_per_parameter",
            18.39,
            3,
        ),
        // Kaplan et al. 2020, Eq. 1.5 with Table 2.
        ("kaplan", json!({"fit": "kaplan2020", "parameters": 1e9, "tokens": 1e10}), "/loss", 2.41965, 5),
    ];
    for (name, body, path, want, digits) in cases {
        let answer = estimate(&app, body.clone()).await;
        let got = num(&answer, path);
        assert!(same_digits(got, *want, *digits), "{name}: {path} = {got}, published {want}");
    }
}

/// Sardana et al. 2024, Figure 1: "An LLM developer seeking to train a 13B model who expects
/// 2 trillion tokens of inference demand ... can reduce their total compute by 1.7e22 FLOPs
/// (17%) by instead training a 7B model on more data"; and the authors' README: a 1.947-loss
/// model with 2T inference tokens is 2.418e10 parameters on 2.657e12 tokens.
#[tokio::test]
async fn sardanas_lifetime_examples_reproduce() {
    let app = spawn_app().await;
    let a = plan(
        &app,
        json!({"fit": "sardana2024", "target": {"parameters": 13e9}, "inference_tokens": 2e12, "objective": "flops"}),
    )
    .await;
    assert!(same_digits(num(&a, "/compute_optimal_twin/parameters"), 13.0e9, 3), "{a}");
    assert!(same_digits(num(&a, "/compute_optimal_twin/tokens"), 5.765e11, 4), "{a}");
    assert!(same_digits(num(&a, "/optimal/parameters"), 6.969e9, 4), "{a}");
    assert!(same_digits(num(&a, "/optimal/tokens"), 1.248e12, 4), "{a}");
    assert!(same_digits(num(&a, "/saving_fraction"), 0.1745, 3), "{a}");
    let saved = num(&a, "/compute_optimal_twin/total_flops") - num(&a, "/optimal/total_flops");
    assert!(same_digits(saved, 1.69e22, 3), "saved {saved}");

    let b = plan(&app, json!({"fit": "sardana2024", "target": {"loss": 1.947}, "inference_tokens": 2e12})).await;
    assert!(same_digits(num(&b, "/optimal/parameters"), 2.418e10, 4), "{b}");
    assert!(same_digits(num(&b, "/optimal/tokens"), 2.657e12, 4), "{b}");
    assert!(same_digits(num(&b, "/optimal/tokens_per_parameter"), 2.657e12 / 2.418e10, 3), "{b}");
    // Without inference the optimum is the compute-optimal twin.
    let c = plan(&app, json!({"fit": "sardana2024", "target": {"loss": 1.947}})).await;
    assert!(same_digits(num(&c, "/optimal/parameters"), num(&c, "/compute_optimal_twin/parameters"), 3), "{c}");
    assert!(num(&c, "/saving_fraction").abs() < 1e-6);
}

/// Hoffmann et al.'s Table 3 (Approach 1) is not a parametric fit, so no constants reproduce it
/// exactly; the default fit (Besiroglu et al.'s replication of Approach 3) must agree with it
/// within 15% up to 1T parameters, as the replication claims it does.
#[tokio::test]
async fn the_default_fit_agrees_with_chinchillas_table_3() {
    let app = spawn_app().await;
    let table: &[(f64, f64, f64)] = &[
        (400e6, 1.92e19, 8.0e9),
        (1e9, 1.21e20, 20.2e9),
        (10e9, 1.23e22, 205.1e9),
        (67e9, 5.76e23, 1.5e12),
        (175e9, 3.85e24, 3.7e12),
        (280e9, 9.90e24, 5.9e12),
        (520e9, 3.43e25, 11.0e12),
        (1e12, 1.27e26, 21.2e12),
    ];
    for &(n, flops, tokens) in table {
        let a = estimate(&app, json!({"parameters": n, "tokens": flops / 6.0 / n})).await;
        assert_eq!(a["fit"]["id"], "besiroglu2024");
        let got_n = num(&a, "/compute_optimal/parameters");
        let got_d = num(&a, "/compute_optimal/tokens");
        assert!((got_n / n - 1.0).abs() < 0.15, "{n}: {got_n}");
        assert!((got_d / tokens - 1.0).abs() < 0.15, "{n}: {got_d}");
    }
}

/// GPT-3 from its catalog entry: 300B tokens, 1.7 tokens per parameter, far from
/// compute-optimal; each 10x of compute buys less loss and costs more per unit of loss removed.
#[tokio::test]
async fn gpt3s_next_10x_shows_diminishing_returns_in_dollars() {
    let app = spawn_app().await;
    let a = estimate(&app, json!({"model": "gpt-3-175b", "hardware": "nvidia-h100-sxm-80gb"})).await;
    assert_eq!(num(&a, "/tokens"), 300e9);
    assert!((num(&a, "/tokens_per_parameter") - 1.7).abs() < 0.1, "{a}");
    assert!(same_digits(num(&a, "/training_flops"), 6.0 * num(&a, "/parameters") * 300e9, 6));
    assert!(num(&a, "/compute_optimal/loss") < num(&a, "/loss"));
    assert!(num(&a, "/compute_optimal/parameters") < 175e9, "GPT-3 was too big for its data");
    assert!(num(&a, "/next_10x/delta_loss") < 0.0);
    let m = num(&a, "/next_10x/reducible_loss_multiplier");
    assert!(m > 0.0 && m < 1.0, "{m}");
    let this = num(&a, "/cost/usd");
    let next = num(&a, "/next_10x/cost/usd");
    assert!(next > 5.0 * this && next < 20.0 * this, "10x the FLOPs should cost about 10x: {this} -> {next}");
    let ladder = a["ladder"].as_array().unwrap();
    assert_eq!(ladder.len(), 4);
    for pair in ladder[1..].windows(2) {
        let (first, second) = (&pair[0], &pair[1]);
        assert!(num(second, "/delta_loss").abs() < num(first, "/delta_loss").abs(), "returns diminish: {pair:?}");
        assert!(num(second, "/usd_per_loss_removed") > num(first, "/usd_per_loss_removed"), "{pair:?}");
    }
    assert_eq!(num(&ladder[1], "/loss"), num(&a, "/next_10x/loss"));
    // The money side is the training engine's answer for the same run.
    let cost = &a["cost"];
    let (status, training) = app
        .post_json(
            "/v1/estimate/training",
            &json!({"model": "gpt-3-175b", "hardware": "nvidia-h100-sxm-80gb", "devices": cost["devices"], "tokens": 300e9}),
        )
        .await;
    assert_eq!(status, 200, "{training}");
    assert_eq!(num(&training, "/cost/usd"), this);
    assert_eq!(num(&training, "/time/device_hours"), num(cost, "/device_hours"));
    // The frontier is the fit's compute-optimal loss, falling with compute.
    let frontier = a["frontier"].as_array().unwrap();
    assert!(frontier.windows(2).all(|w| num(&w[1], "/loss") < num(&w[0], "/loss")));
}

/// A cost objective prices training and serving with the engines: with heavy demand the optimum
/// is smaller than the compute-optimal twin and cheaper over its lifetime.
#[tokio::test]
async fn the_cost_objective_trades_training_for_serving() {
    let app = spawn_app().await;
    let a = plan(
        &app,
        json!({"target": {"model": "llama-2-7b"}, "requests": {"count": 1e10, "input_tokens": 1000, "output_tokens": 250},
               "objective": "cost", "hardware": "nvidia-h100-sxm-80gb"}),
    )
    .await;
    assert_eq!(a["target"]["model"], "llama-2-7b");
    let optimal = num(&a, "/optimal/total_usd");
    let twin = num(&a, "/compute_optimal_twin/total_usd");
    assert!(optimal <= twin, "{a}");
    assert!(num(&a, "/saving_fraction") >= 0.0);
    assert!(num(&a, "/optimal/parameters") < num(&a, "/compute_optimal_twin/parameters"), "{a}");
    assert!(num(&a, "/optimal/inference_usd") > 0.0);
    assert!(same_digits(num(&a, "/inference_tokens"), 1e10 * 1250.0, 6));
    // Serving dollars are the inference engine's: requests x generated tokens at its output
    // price (its output rate is over prefill and decode together).
    let optimal_n = num(&a, "/optimal/parameters");
    assert!(num(&a, "/optimal/inference_usd") < num(&a, "/compute_optimal_twin/inference_usd"), "{a}");
    assert!(optimal_n > 1e9, "{a}");
    // The curve carries the dollars it was searched on; none of its points beats the optimum.
    let curve = a["curve"].as_array().unwrap();
    assert!(curve.iter().filter_map(|p| p["total_usd"].as_f64()).count() > 10, "{a}");
    assert!(curve.iter().filter_map(|p| p["total_usd"].as_f64()).all(|usd| usd >= optimal * 0.999), "{a}");
}

#[tokio::test]
async fn bad_requests_get_pointed_problems() {
    let app = spawn_app().await;
    let cases: &[(&str, Value, u16, &str)] = &[
        ("/v1/estimate/scaling", json!({"fit": "chinchila", "parameters": 1e9, "tokens": 1e10}), 404, "/fit"),
        ("/v1/estimate/scaling", json!({"model": "gpt-3-175b", "parameters": 1e9}), 400, "/parameters"),
        ("/v1/estimate/scaling", json!({"parameters": 1e9}), 400, "/tokens"),
        ("/v1/estimate/scaling", json!({"parameters": -1.0, "tokens": 1e10}), 400, "/parameters"),
        ("/v1/estimate/scaling", json!({"model": "mistral-7b-v0.1"}), 422, "/model"),
        ("/v1/estimate/scaling", json!({"model": "gpt-3-175b", "hardware": "h900"}), 404, "/hardware"),
        ("/v1/plan/scaling", json!({"target": {"loss": 1.5}}), 422, "/target/loss"),
        ("/v1/plan/scaling", json!({"target": {"loss": 2.0}, "cost": {"utilization": -0.5}}), 400, "/cost/utilization"),
        ("/v1/estimate/scaling", json!({"model": "gpt-3-175b", "cost": {"pue": 9.0}}), 400, "/cost/pue"),
        ("/v1/plan/scaling", json!({"target": {}}), 400, "/target"),
        ("/v1/plan/scaling", json!({"target": {"loss": 2.0, "model": "gpt2"}}), 400, "/target"),
        (
            "/v1/plan/scaling",
            json!({"target": {"loss": 2.0}, "inference_tokens": 1e9, "requests": {"count": 1, "input_tokens": 1, "output_tokens": 1}}),
            400,
            "/requests",
        ),
    ];
    for (path, body, status, pointer) in cases {
        let response = app.post_raw(path, "application/json", serde_json::to_vec(body).unwrap()).await;
        assert_eq!(response.status().as_u16(), *status, "{path} {body}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.unwrap();
        let pointers: Vec<&str> = problem["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["pointer"].as_str()).collect())
            .unwrap_or_else(|| problem["pointer"].as_str().into_iter().collect());
        assert!(pointers.contains(pointer), "{path} {body}: {problem}");
    }
}

#[tokio::test]
async fn the_fits_are_listed_with_their_sources() {
    let app = spawn_app().await;
    let (status, fits) = app.get_json("/v1/scaling/fits").await;
    assert_eq!(status, 200);
    let items = fits["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids[0], "besiroglu2024");
    for id in ["hoffmann2022", "kaplan2020", "muennighoff2023"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    for f in items {
        assert!(f["source"].as_str().unwrap().starts_with("https://arxiv.org/"), "{f}");
        assert!(!f["loss_measured_on"].as_str().unwrap().is_empty());
    }
    let b = items.iter().find(|f| f["id"] == "besiroglu2024").unwrap();
    assert_eq!(b["interval_95"]["alpha"], json!([0.317, 0.373]));
}

/// The CLI prints the API's answers: `hwcost estimate scaling` and `hwcost plan scaling`, by
/// flags and by `--request`, and a deployment plan file still runs as before.
#[tokio::test]
async fn the_cli_prints_the_apis_answers() {
    let app = spawn_app().await;
    let api = estimate(&app, json!({"model": "gpt-3-175b", "fit": "hoffmann2022"})).await;
    let (code, stdout, stderr) = crate::decisions::hwcost(
        &["estimate", "scaling", "--model", "gpt-3-175b", "--fit", "hoffmann2022", "--json"],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    let cli: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cli, api);
    let (_, table, _) = crate::decisions::hwcost(&["estimate", "scaling", "--model", "gpt-3-175b"], "");
    assert!(table.contains("next 10x") && table.contains("1000x"), "{table}");

    let body = json!({"fit": "sardana2024", "target": {"parameters": 13e9}, "inference_tokens": 2e12});
    let api = plan(&app, body.clone()).await;
    let (code, stdout, stderr) =
        crate::decisions::hwcost(&["plan", "scaling", "--request", "-", "--json"], &body.to_string());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), api);
    let (code, stdout, _) = crate::decisions::hwcost(
        &[
            "plan",
            "scaling",
            "--fit",
            "sardana2024",
            "--target-parameters",
            "13e9",
            "--inference-tokens",
            "2e12",
            "--json",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["optimal"], api["optimal"]);
    let (code, _, stderr) = crate::decisions::hwcost(&["plan", "scaling", "--target-loss", "1.0"], "");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("/target/loss"), "{stderr}");

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/plan-llama-70b.toml");
    let (code, _, stderr) = crate::decisions::hwcost(&["plan", example, "--json"], "");
    assert_eq!(code, 0, "{stderr}");
}

/// The README opens with GPT-3's next 10x; its figures are this answer's, rounded as printed.
#[tokio::test]
async fn the_readmes_gpt3_figures_are_the_answer() {
    let app = spawn_app().await;
    let readme = include_str!("../../README.md");
    let a = estimate(&app, json!({"model": "gpt-3-175b"})).await;
    let ladder = a["ladder"].as_array().unwrap();
    let millions = |v: f64| v / 1e6;
    let expected = [
        format!("about **${:.2} million**", millions(num(&a, "/cost/usd"))),
        format!("{} GPUs for {:.0}", num(&a, "/cost/devices"), num(&a, "/cost/wall_clock_days")),
        format!("{:.0}% MFU", num(&a, "/cost/mfu") * 100.0),
        format!("loss of {:.3} nats", num(&a, "/loss")),
        format!("would have reached {:.3}", num(&a, "/compute_optimal/loss")),
        format!(
            "({:.0}B parameters on {:.2}T tokens)",
            num(&a, "/compute_optimal/parameters") / 1e9,
            num(&a, "/compute_optimal/tokens") / 1e12
        ),
        format!("**${:.1} million**)", millions(num(&a, "/next_10x/cost/usd"))),
        format!("by **{:.3}** to {:.3}", -num(&a, "/next_10x/delta_loss"), num(&a, "/next_10x/loss")),
        format!("({:.3} of it beyond what reallocating", -num(&a, "/next_10x/delta_loss_vs_compute_optimal")),
        format!("shrinks to {:.0}%", num(&a, "/next_10x/reducible_loss_multiplier") * 100.0),
        format!("(${:.0} million) buys {:.3}", millions(num(&ladder[2], "/usd")), -num(&ladder[2], "/delta_loss")),
        format!("(${:.0} million) {:.3}", millions(num(&ladder[3], "/usd")), -num(&ladder[3], "/delta_loss")),
        format!("costs ${:.0} million", millions(num(&ladder[1], "/usd_per_loss_removed"))),
        format!("then ${:.1} billion", num(&ladder[2], "/usd_per_loss_removed") / 1e9),
        format!("then ${:.0} billion", num(&ladder[3], "/usd_per_loss_removed") / 1e9),
    ];
    let flat = readme.replace('\n', " ");
    for text in expected {
        assert!(flat.contains(&text), "README lacks {text:?}");
    }
}

/// Muennighoff et al. 2023, Section 6: the 8.7B model trained for four epochs of 44B unique
/// tokens ended "with only 0.5% higher validation loss" than on 178B unique tokens; the law
/// predicts 0.7%; at 40 epochs repetition has long stopped paying.
#[tokio::test]
async fn four_epochs_are_almost_as_good_as_new_data() {
    let app = spawn_app().await;
    let loss = |unique: f64| {
        let app = &app;
        async move {
            let a = estimate(
                app,
                json!({"fit": "muennighoff2023", "parameters": 8.7e9, "tokens": 178e9, "unique_tokens": unique}),
            )
            .await;
            num(&a, "/loss")
        }
    };
    let fresh = loss(178e9).await;
    let four = loss(44e9).await;
    assert!(same_digits(four / fresh - 1.0, 0.0069, 2), "{}", four / fresh - 1.0);
    // Forty epochs of a tenth of that data cost far more than the first four did.
    let forty = loss(178e9 / 40.0).await;
    assert!(forty - four > 5.0 * (four - fresh), "{fresh} {four} {forty}");
}

/// A target above 35B parameters serves on several devices; a loss too close to the fit's floor
/// is refused at /target rather than answered with a model of 1e19 parameters; a device with no
/// price is named at its own field.
#[tokio::test]
async fn cost_plans_serve_large_models_and_refuse_what_they_cannot_price() {
    let app = spawn_app().await;
    let a =
        plan(&app, json!({"target": {"model": "llama-2-70b"}, "inference_tokens": 1e14, "objective": "cost"})).await;
    assert!(num(&a, "/compute_optimal_twin/parameters") > 5e10, "{a}");
    assert!(num(&a, "/optimal/total_usd") <= num(&a, "/compute_optimal_twin/total_usd"), "{a}");
    assert!(num(&a, "/saving_fraction") > 0.0, "{a}");

    let (status, problem) = app.post_json("/v1/plan/scaling", &json!({"target": {"loss": 1.8173}})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/target", "{problem}");
    let (status, _) = app.post_json("/v1/plan/scaling", &json!({"fit": "kaplan2020", "target": {"loss": 100.0}})).await;
    assert_eq!(status, 422);
    // Never worse than the twin, whatever the fit.
    for fit in ["besiroglu2024", "hoffmann2022", "kaplan2020", "muennighoff2023"] {
        for loss in [1.9, 2.2, 3.0] {
            let (status, a) = app
                .post_json("/v1/plan/scaling", &json!({"fit": fit, "target": {"loss": loss}, "inference_tokens": 1e12}))
                .await;
            if status == 200 {
                assert!(num(&a, "/saving_fraction") >= 0.0, "{fit} {loss}: {a}");
            } else {
                assert_eq!(status, 422, "{fit} {loss}: {a}");
            }
        }
    }
}

/// Muennighoff et al.'s law is continuous in the unique data: a model larger than its unique
/// data supports is penalised at one epoch too (U_N = min(N_opt(U_D), N)).
#[tokio::test]
async fn the_repeated_data_law_is_continuous_at_one_epoch() {
    let app = spawn_app().await;
    let loss = |unique: f64| {
        let app = &app;
        async move {
            num(
                &estimate(
                    app,
                    json!({"fit": "muennighoff2023", "parameters": 70e9, "tokens": 1e11, "unique_tokens": unique}),
                )
                .await,
                "/loss",
            )
        }
    };
    let below = loss(0.999e11).await;
    let at = loss(1e11).await;
    let above = loss(2e11).await;
    assert!((below - at).abs() < 1e-3, "{below} {at}");
    assert_eq!(above, at, "unique data beyond the tokens trained on is not seen (U_D = min(D_C, D))");
    let plain =
        num(&estimate(&app, json!({"fit": "muennighoff2023", "parameters": 70e9, "tokens": 1e11})).await, "/loss");
    assert!(plain < at, "without unique_tokens the data is unlimited");
}
