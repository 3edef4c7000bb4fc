//! Image → normalised `(C, S, S)` tensor, with the size and mean/std read from the model's
//! metadata: resize the shorter side to `S`, centre-crop `S×S`, `(pixel/255 − mean) / std`.
//! [`open_image`] reads a file as training does (upright, alpha over white, memory-bounded).

use std::path::Path;

use image::{DynamicImage, RgbImage, imageops::FilterType};
use ndarray::{Array3, Array4, ArrayView3, Axis};
use tinycats_core::Normalize;
use tinycats_data::decode::{DecodeLimits, decode_file};

/// Opens an image file the way training reads its data: upright (EXIF orientation applied),
/// alpha composited onto white, 8-bit RGB, and refused before decoding when its header
/// promises more pixels than the decode budget allows
/// ([`tinycats_data::decode::DecodeLimits`], 512 MB by default).
pub fn open_image(path: &Path) -> crate::Result<DynamicImage> {
    open_image_with(path, &DecodeLimits::default())
}

/// [`open_image`] under explicit limits.
pub fn open_image_with(path: &Path, limits: &DecodeLimits) -> crate::Result<DynamicImage> {
    let decoded = decode_file(path, limits).map_err(|e| crate::RuntimeError::Image {
        path: path.to_path_buf(),
        // The path is already in RuntimeError's message; the dataset-side fixes ("remove it
        // from the dataset") do not fit a single image.
        message: match e {
            tinycats_data::DataError::Io { cause, .. } => cause.to_string(),
            tinycats_data::DataError::Image {
                kind: tinycats_data::ProblemKind::TooLarge,
                reason,
                fix,
                ..
            } => format!("{reason} (fix: {fix})"),
            tinycats_data::DataError::Image { reason, .. } => reason,
            other => other.to_string(),
        },
    })?;
    Ok(DynamicImage::ImageRgb8(decoded.image))
}

/// The classifier's (and the generator's inverse) pixel transform: resize and centre-crop
/// to `size`, then the model's own [`Normalize`] (read from the graph's metadata).
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    pub size: u32,
    pub norm: Normalize,
}

impl Preprocess {
    /// `(3, S, S)` normalised.
    pub fn apply(&self, image: &DynamicImage) -> Array3<f32> {
        let rgb = image.to_rgb8();
        let (w, h) = rgb.dimensions();
        let s = self.size;
        let rgb = if (w, h) == (s, s) {
            rgb
        } else {
            let scale = s as f32 / w.min(h) as f32;
            let (nw, nh) = (
                ((w as f32 * scale).round() as u32).max(s),
                ((h as f32 * scale).round() as u32).max(s),
            );
            let resized = image::imageops::resize(&rgb, nw, nh, FilterType::Triangle);
            image::imageops::crop_imm(&resized, (nw - s) / 2, (nh - s) / 2, s, s).to_image()
        };
        Array3::from_shape_fn((3, s as usize, s as usize), |(c, y, x)| {
            let v = rgb.get_pixel(x as u32, y as u32)[c] as f32 / 255.0;
            self.norm.normalize(c, v)
        })
    }

    /// `(B, 3, S, S)`.
    pub fn batch(&self, images: &[DynamicImage]) -> Array4<f32> {
        let views: Vec<Array3<f32>> = images.iter().map(|i| self.apply(i)).collect();
        let views: Vec<ArrayView3<f32>> = views.iter().map(|a| a.view()).collect();
        ndarray::stack(Axis(0), &views).expect("equal shapes")
    }

    /// The inverse: a normalised `(3, S, S)` tensor back to pixels (clamped).
    pub fn to_image(&self, x: ArrayView3<f32>) -> RgbImage {
        let (h, w) = (x.shape()[1], x.shape()[2]);
        RgbImage::from_fn(w as u32, h as u32, |px, py| {
            let p = |c: usize| self.norm.to_u8(c, x[[c, py as usize, px as usize]]);
            image::Rgb([p(0), p(1), p(2)])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_crop_and_normalise_round_trip() {
        let pre = Preprocess {
            size: 8,
            norm: Normalize::MINUS_ONE_ONE,
        };
        // A 16×12 image: shorter side 12 → 8, then an 8×8 centre crop.
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(16, 12, image::Rgb([255, 0, 128])));
        let x = pre.apply(&img);
        assert_eq!(x.shape(), &[3, 8, 8]);
        assert!((x[[0, 3, 3]] - 1.0).abs() < 1e-6);
        assert!((x[[1, 3, 3]] + 1.0).abs() < 1e-6);
        let back = pre.to_image(x.view());
        assert_eq!(back.get_pixel(2, 2).0, [255, 0, 128]);
    }

    /// Inference reads a transparent image as training does: alpha over white, not dropped.
    #[test]
    fn transparency_is_composited_over_white_as_in_training() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cutout.png");
        let mut rgba = image::RgbaImage::from_pixel(4, 4, image::Rgba([200, 40, 40, 255]));
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0])); // fully transparent black
        rgba.put_pixel(1, 0, image::Rgba([0, 0, 0, 128])); // half-transparent black
        rgba.save(&path).unwrap();
        let inference = open_image(&path).unwrap().to_rgb8();
        let training = decode_file(&path, &DecodeLimits::default()).unwrap().image;
        assert_eq!(inference, training);
        assert_eq!(inference.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(inference.get_pixel(1, 0).0, [127, 127, 127]);
        assert_eq!(inference.get_pixel(2, 2).0, [200, 40, 40]);
    }

    #[test]
    fn a_bomb_is_refused_with_its_size_and_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        image::RgbImage::new(1000, 1000).save(&path).unwrap();
        let small = DecodeLimits {
            max_side: 12_000,
            max_alloc: 4 << 20,
        };
        let msg = open_image_with(&path, &small).unwrap_err().to_string();
        assert!(
            msg.contains("big.png") && msg.contains("1000×1000") && msg.contains("4 MB budget"),
            "{msg}"
        );
    }
}
