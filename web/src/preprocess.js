// The pixel convention of the Rust runtime (`crates/tinycats-runtime/src/preprocess.rs`):
// alpha over white, the shorter side resized to S with the image crate's Triangle filter
// (vertical pass, then horizontal, in f32, rounded once at the end), a centre crop, then the
// model's own mean/std from its config.json. The inverse turns samples into 8-bit pixels.

const f = Math.fround;

/** Flattens RGBA onto white as `tinycats_data::decode::to_rgb8_over_white`. */
export function rgbOverWhite(rgba, width, height) {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const a = rgba[4 * i + 3];
    for (let c = 0; c < 3; c++) {
      out[3 * i + c] = Math.floor((rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
    }
  }
  return out;
}

const triangle = (x) => (Math.abs(x) < 1 ? f(1 - Math.abs(x)) : 0);

/** Weights of one output position along an axis of `size` → `newSize` (image's sampler). */
function taps(size, newSize) {
  const ratio = f(size / newSize);
  const sratio = ratio < 1 ? 1 : ratio;
  const support = f(1 * sratio);
  const rows = [];
  for (let o = 0; o < newSize; o++) {
    let centre = f(f(o + 0.5) * ratio);
    const left = Math.min(Math.max(Math.floor(f(centre - support)), 0), size - 1);
    const right = Math.min(Math.max(Math.ceil(f(centre + support)), left + 1), size);
    centre = f(centre - 0.5);
    const ws = [];
    let sum = 0;
    for (let i = left; i < right; i++) {
      const w = triangle(f(f(i - centre) / sratio));
      ws.push(w);
      sum = f(sum + w);
    }
    rows.push({ left, ws: ws.map((w) => f(w / sum)) });
  }
  return rows;
}

/** Resizes 8-bit RGB `w×h` to `nw×nh` as `image::imageops::resize(.., Triangle)`. */
export function resizeTriangle(rgb, w, h, nw, nh) {
  if (w === nw && h === nh) return rgb.slice();
  const mid = new Float32Array(w * nh * 3);
  for (const [y, { left, ws }] of taps(h, nh).entries()) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let t = 0;
        for (let i = 0; i < ws.length; i++) t = f(t + f(rgb[((left + i) * w + x) * 3 + c] * ws[i]));
        mid[(y * w + x) * 3 + c] = t;
      }
    }
  }
  const out = new Uint8Array(nw * nh * 3);
  for (const [x, { left, ws }] of taps(w, nw).entries()) {
    for (let y = 0; y < nh; y++) {
      for (let c = 0; c < 3; c++) {
        let t = 0;
        for (let i = 0; i < ws.length; i++) t = f(t + f(mid[(y * w + left + i) * 3 + c] * ws[i]));
        out[(y * nw + x) * 3 + c] = Math.round(Math.min(Math.max(t, 0), 255));
      }
    }
  }
  return out;
}

/**
 * An 8-bit RGB image → the model's `(1, 3, S, S)` input: shorter side to S, centre crop,
 * `(pixel/255 − mean) / std`.
 */
export function toModelInput(rgb, w, h, size, mean, std) {
  let img = rgb;
  let [cw, ch] = [w, h];
  if (w !== size || h !== size) {
    const scale = f(size / Math.min(w, h));
    const nw = Math.max(Math.round(f(w * scale)), size);
    const nh = Math.max(Math.round(f(h * scale)), size);
    img = resizeTriangle(rgb, w, h, nw, nh);
    [cw, ch] = [nw, nh];
  }
  const x0 = Math.floor((cw - size) / 2);
  const y0 = Math.floor((ch - size) / 2);
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = f(img[((y + y0) * cw + x + x0) * 3 + c] / 255);
        out[(c * size + y) * size + x] = f(f(v - mean[c]) / std[c]);
      }
    }
  }
  return out;
}

/** A `(3, S, S)` sample in the model's space → RGBA pixels for a canvas (clamped, rounded). */
export function toRgba(x, size, mean, std) {
  const out = new Uint8ClampedArray(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) {
      const v = f(f(x[c * size * size + p] * std[c]) + mean[c]);
      out[4 * p + c] = Math.round(f(Math.min(Math.max(v, 0), 1) * 255));
    }
    out[4 * p + 3] = 255;
  }
  return out;
}

/** Softmax in doubles, as `tinycats_core::metrics::softmax_with_temperature` at T = 1. */
export function softmax(logits) {
  const m = Math.max(...logits);
  const e = Array.from(logits, (l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Width and height from an image file's header, without decoding it (PNG, JPEG, GIF, WebP,
 * BMP); null when the format is not one of these or the header is damaged.
 */
export function headerSize(bytes) {
  const b = bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = (i, sig) => sig.every((v, k) => b[i + k] === v);
  if (b.length >= 24 && at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return { format: "PNG", width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  if (b.length >= 10 && at(0, [0x47, 0x49, 0x46, 0x38])) {
    return { format: "GIF", width: dv.getUint16(6, true), height: dv.getUint16(8, true) };
  }
  if (b.length >= 26 && at(0, [0x42, 0x4d])) {
    return { format: "BMP", width: Math.abs(dv.getInt32(18, true)), height: Math.abs(dv.getInt32(22, true)) };
  }
  if (b.length >= 30 && at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x45, 0x42, 0x50])) {
    const chunk = String.fromCharCode(...b.subarray(12, 16));
    if (chunk === "VP8X") {
      const u24 = (i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
      return { format: "WebP", width: u24(24) + 1, height: u24(27) + 1 };
    }
    if (chunk === "VP8 ") {
      return { format: "WebP", width: dv.getUint16(26, true) & 0x3fff, height: dv.getUint16(28, true) & 0x3fff };
    }
    if (chunk === "VP8L") {
      const v = dv.getUint32(21, true);
      return { format: "WebP", width: (v & 0x3fff) + 1, height: ((v >>> 14) & 0x3fff) + 1 };
    }
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) {
        i += 1;
        continue;
      }
      const len = dv.getUint16(i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame's size.
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { format: "JPEG", width: dv.getUint16(i + 7), height: dv.getUint16(i + 5) };
      }
      i += 2 + len;
    }
    return null;
  }
  return null;
}
