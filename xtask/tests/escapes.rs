//! The verify-docs engine against the escapes once found in it: a wrong page that passed.
//! Each test injects one and expects the exact problem (where it is and how to fix it).

mod common;

use std::fs;
use std::path::Path;

use common::*;
use xtask::verify::{self, Project, VerifyArgs, problems::Problem};

/// The book's own picture of every breed, a colourful real case for the colour tests.
fn all_breeds() -> image::RgbImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src/images/02_conditional_generation/all_breeds.png");
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// A project whose example writes `new` while the book holds `committed`.
fn with_images(committed: &image::RgbImage, new: &image::RgbImage) -> Fixture {
    let (f, shown) = with_image(gradient, gradient);
    committed.save(&shown).unwrap();
    new.save(f.root().join("new.png")).unwrap();
    f
}

fn hue_rotated(img: &image::RgbImage, degrees: f32) -> image::RgbImage {
    use palette::{FromColor, Hsv, RgbHue, Srgb};
    image::RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y).0;
        let mut hsv = Hsv::from_color(Srgb::new(p[0], p[1], p[2]).into_format::<f32>());
        hsv.hue = RgbHue::from_degrees(hsv.hue.into_degrees() + degrees);
        let rgb: Srgb<u8> = Srgb::from_color(hsv).into_format();
        image::Rgb([rgb.red, rgb.green, rgb.blue])
    })
}

#[test]
fn an_image_turned_grey_is_caught() {
    let img = all_breeds();
    let grey = image::DynamicImage::ImageRgb8(img.clone())
        .grayscale()
        .to_rgb8();
    let f = with_images(&img, &grey);
    let p = one_problem(
        &f.verify(),
        &[
            "differs from book/src/images/ex/plot.png beyond tolerance",
            "its colours changed",
            "ΔE",
            "--update",
        ],
    );
    assert_eq!(p.location, "ex/plot.png");
}

#[test]
fn an_image_with_its_hues_rotated_is_caught() {
    let img = all_breeds();
    for degrees in [30.0, 60.0, 90.0] {
        let f = with_images(&img, &hue_rotated(&img, degrees));
        one_problem(&f.verify(), &["beyond tolerance"]);
    }
}

#[test]
fn an_image_with_float_noise_in_its_colours_passes() {
    // ±1 in a few channels here and there: what another CPU's rounding does.
    let img = all_breeds();
    let noisy = image::RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let mut p = img.get_pixel(x, y).0;
        let k = ((x * 7 + y * 13) % 17) as usize;
        if k < 3 {
            p[k] = if p[k] == 255 { 254 } else { p[k] + 1 };
        }
        image::Rgb(p)
    });
    let problems = with_images(&img, &noisy).verify();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The healthy chapter with `extra` appended.
fn healthy_with(extra: &str) -> Fixture {
    let f = healthy();
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&format!("{md}\n{extra}"));
    f
}

/// The last line holding `needle` in the healthy chapter with `extra` appended.
fn line_of(f: &Fixture, needle: &str) -> usize {
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    let lines: Vec<&str> = md.lines().collect();
    lines.iter().rposition(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn rust_hidden_in_a_list_item_a_quote_or_a_footnote_is_caught() {
    for (extra, needle) in [
        (
            "Steps:\n\n1. First:\n\n   ```rust\n   fn pasted() {}\n   ```\n",
            "```rust",
        ),
        (
            "> Quoted:\n>\n> ```rust\n> fn pasted() {}\n> ```\n",
            "> ```rust",
        ),
        (
            "Note.[^1]\n\n[^1]: See:\n\n    ```rust\n    fn pasted() {}\n    ```\n",
            "```rust",
        ),
    ] {
        let f = healthy_with(extra);
        let p = one_problem(
            &f.verify(),
            &[
                "pasted Rust code",
                "{{#include ../../examples/FILE.rs:name}}",
            ],
        );
        assert_eq!(
            p.location,
            format!("book/src/ch.md:{}", line_of(&f, needle)),
            "{extra}"
        );
    }
}

#[test]
fn rust_as_raw_html_is_caught() {
    let f =
        healthy_with("Raw:\n\n<pre><code class=\"language-rust\">fn pasted() {}</code></pre>\n");
    let p = one_problem(&f.verify(), &["raw HTML", "Markdown code block"]);
    assert_eq!(
        p.location,
        format!("book/src/ch.md:{}", line_of(&f, "<pre>"))
    );
}

#[test]
fn playground_and_rustdoc_include_are_caught() {
    for directive in [
        "{{#playground ../../examples/ex.rs}}",
        "{{#rustdoc_include ../../examples/ex.rs:main}}",
    ] {
        for (extra, offset) in [
            (format!("Whole file:\n\n{directive}\n"), 0),
            // A block's problems point at its fence.
            (format!("In a block:\n\n```rust\n{directive}\n```\n"), 1),
        ] {
            let f = healthy_with(&extra);
            let p = one_problem(
                &f.verify(),
                &[
                    "verify-docs does not check",
                    "{{#include ../../examples/FILE.rs:anchor}}",
                ],
            );
            assert_eq!(
                p.location,
                format!("book/src/ch.md:{}", line_of(&f, directive) - offset),
                "{extra}"
            );
        }
    }
}

#[test]
fn a_rust_include_outside_a_rust_block_is_caught() {
    let f = healthy_with("As text:\n\n```text\n{{#include ../../examples/ex.rs:main}}\n```\n");
    let p = one_problem(
        &f.verify(),
        &["outside a ```rust block", "only line of a ```rust block"],
    );
    assert_eq!(
        p.location,
        format!("book/src/ch.md:{}", line_of(&f, "```text") + 1)
    );
}

#[test]
fn an_indented_code_block_is_caught() {
    let f = healthy_with("Indented:\n\n    fn pasted() {}\n");
    let p = one_problem(&f.verify(), &["without a language", "```text"]);
    assert_eq!(
        p.location,
        format!("book/src/ch.md:{}", line_of(&f, "    fn pasted"))
    );
}

#[test]
fn a_fence_spelt_with_capitals_is_rust() {
    for fence in ["Rust", "RUST", "rust,ignore", "{.rust}", "no_run"] {
        let f = healthy_with(&format!("Shouting:\n\n```{fence}\nfn pasted() {{}}\n```\n"));
        one_problem(&f.verify(), &["pasted Rust code"]);
    }
}

#[test]
fn insta_variables_in_the_environment_turn_nothing_off() {
    let f = healthy();
    f.snapshot("ex", "main", "hello 41");
    let snap = f.root().join("book/outputs/ex/main.snap");
    let before = fs::read(&snap).unwrap();
    // SAFETY: the variables are read by insta only, which verify-docs no longer asks whether
    // a check passes; other tests in this process cannot be misled by them.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("INSTA_FORCE_PASS", "1");
        std::env::set_var("INSTA_UPDATE", "always");
    }
    let problems = f.verify();
    #[allow(unsafe_code)]
    unsafe {
        std::env::remove_var("INSTA_FORCE_PASS");
        std::env::remove_var("INSTA_UPDATE");
    }
    let p = one_problem(
        &problems,
        &["stale snapshot", "`41` became `42`", "--update"],
    );
    assert_eq!(p.location, "book/outputs/ex/main.snap");
    assert_eq!(fs::read(&snap).unwrap(), before, "a check must not rewrite");
}

#[test]
fn a_chapter_missing_from_summary_is_caught_and_counts_for_nothing() {
    let f = healthy();
    // The only chapter that shows the anchor `extra` is not published.
    f.example(
        "ex",
        &["main", "extra"],
        &format!("echo '{MARK} main'; echo 'hello 42'"),
    );
    fs::write(
        f.root().join("book/src/draft.md"),
        format!("# Draft\n\nMore.\n\n{}", include("extra")),
    )
    .unwrap();
    let problems = f.verify();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 2, "{text:#?}");
    assert!(
        text[0]
            .starts_with("book/src/draft.md:1: a chapter that book/src/SUMMARY.md does not list")
            && text[0].contains("- [Title](draft.md)"),
        "{text:#?}"
    );
    assert!(
        text[1].starts_with("examples/ex.rs:7: anchor `extra` is shown in no chapter"),
        "{text:#?}"
    );
}

#[test]
fn a_link_out_of_the_built_book_is_caught() {
    let site = tempfile::tempdir().unwrap();
    let book = site.path().join("book/build");
    fs::create_dir_all(&book).unwrap();
    fs::create_dir_all(site.path().join("examples")).unwrap();
    fs::write(site.path().join("examples/x.rs"), "fn main() {}").unwrap();
    fs::write(book.join("other.html"), "<p>ok</p>").unwrap();
    fs::write(
        book.join("index.html"),
        "<a href=\"other.html\">in</a> <a href=\"../../examples/x.rs\">out</a>",
    )
    .unwrap();
    let mut problems = Vec::new();
    let checked = verify::links::check(&book, &mut problems).unwrap();
    assert_eq!(checked, 2);
    let p = one_problem(
        &problems,
        &[
            "`../../examples/x.rs` points outside the built book",
            "404s on the hosted book",
            "https://",
        ],
    );
    assert_eq!(p.location, "book/build/index.html");
}

#[test]
fn a_grandchild_left_running_is_caught_and_does_not_hang() {
    let f = healthy();
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo 'hello 42'; sleep 60 &"),
    );
    let started = std::time::Instant::now();
    let p = one_problem(
        &f.verify(),
        &[
            "exited while processes it started were still running",
            "Child::wait",
        ],
    );
    assert_eq!(p.location, "examples/ex.rs");
    assert!(
        started.elapsed().as_secs() < 20,
        "verify-docs waited for the grandchild"
    );
}

#[test]
fn a_grandchild_that_leaves_the_group_does_not_hang() {
    let f = healthy();
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo 'hello 42'; setsid sleep 60 &"),
    );
    let started = std::time::Instant::now();
    let problems = f.verify();
    assert!(
        started.elapsed().as_secs() < 20,
        "verify-docs waited for the grandchild"
    );
    one_problem(
        &problems,
        &["exited while processes it started were still running"],
    );
}

/// `--update` on the fixture.
fn update(f: &Fixture) -> Vec<Problem> {
    f.verify_with(VerifyArgs {
        update: true,
        jobs: Some(1),
        ..Default::default()
    })
}

#[test]
fn update_accepts_a_deterministic_change() {
    let f = healthy();
    f.snapshot("ex", "main", "hello 41");
    let problems = update(&f);
    assert!(problems.is_empty(), "{problems:#?}");
    let text = fs::read_to_string(f.root().join("book/outputs/ex/main.snap")).unwrap();
    assert!(text.ends_with("\nhello 42\n"), "{text}");
}

#[test]
fn update_refuses_nondeterministic_output() {
    let f = healthy();
    f.snapshot("ex", "main", "hello 41");
    let snap = f.root().join("book/outputs/ex/main.snap");
    let before = fs::read(&snap).unwrap();
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo \"hello $(od -An -N4 -tu4 /dev/urandom)\""),
    );
    let p = one_problem(
        &update(&f),
        &[
            "nondeterministic output",
            "step `main`",
            "seed every random generator",
        ],
    );
    assert_eq!(p.location, "book/outputs/ex/main.snap");
    assert_eq!(fs::read(&snap).unwrap(), before, "nothing written");
}

#[test]
fn a_crash_on_the_second_run_is_a_crash() {
    let f = healthy();
    f.snapshot("ex", "main", "hello 41");
    let seen = f.root().join("ran-once");
    f.example(
        "ex",
        &["main"],
        &format!(
            "echo '{MARK} main'; echo 'hello 42'; if [ -e {0} ]; then echo boom >&2; exit 3; fi; touch {0}",
            seen.display()
        ),
    );
    let p = one_problem(
        &f.verify(),
        &[
            "passed once, then",
            "exited with exit status: 3",
            "boom",
            "comes and goes",
        ],
    );
    assert_eq!(p.location, "examples/ex.rs");
}

#[test]
fn a_declared_tolerance_is_honoured_and_shown_when_exceeded() {
    let f = healthy();
    let example = |value: &str| {
        f.example(
            "ex",
            &["main"],
            &format!("echo '{MARK} main'; echo '@@tinycats-tolerance rel=0 abs=0.5'; echo 'coat {value}%'"),
        );
    };
    f.snapshot("ex", "main", "coat 30.3%");
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&md);
    example("30.8");
    assert!(f.verify().is_empty(), "within abs 0.5 + 0.1");
    example("22.0");
    one_problem(
        &f.verify(),
        &[
            "`30.3` became `22.0`",
            "absolute 0.5",
            "one unit of the last printed digit",
        ],
    );
    example("30.3");
    // A strict step is strict.
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo 'coat 30.8%'"),
    );
    one_problem(&f.verify(), &["`30.3` became `30.8`", "relative 1e-3"]);
}

#[test]
fn an_orphan_image_is_caught_even_when_every_example_is_cached() {
    let f = healthy();
    let project = Project::self_contained(f.root().canonicalize().unwrap());
    let args = VerifyArgs {
        no_book: true,
        root: Some(f.root().to_path_buf()),
        prebuilt: Some(f.root().join("bin")),
        ..Default::default()
    };
    let mut problems = Vec::new();
    verify::verify(&project, &args, &mut problems).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    // Now cached; an image of no example's that no chapter shows.
    write_png(&f.root().join("book/src/images/gone/old.png"), gradient);
    verify::verify(&project, &args, &mut problems).unwrap();
    let p = one_problem(
        &problems,
        &[
            "an example's image that no chapter shows",
            "images/gone/old.png",
        ],
    );
    assert_eq!(p.location, "book/src/images/gone/old.png");
}
