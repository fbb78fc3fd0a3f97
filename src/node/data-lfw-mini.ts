// Node helpers to read a few LFW deep-funneled faces (../shared/data by default, LRFR_DATA
// overrides) as float RGB 0..255 crops, and the official pairs.txt. Small on purpose: model tests
// and demos, not the training data pipeline.
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

/** The repository root (this file is src/node/data-lfw-mini.ts). */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The data root: $LRFR_DATA (relative paths from the repository root), else <repo>/../shared/data. */
export function lfwDataRoot(repoRoot = REPO_ROOT): string {
  return resolve(repoRoot, process.env.LRFR_DATA ?? '../shared/data');
}

/** Throws a clear message when the LFW folders are missing. */
export function requireLfw(root = lfwDataRoot()): { images: string; pairs: string } {
  const images = join(root, 'lfw-deepfunneled');
  const pairs = join(root, 'lfw-protocol', 'pairs.txt');
  if (!fs.existsSync(images) || !fs.existsSync(pairs)) {
    throw new Error(
      `LFW data not found under ${root}: expected ${images}/<Name>/<Name>_NNNN.jpg (250x250 deep-funneled LFW) and ${pairs} ` +
      '(the official LFW View-2 pairs). Put the data there (../shared/data next to the repository) or set LRFR_DATA to the folder that holds them.',
    );
  }
  return { images, pairs };
}

/** Path of <Name>_<NNNN>.jpg (index 1-based, as in pairs.txt). */
export function lfwImagePath(name: string, index: number, root = lfwDataRoot()): string {
  return join(root, 'lfw-deepfunneled', name, `${name}_${String(index).padStart(4, '0')}.jpg`);
}

/** The first `n` people in sorted order (by code unit) with their first image's index (1). */
export function firstLfwPeople(n: number, root = lfwDataRoot()): string[] {
  const { images } = requireLfw(root);
  return fs.readdirSync(images).filter((d) => fs.existsSync(join(images, d, `${d}_0001.jpg`))).sort().slice(0, n);
}

export interface CropWindow {
  left: number;
  top: number;
  size: number;
}

/** dlib / face-api framing of a 250x250 deep-funneled LFW image (97.3 % on 600 LFW pairs). */
export const DLIB_LFW_WINDOW: CropWindow = { left: 70, top: 76, size: 108 };

/**
 * Reads a face: extract the square `win`, resize to out x out with sharp's `kernel` (default
 * 'cubic'), 8-bit RGB. Returns HWC float 0..255 (what tfjs / face-api take).
 */
export async function readLfwCropHwc(path: string, out: number, win: CropWindow = DLIB_LFW_WINDOW,
  kernel: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3' = 'cubic'): Promise<Float32Array> {
  const { data, info } = await sharp(path)
    .removeAlpha()
    .toColourspace('srgb')
    .extract({ left: win.left, top: win.top, width: win.size, height: win.size })
    .resize(out, out, { kernel, fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== out || info.height !== out || info.channels !== 3) {
    throw new Error(`readLfwCropHwc: ${path} gave ${info.width}x${info.height}x${info.channels}, expected ${out}x${out}x3`);
  }
  return Float32Array.from(data);
}

/** HWC images back to back -> NCHW. */
export function hwcToNchw(hwc: Float32Array, n: number, h: number, w: number, c = 3): Float32Array {
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    out[((b * c + k) * h + y) * w + x] = hwc[((b * h + y) * w + x) * c + k]!;
  }
  return out;
}

export interface LfwPair {
  a: { name: string; index: number };
  b: { name: string; index: number };
  same: boolean;
}

/** pairs.txt: header "folds n", then per fold n same pairs "name i j" and n different "n1 i n2 j". */
export function readLfwPairs(root = lfwDataRoot()): LfwPair[] {
  const { pairs } = requireLfw(root);
  const lines = fs.readFileSync(pairs, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  const out: LfwPair[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(/\s+/);
    if (f.length === 3) out.push({ a: { name: f[0]!, index: +f[1]! }, b: { name: f[0]!, index: +f[2]! }, same: true });
    else if (f.length === 4) out.push({ a: { name: f[0]!, index: +f[1]! }, b: { name: f[2]!, index: +f[3]! }, same: false });
    else throw new Error(`readLfwPairs: bad line in ${pairs}: "${line}"`);
  }
  return out;
}
