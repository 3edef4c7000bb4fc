//! Building the examples once (release) and running each with a timeout, in parallel where
//! cores allow, capturing stdout and stderr.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use regex::Regex;

/// Per-example settings, from a `// verify-docs: timeout_s = 600, budget_s = 120` line in
/// the example's source (and `libtorch = false` where it applies).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The run is killed after this long.
    pub timeout: Duration,
    /// The timing table flags a run longer than this (`OVER BUDGET`, not a failure). Every
    /// example aims at a minute on 2 cores, so that CI and a reader's first run stay short;
    /// the examples still over it say so in every verify-docs run.
    pub budget: Duration,
    /// Whether the example computes anything with libtorch. The kernel settings of
    /// `--kernels` reach libtorch, MKL and oneDNN only (ONNX Runtime chooses its own kernels
    /// from the CPU), so an example declared `libtorch = false` computes the same under every
    /// setting and is not rerun under one. Declare it only for an example whose profile shows
    /// no libtorch work (`perf record`, then `perf report --sort dso`: nothing in
    /// `libtorch_cpu.so` beyond its start-up registrations).
    pub libtorch: bool,
}

pub const DEFAULT_TIMEOUT_S: u64 = 300;

impl Limits {
    pub fn from_source(source: &str) -> Result<Limits> {
        let mut limits = Limits {
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_S),
            budget: Duration::from_secs(DEFAULT_TIMEOUT_S),
            libtorch: true,
        };
        let re = Regex::new(r"^\s*//!?\s*verify-docs:\s*(.*)$").unwrap();
        for line in source.lines() {
            let Some(c) = re.captures(line) else { continue };
            for pair in c[1].split(',') {
                let (key, value) = pair
                    .split_once('=')
                    .with_context(|| format!("`{pair}`: expected key = value"))?;
                let value = value.trim();
                let secs = || -> Result<Duration> {
                    let secs: u64 = value
                        .parse()
                        .with_context(|| format!("`{value}`: not a number of seconds"))?;
                    Ok(Duration::from_secs(secs))
                };
                match key.trim() {
                    "timeout_s" => limits.timeout = secs()?,
                    "budget_s" => limits.budget = secs()?,
                    "libtorch" => {
                        limits.libtorch = value
                            .parse()
                            .with_context(|| format!("`{value}`: not true or false"))?
                    }
                    other => anyhow::bail!(
                        "unknown verify-docs setting `{other}` (known: timeout_s, budget_s, \
                         libtorch)"
                    ),
                }
            }
        }
        if limits.budget > limits.timeout {
            limits.budget = limits.timeout;
        }
        Ok(limits)
    }
}

#[derive(Debug)]
pub enum Status {
    Passed,
    Failed(ExitStatus),
    TimedOut,
    CouldNotStart(String),
}

#[derive(Debug)]
pub struct Run {
    pub example: String,
    pub status: Status,
    pub wall: Duration,
    pub stdout: String,
    pub stderr: String,
    pub out_dir: PathBuf,
    /// Set when processes the example started outlived it (they were killed).
    pub lingering: Option<String>,
}

/// One example to run.
#[derive(Debug, Clone)]
pub struct Job {
    pub example: String,
    pub exe: PathBuf,
    pub out_dir: PathBuf,
    pub limits: Limits,
    /// Extra environment for the run (e.g. the forced-AVX2 variables).
    pub env: Vec<(String, String)>,
}

/// `cargo build --profile <profile> --examples` in `root`, with `--bin <name>` for each crate
/// example in `packages` (its own package's binary, built as a reader's crate is). One
/// invocation, so that the crate examples share the examples' dependency builds instead of
/// compiling them again with other features. `workspace` adds `--workspace` and turns
/// incremental compilation off: the features of every dependency and the settings of every
/// library are then those of the test build of the whole workspace in `cargo xtask ci`
/// (incremental compilation is part of what identifies a library's build).
pub fn build_examples(
    root: &Path,
    profile: &str,
    workspace: bool,
    features: Option<&str>,
    packages: &[&str],
) -> Result<()> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root)
        .args(["build", "--profile", profile, "--examples"]);
    if workspace {
        cmd.arg("--workspace").env("CARGO_INCREMENTAL", "0");
    }
    for p in packages {
        cmd.args(["--bin", p]);
    }
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    crate::run_cmd(&mut cmd)
        .context("building the examples failed (the compiler's errors are above)")
}

/// The folder under the target directory where cargo puts a profile's build: `dev` and `test`
/// builds go to `debug`, the others to a folder named after the profile.
pub fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

/// Runs every job, `jobs` at a time, and returns the runs in the jobs' order.
pub fn run_all(jobs: &[Job], parallel: usize, root: &Path) -> Vec<Run> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<Run>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..parallel.max(1).min(jobs.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(job) = jobs.get(i) else { break };
                    eprintln!("  running {} …", job.example);
                    let run = run_one(job, root);
                    eprintln!(
                        "  {} {} in {:.1} s",
                        status_word(&run.status),
                        job.example,
                        run.wall.as_secs_f64()
                    );
                    results.lock().unwrap()[i] = Some(run);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed(_) => "FAILED",
        Status::TimedOut => "TIMED OUT",
        Status::CouldNotStart(_) => "COULD NOT START",
    }
}

/// How long the output pipes may stay open after the example has exited and its process
/// group has been killed (only a process that left the group can hold them longer).
const PIPE_GRACE: Duration = Duration::from_secs(2);

pub fn run_one(job: &Job, root: &Path) -> Run {
    let started = Instant::now();
    let done = |status, stdout, stderr, lingering| Run {
        example: job.example.clone(),
        status,
        wall: started.elapsed(),
        stdout,
        stderr,
        out_dir: job.out_dir.clone(),
        lingering,
    };
    if let Err(e) = std::fs::remove_dir_all(&job.out_dir).or_else(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Ok(())
        } else {
            Err(e)
        }
    }) {
        return done(
            Status::CouldNotStart(format!("cannot clear {}: {e}", job.out_dir.display())),
            String::new(),
            String::new(),
            None,
        );
    }
    let _ = std::fs::create_dir_all(&job.out_dir);
    // Its own process group, so that whatever the example started can be found and killed
    // with it (a child left alive would hold the output pipes open).
    let mut cmd = Command::new(&job.exe);
    cmd.process_group(0)
        .current_dir(root)
        .env("TINYCATS_OUT_DIR", &job.out_dir)
        .env("RUST_BACKTRACE", "1")
        .env("TINYCATS_VERIFY_DOCS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return done(
                Status::CouldNotStart(format!("{}: {e}", job.exe.display())),
                String::new(),
                String::new(),
                None,
            );
        }
    };
    let pgid = child.id() as libc::pid_t;
    let out = Pipe::read(child.stdout.take().unwrap());
    let err = Pipe::read(child.stderr.take().unwrap());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break Status::Passed,
            Ok(Some(status)) => break Status::Failed(status),
            Ok(None) if started.elapsed() > job.limits.timeout => {
                kill_group(pgid);
                let _ = child.kill();
                let _ = child.wait();
                break Status::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                kill_group(pgid);
                break Status::CouldNotStart(e.to_string());
            }
        }
    };
    let mut lingering = None;
    if group_alive(pgid) {
        if matches!(status, Status::Passed | Status::Failed(_)) {
            lingering = Some("processes in its process group".to_owned());
        }
        kill_group(pgid);
    }
    let deadline = Instant::now() + PIPE_GRACE;
    let (stdout, out_open) = out.finish(deadline);
    let (stderr, err_open) = err.finish(deadline);
    if (out_open || err_open) && lingering.is_none() {
        lingering = Some(
            "a process that left its process group holds its stdout or stderr open".to_owned(),
        );
    }
    done(status, stdout, stderr, lingering)
}

/// A pipe drained by a thread into a shared buffer, so that what was read is kept even if
/// the pipe never closes.
struct Pipe {
    buf: std::sync::Arc<Mutex<Vec<u8>>>,
    closed: std::sync::mpsc::Receiver<()>,
}

impl Pipe {
    fn read(mut pipe: impl Read + Send + 'static) -> Pipe {
        let buf = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (tx, closed) = std::sync::mpsc::channel();
        let shared = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => shared.lock().unwrap().extend_from_slice(&chunk[..n]),
                }
            }
            let _ = tx.send(());
        });
        Pipe { buf, closed }
    }

    /// What was read, and whether the pipe was still open at `deadline`.
    fn finish(self, deadline: Instant) -> (String, bool) {
        let wait = deadline.saturating_duration_since(Instant::now());
        let still_open = self.closed.recv_timeout(wait).is_err();
        let bytes = self.buf.lock().unwrap().clone();
        (String::from_utf8_lossy(&bytes).into_owned(), still_open)
    }
}

/// SIGKILL to every process of the group `pgid`.
fn kill_group(pgid: libc::pid_t) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Whether any process of the group `pgid` is still alive.
fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    #[allow(unsafe_code)]
    let r = unsafe { libc::kill(-pgid, 0) };
    r == 0
}

/// The last `n` lines of `text`, indented for a report.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..]
        .iter()
        .map(|l| format!("      | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_source() {
        let l = Limits::from_source(
            "//! x\n// verify-docs: timeout_s = 600, budget_s = 120\nfn main() {}",
        )
        .unwrap();
        assert_eq!(
            l,
            Limits {
                timeout: Duration::from_secs(600),
                budget: Duration::from_secs(120),
                libtorch: true,
            }
        );
        let ort = Limits::from_source("// verify-docs: budget_s = 60, libtorch = false").unwrap();
        assert!(!ort.libtorch);
        let err = Limits::from_source("// verify-docs: libtorch = no").unwrap_err();
        assert!(err.to_string().contains("not true or false"), "{err}");
        assert_eq!(
            Limits::from_source("fn main() {}").unwrap().timeout,
            Duration::from_secs(DEFAULT_TIMEOUT_S)
        );
        let err = Limits::from_source("// verify-docs: timout_s = 5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("timout_s"), "{err}");
    }
}
