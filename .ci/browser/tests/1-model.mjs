// The dashboard in Chromium: model.

import assert from "node:assert/strict";
import { before, cardValue, ok, page, param, ready, shot, sig, test, text } from "../harness.mjs";

await test("model and hardware: anatomy and memory per format are the API's", async () => {
  const p = await page("/?view=model&model=gpt-3-175b&hardware=nvidia-h100-sxm-80gb&devices=8&formats=bf16,fp8,int4");
  const anatomy = await ok("GET", "/v1/models/gpt-3-175b/parameters");
  assert.equal(await cardValue(p, "total_parameters"), `${sig(anatomy.total_parameters / 1e9, 4)} B`);
  const formats = ["bf16", "fp8", "int4"];
  const estimates = await Promise.all(formats.map((weights) => ok("POST", "/v1/estimate/inference", { model: "gpt-3-175b", hardware: "nvidia-h100-sxm-80gb", devices: 8, weights, batch_size: 8, input_tokens: 2048, output_tokens: 256 })));
  // One stacked bar per format: each part's bytes, and the capacity mark, as answered.
  const weights = await p.locator('[data-figure=memory] rect[data-part="weights_bytes"]').evaluateAll((rects) => rects.map((r) => Number(r.dataset.bytes)));
  assert.deepEqual(weights, estimates.map((e) => e.memory.per_device.weights_bytes));
  const kv = await p.locator('[data-figure=memory] rect[data-part="kv_cache_bytes"]').evaluateAll((rects) => rects.map((r) => Number(r.dataset.bytes)));
  assert.deepEqual(kv, estimates.map((e) => e.memory.per_device.kv_cache_bytes));
  const capacity = await p.locator("[data-figure=memory] [data-capacity]").evaluateAll((lines) => lines.map((l) => Number(l.dataset.capacity)));
  assert.deepEqual(capacity, estimates.map((e) => e.memory.capacity_bytes));
  const rows = p.locator("[data-table=memory-by-format] tbody tr");
  assert.equal(await rows.count(), 3);
  for (const [i, e] of estimates.entries()) {
    assert.equal(await rows.nth(i).locator("td[data-key=weights]").innerText(), e.weights);
    assert.equal(await rows.nth(i).locator("td[data-key=fits]").innerText(), e.memory.fits ? "yes" : "no");
    assert.equal(await rows.nth(i).locator("td[data-key=total_bytes]").innerText(), `${sig(e.memory.per_device.total_bytes / 1e9)} GB`);
  }
  assert.equal(await cardValue(p, "ttft_ms"), `${sig(estimates[0].latency.ttft_ms)} ms`);
  // A number opens its explain entry, with the API's formula and error band.
  await p.locator('[data-metric="weights_bytes"] .num').click();
  await p.locator("#explain").waitFor({ state: "visible" });
  const rule = estimates[0].explain.find((e) => e.rule === "memory.weights");
  assert.equal(await text(p, "#explain .formula"), rule.formula);
  assert.match(await text(p, "#explain .explain-band"), /error band|no published measurement/);
  await shot(p, "model-gpt3-175b");
  await p.keyboard.press("Escape");
  assert.equal(await p.locator("#explain").isVisible(), false);
  // The GPT-2 story: a preset changes the inputs, the URL and the numbers.
  await p.getByRole("button", { name: "GPT-2 1.5B on one RTX 4090" }).click();
  await ready(p);
  assert.equal(param(p, "model"), "gpt2-xl");
  const gpt2 = await ok("GET", "/v1/models/gpt2-xl/parameters");
  assert.equal(await cardValue(p, "total_parameters"), `${sig(gpt2.total_parameters / 1e9, 4)} B`);
  await shot(p, "model-gpt2-xl");
  return p;
});

// Issue 27, item 3: "Devices" are the devices available; each format's layout is the API's
// choice, named in the memory chart's labels, a sentence and the table (devices used of those
// available, tensor x pipeline per replica, replicas). fp8 and bf16 of GPT-3 on 8 H100 hold
// the same weight bytes per device on different layouts, which the page must say.
await test("model: each format's layout as the API chose it, out of the devices available", async () => {
  const p = await page("/?view=model&model=gpt-3-175b&hardware=nvidia-h100-sxm-80gb&devices=8&formats=bf16,fp8,int4");
  const formats = ["bf16", "fp8", "int4"];
  const estimates = await Promise.all(formats.map((weights) => ok("POST", "/v1/estimate/inference", { model: "gpt-3-175b", hardware: "nvidia-h100-sxm-80gb", devices: 8, weights, batch_size: 8, input_tokens: 2048, output_tokens: 256 })));
  // A narrower format never fits less with the same devices available (the automatic layout).
  assert.deepEqual(estimates.map((e) => e.memory.fits), [true, true, true]);
  const labels = await p.locator("[data-figure=memory] [data-layout-label]").evaluateAll((ts) => ts.map((t) => t.textContent));
  const rows = p.locator("[data-table=memory-by-format] tbody tr");
  for (const [i, e] of estimates.entries()) {
    const { tensor, pipeline, expert, data } = e.parallelism;
    const perReplica = tensor * pipeline * expert;
    assert.equal(labels[i], `TP${tensor} PP${pipeline}${expert > 1 ? ` EP${expert}` : ""} ×${data} (${perReplica * data}/8)`);
    assert.equal(await rows.nth(i).locator("td[data-key=devices_used]").innerText(), `${perReplica * data} of 8`);
    assert.equal(await rows.nth(i).locator("td[data-key=replicas]").innerText(), String(data));
    assert.match(await rows.nth(i).locator("td[data-key=split]").innerText(), new RegExp(`^${perReplica}: tensor ${tensor} × pipeline ${pipeline}`));
    assert.match(await text(p, `[data-layout-of="${e.weights}"]`), new RegExp(`${perReplica} devices? per replica \\(tensor ${tensor} × pipeline ${pipeline}.*\\), ${data} replicas?: ${perReplica * data} of 8 devices`));
  }
  // Different layouts: the page does not leave bf16 and fp8 looking like the same split.
  assert.notDeepEqual(estimates[0].parallelism, estimates[1].parallelism);
  assert.match(await text(p, "[data-layouts]"), /“Devices available” is what the API may use/);
  await shot(p, "model-layouts");
});

// Issue 27, "Deliver": compute-bound and memory-bound time per phase, per format, as the API
// returns them (compute.prefill and compute.decode), values on the bars, the bound named, every
// number opening its explain entry.
await test("model: compute-only, memory-only and communication time per phase and format", async () => {
  const p = await page("/?view=model&model=llama-3.1-70b&hardware=nvidia-h100-sxm-80gb&devices=8&formats=bf16,fp8,int4");
  const formats = ["bf16", "fp8", "int4"];
  const estimates = await Promise.all(formats.map((weights) => ok("POST", "/v1/estimate/inference", { model: "llama-3.1-70b", hardware: "nvidia-h100-sxm-80gb", devices: 8, weights, batch_size: 8, input_tokens: 2048, output_tokens: 256 })));
  for (const phase of ["prefill", "decode"]) {
    for (const e of estimates) {
      for (const part of ["compute_ms", "memory_ms", "communication_ms"]) {
        const rect = p.locator(`[data-figure=time-${phase}] rect[data-format="${e.weights}"][data-part="${part}"]`);
        assert.equal(Number(await rect.getAttribute("data-ms")), e.compute[phase][part]);
        const shown = await p.locator(`[data-figure=time-${phase}] [data-value-of="${e.weights}-${part}"]`).textContent();
        assert.match(shown, / ms$/);
      }
    }
    const bounds = await p.locator(`[data-figure=time-${phase}] [data-bound]`).evaluateAll((ts) => ts.map((t) => t.dataset.bound));
    assert.deepEqual(bounds, estimates.map((e) => e.compute[phase].bound));
  }
  const rows = p.locator("[data-table=time-by-format] tbody tr");
  assert.equal(await rows.count(), estimates.length * 2);
  for (const [i, e] of estimates.entries()) {
    for (const [j, phase] of ["prefill", "decode"].entries()) {
      const row = rows.nth(i * 2 + j);
      assert.equal(await row.locator("td[data-key=phase]").innerText(), phase);
      assert.equal(await row.locator("td[data-key=memory_ms]").innerText(), `${sig(e.compute[phase].memory_ms)} ms`);
      assert.equal(await row.locator("td[data-key=time_ms]").innerText(), `${sig(e.compute[phase].time_ms)} ms`);
      assert.equal(await row.locator("td[data-key=bound]").innerText(), e.compute[phase].bound);
    }
  }
  // A value on a bar opens the phase's explain entry (its inputs are these very times).
  await p.locator('[data-figure=time-decode] [data-value-of="int4-memory_ms"]').click();
  await p.locator("#explain").waitFor({ state: "visible" });
  const decode = estimates[2].explain.find((x) => x.rule === "time.decode_step");
  assert.equal(await text(p, "#explain .formula"), decode.formula);
  await p.keyboard.press("Escape");
  // So does a number in the table.
  await rows.nth(0).locator("td[data-key=compute_ms] .num").click();
  const prefill = estimates[0].explain.find((x) => x.rule === "time.prefill");
  assert.equal(await text(p, "#explain .formula"), prefill.formula);
  await p.keyboard.press("Escape");
  await shot(p, "model-time");
  await p.setViewportSize({ width: 390, height: 844 });
  await shot(p, "model-time-390");
});

// Issue 27, item 5: the headline cards open their own explain entries.
await test("model: largest batch and cost per million tokens open their own explain entries", async () => {
  const p = await page("/?view=model&model=llama-3.1-8b&hardware=nvidia-h100-sxm-80gb&devices=1&formats=bf16");
  const e = await ok("POST", "/v1/estimate/inference", { model: "llama-3.1-8b", hardware: "nvidia-h100-sxm-80gb", devices: 1, weights: "bf16", batch_size: 8, input_tokens: 2048, output_tokens: 256 });
  for (const [metric, rule, value] of [["max_batch_size", "memory.max_batch_size", e.memory.max_batch_size], ["usd_per_million_output_tokens", "cost.usd_per_million_output_tokens", e.cost.usd_per_million_output_tokens]]) {
    await p.locator(`[data-metric="${metric}"] .num`).click();
    await p.locator("#explain").waitFor({ state: "visible" });
    const entry = e.explain.find((x) => x.rule === rule);
    assert.ok(entry, `the answer has ${rule}`);
    assert.equal(entry.value, value);
    assert.equal(await text(p, "#explain strong"), rule);
    assert.equal(await text(p, "#explain .formula"), entry.formula);
    await p.keyboard.press("Escape");
  }
});

// Issue 27, "Done when": what GPT-3's 175B parameters weigh and where they sit, in at most 5
// steps from the first page, one sentence built from the API's numbers at the top.
await test("task: what GPT-3's 175B parameters weigh and where they sit, in at most 5 steps", async () => {
  const p = await page("/");
  let steps = 0;
  await p.click("#tab-model"); steps++;
  await ready(p);
  // The GPT-3 preset: its model on 8 × H100 (inputs carried from another view, such as 4
  // devices from "Will it hold?", would answer another question).
  await p.click("text=GPT-3 175B on 8 × H100"); steps++;
  await ready(p);
  await p.fill("#f-formats", "bf16"); steps++;
  await p.click("button.run"); steps++;
  await ready(p);
  assert.ok(steps <= 5);
  // The inputs the page ran with (defaults stay out of the URL): its form's values.
  const field = (name) => p.inputValue(`#f-${name}`);
  const devices = Number(await field("devices"));
  const hardware = await field("hardware");
  const [anatomy, e, catalogModel, device] = await Promise.all([
    ok("GET", "/v1/models/gpt-3-175b/parameters"),
    ok("POST", "/v1/estimate/inference", { model: "gpt-3-175b", hardware, devices, weights: "bf16", batch_size: Number(await field("batch_size")), input_tokens: Number(await field("input_tokens")), output_tokens: Number(await field("output_tokens")) }),
    ok("GET", "/v1/models/gpt-3-175b"),
    ok("GET", `/v1/hardware/${hardware}`),
  ]);
  const total = anatomy.total_parameters;
  const pct = (x) => `${sig(x * 100, 3)}%`;
  const where = Object.entries(anatomy.by_group).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([g, v]) => `${g} ${pct(v / total)}`).join(", ");
  const bytes = anatomy.bytes_by_format.find((f) => f.format === "bf16").total_bytes;
  const { tensor, pipeline, data } = e.parallelism;
  const expected = `${catalogModel.name}: ${sig(total / 1e9, 4)} B parameters (${where}); in bf16 they weigh ${sig(bytes / 1e9)} GB, ${sig(e.memory.per_device.weights_bytes / 1e9)} GB on each device of ${e.devices} × ${device.name} (tensor ${tensor} × pipeline ${pipeline}, ${data} replica${data === 1 ? "" : "s"}): ${e.verdict === "fits" ? "fits" : "does not fit"}.`;
  assert.equal(await text(p, "[data-answer=weigh]"), expected);
  assert.ok(await before(p, "[data-answer=weigh]", "[data-figure=memory]"), "the answer comes first");
  await shot(p, "task-gpt3-weights");
  // The answer at a phone's width, for the screenshots.
  await p.setViewportSize({ width: 390, height: 844 });
  await p.locator("[data-answer]").scrollIntoViewIfNeeded();
  await shot(p, "task-gpt3-weights-390");
});
