//! Matrices as pictures: each value a square cell coloured on the viridis scale.

use image::{Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{PlotError, Result};

/// Viridis (Smith & van der Walt, matplotlib's default colour map) at nine stops, from dark
/// purple (low) through teal to yellow (high); perceptually uniform and readable in grey.
const VIRIDIS: [[f32; 3]; 9] = [
    [68.0, 1.0, 84.0],
    [71.0, 44.0, 122.0],
    [59.0, 81.0, 139.0],
    [44.0, 113.0, 142.0],
    [33.0, 144.0, 141.0],
    [39.0, 173.0, 129.0],
    [92.0, 200.0, 99.0],
    [170.0, 220.0, 50.0],
    [253.0, 231.0, 37.0],
];

/// The viridis colour of `u` in [0, 1] (clamped), interpolated between the stops.
pub fn viridis(u: f32) -> Rgb<u8> {
    let x = u.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    Rgb([0, 1, 2].map(|c| (a[c] + f * (b[c] - a[c])).round() as u8))
}

/// A `rows × cols` matrix (row-major `values`) as an image of `cell × cell` squares, with
/// `range = (low, high)` mapped onto the colour scale.
pub fn heatmap(
    values: &[f32],
    rows: usize,
    cols: usize,
    cell: u32,
    range: (f32, f32),
) -> Result<RgbImage> {
    if values.len() != rows * cols || rows == 0 || cols == 0 || cell == 0 {
        return Err(PlotError::Input(format!(
            "heatmap: {} values for {rows} × {cols} cells of {cell} px",
            values.len()
        )));
    }
    let (lo, hi) = range;
    if !(lo.is_finite() && hi.is_finite() && hi > lo) || values.iter().any(|v| !v.is_finite()) {
        return Err(PlotError::Input(format!(
            "heatmap: range {range:?} (use finite low < high) or a non-finite value"
        )));
    }
    Ok(RgbImage::from_fn(
        cols as u32 * cell,
        rows as u32 * cell,
        |x, y| {
            let v = values[(y / cell) as usize * cols + (x / cell) as usize];
            viridis((v - lo) / (hi - lo))
        },
    ))
}

/// A coarse `rows × cols` map with values in [0, 1] (row-major; a Grad-CAM map, say)
/// drawn over `image`: the map is upsampled bilinearly to the image's size (cell centres at
/// the centres of the image regions they cover, edges clamped), coloured on the viridis scale
/// and blended in with weight `alpha`.
pub fn overlay(
    image: &RgbImage,
    map: &[f32],
    rows: usize,
    cols: usize,
    alpha: f32,
) -> Result<RgbImage> {
    if map.len() != rows * cols || rows == 0 || cols == 0 {
        return Err(PlotError::Input(format!(
            "overlay: {} values for a {rows} × {cols} map",
            map.len()
        )));
    }
    if !(0.0..=1.0).contains(&alpha) || map.iter().any(|v| !v.is_finite()) {
        return Err(PlotError::Input(format!(
            "overlay: alpha {alpha} (use 0 to 1) or a non-finite map value"
        )));
    }
    let (w, h) = image.dimensions();
    // Position of pixel centre `p` of `n` pixels on a grid of `cells`, as a cell index and
    // the weight of the next cell.
    let locate = |p: u32, n: u32, cells: usize| -> (usize, usize, f32) {
        let x = ((p as f32 + 0.5) * cells as f32 / n as f32 - 0.5).clamp(0.0, (cells - 1) as f32);
        let i = x.floor() as usize;
        (i, (i + 1).min(cells - 1), x - i as f32)
    };
    Ok(RgbImage::from_fn(w, h, |x, y| {
        let (r0, r1, fy) = locate(y, h, rows);
        let (c0, c1, fx) = locate(x, w, cols);
        let at = |r: usize, c: usize| map[r * cols + c];
        let top = at(r0, c0) + fx * (at(r0, c1) - at(r0, c0));
        let bottom = at(r1, c0) + fx * (at(r1, c1) - at(r1, c0));
        let colour = viridis(top + fy * (bottom - top));
        let px = image.get_pixel(x, y);
        image::Rgb([0, 1, 2].map(|c| {
            ((1.0 - alpha) * f32::from(px[c]) + alpha * f32::from(colour[c])).round() as u8
        }))
    }))
}

/// A confusion matrix as a figure: one row per true class and one column per prediction,
/// each cell coloured by its share of the row (viridis: the recall on the diagonal, the
/// confusions off it) and labelled with its count; empty cells stay white. Rows carry the
/// class names, columns their first four letters (`_` read as a space).
pub fn confusion_figure(counts: &[Vec<u64>], names: &[String], title: &str) -> Result<RgbImage> {
    let k = names.len();
    if k == 0 || counts.len() != k || counts.iter().any(|r| r.len() != k) {
        return Err(PlotError::Input(format!(
            "confusion figure: a {} × {} matrix for {k} class names",
            counts.len(),
            counts.first().map_or(0, Vec::len)
        )));
    }
    crate::ensure_font();
    let err = crate::charts::draw_err(title);
    let cell = 34i32;
    let label_w = 8 * names.iter().map(|n| n.chars().count()).max().unwrap_or(1) as i32 + 16;
    let (top, left) = (64i32, label_w + 24);
    let (width, height) = (
        (left + cell * k as i32 + 16) as u32,
        (top + cell * k as i32 + 40) as u32,
    );
    let mut buf = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let font = |size: i32| ("sans-serif", size).into_font();
        let text = |s: &str, pos: (i32, i32), style: TextStyle| {
            root.draw(&Text::new(s.to_owned(), pos, style))
                .map_err(|e| err(e.to_string()))
        };
        let centred = |size: i32, colour: RGBColor| {
            font(size)
                .color(&colour)
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        text(title, (width as i32 / 2, 14), centred(18, BLACK))?;
        text(
            "predicted",
            (left + cell * k as i32 / 2, 36),
            centred(13, BLACK),
        )?;
        text("true", (12, top - 10), font(13).color(&BLACK))?;
        let short = |n: &str| n.replace('_', " ").chars().take(4).collect::<String>();
        for (j, name) in names.iter().enumerate() {
            let x = left + cell * j as i32 + cell / 2;
            text(&short(name), (x, top - 10), centred(11, BLACK))?;
        }
        for (i, row) in counts.iter().enumerate() {
            let y = top + cell * i as i32;
            let name = names[i].replace('_', " ");
            let style = font(12)
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            text(&name, (left - 8, y + cell / 2), style)?;
            let total: u64 = row.iter().sum();
            for (j, &c) in row.iter().enumerate() {
                let x = left + cell * j as i32;
                let share = if total > 0 {
                    c as f32 / total as f32
                } else {
                    0.0
                };
                let fill = if c == 0 {
                    RGBColor(255, 255, 255)
                } else {
                    let v = viridis(share);
                    RGBColor(v[0], v[1], v[2])
                };
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    fill.filled(),
                ))
                .map_err(|e| err(e.to_string()))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(220, 220, 220).stroke_width(1),
                ))
                .map_err(|e| err(e.to_string()))?;
                if c > 0 {
                    // Dark text on the light (yellow-green) end of the scale.
                    let ink = if share > 0.6 { BLACK } else { WHITE };
                    let centre = (x + cell / 2, y + cell / 2);
                    text(&c.to_string(), centre, centred(12, ink))?;
                }
            }
        }
        let note = "cell colour: share of the row (viridis, dark 0 → yellow 1)";
        let foot = top + cell * k as i32 + 20;
        text(note, (left, foot), font(12).color(&RGBColor(90, 90, 90)))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(crate::charts::into_image(buf, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), Rgb([68, 1, 84]));
        assert_eq!(viridis(1.0), Rgb([253, 231, 37]));
        assert_eq!(viridis(-3.0), viridis(0.0), "clamped");
        // Halfway between two stops.
        assert_eq!(viridis(0.0625), Rgb([70, 23, 103]));
    }

    #[test]
    fn cells_are_squares_in_row_major_order() {
        let img = heatmap(&[0.0, 1.0, 1.0, 0.0], 2, 2, 3, (0.0, 1.0)).unwrap();
        assert_eq!(img.dimensions(), (6, 6));
        assert_eq!(img.get_pixel(0, 0), &viridis(0.0));
        assert_eq!(img.get_pixel(5, 0), &viridis(1.0));
        assert_eq!(img.get_pixel(2, 4), &viridis(1.0));
        assert!(heatmap(&[0.0; 3], 2, 2, 3, (0.0, 1.0)).is_err());
        assert!(heatmap(&[0.0; 4], 2, 2, 3, (1.0, 1.0)).is_err());
    }

    #[test]
    fn a_confusion_figure_colours_each_cell_by_its_share_of_the_row() {
        let names: Vec<String> = ["Abyssinian", "Bengal", "Birman"]
            .map(String::from)
            .to_vec();
        // Abyssinian: 3 right, 1 taken for Birman; Bengal: 2 right; Birman: none.
        let counts = vec![vec![3, 0, 1], vec![0, 2, 0], vec![0, 0, 0]];
        let img = confusion_figure(&counts, &names, "test").unwrap();
        // The grid's geometry, as drawn: cells of 34 px from (left, 64).
        let left = 8 * 10 + 16 + 24;
        let px = |i: u32, j: u32| *img.get_pixel(left + 34 * j + 3, 64 + 34 * i + 3);
        assert_eq!(px(0, 0), viridis(0.75), "3 of 4");
        assert_eq!(px(0, 2), viridis(0.25), "1 of 4");
        assert_eq!(px(1, 1), viridis(1.0));
        assert_eq!(px(0, 1), Rgb([255, 255, 255]), "an empty cell stays white");
        assert_eq!(px(2, 2), Rgb([255, 255, 255]), "a class without images too");
        assert!(confusion_figure(&counts[..2], &names, "bad").is_err());
    }

    #[test]
    fn an_overlay_blends_the_upsampled_map_into_the_image() {
        let grey = RgbImage::from_pixel(8, 4, Rgb([100, 100, 100]));
        // Left cell 0, right cell 1, on a 1 × 2 map over an 8 × 4 image.
        let img = overlay(&grey, &[0.0, 1.0], 1, 2, 0.5).unwrap();
        assert_eq!(img.dimensions(), (8, 4));
        let blend = |u: f32| {
            let c = viridis(u);
            Rgb([0, 1, 2].map(|i| (0.5 * 100.0 + 0.5 * f32::from(c[i])).round() as u8))
        };
        // Pixels 0 and 1 sit left of the first cell's centre (x = 2): clamped to it.
        assert_eq!(img.get_pixel(0, 0), &blend(0.0));
        assert_eq!(img.get_pixel(7, 3), &blend(1.0));
        // Pixel 3's centre (3.5) is 3/8 of the way from the left centre (2) to the right (6).
        assert_eq!(img.get_pixel(3, 2), &blend(0.375));
        // Alpha 0 leaves the image as it was.
        assert_eq!(overlay(&grey, &[0.0, 1.0], 1, 2, 0.0).unwrap(), grey);
        assert!(overlay(&grey, &[0.0; 3], 1, 2, 0.5).is_err());
        assert!(overlay(&grey, &[0.0, f32::NAN], 1, 2, 0.5).is_err());
        assert!(overlay(&grey, &[0.0, 1.0], 1, 2, 1.5).is_err());
    }
}
