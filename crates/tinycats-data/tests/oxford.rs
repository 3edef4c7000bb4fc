//! Oxford-IIIT Pet on a miniature copy of the official annotation files (committed under
//! `tests/fixtures/oxford-mini/annotations`, same format line for line); the JPEGs are
//! rendered here. `import_oxford` copies it into the split folders that training reads.
use std::collections::BTreeMap;
use std::path::Path;

use tinycats_data::curate::{ImportOxfordOptions, SPLIT_MANIFEST, import_oxford};
use tinycats_data::loaders::{
    ImageFolderOptions, OxfordOptions, ProblemKind, image_folder, oxford_pet,
};
use tinycats_data::{
    BREEDS, DataError, Loader, LoaderConfig, NUM_CLASSES, OTHER, Source, SynthCats, SynthConfig,
    breed_id,
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

/// `class -> sorted file names` of one split folder of an import.
fn listing(out: &Path, split: &str) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    let Ok(classes) = std::fs::read_dir(out.join(split)) else {
        return map;
    };
    for class in classes {
        let class = class.unwrap();
        let mut names: Vec<String> = std::fs::read_dir(class.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        map.insert(class.file_name().into_string().unwrap(), names);
    }
    map
}

/// The image names of an annotation file of the fixture.
fn listed(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oxford-mini/annotations")
        .join(file);
    let mut names: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| format!("{}.jpg", l.split_whitespace().next().unwrap()))
        .collect();
    names.sort();
    names
}

fn all_dogs(val: f32, seed: u64) -> ImportOxfordOptions {
    ImportOxfordOptions {
        val,
        other_ratio: None,
        seed,
        ..ImportOxfordOptions::default()
    }
}

#[test]
fn import_oxford_counts_per_split_and_class() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let before = listing(dir.path(), "");
    let out_dir = tempfile::tempdir()?;
    let out = out_dir.path().join("split");
    let summary = import_oxford(dir.path(), &out, &all_dogs(0.5, 0))?;
    assert_eq!(listing(dir.path(), ""), before, "copied, not moved");
    assert_eq!(summary.split.out, out);
    // Per cat breed: 2 trainval images (1 train, 1 val) and 1 test image; `Other`: 6 dog
    // breeds × 2 trainval (6 train, 6 val) and 6 test images.
    let mut expected: Vec<_> = BREEDS[..OTHER]
        .iter()
        .map(|b| (b.to_string(), 1, 1, 1))
        .collect();
    expected.push(("Other".to_string(), 6, 6, 6));
    assert_eq!(summary.split.counts, expected);
    for (split, idx) in [("train", 1), ("val", 2), ("test", 3)] {
        let on_disk = listing(&out, split);
        assert_eq!(on_disk.len(), NUM_CLASSES, "{split}: {on_disk:?}");
        for row in &summary.split.counts {
            let n = [row.1, row.2, row.3][idx - 1];
            assert_eq!(on_disk[&row.0].len(), n, "{split}/{}", row.0);
        }
    }
    // One manifest row per copy, in `split`'s format.
    let manifest = std::fs::read_to_string(out.join(SPLIT_MANIFEST))?;
    let mut lines = manifest.lines();
    assert_eq!(lines.next(), Some("split,class,source,dest"));
    assert_eq!(lines.count(), 54);
    assert!(manifest.contains("test,Other,"));
    assert!(manifest.contains("test/Abyssinian/Abyssinian_102.jpg"));
    assert!(summary.skipped.is_empty() && summary.notes.is_empty());
    let table = summary.to_string();
    assert!(table.contains("British_Shorthair") && table.contains("copied into"));
    Ok(())
}

#[test]
fn import_oxford_test_split_is_the_official_test_list() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let out = dir.path().join("split");
    import_oxford(dir.path(), &out, &all_dogs(0.1, 4))?;
    let mut test: Vec<String> = listing(&out, "test").into_values().flatten().collect();
    test.sort();
    assert_eq!(test, listed("test.txt"));
    // Each image sits in the folder of its class.
    for (class, names) in listing(&out, "test") {
        for name in names {
            let stem = name.trim_end_matches(".jpg");
            if class == "Other" {
                assert!(stem.starts_with(|c: char| c.is_lowercase()), "{name}");
            } else {
                assert!(stem.starts_with(class.as_str()), "{name} in {class}");
            }
        }
    }
    Ok(())
}

#[test]
fn import_oxford_val_is_disjoint_from_train_and_stratified() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let out = dir.path().join("split");
    let summary = import_oxford(dir.path(), &out, &all_dogs(0.25, 1))?;
    let (train, val) = (listing(&out, "train"), listing(&out, "val"));
    let mut both: Vec<String> = Vec::new();
    for (class, t) in &train {
        let v = val.get(class).cloned().unwrap_or_default();
        assert!(v.iter().all(|x| !t.contains(x)), "{class}: {v:?} in train");
        // round(n × 0.25), at most n - 1: 2 → 1 (0.5 rounds up), 12 → 3.
        let n = t.len() + v.len();
        let n_val = ((n as f32 * 0.25).round() as usize).min(n - 1);
        assert_eq!(v.len(), n_val, "{class} has {n} trainval images");
        both.extend(t.iter().chain(&v).cloned());
    }
    both.sort();
    assert_eq!(both, listed("trainval.txt"), "train + val = trainval");
    assert_eq!(summary.split.counts[OTHER], ("Other".to_string(), 9, 3, 6));
    Ok(())
}

#[test]
fn import_oxford_is_deterministic_for_a_seed() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let run = |name: &str, seed| -> anyhow::Result<_> {
        let out = dir.path().join(name);
        import_oxford(dir.path(), &out, &all_dogs(0.5, seed))?;
        Ok((
            listing(&out, "train"),
            listing(&out, "val"),
            std::fs::read_to_string(out.join(SPLIT_MANIFEST))?,
        ))
    };
    let a = run("a", 7)?;
    let b = run("b", 7)?;
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    // The manifest lists the same copies; only the output folder differs.
    assert_eq!(a.2, b.2);
    let c = run("c", 8)?;
    assert_ne!(a.1, c.1, "another seed draws another validation set");
    // The default dog cap is seeded too.
    let capped = |name: &str| -> anyhow::Result<_> {
        let out = dir.path().join(name);
        let opts = ImportOxfordOptions {
            seed: 2,
            ..ImportOxfordOptions::default()
        };
        let s = import_oxford(dir.path(), &out, &opts)?;
        Ok((s.split.counts, listing(&out, "train"), s.notes))
    };
    let (d, e) = (capped("d")?, capped("e")?);
    assert_eq!(d, e);
    // 24 cat images / 12 breeds × 1.0 = 2 dogs kept of trainval, 12 / 12 = 1 of test.
    assert_eq!(d.0[OTHER], ("Other".to_string(), 2, 0, 1));
    assert!(
        d.2.iter().any(|n| n.starts_with("trainval: kept 2 of 12")),
        "{:?}",
        d.2
    );
    Ok(())
}

#[test]
fn import_oxford_refuses_a_non_empty_out_folder() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let out = dir.path().join("split");
    std::fs::create_dir(&out)?;
    std::fs::write(out.join("keep.txt"), "mine")?;
    let err = import_oxford(dir.path(), &out, &ImportOxfordOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Layout { .. }));
    let msg = err.to_string();
    assert!(msg.contains("split") && msg.contains("--out"), "{msg}");
    assert_eq!(std::fs::read_to_string(out.join("keep.txt"))?, "mine");
    assert_eq!(std::fs::read_dir(&out)?.count(), 1);
    // An empty folder is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty)?;
    import_oxford(dir.path(), &empty, &ImportOxfordOptions::default())?;
    Ok(())
}

#[test]
fn import_oxford_output_reads_as_image_folders_with_canonical_labels() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let out = dir.path().join("split");
    import_oxford(dir.path(), &out, &all_dogs(0.5, 0))?;
    let pet = oxford_pet(
        dir.path(),
        &OxfordOptions {
            other_ratio: None,
            ..OxfordOptions::default()
        },
    )?;
    let label_of: BTreeMap<_, _> = pet
        .trainval
        .samples
        .iter()
        .chain(&pet.test.samples)
        .map(|s| (s.path.file_name().unwrap().to_owned(), s.label))
        .collect();
    for (split, n) in [("train", 18), ("val", 18), ("test", 18)] {
        let ds = image_folder(&out.join(split), &ImageFolderOptions::default())?;
        assert_eq!(ds.classes, BREEDS.map(String::from).to_vec(), "{split}");
        assert_eq!(ds.len(), n, "{split}");
        assert!(
            ds.skipped.is_empty() && ds.notes.is_empty(),
            "{split}: {ds:?}"
        );
        for s in &ds.samples {
            let folder = s.path.parent().unwrap().file_name().unwrap();
            assert_eq!(Some(s.label), breed_id(folder.to_str().unwrap()));
            assert_eq!(s.label, label_of[s.path.file_name().unwrap()], "{s:?}");
        }
    }
    Ok(())
}

#[test]
fn import_oxford_without_dogs_writes_no_other_folder() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    let out = dir.path().join("split");
    let opts = ImportOxfordOptions {
        include_dogs: false,
        ..all_dogs(0.5, 0)
    };
    let summary = import_oxford(dir.path(), &out, &opts)?;
    assert_eq!(summary.split.counts[OTHER], ("Other".to_string(), 0, 0, 0));
    for split in ["train", "val", "test"] {
        assert!(!out.join(split).join("Other").exists(), "{split}/Other");
        let ds = image_folder(&out.join(split), &ImageFolderOptions::default())?;
        assert_eq!(ds.class_counts()[OTHER], 0);
        assert_eq!(ds.len(), 12);
    }
    Ok(())
}

#[test]
fn import_oxford_reports_missing_images_and_few_val_images() -> anyhow::Result<()> {
    let dir = fixture(&["Bombay_100", "Siamese_102"])?;
    let out = dir.path().join("split");
    let summary = import_oxford(dir.path(), &out, &all_dogs(0.1, 0))?;
    let skipped: Vec<_> = summary.skipped.iter().map(|p| (p.kind, &p.path)).collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped[0].0 == ProblemKind::MissingFile && skipped[0].1.ends_with("Bombay_100.jpg"));
    assert!(
        skipped[1].1.ends_with("Siamese_102.jpg"),
        "the test split reports too"
    );
    assert_eq!(summary.split.counts[3], ("Bombay".to_string(), 1, 0, 1));
    assert_eq!(summary.split.counts[10], ("Siamese".to_string(), 2, 0, 0));
    let text = summary.to_string();
    assert!(
        text.contains("skipped 2 listed image(s)") && text.contains("Bombay_100.jpg"),
        "{text}"
    );
    // 2 trainval images × 0.1 rounds to no validation image.
    assert!(
        text.contains("no validation image for Abyssinian (2)"),
        "{text}"
    );
    Ok(())
}

#[test]
fn import_oxford_errors_name_the_missing_file_and_the_download() -> anyhow::Result<()> {
    let dir = fixture(&[])?;
    std::fs::remove_file(dir.path().join("annotations/list.txt"))?;
    let out = dir.path().join("split");
    let msg = import_oxford(dir.path(), &out, &ImportOxfordOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("annotations/list.txt")
            && msg.contains("https://www.robots.ox.ac.uk/~vgg/data/pets/")
            && msg.contains("annotations.tar.gz"),
        "{msg}"
    );
    assert!(!out.exists(), "nothing is written on error");
    let msg = import_oxford(
        &dir.path().join("nope"),
        &out,
        &ImportOxfordOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("nope") && msg.contains("images.tar.gz"),
        "{msg}"
    );
    let bad = ImportOxfordOptions {
        val: 1.0,
        ..ImportOxfordOptions::default()
    };
    assert!(import_oxford(dir.path(), &out, &bad).is_err());
    Ok(())
}
