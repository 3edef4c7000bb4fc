//! Every internal link and image of the built HTML must resolve.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::Result;
use regex::Regex;

use super::problems::Problem;

static ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?:href|src)\s*=\s*"([^"]*)""#).unwrap());
static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\bid\s*=\s*"([^"]*)""#).unwrap());

pub fn check(site: &Path, problems: &mut Vec<Problem>) -> Result<usize> {
    let site = super::markdown::normalize(&std::path::absolute(site)?);
    let site = site.as_path();
    let pages: Vec<PathBuf> = walkdir::WalkDir::new(site)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    let mut ids: HashMap<PathBuf, Vec<String>> = HashMap::new();
    let mut checked = 0;
    for page in &pages {
        // mdBook's 404 page resolves links against `site-url`, not its own folder.
        if page.file_name().is_some_and(|n| n == "404.html") {
            continue;
        }
        let html = fs::read_to_string(page)?;
        for cap in ATTR.captures_iter(&html) {
            let url = decode(&cap[1]);
            if url.is_empty()
                || url.starts_with('#') && url.len() == 1
                || ["http:", "https:", "mailto:", "data:", "javascript:", "//"]
                    .iter()
                    .any(|p| url.starts_with(p))
            {
                continue;
            }
            checked += 1;
            let (file, fragment) = match url.split_once('#') {
                Some((f, frag)) => (f, Some(frag)),
                None => (url.as_str(), None),
            };
            let file = file.split('?').next().unwrap_or(file);
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            let target = super::markdown::normalize(&target);
            let target = if target.is_dir() {
                target.join("index.html")
            } else {
                target
            };
            let rel_page = page
                .strip_prefix(site)
                .unwrap_or(page)
                .display()
                .to_string();
            if !target.starts_with(site) {
                problems.push(Problem::new(
                    format!("book/build/{rel_page}"),
                    format!(
                        "link `{url}` points outside the built book (to {}), so it works here but 404s on the hosted book",
                        target.display()
                    ),
                    "link to files of the repository with a full https:// URL, or copy what the page needs into book/src",
                ));
                continue;
            }
            if !target.exists() {
                problems.push(Problem::new(
                    format!("book/build/{rel_page}"),
                    format!("broken link `{url}`: {} does not exist", target.display()),
                    "fix the link or the image path in the chapter under book/src",
                ));
                continue;
            }
            // A cat's permalink to the demo page (which the print page turns into a fragment
            // of its own) is checked as one in the chapters' markdown (`permalinks`), not as
            // a heading's id.
            if let Some(frag) = fragment.filter(|f| !f.is_empty())
                && target.extension().is_some_and(|e| e == "html")
                && !super::permalinks::is_permalink(frag)
            {
                let list = ids.entry(target.clone()).or_insert_with(|| {
                    let html = fs::read_to_string(&target).unwrap_or_default();
                    ID.captures_iter(&html).map(|c| c[1].to_owned()).collect()
                });
                if !list.iter().any(|id| id == frag) {
                    problems.push(Problem::new(
                        format!("book/build/{rel_page}"),
                        format!(
                            "broken link `{url}`: no element with id `{frag}` in {}",
                            target.display()
                        ),
                        "fix the heading anchor the link points at",
                    ));
                }
            }
        }
    }
    Ok(checked)
}

fn decode(url: &str) -> String {
    url.replace("&amp;", "&").replace("%20", " ")
}
