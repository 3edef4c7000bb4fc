//! The import-loop check: it finds a loop in a small crate, and the project has none.

use std::path::Path;

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn two_files_that_use_each_other_are_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write(&src, "lib.rs", "mod a;\nmod b;\nmod c;\npub use a::A;\n");
    write(
        &src,
        "a.rs",
        "use crate::b::helper;\npub struct A;\npub fn f() { helper() }\n",
    );
    write(&src, "b.rs", "pub fn helper() { let _ = super::a::A; }\n");
    // c uses a, a does not use c; a test in c that uses b does not count either.
    write(
        &src,
        "c.rs",
        "use crate::a::A;\n#[cfg(test)]\nmod tests { use crate::b::helper; }\n",
    );
    let loops = xtask::imports::loops_in_crate(&src.join("lib.rs")).unwrap();
    assert_eq!(loops.len(), 1, "{loops:?}");
    let l = &loops[0];
    assert!(l.a.ends_with("a.rs") && l.b.ends_with("b.rs"), "{l}");
    assert_eq!(l.a_uses, "crate::b::helper");
    assert_eq!(l.b_uses, "super::a::A");
}

#[test]
fn a_module_and_its_child_modules_are_one_unit() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write(&src, "lib.rs", "mod m;\npub use m::Thing;\n");
    write(
        &src,
        "m/mod.rs",
        "mod data;\npub use data::Thing;\npub struct Error;\n",
    );
    write(&src, "m/data.rs", "pub struct Thing(super::Error);\n");
    let loops = xtask::imports::loops_in_crate(&src.join("lib.rs")).unwrap();
    assert!(loops.is_empty(), "{loops:?}");
    // The parent calling its child while the child uses the parent's type: one unit.
    write(
        &src,
        "m/mod.rs",
        "mod data;\nmod other;\npub struct Error;\npub fn make() -> data::Thing { todo!() }\n",
    );
    write(&src, "m/other.rs", "pub fn g() {}\n");
    let loops = xtask::imports::loops_in_crate(&src.join("lib.rs")).unwrap();
    assert!(loops.is_empty(), "{loops:?}");
    // Two children of one parent are peers: their loop is one.
    write(
        &src,
        "m/other.rs",
        "pub fn g() { let _ = super::data::Thing; }\n",
    );
    write(
        &src,
        "m/data.rs",
        "pub struct Thing(super::Error);\nfn h() { super::other::g() }\n",
    );
    let loops = xtask::imports::loops_in_crate(&src.join("lib.rs")).unwrap();
    assert_eq!(loops.len(), 1, "{loops:?}");
    assert!(loops[0].a.ends_with("m/data.rs") && loops[0].b.ends_with("m/other.rs"));
}

#[test]
fn the_projects_files_import_no_loops() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let loops = xtask::imports::loops_in_project(root).unwrap();
    let lines: Vec<String> = loops.iter().map(|l| l.to_string()).collect();
    assert!(lines.is_empty(), "import loops:\n{}", lines.join("\n"));
}
