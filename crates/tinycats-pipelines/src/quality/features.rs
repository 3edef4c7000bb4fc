//! The SynthCats feature network's training: renders of the training split with what
//! SynthCats drew for them as targets, and the held-out report (accuracy and R² per target).
//! Also the real reference sets the quality report compares with, rendered the same way.

use image::RgbImage;
use rayon::prelude::*;
use serde::Serialize;
use tinycats_core::seed::derive; // the mirror choice
use tinycats_data::synth::targets::{CATEGORIES, Targets, VALUES};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::features::{FeatureNet, FeatureNetConfig};
use tinycats_models::tch::{self, Device, Kind, Tensor, nn};
use tinycats_models::trainer::{AdamW, AdamWConfig, WarmupCosine};

use crate::Result;

/// Images fed to the feature network at once.
pub(super) const EMBED_BATCH: usize = 128;

/// How [`train_feature_net`] trains.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTraining {
    pub steps: u64,
    pub batch_size: usize,
    pub lr: f64,
    /// Seed of the initialisation and of the SynthCats renders it trains on.
    pub seed: u64,
    /// Held-out images per class for the report (SynthCats' test split).
    pub held_out_per_class: u64,
}

impl Default for FeatureTraining {
    fn default() -> Self {
        FeatureTraining {
            steps: 3000,
            batch_size: 64,
            lr: 2e-3,
            seed: 1234,
            held_out_per_class: 100,
        }
    }
}

/// Renders image `j` of a split's stream: breed `j mod 13`, render index `j div 13`, mirrored
/// when `mirror` says so (the generator learns from mirrored cats too).
fn render(synth: &SynthCats, split: SynthSplit, j: u64, mirror: bool) -> (RgbImage, Targets) {
    let classes = CATEGORIES[0].1 as u64;
    let breed = (j % classes) as usize;
    let (img, attrs) = synth
        .render_with_attributes(breed, split.index_offset() + j / classes)
        .expect("breeds 0..13 are presets");
    if mirror {
        (
            image::imageops::flip_horizontal(&img),
            Targets::of(&attrs, true),
        )
    } else {
        (img, Targets::of(&attrs, false))
    }
}

/// Images, class targets `(N, 4)` and raw values `(N, V)` of stream positions `range`.
fn render_batch(
    synth: &SynthCats,
    split: SynthSplit,
    range: std::ops::Range<u64>,
    seed: u64,
) -> (Vec<RgbImage>, Tensor, Tensor) {
    let items: Vec<(RgbImage, Targets)> = range
        .into_par_iter()
        .map(|j| render(synth, split, j, derive(seed, &[j]) & 1 == 1))
        .collect();
    let classes: Vec<i64> = items.iter().flat_map(|(_, t)| t.classes).collect();
    let values: Vec<f32> = items.iter().flat_map(|(_, t)| t.values).collect();
    let n = items.len() as i64;
    (
        items.into_iter().map(|(img, _)| img).collect(),
        Tensor::from_slice(&classes).view([n, CATEGORIES.len() as i64]),
        Tensor::from_slice(&values).view([n, VALUES.len() as i64]),
    )
}

/// The loss of one batch: the mean cross-entropy of the four categorical heads plus the
/// mean squared error of the standardised values.
fn loss(net: &FeatureNet, x: &Tensor, classes: &Tensor, values: &Tensor) -> Tensor {
    let (logits, pred) = net.heads(&net.features(x));
    let mut total = pred.mse_loss(values, tch::Reduction::Mean);
    for (i, l) in logits.iter().enumerate() {
        total += l.cross_entropy_for_logits(&classes.select(1, i as i64));
    }
    total
}

/// What the trained network reads back from held-out renders.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOut {
    pub images: usize,
    /// Accuracy of each categorical head, in the order of `CATEGORIES`.
    pub accuracy: Vec<(String, f64)>,
    /// R² of each regression target, in the order of `VALUES`.
    pub r2: Vec<(String, f64)>,
}

/// Trains the feature network on SynthCats rendered on the fly (half of the images
/// mirrored), calling `on_step(step, loss, lr)` after every step. Returns the weights, the
/// network (its config holds the targets' standardisation) and the held-out report.
pub fn train_feature_net(
    opts: &FeatureTraining,
    device: Device,
    mut on_step: impl FnMut(u64, f64, f64),
) -> Result<(nn::VarStore, FeatureNet, HeldOut)> {
    let synth = SynthCats::new(SynthConfig {
        seed: opts.seed,
        ..SynthConfig::default()
    })?;
    // The standardisation of the regression targets, from the first 2,600 training renders.
    let (_, _, v) = render_batch(&synth, SynthSplit::Train, 0..2600, opts.seed);
    let to_vec = |t: Tensor| Vec::<f32>::try_from(t).expect("f32 vector");
    let cfg = FeatureNetConfig {
        value_mean: to_vec(v.mean_dim(0, false, Kind::Float)),
        value_std: to_vec(v.std_dim(0, true, false).clamp_min(1e-6)),
        ..FeatureNetConfig::default()
    };
    let (mean, std) = (
        Tensor::from_slice(&cfg.value_mean).view([1, -1]),
        Tensor::from_slice(&cfg.value_std).view([1, -1]),
    );
    tch::manual_seed(opts.seed as i64);
    tinycats_models::device::keep_freed_memory();
    let vs = nn::VarStore::new(device);
    let net = FeatureNet::new(vs.root(), &cfg)?;
    let mut opt = AdamW::new(
        &vs,
        AdamWConfig {
            weight_decay: 1e-4,
            ..AdamWConfig::default()
        },
    );
    let schedule = WarmupCosine {
        lr: opts.lr,
        min_lr: opts.lr / 100.0,
        warmup_steps: (opts.steps / 20).max(1),
        total_steps: opts.steps,
    };
    let b = opts.batch_size as u64;
    for step in 0..opts.steps {
        let (images, classes, values) = render_batch(
            &synth,
            SynthSplit::Train,
            step * b..(step + 1) * b,
            opts.seed,
        );
        let x = cfg.input(&images, device);
        let values = ((values - &mean) / &std).to_device(device);
        let l = loss(&net, &x, &classes.to_device(device), &values);
        opt.zero_grad();
        l.backward();
        opt.clip_grad_norm(1.0);
        let lr = schedule.lr_at(step);
        opt.step(lr);
        on_step(step + 1, l.double_value(&[]), lr);
    }
    let held_out = evaluate(&net, &synth, opts.held_out_per_class, &mean, &std, device);
    let mut net = net;
    net.set_held_out(serde_json::to_value(&held_out).expect("plain numbers"));
    Ok((vs, net, held_out))
}

fn evaluate(
    net: &FeatureNet,
    synth: &SynthCats,
    per_class: u64,
    mean: &Tensor,
    std: &Tensor,
    device: Device,
) -> HeldOut {
    let _guard = tch::no_grad_guard();
    let n = per_class * CATEGORIES[0].1 as u64;
    let (images, classes, values) = render_batch(synth, SynthSplit::Test, 0..n, 7);
    let mut logits: Vec<Vec<Tensor>> = (0..CATEGORIES.len()).map(|_| Vec::new()).collect();
    let mut preds = Vec::new();
    for chunk in images.chunks(EMBED_BATCH) {
        let (l, p) = net.heads(&net.features(&net.config().input(chunk, device)));
        for (acc, t) in logits.iter_mut().zip(l) {
            acc.push(t.to_device(Device::Cpu));
        }
        preds.push(p.to_device(Device::Cpu));
    }
    let accuracy = CATEGORIES
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let pred = Tensor::cat(&logits[i], 0).argmax(1, false);
            let acc = pred
                .eq_tensor(&classes.select(1, i as i64))
                .to_kind(Kind::Double)
                .mean(Kind::Double)
                .double_value(&[]);
            (name.to_string(), acc)
        })
        .collect();
    let pred = Tensor::cat(&preds, 0);
    let truth = (values - mean) / std;
    let r2 = VALUES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (p, t) = (pred.select(1, i as i64), truth.select(1, i as i64));
            let ss_res = (&p - &t).square().sum(Kind::Double).double_value(&[]);
            let ss_tot = (&t - t.mean(Kind::Float))
                .square()
                .sum(Kind::Double)
                .double_value(&[]);
            let r2 = if ss_tot > 0.0 {
                1.0 - ss_res / ss_tot
            } else {
                f64::NAN
            };
            (name.to_string(), r2)
        })
        .collect();
    HeldOut {
        images: images.len(),
        accuracy,
        r2,
    }
}

/// SynthCats images as the generator's training saw them: stream positions `range` of a
/// split (breed `j mod 13`), half of them mirrored, rendered with `seed`.
pub fn synth_images(
    seed: u64,
    split: SynthSplit,
    range: std::ops::Range<u64>,
) -> Result<Vec<RgbImage>> {
    let synth = SynthCats::new(SynthConfig {
        seed,
        ..SynthConfig::default()
    })?;
    Ok(render_batch(&synth, split, range, seed).0)
}
