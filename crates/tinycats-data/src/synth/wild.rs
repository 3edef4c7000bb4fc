//! The "wild" shift: what a photo does to a portrait that the clean renders never show,
//! scaled by one severity in [0, 1] — stronger rotation, zoom and offset; a patch hidden
//! behind an object; harsh exposure and colour casts; blur; sensor noise.
//!
//! It runs after the ordinary render on its own random stream, so severity 0 leaves every
//! render exactly as it was, and a given seed, index and severity always give the same
//! image. Its trigonometry and its Gaussian noise are the portable ones of
//! [`tinycats_core::noise`], not the C library's, so the pixels are the same on every CPU.

use image::{Rgb, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tinycats_core::noise;

use crate::pixelops::{bilinear, blur_121};

/// Applies the shift at `severity` (0 < severity ≤ 1) to `img`.
pub(crate) fn apply(img: &RgbImage, severity: f32, rng: &mut ChaCha8Rng) -> RgbImage {
    let s = severity;
    let size = img.width() as f32;
    // Geometry: the inverse map of a rotation about the centre, a zoom and an offset, with
    // bilinear sampling and the edge pixels repeated outside the picture.
    let degrees = rng.random_range(-35.0 * s..=35.0 * s);
    let zoom = rng.random_range(1.0 - 0.25 * s..=1.0 + 0.45 * s);
    let (dx, dy) = (
        rng.random_range(-0.12 * s..=0.12 * s) * size,
        rng.random_range(-0.12 * s..=0.12 * s) * size,
    );
    let (cos, sin) = noise::cos_sin_turns(f64::from(degrees / 360.0).rem_euclid(1.0));
    let (cos, sin) = (cos as f32, sin as f32);
    let c = (size - 1.0) / 2.0;
    let mut out = RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let (u, v) = (x as f32 - c - dx, y as f32 - c - dy);
        let sx = (cos * u + sin * v) / zoom + c;
        let sy = (-sin * u + cos * v) / zoom + c;
        bilinear(img, sx, sy)
    });
    // Occlusion: a plain object in front of part of the portrait.
    if rng.random_bool(f64::from(0.7 * s)) {
        let w = (rng.random_range(0.15..=0.15 + 0.35 * s) * size) as u32;
        let h = (rng.random_range(0.15..=0.15 + 0.35 * s) * size) as u32;
        let x0 = rng.random_range(0..=img.width().saturating_sub(w));
        let y0 = rng.random_range(0..=img.height().saturating_sub(h));
        let colour = Rgb([rng.random(), rng.random(), rng.random()]);
        for y in y0..(y0 + h).min(img.height()) {
            for x in x0..(x0 + w).min(img.width()) {
                out.put_pixel(x, y, colour);
            }
        }
    }
    // Light: exposure and a per-channel cast, then a blur and sensor noise.
    let exposure = rng.random_range(1.0 - 0.45 * s..=1.0 + 0.25 * s);
    let cast = [0; 3].map(|_: u8| rng.random_range(1.0 - 0.35 * s..=1.0 + 0.35 * s));
    let blur_passes = rng.random_range(0.0..=3.0 * s).floor() as u32;
    for _ in 0..blur_passes {
        out = blur_121(&out);
    }
    let sigma = rng.random_range(0.0..=18.0 * s);
    let mut gauss = vec![0.0f32; (img.width() * img.height() * 3) as usize];
    noise::fill(rng.random(), 0, &mut gauss);
    for (p, n) in out.pixels_mut().zip(gauss.chunks_exact(3)) {
        for ((ch, gain), n) in p.0.iter_mut().zip(cast).zip(n) {
            *ch = (f32::from(*ch) * exposure * gain + sigma * n)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    out
}
