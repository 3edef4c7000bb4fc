//! Oxford-IIIT Pet on a miniature copy of the official annotation files (committed under
//! `tests/fixtures/oxford-mini/annotations`, same format line for line); the JPEGs are
//! rendered here.
use std::path::Path;

use tinycats_data::loaders::{OxfordOptions, ProblemKind, oxford_pet};
use tinycats_data::{
    BREEDS, DataError, Loader, LoaderConfig, OTHER, Source, SynthCats, SynthConfig,
};

fn fixture(skip: &[&str]) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oxford-mini/annotations");
    std::fs::create_dir_all(dir.path().join("annotations"))?;
    std::fs::create_dir_all(dir.path().join("images"))?;
    for f in ["list.txt", "trainval.txt", "test.txt"] {
        std::fs::copy(src.join(f), dir.path().join("annotations").join(f))?;
    }
    let synth = SynthCats::new(SynthConfig {
        size: 40,
        seed: 1,
        ..SynthConfig::default()
    })?;
    let list = std::fs::read_to_string(src.join("list.txt"))?;
    for (i, line) in list.lines().filter(|l| !l.starts_with('#')).enumerate() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if skip.contains(&name) {
            continue;
        }
        let img = synth.render(i % 13, i as u64)?;
        img.save(dir.path().join("images").join(format!("{name}.jpg")))?;
    }
    Ok(dir)
}

#[test]
fn official_split_is_kept_and_dogs_become_other() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let opts = OxfordOptions {
        other_ratio: None,
        ..OxfordOptions::default()
    };
    let pet = oxford_pet(dir.path(), &opts)?;
    assert_eq!(pet.trainval.len(), 36);
    assert_eq!(pet.test.len(), 18);
    assert_eq!(pet.trainval.classes, BREEDS.map(String::from).to_vec());
    let counts = pet.test.class_counts();
    assert!(counts[..OTHER].iter().all(|&c| c == 1), "{counts:?}");
    assert_eq!(counts[OTHER], 6);
    // File names decide the breed; no test image leaks into trainval.
    for s in &pet.trainval.samples {
        let name = s.path.file_stem().unwrap().to_str().unwrap();
        assert!(!pet.test.samples.iter().any(|t| t.path == s.path));
        if s.label != OTHER {
            assert!(
                name.starts_with(BREEDS[s.label]),
                "{name} labelled {}",
                BREEDS[s.label]
            );
        } else {
            assert!(name.starts_with(|c: char| c.is_lowercase()));
        }
    }
    Ok(())
}

#[test]
fn other_ratio_caps_the_dogs_reproducibly() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let opts = OxfordOptions {
        other_ratio: Some(1.0),
        seed: 3,
        ..OxfordOptions::default()
    };
    let a = oxford_pet(dir.path(), &opts)?;
    let b = oxford_pet(dir.path(), &opts)?;
    // 24 cat images / 12 breeds × 1.0 = 2 dogs kept in trainval.
    assert_eq!(a.trainval.class_counts()[OTHER], 2);
    assert_eq!(a.trainval, b.trainval);
    let no_dogs = oxford_pet(
        dir.path(),
        &OxfordOptions {
            include_dogs: false,
            ..opts
        },
    )?;
    assert_eq!(no_dogs.trainval.class_counts()[OTHER], 0);
    Ok(())
}

#[test]
fn missing_images_are_reported_not_fatal() -> anyhow::Result<()> {
    let dir = fixture(&["Bombay_100"])?;
    let pet = oxford_pet(dir.path(), &OxfordOptions::default())?;
    assert_eq!(pet.trainval.skipped.len(), 1);
    assert_eq!(pet.trainval.skipped[0].kind, ProblemKind::MissingFile);
    assert!(
        pet.trainval.skipped[0]
            .path
            .ends_with("images/Bombay_100.jpg")
    );
    Ok(())
}

#[test]
fn a_corrupted_annotation_line_stops_with_its_line_number() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let list = dir.path().join("annotations/list.txt");
    let mut text = std::fs::read_to_string(&list)?;
    text.push_str("Sphynx_999 34 1\n");
    std::fs::write(&list, text)?;
    let err = oxford_pet(dir.path(), &OxfordOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Layout { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("list.txt") && msg.contains("line 61") && msg.contains("4 columns"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn a_folder_that_is_not_oxford_is_refused_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let msg = oxford_pet(dir.path(), &OxfordOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("images/ and annotations/") && msg.contains("fix"),
        "{msg}"
    );
}

#[test]
fn the_loader_reads_oxford_jpegs_into_batches() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let pet = oxford_pet(dir.path(), &OxfordOptions::default())?;
    let cfg = LoaderConfig {
        batch_size: 4,
        image_size: 32,
        prefetch: 2,
        ..LoaderConfig::default()
    };
    let mut loader = Loader::new(Source::Files(pet.trainval), cfg)?;
    let batch = loader.next_batch()?;
    assert_eq!(batch.shape, [4, 3, 32, 32]);
    assert!(batch.images.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(batch.num_classes, 13);
    Ok(())
}
