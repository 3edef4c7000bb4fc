//! A small convolutional autoencoder for SynthCats: the encoder squeezes a 64-pixel image
//! into a latent grid a few channels deep and `2^(levels)` times smaller on each side, the
//! decoder draws the image back. A latent-space TinyDiT (Rombach et al., 2022: the DiT paper
//! never denoises pixels) learns the layout on that grid while the decoder carries the fine
//! detail.
//!
//! Norm-free on purpose: on two CPU cores a GroupNorm version trained four times slower per
//! step for a worse reconstruction in the same time (a probe run when this module was written).
//!
//! Encoder: `stem` (3×3 conv) → per level a 3×3 conv with stride 2 and a 3×3 conv, each
//! followed by SiLU → `to_latent` (3×3 conv, no activation). Decoder, mirrored: `from_latent`
//! → per level nearest-neighbour ×2 upsampling and two 3×3 convs with SiLU → `to_image`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};
use tinycats_core::{Normalize, Provenance};

use crate::error::{ModelError, Result};
use crate::io;

/// The model type string of [`AutoencoderConfig`].
pub const MODEL_TYPE: &str = "tinycats-autoencoder";

/// The autoencoder's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoencoderConfig {
    /// Always `tinycats-autoencoder`.
    pub model_type: String,
    /// Image side in pixels.
    pub input_size: i64,
    pub in_channels: i64,
    /// Channels at full resolution, then after each halving: `widths.len() − 1` halvings.
    pub widths: Vec<i64>,
    /// Channels of the latent grid.
    pub latent_channels: i64,
    /// Pixel normalisation of the input and output (from `[0, 1]`).
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Standard deviation of the latents over validation images, measured after training:
    /// a latent model works on `z / latent_std`, which has about unit variance as the
    /// noise it starts from does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latent_std: Option<f64>,
    /// How the weights were made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        AutoencoderConfig {
            model_type: MODEL_TYPE.into(),
            input_size: 64,
            in_channels: 3,
            widths: vec![32, 64, 64],
            latent_channels: 4,
            mean: [0.5; 3],
            std: [0.5; 3],
            latent_std: None,
            provenance: None,
        }
    }
}

impl AutoencoderConfig {
    /// How many times smaller the latent grid is than the image, per side.
    pub fn downsample(&self) -> i64 {
        1 << (self.widths.len().saturating_sub(1))
    }

    /// Side of the latent grid.
    pub fn latent_size(&self) -> i64 {
        self.input_size / self.downsample()
    }

    /// Checks every field, naming the first one that is off.
    pub fn validate(&self) -> Result<()> {
        if self.model_type != MODEL_TYPE {
            return Err(ModelError::invalid(
                "model_type",
                &self.model_type,
                &format!("`{MODEL_TYPE}` (this folder holds another kind of model)"),
            ));
        }
        if self.widths.len() < 2 || self.widths.len() > 5 || self.widths.iter().any(|&w| w < 1) {
            return Err(ModelError::invalid(
                "widths",
                format!("{:?}", self.widths),
                "2 to 5 positive channel counts (one halving after each but the last)",
            ));
        }
        let f = self.downsample();
        if self.input_size < f || self.input_size % f != 0 {
            return Err(ModelError::invalid(
                "input_size",
                self.input_size,
                &format!("a multiple of {f}, the downsampling of `widths`"),
            ));
        }
        if self.in_channels != 3 {
            return Err(ModelError::invalid(
                "in_channels",
                self.in_channels,
                "3 (RGB)",
            ));
        }
        if self.latent_channels < 1 {
            return Err(ModelError::invalid(
                "latent_channels",
                self.latent_channels,
                "at least 1",
            ));
        }
        if let Some(s) = self.latent_std
            && !(s.is_finite() && s > 0.0)
        {
            return Err(ModelError::invalid(
                "latent_std",
                s,
                "a positive number (or no value before it is measured)",
            ));
        }
        Ok(())
    }

    /// The pixel normalisation.
    pub fn normalize(&self) -> Normalize {
        Normalize {
            mean: self.mean,
            std: self.std,
        }
    }
}

fn conv(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: 1,
        ..Default::default()
    };
    nn::conv2d(vs, c_in, c_out, 3, cfg)
}

/// The network. See the module documentation.
#[derive(Debug)]
pub struct Autoencoder {
    cfg: AutoencoderConfig,
    stem: nn::Conv2D,
    down: Vec<(nn::Conv2D, nn::Conv2D)>,
    to_latent: nn::Conv2D,
    from_latent: nn::Conv2D,
    up: Vec<(nn::Conv2D, nn::Conv2D)>,
    to_image: nn::Conv2D,
}

impl Autoencoder {
    /// A freshly initialised network.
    pub fn new(vs: nn::Path, cfg: &AutoencoderConfig) -> Result<Self> {
        cfg.validate()?;
        let w = &cfg.widths;
        let last = *w.last().expect("validated: at least two widths");
        let enc = &vs / "encoder";
        let dec = &vs / "decoder";
        let down = w
            .windows(2)
            .enumerate()
            .map(|(i, p)| {
                let level = &enc / "down" / i;
                (
                    conv(&level / "conv1", p[0], p[1], 2),
                    conv(&level / "conv2", p[1], p[1], 1),
                )
            })
            .collect();
        // Decoder levels run from the coarsest back to full resolution.
        let up = w
            .windows(2)
            .rev()
            .enumerate()
            .map(|(i, p)| {
                let level = &dec / "up" / i;
                (
                    conv(&level / "conv1", p[1], p[0], 1),
                    conv(&level / "conv2", p[0], p[0], 1),
                )
            })
            .collect();
        Ok(Autoencoder {
            stem: conv(&enc / "stem", cfg.in_channels, w[0], 1),
            down,
            to_latent: conv(&enc / "to_latent", last, cfg.latent_channels, 1),
            from_latent: conv(&dec / "from_latent", cfg.latent_channels, last, 1),
            up,
            to_image: conv(&dec / "to_image", w[0], cfg.in_channels, 1),
            cfg: cfg.clone(),
        })
    }

    /// Loads `dir/config.json` and `dir/model.safetensors`, frozen.
    pub fn load(dir: &Path, device: Device) -> Result<(nn::VarStore, Autoencoder)> {
        io::load_frozen(dir, device, Autoencoder::new)
    }

    /// The config the network was built from.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.cfg
    }

    /// Normalised images → latents, unscaled.
    ///
    /// # Shapes
    /// `x`: `(N, 3, S, S)` → `(N, latent_channels, S/f, S/f)`
    pub fn encode(&self, x: &Tensor) -> Tensor {
        let mut h = self.stem.forward(x).silu();
        for (a, b) in &self.down {
            h = b.forward(&a.forward(&h).silu()).silu();
        }
        self.to_latent.forward(&h)
    }

    /// Latents → normalised images.
    ///
    /// # Shapes
    /// `z`: `(N, latent_channels, s, s)` → `(N, 3, s·f, s·f)`
    pub fn decode(&self, z: &Tensor) -> Tensor {
        let mut h = self.from_latent.forward(z).silu();
        for (a, b) in &self.up {
            let (_, _, hh, ww) = h.size4().expect("a 4-d activation");
            h = h.upsample_nearest2d([2 * hh, 2 * ww], None, None);
            h = b.forward(&a.forward(&h).silu()).silu();
        }
        self.to_image.forward(&h)
    }

    /// `decode(encode(x))`.
    pub fn reconstruct(&self, x: &Tensor) -> Tensor {
        self.decode(&self.encode(x))
    }
}

/// The autoencoder's redrawing of 8-bit pictures (of its input size), `batch` at a time,
/// as 8-bit pictures.
pub fn reconstruct_rgb8(
    model: &Autoencoder,
    images: &[image::RgbImage],
    batch: usize,
) -> Result<Vec<image::RgbImage>> {
    let side = model.config().input_size as u32;
    if let Some(bad) = images.iter().find(|i| i.dimensions() != (side, side)) {
        return Err(ModelError::invalid(
            "image size",
            format!("{}×{}", bad.width(), bad.height()),
            &format!("{side}×{side}, the autoencoder's input size"),
        ));
    }
    let _guard = tch::no_grad_guard();
    let norm = model.config().normalize();
    let mut out = Vec::with_capacity(images.len());
    for chunk in images.chunks(batch.max(1)) {
        let x: Vec<Tensor> = chunk.iter().map(crate::images::from_rgb8).collect();
        let x = crate::flow::from_unit_range(&Tensor::stack(&x, 0), &norm);
        let recon = crate::flow::to_unit_range(&model.reconstruct(&x), &norm);
        out.extend(crate::images::to_rgb8_all(&recon)?);
    }
    Ok(out)
}

/// The training loss: mean absolute error of the pixels plus `edge_weight` times the mean
/// absolute error of the horizontal and vertical differences between neighbouring pixels
/// (which an L1 loss alone lets the decoder blur).
///
/// # Shapes
/// `recon`, `x`: `(N, C, H, W)` → a scalar
pub fn reconstruction_loss(recon: &Tensor, x: &Tensor, edge_weight: f64) -> Tensor {
    let l1 = (recon - x).abs().mean(Kind::Float);
    if edge_weight == 0.0 {
        return l1;
    }
    let dx = |t: &Tensor| t.narrow(3, 1, t.size()[3] - 1) - t.narrow(3, 0, t.size()[3] - 1);
    let dy = |t: &Tensor| t.narrow(2, 1, t.size()[2] - 1) - t.narrow(2, 0, t.size()[2] - 1);
    let edges =
        (dx(recon) - dx(x)).abs().mean(Kind::Float) + (dy(recon) - dy(x)).abs().mean(Kind::Float);
    l1 + edges * (edge_weight / 2.0)
}

/// Peak signal-to-noise ratio in dB of images in `[0, 1]`: `10·log10(1 / MSE)`, over the
/// whole batch.
pub fn psnr(a: &Tensor, b: &Tensor) -> f64 {
    let mse = (a - b).square().mean(Kind::Double).double_value(&[]);
    10.0 * (1.0 / mse.max(1e-12)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> AutoencoderConfig {
        AutoencoderConfig {
            input_size: 16,
            widths: vec![8, 8, 16],
            ..AutoencoderConfig::default()
        }
    }

    #[test]
    fn the_latent_grid_is_four_times_smaller_and_decodes_back_to_the_image_shape() {
        let vs = nn::VarStore::new(Device::Cpu);
        let ae = Autoencoder::new(vs.root(), &small()).unwrap();
        let x = Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
        let z = ae.encode(&x);
        assert_eq!(z.size(), [2, 4, 4, 4]);
        assert_eq!(ae.decode(&z).size(), [2, 3, 16, 16]);
        assert_eq!((small().downsample(), small().latent_size()), (4, 4));
    }

    #[test]
    fn pictures_come_back_as_pictures_of_the_same_size() {
        let vs = nn::VarStore::new(Device::Cpu);
        let ae = Autoencoder::new(vs.root(), &small()).unwrap();
        let images = vec![image::RgbImage::from_pixel(16, 16, image::Rgb([200, 30, 90])); 5];
        let out = reconstruct_rgb8(&ae, &images, 2).unwrap();
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|i| i.dimensions() == (16, 16)));
        // Same input, same output, whichever batch an image fell into.
        assert_eq!(out[0], out[4]);
        let err = reconstruct_rgb8(&ae, &[image::RgbImage::new(8, 8)], 2).unwrap_err();
        assert!(err.to_string().contains("8×8"), "{err}");
    }

    #[test]
    fn bad_configs_are_refused_by_field() {
        let err = |cfg: AutoencoderConfig| cfg.validate().unwrap_err().to_string();
        let e = err(AutoencoderConfig {
            input_size: 66,
            ..AutoencoderConfig::default()
        });
        assert!(
            e.contains("input_size") && e.contains("66") && e.contains("multiple of 4"),
            "{e}"
        );
        let e = err(AutoencoderConfig {
            widths: vec![32],
            ..AutoencoderConfig::default()
        });
        assert!(e.contains("widths"), "{e}");
        let e = err(AutoencoderConfig {
            model_type: "tinydit".into(),
            ..AutoencoderConfig::default()
        });
        assert!(e.contains("another kind of model"), "{e}");
    }

    #[test]
    fn the_loss_counts_pixels_and_edges_and_psnr_is_in_decibels() {
        let x = Tensor::zeros([1, 1, 4, 4], (Kind::Float, Device::Cpu));
        // A constant offset of 0.1: pixel L1 0.1, no edge difference, PSNR 20 dB.
        let shifted = &x + 0.1;
        let l = reconstruction_loss(&shifted, &x, 1.0).double_value(&[]);
        assert!((l - 0.1).abs() < 1e-6, "{l}");
        assert!((psnr(&shifted, &x) - 20.0).abs() < 1e-4);
        // One bright pixel at (1, 1): pixel L1 1/16; horizontal differences off by 1 in two
        // of 12 places, vertical the same: edges (2/12 + 2/12) / 2 = 1/6.
        let dot = x.zeros_like();
        let _ = dot.narrow(2, 1, 1).narrow(3, 1, 1).fill_(1.0);
        let l = reconstruction_loss(&dot, &x, 1.0).double_value(&[]);
        assert!((l - (1.0 / 16.0 + 1.0 / 6.0)).abs() < 1e-6, "{l}");
        assert_eq!(reconstruction_loss(&x, &x, 1.0).double_value(&[]), 0.0);
    }
}
