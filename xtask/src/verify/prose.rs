//! Numbers in a chapter's prose come from a run. A measured figure written in the text — a
//! number with decimals, or one with a unit of measure (`%`, `×`, `s`, `ms`, `min`, `points`, `MiB`,
//! `MB`, `GB`, `img/s`, `GFLOP/s`) — must be what one of the chapter's examples printed: a
//! number in its outputs (`book/outputs/<example>/`, snapshots and timings) or in a text file
//! the chapter includes, that rounds to the figure at the digits the prose gives (a percentage
//! may be printed as a fraction, minutes as seconds, milliseconds as seconds). Counting words
//! stay quiet: integers without a unit (`13 breeds`, `7,663,296 parameters`), shapes
//! (`64 × 64`), versions (`2.11.0`), names (`AVX-512`, `p8-w256`), and whatever sits in code
//! spans, code blocks, maths or link targets.
//!
//! A figure that comes from elsewhere — a run configuration's constant, the model card, a
//! cited paper, arithmetic on printed numbers — carries a mark the reader does not see, an HTML
//! comment anywhere in its paragraph, list or table (or alone on the line before it):
//!
//! ```text
//! <!-- numbers: assets/generator/run.toml -->
//! <!-- numbers: Peebles and Xie 2023, table 4 -->
//! ```
//!
//! When the mark names files or folders of the project, the figures must be found in them
//! (folders are searched through), and the mark covers its paragraph's figures back to the
//! mark before it. A mark that names none is taken at its word, for its own sentence only: a
//! figure of an earlier sentence that no step printed needs a mark of its own, so that a
//! figure quoted from a run cannot go stale behind a mark that explains another one (when the
//! run changes, the quote is no longer printed and the check says so). A path in a mark that
//! does not exist is a problem.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::markdown::CODE_SPAN;
use super::problems::Problem;

/// A number as printed: its value and how many decimals it was printed with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Printed {
    pub value: f64,
    pub decimals: usize,
}

/// A measured figure of the prose: the number, its unit and its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub line: usize,
    /// Byte offset in its line.
    pub column: usize,
    pub text: String,
    pub number: Printed,
    pub unit: Option<String>,
}

/// Units that make an integer a measurement, longest spelling first.
const UNITS: &[&str] = &[
    "GFLOP/s", "minutes", "seconds", "points", "point", "hours", "img/s", "MiB", "GiB", "min",
    "ms", "GB", "MB", "%", "×", "s", "h",
];

static MARK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<!--\s*numbers:\s*(.*?)\s*-->").unwrap());
static HTML_COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<!--.*?-->").unwrap());
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"</?[a-zA-Z][^>]*>").unwrap());
static MATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\$[^$]*\$").unwrap());
static LINK_TARGET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\]\([^)]*\)").unwrap());
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9][0-9,]*(?:\.[0-9]+)*").unwrap());
/// Numbers in outputs and files: signs, decimals and exponents.
static PRINTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?").unwrap());

/// Every number printed in `text`.
pub fn printed_numbers(text: &str) -> Vec<Printed> {
    PRINTED
        .find_iter(text)
        .filter_map(|m| {
            let s = m.as_str();
            let value: f64 = s.parse().ok()?;
            let mantissa = s.split(['e', 'E']).next().unwrap_or(s);
            let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len());
            Some(Printed { value, decimals })
        })
        .collect()
}

/// The text of a prose line with what is not prose blanked out (same length, so columns hold).
fn blank(line: &str) -> String {
    let mut s = line.to_owned();
    for re in [
        &*HTML_COMMENT,
        &*HTML_TAG,
        &*CODE_SPAN,
        &*MATH,
        &*LINK_TARGET,
    ] {
        s = re
            .replace_all(&s, |c: &regex::Captures| " ".repeat(c[0].len()))
            .into_owned();
    }
    s
}

/// The measured figures of one prose line (1-based `line`).
pub fn figures(line_text: &str, line: usize) -> Vec<Figure> {
    let text = blank(line_text);
    let mut out = Vec::new();
    for m in NUMBER.find_iter(&text) {
        let s = m.as_str().trim_end_matches(',');
        let before = text[..m.start()].chars().next_back();
        let before2 = text[..m.start()].chars().rev().nth(1);
        // Part of a name or a longer token: `p8`, `x0`, `.5`, `AVX-512`, `1e-4`.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '/')
            || (before == Some('-') && before2.is_some_and(|c| c.is_alphanumeric()))
        {
            continue;
        }
        // Versions and dotted names: `2.11.0`, `1.2.3`.
        if s.matches('.').count() > 1 {
            continue;
        }
        let rest = &text[m.start() + s.len()..];
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let spaced = rest.trim_start_matches([' ', '\u{a0}', '\u{202f}']);
        let mut unit = UNITS
            .iter()
            .find(|u| {
                spaced.starts_with(**u)
                    && !spaced[u.len()..].starts_with(|c: char| c.is_alphanumeric())
            })
            .map(|u| (*u).to_owned());
        // `64 × 64` is a shape, not a ratio; `2 h` alone is an hour only when spaced as one.
        if unit.as_deref() == Some("×")
            && spaced["×".len()..]
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit())
        {
            unit = None;
        }
        // A letter right after the digits names something (`2D`, `3rd`, `8px`, `64x64`).
        if unit.is_none() && rest.starts_with(|c: char| c.is_alphabetic()) {
            continue;
        }
        let end = m.start()
            + s.len()
            + unit
                .as_deref()
                .map_or(0, |u| rest.len() - spaced.len() + u.len());
        let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
        let Ok(value) = s.replace(',', "").parse::<f64>() else {
            continue;
        };
        if decimals == 0 && unit.is_none() {
            continue; // a counting word
        }
        out.push(Figure {
            line,
            column: m.start(),
            text: line_text[m.start()..end].to_owned(),
            number: Printed { value, decimals },
            unit,
        });
    }
    out
}

/// Whether `printed` rounds to `figure` at the figure's digits, in any of the scales its
/// unit allows (a percentage printed as a fraction, minutes printed as seconds…).
pub fn matches(figure: &Figure, printed: &Printed) -> bool {
    let unit = 10f64.powi(figure.number.decimals as i32);
    let want = (figure.number.value * unit).round();
    // Half away from zero, as printing rounds: 0.9995 is 1.000 at three decimals, not 0.999.
    // The nudge undoes binary fractions such as 0.9995 × 1000 = 999.4999….
    let rounds_to = |x: f64| (x * unit * (1.0 + 1e-12)).round() == want;
    let scales: &[f64] = match figure.unit.as_deref() {
        Some("%") | Some("points") | Some("point") => &[1.0, 100.0],
        Some("min") | Some("minutes") => &[1.0, 1.0 / 60.0],
        Some("h") | Some("hours") => &[1.0, 1.0 / 3600.0, 1.0 / 60.0],
        Some("ms") => &[1.0, 1000.0],
        _ => &[1.0],
    };
    scales.iter().any(|k| rounds_to(printed.value * k))
}

/// A mark: where it sits (line, byte offset) and what it says.
type Mark = (usize, usize, String);

/// A block of prose: its lines, its own marks, and the marks of a marks-only block just
/// before it, which cover all of it.
struct Block {
    lines: Vec<(usize, String)>,
    marks: Vec<Mark>,
    above: Vec<Mark>,
}

/// The prose blocks of a chapter (paragraphs, lists, tables), outside code blocks and
/// display maths; a block that is only marks hands them to the next block.
fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut current = Block {
        lines: Vec::new(),
        marks: Vec::new(),
        above: Vec::new(),
    };
    let mut pending: Vec<Mark> = Vec::new();
    let mut fence: Option<&str> = None;
    let mut display_math = false;
    let mut html_comment = false;
    let mut finish = |current: &mut Block, pending: &mut Vec<Mark>| {
        if current.lines.is_empty() {
            return;
        }
        let mut block = std::mem::replace(
            current,
            Block {
                lines: Vec::new(),
                marks: Vec::new(),
                above: Vec::new(),
            },
        );
        let is_marks_line = |l: &str| {
            let t = l.trim();
            MARK.is_match(t) && HTML_COMMENT.replace_all(t, "").trim().is_empty()
        };
        // Marks on lines of their own at the top of a block cover all of it, as a
        // marks-only block above it does.
        let leading = block
            .lines
            .iter()
            .take_while(|(_, l)| is_marks_line(l))
            .count();
        if leading > 0 {
            let last_line = block.lines[leading - 1].0;
            let (top, rest): (Vec<Mark>, Vec<Mark>) =
                block.marks.drain(..).partition(|(l, _, _)| *l <= last_line);
            pending.extend(top);
            block.marks = rest;
            block.lines.drain(..leading);
        }
        if block.lines.is_empty() {
            pending.append(&mut block.marks);
        } else {
            block.above.append(pending);
            out.push(block);
        }
    };
    for (k, line) in text.lines().enumerate() {
        let n = k + 1;
        let t = line.trim_start();
        if let Some(open) = fence {
            if t.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            finish(&mut current, &mut pending);
            fence = Some(&t[..3]);
            continue;
        }
        if t.starts_with("$$") {
            display_math =
                !(display_math || t.trim_end().len() > 2 && t.trim_end().ends_with("$$"));
            continue;
        }
        if display_math {
            continue;
        }
        // A multi-line HTML comment that is not a mark: skipped whole.
        if html_comment {
            html_comment = !t.contains("-->");
            continue;
        }
        if t.starts_with("<!--") && !t.contains("-->") {
            html_comment = true;
            continue;
        }
        if t.is_empty() {
            finish(&mut current, &mut pending);
            continue;
        }
        for c in MARK.captures_iter(line) {
            current
                .marks
                .push((n, c.get(0).unwrap().start(), c[1].to_owned()));
        }
        // Pictures carry no prose figures (HTML tags are blanked out of the lines).
        if t.starts_with("![") {
            continue;
        }
        current.lines.push((n, line.to_owned()));
    }
    finish(&mut current, &mut pending);
    out
}

/// The files a mark's text names that exist under `root`, and the path-like words that do
/// not.
fn named_sources(mark: &str, root: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for word in mark.split([' ', ',', ';']) {
        let word = word.trim_matches(|c: char| "()`'\"".contains(c));
        let path_like = word.contains('/')
            || [".md", ".toml", ".json", ".txt", ".snap", ".rs", ".py"]
                .iter()
                .any(|e| word.ends_with(e));
        if !path_like || word.contains("://") {
            continue;
        }
        let path = root.join(word);
        if path.exists() {
            found.push(path);
        } else {
            missing.push(word.to_owned());
        }
    }
    (found, missing)
}

/// Every number printed in the files under `path` (a file, or a folder searched through).
pub fn numbers_in(path: &Path) -> Vec<Printed> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
    {
        if let Ok(text) = fs::read_to_string(entry.path()) {
            out.extend(printed_numbers(&text));
        }
    }
    out
}

/// What a set of marks vouches for: nothing named (a paper, arithmetic: taken at its word),
/// or the numbers of the files it names.
enum Vouch {
    Waived,
    Files(Vec<Printed>),
}

fn vouch(marks: &[&Mark], root: &Path, rel: &str, problems: &mut Vec<Problem>) -> Vouch {
    let mut cited = Vec::new();
    let mut any_path = false;
    for (line, _, mark) in marks {
        let (found, missing) = named_sources(mark, root);
        for m in &missing {
            problems.push(Problem::new(
                format!("{rel}:{line}"),
                format!("the numbers mark names `{m}`, which does not exist"),
                "name the file the figures come from, relative to the project root",
            ));
        }
        any_path |= !found.is_empty() || !missing.is_empty();
        for path in found {
            cited.extend(numbers_in(&path));
        }
    }
    if any_path {
        Vouch::Files(cited)
    } else {
        Vouch::Waived
    }
}

/// Where the sentence that ends at (or runs through) position `at` of a block starts: after
/// the last `.`, `!` or `?` followed by a space (or by the end of a line) before it, not
/// counting the one that ends the sentence itself; the block's start when there is none.
fn sentence_start(lines: &[(usize, String)], at: (usize, usize)) -> (usize, usize) {
    // The block's prose before `at`, as (line, column, char), comments and code blanked.
    let mut before: Vec<(usize, usize, char)> = Vec::new();
    for (line, text) in lines {
        if *line > at.0 {
            break;
        }
        let text = blank(text);
        for (column, c) in text.char_indices() {
            if (*line, column) >= at {
                break;
            }
            before.push((*line, column, c));
        }
        before.push((*line, text.len(), '\n'));
    }
    // Trailing space and the sentence's own closing punctuation.
    while before
        .last()
        .is_some_and(|(_, _, c)| c.is_whitespace() || ".!?)\"'".contains(*c))
    {
        before.pop();
    }
    for k in (0..before.len()).rev() {
        let (_, _, c) = before[k];
        let next = before.get(k + 1).map(|(_, _, c)| *c);
        if "!?.".contains(c) && next.is_some_and(char::is_whitespace) {
            return before.get(k + 1).map_or(at, |(l, col, _)| (*l, *col));
        }
    }
    lines.first().map_or(at, |(l, _)| (*l, 0))
}

/// Checks the prose of one chapter (`rel` its path for the messages) against `printed`, the
/// numbers its examples printed; marks are resolved against `root`. A mark inside a block
/// that names files covers the figures after the block's previous mark, up to itself; one
/// that names none, the figures of its own sentence; a marks-only block covers the whole
/// block under it, and the figures after a block's last mark.
pub fn check_chapter(
    rel: &str,
    text: &str,
    printed: &[Printed],
    root: &Path,
    problems: &mut Vec<Problem>,
) {
    for block in blocks(text) {
        // Each mark's files read once per block: the block's own marks one by one (with the
        // problems of the files they name, reported after the figures), and the marks above
        // the block together.
        let inline: Vec<(Vouch, Vec<Problem>)> = block
            .marks
            .iter()
            .map(|mark| {
                let mut missing = Vec::new();
                (vouch(&[mark], root, rel, &mut missing), missing)
            })
            .collect();
        let above = (!block.above.is_empty()).then(|| {
            vouch(
                &block.above.iter().collect::<Vec<_>>(),
                root,
                rel,
                &mut Vec::new(),
            )
        });
        let starts: Vec<(usize, usize)> = block
            .marks
            .iter()
            .map(|(l, c, _)| sentence_start(&block.lines, (*l, *c)))
            .collect();
        for (line, text) in &block.lines {
            for figure in figures(text, *line) {
                if printed.iter().any(|p| matches(&figure, p)) {
                    continue;
                }
                let at = (figure.line, figure.column);
                let covering = match block.marks.iter().position(|(l, c, _)| (*l, *c) > at) {
                    // A mark that names no file vouches for its own sentence only.
                    Some(i) if matches!(inline[i].0, Vouch::Waived) && at < starts[i] => None,
                    Some(i) => Some(&inline[i].0),
                    None => above.as_ref(),
                };
                match covering {
                    None => problems.push(Problem::new(
                        format!("{rel}:{line}"),
                        format!(
                            "`{}` in the prose is printed by none of this chapter's steps",
                            figure.text
                        ),
                        "write what the run printed (its snapshot in book/outputs/), or, for a figure from elsewhere, mark it `<!-- numbers: FILE or source -->` after it in its paragraph (a project file is then searched for it)",
                    )),
                    Some(Vouch::Waived) => {}
                    Some(Vouch::Files(cited)) if cited.iter().any(|p| matches(&figure, p)) => {}
                    Some(Vouch::Files(_)) => problems.push(Problem::new(
                        format!("{rel}:{line}"),
                        format!(
                            "`{}` in the prose is neither printed by this chapter's steps nor found in the files its numbers mark names",
                            figure.text
                        ),
                        "write the figure as the file or the run has it, or name the file it comes from in the mark",
                    )),
                }
            }
        }
        // Each mark's paths exist.
        for (_, missing) in inline {
            problems.extend(missing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        figures(line, 1).into_iter().map(|f| f.text).collect()
    }

    fn problems_of(text: &str) -> Vec<String> {
        let mut problems = Vec::new();
        check_chapter("c.md", text, &[], Path::new("."), &mut problems);
        problems.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_mark_that_names_no_file_vouches_for_its_own_sentence_only() {
        // Both figures in the marked sentence: fine.
        assert!(
            problems_of("Wilson intervals of ±7.1 and ±6.5 points. <!-- numbers: arithmetic -->\n")
                .is_empty()
        );
        // A quoted figure one sentence earlier is not covered: it has to be printed.
        let p = problems_of(
            "Top-1 rose from 68.6 % to 76.9 %.\nThat is ±7.1 points at n = 156. <!-- numbers: arithmetic -->\n",
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("`68.6 %`") && p[1].contains("`76.9 %`"),
            "{p:?}"
        );
        // Decimals do not end a sentence, and a mark mid-sentence covers its sentence's start.
        assert!(
            problems_of(
                "It fell by 0.0040, and then by 0.0077 <!-- numbers: differences --> at 225.\n"
            )
            .is_empty()
        );
        // A marks-only line above a block still covers all of it.
        assert!(problems_of("<!-- numbers: a paper -->\nFirst 1.5 %. Then 2.5 %.\n").is_empty());
    }

    #[test]
    fn measured_figures_are_told_from_counting_words() {
        assert_eq!(
            texts("It took 53.6 s, 1.46× faster, at 99.5 % on 13 breeds of 64 × 64 pixels."),
            ["53.6 s", "1.46×", "99.5 %"]
        );
        assert_eq!(
            texts(
                "libtorch 2.11.0 with AVX-512 on p8-w256, 7,663,296 weights, 2D, `0.25`, $t = 0.3$."
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            texts("a 0.9995 decay, 41 min, 12 points, 300 ms"),
            ["0.9995", "41 min", "12 points", "300 ms"]
        );
        assert_eq!(
            texts("see [fig](img/0.5.png) and 8px"),
            Vec::<String>::new()
        );
        assert_eq!(
            texts(r#"<a id="x2.5"></a>**Term** 0.25 <b data-n="1.5">"#),
            ["0.25"]
        );
    }

    #[test]
    fn a_figure_matches_what_rounds_to_it() {
        let fig = |s: &str| figures(s, 1).remove(0);
        let p = |s: &str| printed_numbers(s)[0];
        assert!(matches(&fig("0.41 s"), &p("0.4137")));
        assert!(!matches(&fig("0.42 s"), &p("0.4137")));
        assert!(matches(&fig("99.5 %"), &p("0.9951")));
        assert!(matches(&fig("2 min"), &p("118.0")));
        assert!(matches(&fig("15 ms"), &p("0.0152")));
        assert!(!matches(&fig("1.5 ×"), &p("150")));
        assert!(!matches(&fig("0.999 decay"), &p("0.9995")));
        assert!(matches(&fig("1.000 decay"), &p("0.9995")));
    }

    #[test]
    fn marks_cover_their_block_and_files_they_name_are_searched() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("run.toml"), "ema = 0.9995\n").unwrap();
        let printed = printed_numbers("loss 0.4137");
        let check = |text: &str| {
            let mut problems = Vec::new();
            check_chapter("ch.md", text, &printed, dir.path(), &mut problems);
            problems
                .into_iter()
                .map(|p| format!("{} {}", p.location, p.what))
                .collect::<Vec<_>>()
        };
        assert!(check("# T\n\nThe loss fell to 0.41.\n").is_empty());
        assert_eq!(
            check("# T\n\nThe loss fell to 0.52.\n"),
            ["ch.md:3 `0.52` in the prose is printed by none of this chapter's steps"]
        );
        // A file mark: the figure must be in it.
        assert!(check("Decay 0.9995 <!-- numbers: run.toml -->.\n").is_empty());
        assert_eq!(check("Decay 0.999 <!-- numbers: run.toml -->.\n").len(), 1);
        // A mark alone on the line before covers the next block, not the one after it.
        assert_eq!(
            check("<!-- numbers: run.toml -->\n| decay |\n|---|\n| 0.9995 |\n\nThen 0.7.\n"),
            ["ch.md:6 `0.7` in the prose is printed by none of this chapter's steps"]
        );
        // A cited source is taken at its word; a missing file is named.
        assert!(check("FID 2.27 <!-- numbers: Peebles and Xie 2023 -->\n").is_empty());
        assert_eq!(
            check("x 0.5 <!-- numbers: assets/nope.toml -->\n"),
            [
                "ch.md:1 `0.5` in the prose is neither printed by this chapter's steps nor found in the files its numbers mark names",
                "ch.md:1 the numbers mark names `assets/nope.toml`, which does not exist"
            ]
        );
        // A mark covers the figures before it, back to the previous mark; the figures after
        // a block's last mark are unmarked.
        assert!(
            check("Decay 0.9995 <!-- numbers: run.toml -->, FID 2.27 <!-- numbers: a paper -->.\n")
                .is_empty()
        );
        assert_eq!(
            check("FID 2.27 <!-- numbers: a paper -->, decay 0.999 <!-- numbers: run.toml -->.\n"),
            [
                "ch.md:1 `0.999` in the prose is neither printed by this chapter's steps nor found in the files its numbers mark names"
            ]
        );
        assert_eq!(
            check("FID 2.27 <!-- numbers: a paper -->, then 0.7.\n"),
            ["ch.md:1 `0.7` in the prose is printed by none of this chapter's steps"]
        );
        // Code blocks and display maths are not prose.
        assert!(check("```text\n0.52\n```\n\n$$\nx = 0.52\n$$\n").is_empty());
    }
}
