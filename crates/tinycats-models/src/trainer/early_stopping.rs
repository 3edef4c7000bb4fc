//! Early stopping on a monitored validation value (Lightning's `EarlyStopping` semantics:
//! an evaluation improves when it beats the best by more than `min_delta`; the run stops
//! after `patience` evaluations without improvement).

use serde::{Deserialize, Serialize};

/// Early-stopping settings and state (the state is saved in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Evaluations without improvement before stopping (0 disables early stopping).
    pub patience: u32,
    /// The smallest decrease that counts as an improvement.
    pub min_delta: f64,
    /// The best (lowest) value seen.
    pub best: Option<f64>,
    /// Evaluations since the best.
    pub bad_evals: u32,
    /// The step of the best value (set by the trainer; absent in checkpoints written
    /// before it was recorded).
    #[serde(default)]
    pub best_step: Option<u64>,
}

impl EarlyStopping {
    pub fn new(patience: u32, min_delta: f64) -> Self {
        EarlyStopping {
            patience,
            min_delta,
            best: None,
            bad_evals: 0,
            best_step: None,
        }
    }

    /// Records a monitored value; returns `true` when the run should stop.
    pub fn observe(&mut self, value: f64) -> bool {
        // NaN compares false with everything, so it would otherwise become the "best".
        if !value.is_finite() {
            self.bad_evals += 1;
            return self.patience > 0 && self.bad_evals >= self.patience;
        }
        match self.best {
            Some(best) if value >= best - self.min_delta => self.bad_evals += 1,
            _ => {
                self.best = Some(value);
                self.bad_evals = 0;
            }
        }
        self.patience > 0 && self.bad_evals >= self.patience
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_value_is_never_the_best() {
        let mut es = EarlyStopping::new(2, 0.0);
        assert!(!es.observe(f64::NAN));
        assert_eq!(es.best, None);
        assert!(!es.observe(0.5));
        assert_eq!(es.best, Some(0.5));
        assert!(!es.observe(f64::NAN));
        assert!(
            es.observe(f64::INFINITY),
            "two bad evaluations in a row stop the run"
        );
        assert_eq!(es.best, Some(0.5));
    }

    #[test]
    fn stops_after_patience_evaluations_without_improvement() {
        let mut es = EarlyStopping::new(2, 0.01);
        assert!(!es.observe(1.0));
        assert!(!es.observe(0.995)); // within min_delta: not an improvement
        assert!(!es.observe(0.9)); // improvement resets the count
        assert!(!es.observe(0.95));
        assert!(es.observe(0.91));
        assert_eq!(es.best, Some(0.9));
    }
}
