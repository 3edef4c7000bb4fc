//! Small pixel operations shared by the wild shift and the photo augmentation: bilinear
//! sampling and an integer blur, both exact on every CPU.

use image::{Rgb, RgbImage};

/// The pixel at `(x, y)` between pixel centres, edges repeated.
pub(crate) fn bilinear(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let max_x = img.width() as f32 - 1.0;
    let max_y = img.height() as f32 - 1.0;
    let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = ((x0 + 1).min(max_x as u32), (y0 + 1).min(max_y as u32));
    let at = |x: u32, y: u32, c: usize| f32::from(img.get_pixel(x, y).0[c]);
    Rgb([0, 1, 2].map(|c| {
        let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
        let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
        (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
    }))
}

/// One pass of the separable [1 2 1]/4 kernel, edges repeated, in integers.
pub(crate) fn blur_121(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let px = |x: i64, y: i64| {
        img.get_pixel(
            x.clamp(0, w as i64 - 1) as u32,
            y.clamp(0, h as i64 - 1) as u32,
        )
        .0
    };
    let horizontal = RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as i64, y as i64);
        let (l, m, r) = (px(x - 1, y), px(x, y), px(x + 1, y));
        Rgb([0, 1, 2]
            .map(|c| ((u16::from(l[c]) + 2 * u16::from(m[c]) + u16::from(r[c]) + 2) / 4) as u8))
    });
    let pv = |x: u32, y: i64| horizontal.get_pixel(x, y.clamp(0, h as i64 - 1) as u32).0;
    RgbImage::from_fn(w, h, |x, y| {
        let y = y as i64;
        let (u, m, d) = (pv(x, y - 1), pv(x, y), pv(x, y + 1));
        Rgb([0, 1, 2]
            .map(|c| ((u16::from(u[c]) + 2 * u16::from(m[c]) + u16::from(d[c]) + 2) / 4) as u8))
    })
}
