// Bundles the demo for the book: `node web/build.mjs OUT_DIR` writes OUT_DIR/tinycats-demo.js
// (our code and ONNX Runtime Web's JavaScript, minified) and ONNX Runtime's WebAssembly
// beside it. `cargo xtask` runs it before mdbook and adds the models; run that instead.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const out = process.argv[2];
if (!out) {
  console.error("usage: node web/build.mjs OUT_DIR");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, "src/demo.js")],
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2022"],
  outfile: join(out, "tinycats-demo.js"),
  legalComments: "linked",
  logLevel: "warning",
});
const require = createRequire(import.meta.url);
const wasm = require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
copyFileSync(wasm, join(out, "ort-wasm-simd-threaded.wasm"));
