//! Camera effects after drawing: a lighting gradient, white balance, sensor noise, blur.
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use tiny_skia::{GradientStop, LinearGradient, PathBuilder, Pixmap, Rect, SpreadMode, Transform};

use super::canvas::{Canvas, color, pt};

/// The effects drawn for one image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effects {
    pub light_angle: f32,
    pub noise_sigma: f32,
    pub blur_passes: u8,
}

/// Applies lighting, colour cast, noise and blur in place.
pub(crate) fn apply(pixmap: &mut Pixmap, rng: &mut ChaCha8Rng) -> Effects {
    let s = pixmap.width() as f32;
    let light_angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    let (dx, dy) = (light_angle.cos() * s / 2.0, light_angle.sin() * s / 2.0);
    let bright = rng.random_range(0.0..0.25);
    let dark = rng.random_range(0.05..0.4);
    let shader = LinearGradient::new(
        pt(s / 2.0 - dx, s / 2.0 - dy),
        pt(s / 2.0 + dx, s / 2.0 + dy),
        vec![
            GradientStop::new(0.0, color([255, 250, 240], bright)),
            GradientStop::new(0.5, color([0, 0, 0], 0.0)),
            GradientStop::new(1.0, color([10, 10, 20], dark)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    );
    let full = PathBuilder::from_rect(Rect::from_xywh(0.0, 0.0, s, s).expect("positive size"));
    Canvas {
        pixmap,
        ts: Transform::identity(),
    }
    .fill_shader(Some(full), shader, None);

    let cast = [0; 3].map(|_: u8| rng.random_range(0.95..1.05f32));
    let exposure = rng.random_range(0.9..1.1f32);
    let noise_sigma = if rng.random_bool(0.7) {
        rng.random_range(0.0..7.0f32)
    } else {
        0.0
    };
    let normal = Normal::new(0.0f32, noise_sigma.max(1e-6)).expect("sigma is positive");
    for px in pixmap.data_mut().chunks_exact_mut(4) {
        for c in 0..3 {
            let n = if noise_sigma > 0.0 {
                normal.sample(rng)
            } else {
                0.0
            };
            px[c] = (px[c] as f32 * cast[c] * exposure + n)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
        px[3] = 255;
    }
    let blur_passes = *[0u8, 0, 0, 1, 1, 2]
        .get(rng.random_range(0..6))
        .unwrap_or(&0);
    for _ in 0..blur_passes {
        blur_121(pixmap);
    }
    Effects {
        light_angle,
        noise_sigma,
        blur_passes,
    }
}

/// One pass of the separable [1 2 1]/4 kernel with clamped edges.
fn blur_121(pixmap: &mut Pixmap) {
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let src = pixmap.data().to_vec();
    let mut tmp = vec![0u8; src.len()];
    let at = |x: usize, y: usize| (y * w + x) * 4;
    for y in 0..h {
        for x in 0..w {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            for c in 0..3 {
                let v = src[at(l, y) + c] as u16
                    + 2 * src[at(x, y) + c] as u16
                    + src[at(r, y) + c] as u16;
                tmp[at(x, y) + c] = ((v + 2) / 4) as u8;
            }
            tmp[at(x, y) + 3] = 255;
        }
    }
    let out = pixmap.data_mut();
    for y in 0..h {
        let (u, d) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            for c in 0..3 {
                let v = tmp[at(x, u) + c] as u16
                    + 2 * tmp[at(x, y) + c] as u16
                    + tmp[at(x, d) + c] as u16;
                out[at(x, y) + c] = ((v + 2) / 4) as u8;
            }
        }
    }
}
