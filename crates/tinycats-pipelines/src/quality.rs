//! How good are the generator's cats? Metrics that see what a reader sees, measured in the
//! feature space of the SynthCats feature network ([`tinycats_models::features`]):
//!
//! - **Fréchet distance** between Gaussians fitted to real and generated features (the FID
//!   recipe, Heusel et al. 2017, in a feature space made for this data), beside the
//!   real-vs-real baseline: two disjoint real sets of the same size. FD is biased upwards at
//!   small sample sizes, so only figures at the same size compare;
//! - **precision and recall** with k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019):
//!   the share of generated images inside the real images' manifold, and of real images
//!   inside the generated ones';
//! - a **sharpness ratio**: the mean variance of the Laplacian of generated over real images
//!   (below 1: blurrier than the data);
//! - a **patch-seam ratio**: the mean absolute luma step across the borders of the
//!   generator's patches over the mean step inside them (1: no seams; real SynthCats sit
//!   near 1, a patch transformer's visible grid above it);
//! - a **memorisation check**: each image's distance to its nearest training image, generated
//!   against held-out real, as a ratio of medians (well below 1: copies of the training set).
//!
//! Every figure carries a 95 % bootstrap interval (resampling the images, seeded): the
//! percentile interval for means and ratios, the normal interval for Fréchet distances.

use image::RgbImage;
use rayon::prelude::*;
use serde::Serialize;
use tinycats_core::seed::splitmix; // the bootstrap's indices and the mirror choice
use tinycats_data::synth::targets::{CATEGORIES, Targets, VALUES};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::features::{FeatureNet, FeatureNetConfig};
use tinycats_models::tch::{self, Device, Kind, Tensor, nn};
use tinycats_models::trainer::{AdamW, AdamWConfig, WarmupCosine};

use crate::Result;

/// Images fed to the feature network at once.
const EMBED_BATCH: usize = 128;

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
        .map(|j| render(synth, split, j, splitmix(seed ^ j) & 1 == 1))
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

/// A figure with its 95 % bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(3);
        write!(
            f,
            "{:.p$} [{:.p$}, {:.p$}]",
            self.value, self.low, self.high
        )
    }
}

/// The 2.5 % and 97.5 % quantiles of `draws` around `value`.
fn interval(value: f64, mut draws: Vec<f64>) -> Estimate {
    draws.sort_by(f64::total_cmp);
    let q = |p: f64| draws[((draws.len() - 1) as f64 * p).round() as usize];
    Estimate {
        value,
        low: q(0.025),
        high: q(0.975),
    }
}

/// `rounds` bootstrap resamples of `0..n` (with replacement), from `seed`.
fn resamples(n: usize, rounds: usize, seed: u64) -> Vec<Vec<i64>> {
    (0..rounds as u64)
        .map(|r| {
            (0..n as u64)
                .map(|i| (splitmix(seed ^ splitmix(r) ^ (i << 20)) % n as u64) as i64)
                .collect()
        })
        .collect()
}

/// The mean of `values` at `idx`.
fn mean_at(values: &[f64], idx: &[i64]) -> f64 {
    idx.iter().map(|&i| values[i as usize]).sum::<f64>() / idx.len() as f64
}

/// The median (upper middle) of `values` at `idx`.
fn median_at(values: &[f64], idx: &[i64]) -> f64 {
    let mut s: Vec<f64> = idx.iter().map(|&i| values[i as usize]).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// `stat` of `values` with an interval from the given resamples.
fn bootstrap_stat(values: &[f64], draws: &[Vec<i64>], stat: fn(&[f64], &[i64]) -> f64) -> Estimate {
    let all: Vec<i64> = (0..values.len() as i64).collect();
    let d = draws.iter().map(|r| stat(values, r)).collect();
    interval(stat(values, &all), d)
}

/// `stat(generated) / stat(real)` with an interval, resampling both sets independently.
fn bootstrap_ratio(
    generated: &[f64],
    real: &[f64],
    draws: &Draws,
    stat: fn(&[f64], &[i64]) -> f64,
) -> Estimate {
    let all: Vec<i64> = (0..generated.len() as i64).collect();
    let d = draws
        .generated
        .iter()
        .zip(&draws.real)
        .map(|(g, r)| stat(generated, g) / stat(real, r))
        .collect();
    interval(stat(generated, &all) / stat(real, &all), d)
}

/// The mean of `values` with a bootstrap interval.
pub fn bootstrap_mean(values: &[f64], rounds: usize, seed: u64) -> Estimate {
    bootstrap_stat(values, &resamples(values.len(), rounds, seed), mean_at)
}

/// The resamples every bootstrap in [`measure`] shares, drawn once: one stream for the
/// generated set, an independent one for the real set (both sets have the same size).
struct Draws {
    generated: Vec<Vec<i64>>,
    real: Vec<Vec<i64>>,
}

impl Draws {
    fn new(n: usize, rounds: usize, seed: u64) -> Self {
        Draws {
            generated: resamples(n, rounds, seed),
            real: resamples(n, rounds, seed ^ 0x5eed),
        }
    }
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues from
/// rounding are clipped to zero).
fn sqrt_psd(m: &Tensor) -> Tensor {
    let (vals, vecs) = m.linalg_eigh("L");
    let s = vals.clamp_min(0.0).sqrt();
    vecs.matmul(&s.diag_embed(0, -2, -1))
        .matmul(&vecs.transpose(0, 1))
}

/// Mean and covariance (unbiased) of the rows of `x`, in f64.
fn moments(x: &Tensor) -> (Tensor, Tensor) {
    let x = x.to_kind(Kind::Double);
    let mu = x.mean_dim(0, false, Kind::Double);
    let c = &x - &mu;
    let n = x.size()[0] as f64;
    (mu, c.transpose(0, 1).matmul(&c) / (n - 1.0))
}

/// The Fréchet distance between Gaussians fitted to the rows of `a` and `b`:
/// `‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a^½ Σ_b Σ_a^½)^½)`.
///
/// # Shapes
/// `a`: `(N, D)`, `b`: `(M, D)`
pub fn frechet_distance(a: &Tensor, b: &Tensor) -> f64 {
    let (mu_a, s_a) = moments(a);
    let (mu_b, s_b) = moments(b);
    let ra = sqrt_psd(&s_a);
    let cross = sqrt_psd(&ra.matmul(&s_b).matmul(&ra));
    let d = (&mu_a - &mu_b).square().sum(Kind::Double) + s_a.trace() + s_b.trace()
        - cross.trace() * 2.0;
    d.double_value(&[])
}

/// Euclidean distances between the rows of `a` and `b`, in f64.
///
/// # Shapes
/// `a`: `(N, D)`, `b`: `(M, D)` → `(N, M)`
fn distances(a: &Tensor, b: &Tensor) -> Tensor {
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double));
    let sq = a.square().sum_dim_intlist(1, true, Kind::Double)
        + b.square()
            .sum_dim_intlist(1, true, Kind::Double)
            .transpose(0, 1)
        - a.matmul(&b.transpose(0, 1)) * 2.0;
    sq.clamp_min(0.0).sqrt()
}

/// Each row's distance to its `k`-th nearest other row: the radius of its ball in the
/// k-NN manifold estimate.
///
/// # Shapes
/// `x`: `(N, D)` → `(N,)`
pub fn knn_radii(x: &Tensor, k: i64) -> Tensor {
    // Column 0 of the sorted row is the point itself (distance 0).
    distances(x, x).sort(1, false).0.select(1, k)
}

/// For each row of `points`, whether it lies inside the manifold: the union of the balls
/// around `manifold`'s rows with `radii`.
pub fn inside_manifold(points: &Tensor, manifold: &Tensor, radii: &Tensor) -> Vec<bool> {
    let inside = distances(points, manifold)
        .le_tensor(&radii.unsqueeze(0))
        .any_dim(1, false);
    Vec::<bool>::try_from(inside).expect("bool vector")
}

/// The BT.601 luma of pixel `(x, y)` on the 0–255 scale.
fn luma(img: &RgbImage, x: u32, y: u32) -> f64 {
    let p = img.get_pixel(x, y).0;
    0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64
}

/// Variance of the 4-neighbour Laplacian of the image's luma (interior pixels), on the
/// 0–255 scale: a measure of fine detail.
pub fn laplacian_variance(img: &RgbImage) -> f64 {
    let (w, h) = img.dimensions();
    let luma = |x: u32, y: u32| luma(img, x, y);
    let mut values = Vec::with_capacity((w.saturating_sub(2) * h.saturating_sub(2)) as usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            values.push(
                luma(x - 1, y) + luma(x + 1, y) + luma(x, y - 1) + luma(x, y + 1)
                    - 4.0 * luma(x, y),
            );
        }
    }
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
}

/// The patch-seam ratio of one image: the mean absolute luma difference between neighbours
/// on either side of a `patch`-pixel border (horizontal and vertical, the 0–255 scale) over
/// the mean between neighbours inside a patch. About 1 for an image without a grid.
pub fn seam_ratio(img: &RgbImage, patch: u32) -> f64 {
    let (w, h) = img.dimensions();
    let luma = |x: u32, y: u32| luma(img, x, y);
    let (mut border, mut inside) = ((0.0, 0u64), (0.0, 0u64));
    let mut add = |across: bool, step: f64| {
        let sum = if across { &mut border } else { &mut inside };
        sum.0 += step;
        sum.1 += 1;
    };
    for y in 0..h {
        for x in 0..w {
            if x + 1 < w {
                add((x + 1) % patch == 0, (luma(x + 1, y) - luma(x, y)).abs());
            }
            if y + 1 < h {
                add((y + 1) % patch == 0, (luma(x, y + 1) - luma(x, y)).abs());
            }
        }
    }
    let mean = |(s, n): (f64, u64)| s / n.max(1) as f64;
    mean(border) / mean(inside).max(1e-9)
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

/// What the quality report compares against.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityOptions {
    /// SynthCats seed of the real sets (its test split: never trained on).
    pub real_seed: u64,
    /// k of the k-NN manifolds.
    pub k: i64,
    /// Bootstrap resamples per interval.
    pub rounds: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// The generator's training images for the memorisation check: SynthCats seed and
    /// stream positions `0..n` of its train split, each also mirrored. `None` skips it.
    pub train_images: Option<(u64, u64)>,
    /// The generator's patch size in pixels, for the patch-seam ratio.
    pub patch: u32,
}

impl Default for QualityOptions {
    fn default() -> Self {
        QualityOptions {
            real_seed: 0,
            k: 3,
            rounds: 200,
            seed: 0,
            train_images: None,
            patch: 8,
        }
    }
}

/// The memorisation check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Memorisation {
    /// Training images searched (mirrors included).
    pub train_images: usize,
    /// Median distance from a generated image to its nearest training image.
    pub median_generated: f64,
    /// The same for held-out real images.
    pub median_held_out: f64,
    /// `median_generated / median_held_out`, with a bootstrap interval over both sets.
    pub ratio: Estimate,
}

/// The quality report of a set of generated images.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorQuality {
    /// Generated images, and real images in each real set.
    pub images: usize,
    /// Fréchet distance, generated vs real.
    pub fd: Estimate,
    /// Fréchet distance between two disjoint real sets of the same size.
    pub fd_real_real: Estimate,
    /// `fd / fd_real_real`.
    pub fd_ratio: f64,
    pub precision: Estimate,
    pub recall: Estimate,
    /// Mean Laplacian variance, generated over real.
    pub sharpness: Estimate,
    /// Mean patch-seam ratio ([`seam_ratio`]) of the generated images.
    pub seams: Estimate,
    /// The same of the first real set: what "no seams" measures on this data.
    pub seams_real: Estimate,
    pub memorisation: Option<Memorisation>,
}

/// Bootstrap of the Fréchet distance, resampling both sets. A resample repeats images, which
/// biases FD upwards (fewer distinct images), so the percentiles of the draws would not even
/// bracket the estimate: the interval is the normal one, the estimate ± 1.96 standard
/// deviations of the draws (Efron & Tibshirani 1993, §13.3).
fn bootstrap_fd(a: &Tensor, b: &Tensor, draws: &Draws) -> Estimate {
    let draws = draws
        .generated
        .iter()
        .zip(&draws.real)
        .map(|(ia, ib)| {
            frechet_distance(
                &a.index_select(0, &Tensor::from_slice(ia)),
                &b.index_select(0, &Tensor::from_slice(ib)),
            )
        })
        .collect::<Vec<f64>>();
    let value = frechet_distance(a, b);
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let sd = (draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>()
        / (draws.len() - 1).max(1) as f64)
        .sqrt();
    Estimate {
        value,
        low: (value - 1.96 * sd).max(0.0),
        high: value + 1.96 * sd,
    }
}

/// Measures `generated` (breed-major, the classes in equal numbers, as
/// [`crate::eval::breed_fidelity`] draws them; resized to the network's input size when they
/// have another) against two real SynthCats sets of the same size, in `net`'s feature space.
pub fn measure(
    net: &FeatureNet,
    generated: &[RgbImage],
    opts: &QualityOptions,
) -> Result<GeneratorQuality> {
    let n = generated.len();
    if n < 2 * opts.k as usize + 2 {
        return Err(tinycats_core::Invalid::new(
            "generated images",
            n,
            &format!(
                "at least {} (k = {} nearest neighbours)",
                2 * opts.k + 2,
                opts.k
            ),
        )
        .into());
    }
    let device = Device::Cpu;
    // Another resolution (a 128-px model, a 16-px test model) is resized to the network's
    // input, as a reader would look at the pictures side by side.
    let side = net.config().input_size as u32;
    let resized: Vec<RgbImage>;
    let generated = if generated.iter().all(|g| g.dimensions() == (side, side)) {
        generated
    } else {
        resized = generated
            .iter()
            .map(|g| image::imageops::resize(g, side, side, image::imageops::FilterType::Triangle))
            .collect();
        &resized
    };
    let real_a = synth_images(opts.real_seed, SynthSplit::Test, 0..n as u64)?;
    let real_b = synth_images(opts.real_seed, SynthSplit::Test, n as u64..2 * n as u64)?;
    let f_gen = net.embed_rgb8(generated, EMBED_BATCH, device)?;
    let f_a = net.embed_rgb8(&real_a, EMBED_BATCH, device)?;
    let f_b = net.embed_rgb8(&real_b, EMBED_BATCH, device)?;

    let draws = Draws::new(n, opts.rounds, opts.seed);
    let fd = bootstrap_fd(&f_gen, &f_a, &draws);
    let fd_real_real = bootstrap_fd(&f_b, &f_a, &draws);
    let as_f64 = |v: Vec<bool>| v.into_iter().map(|b| b as u8 as f64).collect::<Vec<_>>();
    let precision = as_f64(inside_manifold(&f_gen, &f_a, &knn_radii(&f_a, opts.k)));
    let recall = as_f64(inside_manifold(&f_a, &f_gen, &knn_radii(&f_gen, opts.k)));

    let sharp_gen: Vec<f64> = generated.par_iter().map(laplacian_variance).collect();
    let sharp_real: Vec<f64> = real_a.par_iter().map(laplacian_variance).collect();
    let sharpness = bootstrap_ratio(&sharp_gen, &sharp_real, &draws, mean_at);
    // At the network's input size the generator's patches are `patch · side / size` pixels.
    let seam = |imgs: &[RgbImage]| -> Vec<f64> {
        imgs.par_iter().map(|g| seam_ratio(g, opts.patch)).collect()
    };
    let seams = bootstrap_stat(&seam(generated), &draws.generated, mean_at);
    let seams_real = bootstrap_stat(&seam(&real_a), &draws.real, mean_at);

    let memorisation = match opts.train_images {
        None => None,
        Some((seed, count)) => {
            let train = synth_images(seed, SynthSplit::Train, 0..count)?;
            let mirrored: Vec<RgbImage> =
                train.iter().map(image::imageops::flip_horizontal).collect();
            let f_train = Tensor::cat(
                &[
                    net.embed_rgb8(&train, EMBED_BATCH, device)?,
                    net.embed_rgb8(&mirrored, EMBED_BATCH, device)?,
                ],
                0,
            );
            let nearest = |f: &Tensor| -> Vec<f64> {
                let parts: Vec<Tensor> = f
                    .split(256, 0)
                    .iter()
                    .map(|c| distances(c, &f_train).min_dim(1, false).0)
                    .collect();
                Vec::<f64>::try_from(Tensor::cat(&parts, 0)).expect("f64 vector")
            };
            let (d_gen, d_real) = (nearest(&f_gen), nearest(&f_a));
            let all: Vec<i64> = (0..n as i64).collect();
            Some(Memorisation {
                train_images: 2 * train.len(),
                median_generated: median_at(&d_gen, &all),
                median_held_out: median_at(&d_real, &all),
                ratio: bootstrap_ratio(&d_gen, &d_real, &draws, median_at),
            })
        }
    };
    Ok(GeneratorQuality {
        images: n,
        fd_ratio: fd.value / fd_real_real.value,
        fd,
        fd_real_real,
        precision: bootstrap_stat(&precision, &draws.generated, mean_at),
        recall: bootstrap_stat(&recall, &draws.generated, mean_at),
        sharpness,
        seams,
        seams_real,
        memorisation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frechet_distance_of_known_gaussians() {
        // Identical sets: 0. Shifted by a constant vector v: exactly ‖v‖² (same covariance).
        tch::manual_seed(0);
        let a = Tensor::randn([500, 4], (Kind::Double, Device::Cpu));
        assert!(frechet_distance(&a, &a).abs() < 1e-9);
        let shift = Tensor::from_slice(&[1.0f64, 2.0, 0.0, -2.0]);
        let fd = frechet_distance(&a, &(&a + &shift));
        assert!((fd - 9.0).abs() < 1e-9, "{fd}");
        // Scaled by 2 around the mean in 1-D with unit variance: (σ_a − σ_b)² = 1 · var.
        let x = Tensor::from_slice(&[-1.0f64, 1.0, -1.0, 1.0]).view([4, 1]);
        let fd = frechet_distance(&x, &(&x * 2.0));
        let var = 4.0 / 3.0; // unbiased variance of ±1
        assert!((fd - var).abs() < 1e-9, "{fd} vs {var}");
    }

    #[test]
    fn seam_ratio_sees_a_patch_grid() {
        // A smooth ramp has the same step everywhere: ratio 1.
        let ramp = RgbImage::from_fn(32, 32, |x, y| image::Rgb([(4 * x + 2 * y) as u8; 3]));
        assert!((seam_ratio(&ramp, 8) - 1.0).abs() < 1e-9);
        // Each 8-px patch flat at its own grey: all the change is across borders.
        let tiles = RgbImage::from_fn(32, 32, |x, y| image::Rgb([(40 * (x / 8 + y / 8)) as u8; 3]));
        assert!(seam_ratio(&tiles, 8) > 1e6);
        // The same image judged with 16-px patches: half of its borders fall inside a
        // patch, so the ratio is finite (15: 30 pairs of columns inside a patch, 2 of them
        // on an 8-px border, against every pair on a 16-px border).
        let tiles16 = seam_ratio(&tiles, 16);
        assert!((tiles16 - 15.0).abs() < 1e-9, "{tiles16}");
        let noise = RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([(splitmix((y * 32 + x) as u64) % 256) as u8; 3])
        });
        let r = seam_ratio(&noise, 8);
        assert!((0.8..1.25).contains(&r), "{r}");
    }

    #[test]
    fn precision_and_recall_on_points_on_a_line() {
        // Real: 0, 1, 2, 3 (k = 1 radii: 1 each). Generated: 0.5 (inside), 10 (outside).
        let real = Tensor::from_slice(&[0.0f64, 1.0, 2.0, 3.0]).view([4, 1]);
        let fake = Tensor::from_slice(&[0.5f64, 10.0]).view([2, 1]);
        let radii = knn_radii(&real, 1);
        assert_eq!(Vec::<f64>::try_from(&radii).unwrap(), [1.0, 1.0, 1.0, 1.0]);
        assert_eq!(inside_manifold(&fake, &real, &radii), [true, false]);
        // The generated points' radii are 9.5 each: every real point is covered.
        let r = knn_radii(&fake, 1);
        assert_eq!(inside_manifold(&real, &fake, &r), [true, true, true, true]);
    }

    #[test]
    fn laplacian_variance_sees_detail() {
        let flat = RgbImage::from_pixel(8, 8, image::Rgb([90, 90, 90]));
        assert_eq!(laplacian_variance(&flat), 0.0);
        // A checkerboard of 0 and 255: every interior Laplacian is ±4·255.
        let checks = RgbImage::from_fn(8, 8, |x, y| {
            let v = if (x + y) % 2 == 0 { 255 } else { 0 };
            image::Rgb([v, v, v])
        });
        let v = laplacian_variance(&checks);
        assert!((v - (4.0f64 * 255.0).powi(2)).abs() < 1e-6 * v, "{v}");
    }

    /// The picture cut into 16-pixel tiles, shuffled: the same colours, no cat.
    fn shuffled_tiles(img: &RgbImage) -> RgbImage {
        let order = [9, 3, 14, 0, 6, 11, 1, 15, 4, 12, 7, 2, 13, 8, 5, 10];
        RgbImage::from_fn(64, 64, |x, y| {
            let src = order[((y / 16) * 4 + x / 16) as usize];
            *img.get_pixel((src % 4) * 16 + x % 16, (src / 4) * 16 + y % 16)
        })
    }

    #[test]
    fn the_bundled_feature_network_sees_shape_not_only_colour() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/features");
        let (_vs, net) = FeatureNet::load(&dir, Device::Cpu).expect("assets/features");
        let a = synth_images(0, SynthSplit::Test, 0..260).unwrap();
        let b = synth_images(0, SynthSplit::Test, 260..520).unwrap();
        let embed = |imgs: &[RgbImage]| net.embed_rgb8(imgs, 64, Device::Cpu).unwrap();
        let (fa, fb) = (embed(&a), embed(&b));
        let baseline = frechet_distance(&fa, &fb);
        // Same colours, shapes destroyed: far from real cats.
        let shuffled: Vec<RgbImage> = a.iter().map(shuffled_tiles).collect();
        let fd_shuffled = frechet_distance(&embed(&shuffled), &fb);
        // Detail removed: a blur the network must notice too.
        let blurred: Vec<RgbImage> = a.iter().map(|i| image::imageops::blur(i, 1.5)).collect();
        let fd_blurred = frechet_distance(&embed(&blurred), &fb);
        eprintln!("FD real/real {baseline:.2}, shuffled {fd_shuffled:.2}, blurred {fd_blurred:.2}");
        assert!(fd_shuffled > 6.0 * baseline, "{fd_shuffled} vs {baseline}");
        assert!(fd_blurred > 2.5 * baseline, "{fd_blurred} vs {baseline}");
        // Measured: real/real 3.50, shuffled 38.1, blurred 15.2 (tolerances leave room for
        // another CPU and a retrained network).
        // Real against real: nearly every image lies in the other set's manifold.
        let precision = inside_manifold(&fa, &fb, &knn_radii(&fb, 3));
        let share = precision.iter().filter(|&&p| p).count() as f64 / precision.len() as f64;
        assert!(share > 0.8, "real-vs-real precision {share}");
    }

    #[test]
    fn bootstrap_interval_brackets_the_mean() {
        let values: Vec<f64> = (0..100).map(|i| (i % 2) as f64).collect();
        let e = bootstrap_mean(&values, 200, 1);
        assert_eq!(e.value, 0.5);
        assert!(
            e.low < 0.5 && e.high > 0.5 && e.low > 0.3 && e.high < 0.7,
            "{e}"
        );
        assert_eq!(e, bootstrap_mean(&values, 200, 1), "seeded");
    }
}
