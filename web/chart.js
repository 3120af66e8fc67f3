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
      // Powers of ten; 1-2-5 steps when the axis spans less than about two decades.
      const steps = d1 - d0 < 2 ? [1, 2, 5] : [1];
      const out = [];
      for (let e = Math.floor(d0); e <= Math.ceil(d1); e++) {
        for (const m of steps) {
          const t = m * 10 ** e;
          if (Math.log10(t) >= d0 - 1e-9 && Math.log10(t) <= d1 + 1e-9) out.push(t);
        }
      }
      return out;
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
 * onClick?, highlight?}], line?: bool, dash?, radius?}; `hlines`/`vlines`: {at, label}; axes
 * linear or log, tick labels by `xTicks`/`yTicks`; `yZero: false` fits the y axis to the data.
 */
export function chart({ id, title, series, xLabel, yLabel, xLog, yLog, hlines = [], vlines = [], markers = [], xTicks = (t) => round(t, 2), yTicks = (t) => round(t, 2), yZero = true }) {
  const W = 560, H = 300, L = 64, R = 16, T = 12, B = 44;
  const xs = series.flatMap((se) => se.points.map((p) => p.x)).concat(vlines.map((v) => v.at), markers.map((m) => m.x)).filter(Number.isFinite);
  const ys = series.flatMap((se) => se.points.map((p) => p.y)).concat(hlines.map((v) => v.at), markers.map((m) => m.y)).filter(Number.isFinite);
  const x = scale(extent(xs, xLog, true), [L, W - R], xLog);
  const y = scale(extent(ys, yLog, yZero), [H - B, T], yLog);
  const xd = extent(xs, xLog, true), yd = extent(ys, yLog, yZero);
  const inside = (p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog || p.x > 0) && (!yLog || p.y > 0);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": id });
  for (const t of x.ticks()) {
    svg.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }), s("text", { x: x(t), y: H - B + 14, "text-anchor": "middle" }, xTicks(t)));
  }
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
  series.forEach((se, i) => {
    const color = se.color || PALETTE[i % PALETTE.length];
    const points = se.points.filter(inside);
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
  for (const m of markers) {
    if (!inside(m)) continue;
    svg.append(s("path", { d: `M${x(m.x) - 6},${y(m.y)} L${x(m.x)},${y(m.y) - 7} L${x(m.x) + 6},${y(m.y)} L${x(m.x)},${y(m.y) + 7} Z`, fill: "#1b1f24", "data-marker": m.label }, s("title", {}, m.label)), s("text", { x: x(m.x) > W * 0.6 ? x(m.x) - 8 : x(m.x) + 8, y: y(m.y) - 8, fill: "#1b1f24", "text-anchor": x(m.x) > W * 0.6 ? "end" : "start" }, m.label));
  }
  const legend = h("div", { class: "legend" }, series.map((se, i) => h("span", {}, h("i", { style: `background:${se.color || PALETTE[i % PALETTE.length]}` }), se.name)));
  return h("figure", { "data-figure": id }, h("figcaption", {}, title), svg, legend);
}

/** Horizontal stacked bars (one per `bars[]`), each with a capacity mark. */
export function stackedBars({ id, title, bars, parts, unit = 1e9, unitLabel = "GB" }) {
  const W = 560, rowH = 34, L = 110, R = 16, T = 8;
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
      svg.append(s("rect", { x: x(at), y: top, width: Math.max(0, x(at + value) - x(at)), height: 20, fill: part.color || PALETTE[i], "data-part": part.key, "data-bytes": value }, s("title", {}, `${bar.label} ${part.label}: ${round(value / unit)} ${unitLabel}`)));
      at += value;
    });
    if (bar.capacity) {
      svg.append(s("line", { x1: x(bar.capacity), x2: x(bar.capacity), y1: top - 4, y2: top + 24, stroke: "#b3261e", "stroke-width": 2, "data-capacity": bar.capacity }, s("title", {}, `capacity ${round(bar.capacity / unit)} ${unitLabel}`)));
    }
  });
  const legend = h("div", { class: "legend" }, parts.map((p, i) => h("span", {}, h("i", { style: `background:${p.color || PALETTE[i]}` }), p.label)), bars.some((b) => b.capacity) ? h("span", {}, h("i", { style: "background:#b3261e" }), "usable capacity") : null);
  return h("figure", { "data-figure": id }, h("figcaption", {}, title), svg, legend);
}

