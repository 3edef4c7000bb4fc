//! Bootstrap intervals (Efron & Tibshirani 1993): the images are resampled with replacement,
//! seeded, and a figure's 95 % interval read from its value over the resamples.

use serde::Serialize;
use tinycats_core::seed::derive; // the resamples' indices

/// A figure with its 95 % bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(3);
        write!(
            f,
            "{:.p$} [{:.p$}, {:.p$}]",
            self.value, self.low, self.high
        )
    }
}

/// The 2.5 % and 97.5 % quantiles of `draws` around `value`.
pub(super) fn interval(value: f64, mut draws: Vec<f64>) -> Estimate {
    draws.sort_by(f64::total_cmp);
    let q = |p: f64| draws[((draws.len() - 1) as f64 * p).round() as usize];
    Estimate {
        value,
        low: q(0.025),
        high: q(0.975),
    }
}

/// `rounds` bootstrap resamples of `0..n` (with replacement), from `seed`.
pub(super) fn resamples(n: usize, rounds: usize, seed: u64) -> Vec<Vec<i64>> {
    (0..rounds as u64)
        .map(|r| {
            (0..n as u64)
                .map(|i| (derive(seed, &[r, i]) % n as u64) as i64)
                .collect()
        })
        .collect()
}

/// The mean of `values` at `idx`.
pub(super) fn mean_at(values: &[f64], idx: &[i64]) -> f64 {
    idx.iter().map(|&i| values[i as usize]).sum::<f64>() / idx.len() as f64
}

/// The median (upper middle) of `values` at `idx`.
pub(super) fn median_at(values: &[f64], idx: &[i64]) -> f64 {
    let mut s: Vec<f64> = idx.iter().map(|&i| values[i as usize]).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// `stat` of `values` with an interval from the given resamples.
pub(super) fn bootstrap_stat(
    values: &[f64],
    draws: &[Vec<i64>],
    stat: fn(&[f64], &[i64]) -> f64,
) -> Estimate {
    let all: Vec<i64> = (0..values.len() as i64).collect();
    let d = draws.iter().map(|r| stat(values, r)).collect();
    interval(stat(values, &all), d)
}

/// `stat(generated) / stat(real)` with an interval, resampling both sets independently.
pub(super) fn bootstrap_ratio(
    generated: &[f64],
    real: &[f64],
    draws: &Draws,
    stat: fn(&[f64], &[i64]) -> f64,
) -> Estimate {
    let all: Vec<i64> = (0..generated.len() as i64).collect();
    let d = draws
        .generated
        .iter()
        .zip(&draws.real)
        .map(|(g, r)| stat(generated, g) / stat(real, r))
        .collect();
    interval(stat(generated, &all) / stat(real, &all), d)
}

/// The mean of `values` with a bootstrap interval.
pub fn bootstrap_mean(values: &[f64], rounds: usize, seed: u64) -> Estimate {
    bootstrap_stat(values, &resamples(values.len(), rounds, seed), mean_at)
}

/// The resamples every bootstrap in [`measure`] shares, drawn once: one stream for the
/// generated set, an independent one for the real set (both sets have the same size).
pub(super) struct Draws {
    pub(super) generated: Vec<Vec<i64>>,
    pub(super) real: Vec<Vec<i64>>,
}

impl Draws {
    pub(super) fn new(n: usize, rounds: usize, seed: u64) -> Self {
        Draws {
            generated: resamples(n, rounds, seed),
            real: resamples(n, rounds, seed ^ 0x5eed),
        }
    }
}
