// The flow-matching chapter's playground: the chapter's toy velocity network, exported to
// ONNX by `examples/09_flow_matching_from_scratch` (step `playground`), runs on ONNX Runtime
// Web in this tab. The reader picks the class, the guidance, the steps, the solver and a
// time t, and watches the particles, their trajectories and the learned field, beside the
// exact field of the same points carrying the same noise. Nothing leaves the machine.
//
// Mount point: `<div class="tinycats-playground"></div>`; files: `demo/playground/`
// (`playground.json`: the toy data and the example's reference frame; the graph it names).

import { HERE, PageError, el, fetchJson, loadSession, ms, ort, say, startWidgets, supportProblem } from "./common.js";
import { exactVelocity, pointsOf } from "./flowfield.js";
import { fill as fillNoise } from "./noise.js";
import { guide, integrate, timesteps } from "./sampling.js";

const FILES = new URL("playground/", HERE);
/** Particles whose whole trajectory is drawn. */
const TRAILS = 40;
/** Arrows of each field, per side of the plane. */
const GRID = 15;
/** The fields are drawn up to this t: the exact one divides by 1 − t. */
const FIELD_T_MAX = 0.98;
/** The page opens on the plain unconditional sampler of the chapter's "Sampling". */
const DEFAULTS = { cls: null, w: 2, steps: 16, solver: "euler", t: 1 };
const SIZE = 300;

/** Reads and checks `playground.json`, then loads the graph it names. */
async function load() {
  const url = new URL("playground.json", FILES);
  const d = await fetchJson(url);
  const bad = (what) => new PageError(`${url.pathname}: ${what}; rebuild the book (\`cargo xtask book\`)`);
  if (!Array.isArray(d.points) || !Array.isArray(d.labels) || d.points.length !== 2 * d.labels.length) {
    throw bad("`points` must hold two numbers per entry of `labels`");
  }
  if (!Array.isArray(d.classes) || !Number.isInteger(d.null_class) || !(d.extent > 0) || typeof d.graph !== "string" || !Number.isInteger(d.frame?.particles)) {
    throw bad("`classes`, `null_class`, `extent`, `graph` and `frame.particles` are required");
  }
  const { session } = await loadSession(new URL(d.graph, FILES));
  return { ...d, points: Float32Array.from(d.points), session };
}

/** The network's velocity at every point of `x` (flat pairs) at time t, guided as the example. */
async function learnedVelocity(p, x, t, { cls, w }) {
  const n = x.length / 2;
  const guided = cls !== null && w !== 1.0;
  const rows = guided ? 2 * n : n;
  const input = new Float32Array(2 * rows);
  input.set(x, 0);
  if (guided) input.set(x, 2 * n);
  const classes = new BigInt64Array(rows).fill(BigInt(cls ?? p.null_class));
  if (guided) classes.fill(BigInt(p.null_class), n);
  const out = await p.session.run({
    x: new ort.Tensor("float32", input, [rows, 2]),
    t: new ort.Tensor("float32", new Float32Array(rows).fill(t), [rows]),
    class: new ort.Tensor("int64", classes, [rows]),
  });
  const v = out.velocity.data;
  return guided ? guide(v.subarray(0, 2 * n), v.subarray(2 * n), w) : v;
}

/** The exact field of the data, guided the same way (v_u from all points, v_c from the class's). */
function exactGuided(p, x, t, { cls, w }) {
  const all = p.points;
  if (cls === null) return exactVelocity(all, x, t);
  p.classPoints ??= new Map();
  if (!p.classPoints.has(cls)) p.classPoints.set(cls, pointsOf(all, p.labels, cls));
  const cond = exactVelocity(p.classPoints.get(cls), x, t);
  return w === 1.0 ? cond : guide(cond, exactVelocity(all, x, t), w);
}

/** Every state of one sampling run: the noise, then x after each step. */
async function run(x0, times, solver, velocity) {
  const states = [x0];
  await integrate(x0, times, solver, velocity, (step) => {
    states.push(step.x);
  });
  return states;
}

function gridPoints(extent) {
  const out = new Float32Array(2 * GRID * GRID);
  const step = (2 * extent) / GRID;
  for (let i = 0; i < GRID; i++) {
    for (let j = 0; j < GRID; j++) {
      out[2 * (i * GRID + j)] = -extent + (j + 0.5) * step;
      out[2 * (i * GRID + j) + 1] = extent - (i + 0.5) * step;
    }
  }
  return out;
}

/** The chapter's figures' colours: the data grey (the features darker), samples blue. */
const COLOURS = {
  data: ["#d2d2d2", "#a8a8a8"],
  arrow: "#8c8c8c",
  trail: "rgba(255, 127, 14, 0.5)",
  particle: "#1f77b4",
};

/** The speed that draws a full-length arrow: the exact field's 90th percentile at that t. */
function arrowScale(field) {
  const speeds = [];
  for (let i = 0; 2 * i < field.length; i++) speeds.push(Math.hypot(field[2 * i], field[2 * i + 1]));
  speeds.sort((a, b) => a - b);
  return Math.max(speeds[Math.floor(0.9 * (speeds.length - 1))], 1e-6);
}

/**
 * Draws one panel: the data faintly, a field (arrows as long as a cell at `fullSpeed`, the
 * same in both panels), the trails up to step k and the particles at k.
 */
function drawPanel(canvas, p, field, fullSpeed, grid, states, k) {
  const dpr = globalThis.devicePixelRatio || 1;
  const px = SIZE * dpr;
  if (canvas.width !== px || canvas.height !== px) canvas.width = canvas.height = px;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const e = p.extent;
  const X = (v) => ((v + e) / (2 * e)) * SIZE;
  const Y = (v) => ((e - v) / (2 * e)) * SIZE;
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, SIZE, SIZE);
  for (let j = 0; j < p.labels.length; j++) {
    ctx.fillStyle = COLOURS.data[p.labels[j]] ?? COLOURS.data[0];
    ctx.fillRect(X(p.points[2 * j]) - 1, Y(p.points[2 * j + 1]) - 1, 2, 2);
  }
  // Arrows: direction of the field, length growing with its speed up to most of a cell.
  const cell = SIZE / GRID;
  ctx.strokeStyle = COLOURS.arrow;
  ctx.lineWidth = 1;
  for (let i = 0; 2 * i < grid.length; i++) {
    const vx = field[2 * i];
    const vy = field[2 * i + 1];
    const speed = Math.hypot(vx, vy);
    if (!(speed > 1e-6)) continue;
    const len = cell * 0.85 * Math.min(1, speed / fullSpeed);
    const ux = vx / speed;
    const uy = -vy / speed;
    const x0 = X(grid[2 * i]);
    const y0 = Y(grid[2 * i + 1]);
    const x1 = x0 + ux * len;
    const y1 = y0 + uy * len;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.lineTo(x1 - 3 * ux + 2 * uy, y1 - 3 * uy - 2 * ux);
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 3 * ux - 2 * uy, y1 - 3 * uy + 2 * ux);
    ctx.stroke();
  }
  ctx.strokeStyle = COLOURS.trail;
  for (let i = 0; i < TRAILS; i++) {
    ctx.beginPath();
    ctx.moveTo(X(states[0][2 * i]), Y(states[0][2 * i + 1]));
    for (let s = 1; s <= k; s++) ctx.lineTo(X(states[s][2 * i]), Y(states[s][2 * i + 1]));
    ctx.stroke();
  }
  ctx.fillStyle = COLOURS.particle;
  const x = states[k];
  for (let i = 0; 2 * i < x.length; i++) {
    ctx.beginPath();
    ctx.arc(X(x[2 * i]), Y(x[2 * i + 1]), 1.8, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function widget(root, p) {
  const range = (role, min, max, step) => el("input", { type: "range", min, max, step, "data-role": role });
  const cls = el(
    "select",
    { "data-role": "class" },
    el("option", { value: "none" }, "none (both parts)"),
    ...p.classes.map((name, i) => el("option", { value: String(i) }, name)),
  );
  const w = range("guidance", "0", "6", "0.5");
  const steps = range("steps", "1", "64", "1");
  const solver = el("select", { "data-role": "solver" }, el("option", { value: "euler" }, "Euler"), el("option", { value: "heun" }, "Heun"));
  const t = range("t", "0", "1", "0.01");
  const readout = (role) => el("output", { "data-role": role });
  const [wOut, stepsOut, tOut] = [readout("guidance-value"), readout("steps-value"), readout("t-value")];
  const play = el("button", { type: "button", "data-role": "play" }, "Play");
  const fresh = el("button", { type: "button", "data-role": "new-noise" }, "New noise");
  const learned = el("canvas", { "data-role": "learned", class: "tinycats-plane" });
  const exact = el("canvas", { "data-role": "exact", class: "tinycats-plane" });
  const status = el("p", { class: "tinycats-status", "data-role": "status" }, "Sampling…");
  const field = (name, ...inputs) => el("label", { class: "tinycats-field" }, name, el("span", { class: "tinycats-pair" }, ...inputs));
  root.append(
    el(
      "div",
      { class: "tinycats-controls" },
      field("Class", cls),
      field("Guidance w", w, wOut),
      field("Steps", steps, stepsOut),
      field("Solver", solver),
      field("Time t", t, tOut),
      el("div", { class: "tinycats-buttons" }, play, fresh),
    ),
    el(
      "div",
      { class: "tinycats-panels" },
      el("figure", {}, learned, el("figcaption", {}, "What the network learned")),
      el("figure", {}, exact, el("figcaption", {}, "The exact field of the data")),
    ),
    status,
  );
  cls.value = DEFAULTS.cls === null ? "none" : String(DEFAULTS.cls);
  w.value = String(DEFAULTS.w);
  steps.value = String(DEFAULTS.steps);
  solver.value = DEFAULTS.solver;
  t.value = String(DEFAULTS.t);
  let seed = p.frame.seed;

  const settings = () => ({
    cls: cls.value === "none" ? null : Number(cls.value),
    w: Number(w.value),
    steps: Number(steps.value),
    solver: solver.value,
    seed,
  });
  const grid = gridPoints(p.extent);
  let sampled = null; // { key, opts, times, learned: states, exact: states }
  const fields = new Map(); // `${key}@${t}` → [learned, exact]

  const fieldsAt = async (opts, key, tf) => {
    const id = `${key}@${tf}`;
    if (!fields.has(id)) {
      if (fields.size > 256) fields.clear();
      fields.set(id, [await learnedVelocity(p, grid, tf, opts), exactGuided(p, grid, tf, opts)]);
    }
    return fields.get(id);
  };
  const draw = async () => {
    if (!sampled) return;
    const tv = Number(t.value);
    const { times } = sampled;
    let k = 0;
    while (k + 1 < times.length && times[k + 1] <= tv + 1e-9) k++;
    const [lf, ef] = await fieldsAt(sampled.opts, sampled.key, Math.min(tv, FIELD_T_MAX));
    const full = arrowScale(ef);
    drawPanel(learned, p, lf, full, grid, sampled.learned, k);
    drawPanel(exact, p, ef, full, grid, sampled.exact, k);
    tOut.value = tv.toFixed(2);
  };

  let busy = false;
  let again = false;
  const resample = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    root.dataset.state = "running";
    try {
      do {
        again = false;
        const opts = settings();
        w.disabled = opts.cls === null;
        wOut.value = opts.cls === null ? "—" : String(opts.w);
        stepsOut.value = String(opts.steps);
        const key = JSON.stringify(opts);
        const times = timesteps(opts.steps, 1.0);
        const particles = p.frame.particles; // as many as the example's reference frame
        const x0 = fillNoise(opts.seed, 0, new Float32Array(2 * particles));
        const started = performance.now();
        let calls = 0;
        const states = await run(x0, times, opts.solver, (x, tt) => {
          calls++;
          return learnedVelocity(p, x, tt, opts);
        });
        const networkMs = performance.now() - started;
        const exactStates = await run(x0, times, opts.solver, async (x, tt) => exactGuided(p, x, tt, opts));
        sampled = { key, opts, times, learned: states, exact: exactStates };
        await draw();
        const rows = opts.cls === null || opts.w === 1.0 ? particles : 2 * particles;
        say(
          status,
          `${opts.steps} ${opts.solver === "heun" ? "Heun" : "Euler"} step${opts.steps === 1 ? "" : "s"}: ` +
            `${calls} network call${calls === 1 ? "" : "s"} of ${rows} rows`,
          ` in ${ms(networkMs)}`,
          `; seed ${opts.seed}. The particles are drawn at the last step at or before t.`,
        );
        root.tinycatsFinal = states[states.length - 1];
        root.dataset.key = key;
        root.dataset.runMs = networkMs.toFixed(1);
        root.dataset.firstFrameMs ??= performance.now().toFixed(0);
      } while (again);
      root.dataset.state = "done";
    } catch (e) {
      root.dataset.state = "error";
      status.textContent = `The playground stopped: ${e.message ?? e}`;
      status.classList.add("tinycats-error");
      if (!(e instanceof PageError)) console.warn(e);
    } finally {
      busy = false;
    }
  };

  let drawing = null;
  const redraw = () => {
    drawing ??= draw()
      .catch((e) => console.warn(e))
      .finally(() => (drawing = null));
    return drawing;
  };
  for (const input of [cls, w, steps, solver]) input.addEventListener("input", resample);
  t.addEventListener("input", redraw);
  fresh.addEventListener("click", () => {
    seed = crypto.getRandomValues(new Uint32Array(1))[0];
    resample();
  });
  play.addEventListener("click", () => {
    const started = performance.now();
    const frame = async () => {
      const tv = Math.min(1, (performance.now() - started) / 3000);
      t.value = String(tv);
      await redraw();
      if (tv < 1) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  return resample();
}

async function mount(root) {
  const problem = supportProblem("the playground");
  if (problem) {
    root.replaceChildren(el("p", { class: "tinycats-error" }, problem));
    return;
  }
  let p;
  try {
    p = await load();
  } catch (e) {
    root.replaceChildren(el("p", { class: "tinycats-error" }, `The playground's network could not be loaded: ${e.message ?? e}`));
    root.dataset.state = "error";
    return;
  }
  root.replaceChildren();
  root.dataset.ready = "true";
  await widget(root, p);
}

const STYLE = `
/* Every glyph is drawn with the book's own web font, as in the demo: the page looks the same
   whatever fonts a reader's or a CI machine's system has. */
.tinycats-playground { border: 1px solid var(--quote-border, #ccc); border-radius: 6px; padding: 0.8em 1em; margin: 1em 0; font-family: "Open Sans", sans-serif; }
.tinycats-playground button, .tinycats-playground select, .tinycats-playground input, .tinycats-playground output { font-family: inherit; font-size: 1.35rem; }
.tinycats-playground .tinycats-controls { display: flex; flex-wrap: wrap; gap: 0.6em 1.2em; align-items: end; margin-bottom: 0.6em; }
.tinycats-playground .tinycats-field { display: flex; flex-direction: column; font-size: 0.85em; gap: 0.2em; }
.tinycats-playground .tinycats-pair { display: flex; align-items: center; gap: 0.4em; }
.tinycats-playground input[type=range] { width: 7em; }
.tinycats-playground output { display: inline-block; min-width: 2.4em; font-variant-numeric: tabular-nums; }
.tinycats-playground .tinycats-buttons { display: flex; gap: 0.5em; }
.tinycats-panels { display: flex; flex-wrap: wrap; gap: 1em; }
.tinycats-panels figure { margin: 0; }
.tinycats-panels figcaption { font-size: 0.85em; text-align: center; }
.tinycats-plane { width: ${SIZE}px; height: ${SIZE}px; border: 1px solid #bbb; background: #fff; }
.tinycats-playground .tinycats-status { font-size: 0.9em; min-height: 1.4em; }
.tinycats-playground .tinycats-error { color: #b00020; }
`;

startWidgets(".tinycats-playground", STYLE, "The playground", mount);
