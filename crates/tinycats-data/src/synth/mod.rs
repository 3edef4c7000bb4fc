//! SynthCats: a procedural, honest-about-being-synthetic dataset of cat portraits in the
//! 13 classes of [`crate::BREEDS`], drawn with anti-aliased vector graphics (tiny-skia).
//!
//! Every image is a pure function of `(seed, breed name, index, size)`: the same inputs
//! give the same bytes, whichever thread renders them.
//!
//! ```
//! use tinycats_data::synth::{SynthCats, SynthConfig, BreedSpec};
//!
//! let synth = SynthCats::new(SynthConfig { size: 64, seed: 7, ..SynthConfig::default() })?;
//! let siamese = synth.render(10, 0)?;
//! assert_eq!(siamese.dimensions(), (64, 64));
//!
//! // A breed the presets do not have: a green-eyed cinnamon wedge-head.
//! let custom = BreedSpec { name: "Cinnamon".into(), coat: vec![[150, 90, 50]], ..BreedSpec::russian_blue() };
//! let img = synth.render_spec(&custom, 0);
//! assert_eq!(img.dimensions(), (64, 64));
//! # Ok::<(), tinycats_data::DataError>(())
//! ```
mod background;
mod canvas;
mod colour;
mod post;
mod render;
mod sheet;
mod spec;
pub mod targets;
mod wild;
mod write;

use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tiny_skia::{Pixmap, Transform};
use tinycats_core::seed::{derive, name_id};

pub use background::BackgroundKind;
pub use colour::Rgb;
pub use render::DogCoat;
pub use spec::{
    BreedSpec, CoatPattern, EarShape, EarStyle, EyeShape, FurLength, HeadShape, Species,
    WhiteMarkings,
};
pub use wild::{LOOK_ALIKE_PULL, LOOK_ALIKES, look_alike};
pub use write::{MANIFEST, WriteSummary, read_manifest};

use crate::error::{DataError, Result};
use tinycats_core::classes::{BREEDS, NUM_CLASSES};

/// How SynthCats renders.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SynthConfig {
    /// Side of the square images in pixels (16..=1024; 64, 96 and 128 are the usual).
    pub size: u32,
    /// Seed of the whole dataset.
    pub seed: u64,
    /// Lighting gradient, colour cast, sensor noise and blur (turn off for clean renders).
    pub camera_effects: bool,
    /// Probability that a portrait is framed so tightly that part of it is cut off.
    pub crop_probability: f32,
    /// The "wild" shift, 0 (none, the default) to 1: look-alike breeds drawn closer
    /// together, a busier room, stronger rotation, zoom and offset, occlusion, harsh
    /// exposure and colour casts, blur, noise and JPEG compression, drawn on a random
    /// stream of its own (so 0 leaves every render as it was). For evaluation
    /// under distribution shift: `tinycats eval classifier --severity`, and the named
    /// hard split at [`WILD_SEVERITY`] (`--split wild`).
    #[serde(default)]
    pub severity: f32,
}

/// The severity of the named hard split, `wild` (`tinycats eval classifier --split wild`):
/// where the bundled classifier's look-alike confusions show (the evaluation chapter).
pub const WILD_SEVERITY: f32 = 0.75;

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            size: 64,
            seed: 0,
            camera_effects: true,
            crop_probability: 0.12,
            severity: 0.0,
        }
    }
}

/// What was drawn for one image (one row of the manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleAttributes {
    /// Path relative to the dataset root (empty for in-memory renders).
    pub file: String,
    pub class_id: usize,
    pub breed: String,
    pub index: u64,
    pub size: u32,
    pub coat: String,
    pub marking: String,
    pub eye: String,
    pub ear_style: EarStyle,
    pub dog_coat: Option<DogCoat>,
    pub white_paws: bool,
    pub yaw: f32,
    pub tilt_deg: f32,
    pub scale: f32,
    pub center_x: f32,
    pub center_y: f32,
    pub cropped: bool,
    pub eye_open: f32,
    pub background: BackgroundKind,
    pub clutter: u8,
    pub light_angle: f32,
    pub noise_sigma: f32,
    pub blur_passes: u8,
}

/// The SynthCats generator.
#[derive(Debug, Clone)]
pub struct SynthCats {
    config: SynthConfig,
    presets: Vec<BreedSpec>,
}

fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// Salt of the wild shift's random stream ("WILD"), apart from the render's own.
const WILD_STREAM: u64 = 0x5749_4c44;

impl SynthCats {
    /// Checks the config and prepares the 13 presets.
    pub fn new(config: SynthConfig) -> Result<Self> {
        if !(16..=1024).contains(&config.size) {
            return Err(DataError::config(
                "size",
                config.size,
                "use a size between 16 and 1024 pixels (64, 96 or 128 are typical)",
            ));
        }
        if !(0.0..=1.0).contains(&config.crop_probability) {
            return Err(DataError::config(
                "crop_probability",
                config.crop_probability,
                "use a probability between 0 and 1",
            ));
        }
        if !(0.0..=1.0).contains(&config.severity) {
            return Err(DataError::config(
                "severity",
                config.severity,
                "use a severity between 0 (clean renders) and 1 (the hardest shift)",
            ));
        }
        Ok(Self {
            config,
            presets: BreedSpec::presets(),
        })
    }

    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// The preset of class `breed`.
    pub fn preset(&self, breed: usize) -> Result<&BreedSpec> {
        self.presets.get(breed).ok_or_else(|| {
            DataError::config(
                "breed",
                breed,
                format!("use a class id below {NUM_CLASSES} ({})", BREEDS.join(", ")),
            )
        })
    }

    /// Renders sample `index` of class `breed` (an index into [`BREEDS`]).
    pub fn render(&self, breed: usize, index: u64) -> Result<RgbImage> {
        Ok(self.render_spec(self.preset(breed)?, index))
    }

    /// Renders sample `index` of class `breed` with what was drawn.
    pub fn render_with_attributes(
        &self,
        breed: usize,
        index: u64,
    ) -> Result<(RgbImage, SampleAttributes)> {
        let spec = self.preset(breed)?;
        let (img, mut attrs) = self.render_spec_with_attributes(spec, index);
        attrs.class_id = breed;
        Ok((img, attrs))
    }

    /// Renders sample `index` of any breed spec, including ones that are not presets.
    pub fn render_spec(&self, spec: &BreedSpec, index: u64) -> RgbImage {
        self.render_spec_with_attributes(spec, index).0
    }

    /// Renders sample `index` of `spec` with what was drawn. `class_id` in the
    /// attributes is the preset's id when `spec.name` names one, else `NUM_CLASSES`.
    pub fn render_spec_with_attributes(
        &self,
        spec: &BreedSpec,
        index: u64,
    ) -> (RgbImage, SampleAttributes) {
        let size = self.config.size;
        let key = derive(self.config.seed, &[name_id(&spec.name), index]);
        let mut rng = ChaCha8Rng::seed_from_u64(key);
        let mut pixmap = Pixmap::new(size, size).expect("size was checked in SynthCats::new");
        let (background, clutter) = background::draw(&mut pixmap, &mut rng);
        // The wild shift's own stream: a busier room and a breed drawn closer to its
        // look-alike now, the photographic shift after the render.
        let severity = self.config.severity;
        let mut wild_rng = ChaCha8Rng::seed_from_u64(derive(key ^ WILD_STREAM, &[]));
        let closer;
        let spec = if severity > 0.0 {
            background::busier(&mut pixmap, severity, &mut wild_rng);
            match wild::look_alike(&spec.name)
                .and_then(|name| self.presets.iter().find(|p| p.name == name))
            {
                Some(other) => {
                    closer = spec.toward(other, wild::LOOK_ALIKE_PULL * severity);
                    &closer
                }
                None => spec,
            }
        } else {
            spec
        };

        let cropped = rng.random::<f32>() < self.config.crop_probability;
        let mut scale = rng.random_range(0.85..1.15f32);
        let mut center_x = rng.random_range(0.42..0.58f32);
        let center_y = rng.random_range(0.36..0.46f32);
        if cropped {
            scale *= rng.random_range(1.3..1.6);
            center_x += rng.random_range(-0.15..0.15);
        }
        let tilt_deg = rng.random_range(-12.0..12.0f32);
        let unit = size as f32 * 0.23 * scale;
        let ts = Transform::from_translate(center_x * size as f32, center_y * size as f32)
            .pre_rotate(tilt_deg)
            .pre_scale(unit, unit);
        let look = render::Look::draw(spec, &mut rng);
        render::draw_animal(
            &mut canvas::Canvas {
                pixmap: &mut pixmap,
                ts,
            },
            spec,
            &look,
            &mut rng,
        );
        let effects = if self.config.camera_effects {
            post::apply(&mut pixmap, &mut rng)
        } else {
            post::Effects {
                light_angle: 0.0,
                noise_sigma: 0.0,
                blur_passes: 0,
            }
        };
        let mut img = RgbImage::from_fn(size, size, |x, y| {
            let p = pixmap.pixel(x, y).expect("inside the pixmap");
            image::Rgb([p.red(), p.green(), p.blue()])
        });
        if severity > 0.0 {
            img = wild::apply(&img, severity, &mut wild_rng);
        }
        let attrs = SampleAttributes {
            file: String::new(),
            class_id: BREEDS
                .iter()
                .position(|b| *b == spec.name)
                .unwrap_or(NUM_CLASSES),
            breed: spec.name.clone(),
            index,
            size,
            coat: hex(look.coat),
            marking: hex(look.marking),
            eye: hex(look.eye),
            ear_style: look.ear_style,
            dog_coat: look.dog_coat,
            white_paws: look.white_paws,
            yaw: look.yaw,
            tilt_deg,
            scale,
            center_x,
            center_y,
            cropped,
            eye_open: look.eye_open,
            background,
            clutter,
            light_angle: effects.light_angle,
            noise_sigma: effects.noise_sigma,
            blur_passes: effects.blur_passes,
        };
        (img, attrs)
    }

    /// A contact sheet: `per_row` samples of each spec, one labelled row per spec.
    pub fn contact_sheet(&self, specs: &[BreedSpec], per_row: u64) -> RgbImage {
        use rayon::prelude::*;
        let rows: Vec<(String, Vec<RgbImage>)> = specs
            .par_iter()
            .map(|s| {
                (
                    s.name.clone(),
                    (0..per_row).map(|i| self.render_spec(s, i)).collect(),
                )
            })
            .collect();
        sheet::grid(&rows, self.config.size)
    }

    /// The 13 presets in class order.
    pub fn presets(&self) -> &[BreedSpec] {
        &self.presets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synth(size: u32, seed: u64) -> SynthCats {
        SynthCats::new(SynthConfig {
            size,
            seed,
            ..SynthConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn same_seed_same_bytes_and_different_seed_differs() {
        let a = synth(64, 3).render(4, 17).unwrap();
        let b = synth(64, 3).render(4, 17).unwrap();
        let c = synth(64, 4).render(4, 17).unwrap();
        assert_eq!(a.as_raw(), b.as_raw());
        assert_ne!(a.as_raw(), c.as_raw());
        assert_ne!(a.as_raw(), synth(64, 3).render(4, 18).unwrap().as_raw());
    }

    #[test]
    fn renders_do_not_depend_on_the_thread_that_draws_them() {
        use rayon::prelude::*;
        let s = synth(48, 11);
        let serial: Vec<_> = (0..26u64)
            .map(|i| s.render((i % 13) as usize, i).unwrap())
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let parallel: Vec<_> = pool.install(|| {
            (0..26u64)
                .into_par_iter()
                .map(|i| s.render((i % 13) as usize, i).unwrap())
                .collect()
        });
        assert_eq!(serial, parallel);
    }

    #[test]
    fn bad_size_and_breed_are_typed_errors() {
        assert!(matches!(
            SynthCats::new(SynthConfig {
                size: 4,
                ..SynthConfig::default()
            }),
            Err(DataError::Config { name: "size", .. })
        ));
        assert!(matches!(
            synth(32, 0).render(13, 0),
            Err(DataError::Config { name: "breed", .. })
        ));
    }

    #[test]
    fn every_size_renders() {
        for size in [32, 64, 96, 128] {
            let img = synth(size, 1).render(6, 0).unwrap();
            assert_eq!(img.dimensions(), (size, size));
        }
    }

    #[test]
    fn custom_spec_renders_and_records_its_name() {
        let spec = BreedSpec {
            name: "Lilac_Wedge".into(),
            coat: vec![[200, 170, 200]],
            ..BreedSpec::siamese()
        };
        let (img, attrs) = synth(64, 2).render_spec_with_attributes(&spec, 5);
        assert_eq!(attrs.breed, "Lilac_Wedge");
        assert_eq!(attrs.class_id, NUM_CLASSES);
        assert_eq!(img.dimensions(), (64, 64));
        assert_ne!(img.as_raw(), synth(64, 2).render(10, 5).unwrap().as_raw());
    }

    /// Mean colour of the central region (where the face is) over many samples.
    fn mean_center(s: &SynthCats, breed: usize) -> [f32; 3] {
        let mut acc = [0f64; 3];
        let mut n = 0f64;
        for i in 0..24 {
            let img = s.render(breed, i).unwrap();
            for y in 24..40 {
                for x in 24..40 {
                    let p = img.get_pixel(x, y);
                    for c in 0..3 {
                        acc[c] += p[c] as f64;
                    }
                    n += 1.0;
                }
            }
        }
        acc.map(|v| (v / n) as f32)
    }

    #[test]
    fn the_wild_shift_is_off_at_zero_deterministic_and_strong_at_one() {
        let at = |severity: f32| {
            SynthCats::new(SynthConfig {
                severity,
                ..SynthConfig::default()
            })
            .unwrap()
        };
        let clean = SynthCats::new(SynthConfig::default()).unwrap();
        let mean_abs = |a: &RgbImage, b: &RgbImage| {
            a.as_raw()
                .iter()
                .zip(b.as_raw())
                .map(|(&x, &y)| f64::from(x.abs_diff(y)))
                .sum::<f64>()
                / a.as_raw().len() as f64
        };
        let (mut mild, mut hard) = (0.0, 0.0);
        for i in 0..8 {
            let base = clean.render(i % 13, 1000 + i as u64).unwrap();
            assert_eq!(at(0.0).render(i % 13, 1000 + i as u64).unwrap(), base);
            let wild = at(1.0).render(i % 13, 1000 + i as u64).unwrap();
            assert_eq!(wild, at(1.0).render(i % 13, 1000 + i as u64).unwrap());
            mild += mean_abs(&at(0.2).render(i % 13, 1000 + i as u64).unwrap(), &base);
            hard += mean_abs(&wild, &base);
        }
        // Pixel values 0–255: severity 1 moves them far more than 0.2 does.
        assert!(hard > 2.0 * mild && hard > 30.0, "mild {mild}, hard {hard}");
        let err = SynthCats::new(SynthConfig {
            severity: 1.5,
            ..SynthConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("severity"), "{err}");
    }

    #[test]
    fn the_wild_shift_draws_look_alikes_closer_and_leaves_other_breeds_alone() {
        let wild = SynthCats::new(SynthConfig {
            severity: 1.0,
            ..SynthConfig::default()
        })
        .unwrap();
        let clean = SynthCats::new(SynthConfig::default()).unwrap();
        let eye = |s: &SynthCats, breed: usize| s.render_with_attributes(breed, 7).unwrap().1.eye;
        // How far an eye colour ("#rrggbb") is from British Shorthair's first copper.
        let to_copper = |hex: &str| {
            let copper = BreedSpec::british_shorthair().eyes[0];
            (0..3)
                .map(|i| {
                    let v = u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap();
                    (f32::from(v) - f32::from(copper[i])).powi(2)
                })
                .sum::<f32>()
                .sqrt()
        };
        // Russian Blue's green eyes move 45 % of the way toward British Shorthair's
        // copper (the render's own ±8 % jitter on top); Siamese has no look-alike and
        // keeps its blue. The same render index draws the same pose, so only the spec
        // differs.
        let (rb, siamese) = (9, 10);
        let (near, far) = (to_copper(&eye(&wild, rb)), to_copper(&eye(&clean, rb)));
        assert!(near < 0.75 * far, "wild {near}, clean {far}");
        assert_eq!(eye(&wild, siamese), eye(&clean, siamese));
        assert_eq!(
            wild.render_with_attributes(rb, 7).unwrap().1.yaw,
            clean.render_with_attributes(rb, 7).unwrap().1.yaw
        );
    }

    #[test]
    fn breed_colours_follow_the_standard() {
        let s = SynthCats::new(SynthConfig {
            size: 64,
            seed: 5,
            camera_effects: false,
            crop_probability: 0.0,
            severity: 0.0,
        })
        .unwrap();
        let bombay = mean_center(&s, 3);
        let persian = mean_center(&s, 7);
        let aby = mean_center(&s, 0);
        let luma = |c: [f32; 3]| 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
        assert!(
            luma(bombay) + 60.0 < luma(persian),
            "Bombay {bombay:?} should be far darker than Persian {persian:?}"
        );
        assert!(
            aby[0] > aby[2] + 30.0,
            "Abyssinian should be warm (red > blue): {aby:?}"
        );
    }
}
