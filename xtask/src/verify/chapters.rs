//! Code provenance: every Rust block of the book is an include of an anchor of an example,
//! prose comes before every code block, each step's output sits under its code, and every
//! image a chapter shows exists.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use regex::Regex;

use super::Project;
use super::problems::Problem;

/// One example source file and its anchors.
#[derive(Debug, Clone)]
pub struct ExampleSource {
    pub name: String,
    pub path: PathBuf,
    /// anchor name → line of its `// ANCHOR:` (1-based)
    pub anchors: BTreeMap<String, usize>,
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

#[derive(Debug, PartialEq)]
enum BlockKind {
    Prose,
    Heading,
    Code { lang: String, content: String },
    Other,
}

#[derive(Debug)]
struct Block {
    kind: BlockKind,
    line: usize,
}

pub fn read_examples(project: &Project) -> Result<Vec<ExampleSource>> {
    let anchor_re = Regex::new(r"ANCHOR:\s*([A-Za-z0-9_-]+)").unwrap();
    let mut out = Vec::new();
    let dir = project.examples_dir();
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    entries.sort();
    for path in entries {
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let anchors = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.contains("ANCHOR_END"))
            .filter_map(|(i, l)| anchor_re.captures(l).map(|c| (c[1].to_owned(), i + 1)))
            .collect();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        out.push(ExampleSource {
            name,
            path,
            anchors,
        });
    }
    Ok(out)
}

/// Checks every chapter under `book/src` and returns what they show.
pub fn check(
    project: &Project,
    examples: &[ExampleSource],
    problems: &mut Vec<Problem>,
) -> Result<BookIndex> {
    let mut index = BookIndex::default();
    let src = project.book_src();
    let mut chapters: Vec<PathBuf> = walkdir::WalkDir::new(&src)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    for chapter in &chapters {
        check_chapter(project, chapter, examples, &mut index, problems)?;
    }

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
        for (anchor, line) in &ex.anchors {
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

fn check_chapter(
    project: &Project,
    chapter: &Path,
    examples: &[ExampleSource],
    index: &mut BookIndex,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let text = fs::read_to_string(chapter)
        .with_context(|| format!("cannot read {}", chapter.display()))?;
    let rel_chapter = project.rel(chapter);
    let dir = chapter.parent().unwrap();
    let (blocks, images) = parse_blocks(&text);

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

    let include_re = Regex::new(r"^\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\}\}$").unwrap();
    let mut previous: Option<&Block> = None;
    let mut last_code: Option<CodeInclude> = None;
    for block in &blocks {
        let loc = format!("{rel_chapter}:{}", block.line);
        if let BlockKind::Code { lang, content } = &block.kind {
            let content = content.trim();
            let include = include_re.captures(content).map(|c| c[1].to_owned());
            if is_rust(lang) {
                let follows_prose = matches!(previous.map(|b| &b.kind), Some(BlockKind::Prose));
                if !follows_prose {
                    problems.push(Problem::new(
                        &loc,
                        "a code block with no prose before it",
                        "write a sentence or two before it saying what the step does and why (the teaching guide: prose before every code block)",
                    ));
                }
                match include.as_deref().map(|t| resolve_include(dir, t, examples, project)) {
                    None => problems.push(Problem::new(
                        &loc,
                        "pasted Rust code: every Rust block must come from an example that runs",
                        "move the code into an `examples/*.rs` file between `// ANCHOR: name` and `// ANCHOR_END: name`, and write `{{#include ../../examples/FILE.rs:name}}` in the block",
                    )),
                    Some(Err(p)) => problems.push(Problem::new(&loc, p.0, p.1)),
                    Some(Ok((example, anchor))) => {
                        let inc = CodeInclude { chapter: chapter.to_path_buf(), line: block.line, example, anchor };
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
                                format!("move it directly below the block `{{{{#include ../../examples/{example}.rs:{step}}}}}`"),
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

fn is_rust(lang: &str) -> bool {
    let first = lang.split([',', ' ']).next().unwrap_or("");
    first == "rust" || first == "rs"
}

type Failure = (String, String);

/// `../../examples/00_setup_check.rs:versions` → (example, anchor), checked.
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
    let Some(example) = examples.iter().find(|e| e.path == path) else {
        return Err((
            format!(
                "`{target}` is not an example: {} is not a file in examples/",
                project.rel(&path)
            ),
            "include code only from `examples/*.rs` (paths are relative to the chapter)".into(),
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
    if !example.anchors.contains_key(anchor) {
        let known: Vec<_> = example.anchors.keys().map(String::as_str).collect();
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

/// Top-level blocks with their kinds and first lines, and every image with its line.
fn parse_blocks(text: &str) -> (Vec<Block>, Vec<(usize, String)>) {
    let line_of = |offset: usize| text[..offset].bytes().filter(|&b| b == b'\n').count() + 1;
    let mut blocks = Vec::new();
    let mut images = Vec::new();
    let mut depth = 0usize;
    let mut code: Option<(String, usize, String)> = None;
    let opts = Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(text, opts).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if let Tag::Image { dest_url, .. } = &tag {
                    images.push((line_of(range.start), dest_url.to_string()));
                }
                if depth == 0 {
                    let line = line_of(range.start);
                    let kind = match &tag {
                        Tag::Paragraph | Tag::List(_) | Tag::BlockQuote(_) | Tag::Table(_) => {
                            Some(BlockKind::Prose)
                        }
                        Tag::Heading { .. } => Some(BlockKind::Heading),
                        Tag::CodeBlock(kind) => {
                            let lang = match kind {
                                CodeBlockKind::Fenced(info) => info.to_string(),
                                CodeBlockKind::Indented => String::new(),
                            };
                            code = Some((lang, line, String::new()));
                            None
                        }
                        _ => Some(BlockKind::Other),
                    };
                    if let Some(kind) = kind {
                        blocks.push(Block { kind, line });
                    }
                }
                depth += 1;
            }
            Event::End(end) => {
                depth -= 1;
                if depth == 0
                    && matches!(end, TagEnd::CodeBlock)
                    && let Some((lang, line, content)) = code.take()
                {
                    blocks.push(Block {
                        kind: BlockKind::Code { lang, content },
                        line,
                    });
                }
            }
            Event::Text(t) if depth == 1 => {
                if let Some((_, _, content)) = code.as_mut() {
                    content.push_str(&t);
                }
            }
            Event::Html(_) | Event::Rule if depth == 0 => {
                blocks.push(Block {
                    kind: BlockKind::Other,
                    line: line_of(range.start),
                });
            }
            _ => {}
        }
    }
    (blocks, images)
}

/// Lexically resolves `..` and `.` (the files may not exist yet).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}
