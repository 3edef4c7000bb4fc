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

/// The environment variables that limit libtorch's own kernels (ATen) and oneDNN's (its
/// convolutions) to AVX2, with their values.
pub const PORTABLE_KERNELS: [(&str, &str); 3] = [
    ("ATEN_CPU_CAPABILITY", "avx2"),
    ("ONEDNN_MAX_CPU_ISA", "AVX2"),
    ("DNNL_MAX_CPU_ISA", "AVX2"),
];

/// Pins libtorch's CPU kernels to AVX2 for the rest of the process, so that a CPU with
/// AVX-512 computes exactly what one with AVX2 does. A training run is chaotic: the last-bit
/// differences between the two kernel sets (summation orders in reductions and
/// convolutions) grow step by step until the run stops at another step. With this call a
/// CPU with AVX-512 gives the numbers of one with only AVX2, at some cost in speed.
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
