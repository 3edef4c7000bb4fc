// The sampling loop of the Rust core (`crates/tinycats-core/src/sampling.rs`), over
// Float32Arrays: the same time grid, guidance applied once by the caller of the network, and
// Heun's last step an Euler step. Every `x + a·v` rounds as Rust's f32 arithmetic does:
// `a` to f32, the product to f32, then the sum to f32.

/** The time grid 0 = t₀ < … < t_n = 1 after the SD3 shift (doubles, as in Rust). */
export function timesteps(steps, shift) {
  const out = [];
  for (let i = 0; i <= steps; i++) {
    let s = 1.0 - i / steps;
    s = (shift * s) / (1.0 + (shift - 1.0) * s);
    out.push(1.0 - s);
  }
  return out;
}

/** `x + a·v`, elementwise, in f32. */
export function addScaled(x, v, a) {
  const a32 = Math.fround(a);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + Math.fround(v[i] * a32);
  return out;
}

/** Classifier-free guidance `v_u + s·(v_c − v_u)`, as the core's `guide`. */
export function guide(cond, uncond, scale) {
  return addScaled(uncond, addScaled(cond, uncond, -1.0), scale);
}

/**
 * The guidance scale at time t, as the core's `SampleOptions::guidance_at`: `cfgScale` where
 * t lies in `guidanceInterval` ([from, to], inclusive to 1e-9; 0 = noise, 1 = data), else 1
 * (the conditional velocity alone, one network row instead of two).
 */
export function guidanceAt({ cfgScale, guidanceInterval = [0, 1] }, t) {
  const slack = 1e-9;
  const [from, to] = guidanceInterval;
  return cfgScale !== 1.0 && t >= from - slack && t <= to + slack ? cfgScale : 1.0;
}

/** The times at which a sample evaluates the velocity, as the core's `evaluation_times`. */
export function evaluationTimes({ steps, shift, solver }) {
  const times = timesteps(steps, shift);
  const out = [];
  for (let i = 0; i + 1 < times.length; i++) {
    out.push(times[i]);
    if (solver === "heun" && i + 2 < times.length) out.push(times[i + 1]);
  }
  return out;
}

/** Checks sampler settings as the core's `SampleOptions::validate` does. */
export function validateOptions({ steps, shift, cfgScale, guidanceInterval = [0, 1] }) {
  if (!Number.isInteger(steps) || steps < 1 || steps > 10000) {
    return `steps must be a whole number in 1..=10000, not ${steps}`;
  }
  if (!(shift > 0 && Number.isFinite(shift))) return `shift must be a finite number > 0, not ${shift}`;
  if (!(cfgScale >= 0 && Number.isFinite(cfgScale))) {
    return `guidance must be a finite number ≥ 0, not ${cfgScale}`;
  }
  const [from, to] = guidanceInterval;
  if (!(from >= 0 && from <= 1 && to >= 0 && to <= 1 && from <= to)) {
    return `the guidance interval must be two times from ≤ to in [0, 1], not [${from}, ${to}]`;
  }
  return null;
}

/**
 * Integrates dx/dt = velocity(x, t) over `times` from `x`, awaiting `onStep` after every
 * step with `{ index, total, t, x, velocity }`. `velocity` is async and gets t as a number.
 */
export async function integrate(x, times, solver, velocity, onStep) {
  const total = times.length - 1;
  for (let i = 0; i < total; i++) {
    const t = times[i];
    const tNext = times[i + 1];
    const dt = tNext - t;
    let v = await velocity(x, t);
    if (solver === "heun" && i + 1 !== total) {
      const xEuler = addScaled(x, v, dt);
      const vNext = await velocity(xEuler, tNext);
      v = addScaled(v, addScaled(vNext, v, -1.0), 0.5);
    }
    x = addScaled(x, v, dt);
    if (onStep) await onStep({ index: i + 1, total, t: tNext, x, velocity: v });
  }
  return x;
}

/** The model's current guess of the clean image after a step: x_t + (1 − t)·v. */
export function preview(step) {
  return addScaled(step.x, step.velocity, 1.0 - step.t);
}
