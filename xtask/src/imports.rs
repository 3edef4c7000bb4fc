//! File-level import loops: two source files of one crate that each use something of the
//! other's. A loop means a helper lives in the wrong file (it belongs with what it serves, or in
//! a module of its own both can use), and neither file can be read, tested or moved alone.
//!
//! Each crate is read from its root (`lib.rs`, `main.rs`, an example's `main.rs`) by following
//! its `mod` declarations, with `syn`. A file imports another when a `use` or a path in its code
//! (`crate::a::b`, `super::x`, `self::m::y`, `child::z`) names an item of a module that the other
//! file holds. Not counted: test code (`#[cfg(test)]`), and re-exports (`pub use`,
//! `pub(crate) use`), which shape a module's interface rather than use what they name; and a
//! module's file with the files of its own child modules (an example's `main.rs` that calls its
//! steps, which take the types `main.rs` defines): Rust gives a child its parent's private items
//! for exactly that, and the pair is read as one unit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use syn::visit::Visit;

/// One module of a crate: the file that holds it and its child modules.
#[derive(Debug, Default)]
struct Module {
    file: PathBuf,
    children: BTreeMap<String, Vec<String>>,
}

/// A crate's module tree, keyed by module path (`[]` is the root, `["trainer", "data"]` …).
#[derive(Debug, Default)]
struct Tree {
    modules: BTreeMap<Vec<String>, Module>,
    /// Per file: the paths it uses, each with the module it was written in.
    uses: BTreeMap<PathBuf, Vec<(Vec<String>, Used)>>,
}

/// A path a file uses: `import` for a `use` (whose last segment may name a module), else a
/// path in code (whose last segment names an item: `verify::run(…)` calls the function `run`
/// even where `verify` has a module `run` too).
#[derive(Debug)]
struct Used {
    path: Vec<String>,
    import: bool,
}

/// A loop: `a` uses `b` (through `a_uses`) and `b` uses `a` (through `b_uses`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loop {
    pub a: PathBuf,
    pub b: PathBuf,
    pub a_uses: String,
    pub b_uses: String,
}

impl std::fmt::Display for Loop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} and {} import each other ({} uses `{}`, {} uses `{}`): move the helper to the \
             file it serves, or to a module of its own that both use",
            self.a.display(),
            self.b.display(),
            self.a.display(),
            self.a_uses,
            self.b.display(),
            self.b_uses,
        )
    }
}

/// The crate roots of the project at `root`: each crate's `src/lib.rs` and `src/main.rs`,
/// xtask's, and each example's `main.rs` (a folder example) or file.
pub fn crate_roots(root: &Path) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    let mut dirs: Vec<PathBuf> = vec![root.to_path_buf(), root.join("xtask")];
    for parent in ["crates", "examples"] {
        if let Ok(entries) = std::fs::read_dir(root.join(parent)) {
            dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
    }
    for dir in dirs {
        for file in ["src/lib.rs", "src/main.rs", "main.rs"] {
            if dir.join(file).is_file() {
                roots.push(dir.join(file));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(root.join("examples")) {
        roots.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs")),
        );
    }
    roots.sort();
    roots
}

/// Every import loop in the crates of the project at `root`, paths relative to it.
pub fn loops_in_project(root: &Path) -> Result<Vec<Loop>> {
    let mut loops = Vec::new();
    for crate_root in crate_roots(root) {
        for l in loops_in_crate(&crate_root)? {
            let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_path_buf();
            loops.push(Loop {
                a: rel(&l.a),
                b: rel(&l.b),
                ..l
            });
        }
    }
    Ok(loops)
}

/// The import loops between the files of the crate whose root file is `root`.
pub fn loops_in_crate(root: &Path) -> Result<Vec<Loop>> {
    let mut tree = Tree::default();
    read_module(&mut tree, root, Vec::new())?;
    let mut edges: BTreeMap<(PathBuf, PathBuf), String> = BTreeMap::new();
    for (file, uses) in &tree.uses {
        for (written_in, used) in uses {
            if let Some(target) = tree.resolve(written_in, &used.path, used.import)
                && &target != file
            {
                edges
                    .entry((file.clone(), target))
                    .or_insert_with(|| used.path.join("::"));
            }
        }
    }
    // (child's file, parent's file) for every module held in a file of its own.
    let parent_of: BTreeSet<(&PathBuf, &PathBuf)> = tree
        .modules
        .iter()
        .filter_map(|(path, m)| {
            let parent = tree.modules.get(path.split_last()?.1)?;
            (m.file != parent.file).then_some((&m.file, &parent.file))
        })
        .collect();
    let related =
        |a: &PathBuf, b: &PathBuf| parent_of.contains(&(a, b)) || parent_of.contains(&(b, a));
    let mut loops = Vec::new();
    for ((a, b), a_uses) in &edges {
        if a < b
            && !related(a, b)
            && let Some(b_uses) = edges.get(&(b.clone(), a.clone()))
        {
            loops.push(Loop {
                a: a.clone(),
                b: b.clone(),
                a_uses: a_uses.clone(),
                b_uses: b_uses.clone(),
            });
        }
    }
    Ok(loops)
}

impl Tree {
    /// The file holding the item that `path`, written in module `here`, names (`import`: the
    /// last segment may be a module).
    fn resolve(&self, here: &[String], path: &[String], import: bool) -> Option<PathBuf> {
        let (mut module, rest): (Vec<String>, &[String]) = match path.first()?.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (here.to_vec(), &path[1..]),
            "super" => {
                let mut m = here.to_vec();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    m.pop()?;
                    rest = &rest[1..];
                }
                (m, rest)
            }
            first if self.child(here, first) => (here.to_vec(), path),
            _ => return None,
        };
        let walk = if import || rest.is_empty() {
            rest
        } else {
            &rest[..rest.len() - 1]
        };
        for segment in walk {
            if self.child(&module, segment) {
                module.push(segment.clone());
            } else {
                break;
            }
        }
        self.modules.get(&module).map(|m| m.file.clone())
    }

    fn child(&self, module: &[String], name: &str) -> bool {
        self.modules
            .get(module)
            .is_some_and(|m| m.children.contains_key(name))
    }
}

/// Reads the module at `path`, which is the whole of `file`.
fn read_module(tree: &mut Tree, file: &Path, path: Vec<String>) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let parsed =
        syn::parse_file(&text).with_context(|| format!("cannot parse {}", file.display()))?;
    let dir = module_dir(file);
    read_items(tree, file, &dir, path, &parsed.items)
}

/// The folder where the child modules of the module in `file` live.
fn module_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new("."));
    match file.file_stem().and_then(|s| s.to_str()) {
        Some("lib" | "main" | "mod") => parent.to_path_buf(),
        Some(stem) => parent.join(stem),
        None => parent.to_path_buf(),
    }
}

fn read_items(
    tree: &mut Tree,
    file: &Path,
    dir: &Path,
    path: Vec<String>,
    items: &[syn::Item],
) -> Result<()> {
    tree.modules.entry(path.clone()).or_default().file = file.to_path_buf();
    let mut collector = Collector {
        here: path.clone(),
        found: Vec::new(),
    };
    for item in items {
        if is_test(item_attrs(item)) {
            continue;
        }
        match item {
            syn::Item::Mod(m) => {
                let name = m.ident.to_string();
                let mut child = path.clone();
                child.push(name.clone());
                tree.modules
                    .entry(path.clone())
                    .or_default()
                    .children
                    .insert(name.clone(), child.clone());
                match &m.content {
                    Some((_, inner)) => {
                        // An inline module: same file, its children in a folder of its name.
                        read_items(tree, file, &dir.join(&name), child, inner)?;
                    }
                    None => {
                        let candidates = [
                            dir.join(format!("{name}.rs")),
                            dir.join(&name).join("mod.rs"),
                        ];
                        let found = candidates.iter().find(|p| p.is_file()).with_context(|| {
                            format!(
                                "{}: `mod {name};` has no file ({})",
                                file.display(),
                                candidates[0].display()
                            )
                        })?;
                        read_module(tree, found, child)?;
                    }
                }
            }
            syn::Item::Use(u) if matches!(u.vis, syn::Visibility::Inherited) => {
                collector.visit_item_use(u);
            }
            syn::Item::Use(_) => {} // a re-export
            other => collector.visit_item(other),
        }
    }
    let here = collector.here;
    tree.uses
        .entry(file.to_path_buf())
        .or_default()
        .extend(collector.found.into_iter().map(|p| (here.clone(), p)));
    Ok(())
}

/// The full paths a `use` tree names.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Used>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut full = prefix.clone();
            if n.ident != "self" {
                full.push(n.ident.to_string());
            }
            out.push(Used {
                path: full,
                import: true,
            });
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix.clone();
            full.push(r.ident.to_string());
            out.push(Used {
                path: full,
                import: true,
            });
        }
        syn::UseTree::Glob(_) => out.push(Used {
            path: prefix.clone(),
            import: true,
        }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

/// Collects the paths in code (expressions, types, patterns, macros' paths), skipping test code.
struct Collector {
    here: Vec<String>,
    found: Vec<Used>,
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.segments.len() > 1 {
            self.found.push(Used {
                path: p.segments.iter().map(|s| s.ident.to_string()).collect(),
                import: false,
            });
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {} // read as modules of their own
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if matches!(u.vis, syn::Visibility::Inherited) {
            use_paths(&u.tree, &mut Vec::new(), &mut self.found);
        }
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]` or `#[test]`.
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("test")
            || (a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test"))
    })
}
