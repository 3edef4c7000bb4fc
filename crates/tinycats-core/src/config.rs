//! The model folder's `config.json`, once for every back-end: [`DitConfig`] (TinyDiT),
//! [`ClassifierConfig`], their [`Provenance`] and the generator's [`Prediction`] type.
//!
//! The trainer writes these files beside `model.safetensors`; libtorch rebuilds the model from
//! them, the ONNX exporter builds its graph from them and copies them into the graph's
//! metadata. Unknown fields are ignored, so a newer trainer may add more.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::classes::BREEDS;
use crate::error::{Invalid, Result};
use crate::pixels::Normalize;

/// What the generator's network outputs. The exported ONNX graph outputs the velocity
/// either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// The network predicts the velocity `x₁ − x₀` directly.
    V,
    /// The network predicts the clean image `x̂₁`; the velocity is
    /// `(x̂₁ − x_t) / max(1 − t, t_eps)` (JiT: Li & He, 2025, "Back to Basics: Let Denoising
    /// Generative Models Denoise"), which suits large patches in pixel space.
    X,
}

impl Prediction {
    /// `"v"` or `"x"`, as in `config.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Prediction::V => "v",
            Prediction::X => "x",
        }
    }
}

/// Where a trained model came from: enough to repeat the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Optimiser steps taken.
    pub steps: u64,
    /// `git rev-parse HEAD` of the code that trained it, with `-dirty` appended when the
    /// working tree had uncommitted changes (`unknown` outside a checkout).
    pub git_revision: String,
    /// UTC date of the end of training, `YYYY-MM-DD`.
    pub date: String,
    /// The command line that trained it.
    #[serde(default)]
    pub command: String,
}

impl Provenance {
    /// Captures the git revision (call it when training starts: the checkout may move on
    /// while a long run trains), today's date and this process's command line.
    pub fn capture(steps: u64) -> Self {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
        };
        let git_revision = match git(&["rev-parse", "HEAD"]) {
            Some(rev) => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.trim().is_empty());
                format!("{}{}", rev.trim(), if dirty { "-dirty" } else { "" })
            }
            None => "unknown".to_string(),
        };
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        Provenance {
            steps,
            git_revision,
            date: utc_date_today(),
            command,
        }
    }

    /// The same provenance after `steps` optimiser steps, dated today.
    pub fn finished(&self, steps: u64) -> Self {
        Provenance {
            steps,
            date: utc_date_today(),
            ..self.clone()
        }
    }
}

/// Today's UTC date as `YYYY-MM-DD` (civil-from-days, H. Hinnant's algorithm).
fn utc_date_today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Upper limits on a config's sizes. A `config.json` may come from anyone; these keep a
/// crafted one from asking for more memory than any machine has before a weights file is
/// even opened. Each is far above what this project trains (its largest presets: a 128 px
/// TinyDiT of width 384 and depth 12, a classifier of 512 channels) and far below what would exhaust a workstation.
pub const MAX_IMAGE_SIZE: i64 = 1024;
/// See [`MAX_IMAGE_SIZE`].
pub const MAX_CHANNELS: i64 = 16;
/// See [`MAX_IMAGE_SIZE`]: a TinyDiT's token width, or a classifier stage's channels.
pub const MAX_WIDTH: i64 = 4096;
/// See [`MAX_IMAGE_SIZE`]: transformer blocks, or residual blocks per stage.
pub const MAX_DEPTH: i64 = 64;
/// See [`MAX_IMAGE_SIZE`].
pub const MAX_CLASSES: i64 = 10_000;
/// See [`MAX_IMAGE_SIZE`]: a classifier's stages.
pub const MAX_STAGES: usize = 8;
/// See [`MAX_IMAGE_SIZE`]: DiT uses 4.
pub const MAX_MLP_RATIO: f64 = 16.0;
/// See [`MAX_IMAGE_SIZE`]: stored values of a whole model, 2³⁰ (4 GiB of f32).
pub const MAX_STORED_VALUES: i64 = 1 << 30;

fn too_large(field: &str, value: i64, max: i64) -> Invalid {
    Invalid::new(
        field,
        value,
        &format!("at most {max} (the sizes this project's code is built and tested for)"),
    )
}

fn check_stored_values(field: &str, value: impl std::fmt::Display, n: Option<i64>) -> Result<()> {
    match n {
        Some(n) if n <= MAX_STORED_VALUES => Ok(()),
        _ => Err(Invalid::new(
            field,
            value,
            &format!(
                "a model of at most {MAX_STORED_VALUES} stored values (4 GiB of f32); \
                 this config describes {}",
                n.map_or("more than 2⁶³".to_string(), |n| n.to_string())
            ),
        )),
    }
}

/// The breed names in label order ([`BREEDS`]), as a config stores them.
pub fn breed_names() -> Vec<String> {
    BREEDS.iter().map(|s| s.to_string()).collect()
}

/// Width of the sinusoidal timestep features that the timestep embedder's first layer
/// reads (DiT's `frequency_embedding_size`).
pub const TIME_FREQUENCIES: i64 = 256;

/// Multiply-adds of one TinyDiT forward pass on one image ([`DitConfig::forward_macs`]);
/// the `adaln` to `mlp` parts are per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardMacs {
    /// The patch embedding: one `p²·C → D` projection per token.
    pub patch_embedding: i64,
    /// The timestep embedder's two layers (once per image).
    pub time_embedding: i64,
    /// One block's adaLN modulation, `D → 6D` (once per image).
    pub adaln: i64,
    /// One block's q, k, v and output projections.
    pub qkv_proj: i64,
    /// One block's `QKᵀ` and `softmax(·)V`.
    pub attention: i64,
    /// One block's two MLP layers.
    pub mlp: i64,
    /// The final layer: its modulation and the `D → p²·C` projection per token.
    pub final_layer: i64,
    /// Number of blocks.
    pub depth: i64,
}

impl ForwardMacs {
    /// One block's multiply-adds.
    pub fn block(&self) -> i64 {
        self.adaln + self.qkv_proj + self.attention + self.mlp
    }

    /// The whole forward pass's multiply-adds.
    pub fn total(&self) -> i64 {
        self.patch_embedding + self.time_embedding + self.depth * self.block() + self.final_layer
    }

    /// The whole forward pass's floating-point operations (two per multiply-add).
    pub fn flops(&self) -> f64 {
        2.0 * self.total() as f64
    }
}

/// A TinyDiT's architecture and the conventions of its inputs and outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DitConfig {
    /// Always `"tinydit"`.
    pub model_type: String,
    /// The preset this config started from.
    pub preset: String,
    /// Image side in pixels (square images).
    pub input_size: i64,
    /// Patch side in pixels; `input_size` must be a multiple of it.
    pub patch_size: i64,
    /// Image channels (3 for RGB).
    pub in_channels: i64,
    /// Token width D.
    pub hidden_size: i64,
    /// Number of transformer blocks.
    pub depth: i64,
    /// Attention heads; `hidden_size` must be a multiple of it.
    pub num_heads: i64,
    /// MLP width as a multiple of `hidden_size` (see [`DitConfig::mlp_hidden`]).
    pub mlp_ratio: f64,
    /// Number of breeds; the label table has one more row, the null class for guidance.
    pub num_classes: i64,
    /// Probability of replacing a label with the null class in training.
    #[serde(default)]
    pub class_dropout_prob: f64,
    /// What the network predicts.
    pub prediction: Prediction,
    /// Multiplier from t ∈ [0, 1] to the timestep embedder's argument.
    pub t_scale: f64,
    /// Lower clip of `1 − t` when converting an `x` prediction to a velocity.
    pub t_eps: f64,
    /// A 3×3 convolution over the unpatchified output, added to it (`out + conv(out)`),
    /// so that neighbouring patches can agree at their shared border: U-ViT's output
    /// convolution (Bao et al., 2023, "All are Worth Words"), here zero-initialised and
    /// residual, so a model with it starts as the same model without it and can be trained
    /// further from that model's weights. Its weights are `final_conv.weight` `(C, C, 3, 3)`
    /// and `final_conv.bias` `(C,)`, the one pair of tensors the reference DiT code does not
    /// have (load the rest with `strict=False` and apply the convolution after
    /// `unpatchify`). Absent from `config.json` when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub final_conv: bool,
    /// Breed names in label order.
    pub class_names: Vec<String>,
    /// Per-channel mean used to normalise images into the model's space.
    pub mean: Vec<f64>,
    /// Per-channel standard deviation used to normalise images.
    pub std: Vec<f64>,
    /// Where the trained weights came from (`null` for an untrained model).
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

impl DitConfig {
    fn preset(
        name: &str,
        input_size: i64,
        patch_size: i64,
        hidden: i64,
        depth: i64,
        heads: i64,
    ) -> Self {
        let class_names = breed_names();
        DitConfig {
            model_type: "tinydit".to_string(),
            preset: name.to_string(),
            input_size,
            patch_size,
            in_channels: 3,
            hidden_size: hidden,
            depth,
            num_heads: heads,
            mlp_ratio: 4.0,
            num_classes: class_names.len() as i64,
            class_dropout_prob: 0.1,
            prediction: Prediction::X,
            t_scale: 1000.0,
            t_eps: 0.05,
            final_conv: false,
            class_names,
            mean: vec![0.5; 3],
            std: vec![0.5; 3],
            provenance: None,
        }
    }

    /// The book's CPU model: 64 px, patch 8 (64 tokens), width 256, depth 6, 4 heads.
    /// Source: measured CPU cost (`bench/README.md`, `cargo bench -p tinycats-models --bench
    /// train_step`) on the project's 2-core machine: 0.56 s per 32-image training step,
    /// against 0.80 s for depth 8 and 3.4 s for patch 4. `x` prediction follows JiT (Li & He,
    /// 2025), which helps large patches in pixel space.
    pub fn tiny() -> Self {
        Self::preset("tiny", 64, 8, 256, 6, 4)
    }

    /// DiT-S widths (Peebles & Xie, 2023, Table 1: width 384, depth 12, 6 heads) at 64 px
    /// with patch 4 (256 tokens, as DiT-S/2 has on a 32×32 latent).
    pub fn small() -> Self {
        Self::preset("small", 64, 4, 384, 12, 6)
    }

    /// The predecessor project's `tinydit_128` (128 px, width 384, depth 12) for GPUs. Its
    /// patch size is not recorded in the documents we have; patch 8 gives 256 tokens, the
    /// token count of DiT-S/2 at 256 px.
    pub fn tinydit_128() -> Self {
        Self::preset("tinydit_128", 128, 8, 384, 12, 6)
    }

    /// A TinyDiT small enough for unit, parity and smoke tests: 16 px, patch 4 (16 tokens),
    /// width 32, depth 2, 2 heads; otherwise as [`DitConfig::tiny`]. Not a preset to train.
    pub fn micro() -> Self {
        Self::preset("micro", 16, 4, 32, 2, 2)
    }

    /// The preset called `name` (`tiny`, `small` or `tinydit_128`).
    pub fn from_preset(name: &str) -> Result<Self> {
        match name {
            "tiny" => Ok(Self::tiny()),
            "small" => Ok(Self::small()),
            "tinydit_128" => Ok(Self::tinydit_128()),
            other => Err(Invalid::new(
                "preset",
                other,
                "one of tiny, small, tinydit_128",
            )),
        }
    }

    /// Tokens per image, `(input_size / patch_size)²`.
    pub fn num_patches(&self) -> i64 {
        let side = self.input_size / self.patch_size;
        side * side
    }

    /// The width of each block's MLP: `hidden_size · mlp_ratio`, truncated as the reference
    /// DiT code does (`int(hidden_size * mlp_ratio)`).
    pub fn mlp_hidden(&self) -> i64 {
        (self.hidden_size as f64 * self.mlp_ratio) as i64
    }

    /// Multiply-adds of one forward pass of one image, by part: every linear layer applied
    /// to every token (or once, for the conditioning) and attention's two T × T products.
    /// Table lookups (the label embedding) and the fixed position embedding cost none; nor
    /// do norms, activations and softmax, which are a few per cent of the total.
    pub fn forward_macs(&self) -> ForwardMacs {
        let (t, d, mlp) = (self.num_patches(), self.hidden_size, self.mlp_hidden());
        let patch = self.patch_size * self.patch_size * self.in_channels;
        ForwardMacs {
            patch_embedding: t * patch * d,
            time_embedding: TIME_FREQUENCIES * d + d * d,
            adaln: d * 6 * d,
            qkv_proj: t * 4 * d * d,
            attention: 2 * t * t * d,
            mlp: t * 2 * d * mlp,
            final_layer: d * 2 * d + t * d * patch,
            depth: self.depth,
        }
    }

    /// The label that means "no breed" (unconditional): one past the last breed.
    pub fn null_class(&self) -> i64 {
        self.num_classes
    }

    /// How many values `model.safetensors` holds for this architecture: every parameter and
    /// the stored position embedding, as the libtorch model names them (a test in
    /// `tinycats-models` holds the two equal). `None` when the count overflows. A loader
    /// compares it with the weights file's header before allocating anything.
    pub fn stored_values(&self) -> Option<i64> {
        let (d, c, p) = (self.hidden_size, self.in_channels, self.patch_size);
        let m = self.mlp_hidden();
        let grid = self.input_size.checked_div(p)?;
        let out = p.checked_mul(p)?.checked_mul(c)?; // p²·C
        let linear = |i: i64, o: i64| i.checked_mul(o)?.checked_add(o);
        let block = [
            linear(d, d.checked_mul(3)?)?, // attn.qkv
            linear(d, d)?,                 // attn.proj
            linear(d, m)?,                 // mlp.fc1
            linear(m, d)?,                 // mlp.fc2
            linear(d, d.checked_mul(6)?)?, // adaLN_modulation.1
        ]
        .into_iter()
        .try_fold(0i64, i64::checked_add)?;
        [
            linear(out, d)?,                                  // x_embedder.proj
            grid.checked_mul(grid)?.checked_mul(d)?,          // pos_embed
            linear(TIME_FREQUENCIES, d)?,                     // t_embedder.mlp.0
            linear(d, d)?,                                    // t_embedder.mlp.2
            self.num_classes.checked_add(1)?.checked_mul(d)?, // y_embedder.embedding_table
            block.checked_mul(self.depth)?,                   // blocks.*
            linear(d, d.checked_mul(2)?)?,                    // final_layer.adaLN_modulation.1
            linear(d, out)?,                                  // final_layer.linear
            if self.final_conv {
                c.checked_mul(c)?.checked_mul(9)?.checked_add(c)? // final_conv
            } else {
                0
            },
        ]
        .into_iter()
        .try_fold(0i64, i64::checked_add)
    }

    /// The pixel convention of the model's space (an error names a bad `mean` or `std`).
    pub fn normalize(&self) -> Result<Normalize> {
        Normalize::from_config(&self.mean, &self.std)
    }

    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        if self.model_type != "tinydit" {
            return Err(Invalid::new("model_type", &self.model_type, "\"tinydit\""));
        }
        for (field, value) in [
            ("input_size", self.input_size),
            ("patch_size", self.patch_size),
            ("in_channels", self.in_channels),
            ("hidden_size", self.hidden_size),
            ("depth", self.depth),
            ("num_heads", self.num_heads),
            ("num_classes", self.num_classes),
        ] {
            if value < 1 {
                return Err(Invalid::new(field, value, "at least 1"));
            }
        }
        for (field, value, max) in [
            ("input_size", self.input_size, MAX_IMAGE_SIZE),
            ("in_channels", self.in_channels, MAX_CHANNELS),
            ("hidden_size", self.hidden_size, MAX_WIDTH),
            ("depth", self.depth, MAX_DEPTH),
            ("num_classes", self.num_classes, MAX_CLASSES),
        ] {
            if value > max {
                return Err(too_large(field, value, max));
            }
        }
        if self.input_size % self.patch_size != 0 {
            return Err(Invalid::new(
                "patch_size",
                self.patch_size,
                &format!("a divisor of input_size = {}", self.input_size),
            ));
        }
        if self.hidden_size % self.num_heads != 0 {
            return Err(Invalid::new(
                "num_heads",
                self.num_heads,
                &format!("a divisor of hidden_size = {}", self.hidden_size),
            ));
        }
        if self.hidden_size % 4 != 0 {
            return Err(Invalid::new(
                "hidden_size",
                self.hidden_size,
                "a multiple of 4 (the 2-D sin-cos position embedding needs it)",
            ));
        }
        if !(self.mlp_ratio.is_finite()
            && self.mlp_hidden() >= 1
            && self.mlp_ratio <= MAX_MLP_RATIO)
        {
            return Err(Invalid::new(
                "mlp_ratio",
                self.mlp_ratio,
                &format!(
                    "a number with hidden_size · mlp_ratio ≥ 1 and mlp_ratio ≤ {MAX_MLP_RATIO} \
                     (DiT uses 4)"
                ),
            ));
        }
        check_stored_values("hidden_size", self.hidden_size, self.stored_values())?;
        if !(0.0..1.0).contains(&self.class_dropout_prob) {
            return Err(Invalid::new(
                "class_dropout_prob",
                self.class_dropout_prob,
                "in [0, 1)",
            ));
        }
        if !(self.t_scale > 0.0 && self.t_scale.is_finite()) {
            return Err(Invalid::new("t_scale", self.t_scale, "greater than 0"));
        }
        if !(self.t_eps > 0.0 && self.t_eps < 1.0) {
            return Err(Invalid::new("t_eps", self.t_eps, "in (0, 1)"));
        }
        check_names(&self.class_names, self.num_classes)?;
        check_norm(&self.mean, &self.std, self.in_channels)
    }
}

/// The breed classifier's architecture and input conventions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Always `"classifier"`.
    pub model_type: String,
    /// The preset this config started from.
    pub preset: String,
    /// Input side in pixels (square images).
    pub image_size: i64,
    /// Input channels.
    pub in_channels: i64,
    /// Number of breeds (logits).
    pub num_classes: i64,
    /// Channels of each stage.
    pub widths: Vec<i64>,
    /// Residual blocks in each stage.
    pub blocks_per_stage: Vec<i64>,
    /// Breed names in label order.
    pub class_names: Vec<String>,
    /// Per-channel normalisation mean.
    pub mean: Vec<f64>,
    /// Per-channel normalisation standard deviation.
    pub std: Vec<f64>,
    /// Where the trained weights came from.
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

impl ClassifierConfig {
    /// The bundled model: 64 px, four stages of one block (32, 64, 128, 256 channels),
    /// ResNet-10-like; ~1.2 M parameters, ImageNet normalisation (torchvision's constants).
    pub fn tiny() -> Self {
        let class_names = breed_names();
        ClassifierConfig {
            model_type: "classifier".to_string(),
            preset: "tiny".to_string(),
            image_size: 64,
            in_channels: 3,
            num_classes: class_names.len() as i64,
            widths: vec![32, 64, 128, 256],
            blocks_per_stage: vec![1, 1, 1, 1],
            class_names,
            // torchvision's ImageNet constants ([`Normalize::IMAGENET`]), exact in JSON.
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
            provenance: None,
        }
    }

    /// ResNet-18's stage layout (He et al., 2016, Table 1: widths 64–512, two blocks per
    /// stage) with a 3×3 stride-1 stem for small images.
    pub fn resnet18() -> Self {
        ClassifierConfig {
            preset: "resnet18".to_string(),
            widths: vec![64, 128, 256, 512],
            blocks_per_stage: vec![2, 2, 2, 2],
            ..Self::tiny()
        }
    }

    /// The preset called `name` (`tiny` or `resnet18`).
    pub fn from_preset(name: &str) -> Result<Self> {
        match name {
            "tiny" => Ok(Self::tiny()),
            "resnet18" => Ok(Self::resnet18()),
            other => Err(Invalid::new("preset", other, "one of tiny, resnet18")),
        }
    }

    /// The pixel convention of the model's input (an error names a bad `mean` or `std`).
    pub fn normalize(&self) -> Result<Normalize> {
        Normalize::from_config(&self.mean, &self.std)
    }

    /// How many values `model.safetensors` holds for this architecture: convolutions,
    /// batch norms (weight, bias, running mean and variance) and the head, as the libtorch
    /// model names them (a test in `tinycats-models` holds the two equal). `None` when the
    /// count overflows.
    pub fn stored_values(&self) -> Option<i64> {
        let conv = |i: i64, o: i64, k: i64| i.checked_mul(o)?.checked_mul(k * k);
        let bn = |c: i64| c.checked_mul(4);
        let w0 = *self.widths.first()?;
        let mut total = conv(self.in_channels, w0, 3)?.checked_add(bn(w0)?)?; // stem
        let mut c_in = w0;
        for (i, (&w, &n)) in self.widths.iter().zip(&self.blocks_per_stage).enumerate() {
            for j in 0..n {
                let stride = if i > 0 && j == 0 { 2 } else { 1 };
                let mut block = conv(c_in, w, 3)?
                    .checked_add(bn(w)?)?
                    .checked_add(conv(w, w, 3)?)?
                    .checked_add(bn(w)?)?;
                if stride != 1 || c_in != w {
                    block = block.checked_add(conv(c_in, w, 1)?)?.checked_add(bn(w)?)?;
                }
                total = total.checked_add(block)?;
                c_in = w;
            }
        }
        total.checked_add(
            c_in.checked_mul(self.num_classes)?
                .checked_add(self.num_classes)?,
        )
    }

    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        if self.model_type != "classifier" {
            return Err(Invalid::new(
                "model_type",
                &self.model_type,
                "\"classifier\"",
            ));
        }
        for (field, value) in [
            ("image_size", self.image_size),
            ("in_channels", self.in_channels),
            ("num_classes", self.num_classes),
        ] {
            if value < 1 {
                return Err(Invalid::new(field, value, "at least 1"));
            }
        }
        for (field, value, max) in [
            ("image_size", self.image_size, MAX_IMAGE_SIZE),
            ("in_channels", self.in_channels, MAX_CHANNELS),
            ("num_classes", self.num_classes, MAX_CLASSES),
        ] {
            if value > max {
                return Err(too_large(field, value, max));
            }
        }
        if self.widths.is_empty()
            || self.widths.len() > MAX_STAGES
            || self.widths.iter().any(|w| !(1..=MAX_WIDTH).contains(w))
        {
            return Err(Invalid::new(
                "widths",
                format!("{:?}", self.widths),
                &format!(
                    "1 to {MAX_STAGES} channel counts, each from 1 to {MAX_WIDTH} \
                     (the sizes this project's code is built and tested for)"
                ),
            ));
        }
        if self.blocks_per_stage.len() != self.widths.len()
            || self
                .blocks_per_stage
                .iter()
                .any(|b| !(1..=MAX_DEPTH).contains(b))
        {
            return Err(Invalid::new(
                "blocks_per_stage",
                format!("{:?}", self.blocks_per_stage),
                &format!(
                    "{} counts from 1 to {MAX_DEPTH}, one per entry of widths",
                    self.widths.len()
                ),
            ));
        }
        check_stored_values("widths", format!("{:?}", self.widths), self.stored_values())?;
        check_names(&self.class_names, self.num_classes)?;
        check_norm(&self.mean, &self.std, self.in_channels)
    }
}

/// Either model's `config.json`, told apart by its `model_type` field (read it with
/// [`ModelConfig::from_json`]; each struct serialises its own `model_type`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ModelConfig {
    TinyDit(DitConfig),
    Classifier(ClassifierConfig),
}

/// Why a `config.json` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is not a tinycats config.json (model_type \"tinydit\" or \"classifier\"): {message}; \
         compare it with the `config.json` a fresh run writes",
        path.display()
    )]
    Parse {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Invalid {
        path: std::path::PathBuf,
        source: Invalid,
    },
}

impl ModelConfig {
    /// Parses and validates a `config.json` text (`path` names it in errors).
    pub fn from_json(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let parse = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| parse(e.to_string()))?;
        let cfg = match value.get("model_type").and_then(|t| t.as_str()) {
            Some("tinydit") => ModelConfig::TinyDit(
                serde_json::from_value(value).map_err(|e| parse(e.to_string()))?,
            ),
            Some("classifier") => ModelConfig::Classifier(
                serde_json::from_value(value).map_err(|e| parse(e.to_string()))?,
            ),
            Some(other) => return Err(parse(format!("unknown model_type \"{other}\""))),
            None => return Err(parse("no model_type field".into())),
        };
        cfg.validate().map_err(|source| ConfigError::Invalid {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(cfg)
    }

    /// Reads and validates `dir/config.json`; also returns its text.
    pub fn read(dir: &Path) -> Result<(Self, String), ConfigError> {
        let path = dir.join("config.json");
        let text =
            crate::fs::read_text_bounded(&path, crate::fs::CONFIG_LIMIT).map_err(|source| {
                ConfigError::Read {
                    path: path.clone(),
                    source,
                }
            })?;
        Ok((Self::from_json(&text, &path)?, text))
    }

    /// Checks every field of either model.
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelConfig::TinyDit(c) => c.validate(),
            ModelConfig::Classifier(c) => c.validate(),
        }
    }

    /// `"tinydit"` or `"classifier"`.
    pub fn model_type(&self) -> &str {
        match self {
            ModelConfig::TinyDit(c) => &c.model_type,
            ModelConfig::Classifier(c) => &c.model_type,
        }
    }
}

fn check_names(names: &[String], n: i64) -> Result<()> {
    if names.len() as i64 != n {
        return Err(Invalid::new(
            "class_names",
            format!("{} names", names.len()),
            &format!("exactly num_classes = {n} names"),
        ));
    }
    crate::classes::check_class_names(names)
}

/// Checks that `mean` and `std` have one entry per channel and that `std` is positive.
pub fn check_norm(mean: &[f64], std: &[f64], channels: i64) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crafted_sizes_are_refused_before_anything_is_built() {
        let deep = DitConfig {
            depth: 1_000_000,
            ..DitConfig::tiny()
        };
        let err = deep.validate().unwrap_err().to_string();
        assert!(err.contains("depth") && err.contains("1000000"), "{err}");
        assert!(err.contains("at most 64"), "{err}");
        let wide = DitConfig {
            mlp_ratio: 1000.0,
            ..DitConfig::tiny()
        };
        let err = wide.validate().unwrap_err().to_string();
        assert!(err.contains("mlp_ratio") && err.contains("1000"), "{err}");
        // Every size within its own limit, the whole still too large.
        let big = DitConfig {
            hidden_size: 4096,
            num_heads: 32,
            depth: 64,
            ..DitConfig::tiny()
        };
        let err = big.validate().unwrap_err().to_string();
        assert!(err.contains("stored values"), "{err}");
        let classifier = ClassifierConfig {
            widths: vec![32, 1 << 40],
            blocks_per_stage: vec![1, 1],
            ..ClassifierConfig::tiny()
        };
        let err = classifier.validate().unwrap_err().to_string();
        assert!(
            err.contains("widths") && err.contains("1099511627776"),
            "{err}"
        );
        let unvalidated = DitConfig {
            hidden_size: i64::MAX,
            ..DitConfig::tiny()
        };
        assert_eq!(unvalidated.stored_values(), None);
    }

    #[test]
    fn presets_are_valid_and_round_trip_through_json() {
        for cfg in [
            DitConfig::tiny(),
            DitConfig::small(),
            DitConfig::tinydit_128(),
            DitConfig::micro(),
        ] {
            cfg.validate().unwrap();
            let json = serde_json::to_string(&cfg).unwrap();
            assert!(json.contains("\"prediction\":\"x\""), "{json}");
            let back = ModelConfig::from_json(&json, Path::new("config.json")).unwrap();
            assert_eq!(back, ModelConfig::TinyDit(cfg));
        }
        for cfg in [ClassifierConfig::tiny(), ClassifierConfig::resnet18()] {
            let json = serde_json::to_string(&cfg).unwrap();
            let back = ModelConfig::from_json(&json, Path::new("config.json")).unwrap();
            assert_eq!(back, ModelConfig::Classifier(cfg));
        }
    }

    #[test]
    fn forward_macs_count_the_tiny_preset_by_hand() {
        // tiny: 64 tokens of 8·8·3 = 192 values, D = 256, MLP 1024, depth 6.
        let m = DitConfig::tiny().forward_macs();
        assert_eq!(m.patch_embedding, 64 * 192 * 256);
        assert_eq!(m.time_embedding, 256 * 256 + 256 * 256);
        assert_eq!(m.adaln, 256 * 1536);
        assert_eq!(m.qkv_proj, 64 * (768 + 256) * 256);
        assert_eq!(m.attention, 2 * 64 * 64 * 256);
        assert_eq!(m.mlp, 64 * 2 * 256 * 1024);
        assert_eq!(m.final_layer, 256 * 512 + 64 * 256 * 192);
        assert_eq!(m.total(), 323_485_696);
        // Four times the tokens: linear parts ×4, the T × T products ×16.
        let p4 = DitConfig {
            patch_size: 4,
            ..DitConfig::tiny()
        }
        .forward_macs();
        assert_eq!(p4.mlp, 4 * m.mlp);
        assert_eq!(p4.attention, 16 * m.attention);
    }

    #[test]
    fn invalid_values_name_the_field() {
        let mut cfg = DitConfig::tiny();
        cfg.patch_size = 7;
        let msg = cfg.validate().unwrap_err().to_string();
        assert!(
            msg.contains("`patch_size` = 7") && msg.contains("input_size = 64"),
            "{msg}"
        );
        let mut cfg = ClassifierConfig::tiny();
        cfg.std[1] = 0.0;
        let msg = cfg.validate().unwrap_err().to_string();
        assert!(msg.contains("`std`"), "{msg}");
    }

    #[test]
    fn config_files_name_the_file_and_the_problem() {
        let path = Path::new("runs/x/config.json");
        let err = ModelConfig::from_json(r#"{"model_type": "vae"}"#, path).unwrap_err();
        assert!(
            err.to_string().contains("runs/x/config.json") && err.to_string().contains("vae"),
            "{err}"
        );
        let mut cfg = DitConfig::tiny();
        cfg.num_heads = 3;
        let err = ModelConfig::from_json(&serde_json::to_string(&cfg).unwrap(), path).unwrap_err();
        assert!(err.to_string().contains("`num_heads` = 3"), "{err}");
    }

    #[test]
    fn mlp_width_truncates_like_the_reference_code() {
        let mut cfg = DitConfig::micro();
        cfg.mlp_ratio = 2.99;
        assert_eq!(cfg.mlp_hidden(), 95); // 32 · 2.99 = 95.68
        cfg.mlp_ratio = 0.01;
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn utc_date_has_iso_shape() {
        let d = utc_date_today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"), "{d}");
    }
}
