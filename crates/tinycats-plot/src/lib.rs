//! Plots and image grids for the tinycats book, written as deterministic PNGs.
//!
//! Charts are drawn with [plotters](https://docs.rs/plotters) into an in-memory RGB buffer
//! and saved by [`save_png`], which writes no timestamp or other varying metadata and
//! replaces the file atomically. Text uses the bundled DejaVu Sans, so a chart renders the
//! same on every machine.

mod charts;
mod diagram;
mod grid;
mod heatmap;
mod plane;

pub use charts::{BarChart, Corner, LineChart, Series, VLine};
pub use diagram::{Diagram, Node, Side};
pub use grid::{ImageGrid, side_by_side, upscale_nearest};
pub use heatmap::{confusion_figure, heatmap, overlay, viridis};
pub use plane::{Layer, Plane, Shape};

use std::path::{Path, PathBuf};
use std::sync::Once;

use image::RgbImage;

/// Errors from drawing or saving a figure.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot draw the figure `{title}`: {message}")]
    Draw { title: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path} as PNG: {source}")]
    Encode {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("bad figure input: {0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, PlotError>;

static FONT: Once = Once::new();

/// Registers the bundled font as plotters' `sans-serif` (once per process).
pub(crate) fn ensure_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../fonts/DejaVuSans.ttf");
        // A font that fails to load would leave every label blank: fail loudly instead.
        if plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
            .is_err()
        {
            panic!("the bundled DejaVuSans.ttf could not be loaded by plotters");
        }
    });
}

/// Saves `img` as PNG at `path`: deterministic bytes (no timestamps), written atomically
/// ([`tinycats_core::fs::write_atomic`]). Creates the folder if needed.
pub fn save_png(img: &RgbImage, path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    let write_err = |source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(|source| PlotError::Encode {
            path: path.to_path_buf(),
            source,
        })?;
    tinycats_core::fs::write_atomic(path, png.get_ref()).map_err(write_err)?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_pngs_are_byte_identical_across_saves() {
        let dir = tempfile::tempdir().unwrap();
        let img = BarChart::new("t", vec!["a".into(), "b".into()], vec![1.0, 2.0])
            .render(200, 150)
            .unwrap();
        let a = save_png(&img, dir.path().join("a.png")).unwrap();
        let b = save_png(&img, dir.path().join("sub/b.png")).unwrap();
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        // No temporaries left beside them.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a.png", "sub"]);
    }
}
