//! A thin drawing layer over tiny-skia: local (head-centred) coordinates, colours with
//! alpha, optional clip masks, and smooth closed shapes through control polygons.
use tiny_skia::{
    FillRule, LineCap, LineJoin, Mask, Paint, Path, PathBuilder, Pixmap, Point, Rect, Shader,
    Stroke, Transform,
};

use super::colour::Rgb;

pub(crate) fn color(c: Rgb, alpha: f32) -> tiny_skia::Color {
    tiny_skia::Color::from_rgba8(
        c[0],
        c[1],
        c[2],
        (alpha.clamp(0.0, 1.0) * 255.0).round() as u8,
    )
}

pub(crate) fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Option<Path> {
    PathBuilder::from_oval(Rect::from_xywh(cx - rx, cy - ry, 2.0 * rx, 2.0 * ry)?)
}

pub(crate) fn polyline(points: &[(f32, f32)]) -> Option<Path> {
    let mut pb = PathBuilder::new();
    let (first, rest) = points.split_first()?;
    pb.move_to(first.0, first.1);
    for p in rest {
        pb.line_to(p.0, p.1);
    }
    pb.finish()
}

/// An open curve through `points` (quadratic B-spline through midpoints, ends exact).
pub(crate) fn curve(points: &[(f32, f32)]) -> Option<Path> {
    if points.len() < 3 {
        return polyline(points);
    }
    let mut pb = PathBuilder::new();
    pb.move_to(points[0].0, points[0].1);
    for w in points.windows(2).skip(1).take(points.len() - 3) {
        let m = ((w[0].0 + w[1].0) / 2.0, (w[0].1 + w[1].1) / 2.0);
        pb.quad_to(w[0].0, w[0].1, m.0, m.1);
    }
    let n = points.len();
    pb.quad_to(
        points[n - 2].0,
        points[n - 2].1,
        points[n - 1].0,
        points[n - 1].1,
    );
    pb.finish()
}

/// A smooth closed shape whose control polygon is `points`.
pub(crate) fn blob(points: &[(f32, f32)]) -> Option<Path> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let mid = |i: usize| {
        let (a, b) = (points[i % n], points[(i + 1) % n]);
        ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
    };
    let mut pb = PathBuilder::new();
    let m0 = mid(0);
    pb.move_to(m0.0, m0.1);
    for i in 1..=n {
        let c = points[i % n];
        let m = mid(i);
        pb.quad_to(c.0, c.1, m.0, m.1);
    }
    pb.close();
    pb.finish()
}

/// A closed polygon.
pub(crate) fn polygon(points: &[(f32, f32)]) -> Option<Path> {
    let mut pb = PathBuilder::new();
    let (first, rest) = points.split_first()?;
    pb.move_to(first.0, first.1);
    for p in rest {
        pb.line_to(p.0, p.1);
    }
    pb.close();
    pb.finish()
}

/// Draws into a pixmap through a fixed local-to-pixel transform.
pub(crate) struct Canvas<'a> {
    pub pixmap: &'a mut Pixmap,
    pub ts: Transform,
}

impl Canvas<'_> {
    pub fn fill(&mut self, path: Option<Path>, c: Rgb, alpha: f32, mask: Option<&Mask>) {
        if let Some(path) = path {
            let mut paint = Paint::default();
            paint.set_color(color(c, alpha));
            paint.anti_alias = true;
            self.pixmap
                .fill_path(&path, &paint, FillRule::Winding, self.ts, mask);
        }
    }

    pub fn fill_shader(
        &mut self,
        path: Option<Path>,
        shader: Option<Shader<'static>>,
        mask: Option<&Mask>,
    ) {
        if let (Some(path), Some(shader)) = (path, shader) {
            let paint = Paint {
                shader,
                anti_alias: true,
                ..Paint::default()
            };
            self.pixmap
                .fill_path(&path, &paint, FillRule::Winding, self.ts, mask);
        }
    }

    pub fn stroke(
        &mut self,
        path: Option<Path>,
        c: Rgb,
        alpha: f32,
        width: f32,
        mask: Option<&Mask>,
    ) {
        if let Some(path) = path {
            let mut paint = Paint::default();
            paint.set_color(color(c, alpha));
            paint.anti_alias = true;
            let stroke = Stroke {
                width,
                line_cap: LineCap::Round,
                line_join: LineJoin::Round,
                ..Stroke::default()
            };
            self.pixmap
                .stroke_path(&path, &paint, &stroke, self.ts, mask);
        }
    }

    /// A mask covering `paths` (union), in this canvas's coordinates.
    pub fn mask(&self, paths: &[&Path]) -> Option<Mask> {
        let mut mask = Mask::new(self.pixmap.width(), self.pixmap.height())?;
        for p in paths {
            mask.fill_path(p, FillRule::Winding, true, self.ts);
        }
        Some(mask)
    }
}

pub(crate) fn pt(x: f32, y: f32) -> Point {
    Point::from_xy(x, y)
}
