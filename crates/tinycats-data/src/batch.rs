//! Batches: contiguous `f32` NCHW images, hard labels and optional mixed targets.

use tinycats_core::Normalize;

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
            image::Rgb([0, 1, 2].map(|c| norm.to_u8(c, img[c * h * w + p])))
        })
    }
}
