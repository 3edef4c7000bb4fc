//! The TinyDiT generator on ONNX Runtime: flow-matching sampling (Euler or Heun) from
//! t = 0 (noise) to t = 1 (data), classifier-free guidance in the caller — conditional and
//! unconditional rows go through the graph in ONE call per velocity evaluation.

use std::path::Path;

use image::RgbImage;
use ndarray::{Array1, Array4, ArrayView4, Axis, Ix4, concatenate, s};
use ort::session::Session;
use ort::value::TensorRef;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tinycats_onnx::metadata as keys;
use tinycats_onnx::proto::tensor_proto::DataType;

use crate::classifier::read_preprocess;
use crate::error::{OrtContext, Result, RuntimeError};
use crate::preprocess::Preprocess;
use crate::session::{Contract, Io, Metadata, SessionOptions, open};

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

/// The ODE solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampler {
    /// One velocity evaluation per step.
    #[default]
    Euler,
    /// Euler predictor + trapezoidal corrector: two evaluations per step.
    Heun,
}

/// Which breed to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breed {
    Index(usize),
    /// A class name, matched case-insensitively (`"maine coon"`, `"Maine_Coon"`).
    Name(String),
    /// The null class: unconditional samples, no guidance.
    Unconditional,
}

/// What [`Generator::generate`] draws.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub breed: Breed,
    pub steps: usize,
    /// Classifier-free guidance scale `s`: `v = v_u + s·(v_c − v_u)`; 1 = no guidance.
    pub guidance: f32,
    pub sampler: Sampler,
    pub seed: u64,
    pub batch: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            breed: Breed::Index(0),
            // The same defaults as `tinycats_models::flow::SampleOptions::DEFAULT`
            // (this crate has no libtorch dependency to read them from).
            steps: 20,
            guidance: 4.0,
            sampler: Sampler::Euler,
            seed: 0,
            batch: 1,
        }
    }
}

/// Passed to the per-step callback after each step.
#[derive(Debug)]
pub struct Step<'a> {
    /// 1-based step number and the total.
    pub index: usize,
    pub total: usize,
    /// The time reached by this step.
    pub t: f32,
    /// The current state `x_t`, `(B, C, H, W)`, normalised.
    pub x: ArrayView4<'a, f32>,
    /// The model's current guess of the clean image, `x_t + (1 − t)·v`.
    pub preview: ArrayView4<'a, f32>,
}

/// A loaded generator graph.
#[derive(Debug)]
pub struct Generator {
    session: Session,
    class_names: Vec<String>,
    null_class: usize,
    preprocess: Preprocess,
    meta: Metadata,
}

impl Generator {
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, SessionOptions::default())
    }

    pub fn load_with(path: impl AsRef<Path>, options: SessionOptions) -> Result<Self> {
        let opened = open(path.as_ref(), options, &CONTRACT)?;
        let meta = opened.meta;
        meta.expect_model_type("tinydit")?;
        let class_names: Vec<String> = meta.parse(keys::CLASS_NAMES)?;
        let null_class: usize = meta.parse(keys::NULL_CLASS)?;
        let preprocess = read_preprocess(&meta)?;
        Ok(Self {
            session: opened.session,
            class_names,
            null_class,
            preprocess,
            meta,
        })
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

    pub fn breed_index(&self, breed: &Breed) -> Result<usize> {
        let norm = |s: &str| s.to_lowercase().replace(['_', '-'], " ");
        match breed {
            Breed::Unconditional => Ok(self.null_class),
            Breed::Index(i) if *i <= self.null_class => Ok(*i),
            Breed::Index(i) => Err(self.unknown(i.to_string())),
            Breed::Name(name) => self
                .class_names
                .iter()
                .position(|c| norm(c) == norm(name))
                .ok_or_else(|| self.unknown(name.clone())),
        }
    }

    fn unknown(&self, given: String) -> RuntimeError {
        let known = self
            .class_names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        RuntimeError::UnknownBreed {
            given,
            known: format!("{known} ({} = unconditional)", self.null_class),
        }
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
        v.to_owned()
            .into_dimensionality::<Ix4>()
            .map_err(|e| RuntimeError::Invalid(format!("generator output: {e}")))
    }

    /// The guided velocity at time `t` for all rows of `x`, all of breed `breed`:
    /// conditional and unconditional rows stacked into one `(2B, …)` call.
    pub fn guided_velocity(
        &mut self,
        x: ArrayView4<f32>,
        t: f32,
        breed: usize,
        guidance: f32,
    ) -> Result<Array4<f32>> {
        let b = x.shape()[0];
        if breed == self.null_class || guidance == 1.0 {
            return self.velocity(x, &vec![t; b], &vec![breed as i64; b]);
        }
        let xx = concatenate(Axis(0), &[x, x]).expect("same shapes"); // (2B, C, H, W)
        let mut y = vec![breed as i64; b];
        y.extend(std::iter::repeat_n(self.null_class as i64, b));
        let v = self.velocity(xx.view(), &vec![t; 2 * b], &y)?; // (2B, C, H, W)
        let (vc, vu) = (v.slice(s![..b, .., .., ..]), v.slice(s![b.., .., .., ..]));
        Ok(&vu + &((&vc - &vu) * guidance))
    }

    /// Integrates from `noise` at t = 0 to t = 1 with `steps` uniform steps.
    pub fn sample(
        &mut self,
        noise: Array4<f32>,
        breed: usize,
        steps: usize,
        guidance: f32,
        sampler: Sampler,
        mut on_step: impl FnMut(&Step<'_>),
    ) -> Result<Array4<f32>> {
        if steps == 0 {
            return Err(RuntimeError::Invalid("steps must be at least 1".into()));
        }
        let ts = timesteps(steps);
        let mut x = noise;
        for (i, w) in ts.windows(2).enumerate() {
            let (t0, t1) = (w[0], w[1]);
            let dt = t1 - t0;
            let v0 = self.guided_velocity(x.view(), t0, breed, guidance)?;
            let v = match sampler {
                Sampler::Euler => v0,
                Sampler::Heun => {
                    let x1 = &x + &(&v0 * dt);
                    let v1 = self.guided_velocity(x1.view(), t1, breed, guidance)?;
                    (v0 + v1) * 0.5
                }
            };
            x.scaled_add(dt, &v);
            let preview = &x + &(&v * (1.0 - t1));
            on_step(&Step {
                index: i + 1,
                total: steps,
                t: t1,
                x: x.view(),
                preview: preview.view(),
            });
        }
        Ok(x)
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
        let s = self.image_size();
        let x0 = gaussian_noise(options.seed, (options.batch, 3, s, s));
        let x1 = self.sample(
            x0,
            breed,
            options.steps,
            options.guidance,
            options.sampler,
            on_step,
        )?;
        Ok(x1
            .axis_iter(Axis(0))
            .map(|img| self.preprocess.to_image(img))
            .collect())
    }
}

/// `steps + 1` uniform times from 0 to 1.
pub fn timesteps(steps: usize) -> Vec<f32> {
    (0..=steps).map(|i| i as f32 / steps as f32).collect()
}

/// Standard-normal noise from a seed (ChaCha8, Box–Muller), the same on every platform.
pub fn gaussian_noise(seed: u64, shape: (usize, usize, usize, usize)) -> Array4<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = shape.0 * shape.1 * shape.2 * shape.3;
    let mut v = Vec::with_capacity(n + 1);
    while v.len() < n {
        let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let u2: f64 = rng.random();
        let r = (-2.0 * u1.ln()).sqrt();
        let a = std::f64::consts::TAU * u2;
        v.push((r * a.cos()) as f32);
        v.push((r * a.sin()) as f32);
    }
    v.truncate(n);
    Array1::from(v)
        .into_shape_with_order(shape)
        .expect("length matches")
}
