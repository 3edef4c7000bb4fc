// The exact marginal velocity of a set of 2-D points, as the flow-matching chapter's
// `exact_velocity` (examples/09_flow_matching_from_scratch/network.rs) computes it:
//
//   v*(x, t) = (E[x1 | x_t = x] − x) / (1 − t),  x_t ~ N(t·x1, (1 − t)²·I),
//
// every point x1 weighted by how likely the path from it passes through x. In doubles, as
// the example computes it, over Float32Array points `[x0, y0, x1, y1, …]`.

/** The exact velocity at each of the `x` points (flat pairs) at time `t`, as a Float32Array. */
export function exactVelocity(points, x, t) {
  const m = points.length / 2;
  const s = 1 - t;
  const scale = 1 / (2 * s * s);
  const logw = new Float64Array(m);
  const out = new Float32Array(x.length);
  for (let i = 0; 2 * i < x.length; i++) {
    const px = x[2 * i];
    const py = x[2 * i + 1];
    let best = -Infinity;
    for (let j = 0; j < m; j++) {
      const dx = px - t * points[2 * j];
      const dy = py - t * points[2 * j + 1];
      const lw = -(dx * dx + dy * dy) * scale;
      logw[j] = lw;
      if (lw > best) best = lw;
    }
    let sum = 0;
    let ex = 0;
    let ey = 0;
    for (let j = 0; j < m; j++) {
      const w = Math.exp(logw[j] - best);
      sum += w;
      ex += w * points[2 * j];
      ey += w * points[2 * j + 1];
    }
    out[2 * i] = (ex / sum - px) / s;
    out[2 * i + 1] = (ey / sum - py) / s;
  }
  return out;
}

/** The points of one class (`labels[j] === c`), or all of them for `c === null`. */
export function pointsOf(points, labels, c) {
  if (c === null) return points;
  const out = [];
  for (let j = 0; j < labels.length; j++) if (labels[j] === c) out.push(points[2 * j], points[2 * j + 1]);
  return Float32Array.from(out);
}
