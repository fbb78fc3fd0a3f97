// Face-image loaders (sharp decode -> float CHW in [0, 1], RGB). See ../shared/data/README.md.
//
// Framings (every resize below is the CPU bicubic of degrade.ts with antialias, PyTorch
// F.interpolate(mode='bicubic', antialias=True) semantics, Keys a = -0.5, computed in float64 on the
// decoded floats, no 8-bit rounding in between):
//   LFW 'arcface': the 143x143 window at x=53, y=41 of the 250x250 deep-funneled image -> 112x112.
//   LFW 'dlib':    the 108x108 window at x=70, y=76 -> 150x150 (the framing of the dlib ResNet).
//   LFW 'full':    the 250x250 image as is.
//   ORL (92x112 grey, copied to RGB) -> 112x112, fit 'pad' (default): 10 columns replicated from the
//     border on each side, no resampling (the face keeps its scale and aspect ratio);
//     'crop': the centred 92x92 square (y = 10) -> 112 (bicubic AA); 'stretch': 92x112 -> 112x112.
//   Yale B (168x192 grey, copied to RGB) -> 112x112, fit 'crop' (default): the centred 168x168 square
//     (y = 12; drops 12 rows above the forehead and below the chin) -> 112 (bicubic AA);
//     'pad': 12 columns replicated on each side to 192x192 -> 112; 'stretch': 168x192 -> 112x112.
// An undecodable file is reported (onSkip, default console.warn) and skipped, never thrown.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChwImage } from './image.js';
import { decodeImage } from './image.js';
import { cropChw, resizeBicubicCpu } from './degrade.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The data root: `opt`, else $LRFR_DATA, else <repo>/../shared/data. */
export function resolveDataRoot(opt?: string): string {
  return resolve(opt ?? process.env.LRFR_DATA ?? join(REPO_ROOT, '..', 'shared', 'data'));
}

export type DataPart = 'lfw' | 'pairs' | 'blufr' | 'orl' | 'yaleb';

/** What each part needs, relative to the data root. */
export const DATA_LAYOUT: Record<DataPart, { path: string; what: string }> = {
  lfw: { path: 'lfw-deepfunneled', what: 'LFW deep-funneled, 250x250 JPEG: lfw-deepfunneled/<Name>/<Name>_NNNN.jpg' },
  pairs: { path: 'lfw-protocol/pairs.txt', what: 'LFW View-2 pairs: lfw-protocol/pairs.txt (10 folds x 600 pairs)' },
  blufr: { path: 'lfw-protocol/openbr-sigset/BLUFR/split1', what: 'BLUFR sigsets: lfw-protocol/openbr-sigset/BLUFR/split1/{train1,gallery1,probe1}.xml' },
  orl: { path: 'orl-faces', what: 'ORL / AT&T faces: orl-faces/sN/K.png (40 people x 10, 92x112 grey)' },
  yaleb: { path: 'yaleb-cropped', what: 'Extended Yale B cropped: yaleb-cropped/yaleBNN/yaleBNN_P00AxxxEyy.png (168x192 grey)' },
};

/**
 * Checks that the data root holds the given parts; throws ONE error naming the root, what is
 * missing, and the full expected layout. Returns the resolved root.
 */
export function checkDataRoot(root: string | undefined, parts: readonly DataPart[] = ['lfw', 'pairs', 'blufr', 'orl', 'yaleb']): string {
  const r = resolveDataRoot(root);
  const missing: DataPart[] = [];
  if (!existsSync(r) || !statSync(r).isDirectory()) missing.push(...parts);
  else for (const p of parts) if (!existsSync(join(r, DATA_LAYOUT[p].path))) missing.push(p);
  if (missing.length === 0) return r;
  const lines = [
    `lrfr: face data not found under ${r}${existsSync(r) ? '' : ' (the folder does not exist)'}.`,
    `Missing: ${missing.map((p) => DATA_LAYOUT[p].path).join(', ')}.`,
    'Set LRFR_DATA (or pass the data root) to a folder laid out as:',
    ...(Object.keys(DATA_LAYOUT) as DataPart[]).map((p) => `  ${DATA_LAYOUT[p].path.padEnd(42)} ${DATA_LAYOUT[p].what}`),
    'See shared/data/README.md for the sources.',
  ];
  throw new Error(lines.join('\n'));
}

export type LfwFraming = 'arcface' | 'dlib' | 'full';
export const ARCFACE_WINDOW = { x: 53, y: 41, size: 143, out: 112 } as const;
export const DLIB_WINDOW = { x: 70, y: 76, size: 108, out: 150 } as const;

function frame(img: ChwImage, win: { x: number; y: number; size: number; out: number }): ChwImage {
  return resizeBicubicCpu(cropChw(img, win.x, win.y, win.size, win.size), win.out, win.out, { antialias: true });
}

/** Applies an LFW framing to a decoded 250x250 deep-funneled image. */
export function frameLfw(img: ChwImage, framing: LfwFraming = 'arcface'): ChwImage {
  if (img.w !== 250 || img.h !== 250) throw new Error(`frameLfw: expected a 250x250 deep-funneled image, got ${img.w}x${img.h}`);
  if (framing === 'full') return img;
  return clampInPlace(frame(img, framing === 'arcface' ? ARCFACE_WINDOW : DLIB_WINDOW));
}

function clampInPlace(img: ChwImage): ChwImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! < 0 ? 0 : d[i]! > 1 ? 1 : d[i]!;
  return img;
}

/** Replicate-pads `left`/`right` columns and `top`/`bottom` rows. */
export function padReplicate(img: ChwImage, left: number, right: number, top = 0, bottom = 0): ChwImage {
  const w = img.w + left + right, h = img.h + top + bottom;
  const out = new Float32Array(img.c * h * w);
  for (let q = 0; q < img.c; q++) {
    for (let y = 0; y < h; y++) {
      const sy = Math.min(img.h - 1, Math.max(0, y - top));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(img.w - 1, Math.max(0, x - left));
        out[(q * h + y) * w + x] = img.data[(q * img.h + sy) * img.w + sx]!;
      }
    }
  }
  return { data: out, c: img.c, h, w };
}

export type OrlFit = 'pad' | 'crop' | 'stretch';
export type YaleFit = 'crop' | 'pad' | 'stretch';

/** ORL 92x112 -> 112x112 (see the header). */
export function fitOrl(img: ChwImage, fit: OrlFit = 'pad'): ChwImage {
  if (img.w !== 92 || img.h !== 112) throw new Error(`fitOrl: expected 92x112, got ${img.w}x${img.h}`);
  if (fit === 'pad') return padReplicate(img, 10, 10);
  if (fit === 'crop') return clampInPlace(resizeBicubicCpu(cropChw(img, 0, 10, 92, 92), 112, 112, { antialias: true }));
  return clampInPlace(resizeBicubicCpu(img, 112, 112, { antialias: true }));
}

/** Yale B 168x192 -> 112x112 (see the header). */
export function fitYale(img: ChwImage, fit: YaleFit = 'crop'): ChwImage {
  if (img.w !== 168 || img.h !== 192) throw new Error(`fitYale: expected 168x192, got ${img.w}x${img.h}`);
  const src = fit === 'crop' ? cropChw(img, 0, 12, 168, 168) : fit === 'pad' ? padReplicate(img, 12, 12) : img;
  return clampInPlace(resizeBicubicCpu(src, 112, 112, { antialias: true }));
}

export type FaceSource =
  | { dataset: 'lfw'; framing?: LfwFraming }
  | { dataset: 'orl'; fit?: OrlFit }
  | { dataset: 'yaleb'; fit?: YaleFit }
  | { dataset: 'raw' };

/** Decodes one file (absolute, or relative to the dataset folder under `root`) and frames it. */
export async function loadFace(path: string, src: FaceSource, root?: string): Promise<ChwImage> {
  const full = src.dataset === 'raw' ? path : resolve(resolveDataRoot(root), DATA_LAYOUT[src.dataset].path, path);
  const img = await decodeImage(full);
  switch (src.dataset) {
    case 'lfw': return frameLfw(img, src.framing ?? 'arcface');
    case 'orl': return fitOrl(img, src.fit ?? 'pad');
    case 'yaleb': return fitYale(img, src.fit ?? 'crop');
    default: return img;
  }
}

export interface Skipped { path: string; reason: string }

export interface FaceBatch {
  /** [N, 3, H, W] row-major, values in [0, 1]. */
  data: Float32Array;
  shape: [number, number, number, number];
  /** The paths that were loaded, in batch order (input order minus the skipped ones). */
  paths: string[];
  /** For each loaded image, its index in the input list. */
  index: number[];
  skipped: Skipped[];
}

export interface LoadOptions {
  root?: string;
  /** Parallel decodes (default 4). */
  concurrency?: number;
  /** Called once per undecodable file (default: console.warn). */
  onSkip?: (s: Skipped) => void;
}

/** Loads many faces into one batch; undecodable files are reported and skipped (counted in `skipped`). */
export async function loadFaces(paths: readonly string[], src: FaceSource, opts: LoadOptions = {}): Promise<FaceBatch> {
  const onSkip = opts.onSkip ?? ((s: Skipped) => console.warn(`lrfr: skipping undecodable image ${s.path}: ${s.reason}`));
  const imgs: (ChwImage | null)[] = new Array(paths.length).fill(null);
  const skipped: Skipped[] = [];
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      try {
        imgs[i] = await loadFace(paths[i]!, src, opts.root);
      } catch (e) {
        const s = { path: paths[i]!, reason: (e as Error).message.split('\n')[0]! };
        skipped.push(s);
        onSkip(s);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const ok = imgs.map((m, i) => [m, i] as const).filter((p): p is readonly [ChwImage, number] => p[0] !== null);
  const first = ok[0]?.[0];
  const [c, h, w] = first ? [first.c, first.h, first.w] : [3, 0, 0];
  const data = new Float32Array(ok.length * c * h * w);
  ok.forEach(([m], k) => {
    if (m.c !== c || m.h !== h || m.w !== w) throw new Error(`loadFaces: ${paths[ok[k]![1]]} is ${m.c}x${m.h}x${m.w}, batch is ${c}x${h}x${w}`);
    data.set(m.data, k * c * h * w);
  });
  skipped.sort((a, b) => paths.indexOf(a.path) - paths.indexOf(b.path));
  return { data, shape: [ok.length, c, h, w], paths: ok.map(([, i]) => paths[i]!), index: ok.map(([, i]) => i), skipped };
}

/** Image k of a batch as a CHW image (a view, not a copy). */
export function batchItem(b: FaceBatch, k: number): ChwImage {
  const [, c, h, w] = b.shape;
  return { data: b.data.subarray(k * c * h * w, (k + 1) * c * h * w), c, h, w };
}
