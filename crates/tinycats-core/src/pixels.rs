//! The pixel convention: a model works on `(pixel/255 − mean) / std` per channel, with the
//! mean and std read from its own model folder (`config.json`, or the ONNX graph's metadata).

use serde::{Deserialize, Serialize};

use crate::error::{Invalid, Result};

/// Per-channel (RGB) normalisation: `x = (v − mean) / std` for a pixel value `v ∈ [0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Normalize {
    /// Pixels to [-1, 1] (mean 0.5, std 0.5): the generator presets' convention.
    pub const MINUS_ONE_ONE: Self = Self {
        mean: [0.5; 3],
        std: [0.5; 3],
    };
    /// ImageNet statistics (torchvision's constants): the classifier presets' convention.
    pub const IMAGENET: Self = Self {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };
    /// Pixels in [0, 1].
    pub const UNIT: Self = Self {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    /// Checks that `mean` and `std` have one finite entry per channel, that `std` is
    /// positive, and that there are three channels (RGB): a config's normalisation fields.
    pub fn check(mean: &[f64], std: &[f64], channels: i64) -> Result<()> {
        if channels != 3 {
            return Err(Invalid::new("in_channels", channels, "3 (RGB images)"));
        }
        if mean.len() as i64 != channels || mean.iter().any(|m| !m.is_finite()) {
            return Err(Invalid::new(
                "mean",
                format!("{mean:?}"),
                &format!("{channels} finite values"),
            ));
        }
        if std.len() as i64 != channels || std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Invalid::new(
                "std",
                format!("{std:?}"),
                &format!("{channels} values, each greater than 0"),
            ));
        }
        Ok(())
    }

    /// From a config's `mean` and `std` (three entries each, std > 0).
    pub fn from_config(mean: &[f64], std: &[f64]) -> Result<Self> {
        Self::check(mean, std, 3)?;
        let three = |v: &[f64]| [v[0] as f32, v[1] as f32, v[2] as f32];
        Ok(Normalize {
            mean: three(mean),
            std: three(std),
        })
    }

    /// From an ONNX graph's `mean` and `std` metadata (three entries each, std > 0).
    pub fn from_f32(mean: &[f32], std: &[f32]) -> Result<Self> {
        let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        Self::from_config(&wide(mean), &wide(std))
    }

    /// Channel `c` of a pixel in [0, 1] → the model's space.
    pub fn normalize(&self, c: usize, v: f32) -> f32 {
        (v - self.mean[c]) / self.std[c]
    }

    /// [`Normalize::normalize`] of an 8-bit value `u` as one multiply-add, for hot loops:
    /// `x = u·scale[c] − shift[c]` with `scale = 1 / (255·std)` and `shift = mean / std`.
    pub fn u8_affine(&self) -> ([f32; 3], [f32; 3]) {
        (
            self.std.map(|s| 1.0 / (255.0 * s)),
            [0, 1, 2].map(|c| self.mean[c] / self.std[c]),
        )
    }

    /// Channel `c` in the model's space → a pixel value (1 = white), unclamped.
    pub fn denormalize(&self, c: usize, x: f32) -> f32 {
        x * self.std[c] + self.mean[c]
    }

    /// Channel `c` in the model's space → an 8-bit pixel (clamped, rounded).
    pub fn to_u8(&self, c: usize, x: f32) -> u8 {
        (self.denormalize(c, x).clamp(0.0, 1.0) * 255.0).round() as u8
    }

    /// A check that the values are usable (finite mean, positive std).
    pub fn validate(&self) -> Result<()> {
        if self.mean.iter().chain(&self.std).any(|v| !v.is_finite())
            || self.std.iter().any(|s| *s <= 0.0)
        {
            return Err(Invalid::new(
                "normalize",
                format!("{self:?}"),
                "finite means and positive standard deviations",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_back_round_trips_every_8_bit_value() {
        for norm in [
            Normalize::MINUS_ONE_ONE,
            Normalize::IMAGENET,
            Normalize::UNIT,
        ] {
            for c in 0..3 {
                for v in 0..=255u8 {
                    let x = norm.normalize(c, f32::from(v) / 255.0);
                    assert_eq!(norm.to_u8(c, x), v, "{norm:?} channel {c}");
                }
            }
        }
        assert_eq!(Normalize::MINUS_ONE_ONE.normalize(0, 0.0), -1.0);
        let (scale, shift) = Normalize::IMAGENET.u8_affine();
        for c in 0..3 {
            for u in [0u8, 77, 255] {
                let fast = f32::from(u) * scale[c] - shift[c];
                let exact = Normalize::IMAGENET.normalize(c, f32::from(u) / 255.0);
                assert!((fast - exact).abs() < 1e-5, "channel {c}, value {u}");
            }
        }
        assert_eq!(Normalize::MINUS_ONE_ONE.to_u8(0, 7.0), 255);
    }

    #[test]
    fn configs_with_a_bad_std_are_refused() {
        assert!(Normalize::from_config(&[0.5; 3], &[0.5, 0.0, 0.5]).is_err());
        assert!(Normalize::from_config(&[0.5; 2], &[0.5; 2]).is_err());
        assert_eq!(
            Normalize::from_config(&[0.5; 3], &[0.5; 3]).unwrap(),
            Normalize::MINUS_ONE_ONE
        );
    }
}
