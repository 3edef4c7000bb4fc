//! The "wild" shift: what a photo does to a portrait that the clean renders never show,
//! scaled by one severity in [0, 1]. Before the render, look-alike breeds are drawn closer
//! together ([`LOOK_ALIKES`]) and the room gets busier; after it come stronger rotation,
//! zoom and offset; a patch hidden behind an object; harsh exposure and colour casts; blur;
//! sensor noise; and JPEG compression at low quality.
//!
//! It draws on a random stream of its own, so severity 0 leaves every render exactly as it
//! was, and a given seed, index and severity always give the same image. Its trigonometry
//! and its Gaussian noise are the portable ones of [`tinycats_core::noise`], not the C
//! library's, and the JPEG round trip encodes with `image`'s integer encoder and decodes
//! with `jpeg-decoder` built `platform_independent` (no SIMD paths chosen at run time), so
//! the pixels are the same on every CPU.

use image::{Rgb, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tinycats_core::noise;

use crate::pixelops::{bilinear, blur_121};

/// Pairs of breeds that the wild shift draws closer together: each moves
/// [`LOOK_ALIKE_PULL`] × severity of the way toward the other (`BreedSpec::toward`:
/// colours, head, ears, eyes, the extent of the pattern), keeping its own kind of
/// pattern, white markings, fur and ear form. These are the pairs people confuse: British Shorthair and Russian Blue (grey-
/// blue coats), Birman and Ragdoll (colourpoints with white), Bengal and Egyptian Mau
/// (spotted coats).
pub const LOOK_ALIKES: [(&str, &str); 3] = [
    ("British_Shorthair", "Russian_Blue"),
    ("Birman", "Ragdoll"),
    ("Bengal", "Egyptian_Mau"),
];

/// How far toward its look-alike a breed is drawn at severity 1.
pub const LOOK_ALIKE_PULL: f32 = 0.45;

/// The look-alike of the breed named `name`, if it has one.
pub fn look_alike(name: &str) -> Option<&'static str> {
    LOOK_ALIKES.iter().find_map(|&(a, b)| {
        if a == name {
            Some(b)
        } else if b == name {
            Some(a)
        } else {
            None
        }
    })
}

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
    // Compression: most photos reach a model as JPEG, here at quality 90 − 70·s to
    // 90 − 30·s (37–67 at the named split's 0.75).
    if rng.random_bool(f64::from(0.8 * s)) {
        let quality = rng.random_range(90.0 - 70.0 * s..=90.0 - 30.0 * s).round() as u8;
        out = jpeg_round_trip(&out, quality.clamp(1, 100));
    }
    out
}

/// `img` encoded as a JPEG at `quality` (1–100) and decoded again.
fn jpeg_round_trip(img: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(img)
        .expect("an RGB image in memory always encodes");
    let rgb = jpeg_decoder::Decoder::new(bytes.as_slice())
        .decode()
        .expect("a JPEG this function just wrote always decodes");
    RgbImage::from_raw(img.width(), img.height(), rgb)
        .expect("the decoder returns RGB24 at the encoded size")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_pair_both_ways_and_name_real_breeds() {
        assert_eq!(look_alike("Russian_Blue"), Some("British_Shorthair"));
        assert_eq!(look_alike("British_Shorthair"), Some("Russian_Blue"));
        assert_eq!(look_alike("Siamese"), None);
        for (a, b) in LOOK_ALIKES {
            assert!(tinycats_core::classes::BREEDS.contains(&a), "{a}");
            assert!(tinycats_core::classes::BREEDS.contains(&b), "{b}");
        }
    }

    #[test]
    fn the_jpeg_round_trip_is_lossy_in_8_pixel_blocks() {
        // A sharp diagonal edge: quality 20 rings and blocks around it, quality 100 barely
        // moves it, and the same input always decodes to the same pixels.
        let img = RgbImage::from_fn(64, 64, |x, y| {
            if x + y < 64 {
                Rgb([230, 40, 40])
            } else {
                Rgb([20, 20, 200])
            }
        });
        let err = |q: u8| {
            let out = jpeg_round_trip(&img, q);
            assert_eq!(out.dimensions(), (64, 64));
            let sum: u64 = out
                .as_raw()
                .iter()
                .zip(img.as_raw())
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            sum as f64 / (64 * 64 * 3) as f64
        };
        let (low, high) = (err(20), err(100));
        assert!(
            low > 3.0 * high && low > 2.0,
            "quality 20: {low}, quality 100: {high}"
        );
        assert_eq!(jpeg_round_trip(&img, 20), jpeg_round_trip(&img, 20));
    }
}
