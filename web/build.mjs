// Bundles the book's two in-page widgets: `node web/build.mjs OUT_DIR` writes
// OUT_DIR/tinycats-demo.js (the generation and classification demo) and
// OUT_DIR/tinycats-playground.js (the flow-matching playground), the code they share
// (ONNX Runtime Web's JavaScript among it) as chunks beside them, all minified, ONNX
// Runtime's WebAssembly, and OUT_DIR/bundle.json, which lists the files each page loads.
// `cargo xtask` runs it before mdbook and adds the models; run that instead.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const out = process.argv[2];
if (!out) {
  console.error("usage: node web/build.mjs OUT_DIR");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(out, { recursive: true });
const built = await esbuild.build({
  entryPoints: { "tinycats-demo": join(here, "src/demo.js"), "tinycats-playground": join(here, "src/playground.js") },
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: ["es2022"],
  outdir: out,
  chunkNames: "chunk-[hash]",
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});
// Each entry with every chunk it imports, statically or not: what its page downloads.
const outputs = built.metafile.outputs;
const rel = (p) => relative(out, resolve(p)).replaceAll("\\", "/");
const closure = (file, seen = new Set()) => {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const i of outputs[file].imports) if (!i.external && outputs[i.path]) closure(i.path, seen);
  return seen;
};
const pages = {};
for (const [file, meta] of Object.entries(outputs)) {
  if (meta.entryPoint) pages[rel(file)] = [...closure(file)].map(rel).sort();
}
writeFileSync(join(out, "bundle.json"), `${JSON.stringify(pages, null, 2)}\n`);
const require = createRequire(import.meta.url);
const wasm = require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
copyFileSync(wasm, join(out, "ort-wasm-simd-threaded.wasm"));
