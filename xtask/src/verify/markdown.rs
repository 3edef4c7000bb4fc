//! Reading a chapter's Markdown as mdBook renders it: top-level blocks (with their kinds and
//! lines), code blocks nested in lists, quotes and footnotes, raw HTML and images.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use regex::Regex;

#[derive(Debug, PartialEq)]
pub(crate) enum BlockKind {
    Prose,
    Heading,
    Code { lang: String, content: String },
    Other,
}

#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) kind: BlockKind,
    pub(crate) line: usize,
}

/// An inline code span, `like this`.
pub(crate) static CODE_SPAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`[^`]*`").unwrap());

/// An include directive that is the whole content of a code block.
pub(crate) static INCLUDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\{\{#(?:include|rustdoc_include|playground)\s+([^}\s]+)[^}]*\}\}$").unwrap()
});

/// Whether a fence's info string makes it Rust, for mdBook or rustdoc: `rust`, `Rust`,
/// `rs`, `rust,ignore`, `{.rust}`, or only rustdoc attributes such as `ignore` or `no_run`.
pub(crate) fn is_rust(lang: &str) -> bool {
    let words: Vec<String> = lang
        .split([',', ' ', '\t', '{', '}', '.'])
        .map(|w| w.trim().to_ascii_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    const RUSTDOC: [&str; 7] = [
        "ignore",
        "no_run",
        "should_panic",
        "compile_fail",
        "edition2015",
        "edition2018",
        "edition2021",
    ];
    words
        .iter()
        .any(|w| w == "rust" || w == "rs" || w.starts_with("rust"))
        || words
            .iter()
            .all(|w| RUSTDOC.contains(&w.as_str()) || w.starts_with("edition"))
            && !words.is_empty()
}

/// What a chapter's Markdown holds.
pub(crate) struct Parsed {
    /// Top-level blocks with their kinds and first lines.
    pub(crate) blocks: Vec<Block>,
    /// Every image with its line.
    pub(crate) images: Vec<(usize, String)>,
    /// Code blocks inside list items, block quotes, footnotes or tables.
    pub(crate) nested_code: Vec<Block>,
    /// Raw HTML (block or inline) with its line.
    pub(crate) html: Vec<(usize, String)>,
}

pub(crate) fn parse_blocks(text: &str) -> Parsed {
    let line_of = |offset: usize| text[..offset].bytes().filter(|&b| b == b'\n').count() + 1;
    let mut p = Parsed {
        blocks: Vec::new(),
        images: Vec::new(),
        nested_code: Vec::new(),
        html: Vec::new(),
    };
    let mut depth = 0usize;
    let mut code: Option<(String, usize, String)> = None;
    let opts = Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(text, opts).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if let Tag::Image { dest_url, .. } = &tag {
                    p.images.push((line_of(range.start), dest_url.to_string()));
                }
                let line = line_of(range.start);
                if let Tag::CodeBlock(kind) = &tag {
                    let lang = match kind {
                        CodeBlockKind::Fenced(info) => info.to_string(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    code = Some((lang, line, String::new()));
                } else if depth == 0 {
                    let kind = match &tag {
                        Tag::Paragraph | Tag::List(_) | Tag::BlockQuote(_) | Tag::Table(_) => {
                            BlockKind::Prose
                        }
                        Tag::Heading { .. } => BlockKind::Heading,
                        _ => BlockKind::Other,
                    };
                    p.blocks.push(Block { kind, line });
                }
                depth += 1;
            }
            Event::End(end) => {
                depth -= 1;
                if matches!(end, TagEnd::CodeBlock)
                    && let Some((lang, line, content)) = code.take()
                {
                    let block = Block {
                        kind: BlockKind::Code { lang, content },
                        line,
                    };
                    if depth == 0 {
                        p.blocks.push(block);
                    } else {
                        p.nested_code.push(block);
                    }
                }
            }
            Event::Text(t) => {
                if let Some((_, _, content)) = code.as_mut() {
                    content.push_str(&t);
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                p.html.push((line_of(range.start), h.to_string()));
                if depth == 0 {
                    p.blocks.push(Block {
                        kind: BlockKind::Other,
                        line: line_of(range.start),
                    });
                }
            }
            Event::Rule if depth == 0 => {
                p.blocks.push(Block {
                    kind: BlockKind::Other,
                    line: line_of(range.start),
                });
            }
            _ => {}
        }
    }
    p
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
