//! `write_dataset`: ImageFolder layout, manifest, atomic output, and a round trip
//! through the ImageFolder loader.
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::synth::{MANIFEST, read_manifest};
use tinycats_data::{BREEDS, BreedSpec, NUM_CLASSES, SynthCats, SynthConfig};

#[test]
fn writes_imagefolder_with_a_manifest_that_matches_the_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("synthcats");
    let synth = SynthCats::new(SynthConfig {
        size: 32,
        seed: 4,
        ..SynthConfig::default()
    })?;
    let summary = synth.write_dataset(&out, 3)?;
    assert_eq!((summary.images, summary.classes), (39, 13));
    let rows = read_manifest(&out.join(MANIFEST))?;
    assert_eq!(rows.len(), 39);
    for row in &rows {
        assert_eq!(BREEDS[row.class_id], row.breed);
        let img = image::open(out.join(&row.file))?.to_rgb8();
        // The file on disk is exactly what render() gives for that (breed, index).
        assert_eq!(img, synth.render(row.class_id, row.index)?);
    }
    let ds = image_folder(&out, &ImageFolderOptions::default())?;
    assert_eq!(ds.class_counts(), vec![3; NUM_CLASSES]);
    // No temporary folders are left next to the output.
    assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
    // A non-empty output folder is refused rather than mixed into.
    assert!(synth.write_dataset(&out, 1).is_err());
    Ok(())
}

#[test]
fn a_custom_breed_is_written_under_its_own_name() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("custom");
    let synth = SynthCats::new(SynthConfig {
        size: 32,
        seed: 4,
        ..SynthConfig::default()
    })?;
    let spec = BreedSpec {
        name: "Lavender_Sphynx".into(),
        coat: vec![[190, 160, 220]],
        ..BreedSpec::sphynx()
    };
    synth.write_specs(&out, &[spec], 2)?;
    let rows = read_manifest(&out.join(MANIFEST))?;
    assert!(
        rows.iter()
            .all(|r| r.breed == "Lavender_Sphynx" && r.class_id == NUM_CLASSES)
    );
    assert!(
        out.join("Lavender_Sphynx/Lavender_Sphynx_00001.png")
            .exists()
    );
    Ok(())
}
