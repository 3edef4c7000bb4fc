//! Box-and-arrow diagrams in pixel coordinates: a model's architecture, drawn by the example
//! that uses the model, so the figure follows the code.

use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::charts::{PALETTE, draw_err, into_image};
use crate::{PlotError, Result, ensure_font};

/// One labelled box; `lines` are drawn centred, one per line.
#[derive(Debug, Clone)]
pub struct Node {
    pub lines: Vec<String>,
    /// Top-left corner and size, in pixels.
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    /// Palette colour of the fill (drawn light), or `None` for white.
    pub color: Option<usize>,
}

/// Where an arrow leaves or enters a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Top,
    Bottom,
    Left,
    Right,
}

/// A diagram of boxes joined by arrows.
#[derive(Debug, Clone, Default)]
pub struct Diagram {
    pub title: String,
    pub nodes: Vec<Node>,
    /// (from node, its side, to node, its side).
    pub arrows: Vec<(usize, Side, usize, Side)>,
}

impl Diagram {
    pub fn new(title: impl Into<String>) -> Self {
        Diagram {
            title: title.into(),
            ..Default::default()
        }
    }

    /// Adds a box and returns its index, for [`Diagram::arrow`].
    pub fn node<S: Into<String>>(
        &mut self,
        lines: impl IntoIterator<Item = S>,
        (x, y, w, h): (i32, i32, i32, i32),
        color: Option<usize>,
    ) -> usize {
        self.nodes.push(Node {
            lines: lines.into_iter().map(Into::into).collect(),
            x,
            y,
            w,
            h,
            color,
        });
        self.nodes.len() - 1
    }

    /// An arrow from `from`'s side `a` to `to`'s side `b`.
    pub fn arrow(&mut self, from: usize, a: Side, to: usize, b: Side) {
        self.arrows.push((from, a, to, b));
    }

    fn anchor(&self, i: usize, side: Side) -> (i32, i32) {
        let n = &self.nodes[i];
        match side {
            Side::Top => (n.x + n.w / 2, n.y),
            Side::Bottom => (n.x + n.w / 2, n.y + n.h),
            Side::Left => (n.x, n.y + n.h / 2),
            Side::Right => (n.x + n.w, n.y + n.h / 2),
        }
    }

    pub fn render(&self, width: u32, height: u32) -> Result<RgbImage> {
        for &(a, _, b, _) in &self.arrows {
            if a >= self.nodes.len() || b >= self.nodes.len() {
                return Err(PlotError::Input(format!(
                    "diagram `{}`: an arrow joins box {a} and box {b}, but there are {} boxes",
                    self.title,
                    self.nodes.len()
                )));
            }
        }
        ensure_font();
        let err = draw_err(&self.title);
        let mut buf = vec![0u8; (width * height * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
            let centred = |size| {
                ("sans-serif", size)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Center))
            };
            root.draw(&Text::new(
                self.title.as_str(),
                (width as i32 / 2, 14),
                centred(17),
            ))
            .map_err(|e| err(e.to_string()))?;
            for n in &self.nodes {
                let fill = n.color.map_or(WHITE, |c| {
                    let p = PALETTE[c % PALETTE.len()];
                    // A light tint of the palette colour, so black text stays readable.
                    RGBColor(
                        (255 - (255 - p.0 as u16) * 30 / 100) as u8,
                        (255 - (255 - p.1 as u16) * 30 / 100) as u8,
                        (255 - (255 - p.2 as u16) * 30 / 100) as u8,
                    )
                });
                let corners = [(n.x, n.y), (n.x + n.w, n.y + n.h)];
                root.draw(&Rectangle::new(corners, fill.filled()))
                    .map_err(|e| err(e.to_string()))?;
                root.draw(&Rectangle::new(corners, BLACK.stroke_width(1)))
                    .map_err(|e| err(e.to_string()))?;
                let line_h = 16;
                let top = n.y + n.h / 2 - (n.lines.len() as i32 - 1) * line_h / 2;
                for (k, line) in n.lines.iter().enumerate() {
                    let size = if k == 0 { 14 } else { 12 };
                    root.draw(&Text::new(
                        line.as_str(),
                        (n.x + n.w / 2, top + k as i32 * line_h),
                        centred(size),
                    ))
                    .map_err(|e| err(e.to_string()))?;
                }
            }
            for &(a, sa, b, sb) in &self.arrows {
                let (from, to) = (self.anchor(a, sa), self.anchor(b, sb));
                for seg in arrow_px(from, to) {
                    root.draw(&PathElement::new(seg, BLACK.stroke_width(2)))
                        .map_err(|e| err(e.to_string()))?;
                }
            }
            root.present().map_err(|e| err(e.to_string()))?;
        }
        Ok(into_image(buf, width, height))
    }
}

/// A straight arrow in pixels with a 9-px head.
fn arrow_px(from: (i32, i32), to: (i32, i32)) -> Vec<Vec<(i32, i32)>> {
    let (dx, dy) = ((to.0 - from.0) as f64, (to.1 - from.1) as f64);
    let len = dx.hypot(dy).max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let head = |turn: f64| {
        let (c, s) = (turn.cos(), turn.sin());
        let (rx, ry) = (-ux * c + uy * s, -uy * c - ux * s);
        (
            to.0 + (9.0 * rx).round() as i32,
            to.1 + (9.0 * ry).round() as i32,
        )
    };
    let a = 25f64.to_radians();
    vec![vec![from, to], vec![head(a), to, head(-a)]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_arrows_are_drawn_where_they_are_placed() {
        let mut d = Diagram::new("test");
        let a = d.node(["input"], (20, 40, 100, 40), Some(0));
        let b = d.node(["output", "(2 lines)"], (20, 140, 100, 50), None);
        d.arrow(a, Side::Bottom, b, Side::Top);
        let img = d.render(200, 220).unwrap();
        // The tinted fill inside box a, white inside box b away from its text, and the
        // arrow's shaft halfway between the boxes.
        let tint = img.get_pixel(25, 45).0;
        assert!(tint != [255, 255, 255] && tint[2] > tint[0], "{tint:?}");
        assert_eq!(img.get_pixel(25, 185).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(70, 110).0, [0, 0, 0]);
        d.arrow(a, Side::Right, 7, Side::Left);
        assert!(d.render(200, 220).is_err());
    }
}
