//! Decoding stays within its memory budget: a file whose header promises more pixels than
//! the budget allows is refused before any pixel buffer exists, and for files that do decode
//! the budget's estimate ([`decode_peak_bytes`]) really bounds what decoding allocates.
//! Measured with a counting allocator, so a decoder that allocates first and checks later
//! fails here.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tinycats_data::decode::{DecodeLimits, decode_bytes, decode_peak_bytes};
use tinycats_data::{DataError, loaders::ProblemKind};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// One test at a time: the counters are process-wide, so a test that allocates while another
/// measures (the bomb test's 32 MB source buffer, say) would be counted in the other's peak.
/// Each test holds this for its whole body, not only around the measured call.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// SAFETY: forwards to the system allocator and only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: the caller's layout is passed through unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated at the peak of `f` above what was live when it started. Call it with
/// [`serial`] held.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst) - base)
}

/// A PNG of `w`×`h` pixels of `color`, all zero: a few kilobytes that decode to megabytes.
fn png(w: u32, h: u32, color: image::ExtendedColorType) -> Vec<u8> {
    let bytes = w as usize * h as usize * color.bits_per_pixel() as usize / 8;
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    );
    image::ImageEncoder::write_image(enc, &vec![0u8; bytes], w, h, color).unwrap();
    out
}

#[test]
fn a_bomb_under_the_side_limit_is_refused_before_it_is_decoded() {
    let _serial = serial();
    // 2,000 × 2,000 16-bit RGBA: 32 MB of pixels in a file of a few hundred kB.
    let file = png(2000, 2000, image::ExtendedColorType::Rgba16);
    assert!(file.len() < 1 << 20, "{} bytes", file.len());
    let limits = DecodeLimits {
        max_side: 12_000,
        max_alloc: 32 << 20,
    };
    let (result, peak) = peak_of(|| decode_bytes(&file, "bomb.png".as_ref(), &limits));
    let err = match result {
        Ok(d) => panic!("decoded {:?} instead of refusing it", d.image.dimensions()),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(
        msg.contains("bomb.png") && msg.contains("2000×2000") && msg.contains("32 MB budget"),
        "{msg}"
    );
    assert!(matches!(
        err,
        DataError::Image {
            kind: ProblemKind::TooLarge,
            ..
        }
    ));
    assert!(peak < 4 << 20, "refusing it allocated {peak} bytes");
}

#[test]
fn the_peak_estimate_bounds_what_decoding_allocates() {
    let _serial = serial();
    use image::ExtendedColorType as C;
    for (color, bound_color) in [
        (C::Rgba16, image::ColorType::Rgba16),
        (C::Rgba8, image::ColorType::Rgba8),
        (C::Rgb8, image::ColorType::Rgb8),
        (C::L8, image::ColorType::L8),
    ] {
        let file = png(700, 500, color);
        let (decoded, peak) =
            peak_of(|| decode_bytes(&file, "ok.png".as_ref(), &DecodeLimits::default()).unwrap());
        assert_eq!(decoded.image.dimensions(), (700, 500));
        let bound = decode_peak_bytes(700, 500, bound_color) as usize;
        assert!(
            peak <= bound,
            "{color:?}: decoding allocated {peak} bytes, over the estimate {bound}"
        );
    }
}
