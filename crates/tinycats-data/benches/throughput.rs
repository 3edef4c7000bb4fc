//! Throughput of the two data paths the issue sets targets for (on 2 cores):
//! - SynthCats rendering at 64 px: ≥ 1,000 images/s.
//! - Decode + augment from PNG files at 64 px through the Loader: ≥ 2,000 images/s.
//!
//! `cargo bench -p tinycats-data --bench throughput` (set RAYON_NUM_THREADS=2 to pin
//! the core count). Prints both figures; the numbers depend on the machine and its load.
use std::time::Instant;

use rayon::prelude::*;
use tinycats_data::augment::Augment;
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::{Loader, LoaderConfig, Normalize, Source, SynthCats, SynthConfig};

const SIZE: u32 = 64;

fn main() -> anyhow::Result<()> {
    let threads = rayon::current_num_threads();
    println!("rayon threads: {threads}");
    let synth = SynthCats::new(SynthConfig {
        size: SIZE,
        seed: 1,
        ..SynthConfig::default()
    })?;

    // 1. SynthCats rendering.
    let n = 4_000u64;
    let warm: usize = (0..130u64)
        .into_par_iter()
        .map(|i| synth.render((i % 13) as usize, i).map(|im| im.len()))
        .sum::<Result<usize, _>>()?;
    assert!(warm > 0);
    let t = Instant::now();
    let bytes: usize = (0..n)
        .into_par_iter()
        .map(|i| synth.render((i % 13) as usize, i).map(|im| im.len()))
        .sum::<Result<usize, _>>()?;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(bytes, n as usize * (SIZE * SIZE * 3) as usize);
    println!(
        "synthcats render  {SIZE} px: {:>8.0} images/s  ({n} images in {secs:.2} s)",
        n as f64 / secs
    );

    // 2. Decode + augment from PNGs on disk, through the Loader (prefetch on).
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("pngs");
    synth.write_dataset(&root, 160)?; // 2,080 PNGs
    let ds = image_folder(&root, &ImageFolderOptions::default())?;
    let images = ds.len();
    for (name, augment) in [
        ("train (RRC+flip+jitter+mix)", Augment::classifier_train()),
        ("eval (resize+crop)", Augment::eval()),
    ] {
        let cfg = LoaderConfig {
            batch_size: 64,
            image_size: SIZE,
            normalize: Normalize::IMAGENET,
            augment,
            prefetch: 4,
            ..LoaderConfig::default()
        };
        let mut loader = Loader::new(Source::Files(ds.clone()), cfg)?;
        loader.next_batch()?; // warm the page cache and the worker
        let t = Instant::now();
        let mut seen = 0;
        for _ in 0..2 * loader.batches_per_epoch() {
            seen += loader.next_batch()?.len();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "png decode+augment {SIZE} px, {name}: {:>8.0} images/s  ({seen} images from {images} files in {secs:.2} s)",
            seen as f64 / secs
        );
    }
    Ok(())
}
