//! The TinyDiT generator on ONNX Runtime: flow-matching sampling (Euler or Heun) from
//! t = 0 (noise) to t = 1 (data), guidance in the caller — conditional and unconditional rows
//! go through the graph in ONE call per guided velocity evaluation — or, with a guide model
//! ([`Generator::set_guide`]), autoguidance: the reference velocity is the weaker model's
//! conditional one.

use std::path::Path;

use image::RgbImage;
use ndarray::{Array4, ArrayView4, Axis, Ix4, concatenate, s};
use ort::session::Session;
use ort::value::TensorRef;
use tinycats_core::{Breed, SampleOptions, State, class_index, guide, timesteps};
use tinycats_onnx::metadata as keys;
use tinycats_onnx::proto::tensor_proto::DataType;

use crate::classifier::read_preprocess;
use crate::error::{OrtContext, Result, RuntimeError};
use crate::preprocess::Preprocess;
use crate::session::{Contract, Expect, Io, Metadata, REEXPORT, SessionOptions, open};

const CONTRACT: Contract = Contract {
    model: "generator",
    inputs: &[
        Io {
            name: "noise",
            elem: DataType::Float,
            rank: 4,
        },
        Io {
            name: "timestep",
            elem: DataType::Float,
            rank: 1,
        },
        Io {
            name: "breed",
            elem: DataType::Int64,
            rank: 1,
        },
    ],
    outputs: &[Io {
        name: "velocity",
        elem: DataType::Float,
        rank: 4,
    }],
};

/// What [`Generator::generate`] draws.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub breed: Breed,
    /// Steps, solver, time-grid shift and guidance: the same options, and the same
    /// defaults, as the libtorch sampler's.
    pub sampling: SampleOptions,
    /// Seed of the portable noise ([`tinycats_core::noise`]): image `i` draws stream `i`.
    pub seed: u64,
    pub batch: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            breed: Breed::Index(0),
            sampling: SampleOptions::DEFAULT,
            seed: 0,
            batch: 1,
        }
    }
}

/// An ndarray batch `(B, C, H, W)` as a state of the shared sampling loop
/// ([`tinycats_core::integrate`]).
#[derive(Debug, Clone)]
pub struct Images(pub Array4<f32>);

impl State for Images {
    fn add_scaled(&self, v: &Self, a: f64) -> Self {
        Images(&self.0 + &(&v.0 * a as f32))
    }
}

/// What the per-step callback sees: the state and velocity after each step
/// (`step.preview()` is the model's current guess of the clean image).
pub type Step<'a> = tinycats_core::Step<'a, Images>;

/// A loaded generator graph.
#[derive(Debug)]
pub struct Generator {
    session: Session,
    class_names: Vec<String>,
    null_class: usize,
    preprocess: Preprocess,
    meta: Metadata,
    /// The weaker model of autoguidance, when set.
    guide: Option<Box<Generator>>,
}

impl Generator {
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, SessionOptions::default())
    }

    pub fn load_with(path: impl AsRef<Path>, options: SessionOptions) -> Result<Self> {
        let opened = open(path.as_ref(), options, &CONTRACT)?;
        opened.meta.expect_model_type("tinydit")?;
        let class_names = opened.meta.class_names()?;
        // Labels index the graph's embedding table: the classes, then "no breed".
        let null_class = class_names.len();
        opened.meta.expect_count(
            keys::NULL_CLASS,
            null_class,
            "one past the last class name: the unconditional label",
        )?;
        let preprocess = read_preprocess(&opened.meta)?;
        let image = Expect::image(preprocess.size);
        opened.check_dims("noise", &image)?;
        opened.check_dims("timestep", &[Expect::Batch])?;
        opened.check_dims("breed", &[Expect::Batch])?;
        opened.check_dims("velocity", &image)?;
        Ok(Self {
            session: opened.session,
            class_names,
            null_class,
            preprocess,
            meta: opened.meta,
            guide: None,
        })
    }

    /// Autoguidance (Karras et al., 2024, "Guiding a diffusion model with a bad version of
    /// itself"): guided steps extrapolate from `guide`'s conditional velocity instead of this
    /// model's unconditional one, `v = v_guide + s·(v_c − v_guide)`. `guide` must be a model of
    /// the same classes and image size (a weaker or earlier one); `None` returns to
    /// classifier-free guidance.
    pub fn set_guide(&mut self, guide: Option<Generator>) -> Result<()> {
        if let Some(g) = &guide
            && (g.class_names != self.class_names || g.image_size() != self.image_size())
        {
            return Err(RuntimeError::Invalid(format!(
                "the guide model draws {} px images of {:?}, this one {} px images of {:?}: \
                 autoguidance needs a weaker model of the same classes and size",
                g.image_size(),
                g.class_names,
                self.image_size(),
                self.class_names
            )));
        }
        self.guide = guide.map(Box::new);
        Ok(())
    }

    /// Whether guided steps use a guide model (autoguidance) rather than this model's
    /// unconditional velocity.
    pub fn has_guide(&self) -> bool {
        self.guide.is_some()
    }

    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The breed index meaning "unconditional".
    pub fn null_class(&self) -> usize {
        self.null_class
    }

    pub fn image_size(&self) -> usize {
        self.preprocess.size as usize
    }

    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The pixel transform (its [`Preprocess::to_image`] turns samples into images).
    pub fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }

    /// The label of `breed`: an index, a name, or the null class.
    pub fn breed_index(&self, breed: &Breed) -> Result<usize> {
        class_index(&self.class_names, breed, true).map_err(|e| RuntimeError::UnknownBreed {
            given: e.given,
            known: e.known,
        })
    }

    /// Portable seeded noise ([`tinycats_core::noise`]) for `n` images of this model:
    /// the same seed gives the same noise as `tinycats_models::flow::seeded_noise`.
    ///
    /// # Shapes
    /// → `(n, 3, S, S)`
    pub fn noise(&self, seed: u64, n: usize) -> Array4<f32> {
        let s = self.image_size();
        let values = tinycats_core::noise::images(seed, n, 3 * s * s);
        Array4::from_shape_vec((n, 3, s, s), values).expect("length matches")
    }

    /// One denoiser evaluation (the ONNX graph itself).
    ///
    /// # Shapes
    /// `x (B, C, H, W)`, `t (B)`, `breed (B)` → velocity `(B, C, H, W)`
    pub fn velocity(
        &mut self,
        x: ArrayView4<f32>,
        t: &[f32],
        breed: &[i64],
    ) -> Result<Array4<f32>> {
        let t = ndarray::ArrayView1::from(t);
        let y = ndarray::ArrayView1::from(breed);
        let inputs = ort::inputs![
            "noise" => TensorRef::from_array_view(x).ctx(|| "noise".into())?,
            "timestep" => TensorRef::from_array_view(t).ctx(|| "timestep".into())?,
            "breed" => TensorRef::from_array_view(y).ctx(|| "breed".into())?,
        ];
        let outputs = self
            .session
            .run(inputs)
            .ctx(|| "running the generator".into())?;
        let v = outputs["velocity"]
            .try_extract_array::<f32>()
            .ctx(|| "generator output".into())?;
        if v.shape() != x.shape() {
            return Err(RuntimeError::Mismatch {
                path: self.meta.path().to_path_buf(),
                what: "the shape of output `velocity`".into(),
                found: format!("{:?}", v.shape()),
                expected: format!("{:?} (the shape of input `noise`)", x.shape()),
                fix: REEXPORT,
            });
        }
        v.to_owned()
            .into_dimensionality::<Ix4>()
            .map_err(|e| RuntimeError::Invalid(format!("generator output: {e}")))
    }

    /// The guided velocity at time `t` for all rows of `x`, all of breed `breed`:
    /// conditional and unconditional rows stacked into one `(2B, …)` call (or, with a guide
    /// model, the conditional rows through both models), combined by
    /// [`tinycats_core::guide`].
    pub fn guided_velocity(
        &mut self,
        x: ArrayView4<f32>,
        t: f32,
        breed: usize,
        guidance: f64,
    ) -> Result<Array4<f32>> {
        let labels = vec![breed; x.shape()[0]];
        self.guided_velocity_labels(x, t, &labels, guidance)
    }

    /// [`Generator::guided_velocity`] with one label per row of `x`.
    pub fn guided_velocity_labels(
        &mut self,
        x: ArrayView4<f32>,
        t: f32,
        labels: &[usize],
        guidance: f64,
    ) -> Result<Array4<f32>> {
        let b = x.shape()[0];
        if labels.len() != b {
            return Err(RuntimeError::Invalid(format!(
                "{} labels for a batch of {b} images",
                labels.len()
            )));
        }
        let y: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        if guidance == 1.0 || labels.iter().all(|&l| l == self.null_class) {
            return self.velocity(x, &vec![t; b], &y);
        }
        if let Some(weak) = self.guide.as_mut() {
            let v_ref = weak.velocity(x, &vec![t; b], &y)?;
            let v_c = self.velocity(x, &vec![t; b], &y)?;
            return Ok(guide(&Images(v_c), &Images(v_ref), guidance).0);
        }
        let xx = concatenate(Axis(0), &[x, x]).expect("same shapes"); // (2B, C, H, W)
        let mut yy = y;
        yy.extend(std::iter::repeat_n(self.null_class as i64, b));
        let v = self.velocity(xx.view(), &vec![t; 2 * b], &yy)?; // (2B, C, H, W)
        let (vc, vu) = (v.slice(s![..b, .., .., ..]), v.slice(s![b.., .., .., ..]));
        Ok(guide(&Images(vc.to_owned()), &Images(vu.to_owned()), guidance).0)
    }

    /// Integrates from `noise` at t = 0 to t = 1 with the shared sampling loop
    /// ([`tinycats_core::integrate`]), every row of breed `breed`.
    pub fn sample(
        &mut self,
        noise: Array4<f32>,
        breed: usize,
        options: &SampleOptions,
        on_step: impl FnMut(&Step<'_>),
    ) -> Result<Array4<f32>> {
        let labels = vec![breed; noise.shape()[0]];
        self.sample_labels(noise, &labels, options, on_step)
    }

    /// [`Generator::sample`] with one label per row of `noise` (the null class allowed).
    pub fn sample_labels(
        &mut self,
        noise: Array4<f32>,
        labels: &[usize],
        options: &SampleOptions,
        on_step: impl FnMut(&Step<'_>),
    ) -> Result<Array4<f32>> {
        options
            .validate()
            .map_err(|e| RuntimeError::Invalid(e.to_string()))?;
        for &label in labels {
            self.breed_index(&Breed::Index(label))?;
        }
        let times = timesteps(options.steps, options.shift);
        let velocity = |x: &Images, t: f64| {
            let scale = options.guidance_at(t);
            self.guided_velocity_labels(x.0.view(), t as f32, labels, scale)
                .map(Images)
        };
        let x = tinycats_core::integrate(Images(noise), &times, options.solver, velocity, on_step)?;
        Ok(x.0)
    }

    /// Draws `options.batch` images of one breed from seeded Gaussian noise.
    pub fn generate(
        &mut self,
        options: &GenerateOptions,
        on_step: impl FnMut(&Step<'_>),
    ) -> Result<Vec<RgbImage>> {
        if options.batch == 0 {
            return Err(RuntimeError::Invalid("batch must be at least 1".into()));
        }
        let breed = self.breed_index(&options.breed)?;
        let x0 = self.noise(options.seed, options.batch);
        let x1 = self.sample(x0, breed, &options.sampling, on_step)?;
        Ok(x1
            .axis_iter(Axis(0))
            .map(|img| self.preprocess.to_image(img))
            .collect())
    }
}
