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

/// The pixel at `(x, y)` between pixel centres, edges repeated.
fn bilinear(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let max_x = img.width() as f32 - 1.0;
    let max_y = img.height() as f32 - 1.0;
    let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = ((x0 + 1).min(max_x as u32), (y0 + 1).min(max_y as u32));
    let at = |x: u32, y: u32, c: usize| f32::from(img.get_pixel(x, y).0[c]);
    Rgb([0, 1, 2].map(|c| {
        let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
        let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
        (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
    }))
}

/// One pass of the separable [1 2 1]/4 kernel, edges repeated, in integers.
fn blur_121(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let px = |x: i64, y: i64| {
        img.get_pixel(
            x.clamp(0, w as i64 - 1) as u32,
            y.clamp(0, h as i64 - 1) as u32,
        )
        .0
    };
    let horizontal = RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as i64, y as i64);
        let (l, m, r) = (px(x - 1, y), px(x, y), px(x + 1, y));
        Rgb([0, 1, 2]
            .map(|c| ((u16::from(l[c]) + 2 * u16::from(m[c]) + u16::from(r[c]) + 2) / 4) as u8))
    });
    let pv = |x: u32, y: i64| horizontal.get_pixel(x, y.clamp(0, h as i64 - 1) as u32).0;
    RgbImage::from_fn(w, h, |x, y| {
        let y = y as i64;
        let (u, m, d) = (pv(x, y - 1), pv(x, y), pv(x, y + 1));
        Rgb([0, 1, 2]
            .map(|c| ((u16::from(u[c]) + 2 * u16::from(m[c]) + u16::from(d[c]) + 2) / 4) as u8))
    })
}
