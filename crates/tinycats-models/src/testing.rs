//! Helpers for parity tests and benchmarks that need weights before any training.

use tch::{Tensor, nn};

/// Replaces every variable of `vs` with small random values (N(0, 0.05²); BatchNorm running
/// variances uniform in [0.5, 1.5) so they stay positive).
///
/// A freshly built TinyDiT outputs exactly zero (adaLN-Zero), so comparing two
/// implementations of it, or timing it, needs weights like these.
pub fn randomise(vs: &nn::VarStore) {
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let r = if name.ends_with("running_var") {
            Tensor::rand_like(&var) + 0.5
        } else {
            Tensor::randn_like(&var) * 0.05
        };
        var.copy_(&r);
    }
}
