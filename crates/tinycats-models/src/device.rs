//! Choosing the device: `auto` takes CUDA when libtorch sees a GPU (a `cuda`-feature build
//! on a GPU machine), else the CPU.

use tch::Device;

use crate::error::{ModelError, Result};

/// Parses `auto`, `cpu` or `cuda` (`cuda:N` for GPU N).
pub fn parse_device(name: &str) -> Result<Device> {
    match name {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" | "cuda:0" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        s if s.starts_with("cuda") => {
            let index: usize = s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            if index < tch::Cuda::device_count() as usize {
                Ok(Device::Cuda(index))
            } else {
                Err(ModelError::invalid(
                    "device",
                    s,
                    if cfg!(feature = "cuda") {
                        "a visible GPU: libtorch sees none (check the driver and CUDA_VISIBLE_DEVICES)"
                    } else {
                        "cpu or auto: this build has no CUDA; rebuild with `--features cuda` after `cargo xtask setup --cuda`"
                    },
                ))
            }
        }
        other => Err(ModelError::invalid("device", other, "auto, cpu or cuda")),
    }
}

/// How much freed memory glibc keeps for reuse instead of returning it to the kernel: above
/// every model's working set in this project (the peaks measured are under 1 GB).
const KEEP_FREED_BYTES: i32 = 1 << 30;
/// What glibc adds to each growth of the heap, so that the next tensors fit without a
/// system call.
const HEAP_TOP_PAD_BYTES: i32 = 64 << 20;
/// Allocations from this size up get pages of their own (`mmap`), faulted in at every use:
/// the largest value glibc accepts (its own adaptive threshold's ceiling). Setting any of
/// these three turns that adaptation off, so all three are set.
const OWN_PAGES_FROM_BYTES: i32 = 32 << 20;

/// Makes glibc's `malloc` keep the memory libtorch frees, for the next step's tensors.
///
/// By default glibc hands freed memory at the top of the heap back to the kernel once more
/// than a few megabytes are free there; a training step frees and reallocates its activations
/// every step, so each step faulted its pages in again: the classifier chapter's run spent
/// 26 of its 114 s in the kernel. With the heap kept (`M_TRIM_THRESHOLD` 1 GiB, `M_TOP_PAD`
/// 64 MiB, `M_MMAP_THRESHOLD` 32 MiB) the same run took 96 s with 0.8 s in the kernel, and
/// the numbers it printed were identical (2-core Xeon, 2026-12-06; the fine-tuning chapter
/// 85 → 79 s, flow matching 57 → 54 s). PyTorch's own CPU tuning guide makes the same
/// point by preloading jemalloc or tcmalloc. The cost is that the process keeps its peak
/// memory until it exits.
///
/// Loading a model, creating a task and creating a trainer call it; it acts once per process,
/// and only where the C library is glibc (elsewhere it does nothing).
pub fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        #[allow(unsafe_code)]
        // SAFETY: `mallopt` only changes three of the allocator's tuning parameters; glibc
        // documents it as safe to call at any time, from any thread.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP_FREED_BYTES);
            libc::mallopt(libc::M_TOP_PAD, HEAP_TOP_PAD_BYTES);
            libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_PAGES_FROM_BYTES);
        }
    });
}

/// The version of the libtorch this crate was built against (`build-version` of a libtorch
/// download, or `version.py` of the PyPI wheel that `cargo xtask setup` installs).
pub fn libtorch_version() -> Option<String> {
    let dir = std::path::Path::new(option_env!("LIBTORCH")?);
    if let Ok(v) = std::fs::read_to_string(dir.join("build-version")) {
        return Some(v.trim().to_owned());
    }
    let py = std::fs::read_to_string(dir.join("version.py")).ok()?;
    py.lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
}

/// The environment variables that limit libtorch's own kernels (ATen), MKL's (its matrix
/// products) and oneDNN's (its convolutions) to AVX2, with their values: the kernel setting
/// `avx2` of `cargo xtask verify-docs --kernels`, which a test of the xtask holds equal.
pub const PORTABLE_KERNELS: [(&str, &str); 4] = [
    ("ATEN_CPU_CAPABILITY", "avx2"),
    ("MKL_ENABLE_INSTRUCTIONS", "AVX2"),
    ("ONEDNN_MAX_CPU_ISA", "AVX2"),
    ("DNNL_MAX_CPU_ISA", "AVX2"),
];

/// Pins libtorch's CPU kernels (ATen's, MKL's and oneDNN's) to AVX2 for the rest of the
/// process, so that a CPU with AVX-512 computes exactly what one with AVX2 does. A training
/// run is chaotic: the last-bit differences between the two kernel sets (summation orders in
/// reductions and convolutions) grow step by step until the run stops at another step. With
/// this call a CPU with AVX-512 gives the numbers of one with only AVX2, at some cost in speed.
///
/// It does not make processors of different makers agree: MKL (matrix products) and oneDNN
/// (convolutions) choose their own kernels for each processor. Measured: the classifier
/// chapter's training, pinned, drifts apart within 20 steps between an AMD EPYC and an Intel
/// Xeon; `MKL_CBWR` and `MKL_ENABLE_INSTRUCTIONS` changed the Xeon's numbers but did not
/// give the EPYC's.
///
/// Call it first thing in `main`, before anything touches libtorch (which reads these
/// variables once) and before any thread starts. A variable that is already set is left as
/// it is. Returns the variables it set.
#[allow(unsafe_code)]
pub fn pin_portable_cpu_kernels() -> Vec<&'static str> {
    let mut set = Vec::new();
    for (key, value) in PORTABLE_KERNELS {
        if std::env::var_os(key).is_none() {
            // SAFETY: `set_var` races with reads of the environment from other threads; this
            // runs at the start of `main`, as documented, before the program starts any.
            unsafe { std::env::set_var(key, value) };
            set.push(key);
        }
    }
    set
}

/// A CPU unit that computes bf16 matrix products natively. oneDNN, which libtorch calls for
/// bf16 matrix products and convolutions, uses it; without one libtorch emulates bf16 and
/// runs slower than in fp32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bf16Unit {
    /// Intel's Advanced Matrix Extensions (Sapphire Rapids and later Xeons).
    Amx,
    /// AVX-512 BF16 (AMD Zen 4 and later, Intel Cooper Lake).
    Avx512Bf16,
}

impl Bf16Unit {
    /// The unit this CPU has, as libtorch will see it: none while its kernels are pinned
    /// below AVX-512 ([`pin_portable_cpu_kernels`] or `ONEDNN_MAX_CPU_ISA`).
    pub fn detect() -> Option<Self> {
        let pinned = |key| {
            std::env::var(key).is_ok_and(|v| {
                !v.to_ascii_uppercase().contains("AVX512")
                    && !v.to_ascii_uppercase().contains("AMX")
                    && !v.eq_ignore_ascii_case("ALL")
            })
        };
        if pinned("ONEDNN_MAX_CPU_ISA") || pinned("DNNL_MAX_CPU_ISA") {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            // Stable Rust cannot detect AMX yet (`x86_amx_intrinsics`); the kernel lists it.
            if cpu_flags().iter().any(|f| f == "amx_bf16") {
                return Some(Bf16Unit::Amx);
            }
            if std::arch::is_x86_feature_detected!("avx512bf16") {
                return Some(Bf16Unit::Avx512Bf16);
            }
        }
        None
    }

    /// Its name as the vendors write it.
    pub fn name(self) -> &'static str {
        match self {
            Bf16Unit::Amx => "AMX",
            Bf16Unit::Avx512Bf16 => "AVX-512 BF16",
        }
    }
}

/// The flags of the first CPU in `/proc/cpuinfo` (empty where there is none).
fn cpu_flags() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, flags)| flags.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The precision a training run computes in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precision {
    /// bf16 matrix products and attention, with f32 weights, norms, residual stream, loss
    /// and optimiser (as `torch.autocast` does); else everything in f32.
    pub bf16: bool,
    /// One line for the run's log.
    pub reason: String,
}

/// What a run asking for bf16 (`want_bf16`) on `device` gets: bf16 on CUDA and on a CPU
/// with a [`Bf16Unit`]; f32 elsewhere, where emulated bf16 would be slower.
pub fn training_precision(device: Device, want_bf16: bool) -> Precision {
    let (bf16, reason) = match (want_bf16, device, Bf16Unit::detect()) {
        (false, _, _) => (false, "fp32 (bf16 = false)".to_string()),
        (true, Device::Cuda(_), _) => (true, "bf16 mixed precision on CUDA".to_string()),
        (true, _, Some(unit)) => (
            true,
            format!(
                "bf16 mixed precision on the CPU's {} unit (bf16 = false for fp32)",
                unit.name()
            ),
        ),
        (true, _, None) => (
            false,
            "fp32: this CPU has no bf16 unit (AMX or AVX-512 BF16), and emulated bf16 is \
             slower than fp32"
                .to_string(),
        ),
    };
    Precision { bf16, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert!(parse_device("auto").is_ok());
        assert!(
            parse_device("tpu")
                .unwrap_err()
                .to_string()
                .contains("`device` = tpu")
        );
    }
}
