//! Image grids: contact sheets, breed grids, sweeps and trajectories.

use image::{Rgb, RgbImage, imageops};
use plotters::prelude::*;

use crate::{PlotError, Result, ensure_font};

/// Tiles of equal size in rows and columns, with optional row labels on the left and column
/// labels on top.
#[derive(Debug, Clone)]
pub struct ImageGrid {
    pub cols: usize,
    /// Each tile is scaled up by this integer factor (nearest neighbour, so pixels stay crisp).
    pub scale: u32,
    pub gap: u32,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    pub title: Option<String>,
}

impl ImageGrid {
    pub fn new(cols: usize) -> Self {
        ImageGrid {
            cols: cols.max(1),
            scale: 1,
            gap: 2,
            row_labels: Vec::new(),
            col_labels: Vec::new(),
            title: None,
        }
    }
    pub fn scale(mut self, scale: u32) -> Self {
        self.scale = scale.max(1);
        self
    }
    pub fn row_labels(mut self, labels: Vec<String>) -> Self {
        self.row_labels = labels;
        self
    }
    pub fn col_labels(mut self, labels: Vec<String>) -> Self {
        self.col_labels = labels;
        self
    }
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// What the grid writes around its tiles: title, row labels, column labels. For
    /// `tinycats_notebook::chaotic_image`, as [`crate::LineChart::texts`].
    pub fn texts(&self) -> Vec<String> {
        self.title
            .iter()
            .chain(&self.row_labels)
            .chain(&self.col_labels)
            .filter(|t| !t.is_empty())
            .cloned()
            .collect()
    }

    /// Lays out `tiles` row by row. All tiles must have the same size.
    pub fn render(&self, tiles: &[RgbImage]) -> Result<RgbImage> {
        let first = tiles
            .first()
            .ok_or_else(|| PlotError::Input("an image grid of no images".into()))?;
        let (tw, th) = first.dimensions();
        if let Some(bad) = tiles.iter().position(|t| t.dimensions() != (tw, th)) {
            return Err(PlotError::Input(format!(
                "grid tile {bad} is {:?}, tile 0 is {:?}: tiles must share one size",
                tiles[bad].dimensions(),
                (tw, th)
            )));
        }
        let (tw, th) = (tw * self.scale, th * self.scale);
        let rows = tiles.len().div_ceil(self.cols);
        let left = if self.row_labels.is_empty() {
            0
        } else {
            self.row_labels
                .iter()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0) as u32
                * 8
                + 12
        };
        let title_h = if self.title.is_some() { 26 } else { 0 };
        let top = title_h + if self.col_labels.is_empty() { 0 } else { 20 };
        let g = self.gap;
        let width = left + self.cols as u32 * (tw + g) + g;
        let height = top + rows as u32 * (th + g) + g;
        let mut canvas = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
        for (i, tile) in tiles.iter().enumerate() {
            let (r, c) = ((i / self.cols) as u32, (i % self.cols) as u32);
            let tile = upscale_nearest(tile, self.scale);
            imageops::replace(
                &mut canvas,
                &tile,
                (left + g + c * (tw + g)) as i64,
                (top + g + r * (th + g)) as i64,
            );
        }
        if left > 0 || top > 0 {
            self.draw_labels(&mut canvas, left, top, title_h, tw, th)?;
        }
        Ok(canvas)
    }

    fn draw_labels(
        &self,
        canvas: &mut RgbImage,
        left: u32,
        top: u32,
        title_h: u32,
        tw: u32,
        th: u32,
    ) -> Result<()> {
        ensure_font();
        let (w, h) = canvas.dimensions();
        let err = |e: String| PlotError::Draw {
            title: self.title.clone().unwrap_or_default(),
            message: e,
        };
        let root = BitMapBackend::with_buffer(canvas.as_mut(), (w, h)).into_drawing_area();
        let style = ("sans-serif", 13).into_font().color(&BLACK);
        if let Some(title) = &self.title {
            root.draw(&Text::new(
                title.as_str(),
                (6, 5),
                ("sans-serif", 17).into_font().color(&BLACK),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
        for (r, label) in self.row_labels.iter().enumerate() {
            let y = top + self.gap + r as u32 * (th + self.gap) + th / 2 - 7;
            root.draw(&Text::new(label.as_str(), (4, y as i32), style.clone()))
                .map_err(|e| err(e.to_string()))?;
        }
        for (c, label) in self.col_labels.iter().enumerate() {
            let x = left + self.gap + c as u32 * (tw + self.gap) + 2;
            root.draw(&Text::new(
                label.as_str(),
                (x as i32, (title_h + 3) as i32),
                style.clone(),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
        Ok(())
    }
}

/// Panels placed left to right on white, `gap` pixels apart, each centred vertically (an
/// input image beside its chart, say).
pub fn side_by_side(panels: &[RgbImage], gap: u32) -> RgbImage {
    let height = panels.iter().map(RgbImage::height).max().unwrap_or(0);
    let width = panels.iter().map(RgbImage::width).sum::<u32>()
        + gap * panels.len().saturating_sub(1) as u32;
    let mut out = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let mut x = 0;
    for panel in panels {
        let y = (height - panel.height()) / 2;
        imageops::replace(&mut out, panel, i64::from(x), i64::from(y));
        x += panel.width() + gap;
    }
    out
}

/// Scales an image up by an integer factor, nearest neighbour.
pub fn upscale_nearest(img: &RgbImage, factor: u32) -> RgbImage {
    if factor <= 1 {
        return img.clone();
    }
    imageops::resize(
        img,
        img.width() * factor,
        img.height() * factor,
        imageops::FilterType::Nearest,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_s_texts_are_its_title_then_row_and_column_labels() {
        let grid = ImageGrid::new(2)
            .row_labels(vec!["step 0".into(), "step 10".into()])
            .col_labels(vec!["a".into(), "b".into()])
            .title("previews");
        assert_eq!(grid.texts(), ["previews", "step 0", "step 10", "a", "b"]);
        assert!(ImageGrid::new(1).texts().is_empty());
    }

    #[test]
    fn panels_sit_side_by_side_centred() {
        let red = RgbImage::from_pixel(2, 4, Rgb([255, 0, 0]));
        let blue = RgbImage::from_pixel(3, 2, Rgb([0, 0, 255]));
        let out = side_by_side(&[red, blue], 1);
        assert_eq!(out.dimensions(), (6, 4));
        assert_eq!(out.get_pixel(0, 3), &Rgb([255, 0, 0]));
        assert_eq!(
            out.get_pixel(2, 1),
            &Rgb([255, 255, 255]),
            "the gap is white"
        );
        assert_eq!(
            out.get_pixel(3, 0),
            &Rgb([255, 255, 255]),
            "blue is centred"
        );
        assert_eq!(out.get_pixel(3, 1), &Rgb([0, 0, 255]));
        assert_eq!(out.get_pixel(5, 2), &Rgb([0, 0, 255]));
        assert_eq!(out.get_pixel(5, 3), &Rgb([255, 255, 255]));
    }

    #[test]
    fn tiles_land_where_the_layout_says() {
        let red = RgbImage::from_pixel(4, 4, Rgb([255, 0, 0]));
        let blue = RgbImage::from_pixel(4, 4, Rgb([0, 0, 255]));
        let grid = ImageGrid::new(2)
            .scale(2)
            .render(&[red.clone(), blue.clone(), red])
            .unwrap();
        // 2 columns of 8 px tiles with 2 px gaps; 2 rows.
        assert_eq!(grid.dimensions(), (2 + 2 * 10, 2 + 2 * 10));
        assert_eq!(grid.get_pixel(3, 3).0, [255, 0, 0]);
        assert_eq!(grid.get_pixel(13, 3).0, [0, 0, 255]);
        assert_eq!(
            grid.get_pixel(13, 13).0,
            [255, 255, 255],
            "the empty cell stays white"
        );
    }

    #[test]
    fn tiles_of_different_sizes_are_refused() {
        let a = RgbImage::new(4, 4);
        let b = RgbImage::new(5, 4);
        let err = ImageGrid::new(2).render(&[a, b]).unwrap_err().to_string();
        assert!(err.contains("tile 1"), "{err}");
    }
}
