//! The verify-docs engine on small fixture projects: each fault it must catch, caught with a
//! message that says what to do. The fixtures' "examples" are shell scripts standing in for
//! built binaries (`--prebuilt`), so these tests need neither cargo builds nor libtorch.

mod common;

use std::fs;

use common::*;
use xtask::verify::{self, Project, VerifyArgs};

#[test]
fn a_healthy_project_passes() {
    let problems = healthy().verify();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn pasted_code_is_caught() {
    let f = healthy();
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&format!(
        "{md}\nAnd then:\n\n```rust\nfn pasted() {{}}\n```\n"
    ));
    let p = one_problem(
        &f.verify(),
        &[
            "pasted Rust code",
            "ANCHOR: name",
            "{{#include ../../examples/FILE.rs:name}}",
        ],
    );
    assert!(p.location.starts_with("book/src/ch.md:"), "{p}");
}

#[test]
fn a_missing_anchor_is_caught_with_the_known_ones() {
    let f = healthy();
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&format!("{md}\nMore:\n\n{}", include("nope")));
    let p = one_problem(
        &f.verify(),
        &["anchor `nope` does not exist in examples/ex.rs", "main"],
    );
    assert_eq!(p.location, "book/src/ch.md:15");
}

#[test]
fn an_unused_anchor_is_caught() {
    let f = healthy();
    f.example(
        "ex",
        &["main", "extra"],
        &format!("echo '{MARK} main'; echo 'hello 42'"),
    );
    one_problem(
        &f.verify(),
        &[
            "examples/ex.rs:7",
            "anchor `extra` is shown in no chapter",
            "{{#include ../../examples/ex.rs:extra}}",
        ],
    );
}

#[test]
fn an_example_no_chapter_uses_is_caught() {
    let f = healthy();
    f.example("lonely", &["a"], "true");
    one_problem(&f.verify(), &["example `lonely` is used by no chapter"]);
}

#[test]
fn examples_numbered_out_of_the_books_reading_order_are_caught() {
    // Two chapters, read in SUMMARY.md's order: `02_later` first, then `01_sooner`.
    let f = Fixture::new();
    for (name, word) in [("01_sooner", "one"), ("02_later", "two")] {
        f.example(
            name,
            &["main"],
            &format!("echo '{MARK} main'; echo '{word}'"),
        );
        f.snapshot(name, "main", word);
    }
    let chapter = |name: &str| {
        format!(
            "# {name}\n\nWe count.\n\n```rust\n{{{{#include ../../examples/{name}.rs:main}}}}\n```\n{}",
            f.output_include(name, "main")
        )
    };
    fs::write(f.root().join("book/src/ch.md"), chapter("02_later")).unwrap();
    fs::write(f.root().join("book/src/ch2.md"), chapter("01_sooner")).unwrap();
    let summary = f.root().join("book/src/SUMMARY.md");
    fs::write(
        &summary,
        "# Summary\n\n- [Later](ch.md)\n- [Sooner](ch2.md)\n",
    )
    .unwrap();
    one_problem(
        &f.verify(),
        &[
            "book/src/ch2.md:5",
            "example `01_sooner` is numbered 01, but the book reads it after `02_later` (first shown at book/src/ch.md:5)",
            "renumber the examples",
        ],
    );
    // Read in their numbers' order, the same two chapters pass.
    fs::write(
        &summary,
        "# Summary\n\n- [Sooner](ch2.md)\n- [Later](ch.md)\n",
    )
    .unwrap();
    let problems = f.verify();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_prose_figure_no_step_printed_is_caught_by_line() {
    // The healthy example prints `hello 42`; its chapter's prose may quote it.
    let f = healthy();
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&format!("{md}\nThe step took 42 s.\n"));
    assert!(f.verify().is_empty());
    f.chapter(&format!("{md}\nThe step took 41.5 s.\n"));
    let p = one_problem(
        &f.verify(),
        &["`41.5 s` in the prose is printed by none of this chapter's steps"],
    );
    assert_eq!(
        p.location,
        format!("book/src/ch.md:{}", md.lines().count() + 2)
    );
    // Marked as coming from a file of the project, it must be in that file.
    fs::write(f.root().join("run.toml"), "seconds = 41.5\n").unwrap();
    f.chapter(&format!(
        "{md}\nThe step took 41.5 s <!-- numbers: run.toml -->.\n"
    ));
    assert!(f.verify().is_empty());
}

#[test]
fn a_generated_page_with_source_text_or_a_broken_table_is_caught() {
    let f = healthy();
    fs::write(
        f.root().join("book/src/SUMMARY.md"),
        "# Summary\n\n- [Chapter](ch.md)\n- [Speed](speed.md)\n",
    )
    .unwrap();
    let page = format!(
        "{} -->\n# Speed\n\nMeasured by\n\n```console\ncargo bench\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        verify::generated::MARK
    );
    fs::write(f.root().join("book/src/speed.md"), &page).unwrap();
    assert!(f.verify().is_empty(), "{:#?}", f.verify());
    let broken = page.replace("| 1 | 2 |", "| 1 |\ndef one_cat(model):");
    fs::write(f.root().join("book/src/speed.md"), broken).unwrap();
    let problems = f.verify();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("book/src/speed.md:12: a table row with 1 cells")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("book/src/speed.md:13: text from a source file")),
        "{text:#?}"
    );
}

#[test]
fn a_crate_example_is_included_run_and_checked_like_a_file_example() {
    let f = healthy();
    f.crate_example(
        "my-crate",
        &["hello", "extra"],
        &format!("echo '{MARK} hello'; echo 'from my crate'"),
    );
    f.snapshot("my-crate", "hello", "from my crate");
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&format!(
        "{md}\nA crate of its own:\n\n```rust\n{{{{#include ../../examples/my-crate/src/main.rs:hello}}}}\n```\n\n{}",
        f.output_include("my-crate", "hello")
    ));
    // Its sources are found by their own path; the unused anchor is named there.
    one_problem(
        &f.verify(),
        &[
            "examples/my-crate/src/main.rs:6",
            "anchor `extra` is shown in no chapter",
        ],
    );
    // Its output is compared with its snapshot like any example's.
    f.crate_example(
        "my-crate",
        &["hello"],
        &format!("echo '{MARK} hello'; echo 'something else'"),
    );
    one_problem(&f.verify(), &["my-crate", "hello"]);
}

#[test]
fn an_example_split_into_modules_is_read_from_its_folder() {
    use std::os::unix::fs::PermissionsExt;
    let f = healthy();
    let dir = f.root().join("examples/split_ex");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("main.rs"),
        "//! fixture\n// verify-docs: timeout_s = 5\nmod helpers;\nfn main() {\n    // ANCHOR: hello\n    helpers::hello();\n    // ANCHOR_END: hello\n}\n",
    )
    .unwrap();
    fs::write(
        dir.join("helpers.rs"),
        "pub fn hello() {\n    println!(\"from a module\");\n}\n",
    )
    .unwrap();
    let runs = f.root().join("runs.txt");
    let bin = f.root().join("bin/split_ex");
    fs::write(
        &bin,
        format!(
            "#!/bin/sh\necho x >> {}\necho '{MARK} hello'; echo 'from a module'\n",
            runs.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    f.snapshot("split_ex", "hello", "from a module");
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&format!(
        "{md}\nFrom a module:\n\n```rust\n{{{{#include ../../examples/split_ex/main.rs:hello}}}}\n```\n\n{}",
        f.output_include("split_ex", "hello")
    ));
    let run = || {
        let problems = f.verify_with(VerifyArgs {
            jobs: Some(1),
            ..Default::default()
        });
        assert!(problems.is_empty(), "{problems:#?}");
        fs::read_to_string(&runs).unwrap().lines().count()
    };
    assert_eq!(run(), 1);
    assert_eq!(run(), 1, "unchanged: skipped");
    // A sibling module is one of its inputs.
    fs::write(
        dir.join("helpers.rs"),
        "pub fn hello() {\n    println!(\"from a module\"); // changed\n}\n",
    )
    .unwrap();
    assert_eq!(run(), 2, "its module changed: rerun");
    // An anchor may sit in a sibling file, and is looked up in the file the chapter names.
    fs::write(
        dir.join("helpers.rs"),
        "// ANCHOR: helper\npub fn hello() {\n    println!(\"from a module\");\n}\n// ANCHOR_END: helper\n",
    )
    .unwrap();
    let with = |include: &str| {
        f.chapter(&format!(
            "{md}\nFrom a module:\n\n```rust\n{{{{#include ../../examples/split_ex/main.rs:hello}}}}\n```\n\n{}\nThe helper:\n\n```rust\n{{{{#include ../../examples/split_ex/{include}}}}}\n```\n",
            f.output_include("split_ex", "hello")
        ));
        f.verify()
    };
    let problems = with("helpers.rs:helper");
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = with("helpers.rs:hello");
    assert!(
        problems.iter().any(|p| {
            let t = p.to_string();
            t.contains("anchor `hello` does not exist in examples/split_ex/helpers.rs")
                && t.contains("use one of: helper")
        }),
        "{problems:#?}"
    );
}

#[test]
fn an_example_file_longer_than_the_limit_is_caught() {
    let f = healthy();
    let src = f.root().join("examples/ex.rs");
    let long = fs::read_to_string(&src).unwrap() + &"// more\n".repeat(400);
    fs::write(&src, long).unwrap();
    one_problem(
        &f.verify(),
        &[
            "examples/ex.rs:1",
            "more than the 400",
            "examples/ex/main.rs",
        ],
    );
}

#[test]
fn a_file_example_named_like_a_crate_is_refused() {
    let f = healthy();
    f.example("my-example", &["a"], "true");
    let project = Project::self_contained(f.root().to_path_buf());
    let err = xtask::verify::chapters::read_examples(&project).unwrap_err();
    assert!(err.to_string().contains("use `_`, not `-`"), "{err}");
}

#[test]
fn code_without_prose_before_it_is_caught() {
    let f = healthy();
    let md = format!(
        "# Chapter\n\n{}\n{}",
        include("main"),
        f.output_include("ex", "main")
    );
    f.chapter(&md);
    one_problem(
        &f.verify(),
        &[
            "book/src/ch.md:3",
            "no prose before it",
            "prose before every code block",
        ],
    );
}

#[test]
fn output_not_under_its_code_is_caught() {
    let f = healthy();
    let md = format!(
        "# Chapter\n\nWe greet.\n\n{}\nIn between.\n\n{}",
        include("main"),
        f.output_include("ex", "main")
    );
    f.chapter(&md);
    one_problem(
        &f.verify(),
        &["is not right under the code block", "examples/ex.rs:main"],
    );
}

#[test]
fn output_the_chapter_does_not_show_is_caught() {
    let f = healthy();
    f.chapter(&format!("# Chapter\n\nWe greet.\n\n{}", include("main")));
    one_problem(
        &f.verify(),
        &[
            "step `main` prints output that no chapter shows",
            "```text",
            "main.snap:5:",
        ],
    );
}

#[test]
fn a_stale_snapshot_is_caught() {
    let f = healthy();
    f.snapshot("ex", "main", "hello 41");
    one_problem(
        &f.verify(),
        &[
            "book/outputs/ex/main.snap",
            "stale snapshot",
            "cargo xtask verify-docs --update",
        ],
    );
}

#[test]
fn nondeterministic_output_is_told_apart_from_a_stale_snapshot() {
    let f = healthy();
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo \"hello $(od -An -N4 -tu4 /dev/urandom)\""),
    );
    one_problem(
        &f.verify(),
        &[
            "nondeterministic output",
            "step `main`",
            "seed every random generator",
        ],
    );
}

#[test]
fn normalised_parts_do_not_count_as_differences() {
    let f = healthy();
    f.example("ex", &["main"], &format!("echo '{MARK} main'; echo \"hello 42 in $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') ms\""));
    f.snapshot("ex", "main", "hello 42 in <time>");
    assert!(f.verify().is_empty());
}

#[test]
fn a_panicking_example_is_reported_with_its_step_and_stderr() {
    let f = healthy();
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo \"thread 'main' panicked at examples/ex.rs:3:5: breed index 99 out of range\" >&2; exit 101"),
    );
    one_problem(
        &f.verify(),
        &[
            "exited with exit status: 101",
            "in step `main`",
            "breed index 99 out of range",
            "cargo run --release --example ex",
        ],
    );
}

#[test]
fn a_hanging_example_is_killed_at_its_timeout() {
    let f = healthy();
    f.example("ex", &["main"], &format!("echo '{MARK} main'; sleep 30"));
    let src = fs::read_to_string(f.root().join("examples/ex.rs"))
        .unwrap()
        .replace("timeout_s = 5", "timeout_s = 1");
    fs::write(f.root().join("examples/ex.rs"), src).unwrap();
    let started = std::time::Instant::now();
    one_problem(
        &f.verify(),
        &["did not finish within its 1 s timeout", "timeout_s = N"],
    );
    assert!(
        started.elapsed().as_secs() < 10,
        "the hang was not cut short"
    );
}

#[test]
fn an_image_within_tolerance_passes_and_is_not_rewritten() {
    // Float noise: a few pixels off by one.
    let (f, shown) = with_image(gradient, |x, y| {
        let mut p = gradient(x, y);
        if (x + y) % 17 == 0 {
            p[2] += 1;
        }
        p
    });
    let before = fs::read(&shown).unwrap();
    assert!(f.verify().is_empty());
    assert_eq!(fs::read(&shown).unwrap(), before);
}

#[test]
fn an_image_changed_beyond_tolerance_is_caught() {
    let (f, _) = with_image(gradient, |x, y| [255 - (x * 4) as u8, (y * 4) as u8, 0]);
    one_problem(
        &f.verify(),
        &[
            "differs from book/src/images/ex/plot.png beyond tolerance",
            "--update",
        ],
    );
}

#[test]
fn a_missing_and_an_orphan_image_are_caught() {
    let (f, shown) = with_image(gradient, gradient);
    fs::rename(&shown, shown.with_file_name("old.png")).unwrap();
    let problems = f.verify();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("image `images/ex/plot.png` does not exist")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.contains("the book does not have")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("orphan image") && t.contains("old.png")),
        "{text:#?}"
    );
}

#[test]
fn a_wrong_snapshot_include_offset_is_caught() {
    let f = healthy();
    let md = fs::read_to_string(f.root().join("book/src/ch.md"))
        .unwrap()
        .replace("main.snap:5:", "main.snap:2:");
    f.chapter(&md);
    one_problem(
        &f.verify(),
        &["does not skip exactly the snapshot header", "main.snap:5:"],
    );
}

#[test]
fn an_unchanged_example_is_skipped_until_its_inputs_change() {
    let f = healthy();
    let count = f.root().join("runs.txt");
    f.example(
        "ex",
        &["main"],
        &format!(
            "echo x >> {}; echo '{MARK} main'; echo 'hello 42'",
            count.display()
        ),
    );
    let project = Project::self_contained(f.root().canonicalize().unwrap());
    let run_with = |force: bool, isa: Option<&str>| {
        let args = VerifyArgs {
            force,
            no_book: true,
            isa: isa.map(str::to_owned),
            root: Some(f.root().to_path_buf()),
            prebuilt: Some(f.root().join("bin")),
            ..Default::default()
        };
        let mut problems = Vec::new();
        verify::verify(&project, &args, &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:#?}");
        fs::read_to_string(&count).unwrap().lines().count()
    };
    let run = |force: bool| run_with(force, None);
    assert_eq!(run(false), 1);
    assert_eq!(run(false), 1, "unchanged: skipped");
    let src = f.root().join("examples/ex.rs");
    fs::write(&src, fs::read_to_string(&src).unwrap() + "// changed\n").unwrap();
    assert_eq!(run(false), 2, "its source changed: rerun");
    assert_eq!(run(false), 2);
    assert_eq!(run(true), 3, "--force reruns");
    let ch = f.root().join("book/src/ch.md");
    fs::write(
        &ch,
        fs::read_to_string(&ch).unwrap() + "\nA closing word.\n",
    )
    .unwrap();
    assert_eq!(run(false), 4, "a chapter changed: rerun");
    assert_eq!(run_with(false, Some("avx2")), 5, "other CPU kernels: rerun");
    assert_eq!(run_with(false, Some("avx2")), 5);
    assert_eq!(run(false), 6, "back to this CPU's kernels: rerun");
}

/// The healthy project's example as a chaotic step: prints `text`, declares one stable value
/// `top-1 % = value` (±5) and one claim, and a committed stable record of 60.0.
fn chaotic(text: &str, value: f64, claim: &str) -> Fixture {
    let f = healthy();
    f.example(
        "ex",
        &["main"],
        &format!(
            "echo '{MARK} main'; echo '@@tinycats-chaotic training is chaotic'; echo '{text}'; \
             echo '@@tinycats-stable rel=0e0 abs=5e0 top-1 % = {value:.4}'; \
             echo '@@tinycats-claim {claim} augmentation helps'"
        ),
    );
    f.stable_record(
        "ex",
        "main",
        "top-1 % = 60.0000   (tolerance: absolute 5)\nclaim: augmentation helps",
    );
    f
}

#[test]
fn a_chaotic_step_is_shown_as_committed_and_checked_by_its_stable_values() {
    // Other lines than the committed "hello 42", a value within ±5: passes, nothing rewritten.
    let f = chaotic(
        "step 20 loss 1.23\nearly stopping at step 160",
        63.0,
        "holds",
    );
    let before = fs::read(f.root().join("book/outputs/ex/main.snap")).unwrap();
    let problems = f.verify();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        fs::read(f.root().join("book/outputs/ex/main.snap")).unwrap(),
        before
    );
}

#[test]
fn a_chaotic_step_s_value_beyond_its_tolerance_is_caught() {
    let f = chaotic("hello 42", 66.0, "holds");
    one_problem(
        &f.verify(),
        &[
            "book/outputs/ex/stable/main.snap",
            "beyond",
            "60.0000",
            "66.0000",
            "widen its tolerance",
        ],
    );
}

#[test]
fn a_claim_the_run_contradicts_is_caught() {
    let f = chaotic("hello 42", 60.0, "FAILS");
    one_problem(
        &f.verify(),
        &["contradicts the chapter's claim \"augmentation helps\""],
    );
}

#[test]
fn a_chaotic_step_that_declares_nothing_stable_is_caught() {
    let f = healthy();
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo '@@tinycats-chaotic because'; echo 'hello 42'"),
    );
    one_problem(
        &f.verify(),
        &["declares nothing stable", "tinycats_notebook::stable"],
    );
}

#[test]
fn a_chaotic_image_is_compared_by_structure_not_pixels() {
    // A "curve" (a dark line) that runs a few pixels higher: beyond the pixel tolerance,
    // within the structure test.
    let curve = |shift: u32| {
        move |x: u32, y: u32| {
            let at = 40 - x / 4 + shift;
            if y == at || y == at + 1 {
                [30, 60, 200]
            } else {
                [255, 255, 255]
            }
        }
    };
    let (f, _) = with_image(curve(0), curve(3));
    assert!(
        !f.verify().is_empty(),
        "pixel by pixel, the moved curve differs"
    );
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    let script = format!(
        "echo '{MARK} main'; echo 'hello 42'; cp {}/new.png \"$TINYCATS_OUT_DIR/plot.png\"; \
         echo '@@tinycats-chaotic-image plot.png curves of a chaotic run'",
        f.root().display()
    );
    f.example("ex", &["main"], &script);
    f.chapter(&md);
    let problems = f.verify();
    assert!(problems.is_empty(), "{problems:#?}");

    // The curve gone: caught.
    write_png(&f.root().join("new.png"), |_, _| [255, 255, 255]);
    one_problem(&f.verify(), &["plot.png", "a curve or label is lost"]);

    // The frame (the figure's grey skeleton) moved: caught, although the curve is the same.
    let framed = |at: u32| {
        move |x: u32, y: u32| {
            if x == at || y == at || x == 63 - at || y == 63 - at {
                [60, 60, 60]
            } else {
                curve(0)(x, y)
            }
        }
    };
    write_png(&f.root().join("book/src/images/ex/plot.png"), framed(4));
    write_png(&f.root().join("new.png"), framed(8));
    one_problem(&f.verify(), &["plot.png", "its layout changed"]);
}

#[test]
fn a_chaotic_image_whose_text_changed_is_caught() {
    // The structure test lets a relabelled legend through (a few letters are a small share of
    // a figure's skeleton); the text the example declares with the image does not.
    let plain = |_: u32, _: u32| [255, 255, 255];
    let (f, _) = with_image(plain, plain);
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    let example = |label: &str| {
        format!(
            "echo '{MARK} main'; echo 'hello 42'; cp {}/new.png \"$TINYCATS_OUT_DIR/plot.png\"; \
             echo '@@tinycats-chaotic-image plot.png curves of a chaotic run'; \
             printf '@@tinycats-image-text plot.png\\tloss\\t{label}\\n'",
            f.root().display()
        )
    };
    f.example("ex", &["main"], &example("as rendered: val"));
    f.chapter(&md);
    f.stable_record("ex", "main", "text of plot.png: loss | as rendered: val");
    let problems = f.verify();
    assert!(problems.is_empty(), "{problems:#?}");

    f.example("ex", &["main"], &example("as rendered: validation"));
    one_problem(
        &f.verify(),
        &[
            "book/outputs/ex/stable/main.snap",
            "the text plot.png writes changed",
            "as rendered: validation",
        ],
    );
}

#[test]
fn a_shown_line_that_mdbook_would_hide_is_caught() {
    // A TOML comment in a string, at the start of a line: in a Rust block mdBook takes it
    // for a hidden line, so the reader would not see it.
    let f = healthy();
    let src = f.root().join("examples/ex.rs");
    let with = |comment: &str| {
        let text = fs::read_to_string(&src).unwrap().replace(
            "    println!(\"main\");\n",
            &format!("    let toml = r#\"\n{comment} fp32 on every CPU\nbf16 = false\n\"#;\n    println!(\"main {{toml}}\");\n"),
        );
        fs::write(&src, text).unwrap();
    };
    let original = fs::read_to_string(&src).unwrap();
    with("#");
    one_problem(
        &f.verify(),
        &[
            "examples/ex.rs:6 is in `main`",
            "mdBook hides it",
            "# fp32 on every CPU",
            "write `##`",
        ],
    );
    fs::write(&src, original).unwrap();
    with("##");
    let problems = f.verify();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_shown_line_wider_than_the_code_column_is_caught() {
    let f = healthy();
    let src = f.root().join("examples/ex.rs");
    let original = fs::read_to_string(&src).unwrap();
    let wide = format!("    println!(\"main {}\");\n", "é".repeat(59));
    assert_eq!(wide.trim_end().chars().count(), 81);
    fs::write(&src, original.replace("    println!(\"main\");\n", &wide)).unwrap();
    one_problem(
        &f.verify(),
        &[
            "`main` shows 1 line(s) wider than the book's 80-character code column",
            "examples/ex.rs:5 (81 characters)",
            "examples/rustfmt.toml",
        ],
    );
    // 80 characters fit, however many bytes they take.
    let fits = format!("    println!(\"main {}\");\n", "é".repeat(58));
    fs::write(&src, original.replace("    println!(\"main\");\n", &fits)).unwrap();
    let problems = f.verify();
    assert!(problems.is_empty(), "{problems:#?}");
}
