//! A square 2-D plane with points, arrows and paths: the toy flows of the book (data and
//! noise clouds, vector fields, sample trajectories).

use image::RgbImage;
use plotters::prelude::*;

use crate::charts::{PALETTE, draw_err, into_image, tick_label};
use crate::{PlotError, Result, ensure_font};

/// How a [`Plane`] layer is drawn.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Dots of `radius` pixels.
    Points {
        points: Vec<(f64, f64)>,
        radius: u32,
    },
    /// Arrows from `from` along `delta` (in plane units), with a head.
    Arrows {
        arrows: Vec<((f64, f64), (f64, f64))>,
    },
    /// Open polylines.
    Paths { paths: Vec<Vec<(f64, f64)>> },
}

/// One layer of a [`Plane`]: drawn in order, named in the legend unless the name is empty.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub shape: Shape,
    /// Palette colour (`None`: a light grey for context, such as the data behind samples).
    pub color: Option<usize>,
    /// Opacity in (0, 1].
    pub opacity: f64,
    /// Line width in pixels (arrows and paths).
    pub width: u32,
}

/// A square plane over `center ± extent` on both axes, with equal scales.
#[derive(Debug, Clone)]
pub struct Plane {
    pub title: String,
    pub extent: f64,
    pub center: (f64, f64),
    pub layers: Vec<Layer>,
}

impl Plane {
    pub fn new(title: impl Into<String>, extent: f64) -> Self {
        Plane {
            title: title.into(),
            extent,
            center: (0.0, 0.0),
            layers: Vec::new(),
        }
    }

    /// Centres the plane on `(x, y)` (a zoomed view); the default is the origin.
    pub fn center(mut self, x: f64, y: f64) -> Self {
        self.center = (x, y);
        self
    }

    fn push(mut self, name: impl Into<String>, shape: Shape) -> Self {
        let color = Some(self.layers.iter().filter(|l| l.color.is_some()).count());
        self.layers.push(Layer {
            name: name.into(),
            shape,
            color,
            opacity: 1.0,
            width: 1,
        });
        self
    }

    /// Dots (radius 2 px), in the next palette colour.
    pub fn points(self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.push(name, Shape::Points { points, radius: 2 })
    }

    /// Arrows `(from, delta)`, in the next palette colour.
    pub fn arrows(self, name: impl Into<String>, arrows: Vec<((f64, f64), (f64, f64))>) -> Self {
        self.push(name, Shape::Arrows { arrows })
    }

    /// Polylines, in the next palette colour.
    pub fn paths(self, name: impl Into<String>, paths: Vec<Vec<(f64, f64)>>) -> Self {
        self.push(name, Shape::Paths { paths })
    }

    fn last(&mut self) -> &mut Layer {
        self.layers
            .last_mut()
            .expect("a style applies to the layer added before it")
    }

    /// The last layer in light grey, as context (it keeps its legend entry).
    pub fn grey(mut self) -> Self {
        self.last().color = None;
        self
    }

    /// The last layer's colour: palette entry `i`.
    pub fn color(mut self, i: usize) -> Self {
        self.last().color = Some(i);
        self
    }

    /// The last layer's opacity, in (0, 1].
    pub fn opacity(mut self, opacity: f64) -> Self {
        self.last().opacity = opacity;
        self
    }

    /// The last layer's line width (arrows, paths) or dot radius (points), in pixels.
    pub fn width(mut self, px: u32) -> Self {
        let last = self.last();
        match &mut last.shape {
            Shape::Points { radius, .. } => *radius = px,
            _ => last.width = px,
        }
        self
    }

    fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(PlotError::Input(format!("plane `{}`: {msg}", self.title)));
        if !(self.extent.is_finite() && self.extent > 0.0) {
            return bad(format!("extent {} (use a positive number)", self.extent));
        }
        if !(self.center.0.is_finite() && self.center.1.is_finite()) {
            return bad(format!("center {:?} (use finite numbers)", self.center));
        }
        for l in &self.layers {
            if !(l.opacity > 0.0 && l.opacity <= 1.0) {
                return bad(format!(
                    "layer `{}` opacity {} (use (0, 1])",
                    l.name, l.opacity
                ));
            }
            let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
            let ok = match &l.shape {
                Shape::Points { points, .. } => points.iter().all(finite),
                Shape::Arrows { arrows } => arrows.iter().all(|(a, d)| finite(a) && finite(d)),
                Shape::Paths { paths } => paths.iter().flatten().all(finite),
            };
            if !ok {
                return bad(format!("layer `{}` has a NaN or infinite point", l.name));
            }
        }
        Ok(())
    }

    /// Draws the plane into a `size × size` image (plus the title and the axes).
    pub fn render(&self, size: u32) -> Result<RgbImage> {
        self.check()?;
        ensure_font();
        let err = draw_err(&self.title);
        let (e, (cx, cy)) = (self.extent, self.center);
        // The plotting area is square: the label areas are fixed, so the image is widened
        // by the y labels and heightened by the caption and the x labels.
        let (left, bottom, caption, margin) = (42u32, 30u32, 30u32, 8u32);
        let (width, height) = (
            size + left + 2 * margin,
            size + bottom + caption + 2 * margin,
        );
        let mut buf = vec![0u8; (width * height * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|x| err(x.to_string()))?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.title, ("sans-serif", 16))
                .margin(margin)
                .x_label_area_size(bottom)
                .y_label_area_size(left)
                .build_cartesian_2d(cx - e..cx + e, cy - e..cy + e)
                .map_err(|x| err(x.to_string()))?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(5)
                .x_label_formatter(&|v| tick_label(*v))
                .y_label_formatter(&|v| tick_label(*v))
                .light_line_style(WHITE)
                .bold_line_style(BLACK.mix(0.08))
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(|x| err(x.to_string()))?;
            let units_per_px = 2.0 * e / f64::from(size);
            for layer in &self.layers {
                let base = layer
                    .color
                    .map_or(RGBColor(170, 170, 170), |i| PALETTE[i % PALETTE.len()]);
                let color = base.mix(layer.opacity);
                let style = color.stroke_width(layer.width);
                let legend = match &layer.shape {
                    Shape::Points { points, radius } => {
                        let r = *radius;
                        chart
                            .draw_series(points.iter().map(|&p| Circle::new(p, r, color.filled())))
                            .map_err(|x| err(x.to_string()))?
                    }
                    Shape::Arrows { arrows } => chart
                        .draw_series(arrows.iter().flat_map(|&(from, d)| {
                            arrow(from, d, units_per_px)
                                .into_iter()
                                .map(move |seg| PathElement::new(seg, style))
                        }))
                        .map_err(|x| err(x.to_string()))?,
                    Shape::Paths { paths } => chart
                        .draw_series(paths.iter().map(|p| PathElement::new(p.clone(), style)))
                        .map_err(|x| err(x.to_string()))?,
                };
                if !layer.name.is_empty() {
                    let solid = base.mix(layer.opacity.max(0.6));
                    legend.label(layer.name.as_str()).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 4), (x + 12, y + 4)], solid.filled())
                    });
                }
            }
            if self.layers.iter().any(|l| !l.name.is_empty()) {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .label_font(("sans-serif", 12))
                    .position(SeriesLabelPosition::UpperLeft)
                    .draw()
                    .map_err(|x| err(x.to_string()))?;
            }
            root.present().map_err(|x| err(x.to_string()))?;
        }
        Ok(into_image(buf, width, height))
    }
}

/// An arrow as polylines: the shaft and a head whose sides are a third of the arrow long
/// (at least 3 px, so short arrows still show their direction), 25° off the shaft.
fn arrow(from: (f64, f64), d: (f64, f64), units_per_px: f64) -> Vec<Vec<(f64, f64)>> {
    let to = (from.0 + d.0, from.1 + d.1);
    let len = d.0.hypot(d.1);
    if len < units_per_px * 0.5 {
        return vec![vec![from, to]];
    }
    let head = (len / 3.0).max(3.0 * units_per_px);
    let (ux, uy) = (d.0 / len, d.1 / len);
    let (c, s) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
    let side = |sign: f64| {
        // The shaft's direction, reversed and turned by ±25°.
        let (rx, ry) = (-ux * c + sign * uy * s, -uy * c - sign * ux * s);
        (to.0 + head * rx, to.1 + head * ry)
    };
    vec![vec![from, to], vec![side(1.0), to, side(-1.0)]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(img: &RgbImage, rgb: [u8; 3]) -> usize {
        img.pixels().filter(|p| p.0 == rgb).count()
    }

    #[test]
    fn a_plane_is_square_inside_and_draws_every_layer() {
        let img = Plane::new("toy", 2.0)
            .points("data", vec![(0.0, 0.0), (1.0, 1.0), (-1.5, 0.5)])
            .width(4)
            .arrows("field", vec![((-1.0, -1.0), (0.8, 0.0))])
            .width(2)
            .paths("path", vec![vec![(-2.0, 2.0), (0.0, -1.0), (1.5, -1.5)]])
            .width(2)
            .render(300)
            .unwrap();
        assert_eq!(img.dimensions(), (300 + 42 + 16, 300 + 30 + 30 + 16));
        // Each layer's palette colour appears, blended with nothing (opacity 1).
        for (i, rgb) in [[31, 119, 180], [255, 127, 14], [44, 160, 44]]
            .iter()
            .enumerate()
        {
            assert!(
                count(&img, *rgb) > 20,
                "layer {i} drew {} pixels",
                count(&img, *rgb)
            );
        }
    }

    #[test]
    fn grey_layers_and_bad_input() {
        let img = Plane::new("context", 1.0)
            .points("", vec![(0.0, 0.0)])
            .grey()
            .width(6)
            .render(100)
            .unwrap();
        assert!(count(&img, [170, 170, 170]) > 50);
        let nan = Plane::new("t", 1.0)
            .points("a", vec![(f64::NAN, 0.0)])
            .render(100)
            .unwrap_err();
        assert!(nan.to_string().contains("layer `a` has a NaN"), "{nan}");
        let extent = Plane::new("t", 0.0).render(100).unwrap_err();
        assert!(extent.to_string().contains("extent 0"), "{extent}");
    }

    #[test]
    fn arrow_heads_point_back_along_the_shaft() {
        let segs = arrow((0.0, 0.0), (3.0, 0.0), 0.01);
        assert_eq!(segs[0], vec![(0.0, 0.0), (3.0, 0.0)]);
        let (a, tip, b) = (segs[1][0], segs[1][1], segs[1][2]);
        assert_eq!(tip, (3.0, 0.0));
        // Both sides end behind the tip, one above and one below, a third of the length back.
        assert!(a.0 < 3.0 && b.0 < 3.0 && a.1 * b.1 < 0.0, "{a:?} {b:?}");
        assert!(((3.0 - a.0).hypot(a.1) - 1.0).abs() < 1e-9);
    }
}
