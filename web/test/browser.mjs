// The demo in a real browser: Debian's Chromium, headless, driven by playwright-core, against
// the built book served on 127.0.0.1 by this script. `cargo xtask verify-docs` runs it after
// building the book; by hand:
//
//   node web/test/browser.mjs book/build OUT_DIR
//
// It fails (exit 1, the reason on stderr) unless: every demo page loads without console
// errors; a Siamese with the reference settings matches the Rust reference image within the
// stated tolerance; the page's classifier calls it Siamese; the latency readout is a number;
// an uploaded photo is classified and a corrupt file and a 12,000 × 12,000 PNG are refused
// with a message while the tab stays responsive; a permalink opens on its cat, matching the
// Rust reference for its settings, and "Copy link" gives it back; the demo's code stays
// under its budget; the flow-matching chapter's playground opens on its first frame, and
// driven to the example's reference frame (class, guidance, steps and solver set with its
// controls) its particles land where the Rust run's did, its exact field is the example's,
// and it says why where WebAssembly or its network is missing.
// It writes OUT_DIR/demo.png, OUT_DIR/permalink.png (the demo opened by the permalink) and
// OUT_DIR/playground.png, screenshots of the working widgets, and OUT_DIR/results.json.

import { createServer } from "node:http";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { crc32, deflateSync, gzipSync } from "node:zlib";

import { chromium } from "playwright-core";

import { exactVelocity } from "../src/flowfield.js";

const [bookDir, outDir] = process.argv.slice(2).map((p) => p && resolve(p));
if (!bookDir || !outDir) {
  console.error("usage: node web/test/browser.mjs BOOK_BUILD_DIR OUT_DIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const root = resolve(new URL("../..", import.meta.url).pathname);
const demoDir = join(bookDir, "demo");

/**
 * The reference: what `examples/08_try_in_browser/main.rs` drew with the Rust runtime, per graph,
 * with the bundled generator's recorded sampler (the manifest's, as the page starts with).
 */
const MANIFEST = JSON.parse(readFileSync(join(demoDir, "models/manifest.json")));
const SAMPLER = MANIFEST.sampler;
const REFERENCE = { breed: "Siamese", seed: 0, steps: SAMPLER.steps, guidance: SAMPLER.cfg_scale };
const REFERENCE_IMAGE = {
  "int8-dynamic": "images/08_try_in_browser/siamese_seed0_int8.png",
  fp32: "images/08_try_in_browser/siamese_seed0_fp32.png",
};
/**
 * How far the page's pixels may land from the Rust runtime's, in 8-bit levels. The noise is
 * bit-identical; ONNX Runtime's WebAssembly kernels sum in another order than its native
 * AVX-512/AVX2 ones, and 20 guided steps compound that. fp32 stays close; the int8 graph
 * quantizes every activation dynamically, so a rounding moved by the fp32 noise changes a
 * whole quantization step, and its cat moves more (the chapter states what was measured).
 */
const TOLERANCE = {
  fp32: { maxAbs: 4, meanAbs: 0.1 },
  "int8-dynamic": { maxAbs: 64, meanAbs: 6.0 },
};
/**
 * A permalink and its cat: the link `examples/08_try_in_browser/main.rs` printed (step
 * `permalink`: another breed, seed, place in its batch and sampler than the reference's) and
 * the image it drew with the Rust runtime's fp32 graph.
 */
const PERMALINK_SNAPSHOT = join(root, "book/outputs/08_try_in_browser/permalink.snap");
const PERMALINK_IMAGE = "images/08_try_in_browser/permalink_fp32.png";
/** Our JavaScript and ONNX Runtime Web's, gzipped; the WebAssembly runtime and models apart. */
const CODE_BUDGET_GZ = 1 << 20;
/**
 * The playground's files, from the flow-matching example's last run; where that example did
 * not run on this machine the book goes without the playground, and so does this test unless
 * `TINYCATS_PLAYGROUND_REQUIRED=1` (the xtask sets it when its run included the example).
 */
const PLAYGROUND_DATA = join(demoDir, "playground/playground.json");
const PLAYGROUND_REQUIRED = process.env.TINYCATS_PLAYGROUND_REQUIRED === "1";
/**
 * How far (in the plane's units; the drawing spans 6) a particle of the page's reference frame
 * may land from the Rust run's. The noise is bit-identical; ONNX Runtime's WebAssembly sums
 * each matrix product in another order than libtorch, which moves a velocity by about 1e-6,
 * and the steps compound it.
 */
const PLAYGROUND_TOLERANCE = 1e-3;
/** The page's exact field against the example's `exact_velocity` (f32 results of f64 sums). */
const EXACT_TOLERANCE = 1e-4;

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
};

function serve(dir) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** A valid PNG of `w × h` black pixels (a few hundred kB for 12,000², 432 MB once decoded). */
function blackPng(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = Buffer.alloc(h * (1 + 3 * w)); // filter byte 0 and black pixels on every row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * `family (element)` for every font that Chromium drew some text of `selector`'s first match
 * with and that is not a web font the page loaded: the system fallbacks that make a
 * screenshot differ between machines. Walks the DOM with shadow roots (the text inside
 * inputs, selects and buttons lives in user-agent shadow trees).
 */
async function fontsNotFromTheBook(page, selector) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("DOM.enable");
  await cdp.send("CSS.enable");
  const { root } = await cdp.send("DOM.getDocument", { depth: -1, pierce: true });
  const { nodeId: demoId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector });
  const find = (node) => {
    if (node.nodeId === demoId) return node;
    for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? []), node.contentDocument].filter(Boolean)) {
      const hit = find(child);
      if (hit) return hit;
    }
    return null;
  };
  const elements = [];
  const collect = (node) => {
    if (node.nodeType === 1) elements.push(node);
    for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? [])]) collect(child);
  };
  collect(find(root));
  const found = new Set();
  for (const node of elements) {
    const { fonts } = await cdp.send("CSS.getPlatformFontsForNode", { nodeId: node.nodeId });
    for (const f of fonts) {
      if (!f.isCustomFont) found.add(`${f.familyName} (${node.localName}, ${f.glyphCount} glyphs)`);
    }
  }
  await cdp.detach();
  return [...found];
}

/**
 * Hides this run's timings (the widgets' `.tinycats-timing` spans) before a screenshot: they
 * differ from machine to machine, and the committed screenshot must hold on every CI machine.
 * The rest of each status line is drawn as a reader sees it.
 */
async function hideTimings(page) {
  await page.addStyleTag({ content: ".tinycats-timing { display: none !important; }" });
}

/** A file of the demo's folder, gzipped: its size in bytes. */
const gz = (file) => gzipSync(readFileSync(join(demoDir, file)), { level: 9 }).length;

/** An entry's code and every chunk it loads (`demo/bundle.json`), gzipped. */
function codeGz(entry) {
  const pages = JSON.parse(readFileSync(join(demoDir, "bundle.json"), "utf8"));
  check(Array.isArray(pages[entry]), `demo/bundle.json lists the files of ${entry}`);
  return (pages[entry] ?? [entry]).reduce((sum, f) => sum + gz(f), 0);
}

/**
 * The error message a widget (`selector`) shows in place of its controls on `chapter` after
 * `prepare(page)` broke something, or null when none appears.
 */
async function errorShown(context, prepare, chapter, selector) {
  const p = await context.newPage();
  await prepare(p);
  await p.goto(`${base}${chapter}`);
  const text = await p
    .waitForSelector(`${selector} .tinycats-error`, { timeout: 30_000 })
    .then((e) => e.textContent())
    .catch(() => null);
  await p.close();
  return text;
}

/** Sets a control's value as a reader's change would, firing its `input` event. */
const setControl = (locator, value) =>
  locator.evaluate((el, v) => {
    el.value = v;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);

/** The playground: first frame, the reference frame against Rust's, the exact field, its screenshot. */
async function testPlayground(context, watch) {
  const data = JSON.parse(readFileSync(PLAYGROUND_DATA, "utf8"));
  const frame = data.frame;
  const out = {};
  const page = await context.newPage();
  watch(page, "playground");
  const opened = performance.now();
  await page.goto(`${base}flow-matching-from-scratch.html`);
  const root = page.locator(".tinycats-playground").first();
  const done = async (key) =>
    page.waitForFunction(
      ([el, k]) => el.dataset.state === "error" || (el.dataset.state === "done" && (k === null || el.dataset.key === k)),
      [await root.elementHandle(), key],
      { timeout: 120_000 },
    );
  await page.waitForSelector(".tinycats-playground[data-state]", { timeout: 30_000 });
  await done(null);
  out.firstFrameMs = performance.now() - opened;
  out.firstFrameMsInPage = Number(await root.getAttribute("data-first-frame-ms"));
  check((await root.getAttribute("data-state")) === "done", `the playground draws its first frame (${await root.locator("[data-role=status]").textContent()})`);

  // Drive it to the example's reference frame with its controls, as a reader would.
  await root.locator("[data-role=class]").selectOption(String(frame.class));
  await setControl(root.locator("[data-role=guidance]"), String(frame.guidance));
  await setControl(root.locator("[data-role=steps]"), String(frame.steps));
  await root.locator("[data-role=solver]").selectOption(frame.solver);
  const key = JSON.stringify({ cls: frame.class, w: frame.guidance, steps: frame.steps, solver: frame.solver, seed: frame.seed });
  await done(key);
  const final = await root.evaluate((el) => Array.from(el.tinycatsFinal ?? []));
  check(final.length === frame.positions.length, `the reference frame has ${frame.particles} particles (${final.length / 2})`);
  let maxAbs = 0;
  for (let i = 0; i < final.length; i++) maxAbs = Math.max(maxAbs, Math.abs(final[i] - frame.positions[i]));
  check(
    maxAbs <= PLAYGROUND_TOLERANCE,
    `the playground's particles (${frame.steps} ${frame.solver} steps, ${data.classes[frame.class]}, w = ${frame.guidance}) ` +
      `land where the Rust run's did: max |Δ| ${maxAbs.toExponential(2)} (tolerance ${PLAYGROUND_TOLERANCE})`,
  );
  out.againstRust = { maxAbs, tolerance: PLAYGROUND_TOLERANCE };
  out.frameMs = Number(await root.getAttribute("data-run-ms"));

  // The exact field the page draws is the example's.
  const probe = data.exact_probe;
  const exact = exactVelocity(Float32Array.from(data.points), Float32Array.from(probe.x), probe.t);
  let exactGap = 0;
  for (let i = 0; i < exact.length; i++) exactGap = Math.max(exactGap, Math.abs(exact[i] - probe.v[i]));
  check(exactGap <= EXACT_TOLERANCE, `the page's exact field is the example's at t = ${probe.t}: max |Δ| ${exactGap.toExponential(2)}`);

  await page.evaluate(() => document.fonts.ready);
  const systemFonts = await fontsNotFromTheBook(page, ".tinycats-playground");
  check(
    systemFonts.length === 0,
    `the playground's text is drawn with the book's web fonts only` + (systemFonts.length ? `; system fonts used: ${systemFonts.join("; ")}` : ""),
  );
  // Deep in a long chapter the widget sits at a fractional offset that depends on what above
  // it has loaded, which moves its pixels by one; the screenshot pins it to the viewport's
  // corner at a fixed width instead, over a white backdrop (the screenshot's box rounds out
  // to whole pixels, which would show a sliver of the page behind it).
  await root.evaluate((el) => {
    const backdrop = document.createElement("div");
    Object.assign(backdrop.style, { position: "fixed", inset: "0", background: "#fff", zIndex: "999" });
    document.body.append(backdrop);
    Object.assign(el.style, { position: "fixed", top: "0", left: "0", width: "720px", margin: "0", zIndex: "1000", background: "#fff" });
  });
  await hideTimings(page);
  await root.screenshot({ path: join(outDir, "playground.png"), animations: "disabled" });
  await page.close();

  // Where it cannot run it says why, in place of the controls.
  const degraded = (prepare) => errorShown(context, prepare, "flow-matching-from-scratch.html", ".tinycats-playground");
  const noWasm = await degraded((p) => p.addInitScript(() => delete globalThis.WebAssembly));
  check(/WebAssembly/.test(noWasm ?? ""), `without WebAssembly the playground says so: "${noWasm}"`);
  const noGraph = await degraded((p) => p.route(`**/playground/${data.graph}`, (r) => r.fulfill({ status: 404 })));
  check(new RegExp(data.graph.replace(".", "\\.")).test(noGraph ?? ""), `without its network the playground names the file: "${noGraph}"`);

  out.download = {
    codeGz: codeGz("tinycats-playground.js"),
    runtimeWasmGz: gz("ort-wasm-simd-threaded.wasm"),
    graphBytes: statSync(join(demoDir, "playground", data.graph)).size,
    dataGz: gz("playground/playground.json"),
  };
  check(out.download.codeGz < CODE_BUDGET_GZ, `the playground's code is ${(out.download.codeGz / 1024).toFixed(0)} kB gzipped (budget 1 MB)`);
  return out;
}

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.error(`  ${ok ? "ok  " : "FAIL"} ${what}`);
};

const server = await serve(bookDir);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.TINYCATS_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const results = { reference: REFERENCE };
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
  const consoleErrors = [];
  const foreign = [];
  const watch = (page, name) => {
    page.on("request", (r) => {
      const url = r.url();
      if (!url.startsWith(base) && !/^(data|blob):/.test(url)) foreign.push(`${name}: ${url}`);
    });
    page.on("requestfailed", (r) => console.error(`  request failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on("response", (r) => {
      if (r.status() >= 400) console.error(`  HTTP ${r.status()}: ${r.url()}`);
    });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`${name}: ${m.text()}`);
    });
    page.on("pageerror", (e) => consoleErrors.push(`${name}: ${e.message}`));
  };
  const page = await context.newPage();
  watch(page, "try-in-browser");
  const opened = performance.now();
  await page.goto(`${base}try-in-browser.html`);
  await page.waitForSelector(".tinycats-demo[data-ready=true]", { timeout: 30_000 });
  const demo = page.locator(".tinycats-demo").first();

  const generateWith = async (graphFile) => {
    await demo.locator("[data-role=breed]").selectOption(REFERENCE.breed);
    await demo.locator("[data-role=seed]").fill(String(REFERENCE.seed));
    await demo.locator("[data-role=steps]").fill(String(REFERENCE.steps));
    await demo.locator("[data-role=guidance]").fill(String(REFERENCE.guidance));
    await demo.locator("[data-role=precision]").selectOption(graphFile);
    await demo.locator("[data-role=generate]").click();
    await page.waitForFunction(
      (el) => el.dataset.state === "done" || el.dataset.state === "error",
      await demo.elementHandle(),
      { timeout: 120_000 },
    );
    const state = await demo.getAttribute("data-state");
    const status = await demo.locator("[data-role=status]").textContent();
    return { state, status, ...(await demo.evaluate((el) => ({ ...el.dataset }))) };
  };
  const canvasPixels = () =>
    demo.locator("[data-role=canvas]").evaluate((c) => Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data));

  const graphs = MANIFEST.generator.graphs;
  const referencePixels = (src) =>
    page.evaluate(async (url) => {
      const blob = await (await fetch(url)).blob();
      const bmp = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = c.getContext("2d");
      ctx.drawImage(bmp, 0, 0);
      return Array.from(ctx.getImageData(0, 0, bmp.width, bmp.height).data);
    }, `${base}${src}`);
  /** Checks a canvas's pixels against a Rust reference image within `precision`'s tolerance. */
  const compare = async (pixels, src, precision, what) => {
    const reference = await referencePixels(src);
    check(reference.length === pixels.length, `the reference ${src} has the canvas's size (${reference.length / 4} pixels)`);
    let maxAbs = 0;
    let sumAbs = 0;
    let n = 0;
    for (let i = 0; i < pixels.length; i++) {
      if (i % 4 === 3) continue;
      const d = Math.abs(pixels[i] - reference[i]);
      maxAbs = Math.max(maxAbs, d);
      sumAbs += d;
      n++;
    }
    const tol = TOLERANCE[precision];
    check(
      maxAbs <= tol.maxAbs && sumAbs / n <= tol.meanAbs,
      `${precision}: the page's ${what} against the Rust runtime's: max |Δ| ${maxAbs}, mean |Δ| ` +
        `${(sumAbs / n).toFixed(3)} levels (tolerance ${tol.maxAbs} / ${tol.meanAbs})`,
    );
    return { maxAbs, meanAbs: sumAbs / n, tolerance: tol };
  };
  /** Generates the reference cat on `graph`, checks it against Rust's, records the timings. */
  const generateAndCompare = async (graph) => {
    const gen = await generateWith(graph.file);
    check(gen.state === "done", `generation on ${graph.file} finished (${gen.status})`);
    const total = Number(gen.totalMs);
    check(
      Number.isFinite(total) && total > 0 && /\d+(\.\d+)? ms/.test(gen.status),
      `the latency readout is a number: "${gen.status}"`,
    );
    const pixels = await canvasPixels();
    const againstRust = await compare(pixels, REFERENCE_IMAGE[graph.precision], graph.precision, "Siamese");
    results[graph.precision] = {
      totalMsIncludingLoad: total,
      sampleMs: Number(gen.sampleMs),
      perStepMs: Number(gen.stepMs),
      againstRust,
    };
    return pixels;
  };
  const first = graphs[0]; // the page's default
  const firstPixels = await generateAndCompare(first);
  results.firstImageMs = performance.now() - opened;

  await demo.locator("[data-role=classify-cat]").click();
  await page.waitForFunction((el) => el.dataset.top1 !== undefined, await demo.elementHandle(), { timeout: 30_000 });
  const top1 = await demo.getAttribute("data-top1");
  check(top1 === REFERENCE.breed, `the page's classifier calls the generated cat ${top1}`);
  results.classifyMs = Number(await demo.getAttribute("data-classify-ms"));

  // The screenshot below is compared with the committed one on every CI machine, so the demo
  // must not draw a single glyph with a font of the machine's own: ask Chromium which fonts
  // it used for each element's text, form controls' inner (user-agent shadow) text included.
  await page.evaluate(() => document.fonts.ready);
  const systemFonts = await fontsNotFromTheBook(page, ".tinycats-demo");
  check(
    systemFonts.length === 0,
    `the demo's text is drawn with the book's web fonts only` +
      (systemFonts.length ? `; system fonts used: ${systemFonts.join("; ")}` : ""),
  );

  await hideTimings(page);
  await demo.screenshot({ path: join(outDir, "demo.png"), animations: "disabled" });

  // Uploads: a photo, a damaged file, a 12,000 × 12,000 PNG.
  const upload = async (name, mimeType, buffer) => {
    await demo.evaluate((el) => delete el.dataset.state);
    await demo.locator("[data-role=file]").setInputFiles({ name, mimeType, buffer });
    await page.waitForFunction(
      (el) => el.dataset.state === "done" || el.dataset.state === "error",
      await demo.elementHandle(),
      { timeout: 60_000 },
    );
    const started = performance.now();
    await page.evaluate(() => 1 + 1);
    return {
      state: await demo.getAttribute("data-state"),
      status: await demo.locator("[data-role=class-status]").textContent(),
      responsiveMs: performance.now() - started,
    };
  };
  const photo = readFileSync(join(root, "assets/photos/chelsea.png"));
  const real = await upload("chelsea.png", "image/png", photo);
  check(real.state === "done" && /%/.test(real.status), `a real photo is classified: "${real.status}"`);
  const corrupt = await upload("broken.png", "image/png", photo.subarray(0, photo.length >> 1));
  check(corrupt.state === "error" && /broken\.png/.test(corrupt.status), `a damaged PNG is refused by name: "${corrupt.status}"`);
  const huge = await upload("huge.png", "image/png", blackPng(12000, 12000));
  check(
    huge.state === "error" && /12000×12000/.test(huge.status) && huge.responsiveMs < 2000,
    `a 12,000 × 12,000 PNG is refused with its size, the tab answering in ${huge.responsiveMs.toFixed(0)} ms: "${huge.status}"`,
  );

  // The other graphs: the same checks, and how far each lands from the default.
  for (const other of graphs.slice(1)) {
    const otherPixels = await generateAndCompare(other);
    let sq = 0;
    for (let i = 0; i < otherPixels.length; i++) if (i % 4 !== 3) sq += ((otherPixels[i] - firstPixels[i]) / 255) ** 2;
    results[other.precision].rmseAgainstDefault = Math.sqrt(sq / ((otherPixels.length / 4) * 3));
  }

  // A permalink: opening it draws its cat, with every setting the link names.
  {
    const line = readFileSync(PERMALINK_SNAPSHOT, "utf8")
      .split("\n")
      .find((l) => l.includes("try-in-browser.html#"));
    check(line !== undefined, `${PERMALINK_SNAPSHOT} holds a permalink`);
    const fragment = line.trim().split("#")[1];
    const p = await context.newPage();
    watch(p, "permalink");
    await p.goto(`${base}try-in-browser.html#${fragment}`);
    const linked = p.locator(".tinycats-demo").first();
    await p.waitForFunction(
      (el) => el.dataset.state === "done" || el.dataset.state === "error",
      await linked.elementHandle(),
      { timeout: 120_000 },
    );
    const status = await linked.locator("[data-role=status]").textContent();
    check((await linked.getAttribute("data-state")) === "done", `the permalink's cat is drawn (${status})`);
    const pixels = await linked
      .locator("[data-role=canvas]")
      .evaluate((c) => Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data));
    results.permalink = { fragment, againstRust: await compare(pixels, PERMALINK_IMAGE, "fp32", `cat of #${fragment}`) };
    await p.evaluate(() => document.fonts.ready);
    await hideTimings(p);
    await linked.screenshot({ path: join(outDir, "permalink.png"), animations: "disabled" });
    await linked.locator("[data-role=copy-link]").click();
    await p.waitForFunction((el) => el.dataset.link !== undefined, await linked.elementHandle(), { timeout: 10_000 });
    const copied = await linked.getAttribute("data-link");
    check(copied === `${base}try-in-browser.html#${fragment}`, `"Copy link" gives the same link back: ${copied}`);
    await p.close();
  }

  // The flow-matching playground.
  if (existsSync(PLAYGROUND_DATA)) {
    results.playground = await testPlayground(context, watch);
  } else {
    check(!PLAYGROUND_REQUIRED, `the book has the flow-matching playground (${PLAYGROUND_DATA})`);
    if (!PLAYGROUND_REQUIRED) console.error("  skip the playground: its example has not run on this machine");
  }

  // The compact widgets in the chapters.
  for (const chapter of ["conditional-generation.html", "quickstart-classification.html"]) {
    const p = await context.newPage();
    watch(p, chapter);
    await p.goto(`${base}${chapter}`);
    const ok = await p
      .waitForSelector(".tinycats-demo[data-ready=true]", { timeout: 30_000 })
      .then(() => true)
      .catch(() => false);
    check(ok, `the widget in ${chapter} loads`);
    await p.close();
  }
  // Where the demo cannot run it says why, in place of the controls.
  const degraded = (name, prepare) => errorShown(context, prepare, "try-in-browser.html", ".tinycats-demo");
  const noWasm = await degraded("no WebAssembly", (p) => p.addInitScript(() => delete globalThis.WebAssembly));
  check(/WebAssembly/.test(noWasm ?? ""), `without WebAssembly the page says so: "${noWasm}"`);
  const noModel = await degraded("no model", (p) => p.route("**/models/manifest.json", (r) => r.fulfill({ status: 404 })));
  check(/manifest\.json/.test(noModel ?? ""), `when the models cannot be fetched the page names the file: "${noModel}"`);

  check(foreign.length === 0, `the pages request nothing from any other host${foreign.length ? `: ${foreign.join(" | ")}` : ""}`);
  check(consoleErrors.length === 0, `no console errors${consoleErrors.length ? `: ${consoleErrors.join(" | ")}` : ""}`);

  // Page weight: what a reader downloads.
  const sizes = { codeGz: codeGz("tinycats-demo.js"), runtimeWasmGz: gz("ort-wasm-simd-threaded.wasm") };
  for (const g of graphs) sizes[g.file] = g.bytes;
  results.pageWeight = sizes;
  check(sizes.codeGz < CODE_BUDGET_GZ, `the demo's code is ${(sizes.codeGz / 1024).toFixed(0)} kB gzipped (budget 1 MB)`);
} finally {
  await browser.close();
  server.close();
}
writeFileSync(join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
if (failures.length) {
  console.error(`browser test: ${failures.length} check(s) failed:\n  - ${failures.join("\n  - ")}`);
  process.exit(1);
}
