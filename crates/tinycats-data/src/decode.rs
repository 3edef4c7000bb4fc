//! Safe image decoding: size limits against decompression bombs, format sniffing, and
//! normalisation of every input (grey, CMYK, 16-bit, alpha, palette, EXIF-rotated) to
//! upright RGB8.
use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage, metadata::Orientation};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::problem::ProblemKind;

/// File extensions (lower case) that the loaders pick up.
pub const IMAGE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

/// Limits applied to every decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeLimits {
    /// Largest accepted width or height in pixels (the header is checked before decoding).
    pub max_side: u32,
    /// Memory budget of one decode, in bytes: the decoded pixels and every copy made while
    /// normalising them ([`decode_peak_bytes`]), checked from the header before allocation.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_side: 12_000,
            max_alloc: 512 << 20,
        }
    }
}

/// What the input looked like before it was normalised to upright RGB8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTraits {
    pub width: u32,
    pub height: u32,
    pub grayscale: bool,
    pub cmyk: bool,
    pub sixteen_bit: bool,
    pub alpha: bool,
    pub palette: bool,
    pub exif_rotated: bool,
}

/// A decoded, normalised image and what it was before.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: RgbImage,
    pub source: SourceTraits,
}

/// Returns true if `path` has one of [`IMAGE_EXTENSIONS`] (case-insensitively).
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn image_error(
    path: &Path,
    kind: ProblemKind,
    reason: impl Into<String>,
    fix: impl Into<String>,
) -> DataError {
    DataError::Image {
        path: path.to_path_buf(),
        kind,
        reason: reason.into(),
        fix: fix.into(),
    }
}

/// Decodes `path` to upright RGB8 under `limits`. Never panics on bad input: zero-byte
/// files, text with an image extension, truncated data and oversized headers all come
/// back as [`DataError::Image`] naming the file.
pub fn decode_file(path: &Path, limits: &DecodeLimits) -> Result<Decoded> {
    let len = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    if len == 0 {
        return Err(image_error(
            path,
            ProblemKind::EmptyFile,
            "file is empty (0 bytes)",
            "delete it or re-download it",
        ));
    }
    if len > limits.max_alloc {
        return Err(image_error(
            path,
            ProblemKind::TooLarge,
            format!(
                "file is {len} bytes, more than the {} byte limit",
                limits.max_alloc
            ),
            "downscale it, or raise DecodeLimits::max_alloc",
        ));
    }
    // Bounded as well: a link to a device reports length 0 above and never ends.
    let bytes = tinycats_core::fs::read_bounded(path, limits.max_alloc)
        .map_err(|e| DataError::io(path, e))?;
    decode_bytes(&bytes, path, limits)
}

/// Like [`decode_file`] for bytes already in memory; `path` is only used in errors.
pub fn decode_bytes(bytes: &[u8], path: &Path, limits: &DecodeLimits) -> Result<Decoded> {
    if bytes.is_empty() {
        return Err(image_error(
            path,
            ProblemKind::EmptyFile,
            "file is empty (0 bytes)",
            "delete it or re-download it",
        ));
    }
    let sniff = sniff(&bytes[..bytes.len().min(64 * 1024)]);
    // Decoders fill a truncated scan with grey instead of failing, so check that the primary
    // image reaches its end-of-image marker (trailers such as Motion Photo video or MPF
    // images may follow it).
    if bytes.starts_with(&[0xFF, 0xD8]) && !jpeg_reaches_eoi(bytes) {
        return Err(image_error(
            path,
            ProblemKind::Truncated,
            "JPEG is truncated (no end-of-image marker)",
            "re-download or delete it",
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?;
    if reader.format().is_none() {
        return Err(image_error(
            path,
            ProblemKind::NotAnImage,
            "not an image (content is neither JPEG, PNG nor WebP)",
            "remove it from the dataset or convert it to PNG/JPEG",
        ));
    }
    let mut lim = Limits::default();
    lim.max_image_width = Some(limits.max_side);
    lim.max_image_height = Some(limits.max_side);
    lim.max_alloc = Some(limits.max_alloc);
    reader.limits(lim);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| decode_error(path, e, limits))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (width, height) = decoder.dimensions();
    let color = decoder.color_type();
    // The image crate enforces `max_alloc` on some decode paths only, so the whole decode's
    // peak is checked here, from the header, before any pixel buffer is allocated.
    let peak = decode_peak_bytes(width, height, color);
    if peak > limits.max_alloc {
        return Err(image_error(
            path,
            ProblemKind::TooLarge,
            format!(
                "refused by the decompression-bomb guard: {width}×{height} px of {color:?} \
                 needs {} MB to decode, over the {} MB budget",
                peak.div_ceil(1 << 20),
                limits.max_alloc >> 20
            ),
            "downscale it, or raise DecodeLimits::max_alloc",
        ));
    }
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(path, e, limits))?;
    img.apply_orientation(orientation);
    let source = SourceTraits {
        width,
        height,
        grayscale: matches!(
            color,
            image::ColorType::L8
                | image::ColorType::La8
                | image::ColorType::L16
                | image::ColorType::La16
        ),
        cmyk: sniff.cmyk,
        sixteen_bit: color.bytes_per_pixel() / color.channel_count() > 1,
        alpha: color.has_alpha(),
        palette: sniff.palette,
        exif_rotated: orientation != Orientation::NoTransforms,
    };
    Ok(Decoded {
        image: to_rgb8_over_white(img),
        source,
    })
}

/// An upper bound of the bytes alive at the peak of [`decode_bytes`] for an image of this
/// size and colour type: the decoded buffer twice (a decoder's own buffer and the copy it
/// hands over, or the copy an EXIF rotation makes), an RGBA8 copy when alpha is flattened, and
/// the RGB8 result.
pub fn decode_peak_bytes(width: u32, height: u32, color: image::ColorType) -> u64 {
    let pixels = width as u64 * height as u64;
    let decoded = pixels * color.bytes_per_pixel() as u64;
    2 * decoded + pixels * 4 + pixels * 3
}

fn decode_error(path: &Path, e: image::ImageError, limits: &DecodeLimits) -> DataError {
    match e {
        image::ImageError::Limits(l) => image_error(
            path,
            ProblemKind::TooLarge,
            format!("refused by the decompression-bomb guard ({l})"),
            format!(
                "images larger than {} px per side are refused; downscale it or raise DecodeLimits::max_side",
                limits.max_side
            ),
        ),
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            image_error(
                path,
                ProblemKind::Truncated,
                "file is truncated",
                "re-download or delete it",
            )
        }
        other => image_error(
            path,
            ProblemKind::Corrupt,
            format!("cannot decode: {other}"),
            "the file is corrupt; re-download or delete it (`tinycats data clean` skips such files)",
        ),
    }
}

/// Flattens alpha onto white (transparent product shots become white, not black), and
/// converts every colour type to 8-bit RGB.
pub fn to_rgb8_over_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = src[3] as u32;
        for c in 0..3 {
            dst[c] = ((src[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

/// Whether the JPEG in `bytes` (starting with SOI) reaches the EOI marker of its primary
/// image: segments are skipped by their lengths, entropy-coded data up to the next marker, so
/// an EOI inside an embedded thumbnail does not count and a trailer after the EOI is allowed.
pub fn jpeg_reaches_eoi(bytes: &[u8]) -> bool {
    let mut i = 2;
    loop {
        // A marker: 0xFF, optional 0xFF fill bytes, then its code. Stray bytes before it
        // are skipped, as libjpeg does ("extraneous bytes before marker").
        match bytes
            .get(i..)
            .and_then(|r| r.iter().position(|&b| b == 0xFF))
        {
            Some(off) => i += off,
            None => return false,
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = bytes
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        else {
            return false;
        };
        if len < 2 {
            return false;
        }
        i += len;
        if marker == 0xDA {
            // Entropy-coded data: 0xFF 0x00 is a stuffed byte, 0xFF 0xD0..0xD7 a restart.
            loop {
                let Some(off) = bytes
                    .get(i..)
                    .and_then(|r| r.iter().position(|&b| b == 0xFF))
                else {
                    return false;
                };
                i += off;
                match bytes.get(i + 1) {
                    None => return false,
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                }
            }
        }
    }
}

/// Header facts that the decoded `DynamicImage` no longer shows.
#[derive(Debug, Default, Clone, Copy)]
struct Sniff {
    palette: bool,
    cmyk: bool,
}

fn sniff(head: &[u8]) -> Sniff {
    let mut s = Sniff::default();
    if head.starts_with(b"\x89PNG\r\n\x1a\n") && head.len() > 25 {
        s.palette = head[25] == 3;
    } else if head.starts_with(&[0xFF, 0xD8]) {
        // Walk JPEG markers to the first SOFn and read its component count.
        let mut i = 2;
        while i + 9 < head.len() {
            if head[i] != 0xFF {
                break;
            }
            let marker = head[i + 1];
            let len = u16::from_be_bytes([head[i + 2], head[i + 3]]) as usize;
            let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
            if is_sof {
                s.cmyk = head[i + 9] == 4;
                break;
            }
            i += 2 + len;
        }
    }
    s
}
