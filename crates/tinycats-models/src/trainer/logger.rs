//! `metrics.csv` (one row per optimiser step; validation columns filled at evaluations) and
//! the progress display: an indicatif bar on a terminal, plain lines otherwise.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{ModelError, Result};

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub step: u64,
    pub epoch: u64,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    /// Task-specific validation metrics, in the order of the logger's `metric_names`.
    pub val_metrics: Vec<f64>,
    pub lr: f64,
    pub images_per_s: f64,
    /// Task-specific metrics of the step's training batches, in the order of the logger's
    /// `train_metric_names` (the last columns, `train_<name>`).
    pub train_metrics: Vec<f64>,
}

/// Appends rows to `metrics.csv`.
#[derive(Debug)]
pub struct CsvLogger {
    path: PathBuf,
    file: std::fs::File,
    columns: usize,
    train_columns: usize,
}

impl CsvLogger {
    /// Opens `path` with the columns `val_<name>` of `metric_names` and, last,
    /// `train_<name>` of `train_metric_names`. When `resume_step` is set, keeps the rows up
    /// to that step (the ones a checkpoint covers) and drops the rest; otherwise starts a
    /// new file.
    pub fn open(
        path: &Path,
        metric_names: &[String],
        train_metric_names: &[String],
        resume_step: Option<u64>,
    ) -> Result<Self> {
        let mut header = String::from("step,epoch,train_loss,val_loss");
        for name in metric_names {
            write!(header, ",val_{name}").unwrap();
        }
        header.push_str(",lr,images_per_s");
        for name in train_metric_names {
            write!(header, ",train_{name}").unwrap();
        }
        header.push('\n');
        let mut text = header.clone();
        if let Some(step) = resume_step
            && let Ok(old) = std::fs::read_to_string(path)
        {
            for line in old.lines().skip(1) {
                let row_step: Option<u64> = line.split(',').next().and_then(|s| s.parse().ok());
                if row_step.is_some_and(|s| s <= step) {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        crate::io::write_atomic(path, text.as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(ModelError::io(path))?;
        Ok(CsvLogger {
            path: path.to_path_buf(),
            file,
            columns: metric_names.len(),
            train_columns: train_metric_names.len(),
        })
    }

    /// Appends `row` (floats in Rust's shortest round-trip form, so values survive exactly).
    pub fn log(&mut self, row: &Row) -> Result<()> {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut line = format!(
            "{},{},{},{}",
            row.step,
            row.epoch,
            row.train_loss,
            opt(row.val_loss)
        );
        for i in 0..self.columns {
            line.push(',');
            line.push_str(&opt(row.val_metrics.get(i).copied()));
        }
        write!(line, ",{},{:.1}", row.lr, row.images_per_s).unwrap();
        for i in 0..self.train_columns {
            line.push(',');
            line.push_str(&opt(row.train_metrics.get(i).copied()));
        }
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(ModelError::io(&self.path))
    }
}

/// Reads a `metrics.csv` written by [`CsvLogger`] back into rows (for plotting training
/// curves). Empty cells are `None`; the `val_<name>` columns land in `val_metrics` in file
/// order, the `train_<name>` columns after `images_per_s` in `train_metrics` (rows written
/// before a run gained them, on a resume, read as NaN).
pub fn read_metrics(path: &Path) -> Result<Vec<Row>> {
    let parse_err = |message: String| ModelError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| parse_err(e.to_string()))?;
    let header = reader
        .headers()
        .map_err(|e| parse_err(e.to_string()))?
        .clone();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            parse_err(format!(
                "no `{name}` column: is this a tinycats metrics.csv?"
            ))
        })
    };
    let (step, epoch, train_loss, val_loss, lr, ips) = (
        col("step")?,
        col("epoch")?,
        col("train_loss")?,
        col("val_loss")?,
        col("lr")?,
        col("images_per_s")?,
    );
    let extra: Vec<usize> = (val_loss + 1..lr).collect();
    let train_extra: Vec<usize> = (ips + 1..header.len())
        .filter(|&i| header[i].starts_with("train_"))
        .collect();
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| parse_err(e.to_string()))?;
        let cell = |i: usize| -> Result<Option<f64>> {
            let raw = record.get(i).unwrap_or("");
            if raw.is_empty() {
                return Ok(None);
            }
            raw.parse().map(Some).map_err(|_| {
                parse_err(format!(
                    "row {}: `{}` = {raw:?} is not a number",
                    line + 2,
                    &header[i]
                ))
            })
        };
        let need = |i: usize| -> Result<f64> {
            cell(i)?
                .ok_or_else(|| parse_err(format!("row {}: `{}` is empty", line + 2, &header[i])))
        };
        rows.push(Row {
            step: need(step)? as u64,
            epoch: need(epoch)? as u64,
            train_loss: need(train_loss)?,
            val_loss: cell(val_loss)?,
            val_metrics: extra
                .iter()
                .map(|&i| Ok(cell(i)?.unwrap_or(f64::NAN)))
                .collect::<Result<_>>()?,
            lr: need(lr)?,
            images_per_s: need(ips)?,
            train_metrics: train_extra
                .iter()
                .map(|&i| Ok(cell(i)?.unwrap_or(f64::NAN)))
                .collect::<Result<_>>()?,
        });
    }
    Ok(rows)
}

/// Training progress on the terminal.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    every: u64,
}

impl Progress {
    /// A bar over `total` steps when stderr is a terminal, else a plain line every `every` steps.
    pub fn new(total: u64, start: u64, every: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} steps [{elapsed_precise}<{eta_precise}] {msg}",
                )
                .expect("valid template"),
            );
            bar.set_position(start);
            bar
        });
        Progress {
            bar,
            every: every.max(1),
        }
    }

    /// Reports the state after `row.step`.
    pub fn update(&self, row: &Row) {
        let mut msg = format!("loss {:.4}", row.train_loss);
        if let Some(v) = row.val_loss {
            write!(msg, " val_loss {v:.4}").unwrap();
        }
        write!(msg, " lr {:.2e} {:.1} img/s", row.lr, row.images_per_s).unwrap();
        match &self.bar {
            Some(bar) => {
                bar.set_position(row.step);
                bar.set_message(msg);
            }
            None if row.step.is_multiple_of(self.every) || row.val_loss.is_some() => {
                println!("step {} epoch {} {msg}", row.step, row.epoch);
            }
            None => {}
        }
    }

    /// Prints a line without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_metrics_returns_what_the_logger_wrote() -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let top1 = ["top1".to_string()];
        let mut log = CsvLogger::open(&path, &top1, &top1, None)?;
        let rows = [
            Row {
                step: 1,
                epoch: 0,
                train_loss: 0.75,
                lr: 1e-4,
                images_per_s: 12.5,
                ..Default::default()
            },
            Row {
                step: 2,
                epoch: 1,
                train_loss: 0.5,
                val_loss: Some(0.625),
                val_metrics: vec![0.875],
                lr: 2e-4,
                images_per_s: 13.0,
                train_metrics: vec![0.5],
            },
        ];
        for row in &rows {
            log.log(row)?;
        }
        drop(log);
        let back = read_metrics(&path)?;
        assert_eq!(back.len(), 2);
        assert_eq!(
            (back[0].step, back[0].train_loss, back[0].val_loss),
            (1, 0.75, None)
        );
        assert!(
            back[0].val_metrics[0].is_nan(),
            "an empty metric cell reads as NaN"
        );
        assert_eq!(
            (back[1].epoch, back[1].val_loss, back[1].val_metrics[0]),
            (1, Some(0.625), 0.875)
        );
        assert_eq!((back[1].lr, back[1].images_per_s), (2e-4, 13.0));
        assert_eq!(back[1].train_metrics, [0.5]);
        assert!(back[0].train_metrics[0].is_nan());

        // A row from before the run logged training metrics (a resume across versions)
        // has fewer cells: they read as NaN.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}3,1,0.25,,,3e-4,14.0\n")).unwrap();
        let back = read_metrics(&path)?;
        assert!(back[2].train_metrics[0].is_nan() && back[2].val_metrics[0].is_nan());

        std::fs::write(&path, "step,loss\n1,0.5\n").unwrap();
        let err = read_metrics(&path).unwrap_err().to_string();
        assert!(err.contains("no `epoch` column"), "{err}");
        Ok(())
    }

    #[test]
    fn resume_keeps_rows_up_to_the_checkpoint() -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let names = vec!["top1".to_string()];
        let mut log = CsvLogger::open(&path, &names, &[], None)?;
        for step in 1..=5 {
            log.log(&Row {
                step,
                train_loss: 0.1 * step as f64,
                lr: 1e-3,
                ..Default::default()
            })?;
        }
        drop(log);
        let mut log = CsvLogger::open(&path, &names, &[], Some(3))?;
        log.log(&Row {
            step: 4,
            val_loss: Some(0.5),
            val_metrics: vec![0.25],
            ..Default::default()
        })?;
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "step,epoch,train_loss,val_loss,val_top1,lr,images_per_s"
        );
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[3].starts_with("3,0,0.30000000000000004,,"), "{text}");
        assert_eq!(lines[4], "4,0,0,0.5,0.25,0,0.0");
        Ok(())
    }
}
