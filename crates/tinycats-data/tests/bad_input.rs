//! Every bad input of the data issue, generated in a temporary folder: each is reported
//! per file with its reason, or stops the run with a clear message. Never a panic.
mod common;

use std::path::Path;

use common::png_header;

use tinycats_data::curate::{CheckOptions, check};
use tinycats_data::decode::{DecodeLimits, decode_file};
use tinycats_data::loaders::{ClassMapping, ImageFolderOptions, ProblemKind, image_folder};
use tinycats_data::{DataError, Loader, LoaderConfig, Source, SynthCats, SynthConfig};

fn cat_png(path: &Path, seed: u64) -> anyhow::Result<()> {
    let synth = SynthCats::new(SynthConfig {
        size: 48,
        seed,
        ..SynthConfig::default()
    })?;
    synth.render(0, 0)?.save(path)?;
    Ok(())
}

fn jpeg_bytes() -> anyhow::Result<Vec<u8>> {
    let synth = SynthCats::new(SynthConfig {
        size: 64,
        seed: 2,
        ..SynthConfig::default()
    })?;
    let mut out = std::io::Cursor::new(Vec::new());
    synth
        .render(3, 0)?
        .write_to(&mut out, image::ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

fn kind_of(err: DataError) -> ProblemKind {
    match err {
        DataError::Image { kind, .. } => kind,
        other => panic!("expected an image error, got {other}"),
    }
}

#[test]
fn each_bad_file_gets_its_own_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lim = DecodeLimits::default();
    let p = |n: &str| dir.path().join(n);

    std::fs::write(p("empty.jpg"), b"")?;
    assert_eq!(
        kind_of(decode_file(&p("empty.jpg"), &lim).unwrap_err()),
        ProblemKind::EmptyFile
    );

    std::fs::write(p("notes.jpg"), b"these are my notes, not a photo\n")?;
    assert_eq!(
        kind_of(decode_file(&p("notes.jpg"), &lim).unwrap_err()),
        ProblemKind::NotAnImage
    );

    let jpeg = jpeg_bytes()?;
    std::fs::write(p("truncated.jpg"), &jpeg[..jpeg.len() / 2])?;
    assert_eq!(
        kind_of(decode_file(&p("truncated.jpg"), &lim).unwrap_err()),
        ProblemKind::Truncated
    );

    std::fs::write(p("bomb.png"), png_header(30_000))?;
    let err = decode_file(&p("bomb.png"), &lim).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bomb.png") && msg.contains("decompression-bomb"),
        "{msg}"
    );
    assert_eq!(kind_of(err), ProblemKind::TooLarge);

    // The limit is the caller's: a small cap refuses an ordinary image too.
    std::fs::write(p("ok.jpg"), &jpeg)?;
    let tight = DecodeLimits {
        max_side: 32,
        ..lim
    };
    assert_eq!(
        kind_of(decode_file(&p("ok.jpg"), &tight).unwrap_err()),
        ProblemKind::TooLarge
    );
    assert_eq!(
        decode_file(&p("ok.jpg"), &lim)?.image.dimensions(),
        (64, 64)
    );
    Ok(())
}

#[test]
fn a_jpeg_with_a_trailer_after_its_end_marker_is_valid() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lim = DecodeLimits::default();
    let jpeg = jpeg_bytes()?;
    // A Motion Photo or MPF file: the photo, then kilobytes of something else.
    let mut motion = jpeg.clone();
    motion.extend(std::iter::repeat_n(0x5Au8, 64 * 1024));
    std::fs::write(dir.path().join("motion.jpg"), &motion)?;
    assert_eq!(
        decode_file(&dir.path().join("motion.jpg"), &lim)?
            .image
            .dimensions(),
        (64, 64)
    );
    // A second JPEG in the trailer does not make a cut photo whole, nor does an end marker
    // inside a metadata segment (an embedded thumbnail).
    let cut = &jpeg[..jpeg.len() / 2];
    let mut with_thumb = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9];
    with_thumb.extend_from_slice(&cut[2..]);
    for (name, bytes) in [("cut.jpg", cut.to_vec()), ("thumb.jpg", with_thumb)] {
        std::fs::write(dir.path().join(name), &bytes)?;
        assert_eq!(
            kind_of(decode_file(&dir.path().join(name), &lim).unwrap_err()),
            ProblemKind::Truncated,
            "{name}"
        );
    }
    Ok(())
}

#[cfg(unix)]
#[test]
fn scanning_reports_symlink_loops_and_non_utf8_names_and_keeps_going() -> anyhow::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir()?;
    let class = dir.path().join("Bengal");
    std::fs::create_dir_all(&class)?;
    cat_png(&class.join("good.png"), 1)?;
    std::os::unix::fs::symlink("loop.jpg", class.join("loop.jpg"))?; // points at itself
    std::os::unix::fs::symlink("..", class.join("up"))?; // a folder cycle
    cat_png(&class.join(std::ffi::OsStr::from_bytes(b"caf\xe9.png")), 2)?;

    let ds = image_folder(dir.path(), &ImageFolderOptions::default())?;
    assert_eq!(ds.len(), 1, "only good.png is usable: {:?}", ds.samples);
    let kinds: Vec<ProblemKind> = ds.skipped.iter().map(|p| p.kind).collect();
    assert!(kinds.contains(&ProblemKind::SymlinkLoop), "{kinds:?}");
    assert!(kinds.contains(&ProblemKind::NonUtf8Name), "{kinds:?}");
    assert!(ds.skipped.iter().all(|p| !p.detail.is_empty()));
    Ok(())
}

/// `root/<class>/<file>` for each pair, a distinct cat in each.
fn class_tree(root: &Path, files: &[(&str, &str)]) -> anyhow::Result<()> {
    for (seed, (class, file)) in files.iter().enumerate() {
        std::fs::create_dir_all(root.join(class))?;
        cat_png(&root.join(class).join(file), seed as u64 + 1)?;
    }
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_folder_link_out_of_its_class_is_reported_and_its_images_keep_their_class() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    let siamese = ["s1.png", "s2.png", "s3.png"];
    let mut files = vec![("Bengal", "b1.png"), ("Bengal", "b2.png")];
    files.extend(siamese.map(|f| ("Siamese", f)));
    class_tree(root, &files)?;
    let link = root.join("Bengal/loop");
    std::os::unix::fs::symlink("..", &link)?;

    // The loader training uses.
    let opts = ImageFolderOptions {
        mapping: ClassMapping::Sorted,
        ..Default::default()
    };
    let ds = image_folder(root, &opts)?;
    assert_eq!(ds.classes, ["Bengal", "Siamese"]);
    assert_eq!(ds.class_counts(), [2, 3], "{:?}", ds.samples);

    // `data check`.
    let opts = CheckOptions {
        near_threshold: 0,
        ..CheckOptions::default()
    };
    let report = check(root, &opts)?;
    let rows: Vec<_> = report.classes.iter().map(|r| (r.files, r.usable)).collect();
    assert_eq!(rows, [(2, 2), (3, 3)], "{report}");
    for file in siamese {
        let hits: Vec<&str> = report
            .usable
            .iter()
            .filter(|s| s.path.ends_with(file))
            .map(|s| report.class_names[s.label].as_str())
            .collect();
        assert_eq!(hits, ["Siamese"], "{file} is counted once, as Siamese");
    }
    let target = std::fs::canonicalize(root)?;
    let links: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::LinkOutsideClass)
        .collect();
    assert_eq!(links.len(), 1, "{:?}", report.problems);
    assert_eq!(links[0].path, link);
    assert!(
        links[0].detail.contains(&*target.to_string_lossy()),
        "names the target: {}",
        links[0]
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn links_inside_a_class_and_links_to_files_are_read_as_that_class() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    class_tree(root, &[("Bengal/2023", "b1.png"), ("Siamese", "s1.png")])?;
    std::os::unix::fs::symlink("2023", root.join("Bengal/latest"))?;
    std::os::unix::fs::symlink("../Siamese/s1.png", root.join("Bengal/borrowed.png"))?;

    let opts = ImageFolderOptions {
        mapping: ClassMapping::Sorted,
        ..Default::default()
    };
    let ds = image_folder(root, &opts)?;
    // b1.png once (through `2023` or `latest`), plus the linked file.
    assert_eq!(ds.class_counts(), [2, 1], "{:?}", ds.samples);
    assert!(
        ds.skipped
            .iter()
            .all(|p| p.kind != ProblemKind::LinkOutsideClass),
        "{:?}",
        ds.skipped
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_class_folder_linked_to_the_dataset_or_to_another_class_is_skipped() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    class_tree(root, &[("Bengal", "b1.png"), ("Siamese", "s1.png")])?;
    std::os::unix::fs::symlink(".", root.join("All"))?;
    std::os::unix::fs::symlink("Siamese", root.join("Persian"))?;

    let opts = ImageFolderOptions {
        mapping: ClassMapping::Sorted,
        ..Default::default()
    };
    let ds = image_folder(root, &opts)?;
    assert_eq!(ds.classes, ["Bengal", "Siamese"]);
    assert_eq!(ds.class_counts(), [1, 1]);
    let skipped: Vec<_> = ds.skipped.iter().map(|p| (&p.path, p.kind)).collect();
    assert!(
        skipped.contains(&(&root.join("All"), ProblemKind::SymlinkLoop))
            && skipped.contains(&(&root.join("Persian"), ProblemKind::LinkOutsideClass)),
        "{skipped:?}"
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_an_image_is_reported_not_opened() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    class_tree(dir.path(), &[("Bengal", "b1.png")])?;
    let fifo = dir.path().join("Bengal/pipe.png");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    anyhow::ensure!(made.success(), "mkfifo {}", fifo.display());
    let report = check(dir.path(), &CheckOptions::default())?;
    assert_eq!(report.usable.len(), 1);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(
        (&report.problems[0].path, report.problems[0].kind),
        (&fifo, ProblemKind::NotAnImage)
    );
    Ok(())
}

#[test]
fn an_empty_class_folder_stops_the_scan_unless_allowed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("Persian"))?;
    std::fs::create_dir_all(dir.path().join("Sphynx"))?;
    cat_png(&dir.path().join("Sphynx/a.png"), 1)?;
    let err = image_folder(dir.path(), &ImageFolderOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("Persian") && msg.contains("no images") && msg.contains("fix"),
        "{msg}"
    );
    let ds = image_folder(
        dir.path(),
        &ImageFolderOptions {
            allow_empty_classes: true,
            ..Default::default()
        },
    )?;
    assert_eq!(ds.len(), 1);
    assert_eq!(ds.skipped[0].kind, ProblemKind::EmptyClass);
    Ok(())
}

#[test]
fn check_lists_every_bad_file_in_one_pass() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let class = dir.path().join("Bombay");
    std::fs::create_dir_all(&class)?;
    cat_png(&class.join("good.png"), 1)?;
    std::fs::write(class.join("empty.jpg"), b"")?;
    std::fs::write(class.join("text.jpg"), b"hello")?;
    std::fs::write(class.join("bomb.png"), png_header(30_000))?;
    let jpeg = jpeg_bytes()?;
    std::fs::write(class.join("cut.jpg"), &jpeg[..jpeg.len() / 3])?;
    let report = check(dir.path(), &CheckOptions::default())?;
    assert_eq!(report.usable.len(), 1);
    let row = &report.classes[0];
    assert_eq!((row.files, row.usable, row.unreadable), (5, 1, 4));
    let mut kinds: Vec<ProblemKind> = report.problems.iter().map(|p| p.kind).collect();
    kinds.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(
        kinds,
        [
            ProblemKind::EmptyFile,
            ProblemKind::NotAnImage,
            ProblemKind::TooLarge,
            ProblemKind::Truncated
        ]
    );
    Ok(())
}

#[test]
fn the_loader_names_a_file_that_fails_to_decode() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("Siamese"))?;
    std::fs::write(
        dir.path().join("Siamese/broken.png"),
        b"\x89PNG\r\n\x1a\nrubbish",
    )?;
    let ds = image_folder(dir.path(), &ImageFolderOptions::default())?;
    let cfg = LoaderConfig {
        batch_size: 1,
        image_size: 16,
        ..LoaderConfig::default()
    };
    let mut loader = Loader::new(Source::Files(ds), cfg)?;
    let msg = loader.next_batch().unwrap_err().to_string();
    assert!(msg.contains("broken.png") && msg.contains("fix"), "{msg}");
    Ok(())
}
