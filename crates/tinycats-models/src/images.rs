//! Tensors to pictures: a grid of images saved as PNG (preview samples, `tinycats sample`).

use std::path::Path;

use tch::{Kind, Tensor};

use crate::error::{ModelError, Result};

/// Saves `images` (values in [0, 1]) as one PNG with `ncol` images per row and a 2-pixel
/// gap, written atomically.
///
/// # Shapes
/// `images`: `(N, 3, H, W)` or `(N, 1, H, W)`
pub fn save_grid(images: &Tensor, ncol: i64, path: &Path) -> Result<()> {
    let (n, c, h, w) = images.size4().map_err(ModelError::Torch)?;
    if c != 1 && c != 3 {
        return Err(ModelError::invalid("channels", c, "1 or 3 to save as PNG"));
    }
    let ncol = ncol.clamp(1, n.max(1));
    let nrow = (n + ncol - 1) / ncol;
    let gap = 2;
    let (gw, gh) = (ncol * (w + gap) + gap, nrow * (h + gap) + gap);
    let pixels = (images
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .clamp(0.0, 1.0)
        * 255.0)
        .round()
        .to_kind(Kind::Uint8)
        .expand([n, 3, h, w], false) // (N, 3, H, W)
        .permute([0, 2, 3, 1]) // (N, H, W, 3)
        .contiguous();
    let data = Vec::<u8>::try_from(pixels.reshape([-1])).map_err(ModelError::Torch)?;
    let mut canvas = image::RgbImage::from_pixel(gw as u32, gh as u32, image::Rgb([255, 255, 255]));
    for i in 0..n {
        let (x0, y0) = (gap + (i % ncol) * (w + gap), gap + (i / ncol) * (h + gap));
        for y in 0..h {
            for x in 0..w {
                let o = (((i * h + y) * w + x) * 3) as usize;
                canvas.put_pixel(
                    (x0 + x) as u32,
                    (y0 + y) as u32,
                    image::Rgb([data[o], data[o + 1], data[o + 2]]),
                );
            }
        }
    }
    save_png(&canvas, path)
}

/// Saves an 8-bit RGB picture as PNG, atomically (a temporary file renamed into place).
pub fn save_png(img: &image::RgbImage, path: &Path) -> Result<()> {
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| ModelError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    crate::io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        save_grid(
            &Tensor::rand([5, 3, 8, 8], (Kind::Float, tch::Device::Cpu)),
            3,
            &path,
        )
        .unwrap();
        let img = image::open(&path).unwrap();
        assert_eq!((img.width(), img.height()), (3 * 10 + 2, 2 * 10 + 2));
    }
}

/// One image tensor with values in [0, 1] as an 8-bit RGB picture (values outside are
/// clamped).
///
/// # Shapes
/// `image`: `(3, H, W)`
pub fn to_rgb8(image: &Tensor) -> Result<image::RgbImage> {
    let (c, h, w) = image.size3().map_err(ModelError::Torch)?;
    if c != 3 {
        return Err(ModelError::invalid("channels", c, "3 (an RGB image)"));
    }
    let bytes = (image
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .clamp(0.0, 1.0)
        * 255.0)
        .round()
        .to_kind(Kind::Uint8)
        .permute([1, 2, 0]) // (H, W, 3)
        .contiguous();
    let data = Vec::<u8>::try_from(bytes.reshape([-1])).map_err(ModelError::Torch)?;
    Ok(image::RgbImage::from_raw(w as u32, h as u32, data).expect("H × W × 3 bytes"))
}

/// An 8-bit RGB picture as a tensor with values in [0, 1] (the inverse of [`to_rgb8`]).
///
/// # Shapes
/// → `(3, H, W)`
pub fn from_rgb8(image: &image::RgbImage) -> Tensor {
    let (w, h) = image.dimensions();
    Tensor::from_slice(image.as_raw())
        .view([i64::from(h), i64::from(w), 3]) // (H, W, 3)
        .permute([2, 0, 1]) // (3, H, W)
        .to_kind(Kind::Float)
        / 255.0
}

/// Every image of a batch with values in [0, 1] as an 8-bit RGB picture.
///
/// # Shapes
/// `images`: `(N, 3, H, W)`
pub fn to_rgb8_all(images: &Tensor) -> Result<Vec<image::RgbImage>> {
    let n = images.size4().map_err(ModelError::Torch)?.0;
    (0..n).map(|i| to_rgb8(&images.get(i))).collect()
}

#[cfg(test)]
mod to_rgb8_tests {
    use super::*;

    #[test]
    fn channels_land_in_rgb_order_and_values_are_clamped() {
        // Red 1.0 (and 2.0, clamped), green 0.5, blue -1.0 (clamped to 0).
        let t = Tensor::from_slice(&[1.0f32, 2.0, 0.5, 0.5, -1.0, -1.0]).view([3, 1, 2]);
        let img = to_rgb8(&t).unwrap();
        assert_eq!(img.dimensions(), (2, 1));
        assert_eq!(img.get_pixel(0, 0).0, [255, 128, 0]);
        assert_eq!(img.get_pixel(1, 0).0, [255, 128, 0]);
        assert!(to_rgb8(&Tensor::zeros([1, 2, 2], (Kind::Float, tch::Device::Cpu))).is_err());
    }

    #[test]
    fn from_rgb8_inverts_to_rgb8() {
        let img =
            image::RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8 * 80, y as u8 * 200, 7]));
        let t = from_rgb8(&img);
        assert_eq!(t.size(), [3, 2, 3]);
        assert_eq!(to_rgb8(&t).unwrap(), img);
        let all = to_rgb8_all(&t.unsqueeze(0).repeat([2, 1, 1, 1])).unwrap();
        assert_eq!(all, vec![img.clone(), img]);
    }
}
