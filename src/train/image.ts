// CHW float images <-> files, with sharp. Pixel values are floats in [0, 1] (clamped and rounded to
// 8 bits when written). Grey inputs are copied to 3 channels; an alpha channel is dropped.
import sharp from 'sharp';
import { writeFile } from 'node:fs/promises';

/** A CHW image: data[c*h*w + y*w + x], values in [0, 1]. */
export interface ChwImage {
  data: Float32Array;
  c: number;
  h: number;
  w: number;
}

/** Decodes any format sharp reads (PNG, JPEG, ...) to a 3-channel CHW float image in [0, 1]. */
export async function decodeImage(input: string | Buffer): Promise<ChwImage> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return hwcToChw(data, info.height, info.width, info.channels, 3);
}

/** Interleaved 8-bit HWC (1..4 channels) to a CHW float image with `outC` channels (1 or 3). */
export function hwcToChw(px: Uint8Array, h: number, w: number, ch: number, outC: 1 | 3 = 3): ChwImage {
  if (px.length !== h * w * ch) throw new Error(`hwcToChw: ${px.length} bytes is not ${h}x${w}x${ch}`);
  const hw = h * w;
  const data = new Float32Array(outC * hw);
  for (let i = 0; i < hw; i++) {
    if (ch >= 3 && outC === 3) {
      data[i] = px[i * ch]! / 255;
      data[hw + i] = px[i * ch + 1]! / 255;
      data[2 * hw + i] = px[i * ch + 2]! / 255;
    } else if (ch >= 3) {
      // to grey: ITU-R BT.601 luma
      data[i] = (0.299 * px[i * ch]! + 0.587 * px[i * ch + 1]! + 0.114 * px[i * ch + 2]!) / 255;
    } else {
      const v = px[i * ch]! / 255; // grey (or grey + alpha)
      for (let c = 0; c < outC; c++) data[c * hw + i] = v;
    }
  }
  return { data, c: outC, h, w };
}

/** CHW float (1 or 3 channels, values clamped to [0, 1]) to interleaved 8-bit HWC, rounded. */
export function chwToHwc8(img: ChwImage): Uint8Array {
  const { data, c, h, w } = img;
  if (c !== 1 && c !== 3) throw new Error(`chwToHwc8: ${c} channels (expected 1 or 3)`);
  if (data.length !== c * h * w) throw new Error(`chwToHwc8: ${data.length} values is not ${c}x${h}x${w}`);
  const hw = h * w;
  const out = new Uint8Array(hw * c);
  for (let i = 0; i < hw; i++) {
    for (let k = 0; k < c; k++) {
      const v = data[k * hw + i]!;
      out[i * c + k] = Math.round(Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * 255);
    }
  }
  return out;
}

/** Encodes a CHW float image as PNG (lossless, 8 bits). */
export async function encodePng(img: ChwImage): Promise<Buffer> {
  return sharp(Buffer.from(chwToHwc8(img)), { raw: { width: img.w, height: img.h, channels: img.c as 1 | 3 } }).png().toBuffer();
}

/** Encodes a CHW float image as JPEG at the given quality (1..100; chroma 4:2:0, libjpeg defaults). */
export async function encodeJpeg(img: ChwImage, quality: number): Promise<Buffer> {
  return sharp(Buffer.from(chwToHwc8(img)), { raw: { width: img.w, height: img.h, channels: img.c as 1 | 3 } })
    .jpeg({ quality: Math.round(quality), chromaSubsampling: '4:2:0' })
    .toBuffer();
}

export async function writePng(path: string, img: ChwImage): Promise<void> {
  await writeFile(path, await encodePng(img));
}

export async function readImage(path: string): Promise<ChwImage> {
  return decodeImage(path);
}

/**
 * Tiles same-channel-count images into one (rows of `cols`, `pad` pixels of `bg` between them);
 * images of different sizes are top-left aligned in cells of the largest size. For figures.
 */
export function tileImages(imgs: readonly ChwImage[], cols: number, pad = 2, bg = 1): ChwImage {
  if (imgs.length === 0) throw new Error('tileImages: no images');
  const c = imgs[0]!.c;
  if (imgs.some((m) => m.c !== c)) throw new Error('tileImages: images differ in channel count');
  const ch = Math.max(...imgs.map((m) => m.h));
  const cw = Math.max(...imgs.map((m) => m.w));
  const ncol = Math.min(cols, imgs.length);
  const nrow = Math.ceil(imgs.length / ncol);
  const h = nrow * ch + (nrow + 1) * pad;
  const w = ncol * cw + (ncol + 1) * pad;
  const data = new Float32Array(c * h * w).fill(bg);
  imgs.forEach((m, k) => {
    const oy = pad + Math.floor(k / ncol) * (ch + pad);
    const ox = pad + (k % ncol) * (cw + pad);
    for (let q = 0; q < c; q++) {
      for (let y = 0; y < m.h; y++) {
        for (let x = 0; x < m.w; x++) data[q * h * w + (oy + y) * w + ox + x] = m.data[q * m.h * m.w + y * m.w + x]!;
      }
    }
  });
  return { data, c, h, w };
}
