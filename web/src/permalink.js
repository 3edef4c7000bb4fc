// A cat as a link: the page's state in the URL's fragment, in the format of the Rust core's
// `tinycats_core::permalink` (which `tinycats sample` prints), checked against the same known
// answers (`web/test/permalink_kat.json`).
//
// Keys, in this order: breed, seed, image (left out when 0), steps, solver, guidance,
// interval (FROM,TO), shift, graph. Numbers in their shortest round-trip form, which
// JavaScript's String(number) and Rust's `{}` both write.

import { validateOptions } from "./sampling.js";

export const MAX_SEED = 4294967295;
const KEYS = ["breed", "seed", "image", "steps", "solver", "guidance", "interval", "shift", "graph"];

/**
 * The fragment (without "#") of `state`: { breed, seed, image, steps, solver, cfgScale,
 * guidanceInterval: [from, to], shift, graph }.
 */
export function formatFragment(s) {
  const parts = [`breed=${s.breed}`, `seed=${s.seed}`];
  if (s.image) parts.push(`image=${s.image}`);
  parts.push(
    `steps=${s.steps}`,
    `solver=${s.solver}`,
    `guidance=${String(s.cfgScale)}`,
    `interval=${String(s.guidanceInterval[0])},${String(s.guidanceInterval[1])}`,
    `shift=${String(s.shift)}`,
    `graph=${s.graph}`,
  );
  return parts.join("&");
}

/** A strict decimal number (no "", no "0x10", no "1e"), or NaN. */
const number = (v) => (/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v) ? Number(v) : NaN);
const whole = (v, max) => (/^\d+$/.test(v) && Number(v) <= max ? Number(v) : NaN);

/**
 * Reads a fragment (with or without "#") over `defaults` (a state as above). Returns
 * `{ state }`, or `{ problem }` naming the key and the value it refused.
 */
export function parseFragment(fragment, defaults) {
  const state = { ...defaults, guidanceInterval: [...defaults.guidanceInterval] };
  const seen = new Set();
  const text = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  for (const pair of text.split("&").filter((p) => p !== "")) {
    const at = pair.indexOf("=");
    if (at < 0) return { problem: `the link's "${pair}" is not KEY=VALUE` };
    const key = pair.slice(0, at);
    const value = decodeURIComponent(pair.slice(at + 1));
    if (!KEYS.includes(key)) return { problem: `the link has an unknown setting "${key}" (known: ${KEYS.join(", ")})` };
    if (seen.has(key)) return { problem: `the link sets "${key}" twice` };
    seen.add(key);
    const bad = (expected) => ({ problem: `the link's ${key} is "${value}", not ${expected}` });
    switch (key) {
      case "breed":
      case "graph":
        if (value === "") return bad("a name");
        state[key] = value;
        break;
      case "seed":
        state.seed = whole(value, MAX_SEED);
        if (Number.isNaN(state.seed)) return bad(`a whole number from 0 to ${MAX_SEED}`);
        break;
      case "image":
        state.image = whole(value, 4095);
        if (Number.isNaN(state.image)) return bad("a whole number from 0 to 4095");
        break;
      case "steps":
        state.steps = whole(value, 10000);
        if (Number.isNaN(state.steps)) return bad("a whole number from 0 to 10000");
        break;
      case "solver":
        if (value !== "euler" && value !== "heun") return bad("euler or heun");
        state.solver = value;
        break;
      case "guidance":
      case "shift": {
        const v = number(value);
        if (!Number.isFinite(v)) return bad("a number");
        state[key === "guidance" ? "cfgScale" : "shift"] = v;
        break;
      }
      case "interval": {
        const ends = value.split(",");
        const [from, to] = ends.map(number);
        if (ends.length !== 2 || !Number.isFinite(from) || !Number.isFinite(to)) return bad("FROM,TO (0 = noise, 1 = data)");
        state.guidanceInterval = [from, to];
        break;
      }
    }
  }
  const problem = validateOptions(state);
  return problem ? { problem: `the link's settings: ${problem}` } : { state };
}
