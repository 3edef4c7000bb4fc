//! `check`, `clean`, `split` and ImageFolder class matching on folders built here.
mod common;

use std::path::Path;

use image::{ImageBuffer, Luma, Rgb, RgbImage, Rgba};
use tinycats_data::curate::{CheckOptions, SplitOptions, check, clean, split};
use tinycats_data::decode::{DecodeLimits, decode_file};
use tinycats_data::loaders::{ClassMapping, ImageFolderOptions, ProblemKind, image_folder};
use tinycats_data::{NUM_CLASSES, SynthCats, SynthConfig};

fn synth() -> SynthCats {
    SynthCats::new(SynthConfig {
        size: 48,
        seed: 9,
        ..SynthConfig::default()
    })
    .unwrap()
}

#[test]
fn odd_formats_are_normalised_to_upright_rgb8() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = |n: &str| dir.path().join(n);
    let lim = DecodeLimits::default();

    ImageBuffer::from_fn(40, 40, |x, _| Luma([x as u8 * 6])).save(p("grey.png"))?;
    let d = decode_file(&p("grey.png"), &lim)?;
    assert!(d.source.grayscale && d.image.get_pixel(10, 3) == &Rgb([60, 60, 60]));

    ImageBuffer::from_fn(40, 40, |_, _| Rgb([65535u16, 0, 32768])).save(p("deep.png"))?;
    let d = decode_file(&p("deep.png"), &lim)?;
    assert!(d.source.sixteen_bit && d.image.get_pixel(0, 0) == &Rgb([255, 0, 128]));

    ImageBuffer::from_fn(40, 40, |x, _| {
        Rgba([200u8, 0, 0, if x < 20 { 0 } else { 255 }])
    })
    .save(p("alpha.png"))?;
    let d = decode_file(&p("alpha.png"), &lim)?;
    assert!(d.source.alpha);
    assert_eq!(
        d.image.get_pixel(5, 5),
        &Rgb([255, 255, 255]),
        "transparent pixels become white"
    );
    assert_eq!(d.image.get_pixel(30, 5), &Rgb([200, 0, 0]));

    std::fs::write(
        p("palette.png"),
        common::palette_png(40, 40, &[[255, 0, 0], [0, 0, 255]]),
    )?;
    let d = decode_file(&p("palette.png"), &lim)?;
    assert!(d.source.palette);
    assert_eq!(
        (d.image.get_pixel(0, 0), d.image.get_pixel(1, 0)),
        (&Rgb([255, 0, 0]), &Rgb([0, 0, 255]))
    );

    // 64 wide, 32 tall, EXIF orientation 6 (rotate 90° clockwise to view): upright is 32×64.
    let wide = RgbImage::from_fn(64, 32, |x, _| {
        if x < 32 {
            Rgb([250, 250, 250])
        } else {
            Rgb([0, 0, 0])
        }
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    wide.write_to(&mut jpeg, image::ImageFormat::Jpeg)?;
    std::fs::write(
        p("rotated.jpg"),
        common::with_exif_orientation(jpeg.get_ref(), 6),
    )?;
    let d = decode_file(&p("rotated.jpg"), &lim)?;
    assert!(d.source.exif_rotated);
    assert_eq!(d.image.dimensions(), (32, 64));
    // The left (white) half of the stored image is now the top.
    assert!(d.image.get_pixel(16, 5)[0] > 200 && d.image.get_pixel(16, 58)[0] < 50);
    Ok(())
}

fn build_folder(root: &Path) -> anyhow::Result<()> {
    let s = synth();
    for (class, breed) in [("Birman", 2), ("Ragdoll", 8)] {
        let d = root.join(class);
        std::fs::create_dir_all(&d)?;
        for i in 0..10 {
            s.render(breed, i)?.save(d.join(format!("{i:02}.png")))?;
        }
    }
    // An exact copy and a re-encoded near copy in Birman; a thumbnail in Ragdoll.
    std::fs::copy(root.join("Birman/00.png"), root.join("Birman/00_copy.png"))?;
    s.render(2, 1)?
        .save_with_format(root.join("Birman/01_again.jpg"), image::ImageFormat::Jpeg)?;
    image::imageops::resize(
        &s.render(8, 99)?,
        16,
        16,
        image::imageops::FilterType::Triangle,
    )
    .save(root.join("Ragdoll/thumb.png"))?;
    Ok(())
}

#[test]
fn check_finds_exact_and_near_duplicates_and_small_images() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    build_folder(dir.path())?;
    let report = check(dir.path(), &CheckOptions::default())?;
    let birman = &report.classes[0];
    assert_eq!(
        (
            birman.name.as_str(),
            birman.files,
            birman.usable,
            birman.duplicates
        ),
        ("Birman", 12, 10, 2)
    );
    let ragdoll = &report.classes[1];
    assert_eq!(
        (ragdoll.files, ragdoll.usable, ragdoll.too_small),
        (11, 10, 1)
    );
    let exact: Vec<_> = report.duplicates.iter().filter(|g| g.exact).collect();
    assert_eq!(exact.len(), 1);
    assert!(
        exact[0].paths[0].ends_with("Birman/00.png")
            && exact[0].paths[1].ends_with("Birman/00_copy.png")
    );
    let near = report
        .duplicates
        .iter()
        .find(|g| !g.exact)
        .expect("the JPEG re-encode is a near duplicate");
    assert!(
        near.paths
            .iter()
            .any(|p| p.ends_with("Birman/01_again.jpg"))
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::TooSmall && p.path.ends_with("thumb.png"))
    );
    // Distinct SynthCats renders are not flagged as near duplicates of each other.
    assert_eq!(report.duplicates.len(), 2, "{:#?}", report.duplicates);
    let table = report.to_string();
    assert!(table.contains("Birman") && table.contains("duplicates") && table.contains("[exact]"));
    Ok(())
}

#[test]
fn clean_copies_usable_unique_images_and_leaves_the_source_alone() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("raw");
    build_folder(&src)?;
    std::fs::create_dir(src.join("Empty"))?;
    let before = walk(&src);
    let out = dir.path().join("clean");
    clean(&src, &out, &CheckOptions::default())?;
    assert_eq!(walk(&src), before, "the source folder is untouched");
    assert_eq!(std::fs::read_dir(out.join("Birman"))?.count(), 10);
    assert_eq!(std::fs::read_dir(out.join("Ragdoll"))?.count(), 10);
    assert!(
        !out.join("Empty").exists(),
        "a class with nothing usable gets no folder"
    );
    // The cleaned folder is ready to split.
    split(&out, &dir.path().join("split"), &SplitOptions::default())?;
    // A second clean into the same, now non-empty, folder is refused.
    assert!(clean(&src, &out, &CheckOptions::default()).is_err());
    Ok(())
}

fn walk(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for class in std::fs::read_dir(root).unwrap() {
        for f in std::fs::read_dir(class.unwrap().path()).unwrap() {
            let f = f.unwrap();
            out.push((f.path().display().to_string(), f.metadata().unwrap().len()));
        }
    }
    out.sort();
    out
}

#[test]
fn split_is_stratified_seeded_and_copies() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("raw");
    build_folder(&src)?;
    let before = walk(&src);
    let opts = SplitOptions {
        val: 0.2,
        test: 0.2,
        seed: 5,
    };
    let a = split(&src, &dir.path().join("a"), &opts)?;
    let b = split(&src, &dir.path().join("b"), &opts)?;
    assert_eq!(walk(&src), before, "split copies, never moves");
    // Birman has 12 files: 2.4 → 2 val, 2 test, 8 train.
    assert_eq!(a.counts[0], ("Birman".to_string(), 8, 2, 2));
    let list = |root: &Path, s: &str| {
        let mut v: Vec<_> = std::fs::read_dir(root.join(s).join("Birman"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        list(&a.out, "test"),
        list(&b.out, "test"),
        "same seed, same split"
    );
    let c = split(
        &src,
        &dir.path().join("c"),
        &SplitOptions { seed: 6, ..opts },
    )?;
    assert_ne!(list(&a.out, "train"), list(&c.out, "train"));
    assert!(a.out.join("split.csv").exists());
    assert!(
        split(
            &src,
            &dir.path().join("d"),
            &SplitOptions {
                val: 0.6,
                test: 0.5,
                seed: 0
            }
        )
        .is_err()
    );
    Ok(())
}

#[test]
fn folder_names_match_breeds_loosely_and_new_classes_get_new_ids() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = synth();
    for name in ["british-shorthair", "maine coon", "Siamesse", "Savannah"] {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d)?;
        s.render(0, 0)?.save(d.join("a.png"))?;
    }
    let ds = image_folder(dir.path(), &ImageFolderOptions::default())?;
    let label = |folder: &str| {
        ds.samples
            .iter()
            .find(|x| x.path.parent().unwrap().ends_with(folder))
            .unwrap()
            .label
    };
    assert_eq!(label("british-shorthair"), 4);
    assert_eq!(label("maine coon"), 6);
    assert!(label("Siamesse") >= NUM_CLASSES && label("Savannah") >= NUM_CLASSES);
    assert_eq!(ds.classes.len(), NUM_CLASSES + 2);
    assert!(
        ds.notes
            .iter()
            .any(|n| n.contains("did you mean `Siamese`")),
        "{:?}",
        ds.notes
    );
    let sorted = image_folder(
        dir.path(),
        &ImageFolderOptions {
            mapping: ClassMapping::Sorted,
            ..Default::default()
        },
    )?;
    assert_eq!(
        sorted.classes,
        ["Savannah", "Siamesse", "british-shorthair", "maine coon"]
    );
    Ok(())
}

#[test]
fn clean_gives_colliding_names_their_own_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("raw");
    let synth = SynthCats::new(SynthConfig {
        size: 48,
        seed: 11,
        ..SynthConfig::default()
    })?;
    // `x.jpg` beside `x.jpeg` (both once became `x.png`), and two folders with a `1.png`.
    for (i, rel) in [
        "Maine Coon/1.png",
        "maine_coon/1.png",
        "Bengal/x.jpg",
        "Bengal/x.jpeg",
        "Bengal/y.png",
    ]
    .iter()
    .enumerate()
    {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap())?;
        let img = synth.render(if rel.starts_with("Bengal") { 1 } else { 7 }, i as u64)?;
        img.save_with_format(
            &path,
            if rel.ends_with(".png") {
                image::ImageFormat::Png
            } else {
                image::ImageFormat::Jpeg
            },
        )?;
    }
    let out = dir.path().join("clean");
    let report = clean(&src, &out, &CheckOptions::default())?;
    assert_eq!(report.usable.len(), 5, "{}", report);
    let mut written: Vec<String> = Vec::new();
    for class in std::fs::read_dir(&out)? {
        let class = class?;
        for f in std::fs::read_dir(class.path())? {
            written.push(format!(
                "{}/{}",
                class.file_name().to_string_lossy(),
                f?.file_name().to_string_lossy()
            ));
        }
    }
    written.sort();
    assert_eq!(
        written,
        [
            "Bengal/Bengal_x_jpeg.png",
            "Bengal/Bengal_x_jpg.png",
            "Bengal/y.png",
            "Maine Coon/1.png",
            "maine_coon/1.png",
        ],
        "every usable image has its own file"
    );
    Ok(())
}
