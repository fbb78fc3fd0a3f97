// Evaluation metrics. Scores are similarities: higher = more alike. All arithmetic in float64.
//
// CMC: for each probe, rank = 1 + #{impostor gallery entries g : s(g) >= s*}, s* = the best score of
//   the probe's genuine gallery entries. Ties count against the probe (pessimistic): with all scores
//   equal the rank is 1 + #impostor entries. CMC(k) = fraction of probes with rank <= k. Closed set:
//   a probe whose identity is absent from the gallery is an error.
// ROC: a pair is accepted when score >= t. Thresholds run over the distinct scores, high to low, from
//   (FPR, TPR) = (0, 0) to (1, 1); tied scores (genuine and impostor alike) enter in ONE step, a
//   diagonal segment. AUC = trapezoid rule on these points (= the Mann-Whitney statistic with ties
//   counted 1/2).
// TAR@FAR: threshold t = the k-th largest impostor score (0-based), k = floor(FAR * #impostors)
//   (t = -Infinity when k >= #impostors); a pair is accepted when score > t (strictly), so the fraction
//   of impostor scores above t is <= FAR (ties at t are all rejected). TAR = #{genuine > t} / #genuine.
//   With n impostors the smallest meaningful FAR is 1/n.
// 10-fold verification accuracy (LFW standard): for each fold, the threshold is chosen on the other
//   folds: candidates are the midpoints between consecutive distinct sorted scores, plus -Infinity and
//   +Infinity; predict "same" when score > t; the candidate with the best accuracy wins (ties: the
//   smallest threshold). Reported: mean and population standard deviation of the 10 fold accuracies.
// PSNR = 10 log10(max^2 / MSE) over all values (Infinity for identical inputs).
// SSIM (Wang, Bovik, Sheikh, Simoncelli 2004; their reference ssim_index.m): 11x11 Gaussian window,
//   σ = 1.5, normalised; K1 = 0.01, K2 = 0.03, C1 = (K1 L)^2, C2 = (K2 L)^2, L = max value; local
//   statistics with 'valid' filtering (no padding: the map is (H-10) x (W-10)); variances as
//   E[x^2] - E[x]^2; the SSIM of an image = the mean of its map. Multi-channel images: per channel,
//   then averaged over channels (default), or on the luma Y = 0.299 R + 0.587 G + 0.114 B (opts.luma).
//   Images smaller than 11x11 are an error.
import type { ChwImage } from './image.js';

type Num = ArrayLike<number>;
type Label = string | number;

export interface CmcResult {
  /** Rank of each probe (1-based). */
  ranks: Int32Array;
  /** cmc[k-1] = fraction of probes with rank <= k, k = 1..maxRank. */
  cmc: Float64Array;
  rank1: number;
}

/** CMC from a probe x gallery similarity matrix (row-major, sim[p * nGallery + g]). */
export function cmc(sim: Num, probeLabels: readonly Label[], galleryLabels: readonly Label[], maxRank = 20): CmcResult {
  const P = probeLabels.length, G = galleryLabels.length;
  if (sim.length !== P * G) throw new Error(`cmc: similarity matrix has ${sim.length} entries, expected ${P} x ${G}`);
  const ranks = new Int32Array(P);
  for (let p = 0; p < P; p++) {
    let best = -Infinity, found = false;
    for (let g = 0; g < G; g++) {
      if (galleryLabels[g] === probeLabels[p]) { found = true; best = Math.max(best, sim[p * G + g]!); }
    }
    if (!found) throw new Error(`cmc: probe ${p} (${String(probeLabels[p])}) has no gallery entry`);
    let r = 1;
    for (let g = 0; g < G; g++) if (galleryLabels[g] !== probeLabels[p] && !(sim[p * G + g]! < best)) r++;
    ranks[p] = r;
  }
  const curve = new Float64Array(maxRank);
  for (let k = 1; k <= maxRank; k++) {
    let c = 0;
    for (let p = 0; p < P; p++) if (ranks[p]! <= k) c++;
    curve[k - 1] = P > 0 ? c / P : NaN;
  }
  return { ranks, cmc: curve, rank1: curve[0]! };
}

export interface RocResult {
  fpr: number[];
  tpr: number[];
  /** threshold of each point (accept score >= t); the first point is +Infinity. */
  thresholds: number[];
  auc: number;
}

function checkScores(genuine: Num, impostor: Num, fn: string): void {
  if (genuine.length === 0 || impostor.length === 0) throw new Error(`${fn}: needs at least one genuine and one impostor score (got ${genuine.length}, ${impostor.length})`);
  for (const a of [genuine, impostor]) for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i]!)) throw new Error(`${fn}: NaN score`);
}

export function roc(genuine: Num, impostor: Num): RocResult {
  checkScores(genuine, impostor, 'roc');
  const all: [number, number][] = [];
  for (let i = 0; i < genuine.length; i++) all.push([genuine[i]!, 1]);
  for (let i = 0; i < impostor.length; i++) all.push([impostor[i]!, 0]);
  all.sort((a, b) => b[0] - a[0]);
  const nG = genuine.length, nI = impostor.length;
  const fpr = [0], tpr = [0], thresholds = [Infinity];
  let tp = 0, fp = 0, auc = 0;
  for (let i = 0; i < all.length;) {
    const t = all[i]![0];
    while (i < all.length && all[i]![0] === t) { if (all[i]![1]) tp++; else fp++; i++; }
    const x = fp / nI, y = tp / nG;
    auc += (x - fpr[fpr.length - 1]!) * (y + tpr[tpr.length - 1]!) / 2;
    fpr.push(x); tpr.push(y); thresholds.push(t);
  }
  return { fpr, tpr, thresholds, auc };
}

export interface TarResult { tar: number; threshold: number; /** the achieved FAR (<= the asked one) */ far: number }

export function tarAtFar(genuine: Num, impostor: Num, far: number): TarResult {
  checkScores(genuine, impostor, 'tarAtFar');
  if (!(far >= 0 && far <= 1)) throw new Error(`tarAtFar: FAR ${far} not in [0, 1]`);
  const imp = Float64Array.from(impostor).sort().reverse();
  const k = Math.floor(far * imp.length + 1e-9);
  const threshold = k >= imp.length ? -Infinity : imp[k]!;
  let ta = 0, fa = 0;
  for (let i = 0; i < genuine.length; i++) if (genuine[i]! > threshold) ta++;
  for (let i = 0; i < imp.length; i++) if (imp[i]! > threshold) fa++;
  return { tar: ta / genuine.length, threshold, far: fa / imp.length };
}

/** Best-accuracy threshold on (scores, same): see the header. Returns the threshold and its accuracy. */
export function bestThreshold(scores: Num, same: readonly boolean[]): { threshold: number; accuracy: number } {
  const n = scores.length;
  if (n === 0 || same.length !== n) throw new Error(`bestThreshold: ${n} scores, ${same.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // threshold below position i: indices order[0..i) predicted "different", order[i..n) "same"
  let nSame = 0;
  for (let i = 0; i < n; i++) if (same[i]) nSame++;
  let correct = nSame; // t = -Infinity: all predicted same
  let best = correct, bestT = -Infinity;
  for (let i = 0; i < n;) {
    const v = scores[order[i]!]!;
    while (i < n && scores[order[i]!]! === v) { correct += same[order[i]!] ? -1 : 1; i++; }
    const t = i < n ? (v + scores[order[i]!]!) / 2 : Infinity;
    if (correct > best) { best = correct; bestT = t; }
  }
  return { threshold: bestT, accuracy: best / n };
}

export interface KFoldResult { mean: number; std: number; accuracies: number[]; thresholds: number[] }

/** k-fold verification accuracy (LFW: folds 0..9 from pairs.txt). */
export function kFoldAccuracy(scores: Num, same: readonly boolean[], folds: readonly number[]): KFoldResult {
  const n = scores.length;
  if (same.length !== n || folds.length !== n) throw new Error('kFoldAccuracy: scores, same and folds differ in length');
  const ids = [...new Set(folds)].sort((a, b) => a - b);
  if (ids.length < 2) throw new Error('kFoldAccuracy: needs at least 2 folds');
  const accuracies: number[] = [], thresholds: number[] = [];
  for (const f of ids) {
    const trS: number[] = [], trL: boolean[] = [];
    for (let i = 0; i < n; i++) if (folds[i] !== f) { trS.push(scores[i]!); trL.push(same[i]!); }
    const { threshold } = bestThreshold(trS, trL);
    let ok = 0, cnt = 0;
    for (let i = 0; i < n; i++) if (folds[i] === f) { cnt++; if ((scores[i]! > threshold) === same[i]) ok++; }
    accuracies.push(ok / cnt);
    thresholds.push(threshold);
  }
  const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
  const std = Math.sqrt(accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / accuracies.length);
  return { mean, std, accuracies, thresholds };
}

export function psnr(a: Num, b: Num, maxVal = 1): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`psnr: sizes ${a.length} and ${b.length}`);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((maxVal * maxVal) / mse);
}

/** The normalised 11x11 Gaussian window (σ = 1.5) of SSIM, row-major. */
export function ssimWindow(size = 11, sigma = 1.5): Float64Array {
  const w = new Float64Array(size * size);
  const r = (size - 1) / 2;
  let s = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) s += w[y * size + x] = Math.exp(-((x - r) ** 2 + (y - r) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < w.length; i++) w[i]! /= s;
  return w;
}

/** The normalised 1-D Gaussian (σ = 1.5) whose outer product is ssimWindow. */
function ssimWindow1d(size = 11, sigma = 1.5): Float64Array {
  const g = new Float64Array(size);
  const r = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += g[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) g[i]! /= s;
  return g;
}

/**
 * Mean SSIM of two single-channel h x w planes (see the header). The 11x11 window is the outer product
 * of a 1-D Gaussian, so the five local statistics are filtered in two 1-D passes ('valid' rows, then
 * 'valid' columns): 22 instead of 121 multiply-adds a statistic and pixel, the same sums up to
 * float64 rounding.
 */
export function ssimPlane(a: Num, b: Num, h: number, w: number, maxVal = 1): number {
  const S = 11;
  if (h < S || w < S) throw new Error(`ssim: image ${w}x${h} smaller than the 11x11 window`);
  if (a.length !== h * w || b.length !== h * w) throw new Error(`ssim: planes of ${a.length} / ${b.length} values, expected ${h}x${w}`);
  const g = ssimWindow1d(S, 1.5);
  const C1 = (0.01 * maxVal) ** 2, C2 = (0.03 * maxVal) ** 2;
  const oh = h - S + 1, ow = w - S + 1;
  // horizontal pass: h x ow rows of the five statistics
  const hA = new Float64Array(h * ow), hB = new Float64Array(h * ow), hAA = new Float64Array(h * ow), hBB = new Float64Array(h * ow), hAB = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
      for (let k = 0; k < S; k++) {
        const gk = g[k]!, va = a[y * w + x + k]!, vb = b[y * w + x + k]!;
        ma += gk * va; mb += gk * vb; aa += gk * va * va; bb += gk * vb * vb; ab += gk * va * vb;
      }
      const o = y * ow + x;
      hA[o] = ma; hB[o] = mb; hAA[o] = aa; hBB[o] = bb; hAB[o] = ab;
    }
  }
  // vertical pass and the SSIM map
  let total = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
      for (let k = 0; k < S; k++) {
        const gk = g[k]!, o = (y + k) * ow + x;
        ma += gk * hA[o]!; mb += gk * hB[o]!; aa += gk * hAA[o]!; bb += gk * hBB[o]!; ab += gk * hAB[o]!;
      }
      const sa = aa - ma * ma, sb = bb - mb * mb, sab = ab - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * sab + C2)) / ((ma * ma + mb * mb + C1) * (sa + sb + C2));
    }
  }
  return total / (oh * ow);
}

function lumaPlane(img: ChwImage): Float64Array {
  const hw = img.h * img.w;
  const y = new Float64Array(hw);
  for (let i = 0; i < hw; i++) y[i] = 0.299 * img.data[i]! + 0.587 * img.data[hw + i]! + 0.114 * img.data[2 * hw + i]!;
  return y;
}

/** SSIM of two CHW images: per channel averaged, or on luma (opts.luma, 3-channel images). */
export function ssim(a: ChwImage, b: ChwImage, opts: { maxVal?: number; luma?: boolean } = {}): number {
  if (a.c !== b.c || a.h !== b.h || a.w !== b.w) throw new Error(`ssim: shapes ${a.c}x${a.h}x${a.w} and ${b.c}x${b.h}x${b.w} differ`);
  const L = opts.maxVal ?? 1;
  if (opts.luma) {
    if (a.c !== 3) throw new Error('ssim: luma needs 3-channel images');
    return ssimPlane(lumaPlane(a), lumaPlane(b), a.h, a.w, L);
  }
  const hw = a.h * a.w;
  let s = 0;
  for (let q = 0; q < a.c; q++) s += ssimPlane(a.data.subarray(q * hw, (q + 1) * hw), b.data.subarray(q * hw, (q + 1) * hw), a.h, a.w, L);
  return s / a.c;
}
