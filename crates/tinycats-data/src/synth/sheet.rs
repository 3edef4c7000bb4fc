//! Contact sheets: a grid of samples, one labelled row per class.
use image::{Rgb as Px, RgbImage};

/// 3×5 pixel glyphs, one row per u16 nibble triple (top row first, MSB = left).
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_uppercase() {
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'B' => [0b110, 0b101, 0b110, 0b101, 0b110],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'D' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'F' => [0b111, 0b100, 0b110, 0b100, 0b100],
        'G' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'H' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'J' => [0b001, 0b001, 0b001, 0b101, 0b010],
        'K' => [0b101, 0b101, 0b110, 0b101, 0b101],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'N' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'Q' => [0b010, 0b101, 0b101, 0b110, 0b011],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        'V' => [0b101, 0b101, 0b101, 0b101, 0b010],
        'W' => [0b101, 0b101, 0b111, 0b111, 0b101],
        'X' => [0b101, 0b101, 0b010, 0b101, 0b101],
        'Y' => [0b101, 0b101, 0b010, 0b010, 0b010],
        'Z' => [0b111, 0b001, 0b010, 0b100, 0b111],
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b110, 0b001, 0b010, 0b100, 0b111],
        '3' => [0b110, 0b001, 0b010, 0b001, 0b110],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b110, 0b001, 0b110],
        '6' => [0b011, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b110],
        '_' | '-' => [0, 0, 0, 0, 0b111],
        _ => [0; 5],
    }
}

/// Writes `text` at (x, y) with pixels of `scale`×`scale`.
pub(crate) fn draw_text(img: &mut RgbImage, text: &str, x: u32, y: u32, scale: u32, ink: [u8; 3]) {
    for (i, ch) in text.chars().enumerate() {
        let g = glyph(ch);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3u32 {
                if bits >> (2 - col) & 1 == 1 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = x + (i as u32 * 4 + col) * scale + dx;
                            let py = y + row as u32 * scale + dy;
                            if px < img.width() && py < img.height() {
                                img.put_pixel(px, py, Px(ink));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Lays out `rows` of equally sized tiles with a label column on the left.
pub(crate) fn grid(rows: &[(String, Vec<RgbImage>)], tile: u32) -> RgbImage {
    let cols = rows.iter().map(|r| r.1.len()).max().unwrap_or(0) as u32;
    let gap = 2;
    let scale = (tile / 32).max(1);
    let label_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0) as u32 * 4 * scale + 8;
    let w = label_w + cols * (tile + gap) + gap;
    let h = rows.len() as u32 * (tile + gap) + gap;
    let mut img = RgbImage::from_pixel(w, h, Px([250, 250, 250]));
    for (r, (label, tiles)) in rows.iter().enumerate() {
        let y = gap + r as u32 * (tile + gap);
        draw_text(
            &mut img,
            label,
            4,
            y + tile / 2 - 2 * scale,
            scale,
            [20, 20, 20],
        );
        for (c, t) in tiles.iter().enumerate() {
            image::imageops::replace(
                &mut img,
                t,
                (label_w + gap + c as u32 * (tile + gap)) as i64,
                y as i64,
            );
        }
    }
    img
}
