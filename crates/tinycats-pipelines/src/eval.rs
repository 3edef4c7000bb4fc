//! Evaluation loops: the classifier on the held-out SynthCats test split, and breed
//! fidelity — the classifier's top-1 on generated samples against the breed they were drawn
//! for — of a generator on either back-end.

use image::{DynamicImage, RgbImage};
use tinycats_core::SampleOptions;
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::{TinyDit, images, tasks};
use tinycats_runtime::quality::PerBreedAccuracy;
use tinycats_runtime::{Classifier, Generator};

use crate::Result;

/// Images per classifier call.
const JUDGE_BATCH: usize = 64;

/// The held-out SynthCats test split at `size` px: `per_breed` renders of every class (render
/// indices no training command ever draws), breed-major, with their labels.
pub fn test_split(size: u32, seed: u64, per_breed: u64) -> Result<(Vec<DynamicImage>, Vec<usize>)> {
    synth_split(size, seed, per_breed, SynthSplit::Test, 0.0)
}

/// `per_breed` renders of every class from `split`, breed-major, with their labels, under
/// the wild shift of `severity` (0: the clean renders; see `SynthConfig::severity`).
pub fn synth_split(
    size: u32,
    seed: u64,
    per_breed: u64,
    split: SynthSplit,
    severity: f32,
) -> Result<(Vec<DynamicImage>, Vec<usize>)> {
    let synth = SynthCats::new(SynthConfig {
        size,
        seed,
        severity,
        ..SynthConfig::default()
    })?;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for breed in 0..synth.presets().len() {
        for i in 0..per_breed {
            let render = synth.render(breed, split.index_offset() + i)?;
            images.push(DynamicImage::ImageRgb8(render));
            labels.push(breed);
        }
    }
    Ok((images, labels))
}

/// Top-1 of `classifier` on [`test_split`] at the classifier's own input size.
pub fn test_accuracy(
    classifier: &mut Classifier,
    seed: u64,
    per_breed: u64,
) -> Result<PerBreedAccuracy> {
    let (images, labels) = test_split(classifier.preprocess().size, seed, per_breed)?;
    Ok(PerBreedAccuracy::measure(
        classifier,
        &images,
        &labels,
        JUDGE_BATCH,
    )?)
}

/// The classifier's logits on [`synth_split`] at its input size, with the labels: what the
/// metrics of [`tinycats_core::metrics`] (top-k, precision/recall/F1, calibration) are
/// computed from.
pub fn split_logits(
    classifier: &mut Classifier,
    seed: u64,
    per_breed: u64,
    split: SynthSplit,
    severity: f32,
) -> Result<(Vec<Vec<f32>>, Vec<usize>)> {
    let (images, labels) = synth_split(
        classifier.preprocess().size,
        seed,
        per_breed,
        split,
        severity,
    )?;
    Ok((logits_of(classifier, &images)?, labels))
}

/// The classifier's logits for every image, one row each, in batches.
pub fn logits_of(classifier: &mut Classifier, images: &[DynamicImage]) -> Result<Vec<Vec<f32>>> {
    let mut logits = Vec::with_capacity(images.len());
    for chunk in images.chunks(JUDGE_BATCH) {
        let x = classifier.preprocess().batch(chunk);
        let out = classifier.logits(x.view())?;
        logits.extend(out.rows().into_iter().map(|r| r.to_vec()));
    }
    Ok(logits)
}

/// A generator that draws seeded samples of one breed: TinyDiT on libtorch, or its ONNX
/// graph on ONNX Runtime. With the same seed both start from the same portable noise.
pub trait BreedSampler {
    /// The generator's classes (without the null class).
    fn class_names(&self) -> Vec<String>;
    /// `n` samples of `breed`, image `i` from stream `i` of `seed`.
    fn sample_breed(
        &mut self,
        breed: usize,
        n: usize,
        options: &SampleOptions,
        seed: u64,
    ) -> Result<Vec<RgbImage>>;
}

impl BreedSampler for TinyDit {
    fn class_names(&self) -> Vec<String> {
        self.config().class_names.clone()
    }

    fn sample_breed(
        &mut self,
        breed: usize,
        n: usize,
        options: &SampleOptions,
        seed: u64,
    ) -> Result<Vec<RgbImage>> {
        let x = tasks::sample_breeds(self, &[breed as i64], n as i64, options, seed)?;
        Ok(images::to_rgb8_all(&x)?)
    }
}

impl BreedSampler for Generator {
    fn class_names(&self) -> Vec<String> {
        Generator::class_names(self).to_vec()
    }

    fn sample_breed(
        &mut self,
        breed: usize,
        n: usize,
        options: &SampleOptions,
        seed: u64,
    ) -> Result<Vec<RgbImage>> {
        let noise = self.noise(seed, n);
        let x = self.sample(noise, breed, options, |_| {})?;
        Ok(x.outer_iter()
            .map(|image| self.preprocess().to_image(image))
            .collect())
    }
}

/// The samples of a fidelity run and the judge's verdict on them.
#[derive(Debug, Clone)]
pub struct Fidelity {
    /// Per-breed agreement of the judge with the requested breed.
    pub report: PerBreedAccuracy,
    /// The samples, breed-major: `per_breed` of breed 0 first.
    pub samples: Vec<RgbImage>,
    /// The breed each sample was drawn for.
    pub labels: Vec<usize>,
}

/// Breed fidelity: `per_breed` samples of every class of `generator` (breed `b` from seed
/// `seed + b`), judged by `judge`.
pub fn breed_fidelity(
    generator: &mut impl BreedSampler,
    judge: &mut Classifier,
    per_breed: usize,
    options: &SampleOptions,
    seed: u64,
) -> Result<Fidelity> {
    options.validate()?;
    if per_breed == 0 {
        return Err(tinycats_core::Invalid::new("per_breed", 0, "at least 1").into());
    }
    let (mut samples, mut labels) = (Vec::new(), Vec::new());
    // One breed at a time keeps the batch (and memory) small.
    for breed in 0..generator.class_names().len() {
        samples.extend(generator.sample_breed(breed, per_breed, options, seed + breed as u64)?);
        labels.extend(std::iter::repeat_n(breed, per_breed));
    }
    let report = judge_samples(judge, &samples, &labels)?;
    Ok(Fidelity {
        report,
        samples,
        labels,
    })
}

/// How often `judge` names the breed each sample was drawn for.
pub fn judge_samples(
    judge: &mut Classifier,
    samples: &[RgbImage],
    labels: &[usize],
) -> Result<PerBreedAccuracy> {
    let images: Vec<DynamicImage> = samples
        .iter()
        .cloned()
        .map(DynamicImage::ImageRgb8)
        .collect();
    Ok(PerBreedAccuracy::measure(
        judge,
        &images,
        labels,
        JUDGE_BATCH,
    )?)
}
