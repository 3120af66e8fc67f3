// The dashboard in Chromium: scale.

import assert from "node:assert/strict";
import { api, cardValue, money, ok, page, param, pct, ready, shot, sig, signed, test, text } from "../harness.mjs";

await test("what does scale buy: loss against compute for each fit, the models marked, the next 10x in loss and dollars", async () => {
  const p = await page("/?view=scale", { allowHttpErrors: true });
  const fits = (await ok("GET", "/v1/scaling/fits")).items;
  assert.ok(fits.length >= 4, "four fits");
  assert.equal(await p.locator("#f-fit option").count(), fits.length);
  assert.equal(await p.inputValue("#f-fit"), fits.find((f) => f.default).id);
  const body = { fit: "besiroglu2024", model: "gpt-3-175b", hardware: "nvidia-h100-sxm-80gb" };
  const e = await ok("POST", "/v1/estimate/scaling", body);
  // Each fit's compute-optimal frontier, point for point as the API answers it.
  for (const f of fits) {
    const r = await ok("POST", "/v1/estimate/scaling", { ...body, fit: f.id });
    assert.ok(r.frontier.length > 5, `${f.id} has a frontier`);
    const drawn = await p.locator(`[data-chart=scale-frontier] circle[data-series="frontier ${f.id}"]`).evaluateAll((cs) => cs.map((c) => [Number(c.dataset.x), Number(c.dataset.y)]));
    assert.deepEqual(drawn, r.frontier.map((pt) => [pt.training_flops, pt.loss]), f.id);
  }
  // The chosen model: loss, tokens per parameter, twin, what the next 10x buys and costs.
  assert.equal(await cardValue(p, "scale_loss"), sig(e.loss, 4));
  assert.equal(await cardValue(p, "scale_tokens_per_parameter"), sig(e.tokens_per_parameter));
  assert.equal(await cardValue(p, "next_10x_loss"), sig(e.next_10x.loss, 4));
  assert.equal(await cardValue(p, "next_10x_delta_loss"), signed(e.next_10x.delta_loss));
  assert.equal(await cardValue(p, "next_10x_multiplier"), `${sig(e.next_10x.reducible_loss_multiplier)}×`);
  assert.ok(e.next_10x.delta_loss < 0, "ten times the compute lowers the loss");
  if (e.cost?.usd) assert.equal(await cardValue(p, "run_usd"), `${money(e.cost.usd)}, ${sig(e.cost.wall_clock_days)} days`);
  if (e.next_10x.cost?.usd) assert.equal(await cardValue(p, "next_10x_usd"), `${money(e.next_10x.cost.usd)}, ${sig(e.next_10x.cost.wall_clock_days)} days`);
  assert.match(await cardValue(p, "scale_compute_optimal"), new RegExp(`loss ${sig(e.compute_optimal.loss, 4).replace(".", "\\.")}$`));
  // The ladder: each rung's loss, the loss it gains and its dollars.
  const rungs = p.locator("[data-table=scale-ladder] tbody tr");
  assert.equal(await rungs.count(), e.ladder.length);
  for (const [i, rung] of e.ladder.entries()) {
    assert.equal(await rungs.nth(i).locator("td[data-key=compute_multiplier]").innerText(), `${rung.compute_multiplier}x`);
    assert.equal(await rungs.nth(i).locator("td[data-key=loss]").innerText(), sig(rung.loss, 4));
    assert.equal(await rungs.nth(i).locator("td[data-key=delta_loss]").innerText(), signed(rung.delta_loss));
    assert.equal(await rungs.nth(i).locator("td[data-key=usd]").innerText(), rung.usd === null ? "no price" : money(rung.usd));
  }
  // The catalog's models with published training tokens, each where the API puts it.
  const models = (await ok("GET", "/v1/models?limit=200")).items.filter((m) => m.training_tokens > 0 && /^(gpt-2|gpt-3|chinchilla|gopher|llama-\d)/.test(m.family));
  assert.ok(models.some((m) => m.id === "gpt-3-175b"));
  const points = await p.locator('[data-chart=scale-frontier] circle[data-series="models"]').evaluateAll((cs) => cs.map((c) => [Number(c.dataset.x), Number(c.dataset.y)]));
  const answers = await Promise.all(models.map((m) => api("POST", "/v1/estimate/scaling", { ...body, model: m.id })));
  const answered = answers.filter((a) => a.status === 200).map((a) => a.json);
  assert.deepEqual(points, answered.map((a) => [a.training_flops, a.loss]));
  assert.equal(await p.locator("[data-table=scale-models] tbody tr").count(), answered.length);
  const name = (await ok("GET", "/v1/models/gpt-3-175b")).name;
  assert.equal(await p.locator(`[data-chart=scale-frontier] [data-marker="${name}"]`).count(), 1);
  // Warnings and assumptions, never hidden.
  const notesOf = p.locator(`[data-notes="${name} under besiroglu2024"]`);
  assert.equal(await notesOf.locator("li[data-code]").count(), e.warnings.length);
  for (const w of e.warnings) assert.equal(await notesOf.locator(`li[data-code="${w.code}"] .message`).first().innerText(), w.message);
  assert.equal(await notesOf.locator("details.assumptions li").count(), e.assumptions.length);
  // The lifetime-optimal plan: the API's answer, or its problem with the pointer.
  const planBody = { fit: "besiroglu2024", target: { model: "llama-2-7b" }, inference_tokens: 2e12, objective: "flops", hardware: "nvidia-h100-sxm-80gb", serving_hardware: "nvidia-h100-sxm-80gb" };
  const plan = await api("POST", "/v1/plan/scaling", planBody);
  if (plan.status === 200) {
    assert.equal(await cardValue(p, "plan_saving_fraction"), pct(plan.json.saving_fraction));
    const rows = p.locator("[data-table=scale-plan] tbody tr");
    assert.equal(await rows.nth(0).locator("td[data-key=tokens_per_parameter]").innerText(), sig(plan.json.optimal.tokens_per_parameter, 4));
    assert.equal(await rows.nth(1).locator("td[data-key=tokens_per_parameter]").innerText(), sig(plan.json.compute_optimal_twin.tokens_per_parameter, 4));
    assert.equal(await p.locator("[data-notes='lifetime plan'] li[data-code]").count(), plan.json.warnings.length);
  } else {
    assert.equal(await text(p, "[data-scale-plan] .error code"), plan.json.errors[0].pointer);
  }
  await shot(p, "scale");
  // Another fit: the URL follows, the numbers are that fit's.
  await p.selectOption("#f-fit", "hoffmann2022");
  await p.click("button.run");
  await ready(p);
  assert.equal(param(p, "fit"), "hoffmann2022");
  const chinchilla = await ok("POST", "/v1/estimate/scaling", { ...body, fit: "hoffmann2022" });
  assert.equal(await cardValue(p, "scale_loss"), sig(chinchilla.loss, 4));
  assert.equal(await p.locator('[data-chart=scale-frontier] circle[data-series="ladder"]').count(), chinchilla.ladder.length);
  // A model's row makes it the chosen one.
  const other = answered.find((a) => a.model !== "gpt-3-175b");
  if (other) {
    const exact = new RegExp(`^${other.model.replace(/[.]/g, "\\.")}$`);
    await p.locator("[data-table=scale-models] tbody tr").filter({ has: p.locator("td[data-key=model]", { hasText: exact }) }).click();
    await ready(p);
    assert.equal(param(p, "model"), other.model);
    const again = await ok("POST", "/v1/estimate/scaling", { ...body, fit: "hoffmann2022", model: other.model });
    assert.equal(await cardValue(p, "scale_loss"), sig(again.loss, 4));
  }
  return p;
});
