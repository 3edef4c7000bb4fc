//! Indoor backgrounds: a wall or sofa colour with a gradient, a texture, and clutter.
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tiny_skia::{GradientStop, LinearGradient, PathBuilder, Pixmap, Rect, SpreadMode, Transform};

use super::canvas::{Canvas, blob, color, ellipse};
use super::colour::{Rgb, mix, shade};

/// Wall, floor and fabric colours seen in pet photos.
const ROOM: [Rgb; 14] = [
    [214, 204, 186],
    [190, 176, 150],
    [150, 120, 90],
    [112, 84, 60],
    [226, 222, 214],
    [168, 172, 170],
    [96, 104, 110],
    [120, 140, 160],
    [70, 86, 110],
    [140, 150, 110],
    [90, 110, 80],
    [180, 140, 130],
    [130, 70, 60],
    [60, 58, 56],
];

/// Background texture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackgroundKind {
    Plain,
    Stripes,
    Checks,
    Dots,
    Boards,
}

/// Paints the whole pixmap; returns the texture and the number of clutter objects.
pub(crate) fn draw(pixmap: &mut Pixmap, rng: &mut ChaCha8Rng) -> (BackgroundKind, u8) {
    let s = pixmap.width() as f32;
    let a = *ROOM.choose(rng).unwrap_or(&ROOM[0]);
    let b = mix(
        a,
        *ROOM.choose(rng).unwrap_or(&ROOM[1]),
        rng.random_range(0.0..0.5),
    );
    let angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    let (dx, dy) = (angle.cos() * s / 2.0, angle.sin() * s / 2.0);
    let full = PathBuilder::from_rect(Rect::from_xywh(0.0, 0.0, s, s).expect("positive size"));
    let mut cv = Canvas {
        pixmap,
        ts: Transform::identity(),
    };
    let grad = LinearGradient::new(
        super::canvas::pt(s / 2.0 - dx, s / 2.0 - dy),
        super::canvas::pt(s / 2.0 + dx, s / 2.0 + dy),
        vec![
            GradientStop::new(0.0, color(a, 1.0)),
            GradientStop::new(1.0, color(b, 1.0)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    );
    cv.fill_shader(Some(full.clone()), grad, None);

    let kind = *[
        BackgroundKind::Plain,
        BackgroundKind::Plain,
        BackgroundKind::Stripes,
        BackgroundKind::Checks,
        BackgroundKind::Dots,
        BackgroundKind::Boards,
    ]
    .choose(rng)
    .unwrap_or(&BackgroundKind::Plain);
    let ink = if rng.random_bool(0.5) {
        shade(a, 0.8)
    } else {
        shade(a, 1.2)
    };
    let period = s * rng.random_range(0.08..0.2);
    let alpha = rng.random_range(0.25..0.5);
    let mut t = rng.random_range(0.0..period);
    match kind {
        BackgroundKind::Plain => {}
        BackgroundKind::Stripes => {
            while t < s {
                cv.fill(rect(t, 0.0, period * 0.4, s), ink, alpha, None);
                t += period;
            }
        }
        BackgroundKind::Checks => {
            let (mut y, mut row) = (0.0, 0);
            while y < s {
                let mut x = if row % 2 == 0 { 0.0 } else { period };
                while x < s {
                    cv.fill(rect(x, y, period, period), ink, alpha, None);
                    x += 2.0 * period;
                }
                y += period;
                row += 1;
            }
        }
        BackgroundKind::Dots => {
            let mut y = t;
            while y < s {
                let mut x = t;
                while x < s {
                    cv.fill(
                        ellipse(x, y, period * 0.18, period * 0.18),
                        ink,
                        alpha,
                        None,
                    );
                    x += period;
                }
                y += period;
            }
        }
        BackgroundKind::Boards => {
            while t < s {
                cv.fill(rect(0.0, t, s, s * 0.012 + 0.6), shade(a, 0.6), alpha, None);
                t += period * 1.5;
            }
        }
    }

    // A sofa, blanket or floor across the bottom.
    if rng.random_bool(0.5) {
        let top = s * rng.random_range(0.6..0.85);
        let c = *ROOM.choose(rng).unwrap_or(&ROOM[2]);
        cv.fill(rect(0.0, top, s, s - top), c, 1.0, None);
    }
    let clutter = rng.random_range(0..4u8);
    for _ in 0..clutter {
        clutter_object(&mut cv, s, rng);
    }
    (kind, clutter)
}

/// One object of clutter: a box, a lamp or a plant.
fn clutter_object(cv: &mut Canvas, s: f32, rng: &mut ChaCha8Rng) {
    let c = *ROOM.choose(rng).unwrap_or(&ROOM[3]);
    let (x, y) = (rng.random_range(0.0..s), rng.random_range(0.0..s));
    let r = s * rng.random_range(0.06..0.2);
    match rng.random_range(0..3) {
        0 => cv.fill(
            rect(x - r, y - r * 0.6, 2.0 * r, 1.2 * r),
            shade(c, 1.1),
            1.0,
            None,
        ),
        1 => cv.fill(
            ellipse(x, y, r * 0.7, r * 0.7),
            mix(c, [250, 240, 200], 0.4),
            1.0,
            None,
        ),
        _ => {
            let leaf = [60, 110, 60];
            for k in 0..4 {
                let a = k as f32 * 1.2 + rng.random_range(0.0..0.6);
                let (cx, cy) = (x + a.cos() * r * 0.5, y + a.sin() * r * 0.5);
                cv.fill(
                    blob(&[(x, y), (cx + r * 0.2, cy), (cx, cy + r * 0.2)]),
                    shade(leaf, rng.random_range(0.8..1.2)),
                    1.0,
                    None,
                );
            }
        }
    }
}

/// The wild shift's busier room, painted over the background before the animal: up to
/// `6 × severity` more objects of clutter and, with probability `severity`, a bold second
/// texture (stripes or checks at up to 70 % opacity) across the whole wall.
pub(crate) fn busier(pixmap: &mut Pixmap, severity: f32, rng: &mut ChaCha8Rng) {
    let s = pixmap.width() as f32;
    let mut cv = Canvas {
        pixmap,
        ts: Transform::identity(),
    };
    if rng.random_bool(f64::from(severity.clamp(0.0, 1.0))) {
        let ink = *ROOM.choose(rng).unwrap_or(&ROOM[13]);
        let alpha = rng.random_range(0.3..=0.3 + 0.4 * severity);
        let period = s * rng.random_range(0.06..0.16);
        let checks = rng.random_bool(0.5);
        let (mut y, mut row) = (0.0, 0);
        while y < s {
            if checks {
                let mut x = if row % 2 == 0 { 0.0 } else { period };
                while x < s {
                    cv.fill(rect(x, y, period, period), ink, alpha, None);
                    x += 2.0 * period;
                }
            } else {
                cv.fill(rect(0.0, y, s, period * 0.45), ink, alpha, None);
            }
            y += period;
            row += 1;
        }
    }
    let extra = rng.random_range(0.0..=6.0 * severity).round() as u32;
    for _ in 0..extra {
        clutter_object(&mut cv, s, rng);
    }
}

fn rect(x: f32, y: f32, w: f32, h: f32) -> Option<tiny_skia::Path> {
    Rect::from_xywh(x, y, w.max(0.01), h.max(0.01)).map(PathBuilder::from_rect)
}
