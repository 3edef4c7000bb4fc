// The book's in-browser demo: TinyDiT generates a cat of a chosen breed and the classifier
// names the breed of an image, both on ONNX Runtime Web (WebAssembly) in this tab. Nothing
// leaves the reader's machine. Every fact about the models (sizes, class names, pixel
// convention, which graph files to load, the default sampler) comes from the book's model
// folder: `demo/models/manifest.json`, written by `cargo xtask`, and each model's config.json.
//
// Mount points: `<div class="tinycats-demo" data-demo="generate|classify|full"></div>`.

import { HERE, PageError as DemoError, el, fetchJson, loadSession, mb, ms, ort, say, startWidgets, supportProblem } from "./common.js";
import { fill as fillNoise } from "./noise.js";
import { MAX_SEED, formatFragment, parseFragment } from "./permalink.js";
import { guidanceAt, guide, integrate, preview, timesteps, validateOptions } from "./sampling.js";
import { headerSize, rgbOverWhite, softmax, toModelInput, toRgba } from "./preprocess.js";

const MODELS = new URL("models/", HERE);
/** Decoding budget for an uploaded image: its RGBA pixels must fit in this many bytes. */
const MAX_DECODE_BYTES = 256e6;
const MAX_SIDE = 12000;

const label = (name) => name.replaceAll("_", " ");

let manifestPromise;
function manifest() {
  manifestPromise ??= (async () => {
    const m = await fetchJson(new URL("manifest.json", MODELS));
    for (const kind of ["generator", "classifier"]) {
      m[kind].configJson = await fetchJson(new URL(m[kind].config, MODELS));
    }
    return m;
  })();
  return manifestPromise;
}

const sessions = new Map();
/** One ONNX Runtime session per graph file, shared by every widget on the page. */
function session(file) {
  if (!sessions.has(file)) {
    sessions.set(file, loadSession(new URL(file, MODELS)));
    sessions.get(file).catch(() => sessions.delete(file));
  }
  return sessions.get(file);
}

// ---------------------------------------------------------------------------------------
// Generation

/** Samples `opts` on the generator graph, calling `onStep(step, rgba, stats)` after each step. */
async function generate(gen, graph, opts, onStep) {
  const cfg = gen.configJson;
  const size = cfg.input_size;
  const channels = cfg.in_channels;
  const breed = cfg.class_names.indexOf(opts.breed);
  if (breed < 0) throw new DemoError(`unknown breed ${opts.breed}`);
  const nullClass = cfg.num_classes;
  const problem = validateOptions(opts);
  if (problem) throw new DemoError(problem);
  const started = performance.now();
  const { session: s, loadMs } = await session(graph.file);
  const sampleStarted = performance.now();
  const per = channels * size * size;
  const velocity = async (x, t) => {
    // Outside the guidance interval a step runs the conditional row alone.
    const scale = guidanceAt(opts, t);
    const guided = scale !== 1.0;
    const rows = guided ? 2 : 1;
    const input = new Float32Array(rows * per);
    input.set(x, 0);
    if (guided) input.set(x, per);
    const labels = guided ? [BigInt(breed), BigInt(nullClass)] : [BigInt(breed)];
    const out = await s.run({
      noise: new ort.Tensor("float32", input, [rows, channels, size, size]),
      timestep: new ort.Tensor("float32", new Float32Array(rows).fill(t), [rows]),
      breed: new ort.Tensor("int64", BigInt64Array.from(labels), [rows]),
    });
    const v = out.velocity.data;
    if (!guided) return v;
    return guide(v.subarray(0, per), v.subarray(per, 2 * per), scale);
  };
  const x0 = fillNoise(opts.seed, opts.image ?? 0, new Float32Array(per)); // image i: stream i
  let last = sampleStarted;
  const x = await integrate(x0, timesteps(opts.steps, opts.shift), opts.solver, velocity, async (step) => {
    const now = performance.now();
    const stats = { stepMs: now - last, sampleMs: now - sampleStarted, totalMs: now - started, loadMs };
    last = now;
    await onStep(step, toRgba(preview(step), size, cfg.mean, cfg.std), stats);
  });
  return { x, rgba: toRgba(x, size, cfg.mean, cfg.std), size };
}

/** The link to `state`: the book's demo page with the state in its fragment. */
const linkTo = (state) => new URL(`../try-in-browser.html#${formatFragment(state)}`, HERE).href;

function generatorWidget(root, m, shared) {
  const gen = m.generator;
  const cfg = gen.configJson;
  const size = cfg.input_size;
  const sampler = m.sampler;
  const breeds = cfg.class_names;
  const graphOf = (precision) => gen.graphs.find((g) => g.precision === precision);
  const defaults = {
    breed: breeds.includes(root.dataset.breed) ? root.dataset.breed : "Siamese",
    seed: Number(root.dataset.seed ?? "0"),
    image: 0,
    steps: sampler.steps,
    solver: sampler.solver,
    cfgScale: sampler.cfg_scale,
    guidanceInterval: sampler.guidance_interval,
    shift: sampler.shift,
    graph: gen.graphs[0].precision,
  };
  const breed = el("select", { "data-role": "breed" }, ...breeds.map((b) => el("option", { value: b }, label(b))));
  const steps = el("input", { type: "number", min: "1", max: "200", "data-role": "steps" });
  const solver = el("select", { "data-role": "solver" }, el("option", { value: "heun" }, "Heun"), el("option", { value: "euler" }, "Euler"));
  const guidance = el("input", { type: "number", min: "0", max: "20", step: "0.5", "data-role": "guidance" });
  const from = el("input", { type: "number", min: "0", max: "1", step: "0.1", "data-role": "guidance-from" });
  const to = el("input", { type: "number", min: "0", max: "1", step: "0.1", "data-role": "guidance-to" });
  const seed = el("input", { type: "number", min: "0", max: String(MAX_SEED), "data-role": "seed" });
  const precision = el(
    "select",
    { "data-role": "precision" },
    ...gen.graphs.map((g) => el("option", { value: g.file }, `${g.precision} (${mb(g.bytes)})`)),
  );
  const canvas = el("canvas", { width: String(size), height: String(size), "data-role": "canvas", class: "tinycats-canvas" });
  const status = el("p", { class: "tinycats-status", "data-role": "status" }, "Ready: pick a breed and press Generate.");
  const go = el("button", { type: "button", "data-role": "generate" }, "Generate");
  const fresh = el("button", { type: "button", "data-role": "new-noise" }, "New noise");
  const copy = el("button", { type: "button", "data-role": "copy-link" }, "Copy link");
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ddd";
  ctx.fillRect(0, 0, size, size);

  // The image's place in its seed's batch and the time-grid shift have no control: only a
  // link sets them (image i draws noise stream i).
  let image = 0;
  let shift = sampler.shift;
  const show = (state) => {
    breed.value = state.breed;
    steps.value = String(state.steps);
    solver.value = state.solver;
    guidance.value = String(state.cfgScale);
    [from.value, to.value] = state.guidanceInterval.map(String);
    seed.value = String(state.seed);
    precision.value = (graphOf(state.graph) ?? gen.graphs[0]).file;
    image = state.image;
    shift = state.shift;
  };
  const current = () => ({
    breed: breed.value,
    seed: Number(seed.value),
    image,
    steps: Number(steps.value),
    solver: solver.value,
    cfgScale: Number(guidance.value),
    guidanceInterval: [Number(from.value), Number(to.value)],
    shift,
    graph: gen.graphs.find((g) => g.file === precision.value).precision,
  });
  show(defaults);
  seed.addEventListener("input", () => (image = 0));

  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    go.disabled = fresh.disabled = true;
    root.dataset.state = "running";
    const graph = gen.graphs.find((g) => g.file === precision.value);
    const opts = current();
    try {
      if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > MAX_SEED) {
        throw new DemoError(`the seed must be a whole number from 0 to ${MAX_SEED}, not ${seed.value}`);
      }
      // On the demo's own page the address names this cat from now on (no new history
      // entry per cat); a chapter's compact widget leaves its chapter's address alone.
      if (root.dataset.demo === "full") history.replaceState(null, "", `#${formatFragment(opts)}`);
      status.textContent = `Loading ${graph.file} (${mb(graph.bytes)})…`;
      let stats;
      const out = await generate(gen, graph, opts, async (step, rgba, s) => {
        stats = s;
        ctx.putImageData(new ImageData(rgba, size, size), 0, 0);
        status.textContent = `step ${step.index}/${step.total} · ${ms(s.stepMs)} this step · ${ms(s.totalMs)} so far`;
        await new Promise((r) => setTimeout(r, 0)); // let the canvas paint
      });
      ctx.putImageData(new ImageData(out.rgba, size, size), 0, 0);
      const perStep = stats.sampleMs / opts.steps;
      const which = opts.image ? `seed ${opts.seed}, image ${opts.image}` : `seed ${opts.seed}`;
      say(
        status,
        `${label(opts.breed)}, ${which}: ${opts.steps} steps`,
        ` in ${ms(stats.sampleMs)} (${ms(perStep)} per step), ${ms(stats.totalMs)} in all including loading the model`,
        ".",
      );
      Object.assign(root.dataset, {
        state: "done",
        stepMs: perStep.toFixed(2),
        totalMs: stats.totalMs.toFixed(1),
        sampleMs: stats.sampleMs.toFixed(1),
      });
      shared.lastCat = { canvas, breed: opts.breed };
      shared.onCat?.();
    } catch (e) {
      root.dataset.state = "error";
      status.textContent = `Could not generate: ${e.message ?? e}`;
      status.classList.add("tinycats-error");
      if (!(e instanceof DemoError)) console.warn(e);
    } finally {
      busy = false;
      go.disabled = fresh.disabled = false;
    }
  };
  go.addEventListener("click", () => {
    status.classList.remove("tinycats-error");
    run();
  });
  fresh.addEventListener("click", () => {
    seed.value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
    image = 0;
    status.classList.remove("tinycats-error");
    run();
  });
  copy.addEventListener("click", async () => {
    const url = linkTo(current());
    root.dataset.link = url;
    status.textContent = `The link to this cat: ${url}`;
    try {
      await navigator.clipboard.writeText(url);
      status.textContent = `Copied the link to this cat: ${url}`;
    } catch {
      status.textContent = `The browser did not allow copying; the link to this cat: ${url}`;
    }
  });
  const field = (name, input) => el("label", { class: "tinycats-field" }, name, input);
  root.append(
    el(
      "div",
      { class: "tinycats-controls" },
      field("Breed", breed),
      field("Steps", steps),
      field("Solver", solver),
      field("Guidance", guidance),
      field("from t", from),
      field("to t", to),
      field("Seed", seed),
      field("Graph", precision),
      el("div", { class: "tinycats-buttons" }, go, fresh, copy),
    ),
    canvas,
    status,
  );

  // A link to a cat: its settings in the fragment. The page draws that cat at once.
  if (root.dataset.demo === "full" && location.hash.length > 1) {
    const { state, problem } = parseFragment(location.hash, defaults);
    const known = state && breeds.includes(state.breed) && graphOf(state.graph);
    if (known) {
      show(state);
      run();
    } else {
      status.textContent = problem
        ? `This page's link could not be read: ${problem}.`
        : `This page's link names ${breeds.includes(state.breed) ? `the graph "${state.graph}"` : `the breed "${state.breed}"`}, which this demo does not have (breeds: ${breeds.join(", ")}; graphs: ${gen.graphs.map((g) => g.precision).join(", ")}).`;
      status.classList.add("tinycats-error");
    }
  }
}

// ---------------------------------------------------------------------------------------
// Classification

async function decodeFile(file) {
  const head = new Uint8Array(await file.slice(0, 1 << 18).arrayBuffer());
  const dims = headerSize(head);
  if (dims) {
    const bytes = dims.width * dims.height * 4;
    if (dims.width > MAX_SIDE || dims.height > MAX_SIDE || bytes > MAX_DECODE_BYTES) {
      throw new DemoError(
        `${file.name} is a ${dims.width}×${dims.height} ${dims.format}: decoding it would take ` +
          `${mb(bytes)}, more than this page's ${mb(MAX_DECODE_BYTES)} budget ` +
          `(at most ${MAX_SIDE} pixels a side). Downscale it and try again.`,
      );
    }
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new DemoError(`${file.name} could not be decoded as an image: is it a damaged or unsupported file?`);
  }
  return bitmap;
}

function pixelsOf(source, width, height) {
  const c = new OffscreenCanvas(width, height);
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0);
  return rgbOverWhite(ctx.getImageData(0, 0, width, height).data, width, height);
}

async function classify(cls, rgb, width, height) {
  const cfg = cls.configJson;
  const size = cfg.image_size;
  const started = performance.now();
  const { session: s, loadMs } = await session(cls.graphs[0].file);
  const input = toModelInput(rgb, width, height, size, cfg.mean, cfg.std);
  const runStarted = performance.now();
  const out = await s.run({ input: new ort.Tensor("float32", input, [1, 3, size, size]) });
  const logits = out[s.outputNames[0]].data;
  const p = softmax(Array.from(logits));
  const ranked = p.map((v, i) => ({ name: cfg.class_names[i], p: v })).sort((a, b) => b.p - a.p);
  return { ranked, runMs: performance.now() - runStarted, totalMs: performance.now() - started, loadMs };
}

function classifierWidget(root, m, shared) {
  const cls = m.classifier;
  const input = el("input", { type: "file", accept: "image/*", "data-role": "file" });
  const drop = el(
    "div",
    { class: "tinycats-drop", "data-role": "drop" },
    "Drop an image here, or ",
    el("label", { class: "tinycats-pick" }, "choose a file", input),
  );
  const preview = el("canvas", { width: "1", height: "1", class: "tinycats-canvas", "data-role": "classified" });
  const bars = el("div", { class: "tinycats-bars", "data-role": "bars" });
  const status = el(
    "p",
    { class: "tinycats-status", "data-role": "class-status" },
    "Nothing is uploaded: the image is read and classified in this tab.",
  );
  const fromCat = el("button", { type: "button", "data-role": "classify-cat", disabled: "" }, "Classify the generated cat");

  const show = async (rgb, width, height, source, name) => {
    root.dataset.state = "running";
    status.classList.remove("tinycats-error");
    status.textContent = `Classifying ${name}…`;
    preview.width = width;
    preview.height = height;
    preview.getContext("2d").drawImage(source, 0, 0);
    const r = await classify(cls, rgb, width, height);
    bars.replaceChildren(
      ...r.ranked.slice(0, 5).map(({ name: n, p }) =>
        el(
          "div",
          { class: "tinycats-bar", "data-breed": n, "data-p": p.toFixed(4) },
          el("span", { class: "tinycats-bar-label" }, label(n)),
          el(
            "span",
            { class: "tinycats-bar-track" },
            el("span", { class: "tinycats-bar-fill", style: `width: ${(p * 100).toFixed(1)}%` }),
          ),
          el("span", { class: "tinycats-bar-value" }, `${(p * 100).toFixed(1)} %`),
        ),
      ),
    );
    say(
      status,
      `${name}: ${label(r.ranked[0].name)} (${(r.ranked[0].p * 100).toFixed(1)} %)`,
      `, classified in ${ms(r.runMs)}`,
      ". Nothing was uploaded.",
    );
    Object.assign(root.dataset, { state: "done", top1: r.ranked[0].name, classifyMs: r.runMs.toFixed(2) });
  };
  const fail = (e) => {
    root.dataset.state = "error";
    bars.replaceChildren();
    status.textContent = `Not classified: ${e.message ?? e}`;
    status.classList.add("tinycats-error");
    if (!(e instanceof DemoError)) console.warn(e);
  };
  const onFile = async (file) => {
    if (!file) return;
    try {
      const bitmap = await decodeFile(file);
      const rgb = pixelsOf(bitmap, bitmap.width, bitmap.height);
      await show(rgb, bitmap.width, bitmap.height, bitmap, file.name);
      bitmap.close();
    } catch (e) {
      fail(e);
    }
  };
  input.addEventListener("change", () => onFile(input.files[0]));
  drop.addEventListener("dragover", (e) => e.preventDefault());
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    onFile(e.dataTransfer.files[0]);
  });
  fromCat.addEventListener("click", async () => {
    const cat = shared.lastCat;
    if (!cat) return;
    try {
      const { canvas } = cat;
      await show(pixelsOf(canvas, canvas.width, canvas.height), canvas.width, canvas.height, canvas, `the generated ${label(cat.breed)}`);
    } catch (e) {
      fail(e);
    }
  });
  shared.onCat = () => fromCat.removeAttribute("disabled");
  const children = [drop];
  if (root.dataset.demo === "full") children.push(fromCat);
  root.append(el("div", { class: "tinycats-classify" }, ...children, el("div", { class: "tinycats-result" }, preview, bars)), status);
}

// ---------------------------------------------------------------------------------------

async function mount(root) {
  const problem = supportProblem("the demo");
  if (problem) {
    root.replaceChildren(el("p", { class: "tinycats-error" }, problem));
    return;
  }
  let m;
  try {
    m = await manifest();
  } catch (e) {
    root.replaceChildren(el("p", { class: "tinycats-error" }, `The demo's models could not be loaded: ${e.message}`));
    return;
  }
  root.replaceChildren();
  const shared = {};
  const mode = root.dataset.demo ?? "full";
  if (mode === "generate" || mode === "full") generatorWidget(root, m, shared);
  if (mode === "classify" || mode === "full") classifierWidget(root, m, shared);
  root.dataset.ready = "true";
}

const STYLE = `
/* Every glyph in the demo, form controls included, is drawn with the book's own web font
   (mdBook serves Open Sans from the built book): the page looks the same whatever fonts a
   reader's or a CI machine's system has. Chromium's default for buttons, selects and inputs
   is the system's sans-serif, hence the explicit inherit. */
.tinycats-demo { border: 1px solid var(--quote-border, #ccc); border-radius: 6px; padding: 0.8em 1em; margin: 1em 0; font-family: "Open Sans", sans-serif; }
.tinycats-demo button, .tinycats-demo select, .tinycats-demo input { font-family: inherit; font-size: 1.35rem; }
.tinycats-controls { display: flex; flex-wrap: wrap; gap: 0.6em 1em; align-items: end; margin-bottom: 0.6em; }
.tinycats-field { display: flex; flex-direction: column; font-size: 0.85em; gap: 0.2em; }
.tinycats-field input { width: 6.5em; }
.tinycats-field input[data-role^=guidance-] { width: 4.5em; }
.tinycats-buttons { display: flex; gap: 0.5em; }
.tinycats-canvas { width: 256px; height: 256px; image-rendering: pixelated; border: 1px solid #bbb; background: #eee; }
.tinycats-status { font-size: 0.9em; min-height: 1.4em; }
.tinycats-error { color: #b00020; }
.tinycats-classify { display: flex; flex-wrap: wrap; gap: 0.6em 1em; align-items: center; margin-top: 1em; }
.tinycats-drop { border: 2px dashed #999; border-radius: 6px; padding: 0.8em 1.2em; }
.tinycats-pick { text-decoration: underline; cursor: pointer; }
.tinycats-pick input { display: none; }
.tinycats-result { display: flex; flex-wrap: wrap; gap: 1em; align-items: center; margin-top: 0.6em; }
.tinycats-result .tinycats-canvas { width: 128px; height: 128px; object-fit: contain; }
.tinycats-bars { min-width: 18em; flex: 1; }
.tinycats-bar { display: grid; grid-template-columns: 9em 1fr 4em; align-items: center; gap: 0.5em; font-size: 0.9em; }
.tinycats-bar-track { height: 0.9em; background: #e4e4e4; border-radius: 2px; }
.tinycats-bar-fill { display: block; height: 100%; background: #4a7dbf; border-radius: 2px; }
.tinycats-bar-value { text-align: right; font-variant-numeric: tabular-nums; }
`;

startWidgets(".tinycats-demo", STYLE, "The interactive demo", mount);
