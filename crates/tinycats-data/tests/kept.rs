//! The loader keeps what it decoded: a later epoch reads the kept images, not the files, and
//! its batches are the ones a loader that decodes every time would give.

use tinycats_data::augment::Augment;
use tinycats_data::loaders::{Dataset, ImageFolderOptions, image_folder};
use tinycats_data::{Loader, LoaderConfig, Source, SynthCats, SynthConfig};

fn config(keep_decoded: usize) -> LoaderConfig {
    LoaderConfig {
        batch_size: 4,
        image_size: 16,
        augment: Augment::classifier_train(),
        drop_last: false, // every epoch visits all 13 images
        prefetch: 0,      // on demand: nothing is read ahead of the files' removal below
        keep_decoded,
        ..LoaderConfig::default()
    }
}

/// One 24-pixel SynthCats PNG per class in a temporary folder, as an image-folder dataset.
fn thirteen_pngs() -> anyhow::Result<(tempfile::TempDir, Dataset)> {
    let dir = tempfile::tempdir()?;
    let synth = SynthCats::new(SynthConfig {
        size: 24,
        seed: 3,
        ..SynthConfig::default()
    })?;
    synth.write_dataset(dir.path(), 1)?;
    let ds = image_folder(dir.path(), &ImageFolderOptions::default())?;
    Ok((dir, ds))
}

#[test]
fn a_later_epoch_reads_the_kept_images_and_gives_the_same_batches() -> anyhow::Result<()> {
    let (dir, ds) = thirteen_pngs()?;
    let mut kept = Loader::new(Source::Files(ds.clone()), config(usize::MAX))?;
    let mut fresh = Loader::new(Source::Files(ds.clone()), config(0))?;
    let per_epoch = kept.batches_per_epoch();
    for _ in 0..per_epoch {
        assert_eq!(kept.next_batch()?.images, fresh.next_batch()?.images);
    }
    // Epoch 1 after the files are gone: the keeping loader still has every image (and
    // augments them as the fresh loader augments its decodes), the other one needs the files.
    let mut fresh_again = Loader::new(Source::Files(ds), config(0))?;
    for _ in 0..per_epoch {
        fresh_again.next_batch()?;
    }
    let epoch1: Vec<_> = (0..per_epoch)
        .map(|_| fresh_again.next_batch().map(|b| b.images))
        .collect::<Result<_, _>>()?;
    std::fs::remove_dir_all(dir.path())?;
    for want in &epoch1 {
        assert_eq!(&kept.next_batch()?.images, want);
    }
    let err = fresh.next_batch().unwrap_err().to_string();
    assert!(err.contains(".png"), "{err}");
    Ok(())
}

#[test]
fn the_budget_bounds_what_is_kept() -> anyhow::Result<()> {
    // 13 images of 24 × 24 × 3 bytes; a budget for 5 of them keeps 5 and loads the rest anew.
    let (dir, ds) = thirteen_pngs()?;
    let mut l = Loader::new(Source::Files(ds), config(5 * 24 * 24 * 3))?;
    for _ in 0..l.batches_per_epoch() {
        l.next_batch()?;
    }
    std::fs::remove_dir_all(dir.path())?;
    // The next epoch visits all 13 images, so the 8 that were not kept.
    let failed: Vec<String> = (0..l.batches_per_epoch())
        .filter_map(|_| l.next_batch().err().map(|e| e.to_string()))
        .collect();
    assert!(!failed.is_empty(), "an epoch ran without the files");
    assert!(failed.iter().all(|e| e.contains(".png")), "{failed:?}");
    Ok(())
}
