//! What verify-docs found wrong, each with where it is and how to fix it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `path:line`, or `example/step` for run-time problems.
    pub location: String,
    pub what: String,
    pub fix: String,
}

impl Problem {
    pub fn new(
        location: impl Into<String>,
        what: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Problem {
            location: location.into(),
            what: what.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n    fix: {}", self.location, self.what, self.fix)
    }
}

/// Prints every problem and returns an error naming how many there were.
pub fn report(problems: &[Problem]) -> anyhow::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    eprintln!("\nverify-docs found {} problem(s):\n", problems.len());
    for p in problems {
        eprintln!("{p}\n");
    }
    anyhow::bail!(
        "verify-docs failed with {} problem(s) (listed above)",
        problems.len()
    )
}
