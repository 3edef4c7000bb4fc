//! Distances between sets of feature vectors: the Fréchet distance between Gaussians fitted
//! to two sets (with its bootstrap interval), and the k-nearest-neighbour manifolds of
//! precision and recall.

use tinycats_models::tch::{Kind, Tensor};

use super::bootstrap::{Draws, Estimate};

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues from
/// rounding are clipped to zero).
pub(super) fn sqrt_psd(m: &Tensor) -> Tensor {
    let (vals, vecs) = m.linalg_eigh("L");
    let s = vals.clamp_min(0.0).sqrt();
    vecs.matmul(&s.diag_embed(0, -2, -1))
        .matmul(&vecs.transpose(0, 1))
}

/// Mean and covariance (unbiased) of the rows of `x`, in f64.
pub(super) fn moments(x: &Tensor) -> (Tensor, Tensor) {
    let x = x.to_kind(Kind::Double);
    let mu = x.mean_dim(0, false, Kind::Double);
    let c = &x - &mu;
    let n = x.size()[0] as f64;
    (mu, c.transpose(0, 1).matmul(&c) / (n - 1.0))
}

/// The Fréchet distance between Gaussians fitted to the rows of `a` and `b`:
/// `‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a^½ Σ_b Σ_a^½)^½)`.
///
/// # Shapes
/// `a`: `(N, D)`, `b`: `(M, D)`
pub fn frechet_distance(a: &Tensor, b: &Tensor) -> f64 {
    let (mu_a, s_a) = moments(a);
    let (mu_b, s_b) = moments(b);
    let ra = sqrt_psd(&s_a);
    let cross = sqrt_psd(&ra.matmul(&s_b).matmul(&ra));
    let d = (&mu_a - &mu_b).square().sum(Kind::Double) + s_a.trace() + s_b.trace()
        - cross.trace() * 2.0;
    d.double_value(&[])
}

/// Euclidean distances between the rows of `a` and `b`, in f64.
///
/// # Shapes
/// `a`: `(N, D)`, `b`: `(M, D)` → `(N, M)`
pub(super) fn distances(a: &Tensor, b: &Tensor) -> Tensor {
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double));
    let sq = a.square().sum_dim_intlist(1, true, Kind::Double)
        + b.square()
            .sum_dim_intlist(1, true, Kind::Double)
            .transpose(0, 1)
        - a.matmul(&b.transpose(0, 1)) * 2.0;
    sq.clamp_min(0.0).sqrt()
}

/// Each row's distance to its `k`-th nearest other row: the radius of its ball in the
/// k-NN manifold estimate.
///
/// # Shapes
/// `x`: `(N, D)` → `(N,)`
pub fn knn_radii(x: &Tensor, k: i64) -> Tensor {
    // Column 0 of the sorted row is the point itself (distance 0).
    distances(x, x).sort(1, false).0.select(1, k)
}

/// For each row of `points`, whether it lies inside the manifold: the union of the balls
/// around `manifold`'s rows with `radii`.
pub fn inside_manifold(points: &Tensor, manifold: &Tensor, radii: &Tensor) -> Vec<bool> {
    let inside = distances(points, manifold)
        .le_tensor(&radii.unsqueeze(0))
        .any_dim(1, false);
    Vec::<bool>::try_from(inside).expect("bool vector")
}

/// Bootstrap of the Fréchet distance, resampling both sets. A resample repeats images, which
/// biases FD upwards (fewer distinct images), so the percentiles of the draws would not even
/// bracket the estimate: the interval is the normal one, the estimate ± 1.96 standard
/// deviations of the draws (Efron & Tibshirani 1993, §13.3).
pub(super) fn bootstrap_fd(a: &Tensor, b: &Tensor, draws: &Draws) -> Estimate {
    let draws = draws
        .generated
        .iter()
        .zip(&draws.real)
        .map(|(ia, ib)| {
            frechet_distance(
                &a.index_select(0, &Tensor::from_slice(ia)),
                &b.index_select(0, &Tensor::from_slice(ib)),
            )
        })
        .collect::<Vec<f64>>();
    let value = frechet_distance(a, b);
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let sd = (draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>()
        / (draws.len() - 1).max(1) as f64)
        .sqrt();
    Estimate {
        value,
        low: (value - 1.96 * sd).max(0.0),
        high: value + 1.96 * sd,
    }
}
