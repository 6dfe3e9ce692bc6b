"""The explorer's page: HTML, style and script, all inline (see :mod:`gradgate.viz.explore`).

The script only displays: every number it shows is read from the JSON the page embeds,
formatted to 4 significant digits as Python's ``{:.4g}`` writes them.
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE%</title>
<style>%STYLE%</style>
</head>
<body>
<header>
<h1 id="title"></h1>
<p id="text"></p>
</header>
<nav id="controls">
<button id="prev" title="previous step (←)">◀ previous</button>
<button id="next" title="next step (→)">next ▶</button>
<input id="jump" type="range" min="1" value="1" aria-label="jump to step">
<span id="counter"></span>
<button id="to-forward" title="first forward step (Home)">forward</button>
<button id="to-backward" title="first backward step">backward</button>
<button id="fit" title="fit the graph to its box">fit graph</button>
</nav>
<main>
<section id="graph" aria-label="the computation graph (wheel: zoom, drag: pan)"></section>
<section id="panel" aria-live="polite"></section>
</main>
<script id="data" type="application/json">%DATA%</script>
<script>%SCRIPT%</script>
</body>
</html>
"""

STYLE = """
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { font-family: system-ui, sans-serif; color: #222; display: flex; flex-direction: column;
       overflow: hidden; }
header { padding: 8px 16px 4px 16px; }
h1 { font-size: 18px; margin: 0 0 4px 0; }
#text { margin: 0; font-size: 13px; color: #444; max-width: 100%; }
#controls { display: flex; gap: 8px; align-items: center; padding: 6px 16px;
            border-bottom: 1px solid #ddd; flex-wrap: wrap; }
#controls button { font: inherit; font-size: 13px; padding: 3px 10px; cursor: pointer; }
#jump { flex: 1 1 200px; min-width: 120px; }
#counter { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px;
           white-space: nowrap; }
main { flex: 1 1 auto; display: flex; min-height: 0; }
#graph { flex: 1 1 52%; min-width: 0; position: relative; overflow: hidden;
         border-right: 1px solid #ddd; cursor: grab; }
#graph.dragging { cursor: grabbing; }
#graph svg { display: block; width: 100%; height: 100%; }
#panel { flex: 1 1 48%; min-width: 0; overflow: auto; padding: 10px 16px; font-size: 13px; }
#panel h2 { font-size: 15px; margin: 0 0 6px 0; }
#panel .formula, #panel .label { font-family: "DejaVu Sans Mono", Menlo, Consolas,
                                 monospace; }
#panel .formula { background: #f4f6f9; padding: 4px 8px; border-radius: 4px;
                  display: inline-block; margin: 2px 0 6px 0; white-space: pre; }
#panel .phase { font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em;
                color: #777; }
#panel .input { border-top: 1px solid #eee; padding-top: 6px; margin-top: 6px; }
.row { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: flex-start;
       margin: 4px 0; }
.item { display: flex; flex-direction: column; gap: 2px; align-items: flex-start; }
.item > .label { font-size: 11px; color: #555; white-space: nowrap; }
.op { align-self: center; font-size: 16px; font-weight: bold; color: #555; }
table.array { border-collapse: collapse; font-family: "DejaVu Sans Mono", Menlo, Consolas,
              monospace; font-size: 12px; }
table.array td { border: 1px solid #d0d7e2; padding: 1px 5px; text-align: right;
                 white-space: nowrap; background: #fff; }
table.array td.head { background: #eef3fa; color: #333; }
table.array td.corner { border: none; background: none; }
.summary { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.note { color: #666; font-size: 12px; margin: 4px 0; }
.pass { color: #2b8a3e; }
.gradgate-graph g.node rect { transition: stroke-width 0.15s; }
.gradgate-graph g.node.current rect { stroke: #d6336c; stroke-width: 4; }
.gradgate-graph g.node.source rect { stroke: #1971c2; stroke-width: 3; }
.gradgate-graph g.node.pending { opacity: 0.45; }
.gradgate-graph g.edge.active path { stroke: #d6336c; stroke-width: 3; }
"""

SCRIPT = r"""
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const steps = DATA.steps;
let at = 0;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// a number as Python's "{:.4g}" writes it
function fmt(x) {
  if (typeof x === "string") return x;          // nan, inf, as Python wrote them
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
  if (x === 0) return "0";
  let exponent = Number(x.toExponential(3).split("e")[1]);
  if (exponent < -4 || exponent >= 4) {
    let [mantissa, e] = x.toExponential(3).split("e");
    mantissa = mantissa.replace(/\.?0+$/, "");
    const sign = e[0] === "-" ? "-" : "+";
    e = e.replace(/^[-+]/, "");
    return mantissa + "e" + sign + (e.length < 2 ? "0" + e : e);
  }
  let text = x.toPrecision(4);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text;
}

function shapeText(shape) {
  return "(" + shape.join(", ") + (shape.length === 1 ? "," : "") + ")";
}

// an array recorded in Python: a grid of its numbers, or its shape and norm when big
function array(a, what, column) {
  if (a === null || a === undefined) return el("span", {"class": "summary"}, "none");
  if (a.v === undefined) {
    return el("span", {"class": "summary", "data-what": what, "data-norm": String(a.norm)},
              shapeText(a.shape) + " array, ‖·‖ = " + fmt(a.norm));
  }
  const t = el("table", {"class": "array", "data-what": what});
  let rows;
  if (a.shape.length === 0) rows = [[a.v]];
  else if (a.shape.length === 1) rows = column ? a.v.map(x => [x]) : [a.v];
  else rows = flatRows(a.v);
  for (const r of rows) t.append(el("tr", {}, ...r.map(x => el("td", {}, fmt(x)))));
  return t;
}

function flatRows(v) {
  if (!Array.isArray(v[0])) return [v];
  return v.flatMap(flatRows);
}

function item(label, content) {
  return el("div", {"class": "item"}, el("span", {"class": "label"}, label), content);
}

function op(text) { return el("span", {"class": "op"}, text); }

// dE/dW = dE/ds ⊗ o: dE/ds down the side, o along the top, the grid their products
function outer(o, what) {
  const t = el("table", {"class": "array", "data-what": what});
  const head = el("tr", {}, el("td", {"class": "corner"}, ""));
  for (const x of o.top.v) head.append(el("td", {"class": "head"}, fmt(x)));
  t.append(head);
  o.grid.v.forEach((row, j) => {
    const tr = el("tr", {}, el("td", {"class": "head"}, fmt(o.left.v[j])));
    for (const x of row) tr.append(el("td", {}, fmt(x)));
    t.append(tr);
  });
  return item("dE/d" + o.left_name + " ⊗ " + o.top_name + "  (rows: dE/d" + o.left_name +
              ", columns: " + o.top_name + ")", t);
}

function showForward(s, panel) {
  panel.append(el("div", {"class": "phase"}, "forward"),
               el("h2", {}, s.gate + " computes " + s.tensor),
               el("div", {"class": "formula"}, s.formula));
  const row = el("div", {"class": "row"});
  for (const i of s.inputs) row.append(item(i.name + " " + shapeText(i.value.shape),
                                            array(i.value, "in:" + i.name)));
  row.append(op("→"), item(s.tensor + " " + shapeText(s.value.shape), array(s.value, "out")));
  panel.append(row);
}

function showBackward(s, panel) {
  panel.append(el("div", {"class": "phase"}, "backward · trace step " + s.index),
               el("h2", {}, s.gate + " → " + s.tensor + ": backward"),
               el("div", {"class": "formula"}, s.formula));
  const seed = s.root ? " (the seed dE/dE = 1: backward starts here)" : "";
  panel.append(el("div", {"class": "row"},
                  item("upstream g = dE/d" + s.tensor + seed, array(s.g, "g"))));
  for (const i of s.inputs) {
    const box = el("div", {"class": "input"});
    box.append(el("div", {"class": "formula"}, i.rule));
    if (i.returned === null) {
      box.append(el("div", {"class": "note"}, "no gradient: " + i.name +
                    " does not require one"));
      panel.append(box);
      continue;
    }
    const row = el("div", {"class": "row"});
    if (i.J) row.append(item("J = d" + s.tensor + "/d" + i.name, array(i.J, "J:" + i.name)));
    else if (i.JTg) row.append(el("span", {"class": "note"}, "J is too big to show"));
    if (i.JTg) row.append(item("Jᵀ g", array(i.JTg, "JTg:" + i.name)));
    row.append(item("backward returned", array(i.returned, "returned:" + i.name)));
    if (i.fd) row.append(item("finite differences", array(i.fd, "fd:" + i.name)));
    box.append(row);
    if (i.outer) box.append(el("div", {"class": "row"}, outer(i.outer, "outer:" + i.name)));
    panel.append(box);
  }
}

function showSum(s, panel) {
  panel.append(el("div", {"class": "phase"}, "backward · trace step " + s.index),
               el("h2", {}, "Σ fan-out at " + s.tensor + ": " + s.parts.length +
                  " gradients summed"));
  const names = s.parts.map((p, k) => "J" + sub(k + 1) + "ᵀg" + sub(k + 1));
  panel.append(el("div", {"class": "formula"},
                  "dE/d" + s.tensor + " = " + names.join(" + ")));
  const row = el("div", {"class": "row"});
  s.parts.forEach((p, k) => {
    if (k) row.append(op("+"));
    row.append(item(names[k] + ": " + p.gate + " → " + p.output + " (step " + p.step + ")",
                    array(p.value, "part:" + k)));
  });
  row.append(op("="), item("dE/d" + s.tensor, array(s.total, "total")));
  panel.append(row);
}

function sub(k) { return String(k).replace(/\d/g, d => "₀₁₂₃₄₅₆₇₈₉"[d]); }

function showLeaf(s, panel) {
  panel.append(el("div", {"class": "phase"}, "backward · trace step " + s.index),
               el("h2", {}, "dE/d" + s.tensor + " is complete"),
               el("div", {"class": "row"}, item(s.tensor + ".grad", array(s.g, "g"))));
}

function highlight(s) {
  const svg = document.querySelector("#graph svg");
  for (const e of svg.querySelectorAll(".current, .source, .active, .pending")) {
    e.classList.remove("current", "source", "active", "pending");
  }
  const node = id => document.getElementById("g-" + id);
  if (s.kind === "forward") {  // gates not yet computed are faded
    const done = new Set(steps.slice(0, at + 1).filter(t => t.kind === "forward")
                         .map(t => t.node));
    for (const [id, n] of Object.entries(DATA.nodes)) {
      if (n.kind === "gate" && !done.has(id)) node(id).classList.add("pending");
    }
  }
  node(s.node).classList.add("current");
  for (const e of DATA.edges) {
    const into = e.target === s.node && (s.kind === "forward" || s.kind === "backward");
    const back = s.kind === "sum" && e.source === s.node;
    if (into || back) {
      document.getElementById(e.id).classList.add("active");
      node(into ? e.source : e.target).classList.add("source");
    }
  }
}

function show(k) {
  at = Math.max(0, Math.min(steps.length - 1, k));
  const s = steps[at];
  const panel = document.getElementById("panel");
  panel.replaceChildren();
  panel.dataset.kind = s.kind;
  panel.dataset.step = String(at + 1);
  ({forward: showForward, backward: showBackward, sum: showSum, leaf: showLeaf})[s.kind](
    s, panel);
  highlight(s);
  document.getElementById("counter").textContent =
    "step " + (at + 1) + " / " + steps.length + " · " + s.kind;
  document.getElementById("jump").value = String(at + 1);
  document.getElementById("prev").disabled = at === 0;
  document.getElementById("next").disabled = at === steps.length - 1;
}

// zoom (wheel) and pan (drag) by moving the picture's viewBox
let box, full;
function setBox(b) { box = b; svgEl().setAttribute("viewBox", b.join(" ")); }
function svgEl() { return document.querySelector("#graph svg"); }
function fit() { setBox(full.slice()); }

function init() {
  document.getElementById("title").textContent = DATA.title;
  document.getElementById("text").textContent = DATA.text;
  const graph = document.getElementById("graph");
  graph.innerHTML = DATA.svg;
  full = svgEl().getAttribute("viewBox").split(/[\s,]+/).map(Number);
  box = full.slice();
  graph.addEventListener("wheel", ev => {
    ev.preventDefault();
    const r = graph.getBoundingClientRect();
    const scale = Math.max(box[2] / r.width, box[3] / r.height);
    const cx = box[0] + (ev.clientX - r.left - (r.width - box[2] / scale) / 2) * scale;
    const cy = box[1] + (ev.clientY - r.top - (r.height - box[3] / scale) / 2) * scale;
    const f = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
    setBox([cx - (cx - box[0]) * f, cy - (cy - box[1]) * f, box[2] * f, box[3] * f]);
  }, {passive: false});
  let drag = null;
  graph.addEventListener("pointerdown", ev => {
    drag = [ev.clientX, ev.clientY, box.slice()];
    graph.classList.add("dragging");
  });
  window.addEventListener("pointerup", () => { drag = null; graph.classList.remove("dragging"); });
  window.addEventListener("pointermove", ev => {
    if (!drag) return;
    const r = graph.getBoundingClientRect();
    const scale = Math.max(drag[2][2] / r.width, drag[2][3] / r.height);
    setBox([drag[2][0] - (ev.clientX - drag[0]) * scale,
            drag[2][1] - (ev.clientY - drag[1]) * scale, drag[2][2], drag[2][3]]);
  });
  const jump = document.getElementById("jump");
  jump.max = String(steps.length);
  jump.addEventListener("input", () => show(Number(jump.value) - 1));
  document.getElementById("prev").addEventListener("click", () => show(at - 1));
  document.getElementById("next").addEventListener("click", () => show(at + 1));
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("to-forward").addEventListener("click", () => show(0));
  document.getElementById("to-backward").addEventListener("click", () =>
    show(steps.findIndex(s => s.kind !== "forward")));
  document.addEventListener("keydown", ev => {
    if (ev.target === jump) return;  // the slider steps by itself
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown" || ev.key === "PageDown") show(at + 1);
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp" || ev.key === "PageUp") show(at - 1);
    else if (ev.key === "Home") show(0);
    else if (ev.key === "End") show(steps.length - 1);
    else return;
    ev.preventDefault();
  });
  show(0);
}
init();
"""
