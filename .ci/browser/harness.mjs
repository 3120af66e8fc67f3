// The browser tests' harness: the API asked directly, the page's number formatting, a Chromium
// (through playwright-core) with pages checked for console errors, and `test`. The tests
// themselves are in tests/*.mjs, one file per view or concern; dashboard.test.mjs runs them.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const BASE = process.argv[2];
export const SHOTS = process.env.SHOTS || "screenshots";
export const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(SHOTS, { recursive: true });

// ---------------------------------------------------------------- the API, asked directly

export async function api(method, path, body, contentType = "application/json") {
  const response = await fetch(BASE + path, {
    method,
    headers: body === undefined ? {} : { "content-type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const json = await response.json();
  return { status: response.status, json };
}
export const ok = async (...args) => {
  const { status, json } = await api(...args);
  assert.equal(status, 200, `${args[1]}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
};

// The page's own number formatting (web/app.js `sig`), so expected text can be derived.
export const sig = (x, d = 3) => Number(x.toPrecision(d)).toLocaleString("en-US");
// web/app.js `fmt.money`, `fmt.pct` and `signed`.
export const money = (x) => (x >= 1e9 ? `$${sig(x / 1e9)} billion` : x >= 1e6 ? `$${sig(x / 1e6)} million` : x >= 1e3 ? `$${sig(x / 1e3)} thousand` : `$${sig(x)}`);
export const pct = (x) => `${sig(x * 100, 3)}%`;
export const signed = (x) => `${x > 0 ? "+" : x < 0 ? "−" : ""}${sig(Math.abs(x))}`;

/** Every view (tab) of the page. */
export const VIEWS = ["hold", "model", "serving", "plan", "training", "scale", "check", "calibrate", "cost"];

// ---------------------------------------------------------------- harness

export const browser = await chromium.launch({
  executablePath: EXECUTABLE,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
export const results = [];
export const timings = {};

/** Pages the running test opened: checked for console errors, shot on failure, then closed. */
let opened = [];

export async function page(url, { viewport = { width: 1280, height: 900 }, allowHttpErrors = false } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  // WEB=web serves the working tree's page files instead of the binary's embedded copy (to
  // try a change to web/ without rebuilding; CI leaves it unset and tests what is served).
  if (process.env.WEB) {
    await context.route(/\/assets\/[\w/.-]+\.(js|css)(\?.*)?$/, (route) => {
      const name = new URL(route.request().url()).pathname.replace(/^\/assets\//, "");
      route.fulfill({ status: 200, contentType: name.endsWith(".js") ? "text/javascript" : "text/css", body: readFileSync(join(process.env.WEB, name), "utf8") });
    });
  }
  const p = await context.newPage();
  opened.push(p);
  p.problems = [];
  p.on("pageerror", (error) => p.problems.push(`page error: ${error.message}`));
  p.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    // A deliberate bad request is logged by Chromium as a failed resource load.
    if (allowHttpErrors && /status of 4\d\d/.test(text)) return;
    p.problems.push(`console error: ${text}`);
  });
  if (url) await open(p, url);
  return p;
}

export async function open(p, url) {
  await p.goto(BASE + url);
  await ready(p);
}

/** Waits until the view has answered (the results carry data-ready once rendered). */
export async function ready(p) {
  await p.waitForFunction(() => {
    const results = document.getElementById("results");
    return results && results.dataset.ready === "true" && !results.hasAttribute("aria-busy");
  }, null, { timeout: 30000 });
}

export async function test(name, body) {
  if (process.env.ONLY && !name.includes(process.env.ONLY)) return;
  opened = [];
  const started = Date.now();
  try {
    await body();
    for (const p of opened) assert.deepEqual(p.problems, [], "the console has errors");
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}: ${error.stack || error}`);
    for (const [i, p] of opened.entries()) {
      await p.screenshot({ path: join(SHOTS, `FAILED-${name.replace(/\W+/g, "-")}-${i}.png`), fullPage: true }).catch(() => {});
    }
  } finally {
    for (const p of opened) await p.context().close().catch(() => {});
  }
}

export const text = (p, selector) => p.locator(selector).first().innerText();
export const cardValue = (p, metric) => text(p, `[data-metric="${metric}"] .value`);
export const shot = (p, name) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
export const param = (p, name) => new URL(p.url()).searchParams.get(name);

// ---------------------------------------------------------------- the views

/** What a `[data-notes]` section shows: the verdict's reason, warnings and assumptions, as text. */
export async function shownNotes(p, label) {
  const section = p.locator(`[data-notes="${label}"]`);
  assert.equal(await section.count(), 1, `one notes section "${label}"`);
  return {
    reason: (await section.locator("[data-not-run] .reason").count()) ? await section.locator("[data-not-run] .reason").innerText() : null,
    warnings: await section.locator("li[data-code]").evaluateAll((lis) => lis.map((li) => [li.dataset.code, li.querySelector(".message").textContent])),
    assumptions: await section.locator("details.assumptions li").evaluateAll((lis) => lis.map((li) => [li.dataset.field, li.querySelector(".value").textContent, li.querySelector(".reason").textContent])),
  };
}
/** An answer's notes as the API words them, in the shape `shownNotes` reads. */
export const apiNotes = (answer) => ({
  reason: answer.verdict === "does_not_fit" ? answer.not_run.reason : null,
  warnings: (answer.warnings || []).map((w) => [w.code, w.message]),
  assumptions: (answer.assumptions || []).map((a) => [a.field, a.value, a.reason]),
});
/** `a` comes before `b` in the document. */
export const before = (p, a, b) => p.evaluate(([x, y]) => Boolean(document.querySelector(x).compareDocumentPosition(document.querySelector(y)) & Node.DOCUMENT_POSITION_FOLLOWING), [a, b]);

/** Closes the browser, writes the timings and reports; the process's exit status says it all. */
export async function finish() {
  await browser.close();
  writeFileSync(join(SHOTS, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
  const failed = results.filter((r) => !r.ok).length;
  console.log(`browser: ${results.length - failed} ok, ${failed} failed; first load ${JSON.stringify(timings)}; screenshots in ${SHOTS}`);
  return failed;
}
