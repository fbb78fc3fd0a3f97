// Scores (cosine, Pearson or -Euclidean) and the metrics of one protocol at one condition (see metrics.ts).
import { cmc, roc, tarAtFar, kFoldAccuracy } from './metrics.js';
import { condLabel, type Condition, type Item, type ProtocolName, type ProtocolPlan } from './eval-protocols.js';
import type { Metric } from './recognizers.js';

/**
 * How two embeddings are compared: cosine, Pearson correlation (the cosine of the mean-centred
 * vectors; issue 15's method D), or minus the Euclidean distance (dlib's own).
 */
export type ScoreMetric = Metric | 'pearson';

/** Rows ready for a dot product: cosine -> L2-normalised, pearson -> mean-centred and L2-normalised, euclidean -> as they are. */
function prepareRows(e: Float32Array, dim: number, metric: ScoreMetric): Float32Array {
  if (metric === 'euclidean') return e;
  const o = new Float32Array(e.length);
  for (let r = 0; r < e.length / dim; r++) {
    let m = 0;
    if (metric === 'pearson') { for (let i = 0; i < dim; i++) m += e[r * dim + i]!; m /= dim; }
    let s = 0;
    for (let i = 0; i < dim; i++) s += (e[r * dim + i]! - m) ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let i = 0; i < dim; i++) o[r * dim + i] = (e[r * dim + i]! - m) * inv;
  }
  return o;
}

/** The score of row ai of A with row bj of B (both prepareRows'd): their dot product, or minus their distance. */
function rowScore(A: Float32Array, ai: number, B: Float32Array, bj: number, dim: number, metric: ScoreMetric): number {
  let s = 0;
  if (metric !== 'euclidean') for (let k = 0; k < dim; k++) s += A[ai + k]! * B[bj + k]!;
  else { for (let k = 0; k < dim; k++) { const d = A[ai + k]! - B[bj + k]!; s += d * d; } s = -Math.sqrt(s); }
  return s;
}

/** score(a_i, b_j) for all i, j (row-major [na, nb]): cosine, Pearson, or -Euclidean distance. */
export function scoreMatrix(a: Float32Array, b: Float32Array, dim: number, metric: ScoreMetric): Float64Array {
  const na = a.length / dim, nb = b.length / dim;
  const A = prepareRows(a, dim, metric), Bm = prepareRows(b, dim, metric);
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) for (let j = 0; j < nb; j++) out[i * nb + j] = rowScore(A, i * dim, Bm, j * dim, dim, metric);
  return out;
}

/**
 * Items with one or more embeddings each (a gallery entry's templates, a probe's hypotheses; each
 * [k * dim]): score(item i of a, item j of b) = the best score of any of i's rows with any of j's
 * (S_max fusion). Row-major [a.length, b.length]; with one row per item it is scoreMatrix.
 */
export function fusedScoreMatrix(a: readonly Float32Array[], b: readonly Float32Array[], dim: number, metric: ScoreMetric): Float64Array {
  const flat = (xs: readonly Float32Array[]) => {
    const rows = xs.reduce((n, x) => n + x.length / dim, 0);
    const v = new Float32Array(rows * dim), owner = new Int32Array(rows);
    let r = 0;
    xs.forEach((x, i) => {
      if (x.length === 0 || x.length % dim !== 0) throw new Error(`fusedScoreMatrix: an entry has ${x.length} values, not a positive multiple of ${dim}`);
      v.set(x, r * dim);
      owner.fill(i, r, r + x.length / dim);
      r += x.length / dim;
    });
    return { v: prepareRows(v, dim, metric), owner, rows };
  };
  const A = flat(a), B = flat(b);
  const nb = b.length;
  const out = new Float64Array(a.length * nb).fill(-Infinity);
  for (let i = 0; i < A.rows; i++) {
    const oi = A.owner[i]! * nb;
    for (let j = 0; j < B.rows; j++) {
      const s = rowScore(A.v, i * dim, B.v, j * dim, dim, metric), o = oi + B.owner[j]!;
      if (s > out[o]!) out[o] = s;
    }
  }
  return out;
}

/** AUC = P(g > i) + P(g = i) / 2 over all genuine x impostor score pairs (= metrics.roc's AUC). */
export function aucMannWhitney(genuine: ArrayLike<number>, impostor: ArrayLike<number>): number {
  const g = Float64Array.from(genuine).sort(), im = Float64Array.from(impostor).sort();
  // j = #impostors < v, k = #impostors <= v, for the genuine scores v in increasing order
  let j = 0, k = 0, acc = 0;
  for (let i = 0; i < g.length; i++) {
    const v = g[i]!;
    while (j < im.length && im[j]! < v) j++;
    if (k < j) k = j;
    while (k < im.length && im[k]! === v) k++;
    acc += j + (k - j) / 2;
  }
  return acc / (g.length * im.length);
}

export interface ResultRow {
  protocol: ProtocolName;
  kind: 'verify' | 'ident';
  resolution: string;
  size: number | null;
  /** Pairs (verification) or probes (identification). */
  n: number;
  gallery?: number;
  genuine: number;
  impostors: number;
  rank1?: number;
  rank5?: number;
  rank10?: number;
  cmc?: number[];
  acc?: number;
  accStd?: number;
  foldAccuracies?: number[];
  tar1e2: number;
  tar1e3: number;
  /** The FAR actually reached by each TAR threshold (<= the asked one). */
  far1e2: number;
  far1e3: number;
  auc: number;
  /** ROC curve (verification), thinned to at most ~400 points. */
  roc?: { fpr: number[]; tpr: number[] };
  /** Entries dropped because an image could not be decoded. */
  dropped: number;
  /** LR conditions: mean PSNR (dB) / SSIM of the super-resolved probes against HR (sr-quality.ts). */
  psnr?: number;
  ssim?: number;
}

function thinRoc(r: { fpr: number[]; tpr: number[] }, max = 400): { fpr: number[]; tpr: number[] } {
  if (r.fpr.length <= max) return { fpr: r.fpr, tpr: r.tpr };
  const keep: number[] = [];
  const step = r.fpr.length / max;
  for (let i = 0; i < r.fpr.length; i += step) keep.push(Math.floor(i));
  // keep the low-FAR end densely (log axis): every point with FPR < 1e-2
  const low = r.fpr.map((f, i) => [f, i] as const).filter(([f]) => f < 1e-2).map(([, i]) => i);
  const idx = [...new Set([...keep, ...low, r.fpr.length - 1])].sort((a, b) => a - b);
  return { fpr: idx.map((i) => r.fpr[i]!), tpr: idx.map((i) => r.tpr[i]!) };
}

/**
 * Which side of a comparison an embedding is for: the gallery side (verification: side a of a pair;
 * identification: the gallery; always at full resolution) or the probe side (side b / the probes, at
 * every condition). The two sides may come from different recognizers (EvalOptions.galleryRecognizer).
 */
export type Role = 'gallery' | 'probe';

/**
 * The embedding of an item at a condition for one side (undefined: the image could not be decoded);
 * [k * dim] for an item with k embeddings (templates, hypotheses), scored by their best pair (S_max).
 */
export type Lookup = (it: Item, cond: Condition, role: Role) => Float32Array | undefined;

/** The metrics of one protocol at one condition (see metrics.ts for the definitions). */
export function evaluatePlan(plan: ProtocolPlan, cond: Condition, get: Lookup, dim: number, metric: ScoreMetric): ResultRow {
  const full: Condition = { size: null, degrade: false };
  const base = { protocol: plan.name, kind: plan.kind, resolution: condLabel(cond), size: cond.size };
  if (plan.kind === 'verify') {
    const ok = plan.pairs.filter((p) => get(p.a, full, 'gallery') && get(p.b, cond, 'probe'));
    const s = Float64Array.from(ok, (p) => fusedScoreMatrix([get(p.a, full, 'gallery')!], [get(p.b, cond, 'probe')!], dim, metric)[0]!);
    const same = ok.map((p) => p.same);
    const gen = s.filter((_, i) => same[i]), imp = s.filter((_, i) => !same[i]);
    const kf = kFoldAccuracy(s, same, ok.map((p) => p.fold));
    const r = roc(gen, imp);
    const t2 = tarAtFar(gen, imp, 1e-2), t3 = tarAtFar(gen, imp, 1e-3);
    return {
      ...base, n: ok.length, genuine: gen.length, impostors: imp.length, acc: kf.mean, accStd: kf.std, foldAccuracies: kf.accuracies,
      tar1e2: t2.tar, tar1e3: t3.tar, far1e2: t2.far, far1e3: t3.far, auc: r.auc, roc: thinRoc(r), dropped: plan.pairs.length - ok.length,
    };
  }
  const gal = plan.gallery.filter((g) => get(g, full, 'gallery'));
  const galPeople = new Set(gal.map((g) => g.person));
  const probes = plan.probes.filter((p) => galPeople.has(p.person) && get(p, cond, 'probe'));
  const sim = fusedScoreMatrix(probes.map((p) => get(p, cond, 'probe')!), gal.map((g) => get(g, full, 'gallery')!), dim, metric);
  const pl = probes.map((p) => p.person), gl = gal.map((g) => g.person);
  const c = cmc(sim, pl, gl, 100); // to rank 100, as method B (issue 14) reports it
  const gen: number[] = [], imp = new Float64Array(sim.length);
  let ni = 0;
  for (let i = 0; i < probes.length; i++) for (let j = 0; j < gal.length; j++) {
    const v = sim[i * gal.length + j]!;
    if (pl[i] === gl[j]) gen.push(v); else imp[ni++] = v;
  }
  const impostors = imp.subarray(0, ni);
  const t2 = tarAtFar(gen, impostors, 1e-2), t3 = tarAtFar(gen, impostors, 1e-3);
  return {
    ...base, n: probes.length, gallery: gal.length, genuine: gen.length, impostors: ni,
    rank1: c.cmc[0]!, rank5: c.cmc[4]!, rank10: c.cmc[9]!, cmc: [...c.cmc],
    tar1e2: t2.tar, tar1e3: t3.tar, far1e2: t2.far, far1e3: t3.far, auc: aucMannWhitney(gen, impostors),
    dropped: plan.probes.length + plan.gallery.length - probes.length - gal.length,
  };
}
