// What the book's two in-page widgets share: ONNX Runtime Web set up once for this page, a
// small DOM helper, JSON fetches that fail with the file's name, and the WebAssembly check.

import * as ort from "onnxruntime-web/wasm";

/** The folder the bundle is served from (`demo/` in the built book). */
export const HERE = new URL(".", import.meta.url);

ort.env.wasm.wasmPaths = { wasm: new URL("ort-wasm-simd-threaded.wasm", HERE).href };
// Threads need a cross-origin-isolated page, which static hosts such as GitHub Pages do not
// serve; one thread is what every reader gets.
ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
ort.env.wasm.proxy = false;

export { ort };

/** An error whose message is meant for the reader, shown as it is. */
export class PageError extends Error {}

/** `el("p", { class: "x", onclick: f }, "text", child)`. */
export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
};

/**
 * Writes a status line: `text`, then this run's timing, then `after`. The timing sits in a
 * span of its own (`.tinycats-timing`): it differs from machine to machine, so the book's
 * screenshots leave it out and show the rest of the line.
 */
export function say(status, text, timing = "", after = "") {
  status.replaceChildren(text, ...(timing ? [el("span", { class: "tinycats-timing" }, timing)] : []), after);
}

export const ms = (v) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
export const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The response for `url`, or a [`PageError`] that names the file. */
export async function fetchOk(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new PageError(`could not fetch ${url.pathname}: ${e.message}`);
  }
  if (!response.ok) throw new PageError(`${url.pathname}: HTTP ${response.status}`);
  return response;
}

export async function fetchJson(url) {
  const response = await fetchOk(url);
  try {
    return await response.json();
  } catch (e) {
    throw new PageError(`${url.pathname} is not valid JSON: ${e.message}`);
  }
}

/** An ONNX Runtime session on the graph at `url`, and how long fetching and loading took. */
export async function loadSession(url) {
  const started = performance.now();
  const bytes = new Uint8Array(await (await fetchOk(url)).arrayBuffer());
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  } catch (e) {
    throw new PageError(`ONNX Runtime could not load ${url.pathname}: ${e.message ?? e}`);
  }
  return { session, bytes: bytes.length, loadMs: performance.now() - started };
}

/** Why the widgets cannot run in this browser, or null. */
export function supportProblem(what) {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    return `This browser has no WebAssembly, which ONNX Runtime Web needs: ${what} cannot run here.`;
  }
  return null;
}

const onPrintPage = () => location.pathname.endsWith("/print.html");

/**
 * Mounts every `selector` element of the page with `mount(root)` and adds the widget's
 * `style`; on the print page, which holds every chapter at once, it says where the widget
 * runs instead of loading any model.
 */
export function startWidgets(selector, style, what, mount) {
  const roots = document.querySelectorAll(selector);
  if (roots.length === 0) return;
  document.head.append(el("style", {}, style));
  if (onPrintPage()) {
    for (const root of roots) root.replaceChildren(el("p", {}, `${what} runs on its chapter's page, not in the print view.`));
    return;
  }
  for (const root of roots) mount(root);
}
