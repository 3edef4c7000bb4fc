// `node --test web/test/`: the page's sampler pieces against the Rust core's answers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { exactVelocity, pointsOf } from "../src/flowfield.js";
import { fill, philox4x32_10 } from "../src/noise.js";
import { addScaled, evaluationTimes, guidanceAt, guide, integrate, timesteps, validateOptions } from "../src/sampling.js";
import { formatFragment, parseFragment } from "../src/permalink.js";
import { headerSize, resizeTriangle, rgbOverWhite, toModelInput, toRgba } from "../src/preprocess.js";

test("Philox4x32-10 gives Random123's known answers", () => {
  assert.deepEqual(philox4x32_10([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  const max = 0xffffffff;
  assert.deepEqual(philox4x32_10([max, max, max, max], [max, max]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  assert.deepEqual(
    philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  );
});

test("noise is bit for bit the Rust core's (web/test/noise_kat.json)", () => {
  const cases = JSON.parse(readFileSync(new URL("noise_kat.json", import.meta.url)));
  assert.ok(cases.length >= 5);
  for (const { seed, stream, start, f32_bits: bits } of cases) {
    const out = fill(seed, stream, new Float32Array(start + bits.length));
    const got = Array.from(new Uint32Array(out.buffer).subarray(start), (b) => b.toString(16).padStart(8, "0"));
    assert.deepEqual(got, bits, `seed ${seed}, stream ${stream}, from element ${start}`);
  }
});

test("the time grid is uniform at shift 1 and spends steps near the noise above it", () => {
  assert.deepEqual(timesteps(4, 1), [0, 0.25, 0.5, 0.75, 1]);
  const shifted = timesteps(4, 3);
  assert.equal(shifted[0], 0);
  assert.equal(shifted[4], 1);
  assert.ok(shifted[1] < 0.25 && shifted[2] < 0.5, String(shifted));
});

test("guidance is applied once: v_u + s·(v_c − v_u)", () => {
  const c = Float32Array.from([1, 2]);
  const u = Float32Array.from([0, 1]);
  assert.deepEqual(Array.from(guide(c, u, 4)), [4, 5]);
  assert.deepEqual(Array.from(guide(c, u, 1)), [1, 2]);
});

test("Euler integrates a constant field exactly and Heun's last step is Euler's", async () => {
  const calls = [];
  const v = async (x, t) => {
    calls.push(t);
    return new Float32Array(x.length).fill(2);
  };
  const x = await integrate(new Float32Array([0.5]), timesteps(4, 1), "euler", v);
  assert.equal(x[0], 2.5);
  calls.length = 0;
  await integrate(new Float32Array([0]), timesteps(3, 1), "heun", v);
  assert.equal(calls.length, 2 * 3 - 1);
  assert.ok(!calls.includes(1), "Heun never asks the network about t = 1");
});

test("guidance acts where the Rust core's does (web/test/guidance_kat.json)", () => {
  const cases = JSON.parse(readFileSync(new URL("guidance_kat.json", import.meta.url)));
  assert.ok(cases.length >= 5);
  for (const { options: o, scales, network_evaluations: nfe } of cases) {
    const opts = { steps: o.steps, shift: o.shift, solver: o.solver, cfgScale: o.cfg_scale, guidanceInterval: o.guidance_interval };
    const got = evaluationTimes(opts).map((t) => guidanceAt(opts, t));
    assert.deepEqual(got, scales, JSON.stringify(o));
    assert.equal(got.reduce((n, s) => n + (s !== 1.0 ? 2 : 1), 0), nfe, JSON.stringify(o));
  }
  assert.equal(guidanceAt({ cfgScale: 4 }, 0.0), 4, "no interval: every step guided");
});

test("sampler settings are refused by name", () => {
  assert.match(validateOptions({ steps: 20, shift: 1, cfgScale: 4, guidanceInterval: [0.8, 0.2] }), /interval/);
  assert.match(validateOptions({ steps: 0, shift: 1, cfgScale: 4 }), /steps/);
  assert.match(validateOptions({ steps: 20, shift: 1, cfgScale: -1 }), /guidance/);
  assert.equal(validateOptions({ steps: 20, shift: 1, cfgScale: 4 }), null);
});

test("f32 arithmetic: x + a·v rounds the product to f32 first", () => {
  const x = Float32Array.from([1]);
  const v = Float32Array.from([Math.fround(1 / 3)]);
  const got = addScaled(x, v, 0.1)[0];
  assert.equal(got, Math.fround(1 + Math.fround(Math.fround(1 / 3) * Math.fround(0.1))));
});

test("alpha goes over white as training reads it", () => {
  const rgba = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 128, 200, 40, 40, 255]);
  assert.deepEqual(Array.from(rgbOverWhite(rgba, 3, 1)), [255, 255, 255, 127, 127, 127, 200, 40, 40]);
});

test("resize and crop: a flat image stays flat, normalised by the model's mean and std", () => {
  const rgb = new Uint8Array(16 * 12 * 3);
  for (let i = 0; i < 16 * 12; i++) rgb.set([255, 0, 128], 3 * i);
  const x = toModelInput(rgb, 16, 12, 8, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
  assert.equal(x.length, 3 * 64);
  assert.ok(Math.abs(x[3 * 8 + 3] - 1) < 1e-6);
  assert.ok(Math.abs(x[64 + 3 * 8 + 3] + 1) < 1e-6);
  assert.deepEqual(Array.from(toRgba(x, 8, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]).subarray(0, 4)), [255, 0, 128, 255]);
  // A 2:1 downscale of a two-column ramp averages neighbours (image's Triangle filter).
  const ramp = Uint8Array.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 250, 250, 250]);
  const half = resizeTriangle(ramp, 4, 1, 2, 1);
  assert.ok(half[0] > 0 && half[0] < 100 && half[3] > 150 && half[3] < 250, String(half));
});

test("image sizes are read from headers, before any decoding", () => {
  const png = new Uint8Array(33);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(png.buffer).setUint32(16, 12000);
  new DataView(png.buffer).setUint32(20, 9000);
  assert.deepEqual(headerSize(png), { format: "PNG", width: 12000, height: 9000 });
  const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 11, 8, 0x01, 0x2c, 0x00, 0xc8, 3, 0, 0, 0]);
  assert.deepEqual(headerSize(jpeg), { format: "JPEG", width: 200, height: 300 });
  assert.equal(headerSize(Uint8Array.from([1, 2, 3, 4])), null);
});

const SIAMESE = {
  breed: "Siamese",
  seed: 0,
  image: 0,
  steps: 10,
  solver: "heun",
  cfgScale: 3,
  guidanceInterval: [0.3, 1],
  shift: 1,
  graph: "fp32",
};

test("a permalink reads and writes as the Rust core's (web/test/permalink_kat.json)", () => {
  const cases = JSON.parse(readFileSync(new URL("permalink_kat.json", import.meta.url)));
  assert.ok(cases.length >= 3);
  for (const { fragment, state: s } of cases) {
    const state = {
      breed: s.breed,
      seed: s.seed,
      image: s.image,
      steps: s.options.steps,
      solver: s.options.solver,
      cfgScale: s.options.cfg_scale,
      guidanceInterval: s.options.guidance_interval,
      shift: s.options.shift,
      graph: s.graph,
    };
    assert.equal(formatFragment(state), fragment);
    assert.deepEqual(parseFragment(fragment, SIAMESE), { state });
    assert.deepEqual(parseFragment(`#${fragment}`, SIAMESE), { state });
  }
});

test("a permalink's missing settings are the page's defaults, and bad ones are refused by name", () => {
  assert.deepEqual(parseFragment("breed=Bombay&seed=7", SIAMESE).state, { ...SIAMESE, breed: "Bombay", seed: 7 });
  assert.deepEqual(parseFragment("", SIAMESE).state, SIAMESE);
  for (const [fragment, named] of [
    ["seed=-1", /seed/],
    ["seed=4294967296", /4294967296/],
    ["steps=0", /steps/],
    ["solver=rk4", /rk4/],
    ["guidance=abc", /abc/],
    ["guidance=", /guidance/],
    ["interval=0.8,0.2", /interval/],
    ["interval=0.3", /interval/],
    ["colour=red", /colour/],
    ["seed=1&seed=2", /twice/],
    ["seed", /KEY=VALUE/],
  ]) {
    assert.match(parseFragment(fragment, SIAMESE).problem ?? "", named, fragment);
  }
});

test("the exact field of one point heads straight for it, at speed distance / (1 − t)", () => {
  const v = exactVelocity(Float32Array.from([1, 2]), Float32Array.from([0, 0, 3, -1]), 0.5);
  assert.deepEqual(Array.from(v), [2, 4, -4, 6]);
});

test("the exact field weighs points by how likely their paths pass through x", () => {
  // Two points, x on the path of the first: near the data, the first point wins outright,
  // where the second's path is 1,000 standard deviations away (no overflow to NaN).
  const points = Float32Array.from([1, 0, -1, 0]);
  const near = exactVelocity(points, Float32Array.from([0.98, 0]), 0.98);
  assert.ok(Math.abs(near[0] - 1) < 1e-5 && near[1] === 0, String(near));
  // Halfway between both paths, the two pulls cancel.
  assert.deepEqual(Array.from(exactVelocity(points, Float32Array.from([0, 0]), 0.3)), [0, 0]);
});

test("pointsOf keeps one class's points, or all of them for no class", () => {
  const points = Float32Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(pointsOf(points, [0, 1, 0], 0)), [1, 2, 5, 6]);
  assert.equal(pointsOf(points, [0, 1, 0], null), points);
});
