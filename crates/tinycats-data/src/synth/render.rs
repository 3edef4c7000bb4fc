//! Drawing one portrait: shoulders, ears, head, coat pattern, markings, face.
//!
//! Coordinates are head-centred: the head spans about -1..1 horizontally, the ears rise
//! to about -2, the paws rest near +2.5. The caller's transform places, tilts and scales.
use std::f32::consts::{FRAC_PI_2, TAU};

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use tiny_skia::{GradientStop, LinearGradient, Mask, PathBuilder, RadialGradient, SpreadMode};

use super::canvas::{Canvas, blob, color, curve, ellipse, polygon, polyline, pt};
use super::colour::{Rgb, mix, shade};
use super::spec::{BreedSpec, CoatPattern, EarStyle, EyeShape, FurLength, HeadShape, Species};

const WHITE: Rgb = [246, 244, 238];
const INK: Rgb = [24, 20, 20];
const EAR_PINK: Rgb = [226, 160, 156];

/// Dog coat layouts (`CoatPattern::Varied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DogCoat {
    Solid,
    TwoTone,
    Patched,
}

/// Per-image choices within the breed's ranges (the drawn attributes of the manifest).
#[derive(Debug, Clone)]
pub(crate) struct Look {
    pub coat: Rgb,
    pub marking: Rgb,
    pub belly: Rgb,
    pub eye: Rgb,
    pub ear_style: EarStyle,
    /// -1..1, turns the face features sideways.
    pub yaw: f32,
    pub eye_open: f32,
    pub pupil: f32,
    pub white_paws: bool,
    pub dog_coat: Option<DogCoat>,
    pub tongue: bool,
}

fn jitter_color(c: Rgb, amount: f32, rng: &mut ChaCha8Rng) -> Rgb {
    let bright = 1.0 + rng.random_range(-amount..=amount);
    let tint = amount * 0.35;
    [0, 1, 2].map(|i| {
        let f = bright * (1.0 + rng.random_range(-tint..=tint));
        (c[i] as f32 * f).round().clamp(0.0, 255.0) as u8
    })
}

impl Look {
    pub fn draw(spec: &BreedSpec, rng: &mut ChaCha8Rng) -> Self {
        let base = *spec.coat.choose(rng).unwrap_or(&[128, 128, 128]);
        let coat = jitter_color(base, spec.coat_jitter, rng);
        let marking = jitter_color(spec.marking, spec.coat_jitter * 0.6, rng);
        let belly = spec
            .belly
            .map_or_else(|| shade(coat, 1.1), |b| jitter_color(b, 0.05, rng));
        let eye = jitter_color(*spec.eyes.choose(rng).unwrap_or(&[180, 150, 40]), 0.08, rng);
        let ear_style = *spec.ears.styles.choose(rng).unwrap_or(&EarStyle::Pointed);
        let dog_coat = (spec.pattern == CoatPattern::Varied).then(|| {
            *[DogCoat::Solid, DogCoat::TwoTone, DogCoat::Patched]
                .choose(rng)
                .unwrap_or(&DogCoat::Solid)
        });
        Self {
            coat,
            marking,
            belly,
            eye,
            ear_style,
            yaw: rng.random_range(-0.6..0.6),
            eye_open: rng
                .random_range(0.45..1.0f32)
                .max(rng.random_range(0.3..1.0)),
            pupil: rng.random_range(0.18..0.55),
            white_paws: rng.random::<f32>() < spec.white.paws,
            dog_coat,
            tongue: spec.species == Species::Dog && rng.random_bool(0.4),
        }
    }
}

/// A point on the head outline at angle `theta` (0 = right, y down).
fn head_point(h: &HeadShape, theta: f32) -> (f32, f32) {
    let (s, c) = theta.sin_cos();
    let mut x = h.width * c;
    let y;
    if s > 0.0 {
        let bottom = h.height * (0.88 + 0.06 * h.muzzle.min(1.5));
        y = bottom * s;
        x *= 1.0 - (1.0 - h.jaw) * s * s;
        x *= 1.0 + h.cheeks * 0.14 * (-(s - 0.3).powi(2) / 0.05).exp();
    } else {
        y = h.height * s;
        x *= 1.0 - 0.1 * s * s;
    }
    (x, y)
}

fn head_outline(h: &HeadShape, n: usize, grow: f32) -> Vec<(f32, f32)> {
    (0..n)
        .map(|i| {
            let (x, y) = head_point(h, i as f32 / n as f32 * TAU);
            (x * grow, y * grow)
        })
        .collect()
}

/// A ragged fur fringe around a shape: alternate control points pushed out.
fn ragged(
    points: &[(f32, f32)],
    center: (f32, f32),
    amount: f32,
    rng: &mut ChaCha8Rng,
) -> Vec<(f32, f32)> {
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let k = if i % 2 == 0 {
                1.0 + amount * rng.random_range(0.6..1.3)
            } else {
                1.0 - amount * 0.15
            };
            (center.0 + (x - center.0) * k, center.1 + (y - center.1) * k)
        })
        .collect()
}

/// Draws the animal of `spec` with `look` onto `cv`.
pub(crate) fn draw_animal(cv: &mut Canvas, spec: &BreedSpec, look: &Look, rng: &mut ChaCha8Rng) {
    let h = spec.head;
    let dog = spec.species == Species::Dog;
    let points = matches!(spec.pattern, CoatPattern::Points { .. });
    let dx = look.yaw * 0.22; // face features slide with the turn of the head
    let (coat, fur_col) = match look.dog_coat {
        Some(DogCoat::Patched) => (WHITE, look.coat),
        _ => (look.coat, look.coat),
    };

    // Shoulders and body.
    let w = h.width;
    let body_pts = [
        (0.62 * w, 0.5),
        (1.35 * w, 1.35),
        (1.8 * w, 2.6),
        (2.0 * w, 4.2),
        (-2.0 * w, 4.2),
        (-1.8 * w, 2.6),
        (-1.35 * w, 1.35),
        (-0.62 * w, 0.5),
    ];
    let body = blob(&body_pts);
    let ruff = match spec.fur {
        FurLength::Long | FurLength::SemiLong => {
            let long = spec.fur == FurLength::Long;
            let (rx, ry) = if long {
                (1.45 * w, 1.05)
            } else {
                (1.25 * w, 0.85)
            };
            let ring: Vec<_> = (0..30)
                .map(|i| {
                    let t = i as f32 / 30.0 * TAU;
                    (rx * t.cos(), 0.85 + ry * t.sin())
                })
                .collect();
            blob(&ragged(
                &ring,
                (0.0, 0.85),
                if long { 0.16 } else { 0.09 },
                rng,
            ))
        }
        _ => None,
    };
    cv.fill(body.clone(), coat, 1.0, None);
    if let Some(r) = &ruff {
        cv.fill(Some(r.clone()), shade(coat, 1.04), 1.0, None);
    }

    // Ears behind the head (floppy ears are drawn later, in front).
    let ear_col = if points { look.marking } else { fur_col };
    let mut ear_tips = Vec::new();
    if look.ear_style != EarStyle::Floppy {
        for side in [-1.0f32, 1.0] {
            let theta = -FRAC_PI_2 + side * spec.ears.set;
            let half = 0.3 * spec.ears.width;
            let b1 = head_point(&h, theta - half);
            let b2 = head_point(&h, theta + half);
            let (b1, b2) = ((b1.0 * 0.92, b1.1 * 0.92), (b2.0 * 0.92, b2.1 * 0.92));
            let mid = ((b1.0 + b2.0) / 2.0, (b1.1 + b2.1) / 2.0);
            let ang = -FRAC_PI_2 + side * spec.ears.set * 0.75 - look.yaw * 0.1;
            let size = spec.ears.size * h.width;
            let tip = (
                mid.0 + size * ang.cos() + dx * 0.3,
                mid.1 + size * ang.sin(),
            );
            let ear = ear_path(b1, tip, b2, look.ear_style);
            cv.fill(ear, ear_col, 1.0, None);
            let inner =
                |p: (f32, f32), k: f32| (mid.0 + (p.0 - mid.0) * k, mid.1 + (p.1 - mid.1) * k);
            let inner_col = match spec.pattern {
                CoatPattern::Points { .. } => mix(look.marking, EAR_PINK, 0.35),
                CoatPattern::Hairless => shade(look.coat, 0.9),
                _ if dog => shade(fur_col, 0.8),
                _ => mix(fur_col, EAR_PINK, 0.65),
            };
            let (i1, it, i2) = (inner(b1, 0.55), inner(tip, 0.72), inner(b2, 0.55));
            cv.fill(ear_path(i1, it, i2, look.ear_style), inner_col, 0.95, None);
            if matches!(spec.fur, FurLength::Long | FurLength::SemiLong) && !dog {
                for k in 0..3 {
                    let t = 0.3 + 0.2 * k as f32;
                    let a = (
                        mid.0 + (it.0 - mid.0) * t * 0.4,
                        mid.1 + (it.1 - mid.1) * t * 0.4,
                    );
                    let b = (
                        mid.0 + (it.0 - mid.0) * t + side * 0.05,
                        mid.1 + (it.1 - mid.1) * t,
                    );
                    cv.stroke(
                        polyline(&[a, b]),
                        mix(fur_col, WHITE, 0.6),
                        0.8,
                        0.035,
                        None,
                    );
                }
            }
            if spec.ears.tufts {
                let len = 0.32 * size;
                let end = (
                    tip.0 + len * ang.cos() * 0.8 + side * 0.03,
                    tip.1 + len * ang.sin(),
                );
                cv.stroke(polyline(&[tip, end]), look.marking, 0.95, 0.07, None);
            }
            ear_tips.push(tip);
        }
    }

    // Head, with a ragged fringe for longer fur.
    let outline = head_outline(&h, 28, 1.0);
    match spec.fur {
        FurLength::Long | FurLength::SemiLong => {
            let amount = if spec.fur == FurLength::Long {
                0.13
            } else {
                0.07
            };
            let fringe = ragged(&head_outline(&h, 36, 1.02), (0.0, 0.0), amount, rng);
            cv.fill(blob(&fringe), fur_col, 1.0, None);
        }
        _ => {}
    }
    let head = blob(&outline);
    cv.fill(head.clone(), coat, 1.0, None);

    // Coat mask: everything furred.
    let mut paths = Vec::new();
    paths.extend(body.iter());
    paths.extend(ruff.iter());
    paths.extend(head.iter());
    let mask = cv.mask(&paths);
    let mask = mask.as_ref();

    coat_pattern(cv, spec, look, rng, mask, dx);

    // White markings and paws.
    if spec.white.chest > 0.0 {
        let r = 0.35 + 0.35 * spec.white.chest;
        cv.fill(
            blob(&[
                (0.0, 0.8),
                (r, 1.2),
                (r * 1.1, 2.4),
                (0.0, 3.0),
                (-r * 1.1, 2.4),
                (-r, 1.2),
            ]),
            WHITE,
            0.95,
            mask,
        );
    }
    if spec.white.blaze > 0.0 {
        let top = -0.75 + 0.25 * (1.0 - spec.white.blaze);
        let blaze = polygon(&[
            (dx - 0.05, top),
            (dx + 0.05, top),
            (dx + 0.34, 0.3),
            (dx + 0.2, 0.9),
            (dx - 0.2, 0.9),
            (dx - 0.34, 0.3),
        ]);
        cv.fill(blaze, WHITE, 0.92, mask);
    }
    if spec.white.chin > 0.0 {
        cv.fill(
            ellipse(dx, 0.72 * h.height, 0.3, 0.16 + 0.08 * spec.white.chin),
            WHITE,
            0.95,
            mask,
        );
    }
    let paw_col = if look.white_paws {
        WHITE
    } else if points {
        look.marking
    } else if look.dog_coat == Some(DogCoat::TwoTone) {
        look.belly
    } else {
        coat
    };
    for side in [-1.0f32, 1.0] {
        let cx = side * 0.55 * w;
        cv.fill(ellipse(cx, 2.55, 0.36, 0.25), paw_col, 1.0, None);
        for t in [-0.1f32, 0.1] {
            cv.stroke(
                polyline(&[(cx + t, 2.42), (cx + t, 2.62)]),
                shade(paw_col, 0.6),
                0.5,
                0.03,
                None,
            );
        }
    }

    // Floppy ears hang in front of the head.
    if look.ear_style == EarStyle::Floppy {
        let col = match look.dog_coat {
            Some(DogCoat::Patched) => look.coat,
            _ => shade(fur_col, 0.78),
        };
        for side in [-1.0f32, 1.0] {
            let (ax, ay) = head_point(&h, -FRAC_PI_2 + side * 0.95);
            let len = 0.9 + 0.5 * spec.ears.size;
            let ear = blob(&[
                (ax - side * 0.25, ay - 0.05),
                (ax + side * 0.3, ay - 0.1),
                (ax + side * 0.45, ay + 0.5 * len),
                (ax + side * 0.22, ay + len),
                (ax - side * 0.05, ay + 0.75 * len),
                (ax - side * 0.12, ay + 0.3),
            ]);
            cv.fill(ear, col, 1.0, None);
        }
    }

    face(cv, spec, look, rng, dx);
}

fn ear_path(
    b1: (f32, f32),
    tip: (f32, f32),
    b2: (f32, f32),
    style: EarStyle,
) -> Option<tiny_skia::Path> {
    let bulge = |a: (f32, f32), b: (f32, f32), k: f32| {
        let m = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let (nx, ny) = (-(b.1 - a.1), b.0 - a.0);
        (m.0 + nx * k, m.1 + ny * k)
    };
    let mut pb = PathBuilder::new();
    pb.move_to(b1.0, b1.1);
    match style {
        EarStyle::Rounded => {
            let c1 = bulge(b1, tip, 0.22);
            let c2 = bulge(tip, b2, 0.22);
            let t1 = (tip.0 + (c1.0 - tip.0) * 0.5, tip.1 + (c1.1 - tip.1) * 0.5);
            let t2 = (tip.0 + (c2.0 - tip.0) * 0.5, tip.1 + (c2.1 - tip.1) * 0.5);
            pb.quad_to(c1.0, c1.1, t1.0, t1.1);
            pb.quad_to(tip.0, tip.1, t2.0, t2.1);
            pb.quad_to(c2.0, c2.1, b2.0, b2.1);
        }
        _ => {
            let c1 = bulge(b1, tip, 0.1);
            let c2 = bulge(tip, b2, 0.1);
            pb.quad_to(c1.0, c1.1, tip.0, tip.1);
            pb.quad_to(c2.0, c2.1, b2.0, b2.1);
        }
    }
    pb.close();
    pb.finish()
}

fn coat_pattern(
    cv: &mut Canvas,
    spec: &BreedSpec,
    look: &Look,
    rng: &mut ChaCha8Rng,
    mask: Option<&Mask>,
    dx: f32,
) {
    let w = spec.head.width;
    match spec.pattern {
        CoatPattern::Solid => {}
        CoatPattern::Ticked => {
            cv.fill(ellipse(0.0, 2.2, 0.7, 1.0), look.belly, 0.45, mask);
            cv.fill(ellipse(dx, 0.45, 0.45, 0.3), look.belly, 0.5, mask);
            if let Some(m) = mask {
                texture(cv.pixmap, m, 0.22, 0.0, rng);
            }
        }
        CoatPattern::Spotted { rosettes, density } => {
            cv.fill(ellipse(0.0, 2.3, 0.8, 1.1), look.belly, 0.6, mask);
            let n = (26.0 * density).round() as usize;
            for _ in 0..n {
                let x = rng.random_range(-2.0..2.0f32) * w;
                let y = rng.random_range(-0.9..3.6f32);
                if y < 0.55 && x.abs() < 0.75 && y > -0.35 {
                    continue; // keep the eyes and muzzle clear
                }
                let small = if y < 0.6 { 0.6 } else { 1.0 };
                let r = rng.random_range(0.08..0.15) * small;
                let ry = r * rng.random_range(0.7..1.0);
                if rosettes {
                    cv.fill(ellipse(x, y, r * 1.25, ry * 1.25), look.marking, 0.9, mask);
                    cv.fill(
                        ellipse(x, y, r * 0.7, ry * 0.7),
                        mix(look.coat, look.marking, 0.35),
                        1.0,
                        mask,
                    );
                } else {
                    cv.fill(ellipse(x, y, r, ry), look.marking, 0.85, mask);
                }
            }
        }
        CoatPattern::Tabby => {
            let ink = look.marking;
            for x in [-0.22f32, -0.08, 0.08, 0.22] {
                cv.stroke(
                    curve(&[(dx + x * 1.2, -0.95), (dx + x, -0.75), (dx + x * 0.8, -0.5)]),
                    ink,
                    0.7,
                    0.07,
                    mask,
                );
            }
            for side in [-1.0f32, 1.0] {
                for k in 0..2 {
                    let y = 0.05 + 0.2 * k as f32;
                    let stripe = curve(&[
                        (dx + side * 0.45, y - 0.05),
                        (side * 0.75, y + 0.02),
                        (side * 1.05 * w, y - 0.06),
                    ]);
                    cv.stroke(stripe, ink, 0.75, 0.07, mask);
                }
            }
            for k in 0..6 {
                let y = 1.1 + 0.45 * k as f32 + rng.random_range(-0.08..0.08);
                let wob = rng.random_range(-0.15..0.15);
                for side in [-1.0f32, 1.0] {
                    let stripe = curve(&[
                        (side * 0.5, y + 0.25 + wob),
                        (side * 1.1 * w, y),
                        (side * 2.1 * w, y + 0.35),
                    ]);
                    cv.stroke(stripe, ink, 0.75, 0.14, mask);
                }
            }
            if let Some(m) = mask {
                texture(cv.pixmap, m, 0.08, 0.0, rng);
            }
        }
        CoatPattern::Points { mask: extent } => {
            let r = 0.55 + 0.6 * extent;
            let shader = RadialGradient::new(
                pt(dx, 0.3),
                pt(dx, 0.3),
                r,
                vec![
                    GradientStop::new(0.0, color(look.marking, 0.97)),
                    GradientStop::new(0.45, color(look.marking, 0.85)),
                    GradientStop::new(1.0, color(look.marking, 0.0)),
                ],
                SpreadMode::Pad,
                tiny_skia::Transform::identity(),
            );
            let head = blob(&head_outline(&spec.head, 28, 1.0));
            cv.fill_shader(head, shader, mask);
            let body_shade = LinearGradient::new(
                pt(0.0, 1.0),
                pt(0.0, 4.0),
                vec![
                    GradientStop::new(0.0, color(look.marking, 0.0)),
                    GradientStop::new(1.0, color(look.marking, 0.25 + 0.25 * extent)),
                ],
                SpreadMode::Pad,
                tiny_skia::Transform::identity(),
            );
            let body_rect =
                tiny_skia::Rect::from_xywh(-3.0, 0.6, 6.0, 4.0).map(PathBuilder::from_rect);
            cv.fill_shader(body_rect, body_shade, mask);
            if let Some(m) = mask {
                texture(cv.pixmap, m, 0.04, 0.0, rng);
            }
        }
        CoatPattern::Hairless => {
            for _ in 0..rng.random_range(0..3) {
                let (x, y) = (
                    rng.random_range(-1.6..1.6f32),
                    rng.random_range(-0.7..3.0f32),
                );
                cv.fill(
                    ellipse(
                        x,
                        y,
                        rng.random_range(0.2..0.5),
                        rng.random_range(0.15..0.4),
                    ),
                    shade(look.coat, 0.82),
                    0.45,
                    mask,
                );
            }
            let fold = shade(look.marking, 0.95);
            for k in 0..3 {
                let y = -0.72 + 0.13 * k as f32;
                cv.stroke(
                    curve(&[(dx - 0.35, y + 0.05), (dx, y - 0.04), (dx + 0.35, y + 0.05)]),
                    fold,
                    0.55,
                    0.04,
                    mask,
                );
            }
            for k in 0..2 {
                let y = 1.0 + 0.25 * k as f32;
                cv.stroke(
                    curve(&[(-0.7, y), (0.0, y + 0.12), (0.7, y)]),
                    fold,
                    0.45,
                    0.05,
                    mask,
                );
            }
            for side in [-1.0f32, 1.0] {
                cv.fill(
                    ellipse(dx + side * 0.55, 0.12, 0.28, 0.16),
                    shade(look.coat, 1.12),
                    0.5,
                    mask,
                );
            }
        }
        CoatPattern::Varied => match look.dog_coat {
            Some(DogCoat::TwoTone) => {
                cv.fill(ellipse(0.0, 2.0, 0.7, 1.1), look.belly, 0.95, mask);
                for side in [-1.0f32, 1.0] {
                    cv.fill(
                        ellipse(dx + side * 0.38, -0.48, 0.09, 0.06),
                        look.belly,
                        1.0,
                        mask,
                    );
                }
            }
            Some(DogCoat::Patched) => {
                for _ in 0..rng.random_range(2..5) {
                    let (x, y) = (
                        rng.random_range(-1.8..1.8f32),
                        rng.random_range(-1.0..3.2f32),
                    );
                    let r = rng.random_range(0.35..0.7);
                    cv.fill(
                        blob(&ragged(
                            &head_outline(&spec.head, 10, r)
                                .iter()
                                .map(|p| (p.0 + x, p.1 + y))
                                .collect::<Vec<_>>(),
                            (x, y),
                            0.15,
                            rng,
                        )),
                        look.coat,
                        1.0,
                        mask,
                    );
                }
            }
            _ => {}
        },
    }
    if spec.pattern != CoatPattern::Hairless
        && spec.pattern != CoatPattern::Ticked
        && let Some(m) = mask
    {
        let grain = match spec.fur {
            FurLength::Long => 0.06,
            FurLength::SemiLong => 0.05,
            _ => 0.04,
        };
        texture(cv.pixmap, m, grain, spec.sheen * 0.25, rng);
    }
    if spec.forehead_m > 0.0 {
        let m = polyline(&[
            (dx - 0.3, -0.42),
            (dx - 0.2, -0.72),
            (dx, -0.5),
            (dx + 0.2, -0.72),
            (dx + 0.3, -0.42),
        ]);
        cv.stroke(m, look.marking, spec.forehead_m, 0.07, mask);
    }
    if spec.sheen > 0.0 {
        let gloss = RadialGradient::new(
            pt(-0.3, -0.55),
            pt(-0.3, -0.55),
            0.6,
            vec![
                GradientStop::new(0.0, color(WHITE, 0.45 * spec.sheen)),
                GradientStop::new(1.0, color(WHITE, 0.0)),
            ],
            SpreadMode::Pad,
            tiny_skia::Transform::identity(),
        );
        cv.fill_shader(ellipse(-0.3, -0.55, 0.6, 0.6), gloss, mask);
    }
}

/// Per-pixel fur grain inside `mask`: multiplicative noise of `amount`, plus
/// brightening-only noise of `sheen` (silver tipping).
fn texture(
    pixmap: &mut tiny_skia::Pixmap,
    mask: &Mask,
    amount: f32,
    sheen: f32,
    rng: &mut ChaCha8Rng,
) {
    let data = pixmap.data_mut();
    for (px, &m) in data.chunks_exact_mut(4).zip(mask.data()) {
        if m == 0 {
            continue;
        }
        let cover = m as f32 / 255.0;
        let r: f32 = rng.random_range(-1.0..1.0);
        let f = 1.0 + cover * (amount * r + sheen * r.max(0.0));
        for c in &mut px[..3] {
            *c = (*c as f32 * f).round().clamp(0.0, 255.0) as u8;
        }
    }
}

fn face(cv: &mut Canvas, spec: &BreedSpec, look: &Look, rng: &mut ChaCha8Rng, dx: f32) {
    let h = spec.head;
    let dog = spec.species == Species::Dog;
    let flat = h.muzzle < 0.6;
    let eye_y = if dog {
        -0.28
    } else if flat {
        -0.02
    } else {
        -0.14
    } * h.height;
    let nose_y = if dog {
        0.3
    } else {
        eye_y + 0.18 + 0.26 * h.muzzle.min(1.3)
    };
    let muzzle_col = match look.dog_coat {
        Some(DogCoat::TwoTone) => look.belly,
        Some(DogCoat::Patched) => WHITE,
        _ if dog => mix(look.coat, look.belly, 0.5),
        _ => match spec.pattern {
            CoatPattern::Points { .. } => shade(look.marking, 1.1),
            CoatPattern::Hairless => shade(look.coat, 1.04),
            _ => mix(look.coat, look.belly, 0.6),
        },
    };

    if dog {
        let snout = blob(&[
            (dx - 0.42, -0.05),
            (dx + 0.42, -0.05),
            (dx + 0.52, 0.55),
            (dx + 0.3, 0.95),
            (dx - 0.3, 0.95),
            (dx - 0.52, 0.55),
        ]);
        cv.fill(snout, muzzle_col, 1.0, None);
        if look.tongue {
            cv.fill(ellipse(dx, 0.86, 0.14, 0.16), [214, 96, 110], 1.0, None);
        }
        cv.stroke(
            curve(&[(dx, 0.44), (dx, 0.6), (dx - 0.25, 0.7)]),
            INK,
            0.8,
            0.04,
            None,
        );
        cv.stroke(
            curve(&[(dx, 0.44), (dx, 0.6), (dx + 0.25, 0.7)]),
            INK,
            0.8,
            0.04,
            None,
        );
        let nose = blob(&[
            (dx - 0.24, 0.2),
            (dx + 0.24, 0.2),
            (dx + 0.08, 0.46),
            (dx - 0.08, 0.46),
        ]);
        cv.fill(nose, spec.nose, 1.0, None);
        cv.fill(ellipse(dx - 0.06, 0.25, 0.06, 0.03), WHITE, 0.5, None);
    } else {
        let pad = if flat { 0.13 } else { 0.17 };
        for side in [-1.0f32, 1.0] {
            cv.fill(
                ellipse(dx + side * pad, nose_y + 0.16, pad * 1.1, pad * 0.8),
                muzzle_col,
                0.9,
                None,
            );
        }
        let nw = if flat { 0.09 } else { 0.13 };
        let nose = blob(&[
            (dx - nw, nose_y - 0.06),
            (dx + nw, nose_y - 0.06),
            (dx + 0.02, nose_y + 0.08),
            (dx - 0.02, nose_y + 0.08),
        ]);
        cv.fill(nose, spec.nose, 1.0, None);
        let m = nose_y + 0.08;
        cv.stroke(
            curve(&[(dx, m), (dx, m + 0.08), (dx - 0.13, m + 0.13)]),
            INK,
            0.6,
            0.03,
            None,
        );
        cv.stroke(
            curve(&[(dx, m), (dx, m + 0.08), (dx + 0.13, m + 0.13)]),
            INK,
            0.6,
            0.03,
            None,
        );
    }

    // Eyes.
    let sep = if dog { 0.4 } else { 0.42 } * h.width;
    for side in [-1.0f32, 1.0] {
        let near = 1.0 + side * look.yaw * 0.35;
        let ew = 0.19 * spec.eye_size * near;
        let cx = dx * 1.2 + side * sep * (1.0 + side * look.yaw * 0.15);
        let (eh, path) = match spec.eye_shape {
            EyeShape::Round => {
                let eh = ew * 0.92 * look.eye_open;
                (eh, ellipse(cx, eye_y, ew, eh))
            }
            EyeShape::Almond => {
                let eh = ew * 0.62 * look.eye_open;
                let slant = 0.06 * ew / 0.19;
                let inner = (cx - side * ew, eye_y + slant);
                let outer = (cx + side * ew, eye_y - slant);
                let mut pb = PathBuilder::new();
                pb.move_to(inner.0, inner.1);
                pb.quad_to(cx, eye_y - eh * 2.0, outer.0, outer.1);
                pb.quad_to(cx, eye_y + eh * 1.7, inner.0, inner.1);
                pb.close();
                (eh, pb.finish())
            }
        };
        cv.stroke(path.clone(), INK, 0.95, 0.07, None);
        cv.fill(path, look.eye, 1.0, None);
        let (prx, pry) = if dog {
            (ew * 0.6, eh.min(ew * 0.6))
        } else {
            (ew * look.pupil, (eh * 0.92).min(ew * 0.9))
        };
        cv.fill(ellipse(cx, eye_y, prx, pry), [12, 10, 10], 1.0, None);
        if look.eye_open > 0.4 {
            cv.fill(
                ellipse(cx - ew * 0.3, eye_y - eh * 0.35, 0.035, 0.035),
                WHITE,
                0.9,
                None,
            );
        }
    }

    // Whiskers.
    if !dog {
        let (len, alpha) = if spec.pattern == CoatPattern::Hairless {
            (0.5, 0.35)
        } else {
            (1.25, 0.6)
        };
        for side in [-1.0f32, 1.0] {
            for k in 0..3 {
                let y0 = nose_y + 0.14 + 0.05 * k as f32;
                let droop = rng.random_range(-0.05..0.05) + 0.12 * k as f32 - 0.1;
                let wh = curve(&[
                    (dx + side * 0.22, y0),
                    (dx + side * (0.22 + len * 0.5), y0 + droop * 0.3 - 0.03),
                    (dx + side * (0.22 + len), y0 + droop),
                ]);
                cv.stroke(wh, [236, 234, 228], alpha, 0.022, None);
            }
        }
    }
}
