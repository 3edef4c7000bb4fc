//! Where a trained model came from: the git revision, the date and the command line.

use serde::{Deserialize, Serialize};

/// Where a trained model came from: enough to repeat the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Optimiser steps taken.
    pub steps: u64,
    /// `git rev-parse HEAD` of the code that trained it, with `-dirty` appended when the
    /// working tree had uncommitted changes (`unknown` outside a checkout).
    pub git_revision: String,
    /// UTC date of the end of training, `YYYY-MM-DD`.
    pub date: String,
    /// The command line that trained it.
    #[serde(default)]
    pub command: String,
}

impl Provenance {
    /// Captures the git revision (call it when training starts: the checkout may move on
    /// while a long run trains), today's date and this process's command line.
    pub fn capture(steps: u64) -> Self {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
        };
        let git_revision = match git(&["rev-parse", "HEAD"]) {
            Some(rev) => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.trim().is_empty());
                format!("{}{}", rev.trim(), if dirty { "-dirty" } else { "" })
            }
            None => "unknown".to_string(),
        };
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        Provenance {
            steps,
            git_revision,
            date: utc_date_today(),
            command,
        }
    }

    /// The same provenance after `steps` optimiser steps, dated today.
    pub fn finished(&self, steps: u64) -> Self {
        Provenance {
            steps,
            date: utc_date_today(),
            ..self.clone()
        }
    }
}

/// Today's UTC date as `YYYY-MM-DD` (civil-from-days, H. Hinnant's algorithm).
fn utc_date_today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_date_has_iso_shape() {
        let d = utc_date_today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"), "{d}");
    }
}
