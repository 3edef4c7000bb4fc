// Portable seeded Gaussian noise, bit for bit the algorithm of the Rust core
// (`crates/tinycats-core/src/noise.rs`, version 1): Philox4x32-10, 53-bit uniforms,
// Box–Muller with range-reduced Taylor polynomials. Only integer arithmetic and the correctly
// rounded IEEE-754 operations + − × ÷ √ on doubles, which JavaScript computes exactly as Rust
// does (no fused multiply-add), so the same seed gives the same noise here as in libtorch and
// ONNX Runtime. `web/test/noise_kat.json` holds answers that both implementations must give.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO16 = 65536;

/** The high 32 bits of the 64-bit product of two unsigned 32-bit integers, exactly. */
function mulhi(a, b) {
  // a·b = (a_hi·b)·2¹⁶ + a_lo·b with both partial products below 2⁴⁸ (exact in a double).
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const p1 = aLo * b;
  const p2 = aHi * b;
  const s = p2 + Math.floor(p1 / TWO16); // < 2⁴⁹, exact
  return Math.floor(s / TWO16) >>> 0;
}

/** The Philox4x32-10 block function: 10 rounds over a 128-bit counter under a 64-bit key. */
export function philox4x32_10(counter, key) {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/** A uniform in [0, 1) from 53 bits of two words. */
function uniform53(a, b) {
  const bits = (a >>> 5) * 67108864 + (b >>> 6); // (a ≫ 5)·2²⁶ + (b ≫ 6) < 2⁵³
  return bits * (1.0 / 9007199254740992.0); // 2⁻⁵³
}

const ATANH = Array.from({ length: 13 }, (_, n) => 1.0 / (2 * n + 1));
const factorial = (n) => {
  let p = 1;
  for (let i = 1; i <= n; i++) p *= i;
  return p;
};
const taylor = (k, n) => (k % 2 === 0 ? 1.0 : -1.0) / factorial(n);
const SIN = Array.from({ length: 9 }, (_, k) => taylor(k, 2 * k + 1));
const COS = Array.from({ length: 10 }, (_, k) => taylor(k, 2 * k));
const FRAC_PI_2 = Math.PI / 2; // exact halving: the correctly rounded π/2, as Rust's constant

const bitsView = new DataView(new ArrayBuffer(8));

/** `ln x` for x ∈ (0, 1], as the Rust core's `ln_unit`. */
export function lnUnit(x) {
  bitsView.setFloat64(0, x);
  const hi = bitsView.getUint32(0);
  let e = ((hi >>> 20) & 0x7ff) - 1023;
  bitsView.setUint32(0, ((hi & 0x000fffff) | (1023 << 20)) >>> 0);
  let m = bitsView.getFloat64(0); // [1, 2)
  if (m > Math.SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1.0) / (m + 1.0);
  const s2 = s * s;
  let p = ATANH[12];
  for (let n = 11; n >= 0; n--) p = p * s2 + ATANH[n];
  return e * Math.LN2 + 2.0 * s * p;
}

function sinPoly(a) {
  const a2 = a * a;
  let p = SIN[8];
  for (let k = 7; k >= 0; k--) p = SIN[k] + a2 * p;
  return a * p;
}

function cosPoly(a) {
  const a2 = a * a;
  let p = COS[9];
  for (let k = 8; k >= 0; k--) p = COS[k] + a2 * p;
  return p;
}

/** `[cos 2πu, sin 2πu]` for u ∈ [0, 1), as the Rust core's `cos_sin_turns`. */
export function cosSinTurns(u) {
  const q4 = u * 4.0;
  const q = Math.floor(q4);
  const f = q4 - q;
  let c;
  let s;
  if (f <= 0.5) {
    const a = f * FRAC_PI_2;
    c = cosPoly(a);
    s = sinPoly(a);
  } else {
    const a = (1.0 - f) * FRAC_PI_2;
    c = sinPoly(a);
    s = cosPoly(a);
  }
  switch (q) {
    case 0:
      return [c, s];
    case 1:
      return [-s, c];
    case 2:
      return [-c, -s];
    default:
      return [s, -c];
  }
}

// Seeds and streams are integers below 2⁵³ here (the page's seeds are 32-bit).
const low32 = (v) => v % 4294967296 >>> 0;
const high32 = (v) => Math.floor(v / 4294967296) >>> 0;

/** Fills `out` (a Float32Array) with elements 0..out.length of `stream` under `seed`. */
export function fill(seed, stream, out) {
  const key = [low32(seed), high32(seed)];
  for (let p = 0; 2 * p < out.length; p++) {
    const r = philox4x32_10([low32(p), high32(p), low32(stream), high32(stream)], key);
    const u1 = 1.0 - uniform53(r[0], r[1]);
    const u2 = uniform53(r[2], r[3]);
    const rho = Math.sqrt(-2.0 * lnUnit(u1));
    const [c, s] = cosSinTurns(u2);
    out[2 * p] = rho * c; // a Float32Array store rounds to f32, as Rust's `as f32`
    if (2 * p + 1 < out.length) out[2 * p + 1] = rho * s;
  }
  return out;
}

/** Noise for `images` images of `perImage` values each, image i from stream i. */
export function images(seed, count, perImage) {
  const out = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) fill(seed, i, out.subarray(i * perImage, (i + 1) * perImage));
  return out;
}
