//! What a network can learn to read back from a SynthCats render: the breed and every render
//! parameter that shapes the picture (pose, framing, ears, colours, background, light,
//! camera effects). They are the training targets of the feature network that the
//! generator's quality metrics measure in (`tinycats_models::features`): a network that
//! must recover pose and ear shape sees shape, not only the coat's colour.

use super::{BackgroundKind, EarStyle, SampleAttributes};

/// The categorical targets with their number of classes: breed, ear style, background,
/// and whether the render is a close crop.
pub const CATEGORIES: [(&str, i64); 4] = [
    ("breed", crate::NUM_CLASSES as i64),
    ("ear_style", 3),
    ("background", 5),
    ("cropped", 2),
];

/// Names of the continuous targets, in the order of [`Targets::values`].
pub const VALUES: [&str; 21] = [
    "yaw",
    "tilt_deg",
    "scale",
    "center_x",
    "center_y",
    "eye_open",
    "light_x",
    "light_y",
    "noise_sigma",
    "blur_passes",
    "clutter",
    "white_paws",
    "coat_r",
    "coat_g",
    "coat_b",
    "marking_r",
    "marking_g",
    "marking_b",
    "eye_r",
    "eye_g",
    "eye_b",
];

/// One image's targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// Class indices, in the order of [`CATEGORIES`].
    pub classes: [i64; 4],
    /// Raw values (not standardised), in the order of [`VALUES`].
    pub values: [f32; 21],
}

/// `#rrggbb` → three values in 0..1 (black for anything else).
fn rgb(hex: &str) -> [f32; 3] {
    let byte = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .map_or(0.0, |b| b as f32 / 255.0)
    };
    [byte(1), byte(3), byte(5)]
}

impl Targets {
    /// The targets of a render, or of its mirror image (`mirrored`: the picture flipped left
    /// to right, as the generator's training flips it): yaw, tilt and the light's x turn
    /// sign and the centre moves to `1 − x`.
    pub fn of(a: &SampleAttributes, mirrored: bool) -> Self {
        let m = if mirrored { -1.0 } else { 1.0 };
        let ear = match a.ear_style {
            EarStyle::Pointed => 0,
            EarStyle::Rounded => 1,
            EarStyle::Floppy => 2,
        };
        let background = match a.background {
            BackgroundKind::Plain => 0,
            BackgroundKind::Stripes => 1,
            BackgroundKind::Checks => 2,
            BackgroundKind::Dots => 3,
            BackgroundKind::Boards => 4,
        };
        let center_x = if mirrored {
            1.0 - a.center_x
        } else {
            a.center_x
        };
        let [cr, cg, cb] = rgb(&a.coat);
        let [mr, mg, mb] = rgb(&a.marking);
        let [er, eg, eb] = rgb(&a.eye);
        Targets {
            classes: [a.class_id as i64, ear, background, a.cropped as i64],
            values: [
                m * a.yaw,
                m * a.tilt_deg,
                a.scale,
                center_x,
                a.center_y,
                a.eye_open,
                m * a.light_angle.cos(),
                a.light_angle.sin(),
                a.noise_sigma,
                a.blur_passes as f32,
                a.clutter as f32,
                a.white_paws as u8 as f32,
                cr,
                cg,
                cb,
                mr,
                mg,
                mb,
                er,
                eg,
                eb,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{SynthCats, SynthConfig};

    #[test]
    fn targets_follow_the_render_and_its_mirror() {
        let synth = SynthCats::new(SynthConfig::default()).unwrap();
        let (_, a) = synth.render_with_attributes(10, 3).unwrap();
        let t = Targets::of(&a, false);
        let f = Targets::of(&a, true);
        assert_eq!(t.classes[0], 10);
        assert_eq!(t.classes, f.classes);
        assert_eq!(t.values[0], a.yaw);
        assert_eq!(f.values[0], -a.yaw);
        assert_eq!(f.values[3], 1.0 - a.center_x);
        assert_eq!(f.values[6], -t.values[6]);
        assert_eq!(t.values[7], f.values[7]);
        // The coat colour is the manifest's hex, read back.
        let coat = u8::from_str_radix(&a.coat[1..3], 16).unwrap() as f32 / 255.0;
        assert_eq!(t.values[12], coat);
        assert_eq!(rgb("#ff8000"), [1.0, 128.0 / 255.0, 0.0]);
    }
}
