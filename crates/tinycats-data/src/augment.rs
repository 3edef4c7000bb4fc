//! Preprocessing and augmentation: resize + centre crop, random-resized-crop, flip,
//! colour jitter, photo conditions (rotation, erasing, colour cast, blur, noise), and
//! batch-level CutMix / MixUp with mixed labels.
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use tinycats_core::{Normalize, noise};

use crate::pixelops::{bilinear, blur_121};

/// Random-resized-crop: area fraction and aspect-ratio ranges (torchvision's defaults
/// are (0.08, 1.0) and (3/4, 4/3); small images do better with a milder 0.35).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RandomResizedCrop {
    pub scale: (f32, f32),
    pub ratio: (f32, f32),
}

impl Default for RandomResizedCrop {
    fn default() -> Self {
        Self {
            scale: (0.35, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
        }
    }
}

/// Colour jitter strengths (each factor is drawn from `1 ± strength`; hue in turns).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColorJitter {
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub hue: f32,
}

impl Default for ColorJitter {
    fn default() -> Self {
        Self {
            brightness: 0.2,
            contrast: 0.2,
            saturation: 0.2,
            hue: 0.02,
        }
    }
}

/// What a camera does to a picture that clean renders never show, as augmentation: a
/// rotation, a patch erased with noise (random erasing, Zhong et al. 2020), a per-channel
/// colour cast, blur and sensor noise. Each image draws its own strengths, from none up to
/// the values here; pixel values are in 0–255.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoShift {
    /// Rotation drawn from ± this many degrees, about the centre, edges repeated.
    pub rotate_degrees: f32,
    /// Probability of erasing one rectangle, and its area as a fraction of the image.
    pub erase_prob: f32,
    pub erase_area: (f32, f32),
    /// Each channel is multiplied by a gain drawn from `1 ± cast`.
    pub cast: f32,
    /// Probability of a blur, then one or two passes of a [1 2 1] kernel.
    pub blur_prob: f32,
    /// Gaussian noise with a standard deviation drawn from 0 to this.
    pub noise_sigma: f32,
}

impl Default for PhotoShift {
    fn default() -> Self {
        Self {
            rotate_degrees: 25.0,
            erase_prob: 0.5,
            erase_area: (0.02, 0.2),
            cast: 0.3,
            blur_prob: 0.4,
            noise_sigma: 14.0,
        }
    }
}

/// Batch mixing: with probability `prob`, either CutMix (Beta(`cutmix_alpha`)) or
/// MixUp (Beta(`mixup_alpha`)), half the time each when both are on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mixing {
    pub cutmix_alpha: Option<f32>,
    pub mixup_alpha: Option<f32>,
    pub prob: f32,
}

/// The per-image pipeline and the batch mixing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Augment {
    /// `None`: resize the shorter side and centre-crop (evaluation).
    pub random_resized_crop: Option<RandomResizedCrop>,
    /// Probability of a horizontal flip.
    pub hflip: f32,
    pub color_jitter: Option<ColorJitter>,
    /// Photo conditions, after the colour jitter.
    #[serde(default)]
    pub photo: Option<PhotoShift>,
    pub mixing: Option<Mixing>,
}

impl Augment {
    /// No augmentation: resize + centre crop only.
    pub fn eval() -> Self {
        Self::default()
    }

    /// The classifier's training recipe: RRC, flip, jitter, CutMix/MixUp.
    pub fn classifier_train() -> Self {
        Self {
            random_resized_crop: Some(RandomResizedCrop::default()),
            hflip: 0.5,
            color_jitter: Some(ColorJitter::default()),
            photo: None,
            mixing: Some(Mixing {
                cutmix_alpha: Some(1.0),
                mixup_alpha: Some(0.2),
                prob: 0.5,
            }),
        }
    }

    /// [`Augment::classifier_train`] plus photo conditions ([`PhotoShift`]): the recipe of
    /// a classifier meant for pictures taken under worse light and framing than the renders.
    pub fn classifier_photo() -> Self {
        Self {
            photo: Some(PhotoShift::default()),
            ..Self::classifier_train()
        }
    }

    /// The generator's recipe: flips only (colour is part of the breed).
    pub fn generator_train() -> Self {
        Self {
            hflip: 0.5,
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.hflip) {
            return Err(DataError::config(
                "hflip",
                self.hflip,
                "use a probability between 0 and 1",
            ));
        }
        if let Some(r) = self.random_resized_crop {
            if !(r.scale.0 > 0.0 && r.scale.0 <= r.scale.1 && r.scale.1 <= 1.0) {
                return Err(DataError::config(
                    "random_resized_crop.scale",
                    format!("{:?}", r.scale),
                    "use 0 < min <= max <= 1",
                ));
            }
            if !(r.ratio.0 > 0.0 && r.ratio.0 <= r.ratio.1) {
                return Err(DataError::config(
                    "random_resized_crop.ratio",
                    format!("{:?}", r.ratio),
                    "use 0 < min <= max",
                ));
            }
        }
        if let Some(p) = self.photo {
            p.validate()?;
        }
        if let Some(m) = self.mixing {
            for a in [m.cutmix_alpha, m.mixup_alpha].into_iter().flatten() {
                if a <= 0.0 || !a.is_finite() {
                    return Err(DataError::config(
                        "mixing alpha",
                        a,
                        "use a positive Beta parameter such as 1.0 (CutMix) or 0.2 (MixUp)",
                    ));
                }
            }
            if !(0.0..=1.0).contains(&m.prob) {
                return Err(DataError::config(
                    "mixing.prob",
                    m.prob,
                    "use a probability between 0 and 1",
                ));
            }
        }
        Ok(())
    }
}

impl PhotoShift {
    pub fn validate(&self) -> Result<()> {
        let checks: [(&str, f32, bool, &str); 6] = [
            (
                "photo.rotate_degrees",
                self.rotate_degrees,
                (0.0..=180.0).contains(&self.rotate_degrees),
                "use 0 to 180 degrees",
            ),
            (
                "photo.erase_prob",
                self.erase_prob,
                (0.0..=1.0).contains(&self.erase_prob),
                "use a probability between 0 and 1",
            ),
            (
                "photo.cast",
                self.cast,
                (0.0..1.0).contains(&self.cast),
                "use a gain spread in [0, 1), such as 0.3",
            ),
            (
                "photo.blur_prob",
                self.blur_prob,
                (0.0..=1.0).contains(&self.blur_prob),
                "use a probability between 0 and 1",
            ),
            (
                "photo.noise_sigma",
                self.noise_sigma,
                (0.0..=128.0).contains(&self.noise_sigma),
                "use a standard deviation in pixel values, 0 to 128",
            ),
            (
                "photo.erase_area",
                self.erase_area.0,
                0.0 < self.erase_area.0
                    && self.erase_area.0 <= self.erase_area.1
                    && self.erase_area.1 <= 1.0,
                "use 0 < min <= max <= 1",
            ),
        ];
        for (name, value, ok, fix) in checks {
            if !ok {
                return Err(DataError::config(name, value, fix));
            }
        }
        Ok(())
    }
}

/// Resizes the shorter side to `size` (anti-aliased) and crops the centre square.
pub fn resize_center_crop(img: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if (w, h) == (size, size) {
        return img.clone();
    }
    let side = w.min(h);
    let crop = imageops::crop_imm(img, (w - side) / 2, (h - side) / 2, side, side).to_image();
    imageops::resize(&crop, size, size, FilterType::Triangle)
}

/// Random-resized-crop to `size`×`size`.
pub fn random_resized_crop(
    img: &RgbImage,
    size: u32,
    rrc: &RandomResizedCrop,
    rng: &mut ChaCha8Rng,
) -> RgbImage {
    let (w, h) = img.dimensions();
    let area = (w * h) as f32;
    for _ in 0..10 {
        let target = area * rng.random_range(rrc.scale.0..=rrc.scale.1);
        let log_ratio = rng.random_range(rrc.ratio.0.ln()..=rrc.ratio.1.ln());
        let ratio = log_ratio.exp();
        let cw = (target * ratio).sqrt().round() as u32;
        let ch = (target / ratio).sqrt().round() as u32;
        if cw >= 1 && ch >= 1 && cw <= w && ch <= h {
            let x = rng.random_range(0..=w - cw);
            let y = rng.random_range(0..=h - ch);
            if cw > size * 3 / 2 || ch > size * 3 / 2 {
                // Downscaling: the triangle filter averages, so small textures do not alias.
                let crop = imageops::crop_imm(img, x, y, cw, ch).to_image();
                return imageops::resize(&crop, size, size, FilterType::Triangle);
            }
            return bilinear_crop(img, (x, y, cw, ch), size);
        }
    }
    resize_center_crop(img, size)
}

/// Samples the `(x, y, w, h)` window of `img` onto a `size`×`size` grid bilinearly
/// (pixel centres aligned, like `align_corners = False`). For upscaling and mild
/// downscaling, where it matches a triangle filter and avoids an intermediate copy.
fn bilinear_crop(img: &RgbImage, (x0, y0, w, h): (u32, u32, u32, u32), size: u32) -> RgbImage {
    let (iw, ih) = img.dimensions();
    let src = img.as_raw();
    let (sx, sy) = (w as f32 / size as f32, h as f32 / size as f32);
    let axis = |o: u32, scale: f32, limit: u32, i: u32| {
        let f = (o as f32 + (i as f32 + 0.5) * scale - 0.5).clamp(0.0, (limit - 1) as f32);
        let lo = f.floor() as u32;
        (lo, (lo + 1).min(limit - 1), f - lo as f32)
    };
    let xs: Vec<_> = (0..size).map(|i| axis(x0, sx, iw, i)).collect();
    let mut out = RgbImage::new(size, size);
    for (j, row) in out.chunks_exact_mut(3 * size as usize).enumerate() {
        let (y_lo, y_hi, fy) = axis(y0, sy, ih, j as u32);
        let (r0, r1) = ((y_lo * iw * 3) as usize, (y_hi * iw * 3) as usize);
        for (px, &(x_lo, x_hi, fx)) in row.chunks_exact_mut(3).zip(&xs) {
            let (a, b) = (3 * x_lo as usize, 3 * x_hi as usize);
            for c in 0..3 {
                let top = src[r0 + a + c] as f32 * (1.0 - fx) + src[r0 + b + c] as f32 * fx;
                let bot = src[r1 + a + c] as f32 * (1.0 - fx) + src[r1 + b + c] as f32 * fx;
                px[c] = (top * (1.0 - fy) + bot * fy).round() as u8;
            }
        }
    }
    out
}

/// Applies colour jitter in place (brightness, contrast, saturation, hue; random order
/// is not needed at this scale, so the order is fixed).
pub fn color_jitter(img: &mut RgbImage, cj: &ColorJitter, rng: &mut ChaCha8Rng) {
    let b = 1.0 + rng.random_range(-cj.brightness..=cj.brightness);
    let c = 1.0 + rng.random_range(-cj.contrast..=cj.contrast);
    let s = 1.0 + rng.random_range(-cj.saturation..=cj.saturation);
    let hue = rng.random_range(-cj.hue..=cj.hue) * std::f32::consts::TAU;
    let mean_luma = {
        let sum: f32 = img.pixels().map(|p| luma(p.0)).sum();
        sum / (img.width() * img.height()).max(1) as f32
    };
    // Hue rotation about the grey axis (a YIQ rotation).
    let (sin, cos) = hue.sin_cos();
    for p in img.pixels_mut() {
        let mut v = p.0.map(|x| x as f32 * b);
        v = v.map(|x| (x - mean_luma * b) * c + mean_luma * b);
        let l = luma([v[0], v[1], v[2]].map(|x| x.clamp(0.0, 255.0) as u8));
        v = v.map(|x| l + (x - l) * s);
        if hue != 0.0 {
            let y = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
            let i = 0.596 * v[0] - 0.274 * v[1] - 0.322 * v[2];
            let q = 0.211 * v[0] - 0.523 * v[1] + 0.312 * v[2];
            let (i, q) = (i * cos - q * sin, i * sin + q * cos);
            v = [
                y + 0.956 * i + 0.621 * q,
                y - 0.272 * i - 0.647 * q,
                y - 1.106 * i + 1.703 * q,
            ];
        }
        p.0 = v.map(|x| x.round().clamp(0.0, 255.0) as u8);
    }
}

/// `img` turned by `degrees` about its centre (bilinear, edges repeated).
pub fn rotate(img: &RgbImage, degrees: f32) -> RgbImage {
    if degrees == 0.0 {
        return img.clone();
    }
    let (w, h) = img.dimensions();
    let (cos, sin) = noise::cos_sin_turns(f64::from(degrees / 360.0).rem_euclid(1.0));
    let (cos, sin) = (cos as f32, sin as f32);
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 - cx, y as f32 - cy);
        bilinear(img, cos * u + sin * v + cx, -sin * u + cos * v + cy)
    })
}

/// Applies the photo conditions of `photo` to `img`, drawing every strength from `rng`.
/// The trigonometry and the Gaussian noise are the portable ones of
/// [`tinycats_core::noise`], so a seed gives the same pixels on every CPU.
pub fn photo_shift(img: &RgbImage, photo: &PhotoShift, rng: &mut ChaCha8Rng) -> RgbImage {
    let (w, h) = img.dimensions();
    let degrees = rng.random_range(-photo.rotate_degrees..=photo.rotate_degrees);
    let mut out = rotate(img, degrees);
    if rng.random::<f32>() < photo.erase_prob {
        let area = rng.random_range(photo.erase_area.0..=photo.erase_area.1) * (w * h) as f32;
        let aspect = rng.random_range((0.5f32).ln()..=(2.0f32).ln()).exp();
        let ew = ((area * aspect).sqrt().round() as u32).clamp(1, w);
        let eh = ((area / aspect).sqrt().round() as u32).clamp(1, h);
        let (x0, y0) = (rng.random_range(0..=w - ew), rng.random_range(0..=h - eh));
        for y in y0..y0 + eh {
            for x in x0..x0 + ew {
                out.put_pixel(x, y, Rgb(rng.random()));
            }
        }
    }
    let gain = [0; 3].map(|_: u8| 1.0 + rng.random_range(-photo.cast..=photo.cast));
    if rng.random::<f32>() < photo.blur_prob {
        for _ in 0..rng.random_range(1..=2) {
            out = blur_121(&out);
        }
    }
    let sigma = rng.random_range(0.0..=photo.noise_sigma);
    let mut gauss = vec![0.0f32; (w * h * 3) as usize];
    noise::fill(rng.random(), 0, &mut gauss);
    for (p, n) in out.pixels_mut().zip(gauss.chunks_exact(3)) {
        for ((ch, g), n) in p.0.iter_mut().zip(gain).zip(n) {
            *ch = (f32::from(*ch) * g + sigma * n).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

fn luma(p: [u8; 3]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// The per-image pipeline: crop/resize, flip, jitter; then writes the normalised CHW
/// planes into `out` (length 3·size·size).
pub fn augment_into(
    img: &RgbImage,
    size: u32,
    aug: &Augment,
    norm: &Normalize,
    rng: &mut ChaCha8Rng,
    out: &mut [f32],
) {
    let mut im = match &aug.random_resized_crop {
        Some(rrc) => random_resized_crop(img, size, rrc, rng),
        None => resize_center_crop(img, size),
    };
    if aug.hflip > 0.0 && rng.random::<f32>() < aug.hflip {
        imageops::flip_horizontal_in_place(&mut im);
    }
    if let Some(cj) = &aug.color_jitter {
        color_jitter(&mut im, cj, rng);
    }
    if let Some(photo) = &aug.photo {
        im = photo_shift(&im, photo, rng);
    }
    write_chw(&im, norm, out);
}

/// Writes an RGB image as normalised CHW planes.
pub fn write_chw(img: &RgbImage, norm: &Normalize, out: &mut [f32]) {
    let plane = (img.width() * img.height()) as usize;
    debug_assert_eq!(out.len(), 3 * plane);
    let (scale, shift) = norm.u8_affine();
    for (i, p) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = p[c] as f32 * scale[c] - shift[c];
        }
    }
}

/// Mixes a batch in place with CutMix or MixUp; returns the soft targets
/// `(N, num_classes)` when it mixed. Partners are the batch reversed (timm's choice),
/// so each image is mixed with another one without a second decode.
pub fn mix_batch(
    images: &mut [f32],
    shape: [usize; 4],
    labels: &[i64],
    num_classes: usize,
    mixing: &Mixing,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<f32>> {
    let [n, c, h, w] = shape;
    if n < 2 || rng.random::<f32>() >= mixing.prob {
        return None;
    }
    let use_cutmix = match (mixing.cutmix_alpha, mixing.mixup_alpha) {
        (Some(_), Some(_)) => rng.random_bool(0.5),
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => return None,
    };
    let alpha = if use_cutmix {
        mixing.cutmix_alpha
    } else {
        mixing.mixup_alpha
    }
    .unwrap_or(1.0);
    let lam: f32 = Beta::new(alpha, alpha)
        .map(|b| b.sample(rng))
        .unwrap_or(0.5);
    let per = c * h * w;
    let original = images.to_vec();
    let lam = if use_cutmix {
        // Box of area (1 - lam), clipped to the image; lam is then the kept fraction.
        let cut = (1.0 - lam).sqrt();
        let (bw, bh) = ((w as f32 * cut) as usize, (h as f32 * cut) as usize);
        let (cx, cy) = (rng.random_range(0..w), rng.random_range(0..h));
        let (x0, x1) = (cx.saturating_sub(bw / 2), (cx + bw / 2).min(w));
        let (y0, y1) = (cy.saturating_sub(bh / 2), (cy + bh / 2).min(h));
        for i in 0..n {
            let j = n - 1 - i;
            for ch in 0..c {
                for y in y0..y1 {
                    let row = ch * h * w + y * w;
                    images[i * per + row + x0..i * per + row + x1]
                        .copy_from_slice(&original[j * per + row + x0..j * per + row + x1]);
                }
            }
        }
        1.0 - ((x1 - x0) * (y1 - y0)) as f32 / (w * h) as f32
    } else {
        for i in 0..n {
            let j = n - 1 - i;
            for k in 0..per {
                images[i * per + k] =
                    lam * original[i * per + k] + (1.0 - lam) * original[j * per + k];
            }
        }
        lam
    };
    let mut targets = vec![0f32; n * num_classes];
    for i in 0..n {
        let j = n - 1 - i;
        targets[i * num_classes + labels[i] as usize] += lam;
        targets[i * num_classes + labels[j] as usize] += 1.0 - lam;
    }
    Some(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
        })
    }

    #[test]
    fn resize_center_crop_takes_the_middle_of_the_longer_side() {
        let img = gradient(200, 100);
        let out = resize_center_crop(&img, 50);
        assert_eq!(out.dimensions(), (50, 50));
        // The centre crop spans x in 50..150, so the red ramp covers ~64..191.
        let left = out.get_pixel(0, 25)[0] as i32;
        let right = out.get_pixel(49, 25)[0] as i32;
        assert!(
            (left - 64).abs() <= 6 && (right - 190).abs() <= 6,
            "{left} {right}"
        );
    }

    #[test]
    fn photo_shift_is_seeded_off_at_zero_and_rotates_about_the_centre() {
        let img = gradient(40, 40);
        let off = PhotoShift {
            rotate_degrees: 0.0,
            erase_prob: 0.0,
            erase_area: (0.1, 0.1),
            cast: 0.0,
            blur_prob: 0.0,
            noise_sigma: 0.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(photo_shift(&img, &off, &mut rng), img);

        let full = PhotoShift::default();
        let a = photo_shift(&img, &full, &mut ChaCha8Rng::seed_from_u64(7));
        let b = photo_shift(&img, &full, &mut ChaCha8Rng::seed_from_u64(7));
        let c = photo_shift(&img, &full, &mut ChaCha8Rng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);

        // A quarter turn moves every pixel exactly: out(x, y) = in(y, W − 1 − x).
        let turned = rotate(&img, 90.0);
        for (x, y, p) in turned.enumerate_pixels() {
            assert_eq!(*p, *img.get_pixel(y, 39 - x), "at ({x}, {y})");
        }
    }

    #[test]
    fn photo_shift_refuses_bad_values_by_name() {
        let bad = Augment {
            photo: Some(PhotoShift {
                cast: 1.5,
                ..PhotoShift::default()
            }),
            ..Augment::classifier_photo()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("photo.cast") && err.contains("1.5"), "{err}");
        assert!(Augment::classifier_photo().validate().is_ok());
    }

    #[test]
    fn rrc_and_flip_keep_size_and_are_seeded() {
        let img = gradient(90, 70);
        let aug = Augment::classifier_train();
        let mut a = vec![0f32; 3 * 32 * 32];
        let mut b = a.clone();
        augment_into(
            &img,
            32,
            &aug,
            &Normalize::UNIT,
            &mut ChaCha8Rng::seed_from_u64(9),
            &mut a,
        );
        augment_into(
            &img,
            32,
            &aug,
            &Normalize::UNIT,
            &mut ChaCha8Rng::seed_from_u64(9),
            &mut b,
        );
        assert_eq!(a, b);
        assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn bilinear_crop_matches_the_source_on_an_identity_window() {
        let img = gradient(40, 40);
        assert_eq!(
            bilinear_crop(&img, (0, 0, 40, 40), 40).get_pixel(7, 5),
            img.get_pixel(7, 5)
        );
        // Doubling a linear ramp keeps it linear: neighbours differ by half a step.
        let up = bilinear_crop(&img, (10, 10, 16, 16), 32);
        let d1 = up.get_pixel(11, 4)[0] as i32 - up.get_pixel(10, 4)[0] as i32;
        let d2 = up.get_pixel(12, 4)[0] as i32 - up.get_pixel(11, 4)[0] as i32;
        assert!((d1 - d2).abs() <= 1 && (1..=4).contains(&d1), "{d1} {d2}");
    }

    #[test]
    fn normalisation_maps_to_minus_one_one() {
        let img = RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                image::Rgb([0; 3])
            } else {
                image::Rgb([255; 3])
            }
        });
        let mut out = vec![0f32; 6];
        write_chw(&img, &Normalize::MINUS_ONE_ONE, &mut out);
        for c in 0..3 {
            assert!((out[c * 2] + 1.0).abs() < 1e-6 && (out[c * 2 + 1] - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn mixed_targets_sum_to_one_and_follow_the_pasted_area() {
        let shape = [4, 3, 8, 8];
        let per = 3 * 64;
        let mut images: Vec<f32> = (0..4)
            .flat_map(|i| std::iter::repeat_n(i as f32, per))
            .collect();
        let labels = [0i64, 1, 2, 3];
        let mixing = Mixing {
            cutmix_alpha: Some(1.0),
            mixup_alpha: None,
            prob: 1.0,
        };
        let t = mix_batch(
            &mut images,
            shape,
            &labels,
            5,
            &mixing,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .expect("prob 1 mixes");
        for i in 0..4 {
            let row = &t[i * 5..(i + 1) * 5];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            // The share of pixels that came from the partner equals its target weight.
            let partner = (3 - i) as f32;
            let from_partner = images[i * per..(i + 1) * per]
                .iter()
                .filter(|&&v| v == partner)
                .count() as f32
                / per as f32;
            assert!(
                (row[3 - i] - from_partner).abs() < 1e-5,
                "row {row:?}, pasted {from_partner}"
            );
        }
    }

    #[test]
    fn mixup_blends_pixels_with_the_target_weights() {
        let shape = [2, 3, 2, 2];
        let mut images = [vec![0f32; 12], vec![1f32; 12]].concat();
        let mixing = Mixing {
            cutmix_alpha: None,
            mixup_alpha: Some(0.4),
            prob: 1.0,
        };
        let t = mix_batch(
            &mut images,
            shape,
            &[0, 1],
            2,
            &mixing,
            &mut ChaCha8Rng::seed_from_u64(4),
        )
        .unwrap();
        // Image 0 = lam·0 + (1-lam)·1, so its value equals its weight on class 1.
        assert!((images[0] - t[1]).abs() < 1e-5);
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let bad = Augment {
            hflip: 1.5,
            ..Augment::eval()
        };
        assert!(bad.validate().is_err());
        let bad = Augment {
            mixing: Some(Mixing {
                cutmix_alpha: Some(0.0),
                mixup_alpha: None,
                prob: 0.5,
            }),
            ..Augment::eval()
        };
        assert!(bad.validate().is_err());
    }
}
