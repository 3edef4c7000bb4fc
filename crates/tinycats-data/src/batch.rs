//! Batches: contiguous `f32` NCHW images, hard labels and optional mixed targets.
use serde::{Deserialize, Serialize};

/// Per-channel normalisation `(x / 255 - mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Normalize {
    /// Maps pixels to [-1, 1] (mean 0.5, std 0.5): the generator's convention.
    pub const MINUS_ONE_ONE: Self = Self {
        mean: [0.5; 3],
        std: [0.5; 3],
    };
    /// ImageNet statistics, for classifiers initialised from ImageNet weights.
    pub const IMAGENET: Self = Self {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };
    /// Pixels in [0, 1].
    pub const UNIT: Self = Self {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    /// Inverse of the normalisation of channel `c`, back to [0, 255].
    pub fn denormalize(&self, c: usize, v: f32) -> f32 {
        (v * self.std[c] + self.mean[c]) * 255.0
    }
}

/// A batch of images ready for a model.
///
/// # Shapes
/// - `images`: `(N, C, H, W)` row-major, C = 3 (RGB).
/// - `labels`: `(N,)` class ids.
/// - `soft_targets`: `(N, num_classes)` when CutMix/MixUp mixed the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub images: Vec<f32>,
    /// `[N, C, H, W]`.
    pub shape: [usize; 4],
    /// Hard labels (for a mixed batch: the label of the image that was pasted into).
    pub labels: Vec<i64>,
    /// Mixed one-hot targets, row-major `(N, num_classes)`, when the batch was mixed.
    pub soft_targets: Option<Vec<f32>>,
    /// Number of classes the targets span.
    pub num_classes: usize,
    /// Positions of the samples in the dataset (for debugging and misclassification views).
    pub indices: Vec<usize>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// One image, `(C, H, W)`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.shape[1] * self.shape[2] * self.shape[3];
        &self.images[i * n..(i + 1) * n]
    }

    /// Turns image `i` back into an RGB image (for plots and contact sheets).
    pub fn to_rgb(&self, i: usize, norm: &Normalize) -> image::RgbImage {
        let [_, _, h, w] = self.shape;
        let img = self.image(i);
        image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
            let p = y as usize * w + x as usize;
            image::Rgb([0, 1, 2].map(|c| {
                norm.denormalize(c, img[c * h * w + p])
                    .round()
                    .clamp(0.0, 255.0) as u8
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_round_trips_within_half_a_level() {
        let n = Normalize::IMAGENET;
        for v in [0u8, 17, 128, 255] {
            for c in 0..3 {
                let x = (v as f32 / 255.0 - n.mean[c]) / n.std[c];
                assert!((n.denormalize(c, x) - v as f32).abs() < 0.5);
            }
        }
    }
}
