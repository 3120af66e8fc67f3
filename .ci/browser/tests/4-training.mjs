// The dashboard in Chromium: training.

import assert from "node:assert/strict";
import { cardValue, ok, page, ready, shot, sig, test, text } from "../harness.mjs";

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
