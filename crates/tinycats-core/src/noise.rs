//! Portable seeded Gaussian noise: the same seed gives bit-identical noise in libtorch, ONNX
//! Runtime and any other language that follows the algorithm below, on every CPU.
//!
//! libtorch's and `rand`'s generators are fine generators but each is its own: the same
//! seed gave different cats on the two back-ends. This one is written out completely, uses
//! only integer arithmetic and the correctly rounded IEEE-754 operations `+ − × ÷ √` on
//! `f64` (no library `ln`, `sin`, `cos`, whose last bit differs between platforms), and is
//! counter-based, so any element can be computed on its own.
//!
//! # The algorithm (version 1)
//!
//! Element `k` of stream `s` under seed `seed` (image `i` of a request uses stream `i`):
//!
//! 1. `(r₀, r₁, r₂, r₃) = Philox4x32-10(counter, key)` (Salmon et al., 2011, "Parallel
//!    random numbers: as easy as 1, 2, 3"; the generator of cuRAND, JAX and PyTorch's CUDA
//!    back-end) with `counter = (p mod 2³², p div 2³², s mod 2³², s div 2³²)` for the pair
//!    `p = k div 2`, and `key = (seed mod 2³², seed div 2³²)`.
//! 2. Two uniforms with 53 random bits: `u₁ = 1 − ((r₀ ≫ 5)·2²⁶ + (r₁ ≫ 6))·2⁻⁵³ ∈ (0, 1]`
//!    and `u₂ = ((r₂ ≫ 5)·2²⁶ + (r₃ ≫ 6))·2⁻⁵³ ∈ [0, 1)`.
//! 3. Box–Muller: `ρ = √(−2·ln u₁)`, and element `k` is `ρ·cos 2πu₂` when `k` is even,
//!    `ρ·sin 2πu₂` when odd, rounded to `f32`.
//! 4. `ln` and `cos`/`sin` are evaluated as in [`ln_unit`] and [`cos_sin_turns`]: range
//!    reduction by exact operations, then fixed Taylor polynomials in Horner form, with
//!    coefficients computed as `1 / n` and `1 / n!` by division. No fused multiply-add.

use std::array::from_fn;
use std::sync::LazyLock;

/// Philox4x32's multipliers and Weyl key increments (Salmon et al., 2011).
const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// The Philox4x32-10 block function: 10 rounds over a 128-bit counter under a 64-bit key.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// A uniform in [0, 1) from 53 bits of two words.
fn uniform53(a: u32, b: u32) -> f64 {
    let bits = (u64::from(a >> 5) << 26) | u64::from(b >> 6);
    bits as f64 * (1.0 / 9_007_199_254_740_992.0) // 2⁻⁵³
}

/// `ln x` for `x ∈ (0, 1]` (normal numbers), portably: `x = m·2ᵉ` with `m ∈ [√½, √2)` by
/// bit manipulation, `ln m = 2·atanh s = 2(s + s³/3 + … + s²⁵/25)` with `s = (m − 1)/(m + 1)`
/// (`|s| ≤ 0.172`, truncation error below 10⁻¹⁹), plus `e·ln 2`.
pub fn ln_unit(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023 << 52)); // [1, 2)
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let c = &*ATANH;
    let mut p = c[12];
    for n in (0..12).rev() {
        p = p * s2 + c[n];
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * s * p
}

/// `(cos 2πu, sin 2πu)` for `u ∈ [0, 1)`, portably: the quadrant and the fraction of it come
/// from `4u` exactly; the angle within the quadrant is folded to `a ∈ [0, π/4]`, where Taylor
/// polynomials to `a¹⁸/18!` and `a¹⁷/17!` are exact to below 10⁻¹⁸.
pub fn cos_sin_turns(u: f64) -> (f64, f64) {
    let q4 = u * 4.0;
    let q = q4.floor();
    let f = q4 - q; // [0, 1)
    let (c, s) = if f <= 0.5 {
        let a = f * std::f64::consts::FRAC_PI_2;
        (cos_poly(a), sin_poly(a))
    } else {
        let a = (1.0 - f) * std::f64::consts::FRAC_PI_2;
        (sin_poly(a), cos_poly(a))
    };
    match q as u8 {
        0 => (c, s),
        1 => (-s, c),
        2 => (-c, -s),
        _ => (s, -c),
    }
}

/// `n!` as an exact `f64` (exact up to 18! < 2⁵³).
fn factorial(n: u32) -> f64 {
    (1..=n).map(f64::from).product()
}

/// `(−1)ᵏ / n!`.
fn taylor(k: u32, n: u32) -> f64 {
    let sign = if k.is_multiple_of(2) { 1.0 } else { -1.0 };
    sign / factorial(n)
}

/// The polynomials' coefficients, computed once (each by the same division as written in
/// the algorithm): `1/(2n+1)` for `ln`, `(−1)ᵏ/(2k+1)!` for `sin`, `(−1)ᵏ/(2k)!` for `cos`.
static ATANH: LazyLock<[f64; 13]> = LazyLock::new(|| from_fn(|n| 1.0 / (2 * n + 1) as f64));
static SIN: LazyLock<[f64; 9]> = LazyLock::new(|| from_fn(|k| taylor(k as u32, 2 * k as u32 + 1)));
static COS: LazyLock<[f64; 10]> = LazyLock::new(|| from_fn(|k| taylor(k as u32, 2 * k as u32)));

/// `sin a = Σₖ₌₀⁸ (−1)ᵏ a²ᵏ⁺¹/(2k+1)!`, Horner in `a²`.
fn sin_poly(a: f64) -> f64 {
    let (c, a2) = (&*SIN, a * a);
    let mut p = c[8];
    for k in (0..8).rev() {
        p = c[k] + a2 * p;
    }
    a * p
}

/// `cos a = Σₖ₌₀⁹ (−1)ᵏ a²ᵏ/(2k)!`, Horner in `a²`.
fn cos_poly(a: f64) -> f64 {
    let (c, a2) = (&*COS, a * a);
    let mut p = c[9];
    for k in (0..9).rev() {
        p = c[k] + a2 * p;
    }
    p
}

/// The Gaussian pair of Philox block `pair` of `stream`: `(ρ cos 2πu₂, ρ sin 2πu₂)`.
fn pair(seed: u64, stream: u64, pair: u64) -> (f32, f32) {
    let counter = [
        pair as u32,
        (pair >> 32) as u32,
        stream as u32,
        (stream >> 32) as u32,
    ];
    let r = philox4x32_10(counter, [seed as u32, (seed >> 32) as u32]);
    let u1 = 1.0 - uniform53(r[0], r[1]); // (0, 1]
    let u2 = uniform53(r[2], r[3]); // [0, 1)
    let rho = (-2.0 * ln_unit(u1)).sqrt();
    let (c, s) = cos_sin_turns(u2);
    ((rho * c) as f32, (rho * s) as f32)
}

/// Fills `out` with elements `0..out.len()` of `stream` under `seed`.
pub fn fill(seed: u64, stream: u64, out: &mut [f32]) {
    for (p, chunk) in out.chunks_mut(2).enumerate() {
        let (a, b) = pair(seed, stream, p as u64);
        chunk[0] = a;
        if let Some(second) = chunk.get_mut(1) {
            *second = b;
        }
    }
}

/// Noise for `images` images of `per_image` values each, image `i` from stream `i`: an
/// image's noise does not depend on how many images are drawn with it.
pub fn images(seed: u64, images: usize, per_image: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; images * per_image];
    for (i, image) in out.chunks_mut(per_image.max(1)).enumerate() {
        fill(seed, i as u64, image);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's published known-answer vectors (its `kat_vectors` file).
    #[test]
    fn philox_matches_the_random123_known_answers() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn portable_ln_and_sincos_agree_with_the_platform_to_a_few_ulps() {
        let mut worst: f64 = 0.0;
        for i in 1..=100_000u32 {
            let x = f64::from(i) / 100_000.0;
            worst = worst.max((ln_unit(x) - x.ln()).abs() / x.ln().abs().max(1e-300));
            let x = x * 1e-12;
            worst = worst.max((ln_unit(x) - x.ln()).abs() / x.ln().abs());
        }
        assert!(worst < 1e-15, "ln relative error {worst:e}");
        assert_eq!(ln_unit(1.0), 0.0);
        let mut worst: f64 = 0.0;
        for i in 0..100_000u32 {
            let u = f64::from(i) / 100_000.0;
            let (c, s) = cos_sin_turns(u);
            let a = std::f64::consts::TAU * u;
            worst = worst.max((c - a.cos()).abs()).max((s - a.sin()).abs());
        }
        assert!(worst < 1e-15, "cos/sin absolute error {worst:e}");
        assert_eq!(cos_sin_turns(0.0), (1.0, 0.0));
        assert_eq!(cos_sin_turns(0.25), (0.0, 1.0));
        assert_eq!(cos_sin_turns(0.5), (-1.0, -0.0));
    }

    #[test]
    fn the_noise_is_standard_normal() {
        let x = images(7, 4, 250_000);
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let within_one = x.iter().filter(|v| v.abs() < 1.0).count() as f64 / n;
        let kurtosis = x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(4))
            .sum::<f64>()
            / n
            / (var * var);
        // Standard errors at n = 10⁶: mean 0.001, variance 0.0014, P(|z| < 1) 0.0005,
        // kurtosis ~0.005. Tolerances: five standard errors.
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var - 1.0).abs() < 0.007, "variance {var}");
        assert!(
            (within_one - 0.682_689).abs() < 0.0025,
            "P(|z| < 1) = {within_one}"
        );
        assert!((kurtosis - 3.0).abs() < 0.03, "kurtosis {kurtosis}");
        // Neighbouring elements (a cos/sin pair) and neighbouring streams are uncorrelated.
        let corr = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum::<f64>()
                / a.len() as f64
        };
        let evens: Vec<f32> = x.iter().step_by(2).copied().collect();
        let odds: Vec<f32> = x.iter().skip(1).step_by(2).copied().collect();
        assert!(corr(&evens, &odds).abs() < 0.01);
        assert!(corr(&x[..250_000], &x[250_000..500_000]).abs() < 0.01);
    }

    #[test]
    fn an_image_keeps_its_noise_whatever_the_batch() {
        let two = images(3, 2, 10);
        let five = images(3, 5, 10);
        assert_eq!(two[..], five[..20]);
        assert_ne!(images(3, 1, 10), images(4, 1, 10));
        let mut odd = vec![0.0; 7];
        fill(3, 1, &mut odd);
        assert_eq!(odd[..], two[10..17]);
    }

    /// The first values of seed 0, pinned: another implementation of the algorithm (the
    /// browser page's) must print exactly these, and a change here changes every sample in
    /// the book.
    #[test]
    fn seed_zero_starts_with_these_values() {
        let x = images(0, 2, 4);
        let bits: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, GOLDEN, "{x:?}");
    }

    /// The known answers that the browser page's implementation (`web/src/noise.js`) is
    /// tested against too (`node --test web/test/`): one file, both implementations, bit for
    /// bit, including streams and seeds above 2³², and elements far into a stream.
    #[test]
    fn the_browser_pages_known_answers_hold_here() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/test/noise_kat.json");
        let text = std::fs::read_to_string(path).expect("web/test/noise_kat.json");
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert!(cases.len() >= 5);
        for case in cases {
            let (seed, stream) = (
                case["seed"].as_u64().unwrap(),
                case["stream"].as_u64().unwrap(),
            );
            let start = case["start"].as_u64().unwrap() as usize;
            let want: Vec<String> = serde_json::from_value(case["f32_bits"].clone()).unwrap();
            let mut x = vec![0.0f32; start + want.len()];
            fill(seed, stream, &mut x);
            let got: Vec<String> = x[start..]
                .iter()
                .map(|v| format!("{:08x}", v.to_bits()))
                .collect();
            assert_eq!(
                got, want,
                "seed {seed}, stream {stream}, from element {start}"
            );
        }
    }

    /// `f32::to_bits` of -0.09047305, -1.0051318, -0.9238336, -2.5129538 (stream 0) and
    /// 1.1240035, 0.43676695, -1.7679744, 0.069387704 (stream 1); an independent Python
    /// implementation with the platform's `ln`, `cos` and `sin` printed the same `f32`s.
    const GOLDEN: [u32; 8] = [
        3183036911, 3212879913, 3211559004, 3223376956, 1066393433, 1054842859, 3219279100,
        1032723236,
    ];
}
