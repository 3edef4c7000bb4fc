//! sRGB colours and the two operations the renderer does on them: blending and shading.

/// An sRGB colour.
pub type Rgb = [u8; 3];

/// Linear interpolation between two colours, `t` in 0..1.
pub(crate) fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    [0, 1, 2].map(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t).round() as u8)
}

/// Multiplies a colour's channels by `f` (clamped).
pub(crate) fn shade(c: Rgb, f: f32) -> Rgb {
    c.map(|v| (v as f32 * f).round().clamp(0.0, 255.0) as u8)
}
