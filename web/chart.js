// Charts drawn as SVG from API answers: lines and points on linear or log axes, stacked bars.

import { h, round, s } from "./lib.js";

export const PALETTE = ["#0b57d0", "#c2410c", "#0f766e", "#6b21a8", "#a16207", "#be185d", "#334155"];

export function scale(domain, range, log) {
  let [d0, d1] = domain;
  if (log) {
    d0 = Math.log10(d0);
    d1 = Math.log10(d1);
  }
  if (d1 === d0) d1 = d0 + 1;
  const f = (v) => range[0] + ((((log ? Math.log10(v) : v) - d0) / (d1 - d0)) * (range[1] - range[0]));
  f.ticks = () => {
    if (log) {
      // Powers of ten; then 1-2-5 and 1-9 steps until the axis has at least four ticks (a
      // one-decade axis with two labels cannot be read). Over many decades, every other power.
      const within = (steps) => {
        const out = [];
        for (let e = Math.floor(d0); e <= Math.ceil(d1); e++) {
          for (const m of steps) {
            const t = m * 10 ** e;
            if (Math.log10(t) >= d0 - 1e-9 && Math.log10(t) <= d1 + 1e-9) out.push(Number(t.toPrecision(12)));
          }
        }
        return out;
      };
      const decades = within([1]);
      if (decades.length > 8) return decades.filter((t) => Math.round(Math.log10(t)) % 2 === 0);
      for (const steps of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
        const out = within(steps);
        if (out.length >= 4) return out;
      }
      return within([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    const step = 10 ** Math.floor(Math.log10((d1 - d0) / 4 || 1));
    const nice = [1, 2, 5, 10].map((m) => m * step).find((st) => (d1 - d0) / st <= 6) || step * 10;
    const out = [];
    for (let t = Math.ceil(d0 / nice) * nice; t <= d1 + 1e-9; t += nice) out.push(t);
    return out;
  };
  return f;
}

export function extent(values, log, zero) {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!finite.length) return [log ? 1 : 0, log ? 10 : 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (zero && !log) lo = Math.min(0, lo);
  if (log) {
    lo /= 1.5;
    hi *= 1.5;
  } else {
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    hi += pad;
    if (!zero) lo -= pad;
  }
  return [lo, hi];
}

/**
 * A chart of lines and points. `series`: {name, key? (its data-series), points: [{x, y, label?,
 * tag? (short text drawn beside the point), onClick?, highlight?}], line?: bool, dash?, radius?};
 * `hlines`/`vlines`: {at, label}; axes
 * linear or log, tick labels by `xTicks`/`yTicks`; `yZero: false` fits the y axis to the data.
 */
/**
 * The drawing width in SVG units: the chart's text is 11 units high, so on a phone the chart is
 * drawn narrower (not scaled down) and its text stays about 11 px.
 */
export function drawingWidth(wide = 560) {
  const screen = typeof window === "undefined" ? wide : window.innerWidth;
  return Math.round(Math.min(wide, Math.max(300, screen - 40)));
}

/** Point labels that do not overlap one another (about 6.2 units per character, 13 high). */
function placeLabels(svg, labels, W) {
  const placed = [];
  for (const l of labels) {
    const width = l.text.length * 6.2;
    const right = l.x + 8 + width <= W - 4;
    const box = { x0: right ? l.x + 7 : l.x - 7 - width, x1: right ? l.x + 7 + width : l.x - 7, y0: l.y - 15, y1: l.y - 2 };
    if (placed.some((b) => b.x0 < box.x1 && box.x0 < b.x1 && b.y0 < box.y1 && box.y0 < b.y1)) continue;
    placed.push(box);
    svg.append(s("text", { class: "tag", x: right ? l.x + 7 : l.x - 7, y: l.y - 5, "text-anchor": right ? "start" : "end", "data-tag": l.text }, l.text));
  }
}

/** A legend entry drawn as the series is: its line (dashed or not) and its point. */
function legendSample(se, color) {
  return s(
    "svg",
    { class: "sample", width: 26, height: 12, viewBox: "0 0 26 12", "aria-hidden": "true" },
    se.line === false ? null : s("line", { x1: 1, x2: 25, y1: 6, y2: 6, stroke: color, "stroke-width": 2, "stroke-dasharray": se.dash || null }),
    s("circle", { cx: 13, cy: 6, r: 3.5, fill: "#fff", stroke: color, "stroke-width": 2 }),
  );
}

/**
 * Clickable points are one tab stop: Tab reaches the first, arrow keys move between them
 * (in x order), Enter or Space opens one.
 */
function roving(svg) {
  const points = [...svg.querySelectorAll("circle.point")].sort((a, b) => Number(a.getAttribute("cx")) - Number(b.getAttribute("cx")));
  points.forEach((p, i) => {
    p.setAttribute("tabindex", i === 0 ? "0" : "-1");
    p.addEventListener("keydown", (e) => {
      const next = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: points.length - 1 }[e.key];
      if (next === undefined || next < 0 || next >= points.length) return;
      e.preventDefault();
      p.setAttribute("tabindex", "-1");
      points[next].setAttribute("tabindex", "0");
      points[next].focus();
    });
  });
}

export function chart({ id, title, series, xLabel, yLabel, xLog, yLog, hlines = [], vlines = [], markers = [], xTicks = (t) => round(t, 2), yTicks = (t) => round(t, 2), yZero = true }) {
  const W = drawingWidth(), H = 300, L = 64, R = 16, T = 12, B = 44;
  const xs = series.flatMap((se) => se.points.map((p) => p.x)).concat(vlines.map((v) => v.at), markers.map((m) => m.x)).filter(Number.isFinite);
  const ys = series.flatMap((se) => se.points.map((p) => p.y)).concat(hlines.map((v) => v.at), markers.map((m) => m.y)).filter(Number.isFinite);
  const x = scale(extent(xs, xLog, true), [L, W - R], xLog);
  const y = scale(extent(ys, yLog, yZero), [H - B, T], yLog);
  const xd = extent(xs, xLog, true), yd = extent(ys, yLog, yZero);
  const inside = (p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog || p.x > 0) && (!yLog || p.y > 0);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": id });
  // Every x tick keeps its grid line; labels are thinned so that they do not run into one another.
  const xt = x.ticks();
  const widest = Math.max(...xt.map((t) => String(xTicks(t)).length), 1) * 6.2 + 6;
  const every = Math.max(1, Math.ceil((widest * xt.length) / (W - L - R)));
  xt.forEach((t, i) => {
    svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }));
    if (i % every === 0) svg.append(s("text", { x: x(t), y: H - B + 14, "text-anchor": "middle" }, xTicks(t)));
  });
  for (const t of y.ticks()) {
    svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: y(t), y2: y(t) }), s("text", { x: L - 4, y: y(t) + 4, "text-anchor": "end" }, yTicks(t)));
  }
  svg.append(
    s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }),
    s("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }),
    s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, xLabel),
    s("text", { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle" }, yLabel),
  );
  const clip = (v, d) => Math.min(Math.max(v, d[0]), d[1]);
  // A line at no number (an input left empty) is not drawn.
  for (const line of hlines.filter((l) => Number.isFinite(l.at))) {
    const at = y(clip(line.at, yd));
    svg.append(s("line", { x1: L, x2: W - R, y1: at, y2: at, stroke: line.color || "#b3261e", "stroke-dasharray": "6 4", "data-hline": line.label }), s("text", { x: L + 4, y: at - 4, fill: line.color || "#b3261e" }, line.label));
  }
  for (const line of vlines.filter((l) => Number.isFinite(l.at))) {
    const at = x(clip(line.at, xd));
    svg.append(s("line", { x1: at, x2: at, y1: T, y2: H - B, stroke: line.color || "#0a6b2d", "stroke-dasharray": "6 4", "data-vline": line.label }), s("text", { x: at + 4, y: T + 12, fill: line.color || "#0a6b2d" }, line.label));
  }
  const tags = [];
  series.forEach((se, i) => {
    const color = se.color || PALETTE[i % PALETTE.length];
    const points = se.points.filter(inside);
    for (const p of points) if (p.tag) tags.push({ x: x(p.x), y: y(p.y), text: p.tag });
    if (se.line !== false && points.length > 1) {
      svg.append(s("polyline", { fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": se.dash || null, points: points.map((p) => `${x(p.x)},${y(p.y)}`).join(" ") }));
    }
    for (const p of points) {
      const dot = s(
        "circle",
        {
          class: p.onClick ? "point" : null,
          cx: x(p.x),
          cy: y(p.y),
          r: p.highlight ? 6 : se.radius || 4,
          fill: p.highlight ? color : "#fff",
          stroke: color,
          "stroke-width": 2,
          tabindex: p.onClick ? 0 : null,
          role: p.onClick ? "button" : null,
          "aria-label": p.label || null,
          "data-series": se.key || se.name,
          "data-x": p.x,
          "data-y": p.y,
          onclick: p.onClick || null,
          onkeydown: p.onClick ? (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), p.onClick()) : null,
        },
        s("title", {}, p.label || `${se.name}: ${round(p.x)} → ${round(p.y)}`),
      );
      svg.append(dot);
    }
  });
  placeLabels(svg, tags, W);
  roving(svg);
  for (const m of markers) {
    if (!inside(m)) continue;
    svg.append(s("path", { d: `M${x(m.x) - 6},${y(m.y)} L${x(m.x)},${y(m.y) - 7} L${x(m.x) + 6},${y(m.y)} L${x(m.x)},${y(m.y) + 7} Z`, fill: "#1b1f24", "data-marker": m.label }, s("title", {}, m.label)), s("text", { x: x(m.x) > W * 0.6 ? x(m.x) - 8 : x(m.x) + 8, y: y(m.y) - 8, fill: "#1b1f24", "text-anchor": x(m.x) > W * 0.6 ? "end" : "start" }, m.label));
  }
  const legend = h("div", { class: "legend" }, series.map((se, i) => h("span", { "data-legend": se.key || se.name }, legendSample(se, se.color || PALETTE[i % PALETTE.length]), se.name)));
  return h("figure", { "data-figure": id }, h("figcaption", {}, title), svg, legend);
}

/** Horizontal stacked bars (one per `bars[]`), each with a capacity mark. */
export function stackedBars({ id, title, bars, parts, unit = 1e9, unitLabel = "GB" }) {
  const W = drawingWidth(), rowH = 34, L = 110, R = 56, T = 8;
  const H = T + bars.length * rowH + 30;
  const max = Math.max(...bars.map((b) => Math.max(b.capacity || 0, parts.reduce((sum, p) => sum + (b.values[p.key] || 0), 0)))) || 1;
  const x = scale([0, max * 1.05], [L, W - R], false);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": id });
  for (const t of x.ticks()) svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - 24 }), s("text", { x: x(t), y: H - 10, "text-anchor": "middle" }, `${round(t / unit, 2)} ${unitLabel}`));
  bars.forEach((bar, row) => {
    const top = T + row * rowH + 6;
    svg.append(s("text", { x: L - 6, y: top + 14, "text-anchor": "end" }, bar.label));
    let at = 0;
    parts.forEach((part, i) => {
      const value = bar.values[part.key] || 0;
      if (value <= 0) return;
      const width = Math.max(0, x(at + value) - x(at));
      svg.append(s("rect", { x: x(at), y: top, width, height: 20, fill: part.color || PALETTE[i], "data-part": part.key, "data-bytes": value }, s("title", {}, `${bar.label} ${part.label}: ${round(value / unit)} ${unitLabel}`)));
      // The part's value on it, where it has room.
      const text = String(round(value / unit, 3));
      if (width >= text.length * 6.6 + 6) svg.append(s("text", { class: "on-bar", x: x(at) + width / 2, y: top + 14, "text-anchor": "middle" }, text));
      at += value;
    });
    // The bar's total at its end.
    svg.append(s("text", { class: "bar-total", x: x(at) + 4, y: top + 14, "data-total": at }, `${round(at / unit, 3)} ${unitLabel}`));
    if (bar.capacity) {
      svg.append(s("line", { x1: x(bar.capacity), x2: x(bar.capacity), y1: top - 4, y2: top + 24, stroke: "#b3261e", "stroke-width": 2, "data-capacity": bar.capacity }, s("title", {}, `capacity ${round(bar.capacity / unit)} ${unitLabel}`)));
    }
  });
  const legend = h("div", { class: "legend" }, parts.map((p, i) => h("span", {}, h("i", { style: `background:${p.color || PALETTE[i]}` }), p.label)), bars.some((b) => b.capacity) ? h("span", {}, h("i", { style: "background:#b3261e" }), "usable capacity") : null);
  return h("figure", { "data-figure": id }, h("figcaption", {}, title), svg, legend);
}

