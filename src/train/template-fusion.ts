// Multi-template recognition ("seed 004", issue 15's method D), on the CPU side of the evaluation:
//
//  - Gallery degradations: 11 functions of the aligned 112 crop (`GALLERY_DEGRADATIONS`), applied
//    alone and in chains of 2 and 3 with a x2 bicubic downsampling between links (`galleryTemplates`),
//    so one enrolled face gives many templates spanning the losses a probe may have suffered.
//  - Resolution matching: a template degraded to the probe's size S and brought back to 112 by the
//    same super-resolver as the probe (degrade.ts matchGallery for bicubic; the caller runs its SR).
//  - Multi-hypothesis probes: the LR probe deblurred under assumed Gaussian blurs σ = 0 … 1 LR pixels
//    (`deblurHypotheses`: Van Cittert iterations x ← x + (y − G_σ * x), clamped to [0, 1]; σ = 0 is the
//    probe itself), each then super-resolved and embedded.
//  - Similarities: cosine, Pearson correlation (cosine of the mean-centred vectors), or minus the
//    Euclidean distance (dlib's own metric).
//  - Fusions of the scores s[h][t] of H probe hypotheses against T gallery templates (`fuseScores`):
//      S_max   max over h, t
//      S_add   mean over h, t
//      T_add   similarity of the mean probe template and the mean gallery template (L2-normalised
//              embeddings averaged)
//      T_concat similarity of the concatenated templates, hypothesis k against template k (the
//              gallery's templates taken in order, repeated when fewer than H; needs the same
//              template list for every gallery entry)
//      Smax_Sadd per hypothesis the max over templates, then the mean over hypotheses
// Everything here is deterministic: noise seeds come from the template's index and the image key.
import type { ChwImage } from './image.js';
import {
  addGaussianNoise, convolve2d, downsample, gaussianKernel, jpegRoundTrip, mixSeed, motionKernel, resizeBicubicCpu, upsample,
} from './degrade.js';

export type Degradation = (img: ChwImage, seed: number) => Promise<ChwImage> | ChwImage;

function mapPixels(img: ChwImage, f: (v: number) => number): ChwImage {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, f(img.data[i]!)));
  return { data: out, c: img.c, h: img.h, w: img.w };
}

function meanOf(img: ChwImage): number {
  let s = 0;
  for (const v of img.data) s += v;
  return s / img.data.length;
}

/** Down by `f` (antialiased bicubic) and back up (plain bicubic) at the same size. */
function downUp(img: ChwImage, f: number): ChwImage {
  const h = Math.max(1, Math.round(img.h / f)), w = Math.max(1, Math.round(img.w / f));
  return resizeBicubicCpu(resizeBicubicCpu(img, h, w, { antialias: true }), img.h, img.w, { antialias: false });
}

/** The method's table of gallery degradations: 11 functions, any image size (blur sizes in pixels of that image). */
export const GALLERY_DEGRADATIONS: readonly { name: string; fn: Degradation }[] = [
  { name: 'gauss-blur-1', fn: (x) => convolve2d(x, gaussianKernel(1)) },
  { name: 'gauss-blur-2', fn: (x) => convolve2d(x, gaussianKernel(2)) },
  { name: 'motion-blur-h7', fn: (x) => convolve2d(x, motionKernel(7, 0)) },
  { name: 'motion-blur-v7', fn: (x) => convolve2d(x, motionKernel(7, 90)) },
  { name: 'noise-5', fn: (x, seed) => addGaussianNoise(x, 5 / 255, seed) },
  { name: 'noise-15', fn: (x, seed) => addGaussianNoise(x, 15 / 255, seed) },
  { name: 'jpeg-30', fn: (x) => jpegRoundTrip(x, 30) },
  { name: 'jpeg-70', fn: (x) => jpegRoundTrip(x, 70) },
  { name: 'down-up-2', fn: (x) => downUp(x, 2) },
  { name: 'contrast-0.6', fn: (x) => { const m = meanOf(x); return mapPixels(x, (v) => m + 0.6 * (v - m)); } },
  { name: 'gamma-1.5', fn: (x) => mapPixels(x, (v) => Math.pow(Math.max(0, v), 1.5)) },
];

export interface Template { name: string; img: ChwImage }

export interface TemplateOptions {
  /** Chains of 2 links to draw (default 12). */
  chains2?: number;
  /** Chains of 3 links to draw (default 12). */
  chains3?: number;
  /** Seed of the chain draw and of the noise (default 4). */
  seed?: number;
}

/** One gallery template: its name and how it is made from an aligned crop and the image's key. */
export interface TemplateSpec {
  name: string;
  make: (hr: ChwImage, key: number) => Promise<ChwImage>;
}

/**
 * The gallery templates of an aligned 112 crop, as recipes: the crop itself ("hr"), each of the 11
 * degradations alone, then `chains2` chains of 2 and `chains3` of 3 distinct degradations, drawn
 * once per seed (the same chains for every image), each link but the first applied after a x2
 * antialiased downsampling, the result brought back to 112 with plain bicubic. `key` (the image's
 * key) seeds the noise, so a template is a function of (image, seed).
 */
export function templateSpecs(o: TemplateOptions = {}): TemplateSpec[] {
  const seed = o.seed ?? 4;
  const D = GALLERY_DEGRADATIONS;
  const out: TemplateSpec[] = [{ name: 'hr', make: async (hr) => hr }];
  D.forEach((d, i) => out.push({ name: d.name, make: async (hr, key) => d.fn(hr, mixSeed(mixSeed(seed, key), i)) }));
  for (const c of drawChains(seed, o.chains2 ?? 12, o.chains3 ?? 12)) {
    out.push({
      name: c.map((i) => D[i]!.name).join('>'),
      make: async (hr, key) => {
        let x = hr;
        for (let j = 0; j < c.length; j++) {
          if (j > 0) x = downsample(x, Math.round(x.h / 2));
          x = await D[c[j]!]!.fn(x, mixSeed(mixSeed(seed, key), 100 + 7 * c[j]! + j));
        }
        return x.h === hr.h ? x : upsample(x, hr.h);
      },
    });
  }
  return out;
}

/** Every template of one aligned 112 crop (templateSpecs, made). */
export async function galleryTemplates(hr: ChwImage, key: number, o: TemplateOptions = {}): Promise<Template[]> {
  const out: Template[] = [];
  for (const t of templateSpecs(o)) out.push({ name: t.name, img: await t.make(hr, key) });
  return out;
}

/** The chains of galleryTemplates: distinct degradation indices, a deterministic draw per seed. */
export function drawChains(seed: number, n2: number, n3: number): number[][] {
  const D = GALLERY_DEGRADATIONS.length;
  const chains: number[][] = [];
  const seen = new Set<string>();
  let s = mixSeed(seed, 0xc4a1);
  const next = () => (s = mixSeed(s, 1)) % D;
  for (const [len, n] of [[2, n2], [3, n3]] as const) {
    let made = 0, tries = 0;
    while (made < n && tries++ < 10_000) {
      const c: number[] = [];
      while (c.length < len) { const i = next(); if (!c.includes(i)) c.push(i); }
      const k = c.join(',');
      if (seen.has(k)) continue;
      seen.add(k);
      chains.push(c);
      made++;
    }
  }
  return chains;
}

/** Assumed blur levels of the probe hypotheses: n values from 0 to 1 LR pixels (σ). */
export function hypothesisSigmas(n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`hypotheses: need a positive integer, got ${n}`);
  return n === 1 ? [0] : Array.from({ length: n }, (_, i) => i / (n - 1));
}

/**
 * The σ of H hypotheses that give distinct images, as lrfr eval embeds them: 0 (the probe itself,
 * which every σ < 0.3 also is, see deblurHypotheses) and each σ >= 0.3.
 */
export function distinctHypotheses(n: number): number[] {
  return [0, ...hypothesisSigmas(n).filter((s) => s >= 0.3)];
}

/**
 * One hypothesis per σ: the LR probe deblurred under an assumed Gaussian blur σ (LR pixels) by
 * `iterations` Van Cittert steps x ← clamp(x + (y − G_σ * x)), starting from y; σ = 0 gives y. The
 * kernel is sampled at 2*ceil(3σ)+1 taps (σ < 0.3 is treated as no blur: its kernel is ~a delta).
 */
export function deblurHypotheses(lr: ChwImage, sigmas: readonly number[], iterations = 5): ChwImage[] {
  return sigmas.map((sigma) => {
    if (sigma < 0.3) return lr;
    const k = gaussianKernel(sigma);
    let x = lr;
    for (let it = 0; it < iterations; it++) {
      const bx = convolve2d(x, k);
      const out = new Float32Array(x.data.length);
      for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, x.data[i]! + (lr.data[i]! - bx.data[i]!)));
      x = { data: out, c: lr.c, h: lr.h, w: lr.w };
    }
    return x;
  });
}

export type Similarity = 'cosine' | 'pearson' | 'euclidean';
export const FUSIONS = ['S_max', 'S_add', 'T_add', 'T_concat', 'Smax_Sadd'] as const;
export type Fusion = (typeof FUSIONS)[number];

/** Similarity of two vectors a[ao..ao+d) and b[bo..bo+d) (cosine / Pearson of raw vectors; −‖a−b‖ for euclidean). */
export function similarity(kind: Similarity, a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number): number {
  if (kind === 'euclidean') {
    let s = 0;
    for (let i = 0; i < d; i++) { const t = a[ao + i]! - b[bo + i]!; s += t * t; }
    return -Math.sqrt(s);
  }
  let ma = 0, mb = 0;
  if (kind === 'pearson') {
    for (let i = 0; i < d; i++) { ma += a[ao + i]!; mb += b[bo + i]!; }
    ma /= d;
    mb /= d;
  }
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < d; i++) {
    const x = a[ao + i]! - ma, y = b[bo + i]! - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

function normalised(v: Float32Array, off: number, d: number): Float64Array {
  const out = new Float64Array(d);
  let n = 0;
  for (let i = 0; i < d; i++) n += v[off + i]! ** 2;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < d; i++) out[i] = v[off + i]! / n;
  return out;
}

function meanTemplate(v: Float32Array, count: number, d: number): Float64Array {
  const m = new Float64Array(d);
  for (let k = 0; k < count; k++) {
    const u = normalised(v, k * d, d);
    for (let i = 0; i < d; i++) m[i]! += u[i]! / count;
  }
  return m;
}

/** The score fusions that need only the grid s[h * T + t] of hypothesis-vs-template scores. */
export type GridFusion = 'S_max' | 'S_add' | 'Smax_Sadd';

/** S_max, S_add or S_max -> S_add of a score grid s[h * T + t] (h < H, t < T), rows `rows` and columns `cols` of it (default all). */
export function fuseGrid(fusion: GridFusion, s: ArrayLike<number>, H: number, T: number, rows?: readonly number[], cols?: readonly number[]): number {
  const R = rows ?? Array.from({ length: H }, (_, i) => i), C = cols ?? Array.from({ length: T }, (_, i) => i);
  let best = -Infinity, sum = 0, sumOfMax = 0;
  for (const h of R) {
    let m = -Infinity;
    for (const t of C) {
      const v = s[h * T + t]!;
      if (v > m) m = v;
      sum += v;
    }
    if (m > best) best = m;
    sumOfMax += m;
  }
  if (fusion === 'S_max') return best;
  if (fusion === 'S_add') return sum / (R.length * C.length);
  return sumOfMax / R.length;
}

/**
 * Rows of `emb` ([n * d]) transformed so that a similarity is a dot product: cosine -> L2-normalised,
 * Pearson -> mean-centred then L2-normalised, euclidean -> as is (with `sq`, the squared norms:
 * −‖a − b‖ = −sqrt(‖a‖² + ‖b‖² − 2 a·b)).
 */
export function dotForm(sim: Similarity, emb: Float32Array, n: number, d: number): { v: Float32Array; sq: Float64Array } {
  const v = new Float32Array(n * d), sq = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let m = 0;
    if (sim === 'pearson') { for (let i = 0; i < d; i++) m += emb[r * d + i]!; m /= d; }
    let nn = 0;
    for (let i = 0; i < d; i++) { const x = emb[r * d + i]! - m; nn += x * x; }
    const k = sim === 'euclidean' ? 1 : nn > 0 ? 1 / Math.sqrt(nn) : 0;
    for (let i = 0; i < d; i++) v[r * d + i] = (emb[r * d + i]! - m) * k;
    sq[r] = sim === 'euclidean' ? nn : 1;
  }
  return { v, sq };
}

/** Similarities of every row of a ([na * d], dotForm) with every row of b: [na * nb], row-major. */
export function similarityMatrix(sim: Similarity, a: { v: Float32Array; sq: Float64Array }, b: { v: Float32Array; sq: Float64Array }, d: number): Float32Array {
  const na = a.sq.length, nb = b.sq.length;
  const out = new Float32Array(na * nb);
  for (let i = 0; i < na; i++) {
    const ai = i * d;
    for (let j = 0; j < nb; j++) {
      const bj = j * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a.v[ai + k]! * b.v[bj + k]!;
      out[i * nb + j] = sim === 'euclidean' ? -Math.sqrt(Math.max(0, a.sq[i]! + b.sq[j]! - 2 * dot)) : dot;
    }
  }
  return out;
}

/**
 * The fused score of one probe (H hypothesis embeddings, [H * d]) against one gallery entry (T
 * template embeddings, [T * d]).
 */
export function fuseScores(fusion: Fusion, sim: Similarity, probe: Float32Array, H: number, gallery: Float32Array, T: number, d: number): number {
  if (probe.length !== H * d || gallery.length !== T * d) throw new Error(`fuseScores: expected ${H} x ${d} and ${T} x ${d} values, got ${probe.length} and ${gallery.length}`);
  if (fusion === 'T_add') return similarity(sim, meanTemplate(probe, H, d), 0, meanTemplate(gallery, T, d), 0, d);
  if (fusion === 'T_concat') {
    const a = new Float64Array(H * d), b = new Float64Array(H * d);
    for (let h = 0; h < H; h++) {
      a.set(normalised(probe, h * d, d), h * d);
      b.set(normalised(gallery, (h % T) * d, d), h * d);
    }
    return similarity(sim, a, 0, b, 0, H * d);
  }
  const grid = new Float64Array(H * T);
  for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) grid[h * T + t] = similarity(sim, probe, h * d, gallery, t * d, d);
  return fuseGrid(fusion, grid, H, T);
}

