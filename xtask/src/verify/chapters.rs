//! Code provenance: every Rust block of the book is an include of an anchor of an example,
//! prose comes before every code block, each step's output sits under its code, and every
//! image a chapter shows exists.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result};
use pulldown_cmark::{Event, Parser, Tag};
use regex::Regex;

use super::Project;
use super::markdown::{Block, BlockKind, INCLUDE, Parsed, is_rust, normalize, parse_blocks};
use super::problems::Problem;

/// One example source file and its anchors.
#[derive(Debug, Clone)]
pub struct ExampleSource {
    pub name: String,
    pub path: PathBuf,
    /// For a crate example (`examples/<name>/` with its own `Cargo.toml`, built as the
    /// package `<name>`): its folder. `None` for an `examples/<name>.rs` of the root package.
    pub crate_dir: Option<PathBuf>,
    /// For an example of the root package split into modules (`examples/<name>/main.rs` and
    /// its sibling files, which cargo builds as the example `<name>`): its folder. Its
    /// anchors may sit in any of its `.rs` files.
    pub module_dir: Option<PathBuf>,
    /// anchor name → where its `// ANCHOR:` line is
    pub anchors: BTreeMap<String, Anchor>,
}

/// Where an anchor starts: its file and the line of its `// ANCHOR:` (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub file: PathBuf,
    pub line: usize,
}

/// A Rust code block that includes an example's anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeInclude {
    pub chapter: PathBuf,
    pub line: usize,
    pub example: String,
    pub anchor: String,
}

/// What the chapters show, for the run-time checks.
#[derive(Debug, Default)]
pub struct BookIndex {
    pub includes: Vec<CodeInclude>,
    /// (example, step) → where the chapter shows that step's output
    pub outputs_shown: BTreeMap<(String, String), String>,
    /// images (absolute paths) shown by some chapter
    pub images_shown: BTreeSet<PathBuf>,
}

impl ExampleSource {
    /// The command a reader runs this example with.
    pub fn run_command(&self) -> String {
        match self.crate_dir {
            Some(_) => format!("cargo run --release -p {}", self.name),
            None => format!("cargo run --release --example {}", self.name),
        }
    }
}

/// The file a chapter includes an example's code from, relative to the project root, for
/// places that know only the example's name: `examples/<name>.rs`,
/// `examples/<name>/main.rs` for an example split into modules, or
/// `examples/<name>/src/main.rs` for a crate example. [`read_examples`] enforces the rule
/// this relies on (crate examples' package names have a `-`, the root package's example
/// names never do); with an [`ExampleSource`] at hand, use its `path` instead.
pub fn example_file(root: &Path, name: &str) -> String {
    if name.contains('-') {
        format!("examples/{name}/src/main.rs")
    } else if root.join("examples").join(name).join("main.rs").is_file() {
        format!("examples/{name}/main.rs")
    } else {
        format!("examples/{name}.rs")
    }
}

/// The examples: every `examples/*.rs` of the root package, every example of it split into
/// modules (`examples/<name>/main.rs`), and every crate example (`examples/<name>/Cargo.toml`
/// with `src/main.rs`), which shows a reader's own crate.
pub fn read_examples(project: &Project) -> Result<Vec<ExampleSource>> {
    let anchor_re = Regex::new(r"ANCHOR:\s*([A-Za-z0-9_-]+)").unwrap();
    let mut out = Vec::new();
    let dir = project.examples_dir();
    // (the file with the anchors, a crate example's folder, a module example's folder)
    let mut entries: Vec<(PathBuf, Option<PathBuf>, Option<PathBuf>)> = Vec::new();
    for path in fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
    {
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            anyhow::ensure!(
                !stem.contains('-'),
                "{}: example names of the root package use `_`, not `-` (names with `-` are \
                 crate examples in examples/<name>/); rename it",
                project.rel(&path)
            );
            entries.push((path, None, None));
        } else if path.join("Cargo.toml").is_file() {
            let main = path.join("src/main.rs");
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            anyhow::ensure!(
                main.is_file() && name.contains('-'),
                "{}: a crate example needs a `-` in its folder's name (its package name) and a \
                 src/main.rs",
                project.rel(&path)
            );
            entries.push((main, Some(path), None));
        } else if path.join("main.rs").is_file() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            anyhow::ensure!(
                !name.contains('-'),
                "{}: example names of the root package use `_`, not `-` (names with `-` are \
                 crate examples with their own Cargo.toml); rename it",
                project.rel(&path)
            );
            entries.push((path.join("main.rs"), None, Some(path)));
        }
    }
    entries.sort();
    for (path, crate_dir, module_dir) in entries {
        // The files that may hold anchors: the example's file, or every `.rs` of its folder.
        let mut files = vec![path.clone()];
        if let Some(dir) = &module_dir {
            let mut siblings: Vec<PathBuf> = fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p != &path && p.extension().is_some_and(|e| e == "rs"))
                .collect();
            siblings.sort();
            files.extend(siblings);
        }
        let mut anchors: BTreeMap<String, Anchor> = BTreeMap::new();
        for file in files {
            let text = fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            for (i, l) in text.lines().enumerate() {
                let Some(c) = anchor_re.captures(l).filter(|_| !l.contains("ANCHOR_END")) else {
                    continue;
                };
                let anchor = Anchor {
                    file: file.clone(),
                    line: i + 1,
                };
                if let Some(first) = anchors.insert(c[1].to_owned(), anchor) {
                    anyhow::bail!(
                        "{}:{}: anchor `{}` is also at {}:{}; give each step its own name",
                        project.rel(&file),
                        i + 1,
                        &c[1],
                        project.rel(&first.file),
                        first.line
                    );
                }
            }
        }
        let name = match crate_dir.as_ref().or(module_dir.as_ref()) {
            Some(dir) => dir.file_name(),
            None => path.file_stem(),
        }
        .unwrap()
        .to_string_lossy()
        .into_owned();
        out.push(ExampleSource {
            name,
            path,
            crate_dir,
            module_dir,
            anchors,
        });
    }
    Ok(out)
}

/// The chapters `book/src/SUMMARY.md` publishes, in its order.
pub fn published(project: &Project) -> Result<Vec<PathBuf>> {
    let src = project.book_src();
    let summary = src.join("SUMMARY.md");
    let text = fs::read_to_string(&summary)
        .with_context(|| format!("cannot read {}", summary.display()))?;
    let mut out = Vec::new();
    for event in Parser::new(&text) {
        if let Event::Start(Tag::Link { dest_url, .. }) = event {
            let url = dest_url.split('#').next().unwrap_or("");
            // `[Draft]()` is a draft chapter: listed, not built.
            if url.is_empty() || url.contains("://") {
                continue;
            }
            let path = normalize(&src.join(url));
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// Checks every chapter that `SUMMARY.md` publishes and returns what they show. A Markdown
/// file under `book/src` that it does not list is never published, so what it shows does not
/// count.
pub fn check(
    project: &Project,
    examples: &[ExampleSource],
    problems: &mut Vec<Problem>,
) -> Result<BookIndex> {
    let mut index = BookIndex::default();
    let src = project.book_src();
    let chapters = published(project)?;
    let mut on_disk: Vec<PathBuf> = walkdir::WalkDir::new(&src)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    on_disk.sort();
    for file in &on_disk {
        if file.file_name().is_some_and(|n| n == "SUMMARY.md") || chapters.contains(file) {
            continue;
        }
        problems.push(Problem::new(
            format!("{}:1", project.rel(file)),
            "a chapter that book/src/SUMMARY.md does not list, so it is never published (what it shows does not count)",
            format!(
                "list it in book/src/SUMMARY.md (`- [Title]({})`), or move it out of book/src",
                project.rel(file).trim_start_matches("book/src/")
            ),
        ));
    }
    let mut texts: Vec<(&PathBuf, String)> = Vec::new();
    for chapter in &chapters {
        if !chapter.exists() {
            problems.push(Problem::new(
                "book/src/SUMMARY.md",
                format!("lists {}, which does not exist", project.rel(chapter)),
                "fix the link in SUMMARY.md or add the chapter",
            ));
            continue;
        }
        let text = fs::read_to_string(chapter)
            .with_context(|| format!("cannot read {}", chapter.display()))?;
        check_chapter(project, chapter, &text, examples, &mut index, problems)?;
        if super::generated::is_generated(&text) {
            problems.extend(super::generated::check_page(&project.rel(chapter), &text));
        }
        texts.push((chapter, text));
    }
    check_reading_order(project, &index.includes, problems);
    check_example_sizes(project, examples, problems)?;
    check_prose_numbers(project, &texts, &index, problems);

    let used: BTreeSet<(&str, &str)> = index
        .includes
        .iter()
        .map(|i| (i.example.as_str(), i.anchor.as_str()))
        .collect();
    for ex in examples {
        let rel = project.rel(&ex.path);
        if !used.iter().any(|(e, _)| *e == ex.name) {
            problems.push(Problem::new(
                format!("{rel}:1"),
                format!("example `{}` is used by no chapter", ex.name),
                format!("include its anchors in a chapter under book/src (`{{{{#include ../../{rel}:ANCHOR}}}}`), or delete the example"),
            ));
            continue;
        }
        for (anchor, Anchor { file, line }) in &ex.anchors {
            let rel = project.rel(file);
            if !used.contains(&(ex.name.as_str(), anchor.as_str())) {
                problems.push(Problem::new(
                    format!("{rel}:{line}"),
                    format!("anchor `{anchor}` is shown in no chapter"),
                    format!("include it in the chapter with the rest of `{}` (`{{{{#include ../../{rel}:{anchor}}}}}`), or remove the anchor", ex.name),
                ));
            }
        }
    }
    Ok(index)
}

/// Every published chapter's prose figures against what its examples printed
/// ([`super::prose`]): the outputs of every example it includes code from, and the text files
/// it includes. Generated pages are the bench's own printout and are checked for structure
/// instead. The chapter's permalinks to the demo page are checked here too
/// ([`super::permalinks`]): each must be one its examples printed.
fn check_prose_numbers(
    project: &Project,
    chapters: &[(&PathBuf, String)],
    index: &BookIndex,
    problems: &mut Vec<Problem>,
) {
    let breeds = bundled_breeds(project);
    for (chapter, text) in chapters {
        let chapter = *chapter;
        if super::generated::is_generated(text) {
            continue;
        }
        let mut printed = Vec::new();
        let examples = chapter_examples(index, chapter);
        for &example in &examples {
            printed.extend(super::prose::numbers_in(
                &project.outputs_dir().join(example),
            ));
        }
        let dir = chapter.parent().unwrap_or(Path::new("."));
        for line in text.lines() {
            if let Some(c) = INCLUDE.captures(line.trim()) {
                let target = c[1].split(':').next().unwrap_or("");
                let path = normalize(&dir.join(target));
                if path.is_file() && path.extension().is_none_or(|e| e != "rs") {
                    printed.extend(super::prose::numbers_in(&path));
                }
            }
        }
        super::prose::check_chapter(
            &project.rel(chapter),
            text,
            &printed,
            project.root(),
            problems,
        );
        super::permalinks::check_chapter(
            &project.rel(chapter),
            text,
            &breeds,
            &outputs_text(project, &examples),
            problems,
        );
    }
}

/// The examples `chapter` includes code from.
fn chapter_examples<'a>(index: &'a BookIndex, chapter: &Path) -> BTreeSet<&'a str> {
    index
        .includes
        .iter()
        .filter(|i| i.chapter == chapter)
        .map(|i| i.example.as_str())
        .collect()
}

/// The text of every output of `examples` (their snapshots and timings).
fn outputs_text(project: &Project, examples: &BTreeSet<&str>) -> Vec<String> {
    examples
        .iter()
        .flat_map(|e| walkdir::WalkDir::new(project.outputs_dir().join(e)))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

/// The bundled generator's class names (`assets/generator/config.json`), which a permalink's
/// breed must be one of; empty when the file cannot be read (the model checks report that).
fn bundled_breeds(project: &Project) -> Vec<String> {
    match tinycats_core::ModelConfig::read(&project.root().join("assets/generator")) {
        Ok((tinycats_core::ModelConfig::TinyDit(cfg), _)) => cfg.class_names,
        _ => Vec::new(),
    }
}

/// The most lines an example's source file may have: a longer one is split into sibling
/// modules (`examples/<name>/main.rs` with one function per step, the rest beside it), so
/// that a reader can find a step and read it alone.
pub const MAX_EXAMPLE_LINES: usize = 400;

/// Every source file of every example (an example's file, or each `.rs` of its folder) is at
/// most [`MAX_EXAMPLE_LINES`] long.
fn check_example_sizes(
    project: &Project,
    examples: &[ExampleSource],
    problems: &mut Vec<Problem>,
) -> Result<()> {
    for ex in examples {
        let dir = ex.module_dir.as_ref().or(ex.crate_dir.as_ref());
        let files: Vec<PathBuf> = match dir {
            Some(dir) => walkdir::WalkDir::new(dir)
                .into_iter()
                .filter_map(|e| e.ok())
                .map(|e| e.into_path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect(),
            None => vec![ex.path.clone()],
        };
        for file in files {
            let text = fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let lines = text.lines().count();
            if lines > MAX_EXAMPLE_LINES {
                problems.push(Problem::new(
                    format!("{}:1", project.rel(&file)),
                    format!(
                        "{lines} lines, more than the {MAX_EXAMPLE_LINES} an example's file may have"
                    ),
                    format!(
                        "make the example a folder, examples/{}/main.rs, whose main calls one function per step, and move steps or helpers into sibling modules (`mod name;`, examples/{}/name.rs)",
                        ex.name, ex.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The number an example's name starts with (`06_train_classifier` → 5); `None` for an
/// unnumbered one such as the `my-cats` crate.
fn reading_number(example: &str) -> Option<u32> {
    let (digits, rest) = example.split_once('_')?;
    (!rest.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The examples' numbers follow the book: taken in the order the chapters of `SUMMARY.md`
/// first show them, numbered examples must rise, so that a reader who runs `00`, `01`, `02` …
/// reads the book in order, and an example's number says where the book reads it. `includes` are in
/// reading order (chapters as `SUMMARY.md` lists them, blocks top to bottom). Unnumbered
/// examples (a crate such as `my-cats`) may sit anywhere, and showing an earlier example
/// again later is fine.
fn check_reading_order(project: &Project, includes: &[CodeInclude], problems: &mut Vec<Problem>) {
    let mut first_shown: Vec<&str> = Vec::new();
    let mut highest: Option<(u32, &CodeInclude)> = None;
    for inc in includes {
        if first_shown.contains(&inc.example.as_str()) {
            continue;
        }
        first_shown.push(&inc.example);
        let Some(number) = reading_number(&inc.example) else {
            continue;
        };
        match highest {
            Some((top, before)) if number <= top => problems.push(Problem::new(
                format!("{}:{}", project.rel(&inc.chapter), inc.line),
                format!(
                    "example `{}` is numbered {number:02}, but the book reads it after `{}` (first shown at {}:{}): the examples' numbers must follow SUMMARY.md's order",
                    inc.example,
                    before.example,
                    project.rel(&before.chapter),
                    before.line
                ),
                "renumber the examples in the order book/src/SUMMARY.md reads them (rename examples/NN_name.rs, book/outputs/NN_name/ and book/src/images/NN_name/ together, then `cargo xtask verify-docs --update`), or move the chapter in SUMMARY.md",
            )),
            _ => highest = Some((number, inc)),
        }
    }
}

fn check_chapter(
    project: &Project,
    chapter: &Path,
    text: &str,
    examples: &[ExampleSource],
    index: &mut BookIndex,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let rel_chapter = project.rel(chapter);
    let dir = chapter.parent().unwrap();
    let Parsed {
        blocks,
        images,
        nested_code,
        html,
    } = parse_blocks(text);
    check_html(&rel_chapter, &html, problems);
    let mut rust_include_lines = BTreeSet::new();
    for block in blocks.iter().chain(&nested_code) {
        if let BlockKind::Code { lang, content } = &block.kind
            && is_rust(lang)
            && INCLUDE.is_match(content.trim())
        {
            rust_include_lines.insert(block.line + 1);
        }
    }
    check_directives(&rel_chapter, text, &rust_include_lines, problems);
    for block in &nested_code {
        let BlockKind::Code { lang, content } = &block.kind else {
            continue;
        };
        let loc = format!("{rel_chapter}:{}", block.line);
        if lang.trim().is_empty() {
            problems.push(no_language(&loc));
        } else if is_rust(lang) {
            match rust_include(dir, content, examples, project) {
                Ok(inc) => {
                    check_shown_lines(&loc, (&inc.0, &inc.1), examples, project, problems);
                    index.includes.push(CodeInclude {
                        chapter: chapter.to_path_buf(),
                        line: block.line,
                        example: inc.0,
                        anchor: inc.1,
                    })
                }
                Err(p) => problems.push(Problem::new(&loc, p.0, p.1)),
            }
        }
    }

    for (line, url) in images {
        if url.contains("://") || url.starts_with("data:") {
            continue;
        }
        let path = normalize(&dir.join(url.split('#').next().unwrap_or(&url)));
        if !path.exists() {
            problems.push(Problem::new(
                format!("{rel_chapter}:{line}"),
                format!("image `{url}` does not exist ({})", project.rel(&path)),
                "run `cargo xtask verify-docs --update` if an example makes it, or fix the path",
            ));
        }
        index.images_shown.insert(path);
    }

    let mut previous: Option<&Block> = None;
    let mut last_code: Option<CodeInclude> = None;
    for block in &blocks {
        let loc = format!("{rel_chapter}:{}", block.line);
        if let BlockKind::Code { lang, content } = &block.kind {
            let include = INCLUDE.captures(content.trim()).map(|c| c[1].to_owned());
            if lang.trim().is_empty() {
                problems.push(no_language(&loc));
            } else if is_rust(lang) {
                let follows_prose = matches!(previous.map(|b| &b.kind), Some(BlockKind::Prose));
                if !follows_prose {
                    problems.push(Problem::new(
                        &loc,
                        "a code block with no prose before it",
                        "write a sentence or two before it saying what the step does and why (the teaching guide: prose before every code block)",
                    ));
                }
                match rust_include(dir, content, examples, project) {
                    Err(p) => problems.push(Problem::new(&loc, p.0, p.1)),
                    Ok((example, anchor)) => {
                        check_shown_lines(&loc, (&example, &anchor), examples, project, problems);
                        let inc = CodeInclude {
                            chapter: chapter.to_path_buf(),
                            line: block.line,
                            example,
                            anchor,
                        };
                        index.includes.push(inc.clone());
                        last_code = Some(inc);
                        previous = Some(block);
                        continue;
                    }
                }
            } else if let Some(target) = include.as_deref().filter(|t| t.contains(".snap")) {
                // A step's output: must sit right under the code block of the same step.
                match parse_output_include(dir, target, project) {
                    Err(p) => problems.push(Problem::new(&loc, p.0, p.1)),
                    Ok((example, step, offset_problem)) => {
                        if let Some(p) = offset_problem {
                            problems.push(Problem::new(&loc, p.0, p.1));
                        }
                        let under_its_code = matches!(
                            (&last_code, previous.map(|b| &b.kind)),
                            (Some(c), Some(BlockKind::Code { .. })) if c.example == example && c.anchor == step
                        );
                        if !under_its_code {
                            problems.push(Problem::new(
                                &loc,
                                format!("the output of `{example}` step `{step}` is not right under the code block of that step"),
                                format!("move it directly below the block `{{{{#include ../../{}:{step}}}}}`", example_file(project.root(), &example)),
                            ));
                        }
                        index.outputs_shown.insert((example, step), loc.clone());
                    }
                }
            } else if !matches!(previous.map(|b| &b.kind), Some(BlockKind::Prose)) {
                problems.push(Problem::new(
                    &loc,
                    "a code block with no prose before it",
                    "write a sentence or two before it saying what it shows (the teaching guide: prose before every code block)",
                ));
            }
        }
        last_code = None;
        previous = Some(block);
    }
    Ok(())
}

fn no_language(loc: &str) -> Problem {
    Problem::new(
        loc,
        "a code block without a language: the page may colour it as Rust, and verify-docs cannot tell whether it is code that must come from an example",
        "name its language (```text for output, ```console for commands, ```toml …); Rust code goes in an example and is included with ```rust {{#include ../../examples/FILE.rs:name}}",
    )
}

/// The example and anchor a Rust block's content includes, or why it does not.
fn rust_include(
    dir: &Path,
    content: &str,
    examples: &[ExampleSource],
    project: &Project,
) -> std::result::Result<(String, String), Failure> {
    let content = content.trim();
    let Some(c) = INCLUDE.captures(content) else {
        return Err((
            "pasted Rust code: every Rust block must come from an example that runs".into(),
            "move the code into an `examples/*.rs` file between `// ANCHOR: name` and `// ANCHOR_END: name`, and write `{{#include ../../examples/FILE.rs:name}}` in the block".into(),
        ));
    };
    if !content.starts_with("{{#include ") {
        return Err(directive_refused(content));
    }
    resolve_include(dir, &c[1], examples, project)
}

fn directive_refused(directive: &str) -> Failure {
    let name = directive
        .trim_start_matches("{{#")
        .split_whitespace()
        .next()
        .unwrap_or("");
    (
        format!("`{{{{#{name} …}}}}` shows Rust code that verify-docs does not check (a whole file, with or without hidden lines)"),
        "show code only with ```rust {{#include ../../examples/FILE.rs:anchor}} of an anchored step".into(),
    )
}

/// Raw HTML that carries code: `<pre>` blocks, or any element with a Rust language class.
fn check_html(rel_chapter: &str, html: &[(usize, String)], problems: &mut Vec<Problem>) {
    static CODE_HTML: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)<pre\b|class\s*=\s*["']?[^"'>]*\b(?:language|lang)-(?:rust|rs)\b"#)
            .unwrap()
    });
    for (line, text) in html {
        if CODE_HTML.is_match(text) {
            problems.push(Problem::new(
                format!("{rel_chapter}:{line}"),
                "code written as raw HTML (`<pre>` or a `language-rust` class), which verify-docs does not check",
                "write it as a Markdown code block: ```rust {{#include ../../examples/FILE.rs:anchor}} for Rust, ```text for output",
            ));
        }
    }
}

/// mdBook directives anywhere in a chapter (prose, lists, any code block): `playground` and
/// `rustdoc_include` are refused; an `include` of a Rust file must be the whole of a Rust
/// block (which the block check resolves); an `include` of Markdown brings in text that
/// verify-docs never reads.
fn check_directives(
    rel_chapter: &str,
    text: &str,
    rust_include_lines: &BTreeSet<usize>,
    problems: &mut Vec<Problem>,
) {
    static DIRECTIVE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\\?\{\{#\s*([A-Za-z_]+)\s*([^}]*)\}\}").unwrap());
    for m in DIRECTIVE.captures_iter(text) {
        let whole = m.get(0).unwrap();
        if whole.as_str().starts_with('\\') {
            continue; // escaped: mdBook prints it as text
        }
        let line = text[..whole.start()]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1;
        if rust_include_lines.contains(&line) {
            continue; // the whole of a Rust block: the block check resolves it
        }
        let loc = format!("{rel_chapter}:{line}");
        let name = &m[1];
        let file = m[2].split(':').next().unwrap_or("").trim();
        match name {
            "playground" | "rustdoc_include" => {
                let (what, fix) = directive_refused(whole.as_str());
                problems.push(Problem::new(loc, what, fix));
            }
            "include" if file.ends_with(".rs") => {
                problems.push(Problem::new(
                    loc,
                    format!("`{}` brings Rust code in outside a ```rust block of its own, where verify-docs does not check it", whole.as_str()),
                    "make it the only line of a ```rust block, at the top level of the chapter, after a paragraph",
                ));
            }
            "include" if file.ends_with(".md") => problems.push(Problem::new(
                loc,
                format!(
                    "`{}` brings in Markdown that verify-docs does not check",
                    whole.as_str()
                ),
                "write the text into this chapter (or make it a chapter of its own in SUMMARY.md)",
            )),
            _ => {}
        }
    }
}

type Failure = (String, String);

/// `../../examples/00_setup_check/main.rs:versions` → (example, anchor), checked.
fn resolve_include(
    dir: &Path,
    target: &str,
    examples: &[ExampleSource],
    project: &Project,
) -> std::result::Result<(String, String), Failure> {
    let (file, anchor) = match target.split_once(':') {
        Some((f, a)) => (f, a),
        None => (target, ""),
    };
    let path = normalize(&dir.join(file));
    let Some(example) = examples.iter().find(|e| {
        e.path == path
            || e.module_dir.as_ref().is_some_and(|d| {
                path.parent() == Some(d.as_path()) && path.extension().is_some_and(|x| x == "rs")
            })
    }) else {
        return Err((
            format!(
                "`{target}` is not an example: {} is not a file in examples/",
                project.rel(&path)
            ),
            "include code only from `examples/*.rs`, the `.rs` files of an example's folder \
             `examples/<name>/`, or a crate example's `examples/<name>/src/main.rs` (paths are \
             relative to the chapter)"
                .into(),
        ));
    };
    if anchor.is_empty() || anchor.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Err((
            format!(
                "`{target}` includes a whole file or a line range, which drifts when the file changes"
            ),
            format!(
                "mark the code with `// ANCHOR: name` / `// ANCHOR_END: name` in {} and include `{file}:name`",
                project.rel(&path)
            ),
        ));
    }
    if example.anchors.get(anchor).is_none_or(|a| a.file != path) {
        let known: Vec<_> = example
            .anchors
            .iter()
            .filter(|(_, a)| a.file == path)
            .map(|(name, _)| name.as_str())
            .collect();
        return Err((
            format!("anchor `{anchor}` does not exist in {}", project.rel(&path)),
            format!(
                "add `// ANCHOR: {anchor}` … `// ANCHOR_END: {anchor}` there, or use one of: {}",
                known.join(", ")
            ),
        ));
    }
    Ok((example.name.clone(), anchor.to_owned()))
}

/// The width of the book's code column, in characters: a longer line of shown code makes
/// the reader scroll sideways (STYLE.md; `examples/rustfmt.toml` formats to it).
pub const CODE_COLUMNS: usize = 80;

/// The lines of the included anchor that the reader would not see whole, as problems at
/// the chapter's block `loc`: one that mdBook would hide, and one wider than
/// [`CODE_COLUMNS`].
fn check_shown_lines(
    loc: &str,
    (example, anchor): (&str, &str),
    examples: &[ExampleSource],
    project: &Project,
    problems: &mut Vec<Problem>,
) {
    let Some(at) = examples
        .iter()
        .find(|e| e.name == example)
        .and_then(|e| e.anchors.get(anchor))
    else {
        return;
    };
    static HIDDEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*#([^\[!#]|$)").unwrap());
    let rel = project.rel(&at.file);
    let shown = anchor_lines(&at.file, anchor, at.line);
    let wide: Vec<String> = shown
        .iter()
        .filter(|(_, l)| l.chars().count() > CODE_COLUMNS)
        .map(|(i, l)| format!("{rel}:{i} ({} characters)", l.chars().count()))
        .collect();
    if !wide.is_empty() {
        problems.push(Problem::new(
            loc,
            format!(
                "`{anchor}` shows {} line(s) wider than the book's {CODE_COLUMNS}-character code \
                 column, which the reader must scroll sideways: {}",
                wide.len(),
                wide.join(", ")
            ),
            "`cargo fmt` breaks code at 80 columns in examples/ (examples/rustfmt.toml); split a \
             long string with a `\\` continuation at a space, and move a trailing comment above \
             its line",
        ));
    }
    // rustdoc's hidden lines, which mdBook folds away: `#` then anything but `[`, `!` or a
    // second `#`.
    if let Some((line, text)) = shown.iter().find(|(_, l)| HIDDEN.is_match(l)) {
        problems.push(Problem::new(
            loc,
            format!(
                "{rel}:{line} is in `{anchor}`, and mdBook hides it from the reader: in a Rust \
                 block a line that starts with `#` (not `#[`, `#!` or `##`) is a hidden line: `{}`",
                text.trim()
            ),
            "write `##` where the line must show as `#` (a TOML or Markdown comment in a \
             string: mdBook shows `##` as `#`, and TOML reads it as a comment too), or break \
             the string so that the line does not start with `#`",
        ));
    }
}

/// The lines of anchor `anchor` (which starts at line `start` of `file`) as the chapter shows
/// them, with their numbers: without the marker lines of nested anchors.
fn anchor_lines(file: &Path, anchor: &str, start: usize) -> Vec<(usize, String)> {
    let Ok(text) = fs::read_to_string(file) else {
        return Vec::new();
    };
    let end = format!("ANCHOR_END: {anchor}");
    text.lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| !l.contains(&end))
        .filter(|(_, l)| !l.contains("ANCHOR"))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

/// `../outputs/00_setup_check/versions.snap:4:` → (example, step), checked against the
/// snapshot file's real header length.
/// A missing snapshot or a wrong line offset is returned beside the step, which the
/// chapter does show.
fn parse_output_include(
    dir: &Path,
    target: &str,
    project: &Project,
) -> std::result::Result<(String, String, Option<Failure>), Failure> {
    let file = target.split(':').next().unwrap_or(target);
    let path = normalize(&dir.join(file));
    let outputs = project.outputs_dir();
    let rel = path.strip_prefix(&outputs).map_err(|_| {
        (
            format!(
                "`{target}` is not a step output under {}",
                project.rel(&outputs)
            ),
            "show step outputs only from book/outputs/EXAMPLE/STEP.snap".to_owned(),
        )
    })?;
    let parts: Vec<_> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let [example, step_file] = parts.as_slice() else {
        return Err((
            format!("`{target}`: expected book/outputs/EXAMPLE/STEP.snap"),
            "fix the path".into(),
        ));
    };
    let step = step_file.trim_end_matches(".snap").to_owned();
    if !path.exists() {
        let problem = (
            format!("step output {} does not exist", project.rel(&path)),
            format!(
                "run `cargo xtask verify-docs --update`; if `{example}` prints nothing in step `{step}`, remove this block"
            ),
        );
        return Ok((example.clone(), step, Some(problem)));
    }
    let expected = super::outputs::include_target(dir, &path, project)
        .map_err(|e| (e.to_string(), "check the snapshot file".to_owned()))?;
    if target != expected {
        let problem = (
            format!(
                "`{target}` does not skip exactly the snapshot header of {}",
                project.rel(&path)
            ),
            format!("write `{{{{#include {expected}}}}}`"),
        );
        return Ok((example.clone(), step, Some(problem)));
    }
    Ok((example.clone(), step, None))
}
