// The dashboard in Chromium: disaggregated prefill and decode in the serving and check views
// (web/views/disaggregated.js).

import assert from "node:assert/strict";
import { api, cardValue, ok, page, pct, ready, shot, sig, test, text } from "../harness.mjs";

const ms = (x) => `${sig(x)} ms`;

await test("serving disaggregated: the pool cards and the KV transfer are the API's answer", async () => {
  const q = "rate=2&requests=100&input_tokens=2000&output_tokens=100&prefill_devices=1&decode_devices=2&prefill_hardware=nvidia-h200-sxm-141gb&kv_network=roce-400g";
  const p = await page(`/?view=serving&${q}`);
  // The six fields sit in one fieldset of the form; the network list is the API's.
  const grouped = await p.locator('fieldset[data-fieldset="disaggregation"] :is(input, select)').evaluateAll((els) => els.map((e) => e.name));
  assert.deepEqual(grouped, ["prefill_pool", "prefill_devices", "decode_devices", "prefill_hardware", "decode_hardware", "kv_network"]);
  const networks = (await ok("GET", "/v1/networks?limit=200")).items.map((n) => n.id);
  const listed = await p.locator("#f-kv_network option").evaluateAll((els) => els.map((e) => e.value));
  assert.deepEqual(listed, ["", ...networks]);

  const answer = await ok("POST", "/v1/estimate/serving", {
    model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm",
    workload: { arrival: "poisson", requests_per_s: 2, requests: 100, input_tokens: 2000, output_tokens: 100 },
    slo: { ttft_ms: 2000, tpot_ms: 50 }, detail: { timeline: true, histograms: true },
    disaggregation: { prefill: { hardware: "nvidia-h200-sxm-141gb", devices: 1 }, decode: { devices: 2 }, network: "roce-400g" },
  });
  const d = answer.disaggregation;
  assert.ok(d, "the answer has a disaggregation section");
  const card = (metric) => p.locator(`[data-section="disaggregation"] [data-metric="${metric}"] .value`).first().innerText();
  const e2e = answer.e2e_ms.mean;
  for (const [name, pool] of [["prefill", d.prefill], ["decode", d.decode]]) {
    const layout = await card(`disagg_${name}_layout`);
    assert.ok(layout.startsWith(`${pool.devices} × ${pool.hardware}: ${pool.replicas} replica`), `${name}: ${layout}`);
    assert.ok(layout.includes(`tensor ${pool.parallelism.tensor}`), layout);
    assert.equal(await card(`disagg_${name}_rate`), `${sig(pool.requests_per_s)} req/s · ${sig(pool.tokens_per_s_per_device)} ${pool.tokens} tok/s per device`);
    assert.equal(await card(`disagg_${name}_utilization`), pct(pool.utilization));
    assert.equal(await card(`disagg_${name}_latency_ms`), `${ms(pool.latency_ms)} (${pct(pool.latency_ms / e2e)} of E2E mean)`);
  }
  assert.equal(d.prefill.hardware, "nvidia-h200-sxm-141gb");
  assert.equal(d.decode.devices, 2);
  const t = d.kv_transfer;
  assert.equal(await card("disagg_kv_bytes"), `${sig(t.bytes_per_request / 1e6)} MB`);
  assert.equal(await card("disagg_kv_ms"), `p50 ${ms(t.ms.p50)} · p90 ${ms(t.ms.p90)} (${pct(t.ms.mean / e2e)} of E2E mean)`);
  assert.equal(await card("disagg_kv_path"), t.on_fabric ? "the devices' own fabric (one NVLink domain)" : `network ${t.network}`);
  assert.equal(t.on_fabric, false, "two device kinds: the KV cache crosses the network");
  assert.equal(t.network, "roce-400g");
  assert.equal(await card("disagg_output_per_device"), sig(d.output_tokens_per_s_per_device));
  // The page's own answer carried the same pools (its request had the same fields).
  assert.equal(await p.locator(`[data-section="disaggregation"] h3`).innerText(), `Disaggregated: ${d.prefill.devices} prefill + ${d.decode.devices} decode devices`);

  // A number opens its rule, with the API's value.
  await p.click('[data-metric="disagg_kv_ms"] button.num');
  assert.equal(await p.locator("#explain-body strong").first().innerText(), "serving.disaggregated.kv_transfer_s");
  const rule = answer.explain.find((e) => e.rule === "serving.disaggregated.kv_transfer_s");
  assert.equal(await p.locator("#explain-body .explain-value").innerText(), sig(rule.value, 4));
  await p.click("#explain-close");
  await p.click('[data-metric="disagg_prefill_latency_ms"] button.num');
  assert.equal(await p.locator("#explain-body strong").first().innerText(), "serving.disaggregated.prefill_latency_s");
  await p.click("#explain-close");

  // At a phone's width, for the screenshot: no sideways scroll.
  await p.setViewportSize({ width: 390, height: 844 });
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 391, `the serving view is ${width} px wide at 390`);
  await p.locator('[data-section="disaggregation"]').scrollIntoViewIfNeeded();
  await p.locator('[data-section="disaggregation"]').screenshot({ path: `${process.env.SHOTS || "screenshots"}/disaggregated-390.png` });
  await p.locator('fieldset[data-fieldset="disaggregation"]').screenshot({ path: `${process.env.SHOTS || "screenshots"}/disaggregated-form-390.png` });

  // Without the fields, no section and no disaggregation in the request.
  const plain = await page("/?view=serving&rate=2&requests=100");
  assert.equal(await plain.locator('[data-section="disaggregation"]').count(), 0);
  return p;
});

await test("check disaggregated: the fieldset adds the pools to the plan, and the verdict, capacity, pools and transfer are POST /v1/check's", async () => {
  const plan = {
    inference: { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", weights: "fp8", engine: "vllm", input_tokens: 2000, output_tokens: 200 },
    requirements: { max_ttft_ms: 1000, max_tpot_ms: 50, forecast_requests_per_s: 5 },
  };
  const disaggregation = { prefill: { hardware: "nvidia-h200-sxm-141gb", devices: 1 }, decode: { devices: 2 }, network: "roce-400g" };
  const fields = "prefill_devices=1&decode_devices=2&prefill_hardware=nvidia-h200-sxm-141gb&kv_network=roce-400g";
  const p = await page(`/?view=check&syntax=json&plan=${encodeURIComponent(JSON.stringify(plan, null, 2))}&${fields}`, { allowHttpErrors: true });
  // The serving view's six fields, in one fieldset of the check form.
  const grouped = await p.locator('fieldset[data-fieldset="disaggregation"] :is(input, select)').evaluateAll((els) => els.map((e) => e.name));
  assert.deepEqual(grouped, ["prefill_pool", "prefill_devices", "decode_devices", "prefill_hardware", "decode_hardware", "kv_network"]);
  // No "left empty" note: the empty decode device says what empty means.
  assert.equal(await p.locator("[data-unassumed]").count(), 0);

  const report = await ok("POST", "/v1/check", { ...plan, disaggregation });
  const load = report.under_load;
  const d = load.disaggregation;
  assert.ok(d, "the check's under_load has the pools");
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  assert.equal(await text(p, "#results [data-verdict]"), `${report.verdict} ${report.summary}`);
  const statuses = await p.locator("[data-table=check] tbody td[data-key=status]").evaluateAll((tds) => tds.map((td) => td.innerText));
  assert.deepEqual(statuses, report.rules.map((r) => r.status));
  assert.equal(await p.locator("#results [data-under-load]").getAttribute("data-under-load"), load.holds ? "holds" : "does-not-hold");
  assert.equal(await cardValue(p, "capacity"), `${sig(load.capacity_requests_per_s, 4)} req/s`);
  // The pair is not one pool: the capacity differs from the same plan without disaggregation.
  const single = await ok("POST", "/v1/check", plan);
  assert.equal(single.under_load.disaggregation, undefined);
  assert.notEqual(single.under_load.capacity_requests_per_s, load.capacity_requests_per_s);

  const card = (metric) => p.locator(`[data-section="disaggregation"] [data-metric="${metric}"] .value`).first().innerText();
  const e2e = load.e2e_ms.mean;
  assert.equal(await p.locator(`[data-section="disaggregation"] h3`).innerText(), `Disaggregated: ${d.prefill.devices} prefill + ${d.decode.devices} decode devices`);
  for (const [name, pool] of [["prefill", d.prefill], ["decode", d.decode]]) {
    assert.ok((await card(`disagg_${name}_layout`)).startsWith(`${pool.devices} × ${pool.hardware}: ${pool.replicas} replica`));
    assert.equal(await card(`disagg_${name}_rate`), `${sig(pool.requests_per_s)} req/s · ${sig(pool.tokens_per_s_per_device)} ${pool.tokens} tok/s per device`);
    assert.equal(await card(`disagg_${name}_utilization`), pct(pool.utilization));
    assert.equal(await card(`disagg_${name}_latency_ms`), `${ms(pool.latency_ms)} (${pct(pool.latency_ms / e2e)} of E2E mean)`);
  }
  assert.equal(d.prefill.hardware, "nvidia-h200-sxm-141gb");
  const t = d.kv_transfer;
  assert.equal(t.network, "roce-400g");
  assert.equal(await card("disagg_kv_bytes"), `${sig(t.bytes_per_request / 1e6)} MB`);
  assert.equal(await card("disagg_kv_ms"), `p50 ${ms(t.ms.p50)} · p90 ${ms(t.ms.p90)} (${pct(t.ms.mean / e2e)} of E2E mean)`);
  assert.equal(await card("disagg_kv_path"), `network ${t.network}`);
  // A check carries no explanations: its numbers are plain, not buttons that explain nothing.
  assert.equal(await p.locator('[data-section="disaggregation"] button.num').count(), 0);
  await shot(p, "check-disaggregated");

  // The same plan in TOML: the fieldset's tables are appended, the answer is the same.
  const toml = `[inference]\nmodel = "llama-3.1-8b"\nhardware = "nvidia-h100-sxm-80gb"\nweights = "fp8"\nengine = "vllm"\ninput_tokens = 2000\noutput_tokens = 200\n\n[requirements]\nmax_ttft_ms = 1000\nmax_tpot_ms = 50\nforecast_requests_per_s = 5\n`;
  await p.selectOption("#f-syntax", "toml");
  await p.fill("#f-plan", toml);
  await p.click("button.run");
  await ready(p);
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  assert.equal(await cardValue(p, "capacity"), `${sig(load.capacity_requests_per_s, 4)} req/s`);
  assert.equal(await card("disagg_kv_bytes"), `${sig(t.bytes_per_request / 1e6)} MB`);
  assert.equal(await card("disagg_decode_utilization"), pct(d.decode.utilization));

  // A pool refused: the problem names the fieldset's field, at the API's pointer.
  await p.fill("#f-prefill_devices", "0");
  await p.click("button.run");
  await ready(p);
  const bad = await api("POST", "/v1/check", { ...plan, disaggregation: { ...disaggregation, prefill: { ...disaggregation.prefill, devices: 0 } } });
  assert.ok(bad.status >= 400 && bad.status < 500, `${bad.status}`);
  const pointer = bad.json.errors[0].pointer;
  assert.equal(pointer, "/disaggregation/prefill/devices");
  assert.equal(await p.locator(`#results .error li[data-pointer="${pointer}"]`).getAttribute("data-field"), "prefill_devices");

  // Every field emptied: the plan is sent as pasted, one pool, no section.
  for (const name of ["prefill_devices", "decode_devices"]) await p.fill(`#f-${name}`, "");
  for (const name of ["prefill_hardware", "kv_network"]) await p.selectOption(`#f-${name}`, "");
  await p.click("button.run");
  await ready(p);
  assert.equal(await p.locator('[data-section="disaggregation"]').count(), 0);
  assert.equal(await cardValue(p, "capacity"), `${sig(single.under_load.capacity_requests_per_s, 4)} req/s`);
  return p;
});

await test("serving disaggregated, decode only: no prefill pool in the request, and the decode pool and transfer are POST /v1/estimate/serving's", async () => {
  const q = "rate=4&requests=100&input_tokens=2000&output_tokens=100&prefill_pool=none&prefill_devices=3&decode_devices=2&kv_network=roce-400g";
  const p = await page(`/?view=serving&${q}`);
  // Decode only: the prefill pool's fields are greyed out and not sent (3 prefill devices
  // in the URL change nothing).
  assert.equal(await p.locator("#f-prefill_pool").inputValue(), "none");
  assert.equal(await p.locator("#f-prefill_devices").isDisabled(), true);
  assert.equal(await p.locator("#f-prefill_hardware").isDisabled(), true);
  assert.equal(await p.locator("#f-decode_devices").isDisabled(), false);

  const request = {
    model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", engine: "vllm",
    workload: { arrival: "poisson", requests_per_s: 4, requests: 100, input_tokens: 2000, output_tokens: 100 },
    slo: { ttft_ms: 2000, tpot_ms: 50 }, detail: { timeline: true, histograms: true },
    disaggregation: { decode: { devices: 2 }, network: "roce-400g" },
  };
  const answer = await ok("POST", "/v1/estimate/serving", request);
  const d = answer.disaggregation;
  assert.ok(d && d.decode, "the answer has a decode pool");
  assert.equal(d.prefill ?? null, null, "decode only: no prefill pool in the answer");
  // The page asked the same: with a prefill pool of 3 the answer would differ.
  const fed = await ok("POST", "/v1/estimate/serving", { ...request, disaggregation: { ...request.disaggregation, prefill: { devices: 3 } } });
  assert.ok(fed.disaggregation.prefill, "the fed answer has a prefill pool");
  assert.notEqual(fed.disaggregation.output_tokens_per_s_per_device, d.output_tokens_per_s_per_device);

  const section = p.locator('[data-section="disaggregation"]');
  assert.equal(await section.locator("h3").innerText(), `Disaggregated: ${d.decode.devices} decode devices fed by an unlimited prefill side`);
  assert.equal(await section.locator('[data-pool="prefill"]').count(), 0, "no prefill cards");
  const card = (metric) => section.locator(`[data-metric="${metric}"] .value`).first().innerText();
  const e2e = answer.e2e_ms.mean;
  const pool = d.decode;
  assert.ok((await card("disagg_decode_layout")).startsWith(`${pool.devices} × ${pool.hardware}: ${pool.replicas} replica`));
  assert.equal(await card("disagg_decode_rate"), `${sig(pool.requests_per_s)} req/s · ${sig(pool.tokens_per_s_per_device)} ${pool.tokens} tok/s per device`);
  assert.equal(await card("disagg_decode_utilization"), pct(pool.utilization));
  assert.equal(await card("disagg_decode_latency_ms"), `${ms(pool.latency_ms)} (${pct(pool.latency_ms / e2e)} of E2E mean)`);
  const t = d.kv_transfer;
  assert.equal(t.network, "roce-400g");
  assert.equal(await card("disagg_kv_bytes"), `${sig(t.bytes_per_request / 1e6)} MB`);
  assert.equal(await card("disagg_kv_ms"), `p50 ${ms(t.ms.p50)} · p90 ${ms(t.ms.p90)} (${pct(t.ms.mean / e2e)} of E2E mean)`);
  assert.equal(await card("disagg_output_per_device"), sig(d.output_tokens_per_s_per_device));
  assert.ok((await section.locator(".note").innerText()).includes("no prefill pool"));
  // The highest rate within the SLO is the decode pool's own.
  const capacity = answer.max_requests_per_s_within_slo;
  assert.equal(await cardValue(p, "capacity"), capacity ? `${sig(capacity)} req/s` : "none");

  // Back to a prefill pool: its fields come back, and the pool with them.
  await p.selectOption("#f-prefill_pool", "pool");
  assert.equal(await p.locator("#f-prefill_devices").isDisabled(), false);
  await p.click("button.run");
  await ready(p);
  assert.equal(await p.locator('[data-section="disaggregation"] h3').innerText(), `Disaggregated: ${fed.disaggregation.prefill.devices} prefill + ${fed.disaggregation.decode.devices} decode devices`);
  assert.equal(await p.locator('[data-section="disaggregation"] [data-metric="disagg_output_per_device"] .value').first().innerText(), sig(fed.disaggregation.output_tokens_per_s_per_device));
  return p;
});

await test("check disaggregated, decode only: the plan gets a decode pool alone (JSON and TOML), as POST /v1/check answers it", async () => {
  const plan = {
    inference: { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", weights: "fp8", engine: "vllm", input_tokens: 2000, output_tokens: 200 },
    requirements: { max_ttft_ms: 1000, max_tpot_ms: 50, forecast_requests_per_s: 5 },
  };
  const fields = "prefill_pool=none&decode_devices=2&kv_network=roce-400g";
  const p = await page(`/?view=check&syntax=json&plan=${encodeURIComponent(JSON.stringify(plan, null, 2))}&${fields}`, { allowHttpErrors: true });
  const report = await ok("POST", "/v1/check", { ...plan, disaggregation: { decode: { devices: 2 }, network: "roce-400g" } });
  const load = report.under_load;
  const d = load.disaggregation;
  assert.ok(d && d.decode && d.prefill == null, "decode only under load");
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  assert.equal(await cardValue(p, "capacity"), `${sig(load.capacity_requests_per_s, 4)} req/s`);
  const card = (metric) => p.locator(`[data-section="disaggregation"] [data-metric="${metric}"] .value`).first().innerText();
  assert.equal(await p.locator(`[data-section="disaggregation"] h3`).innerText(), `Disaggregated: ${d.decode.devices} decode devices fed by an unlimited prefill side`);
  assert.equal(await card("disagg_decode_utilization"), pct(d.decode.utilization));
  assert.equal(await card("disagg_kv_bytes"), `${sig(d.kv_transfer.bytes_per_request / 1e6)} MB`);

  // The same plan in TOML: only [disaggregation.decode] is appended, the answer is the same.
  const toml = `[inference]\nmodel = "llama-3.1-8b"\nhardware = "nvidia-h100-sxm-80gb"\nweights = "fp8"\nengine = "vllm"\ninput_tokens = 2000\noutput_tokens = 200\n\n[requirements]\nmax_ttft_ms = 1000\nmax_tpot_ms = 50\nforecast_requests_per_s = 5\n`;
  await p.selectOption("#f-syntax", "toml");
  await p.fill("#f-plan", toml);
  await p.click("button.run");
  await ready(p);
  assert.equal(await p.locator("#results [data-verdict]").getAttribute("data-verdict"), report.verdict);
  assert.equal(await cardValue(p, "capacity"), `${sig(load.capacity_requests_per_s, 4)} req/s`);
  assert.equal(await card("disagg_decode_utilization"), pct(d.decode.utilization));
  return p;
});
