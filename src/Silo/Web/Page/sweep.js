// The live sweep page: polls the sweep API every second and redraws the Pareto plot, the loss curves and the
// candidates table as SVG and HTML, with no library. The state a browser test reads is in data attributes:
// #candidates[data-count], tr[data-id][data-status], #pareto[data-front] (ids on the front, in order),
// #loss polyline[data-id][points].
"use strict";

const sweep = document.body.dataset.sweep;
const api = `/api/sweeps/${encodeURIComponent(sweep)}`;
const svgNs = "http://www.w3.org/2000/svg";
// Loss curve colours: apart from the plot's point blue and front orange, so a selection's ring matches its curve.
const palette = ["#0c8599", "#ae3ec9", "#2b8a3e", "#c2255c", "#e67700", "#5f3dc4", "#1971c2", "#66a80f"];

const state = {
  epoch: null, revision: 0, counts: {}, total: 0, finished: false, cancelled: false,
  candidates: new Map(),          // id -> candidate JSON, in grid order
  front: { by_params: [], by_latency: [] },
  axis: "params",
  selected: [],                   // ids, in the order selected (their colour)
  losses: new Map(),              // id -> {steps, losses}
};

// ---------- polling ----------

let lastSeen = "";

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

async function poll() {
  try {
    let status = await getJson(`${api}?since=${state.revision}`);
    if (status.epoch !== state.epoch) {
      // A new coordinator numbers revisions afresh: start again from everything.
      if (state.epoch !== null && state.revision !== 0) status = await getJson(`${api}?since=0`);
      state.epoch = status.epoch;
      state.candidates.clear();
    }
    for (const c of status.candidates) state.candidates.set(c.id, c);
    Object.assign(state, { revision: status.revision, counts: status.counts, total: status.total,
      finished: status.finished, cancelled: status.cancelled });
    state.front = await getJson(`${api}/front`);
    await Promise.all(state.selected.map(refreshLoss));
    setLive(true);
    // Redraw only on change, so a tooltip under the pointer stays up between polls.
    const seen = JSON.stringify([state.epoch, state.revision, state.front, state.selected,
      [...state.losses.values()].map(l => l.steps.length)]);
    if (seen !== lastSeen) { lastSeen = seen; render(); }
  } catch (e) {
    setLive(false, e.message);
  } finally {
    setTimeout(poll, 1000);
  }
}

async function refreshLoss(id) {
  const known = state.losses.get(id);
  const c = state.candidates.get(id);
  // A finished candidate's curve no longer changes.
  if (known && c && (c.status === "completed" || c.status === "failed") && known.final) return;
  const detail = await getJson(`${api}/candidates/${encodeURIComponent(id)}`);
  state.losses.set(id, { steps: detail.loss.steps, losses: detail.loss.losses,
    final: detail.status === "completed" || detail.status === "failed" });
}

function setLive(ok, why) {
  const el = document.getElementById("state");
  el.className = "state " + (ok ? "live" : "stale");
  el.textContent = !ok ? `not answering (${why}); retrying`
    : state.cancelled ? "cancelled" : state.finished ? "finished" : "live";
}

const colourOf = id => palette[Math.max(0, state.selected.indexOf(id)) % palette.length];

function toggle(id) {
  const at = state.selected.indexOf(id);
  if (at >= 0) state.selected.splice(at, 1);
  else state.selected.push(id);
  render();
  if (at < 0) refreshLoss(id).then(render).catch(() => {});
}

// ---------- formatting ----------

const num = v => (v === null || v === undefined || v === "" ? NaN : Number(v));
const finite = v => Number.isFinite(num(v));

function fmtCount(v) {
  const a = Math.abs(v);
  const short = (x, unit) => String(+x.toPrecision(3)) + unit;
  if (a >= 1e9) return short(v / 1e9, "B");
  if (a >= 1e6) return short(v / 1e6, "M");
  if (a >= 1e3) return short(v / 1e3, "k");
  return String(+v.toPrecision(3));
}
const fmtAcc = v => (v * 100).toFixed(1) + "%";
const fmtMs = v => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtTokens = t => (t === 0 ? "none" : fmtCount(t) + " tokens");

function describe(c) {
  const cfg = c.config;
  const lines = [`${c.id}`, `remove ${cfg.remove} layers, ${cfg.strategy}`,
    `healing: ${fmtTokens(cfg.heal_tokens)}${cfg.heal_tokens ? " (" + cfg.heal_method + ")" : ""}, seed ${cfg.seed}`];
  if (finite(c.average)) lines.push(`average ${fmtAcc(c.average)} ± ${fmtAcc(num(c.average_stderr) || 0)}`);
  for (const [task, score] of Object.entries(c.scores || {})) {
    const se = c.score_stderrs?.[task];
    lines.push(`  ${task}: ${fmtAcc(score)}${finite(se) ? " ± " + fmtAcc(se) : ""}`);
  }
  if (finite(c.params)) lines.push(`${fmtCount(c.params)} parameters`);
  if (finite(c.latency_ms_per_token)) lines.push(`${fmtMs(c.latency_ms_per_token)} ms/token`
    + (c.latency ? ` (p10 ${fmtMs(c.latency.p10_ms_per_token)}, p90 ${fmtMs(c.latency.p90_ms_per_token)})` : ""));
  if (finite(c.perplexity)) lines.push(`perplexity ${num(c.perplexity).toFixed(2)}`);
  return lines.join("\n");
}

// ---------- SVG helpers ----------

function el(name, attrs = {}, parent = null, text = null) {
  const node = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

// About `count` round tick values covering [lo, hi].
function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw * 0.75);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function padded(lo, hi, fraction = 0.08) {
  if (!(hi > lo)) { const d = Math.abs(lo) * 0.1 || 1; return [lo - d, hi + d]; }
  const d = (hi - lo) * fraction;
  return [lo - d, hi + d];
}

// Axes with grid lines; returns the scale functions.
function frame(svg, { x: [x0, x1], y: [y0, y1], xLabel, yLabel, xFmt, yFmt }) {
  const box = { left: 70, right: 700, top: 16, bottom: 360 };
  const sx = v => box.left + (v - x0) / (x1 - x0) * (box.right - box.left);
  const sy = v => box.bottom - (v - y0) / (y1 - y0) * (box.bottom - box.top);
  const axis = el("g", { class: "axis" }, svg);
  for (const t of ticks(y0, y1)) {
    if (t < y0 || t > y1) continue;
    el("line", { class: "gridline", x1: box.left, x2: box.right, y1: sy(t), y2: sy(t) }, axis);
    el("text", { class: "tick", x: box.left - 8, y: sy(t) + 4, "text-anchor": "end" }, axis, yFmt(t));
  }
  for (const t of ticks(x0, x1, 6)) {
    if (t < x0 || t > x1) continue;
    el("line", { class: "gridline", x1: sx(t), x2: sx(t), y1: box.top, y2: box.bottom }, axis);
    el("text", { class: "tick", x: sx(t), y: box.bottom + 18, "text-anchor": "middle" }, axis, xFmt(t));
  }
  el("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom }, axis);
  el("line", { x1: box.left, x2: box.left, y1: box.top, y2: box.bottom }, axis);
  el("text", { class: "axis-label", x: (box.left + box.right) / 2, y: box.bottom + 44, "text-anchor": "middle" }, axis, xLabel);
  el("text", { class: "axis-label", x: -(box.top + box.bottom) / 2, y: 18, transform: "rotate(-90)", "text-anchor": "middle" }, axis, yLabel);
  return { sx, sy, box };
}

function emptyMessage(svg, text) {
  el("text", { class: "empty", x: 360, y: 200, "text-anchor": "middle" }, svg, text);
}

// ---------- Pareto plot ----------

function renderPareto() {
  const svg = document.getElementById("pareto");
  svg.replaceChildren();
  const byLatency = state.axis === "latency";
  const xOf = c => num(byLatency ? c.latency_ms_per_token : c.params);
  const done = [...state.candidates.values()].filter(c => c.status === "completed" && finite(c.average) && Number.isFinite(xOf(c)));
  const front = byLatency ? state.front.by_latency : state.front.by_params;
  const onFront = new Set(front.map(p => p.id));
  svg.dataset.points = done.length;
  svg.dataset.front = front.map(p => p.id).join(",");
  svg.dataset.axis = state.axis;
  document.getElementById("latency-note").hidden = !byLatency;
  if (done.length === 0) { emptyMessage(svg, "No completed candidates yet"); return; }

  const se = c => (finite(c.average_stderr) ? num(c.average_stderr) : 0);
  const xLo = c => (byLatency && c.latency ? num(c.latency.p10_ms_per_token) : xOf(c));
  const xHi = c => (byLatency && c.latency ? num(c.latency.p90_ms_per_token) : xOf(c));
  const xs = done.flatMap(c => [xLo(c), xHi(c)]).filter(Number.isFinite);
  const ys = done.flatMap(c => [num(c.average) - se(c), num(c.average) + se(c)]);
  const [ylo, yhi] = padded(Math.min(...ys), Math.max(...ys));
  const { sx, sy } = frame(svg, {
    x: padded(Math.min(...xs), Math.max(...xs)), y: [Math.max(0, ylo), Math.min(1, yhi) > ylo ? Math.min(1, yhi) : yhi],
    xLabel: byLatency ? "Latency (ms per token, p10–p90)" : "Parameters",
    yLabel: "Average accuracy", xFmt: byLatency ? fmtMs : fmtCount, yFmt: v => +(v * 100).toFixed(1) + "%",
  });

  const bars = el("g", {}, svg);
  for (const c of done) {
    const x = sx(xOf(c)), y = num(c.average);
    el("line", { class: "errbar", x1: x, x2: x, y1: sy(y - se(c)), y2: sy(y + se(c)) }, bars);
    for (const yy of [y - se(c), y + se(c)]) el("line", { class: "errbar", x1: x - 4, x2: x + 4, y1: sy(yy), y2: sy(yy) }, bars);
    if (byLatency && c.latency) {
      const lo = sx(num(c.latency.p10_ms_per_token)), hi = sx(num(c.latency.p90_ms_per_token));
      el("line", { class: "errbar", x1: lo, x2: hi, y1: sy(y), y2: sy(y) }, bars);
      for (const xx of [lo, hi]) el("line", { class: "errbar", x1: xx, x2: xx, y1: sy(y) - 4, y2: sy(y) + 4 }, bars);
    }
  }
  const line = front.map(p => [sx(num(byLatency ? p.latency_ms_per_token : p.params)), sy(num(p.average))])
    .sort((a, b) => a[0] - b[0]);
  if (line.length > 1) el("polyline", { class: "front-line", points: line.map(p => p.join(",")).join(" ") }, svg);

  const points = el("g", {}, svg);
  const labels = new Map();   // one label per place: candidates drawn at the same pixel share it
  for (const c of done) {
    const classes = ["point", onFront.has(c.id) ? "front" : ""].join(" ");
    if (state.selected.includes(c.id))   // a ring in the colour of its loss curve
      el("circle", { class: "ring", cx: sx(xOf(c)), cy: sy(num(c.average)), r: 11, stroke: colourOf(c.id) }, points);
    const dot = el("circle", { class: classes, cx: sx(xOf(c)), cy: sy(num(c.average)), r: onFront.has(c.id) ? 6.5 : 5.5,
      "data-id": c.id }, points);
    el("title", {}, dot, describe(c));
    dot.addEventListener("click", () => toggle(c.id));
    if (onFront.has(c.id) || state.selected.includes(c.id)) {
      const place = `${Math.round(sx(xOf(c)))},${Math.round(sy(num(c.average)))}`;
      if (!labels.has(place)) labels.set(place, { x: sx(xOf(c)), y: sy(num(c.average)), ids: [] });
      labels.get(place).ids.push(c.id);
    }
  }
  for (const { x, y, ids } of labels.values()) {
    const right = x > 560;   // near the right edge: label to the left of the point
    el("text", { class: "point-label", x: x + (right ? -13 : 13), y: y - 11, "text-anchor": right ? "end" : "start",
      "data-ids": ids.join(",") }, svg, ids.join(", "));
  }
}

// ---------- loss curves ----------

function renderLoss() {
  const svg = document.getElementById("loss");
  const legend = document.getElementById("legend");
  svg.replaceChildren();
  legend.replaceChildren();
  const curves = state.selected.map(id => ({ id, colour: colourOf(id), loss: state.losses.get(id) }))
    .filter(c => c.loss && c.loss.steps.length > 0);
  document.getElementById("loss-hint").textContent = state.selected.length === 0
    ? "select candidates in the plot or the table" : `${state.selected.length} selected`;
  if (curves.length === 0) {
    emptyMessage(svg, state.selected.length === 0 ? "Click a candidate to see its healing loss" : "No healing steps recorded for the selection");
    return;
  }
  const steps = curves.flatMap(c => c.loss.steps), losses = curves.flatMap(c => c.loss.losses).filter(Number.isFinite);
  const { sx, sy } = frame(svg, {
    x: [Math.min(0, ...steps), Math.max(...steps) || 1], y: padded(Math.min(...losses), Math.max(...losses)),
    xLabel: "Healing step", yLabel: "Training loss", xFmt: fmtCount, yFmt: v => v.toFixed(2),
  });
  for (const c of curves) {
    const pts = c.loss.steps.map((s, i) => [s, c.loss.losses[i]]).filter(p => Number.isFinite(p[1]));
    el("polyline", { class: "loss-line", stroke: c.colour, "data-id": c.id,
      points: pts.map(([s, l]) => `${sx(s).toFixed(1)},${sy(l).toFixed(1)}`).join(" ") }, svg);
    if (pts.length === 1) el("circle", { cx: sx(pts[0][0]), cy: sy(pts[0][1]), r: 3.5, fill: c.colour }, svg);
    const item = document.createElement("span");
    item.style.setProperty("--c", c.colour);
    item.textContent = c.id;
    legend.appendChild(item);
  }
}

// ---------- table and counts ----------

function renderCounts() {
  const counts = document.getElementById("counts");
  counts.replaceChildren();
  const add = (label, value) => {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.append(label);
    const b = document.createElement("b");
    b.textContent = value;
    chip.appendChild(b);
    counts.appendChild(chip);
  };
  add("candidates", state.total);
  for (const [status, n] of Object.entries(state.counts)) if (n > 0) add(status, n);
  document.getElementById("revision").textContent = `revision ${state.revision}`;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  if (cls) td.className = cls;
  if (text instanceof Node) td.appendChild(text); else td.textContent = text ?? "";
  return td;
}

function progress(c) {
  const p = c.progress;
  if (!p || c.status === "completed" || c.status === "failed" || !(p.total_steps > 0)) return "";
  const wrap = document.createElement("span");
  const bar = document.createElement("span");
  bar.className = "bar";
  const fill = document.createElement("i");
  fill.style.width = `${Math.min(100, 100 * p.step / p.total_steps).toFixed(1)}%`;
  bar.appendChild(fill);
  const text = document.createElement("span");
  text.className = "bar-text";
  text.textContent = `${p.stage} ${p.step}/${p.total_steps}` + (finite(p.loss) && p.stage === "healing" ? ` · loss ${num(p.loss).toFixed(3)}` : "");
  wrap.append(bar, text);
  return wrap;
}

function renderTable() {
  const table = document.getElementById("candidates");
  const body = table.tBodies[0];
  body.replaceChildren();
  const onFront = new Set([...state.front.by_params, ...state.front.by_latency].map(p => p.id));
  table.dataset.count = state.candidates.size;
  for (const c of state.candidates.values()) {
    const row = body.insertRow();
    row.dataset.id = c.id;
    row.dataset.status = c.status;
    if (state.selected.includes(c.id)) { row.className = "selected"; row.style.setProperty("--c", colourOf(c.id)); }
    row.title = describe(c);
    const id = cell(row, c.id, "id");
    if (onFront.has(c.id)) { const m = document.createElement("span"); m.className = "front-mark"; m.textContent = "front"; id.appendChild(m); }
    cell(row, c.config.remove);
    cell(row, c.config.strategy);
    cell(row, c.config.heal_tokens ? `${fmtTokens(c.config.heal_tokens)}, ${c.config.heal_method}` : "none");
    const pill = document.createElement("span");
    pill.className = "status " + c.status;
    pill.textContent = c.status;
    cell(row, pill);
    cell(row, c.attempts, "num");
    cell(row, progress(c));
    if (finite(c.average)) {
      const avg = document.createElement("span");
      avg.append(fmtAcc(num(c.average)));
      if (finite(c.average_stderr)) { const s = document.createElement("span"); s.className = "se"; s.textContent = ` ± ${fmtAcc(num(c.average_stderr))}`; avg.appendChild(s); }
      cell(row, avg, "num");
    } else cell(row, "", "num");
    cell(row, finite(c.params) ? fmtCount(num(c.params)) : "", "num");
    cell(row, finite(c.latency_ms_per_token) ? fmtMs(num(c.latency_ms_per_token)) : "", "num");
    row.addEventListener("click", () => toggle(c.id));
  }
}

function render() {
  renderCounts();
  renderPareto();
  renderLoss();
  renderTable();
}

for (const button of document.querySelectorAll(".switch button")) {
  button.addEventListener("click", () => {
    state.axis = button.dataset.axis;
    for (const b of document.querySelectorAll(".switch button")) b.classList.toggle("on", b === button);
    render();
  });
}

poll();
