//! Random-weight model folders with the exact tensor names and shapes the trainer writes,
//! for tests and benchmarks that must run before (or without) a trained checkpoint.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::{Dtype, tensor::TensorView};

use tinycats_core::config::{ClassifierConfig, DitConfig, ModelConfig, Prediction};

use crate::error::{ExportError, Result};

/// Thirteen placeholder names (the real list comes from the data crate's config).
pub fn class_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("breed_{i}")).collect()
}

/// A small TinyDiT: the `micro` preset (16 px, patch 4, width 32, depth 2, 2 heads) with
/// placeholder class names.
pub fn small_dit_config(prediction: Prediction) -> DitConfig {
    DitConfig {
        preset: "test".into(),
        prediction,
        class_names: class_names(13),
        ..DitConfig::micro()
    }
}

/// The `tiny` preset, as the trainer writes it.
pub fn tiny_dit_config() -> DitConfig {
    DitConfig::tiny()
}

/// A small classifier: 16 px, widths [8, 16], placeholder class names.
pub fn small_classifier_config() -> ClassifierConfig {
    ClassifierConfig {
        preset: "test".into(),
        image_size: 16,
        widths: vec![8, 16],
        blocks_per_stage: vec![1, 1],
        class_names: class_names(13),
        ..ClassifierConfig::tiny()
    }
}

/// The `tiny` classifier preset, as the trainer writes it.
pub fn tiny_classifier_config() -> ClassifierConfig {
    ClassifierConfig::tiny()
}

struct Writer {
    rng: ChaCha8Rng,
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
}

impl Writer {
    fn push(&mut self, name: String, shape: &[usize], f: impl Fn(&mut ChaCha8Rng) -> f32) {
        let n: usize = shape.iter().product();
        let bytes = (0..n)
            .flat_map(|_| f(&mut self.rng).to_le_bytes())
            .collect();
        self.tensors.push((name, shape.to_vec(), bytes));
    }

    /// `U(−a, a)` with `a = 1/√fan_in`, PyTorch's default for Linear/Conv.
    fn uniform(&mut self, name: String, shape: &[usize], fan_in: usize) {
        let a = 1.0 / (fan_in as f32).sqrt();
        self.push(name, shape, |r| r.random_range(-a..a));
    }

    fn linear(&mut self, prefix: &str, in_f: usize, out_f: usize) {
        self.uniform(format!("{prefix}.weight"), &[out_f, in_f], in_f);
        self.uniform(format!("{prefix}.bias"), &[out_f], in_f);
    }

    fn batch_norm(&mut self, prefix: &str, c: usize) {
        self.push(format!("{prefix}.weight"), &[c], |r| {
            r.random_range(0.5..1.5)
        });
        self.push(format!("{prefix}.bias"), &[c], |r| {
            r.random_range(-0.2..0.2)
        });
        self.push(format!("{prefix}.running_mean"), &[c], |r| {
            r.random_range(-0.2..0.2)
        });
        self.push(format!("{prefix}.running_var"), &[c], |r| {
            r.random_range(0.5..2.0)
        });
    }

    fn save(self, dir: &Path, config: &ModelConfig) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| ExportError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let views: Vec<(String, TensorView<'_>)> = self
            .tensors
            .iter()
            .map(|(n, s, b)| {
                let view = TensorView::new(Dtype::F32, s.clone(), b).expect("sizes match");
                (n.clone(), view)
            })
            .collect();
        let path = dir.join("model.safetensors");
        let bytes = safetensors::serialize(views, None).map_err(|e| ExportError::Safetensors {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let write = |path: std::path::PathBuf, bytes: &[u8]| {
            std::fs::write(&path, bytes).map_err(|source| ExportError::Write { path, source })
        };
        write(path, &bytes)?;
        let json = serde_json::to_string_pretty(config).expect("plain data serialises");
        write(dir.join("config.json"), json.as_bytes())
    }
}

/// Writes `model.safetensors` + `config.json` of a TinyDiT with random (non-zero) weights.
pub fn write_random_dit(dir: &Path, cfg: &DitConfig, seed: u64) -> Result<()> {
    let mut w = Writer {
        rng: ChaCha8Rng::seed_from_u64(seed),
        tensors: Vec::new(),
    };
    let (c, p, d, t) = (
        cfg.in_channels as usize,
        cfg.patch_size as usize,
        cfg.hidden_size as usize,
        cfg.num_patches() as usize,
    );
    let (classes, mlp) = (cfg.num_classes as usize, cfg.mlp_hidden() as usize);
    w.uniform("x_embedder.proj.weight".into(), &[d, c, p, p], c * p * p);
    w.uniform("x_embedder.proj.bias".into(), &[d], c * p * p);
    w.push("pos_embed".into(), &[1, t, d], |r| {
        r.random_range(-1.0..1.0)
    });
    w.linear("t_embedder.mlp.0", 256, d);
    w.linear("t_embedder.mlp.2", d, d);
    w.push(
        "y_embedder.embedding_table.weight".into(),
        &[classes + 1, d],
        |r| r.random_range(-0.5..0.5),
    );
    for i in 0..cfg.depth {
        w.linear(&format!("blocks.{i}.attn.qkv"), d, 3 * d);
        w.linear(&format!("blocks.{i}.attn.proj"), d, d);
        w.linear(&format!("blocks.{i}.mlp.fc1"), d, mlp);
        w.linear(&format!("blocks.{i}.mlp.fc2"), mlp, d);
        w.linear(&format!("blocks.{i}.adaLN_modulation.1"), d, 6 * d);
    }
    w.linear("final_layer.adaLN_modulation.1", d, 2 * d);
    w.linear("final_layer.linear", d, p * p * c);
    if cfg.final_conv {
        w.uniform("final_conv.weight".into(), &[c, c, 3, 3], c * 9);
        w.uniform("final_conv.bias".into(), &[c], c * 9);
    }
    w.save(dir, &ModelConfig::TinyDit(cfg.clone()))
}

/// Writes `model.safetensors` + `config.json` of a classifier with random weights and
/// BatchNorm statistics.
pub fn write_random_classifier(dir: &Path, cfg: &ClassifierConfig, seed: u64) -> Result<()> {
    let mut w = Writer {
        rng: ChaCha8Rng::seed_from_u64(seed),
        tensors: Vec::new(),
    };
    let widths: Vec<usize> = cfg.widths.iter().map(|&w| w as usize).collect();
    let blocks: Vec<usize> = cfg.blocks_per_stage.iter().map(|&n| n as usize).collect();
    let c = cfg.in_channels as usize;
    let w0 = widths[0];
    w.uniform("stem.0.weight".into(), &[w0, c, 3, 3], c * 9);
    w.batch_norm("stem.1", w0);
    let mut in_ch = w0;
    for (i, (&width, &n)) in widths.iter().zip(&blocks).enumerate() {
        for j in 0..n {
            let p = format!("layers.{i}.{j}");
            let stride = if i > 0 && j == 0 { 2 } else { 1 };
            w.uniform(
                format!("{p}.conv1.weight"),
                &[width, in_ch, 3, 3],
                in_ch * 9,
            );
            w.batch_norm(&format!("{p}.bn1"), width);
            w.uniform(
                format!("{p}.conv2.weight"),
                &[width, width, 3, 3],
                width * 9,
            );
            w.batch_norm(&format!("{p}.bn2"), width);
            if stride != 1 || in_ch != width {
                w.uniform(
                    format!("{p}.downsample.0.weight"),
                    &[width, in_ch, 1, 1],
                    in_ch,
                );
                w.batch_norm(&format!("{p}.downsample.1"), width);
            }
            in_ch = width;
        }
    }
    w.linear("fc", in_ch, cfg.num_classes as usize);
    w.save(dir, &ModelConfig::Classifier(cfg.clone()))
}
