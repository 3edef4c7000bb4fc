//! A TinyDiT's `config.json`: its architecture, presets and checks, and what its network
//! predicts.

use serde::{Deserialize, Serialize};

use super::{
    MAX_CHANNELS, MAX_CLASSES, MAX_DEPTH, MAX_IMAGE_SIZE, MAX_MLP_RATIO, MAX_WIDTH, Provenance,
    breed_names, check_names, check_stored_values, too_large,
};
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

/// Width of the sinusoidal timestep features that the timestep embedder's first layer
/// reads (DiT's `frequency_embedding_size`).
pub const TIME_FREQUENCIES: i64 = 256;

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
        Normalize::check(&self.mean, &self.std, self.in_channels)
    }
}
