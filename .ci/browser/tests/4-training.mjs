// The dashboard in Chromium: training.

import assert from "node:assert/strict";
import { before, cardValue, ok, open, page, ready, shot, sig, test, text } from "../harness.mjs";

await test("training and fine-tuning: sweep and one-device fit", async () => {
  const p = await page("/?view=training");
  const counts = [64, 128, 256, 512, 1024];
  const runs = await Promise.all(counts.map((devices) => ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-a100-sxm4-80gb", devices, tokens: 2e12, sharding: "zero1" })));
  const rows = p.locator("[data-table=training] tbody tr");
  assert.equal(await rows.count(), counts.length);
  for (const [i, r] of runs.entries()) {
    assert.equal(await rows.nth(i).locator("td[data-key=wall_clock_days]").innerText(), sig(r.time.wall_clock_days, 4));
    assert.equal(await rows.nth(i).locator("td[data-key=device_hours]").innerText(), Math.round(r.time.device_hours).toLocaleString("en-US"));
  }
  // A table's number opens its own row's explain entry.
  await rows.nth(2).locator("td[data-key=wall_clock_days] .num").click();
  await p.locator("#explain").waitFor({ state: "visible" });
  const wall = runs[2].explain.find((e) => e.rule === "time.wall_clock");
  assert.equal(await text(p, "#explain .formula"), wall.formula);
  assert.equal(await text(p, "#explain .explain-value"), sig(wall.value, 4));
  await p.click("#explain-close");
  const days = await p.locator("[data-chart=training-days] circle").evaluateAll((c) => c.map((e) => Number(e.dataset.y)));
  assert.deepEqual(days, runs.map((r) => r.time.wall_clock_days));
  const ft = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "torchtune", method: "lora" });
  assert.equal(await p.locator("[data-verdict]").getAttribute("data-verdict"), ft.memory.fits ? "fits" : "no-fit");
  assert.equal(await cardValue(p, "max_micro_batch_size"), ft.memory.max_micro_batch_size.toLocaleString("en-US"));
  assert.equal(await cardValue(p, "ft_total_bytes"), `${sig(ft.memory.per_device.total_bytes / 1e9)} GB`);
  await shot(p, "training");
  // A full fine-tune with the HF Trainer does not fit a 4090: the page says so and names the cheapest change.
  await p.selectOption("#f-ft_engine", "hf-trainer");
  await p.selectOption("#f-ft_method", "full");
  await p.click("button.run");
  await ready(p);
  const full = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "hf-trainer", method: "full" });
  assert.equal(full.memory.fits, false);
  assert.equal(await p.locator("[data-verdict]").getAttribute("data-verdict"), "no-fit");
  assert.equal(await cardValue(p, "cheapest"), full.fit.cheapest.change);
  assert.equal(await p.locator("[data-table=finetune-changes] tbody tr").count(), full.fit.changes.length);
  return p;
});

// Issue 27, item 2: a fine-tune that does not fit has one peak. Llama 2 70B, full, torchtune's
// paged 8-bit AdamW on one RTX 4090: the card, the sentence, the chart's device bar and the
// API's does-not-fit warning all give memory.per_device.total_bytes; what would live in host
// memory (the paged optimizer states) is said apart, never added to the peak. The 7B full
// fine-tune fits with part of its paged states on the device: the device bar counts them.
await test("fine-tune: one peak on the device, the chart's parts adding up to it, host memory apart", async () => {
  const p = await page("/?view=training&ft_model=llama-2-70b&ft_method=full&device_counts=64");
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  for (const [model, url] of [["llama-2-70b", null], ["llama-2-7b", "/?view=training&ft_model=llama-2-7b&ft_method=full&device_counts=64"]]) {
    if (url) await open(p, url);
    const ft = await ok("POST", "/v1/estimate/training", { model, hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "torchtune", method: "full" });
    const m = ft.memory;
    const total = m.per_device.total_bytes;
    assert.equal(await cardValue(p, "ft_total_bytes"), `${sig(total / 1e9)} GB`);
    const parts = await p.locator('[data-figure=finetune-phases] rect:not([data-part="phase"])').evaluateAll((rs) => rs.map((r) => Number(r.dataset.bytes)));
    assert.ok(Math.abs(sum(parts) - total) < 1e3, `${model}: the device bar's parts ${sum(parts)} add up to the peak ${total}`);
    assert.match(await text(p, "[data-answer=finetune]"), new RegExp(`peak ${sig(total / 1e9)} GB of ${sig(m.capacity_bytes / 1e9)} GB usable`));
    assert.ok(m.per_device.host_bytes > 0, model);
    assert.equal(Number(await p.locator("[data-host]").getAttribute("data-host")), m.per_device.host_bytes);
    assert.match(await text(p, "[data-host]"), new RegExp(`^Not on the device, not in the peak: ${sig(m.per_device.host_bytes / 1e9)} GB in host memory`));
    if (!m.fits) {
      // The API's warning, shown in its words, names the same figure and parts that add up to it.
      const warning = ft.warnings.find((w) => w.code === "does-not-fit").message;
      assert.equal(await text(p, '[data-notes="fine-tune"] [data-code="does-not-fit"] .message'), warning);
      assert.ok(warning.startsWith(`needs ${(total / 1e9).toFixed(1)} GB per device at its peak`), warning);
      const inside = warning.slice(warning.indexOf("(") + 1, warning.indexOf(")"));
      const numbers = inside.match(/\d+\.\d/g).map(Number);
      assert.ok(Math.abs(sum(numbers) - total / 1e9) < 0.35, `${warning}: ${sum(numbers)}`);
    } else {
      assert.ok(total - m.per_device.reserved_bytes - m.per_device.context_bytes > 1e9, "paged states on the device");
    }
    // The peak opens its own explain entry, whose value is the peak.
    await p.locator('[data-metric="ft_total_bytes"] .num').click();
    await p.locator("#explain").waitFor({ state: "visible" });
    assert.equal(await text(p, "#explain strong"), "memory.total");
    assert.equal(await text(p, "#explain .formula"), ft.explain.find((e) => e.rule === "memory.total").formula);
    await p.keyboard.press("Escape");
  }
  await shot(p, "training-finetune-paged");
});

// Issue 27, item 4: the fine-tune form asks for a batch size and a sequence length, sends them,
// and shows the answer's largest batch and sequence, each opening its own explain entry.
await test("fine-tune: batch size and sequence length sent, largest batch and sequence shown", async () => {
  const p = await page("/?view=training&device_counts=64&ft_batch=2&ft_sequence=4096");
  const ft = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "torchtune", method: "lora", micro_batch_size: 2, sequence_length: 4096 });
  assert.equal(ft.micro_batch_size, 2);
  assert.equal(ft.sequence_length, 4096);
  assert.equal(await cardValue(p, "max_micro_batch_size"), ft.memory.max_micro_batch_size.toLocaleString("en-US"));
  assert.equal(await cardValue(p, "max_sequence_length"), `${ft.memory.max_sequence_length.toLocaleString("en-US")} tokens`);
  assert.equal(await text(p, '[data-metric="max_micro_batch_size"] .label'), "Largest batch at sequence 4096");
  assert.equal(await text(p, '[data-metric="max_sequence_length"] .label'), "Longest sequence at batch 2");
  for (const [metric, rule, value] of [["max_micro_batch_size", "memory.max_micro_batch_size", ft.memory.max_micro_batch_size], ["max_sequence_length", "memory.max_sequence_length", ft.memory.max_sequence_length], ["ft_capacity_bytes", "memory.capacity", ft.memory.capacity_bytes]]) {
    await p.locator(`[data-metric="${metric}"] .num`).click();
    await p.locator("#explain").waitFor({ state: "visible" });
    assert.equal(await text(p, "#explain strong"), rule);
    assert.equal(Math.round(ft.explain.find((e) => e.rule === rule).value), value);
    await p.keyboard.press("Escape");
  }
  // Left empty, the API's defaults are named under the fields' labels.
  await open(p, "/?view=training&device_counts=64&ft_batch=&ft_sequence=");
  const plain = await ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens: 1e7, engine: "torchtune", method: "lora" });
  const assumed = plain.assumptions.find((a) => a.field === "sequence_length");
  assert.ok(assumed, "the API names the sequence length it assumed");
  assert.equal(await p.getAttribute("#f-ft_sequence", "placeholder"), `${assumed.value} (assumed)`);
});

// Issue 27, "Done when": can I LoRA a 7B on one 4090 at batch 4 and sequence 2048, in at most 5
// steps from the first page, one sentence built from the API's numbers at the top.
await test("task: can I LoRA a 7B on one 4090 at batch 4 and sequence 2048, in at most 5 steps", async () => {
  const p = await page("/");
  let steps = 0;
  await p.click("#tab-training"); steps++;
  await ready(p);
  await p.selectOption("#f-ft_hardware", "nvidia-rtx-4090"); steps++;
  await p.fill("#f-ft_batch", "4"); steps++;
  await p.fill("#f-ft_sequence", "2048"); steps++;
  await p.click("button.run"); steps++;
  await ready(p);
  assert.ok(steps <= 5);
  // The view's defaults are the rest of the question: a 7B, LoRA.
  assert.equal(await p.inputValue("#f-ft_model"), "llama-2-7b");
  assert.equal(await p.inputValue("#f-ft_method"), "lora");
  const engine = await p.inputValue("#f-ft_engine");
  const tokens = Number(await p.inputValue("#f-ft_tokens"));
  const [ft, model, device] = await Promise.all([
    ok("POST", "/v1/estimate/training", { model: "llama-2-7b", hardware: "nvidia-rtx-4090", devices: 1, tokens, engine, method: "lora", micro_batch_size: 4, sequence_length: 2048 }),
    ok("GET", "/v1/models/llama-2-7b"),
    ok("GET", "/v1/hardware/nvidia-rtx-4090"),
  ]);
  const m = ft.memory;
  const host = m.per_device.host_bytes > 0 ? `; ${sig(m.per_device.host_bytes / 1e9)} GB more in host memory` : "";
  const expected = `LoRA of ${model.name} on one ${device.name} at batch 4, sequence 2048: ${m.fits ? "fits" : "does not fit"}, peak ${sig(m.per_device.total_bytes / 1e9)} GB of ${sig(m.capacity_bytes / 1e9)} GB usable on the device${host}; the largest batch at this sequence is ${m.max_micro_batch_size}, the longest sequence at this batch ${m.max_sequence_length} tokens.`;
  assert.equal(await text(p, "[data-answer=finetune]"), expected);
  assert.ok(await before(p, "[data-answer=finetune]", "[data-table=training]"), "the answer comes first");
  await shot(p, "task-lora-7b-4090");
  // The answer at a phone's width, for the screenshots.
  await p.setViewportSize({ width: 390, height: 844 });
  await p.locator("[data-answer]").scrollIntoViewIfNeeded();
  await shot(p, "task-lora-7b-4090-390");
});
