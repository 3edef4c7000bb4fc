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
//!
//! The run is [`measure`]; the pieces: [`features`] (the feature network's training and the
//! real reference renders), [`bootstrap`], [`distances`] (Fréchet distance, nearest
//! neighbours) and [`pixels`] (sharpness, seams).

use image::RgbImage;
use rayon::prelude::*;
use serde::Serialize;
use tinycats_data::SynthSplit;
use tinycats_models::features::FeatureNet;
use tinycats_models::tch::{Device, Tensor};

use crate::Result;

pub mod bootstrap;
pub mod distances;
pub mod features;
pub mod pixels;

use bootstrap::{Draws, bootstrap_ratio, bootstrap_stat, mean_at, median_at};
use distances::{bootstrap_fd, distances};
use features::EMBED_BATCH;

pub use bootstrap::{Estimate, bootstrap_mean};
pub use distances::{frechet_distance, inside_manifold, knn_radii};
pub use features::{FeatureTraining, HeldOut, synth_images, train_feature_net};
pub use pixels::{laplacian_variance, seam_ratio};

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
    use tinycats_core::seed::splitmix;
    use tinycats_models::tch::{self, Kind};

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
