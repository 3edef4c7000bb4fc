//! REPA, representation alignment (Yu et al., 2024, "Representation Alignment for
//! Generation: Training Diffusion Transformers Is Easier Than You Think"): while the
//! generator trains, a small MLP projects the residual stream after an early block onto the
//! feature map a frozen teacher computes from the clean image, and the loss adds
//! `weight · (1 − cos)`, the tokens' mean cosine distance to the teacher's features at the
//! same place. The early blocks learn what the teacher knows about the image (here: pose,
//! ears, eyes, coat), and the later ones spend their width on drawing it.
//!
//! The teacher is a SynthCats feature network ([`crate::features`]) whose 8 × 8 map lines up
//! with TinyDiT's 8 × 8 patch grid at 64 pixels. It must not be the network the quality
//! report measures in (`assets/features`): a generator trained towards the metric's own
//! features could improve the metric without improving the cats. Train a second one with
//! another seed (`tinycats train-features --seed 7`) and measure in both
//! (`tinycats eval generator --also-features TEACHER`): a gain that shows in the teacher's
//! space only is a leak.
//!
//! The projector exists for training only: its variables sit under [`PREFIX`] in the run's
//! var store (so the optimiser, the EMA and the checkpoints carry it and a resumed run
//! continues it), and the finished model folder leaves them out
//! ([`crate::tasks::save_model_folder`]), so the weights stay the reference DiT's.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use crate::dit::DitConfig;
use crate::error::{ModelError, Result};
use crate::features::FeatureNet;

/// Where the projector's variables live in the run's var store (`repa.fc1.weight`, ...).
pub const PREFIX: &str = "repa.";

/// The `[repa]` table of a generator run config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepaConfig {
    /// The frozen teacher: a SynthCats feature network's folder (`config.json`,
    /// `model.safetensors`), not the one the quality report measures in.
    pub teacher: PathBuf,
    /// Align the residual stream after this many blocks (REPA: 8 of SiT-XL's 28; TinyDiT's
    /// depth is 6).
    #[serde(default = "RepaConfig::default_after_blocks")]
    pub after_blocks: usize,
    /// The weight λ of the alignment loss (REPA: 0.5).
    #[serde(default = "RepaConfig::default_weight")]
    pub weight: f64,
    /// Hidden width of the projector, an MLP `D → w → w → C_teacher` with SiLU between.
    #[serde(default = "RepaConfig::default_projector_width")]
    pub projector_width: i64,
    /// Align only in the steps before this one; from it on the run trains on the
    /// flow-matching loss alone (the alignment's pull released for the end of a run).
    /// `None`: the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_step: Option<u64>,
}

impl RepaConfig {
    fn default_after_blocks() -> usize {
        2
    }
    fn default_weight() -> f64 {
        0.5
    }
    fn default_projector_width() -> i64 {
        512
    }

    /// Checks every value against the model it trains, naming the first one that is off.
    pub fn validate(&self, dit: &DitConfig) -> Result<()> {
        let depth = dit.depth as usize;
        if !(1..=depth).contains(&self.after_blocks) {
            return Err(ModelError::invalid(
                "repa.after_blocks",
                self.after_blocks,
                &format!("1..={depth} (the model's depth)"),
            ));
        }
        if !(self.weight.is_finite() && self.weight > 0.0) {
            return Err(ModelError::invalid(
                "repa.weight",
                self.weight,
                "a number greater than 0 (leave [repa] out to train without it)",
            ));
        }
        if self.projector_width < 1 {
            return Err(ModelError::invalid(
                "repa.projector_width",
                self.projector_width,
                "at least 1",
            ));
        }
        if self.until_step == Some(0) {
            return Err(ModelError::invalid(
                "repa.until_step",
                0,
                "at least 1 (leave [repa] out to train without it)",
            ));
        }
        Ok(())
    }
}

/// The alignment: the frozen teacher and the trained projector.
#[derive(Debug)]
pub struct Repa {
    cfg: RepaConfig,
    _teacher_vs: nn::VarStore,
    teacher: FeatureNet,
    projector: nn::Sequential,
    /// The token grid's side: the teacher's map of this side is the target.
    side: i64,
    /// Teacher channels.
    channels: i64,
    /// The projector's parameters (for the log).
    parameters: i64,
    /// Per channel, the generator's normalised pixels to the teacher's: `x · a + b`.
    to_teacher: (Tensor, Tensor),
}

impl Repa {
    /// Loads the teacher from `cfg.teacher` and builds the projector under `vs` (use
    /// `root / "repa"`, see [`PREFIX`]).
    pub fn new(vs: nn::Path, cfg: &RepaConfig, dit: &DitConfig, device: Device) -> Result<Self> {
        cfg.validate(dit)?;
        let (teacher_vs, teacher) =
            FeatureNet::load(&cfg.teacher, device).map_err(|e| ModelError::InvalidConfig {
                field: "repa.teacher".into(),
                value: cfg.teacher.display().to_string(),
                expected: format!(
                    "a SynthCats feature network's folder ({e}; make one with `tinycats \
                     train-features --seed 7 --out DIR`)"
                ),
            })?;
        let tc = teacher.config();
        if tc.input_size != dit.input_size {
            return Err(ModelError::invalid(
                "repa.teacher",
                cfg.teacher.display(),
                &format!(
                    "a feature network for {0} px images (it reads {1} px)",
                    dit.input_size, tc.input_size
                ),
            ));
        }
        let side = dit.input_size / dit.patch_size;
        let channels = teacher.map_channels(side).ok_or_else(|| {
            ModelError::invalid(
                "repa.teacher",
                cfg.teacher.display(),
                &format!(
                    "a network with a {side}×{side} feature map for the {side}×{side} token grid"
                ),
            )
        })?;
        let (d, w) = (dit.hidden_size, cfg.projector_width);
        let projector = nn::seq()
            .add(nn::linear(&vs / "fc1", d, w, Default::default()))
            .add_fn(|x| x.silu())
            .add(nn::linear(&vs / "fc2", w, w, Default::default()))
            .add_fn(|x| x.silu())
            .add(nn::linear(&vs / "fc3", w, channels, Default::default()));
        // The generator's normalised pixels back to [0, 1], then into the teacher's.
        let (g, t) = (dit.normalize()?, tc.normalize());
        let per_channel = |v: [f32; 3]| {
            Tensor::from_slice(&v)
                .reshape([1, 3, 1, 1])
                .to_device(device)
        };
        let a = per_channel(std::array::from_fn(|i| g.std[i] / t.std[i]));
        let b = per_channel(std::array::from_fn(|i| (g.mean[i] - t.mean[i]) / t.std[i]));
        Ok(Repa {
            cfg: cfg.clone(),
            _teacher_vs: teacher_vs,
            teacher,
            projector,
            side,
            channels,
            parameters: w * (d + 1) + w * (w + 1) + channels * (w + 1),
            to_teacher: (a, b),
        })
    }

    /// The settings.
    pub fn config(&self) -> &RepaConfig {
        &self.cfg
    }

    /// Whether the alignment acts in the optimiser step that starts after `completed` steps.
    pub fn active_at(&self, completed: u64) -> bool {
        self.cfg.until_step.is_none_or(|end| completed < end)
    }

    /// One line for the run's log: what is aligned to what.
    pub fn describe(&self) -> String {
        format!(
            "REPA: the tokens after block {} aligned to {}'s {}×{} map ({} channels), weight {}{}; projector {} parameters (training only, not saved with the model)",
            self.cfg.after_blocks,
            self.cfg.teacher.display(),
            self.side,
            self.side,
            self.channels,
            self.cfg.weight,
            match self.cfg.until_step {
                Some(s) => format!(", until step {s}"),
                None => String::new(),
            },
            self.parameters
        )
    }

    /// The teacher's features of the clean images, one row per token position.
    ///
    /// # Shapes
    /// `x1`: `(N, 3, H, W)` normalised as the generator's data → `(N, T, C)`
    pub fn targets(&self, x1: &Tensor) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        let x = x1.to_kind(Kind::Float) * &self.to_teacher.0 + &self.to_teacher.1;
        let map = self.teacher.feature_map(&x, self.side)?; // (N, C, s, s)
        Ok(map.flatten(2, 3).transpose(1, 2)) // (N, T, C), row-major like the patch tokens
    }

    /// The mean cosine similarity between the projected tokens and the teacher's features,
    /// `(·)` scalar; the loss is `weight · (1 − cos)`.
    ///
    /// # Shapes
    /// `tokens`: `(N, T, D)`, `targets`: `(N, T, C)` → `()`
    pub fn cosine(&self, tokens: &Tensor, targets: &Tensor) -> Tensor {
        let projected = self.projector.forward(&tokens.to_kind(Kind::Float)); // (N, T, C)
        Tensor::cosine_similarity(&projected, targets, -1, 1e-8).mean(Kind::Float)
    }
}
