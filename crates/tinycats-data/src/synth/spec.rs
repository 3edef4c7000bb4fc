//! The trait spec of a breed: what SynthCats draws for it. The 13 presets follow the
//! breed standards (CFA/TICA wording) summarised in the data issue's table; a caller can
//! build a spec of its own, e.g. a coat colour that no preset has, to fine-tune the
//! generator on a new class.
use serde::{Deserialize, Serialize};

use tinycats_core::classes::NUM_CLASSES;

use super::colour::{Rgb, mix};

/// Cat or dog (Oxford-IIIT Pet's non-cat classes are dogs; they become `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Species {
    Cat,
    Dog,
}

/// How the coat is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CoatPattern {
    /// One colour all over.
    Solid,
    /// Agouti ticking: banded hairs give a fine speckle, no body stripes (Abyssinian).
    Ticked,
    /// Random dark spots; `rosettes` draws two-toned rosettes instead (Bengal).
    Spotted { rosettes: bool, density: f32 },
    /// Tabby stripes on cheeks, forehead and shoulders.
    Tabby,
    /// Colourpoint: face mask, ears and paws in the marking colour; `mask` is the
    /// extent of the face mask, 0..1.
    Points { mask: f32 },
    /// Skin, no fur (Sphynx).
    Hairless,
    /// Dogs: solid, two-tone (tan muzzle and brows) or white with large patches,
    /// chosen per image.
    Varied,
}

/// Fur length, drawn as a smooth or ragged silhouette plus a neck ruff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FurLength {
    None,
    Short,
    SemiLong,
    Long,
}

/// Eye outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EyeShape {
    Almond,
    Round,
}

/// Ear form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EarStyle {
    Pointed,
    Rounded,
    /// Hanging ears (dogs).
    Floppy,
}

/// White markings, each an extent in 0..1 (0 = absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WhiteMarkings {
    pub chest: f32,
    pub chin: f32,
    /// The inverted-V blaze between the eyes (Ragdoll).
    pub blaze: f32,
    /// White paws ("gloves", Birman). Probability that an image shows them.
    pub paws: f32,
}

/// Head geometry, in head half-widths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadShape {
    /// Half-width (1 = typical).
    pub width: f32,
    /// Half-height (1 = typical).
    pub height: f32,
    /// Width of the jaw relative to the cheeks: 1 round, 0.4 long wedge.
    pub jaw: f32,
    /// Cheek fullness, 0..1.
    pub cheeks: f32,
    /// Muzzle length: 0.3 flat face (Persian), 1 typical cat, 2 dog snout.
    pub muzzle: f32,
}

/// Ear geometry and forms to choose from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarShape {
    /// Height in head half-widths (typical 0.85).
    pub size: f32,
    /// Base width factor (typical 1).
    pub width: f32,
    /// How far from the top of the head the ears sit, radians (typical 0.8; wide-set 1.0).
    pub set: f32,
    /// Forms, one chosen per image.
    pub styles: Vec<EarStyle>,
    /// Lynx tufts on the tips (Maine Coon).
    pub tufts: bool,
}

/// Everything SynthCats needs to draw one breed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreedSpec {
    pub name: String,
    pub species: Species,
    /// Base coat colours, one chosen per image.
    pub coat: Vec<Rgb>,
    /// Stripes, spots, points.
    pub marking: Rgb,
    /// Paler underside and muzzle, if any.
    pub belly: Option<Rgb>,
    /// Per-image colour jitter within the breed's range (0..0.3).
    pub coat_jitter: f32,
    pub pattern: CoatPattern,
    /// Opacity of the tabby "M" on the forehead (0 = none).
    pub forehead_m: f32,
    pub white: WhiteMarkings,
    pub fur: FurLength,
    /// Glossy highlight (Bombay) or silver tipping (Russian Blue), 0..1.
    pub sheen: f32,
    /// Skin folds on the forehead (Sphynx).
    pub wrinkles: bool,
    /// Iris colours, one chosen per image.
    pub eyes: Vec<Rgb>,
    pub eye_shape: EyeShape,
    /// Eye size relative to typical.
    pub eye_size: f32,
    pub head: HeadShape,
    pub ears: EarShape,
    pub nose: Rgb,
}

const PINK_NOSE: Rgb = [214, 130, 130];

fn cat_head() -> HeadShape {
    HeadShape {
        width: 1.0,
        height: 0.95,
        jaw: 0.75,
        cheeks: 0.3,
        muzzle: 1.0,
    }
}

fn ears(size: f32, width: f32, set: f32, style: EarStyle) -> EarShape {
    EarShape {
        size,
        width,
        set,
        styles: vec![style],
        tufts: false,
    }
}

impl BreedSpec {
    /// A short-haired solid cat to start a custom spec from.
    pub fn base_cat(name: &str, coat: Rgb) -> Self {
        Self {
            name: name.to_string(),
            species: Species::Cat,
            coat: vec![coat],
            marking: coat,
            belly: None,
            coat_jitter: 0.08,
            pattern: CoatPattern::Solid,
            forehead_m: 0.0,
            white: WhiteMarkings::default(),
            fur: FurLength::Short,
            sheen: 0.0,
            wrinkles: false,
            eyes: vec![[200, 170, 40]],
            eye_shape: EyeShape::Almond,
            eye_size: 1.0,
            head: cat_head(),
            ears: ears(0.85, 1.0, 0.8, EarStyle::Pointed),
            nose: PINK_NOSE,
        }
    }

    /// Warm ruddy ticked coat, faint "M", gold/green almond eyes, large alert ears.
    pub fn abyssinian() -> Self {
        Self {
            coat: vec![[178, 98, 48], [190, 112, 58], [166, 90, 50]],
            marking: [92, 48, 24],
            belly: Some([214, 150, 96]),
            pattern: CoatPattern::Ticked,
            forehead_m: 0.35,
            eyes: vec![[196, 162, 40], [150, 170, 60]],
            head: HeadShape {
                jaw: 0.62,
                cheeks: 0.15,
                ..cat_head()
            },
            ears: ears(1.1, 1.15, 0.72, EarStyle::Pointed),
            nose: [186, 92, 72],
            ..Self::base_cat("Abyssinian", [178, 98, 48])
        }
    }

    /// Golden coat with dark rosettes, pale belly, green/gold eyes, small rounded ears.
    pub fn bengal() -> Self {
        Self {
            coat: vec![[214, 150, 66], [200, 132, 52], [224, 168, 88]],
            marking: [58, 36, 22],
            belly: Some([240, 214, 170]),
            pattern: CoatPattern::Spotted {
                rosettes: true,
                density: 1.0,
            },
            forehead_m: 0.3,
            eyes: vec![[120, 170, 60], [196, 170, 50]],
            head: HeadShape {
                width: 1.02,
                cheeks: 0.25,
                jaw: 0.72,
                ..cat_head()
            },
            ears: ears(0.7, 0.95, 0.85, EarStyle::Rounded),
            nose: [190, 100, 80],
            ..Self::base_cat("Bengal", [214, 150, 66])
        }
    }

    /// Cream body, seal points, white gloves, deep blue eyes, semi-long fur.
    pub fn birman() -> Self {
        Self {
            coat: vec![[236, 222, 196], [228, 212, 182]],
            marking: [82, 60, 48],
            belly: Some([244, 236, 220]),
            pattern: CoatPattern::Points { mask: 0.7 },
            white: WhiteMarkings {
                paws: 1.0,
                ..Default::default()
            },
            fur: FurLength::SemiLong,
            eyes: vec![[46, 84, 190], [60, 100, 200]],
            eye_shape: EyeShape::Round,
            head: HeadShape {
                width: 1.05,
                jaw: 0.82,
                cheeks: 0.45,
                ..cat_head()
            },
            ears: ears(0.8, 1.0, 0.82, EarStyle::Pointed),
            nose: [96, 70, 64],
            ..Self::base_cat("Birman", [236, 222, 196])
        }
    }

    /// Solid glossy black, large round copper eyes, round head.
    pub fn bombay() -> Self {
        Self {
            coat: vec![[26, 24, 26], [34, 30, 32]],
            coat_jitter: 0.04,
            sheen: 0.7,
            eyes: vec![[196, 112, 36], [210, 140, 40]],
            eye_shape: EyeShape::Round,
            eye_size: 1.2,
            head: HeadShape {
                jaw: 0.85,
                cheeks: 0.4,
                ..cat_head()
            },
            ears: ears(0.8, 1.0, 0.85, EarStyle::Rounded),
            nose: [30, 26, 28],
            ..Self::base_cat("Bombay", [26, 24, 26])
        }
    }

    /// Solid blue-grey, dense coat, round copper eyes, very round face, small wide-set ears.
    pub fn british_shorthair() -> Self {
        Self {
            coat: vec![[120, 128, 140], [110, 118, 132], [132, 138, 148]],
            eyes: vec![[206, 128, 40], [220, 150, 50]],
            eye_shape: EyeShape::Round,
            eye_size: 1.1,
            head: HeadShape {
                width: 1.12,
                height: 0.92,
                jaw: 0.95,
                cheeks: 0.8,
                muzzle: 0.9,
            },
            ears: ears(0.58, 0.95, 1.0, EarStyle::Rounded),
            nose: [88, 92, 104],
            ..Self::base_cat("British_Shorthair", [120, 128, 140])
        }
    }

    /// Pale silver with random dark spots, forehead "M", gooseberry-green eyes.
    pub fn egyptian_mau() -> Self {
        Self {
            coat: vec![[192, 192, 186], [204, 202, 194], [180, 182, 178]],
            marking: [52, 50, 50],
            belly: Some([226, 224, 216]),
            pattern: CoatPattern::Spotted {
                rosettes: false,
                density: 1.0,
            },
            forehead_m: 0.85,
            eyes: vec![[140, 196, 70], [120, 184, 60]],
            eye_size: 1.1,
            head: HeadShape {
                jaw: 0.7,
                cheeks: 0.2,
                ..cat_head()
            },
            ears: ears(0.92, 1.05, 0.78, EarStyle::Pointed),
            nose: [190, 110, 100],
            ..Self::base_cat("Egyptian_Mau", [192, 192, 186])
        }
    }

    /// Brown tabby, white chest, long shaggy ruff, lynx tufts, square muzzle.
    pub fn maine_coon() -> Self {
        Self {
            coat: vec![[128, 92, 60], [140, 104, 70], [116, 84, 58]],
            marking: [44, 32, 24],
            belly: Some([214, 196, 170]),
            pattern: CoatPattern::Tabby,
            forehead_m: 0.9,
            white: WhiteMarkings {
                chest: 0.8,
                chin: 0.5,
                ..Default::default()
            },
            fur: FurLength::Long,
            eyes: vec![[150, 170, 60], [200, 160, 50]],
            head: HeadShape {
                width: 1.05,
                height: 1.0,
                jaw: 0.92,
                cheeks: 0.3,
                muzzle: 1.1,
            },
            ears: EarShape {
                tufts: true,
                ..ears(1.0, 1.05, 0.78, EarStyle::Pointed)
            },
            nose: [160, 90, 80],
            ..Self::base_cat("Maine_Coon", [128, 92, 60])
        }
    }

    /// White or cream, very long fur, flat face, small ears, large copper or blue eyes.
    pub fn persian() -> Self {
        Self {
            coat: vec![[242, 240, 234], [236, 222, 196], [246, 236, 218]],
            fur: FurLength::Long,
            eyes: vec![[204, 120, 40], [60, 110, 200]],
            eye_shape: EyeShape::Round,
            eye_size: 1.25,
            head: HeadShape {
                width: 1.12,
                height: 0.9,
                jaw: 0.95,
                cheeks: 0.7,
                muzzle: 0.3,
            },
            ears: ears(0.45, 0.9, 1.05, EarStyle::Rounded),
            nose: [214, 140, 140],
            ..Self::base_cat("Persian", [242, 240, 234])
        }
    }

    /// Pale body, darker points, white chin/chest/blaze, blue eyes, broad head.
    pub fn ragdoll() -> Self {
        Self {
            coat: vec![[232, 224, 212], [224, 214, 198]],
            marking: [108, 90, 80],
            belly: Some([246, 244, 240]),
            pattern: CoatPattern::Points { mask: 0.6 },
            white: WhiteMarkings {
                chest: 1.0,
                chin: 1.0,
                blaze: 1.0,
                paws: 0.6,
            },
            fur: FurLength::SemiLong,
            eyes: vec![[70, 120, 210], [50, 96, 196]],
            eye_shape: EyeShape::Round,
            head: HeadShape {
                width: 1.1,
                jaw: 0.85,
                cheeks: 0.45,
                ..cat_head()
            },
            ears: ears(0.8, 1.05, 0.85, EarStyle::Rounded),
            nose: [200, 140, 140],
            ..Self::base_cat("Ragdoll", [232, 224, 212])
        }
    }

    /// Even blue-grey with silver sheen, vivid green eyes, wedge head, large pointed ears.
    pub fn russian_blue() -> Self {
        Self {
            coat: vec![[116, 126, 140], [124, 134, 148]],
            sheen: 0.5,
            eyes: vec![[60, 190, 80], [80, 200, 100]],
            head: HeadShape {
                width: 0.95,
                jaw: 0.6,
                cheeks: 0.1,
                ..cat_head()
            },
            ears: ears(1.1, 1.1, 0.74, EarStyle::Pointed),
            nose: [96, 104, 118],
            ..Self::base_cat("Russian_Blue", [116, 126, 140])
        }
    }

    /// Cream body, dark seal mask and ears, blue almond eyes, long wedge, very large ears.
    pub fn siamese() -> Self {
        Self {
            coat: vec![[232, 218, 190], [222, 206, 176]],
            marking: [56, 40, 34],
            pattern: CoatPattern::Points { mask: 1.0 },
            eyes: vec![[70, 130, 220], [90, 150, 230]],
            head: HeadShape {
                width: 0.9,
                height: 1.05,
                jaw: 0.42,
                cheeks: 0.0,
                muzzle: 1.15,
            },
            ears: ears(1.35, 1.2, 0.7, EarStyle::Pointed),
            nose: [60, 44, 40],
            ..Self::base_cat("Siamese", [232, 218, 190])
        }
    }

    /// Hairless pink-peach skin with wrinkles, lemon/green eyes, very large ears, cheekbones.
    pub fn sphynx() -> Self {
        Self {
            coat: vec![[232, 180, 160], [222, 168, 150], [236, 194, 172]],
            marking: [190, 130, 120],
            pattern: CoatPattern::Hairless,
            fur: FurLength::None,
            wrinkles: true,
            eyes: vec![[200, 200, 70], [150, 190, 80]],
            eye_size: 1.15,
            head: HeadShape {
                width: 0.95,
                jaw: 0.55,
                cheeks: 0.6,
                ..cat_head()
            },
            ears: ears(1.45, 1.35, 0.82, EarStyle::Pointed),
            nose: [210, 140, 130],
            ..Self::base_cat("Sphynx", [232, 180, 160])
        }
    }

    /// Dogs: snout, floppy or upright ears, varied coats, brown eyes.
    pub fn other() -> Self {
        Self {
            name: "Other".to_string(),
            species: Species::Dog,
            coat: vec![
                [176, 128, 72],
                [40, 34, 30],
                [226, 214, 190],
                [130, 80, 44],
                [210, 170, 100],
                [150, 150, 150],
            ],
            marking: [60, 40, 28],
            belly: Some([226, 196, 150]),
            coat_jitter: 0.12,
            pattern: CoatPattern::Varied,
            fur: FurLength::Short,
            eyes: vec![[92, 56, 30], [70, 44, 26]],
            eye_shape: EyeShape::Round,
            eye_size: 0.85,
            head: HeadShape {
                width: 1.0,
                height: 1.0,
                jaw: 0.9,
                cheeks: 0.2,
                muzzle: 2.0,
            },
            ears: EarShape {
                styles: vec![
                    EarStyle::Floppy,
                    EarStyle::Floppy,
                    EarStyle::Pointed,
                    EarStyle::Rounded,
                ],
                ..ears(0.9, 1.1, 0.95, EarStyle::Floppy)
            },
            nose: [24, 20, 20],
            ..Self::base_cat("Other", [176, 128, 72])
        }
    }

    /// The preset of class `id` (index into [`crate::BREEDS`]), or `None` past `Other`.
    pub fn preset(id: usize) -> Option<Self> {
        Some(match id {
            0 => Self::abyssinian(),
            1 => Self::bengal(),
            2 => Self::birman(),
            3 => Self::bombay(),
            4 => Self::british_shorthair(),
            5 => Self::egyptian_mau(),
            6 => Self::maine_coon(),
            7 => Self::persian(),
            8 => Self::ragdoll(),
            9 => Self::russian_blue(),
            10 => Self::siamese(),
            11 => Self::sphynx(),
            12 => Self::other(),
            _ => return None,
        })
    }

    /// All 13 presets in class-id order.
    pub fn presets() -> Vec<Self> {
        (0..NUM_CLASSES).filter_map(Self::preset).collect()
    }

    /// This spec moved a fraction `t` (0 to 1) of the way toward `other`: the colours,
    /// the head, ear and eye geometry, the sheen and the extent of the pattern blend,
    /// while the name, species, kind of pattern, white markings, fur length, ear forms
    /// and tufts stay this breed's (the renderer draws any white marking above zero as a
    /// clear patch, so a blended one would not be a little closer but the other breed's). The list of coat and eye colours keeps its
    /// length, so a render draws the same choices from its random stream. The wild
    /// shift draws look-alike breeds closer with it.
    pub fn toward(&self, other: &BreedSpec, t: f32) -> BreedSpec {
        let t = t.clamp(0.0, 1.0);
        let lerp = |a: f32, b: f32| a + (b - a) * t;
        let colours = |mine: &[Rgb], theirs: &[Rgb]| -> Vec<Rgb> {
            mine.iter()
                .enumerate()
                .map(|(i, &c)| match theirs.get(i % theirs.len().max(1)) {
                    Some(&o) => mix(c, o, t),
                    None => c,
                })
                .collect()
        };
        let pattern = match (self.pattern, other.pattern) {
            (CoatPattern::Points { mask: a }, CoatPattern::Points { mask: b }) => {
                CoatPattern::Points { mask: lerp(a, b) }
            }
            (
                CoatPattern::Spotted {
                    rosettes,
                    density: a,
                },
                CoatPattern::Spotted { density: b, .. },
            ) => CoatPattern::Spotted {
                rosettes,
                density: lerp(a, b),
            },
            (mine, _) => mine,
        };
        let (h, o) = (self.head, other.head);
        BreedSpec {
            coat: colours(&self.coat, &other.coat),
            marking: mix(self.marking, other.marking, t),
            belly: match (self.belly, other.belly) {
                (Some(a), Some(b)) => Some(mix(a, b, t)),
                (mine, _) => mine,
            },
            coat_jitter: lerp(self.coat_jitter, other.coat_jitter),
            pattern,
            forehead_m: lerp(self.forehead_m, other.forehead_m),
            sheen: lerp(self.sheen, other.sheen),
            eyes: colours(&self.eyes, &other.eyes),
            eye_size: lerp(self.eye_size, other.eye_size),
            head: HeadShape {
                width: lerp(h.width, o.width),
                height: lerp(h.height, o.height),
                jaw: lerp(h.jaw, o.jaw),
                cheeks: lerp(h.cheeks, o.cheeks),
                muzzle: lerp(h.muzzle, o.muzzle),
            },
            ears: EarShape {
                size: lerp(self.ears.size, other.ears.size),
                width: lerp(self.ears.width, other.ears.width),
                set: lerp(self.ears.set, other.ears.set),
                ..self.ears.clone()
            },
            nose: mix(self.nose, other.nose, t),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BREEDS;

    #[test]
    fn presets_are_named_like_the_classes() {
        let presets = BreedSpec::presets();
        assert_eq!(presets.len(), NUM_CLASSES);
        for (spec, name) in presets.iter().zip(BREEDS) {
            assert_eq!(spec.name, name);
            assert!(!spec.coat.is_empty() && !spec.eyes.is_empty() && !spec.ears.styles.is_empty());
        }
        assert!(BreedSpec::preset(NUM_CLASSES).is_none());
    }

    #[test]
    fn toward_blends_geometry_and_colour_but_keeps_the_breed() {
        let (birman, ragdoll) = (BreedSpec::birman(), BreedSpec::ragdoll());
        assert_eq!(birman.toward(&ragdoll, 0.0), birman);
        let half = birman.toward(&ragdoll, 0.5);
        // By hand: head width 1.05 → 1.1, mask 0.7 → 0.6, coat [236, 222, 196] →
        // [232, 224, 212], eyes cycle through Ragdoll's two.
        assert!((half.head.width - 1.075).abs() < 1e-6);
        assert_eq!(half.pattern, CoatPattern::Points { mask: 0.65 });
        assert_eq!(half.coat[0], [234, 223, 204]);
        assert_eq!(half.coat.len(), birman.coat.len());
        assert_eq!(half.eyes[1], mix(birman.eyes[1], ragdoll.eyes[1], 0.5));
        // What makes it a Birman stays: the name, the white paws without a blaze, the
        // ear form, the fur.
        assert_eq!(half.name, "Birman");
        assert_eq!(half.white, birman.white);
        assert_eq!(half.ears.styles, birman.ears.styles);
        assert_eq!(half.fur, birman.fur);
        // All the way: the geometry is the other breed's; t beyond 1 is clamped.
        let all = birman.toward(&ragdoll, 2.0);
        assert_eq!(all.head, ragdoll.head);
        assert_eq!(all.coat[1], ragdoll.coat[1]);
        // A pattern of another kind is kept, not blended.
        let bombay = BreedSpec::bombay().toward(&birman, 0.5);
        assert_eq!(bombay.pattern, CoatPattern::Solid);
    }

    #[test]
    fn spec_round_trips_through_json() {
        let spec = BreedSpec::maine_coon();
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<BreedSpec>(&json).unwrap(), spec);
    }
}
