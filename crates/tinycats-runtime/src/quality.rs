//! Quality measures for comparing an int8 graph with its fp32 original.

use ndarray::ArrayView4;

use crate::classifier::Classifier;
use crate::error::Result;
use crate::generator::{Generator, Sampler, gaussian_noise};

/// Root-mean-square and max-abs difference of two equally shaped arrays.
pub fn rmse_and_max_abs(a: ArrayView4<f32>, b: ArrayView4<f32>) -> (f32, f32) {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let (mut sq, mut max) = (0.0f64, 0.0f32);
    for (x, y) in a.iter().zip(b.iter()) {
        let d = x - y;
        sq += (d as f64) * (d as f64);
        max = max.max(d.abs());
    }
    (((sq / a.len().max(1) as f64).sqrt()) as f32, max)
}

/// Breed agreement: for every breed, draw `per_breed` samples (seeded) and count how often
/// `judge` names the breed they were drawn for.
pub fn breed_agreement(
    generator: &mut Generator,
    judge: &mut Classifier,
    per_breed: usize,
    steps: usize,
    guidance: f32,
    seed: u64,
) -> Result<f32> {
    let (mut hits, mut total) = (0usize, 0usize);
    let size = generator.image_size();
    for breed in 0..generator.class_names().len() {
        let noise = gaussian_noise(seed + breed as u64, (per_breed, 3, size, size));
        let x = generator.sample(noise, breed, steps, guidance, Sampler::Euler, |_| {})?;
        let images: Vec<image::DynamicImage> = x
            .axis_iter(ndarray::Axis(0))
            .map(|img| image::DynamicImage::ImageRgb8(generator.preprocess().to_image(img)))
            .collect();
        let preds = judge.classify_batch(&images, 1)?;
        hits += preds.iter().filter(|p| p[0].index == breed).count();
        total += per_breed;
    }
    Ok(hits as f32 / total.max(1) as f32)
}
