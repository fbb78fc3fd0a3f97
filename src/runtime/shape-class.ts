// Shape classes of the autotuner: a problem's sizes rounded to the nearest power of two (and capped),
// written as a short string such as "nt.m32.k512.n1024". One class = one cached variant choice per
// adapter; ./tunables.ts parses a class back into a representative workload of those sizes.
// (No op imports here: the ops import this module.)

/** 2^round(log2 x), clamped to [1, cap]. */
export function bucket(x: number, cap: number): number {
  if (!(x >= 1)) return 1;
  return Math.min(cap, 2 ** Math.round(Math.log2(x)));
}

/** Matmul: sizes capped at 1024 (larger problems behave like 1024 on every adapter we measured),
 *  except K from MATMUL_LONG_K, where split-K (ops/matmul.ts) starts: its own powers of two up to
 *  MATMUL_LONG_K_CAP. Whether splitting pays depends on K there: on lavapipe (2026-12-07) a tn
 *  128 × 4096 × 32 product ran 0.82× as fast split as whole, EdgeFace-XXS's weight gradient tn 96 ×
 *  25088 × 24 1.19× as fast, so one "k4096" bucket for both made the tuner's pick at 4096 the choice
 *  at 25088. */
export const MATMUL_CAP = 1024;
export const MATMUL_LONG_K = 4096;
export const MATMUL_LONG_K_CAP = 1 << 20;

export function matmulClass(M: number, K: number, N: number, transA: boolean, transB: boolean, batch = 1): string {
  const b = batch > 1 ? `.b${bucket(batch, 64)}` : '';
  const k = K >= MATMUL_LONG_K ? Math.max(MATMUL_LONG_K, bucket(K, MATMUL_LONG_K_CAP)) : bucket(K, MATMUL_CAP);
  return `${transA ? 't' : 'n'}${transB ? 't' : 'n'}.m${bucket(M, MATMUL_CAP)}.k${k}.n${bucket(N, MATMUL_CAP)}${b}`;
}

export interface MatmulClass { transA: boolean; transB: boolean; M: number; K: number; N: number; batch: number }

/** Whether x is a product's sizes (what matmul passes withVariant as its sample) of shape class c. */
export function isMatmulSample(x: unknown, c: string): x is MatmulClass {
  const s = x as Partial<MatmulClass> | null | undefined;
  if (!s || typeof s !== 'object') return false;
  const dims = [s.M, s.K, s.N, s.batch];
  if (!dims.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1) || typeof s.transA !== 'boolean' || typeof s.transB !== 'boolean') return false;
  return matmulClass(s.M!, s.K!, s.N!, s.transA, s.transB, s.batch) === c;
}

export function parseMatmulClass(c: string): MatmulClass {
  const m = /^([nt])([nt])\.m(\d+)\.k(\d+)\.n(\d+)(?:\.b(\d+))?$/.exec(c);
  if (!m) throw new Error(`autotune matmul: bad shape class "${c}" (expected e.g. "nt.m32.k512.n1024")`);
  return { transA: m[1] === 't', transB: m[2] === 't', M: +m[3]!, K: +m[4]!, N: +m[5]!, batch: m[6] ? +m[6] : 1 };
}

/** Conv geometry fields the classes use (a subset of conv.ts's Geom). */
export interface ConvGeomLike {
  N: number; Ci: number; Co: number; Ho: number; Wo: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; G: number;
}

/**
 * Dense conv (groups 1): kernel, stride, dilation and output side (capped at 64) exact; channels
 * and batch bucketed.
 * Grouped (non-depthwise) convs are not tuned: null.
 */
export function convClass(g: ConvGeomLike): string | null {
  if (g.G !== 1) return null;
  const d = g.dh !== 1 || g.dw !== 1 ? `.d${g.dh}x${g.dw}` : '';
  const side = Math.min(64, Math.max(g.Ho, g.Wo));
  return `k${g.kh}x${g.kw}.s${g.sh}x${g.sw}${d}.ci${bucket(g.Ci, 512)}.co${bucket(g.Co, 512)}.hw${side}.n${bucket(g.N, 32)}`;
}

export interface ConvClass { kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; ci: number; co: number; hw: number; n: number }

export function parseConvClass(c: string): ConvClass {
  const m = /^k(\d+)x(\d+)\.s(\d+)x(\d+)(?:\.d(\d+)x(\d+))?\.ci(\d+)\.co(\d+)\.hw(\d+)\.n(\d+)$/.exec(c);
  if (!m) throw new Error(`autotune conv: bad shape class "${c}" (expected e.g. "k3x3.s1x1.ci64.co64.hw32.n8")`);
  const n = (i: number) => +m[i]!;
  return { kh: n(1), kw: n(2), sh: n(3), sw: n(4), dh: m[5] ? n(5) : 1, dw: m[6] ? n(6) : 1, ci: n(7), co: n(8), hw: n(9), n: n(10) };
}

/** Depthwise (groups == channels), stride 1, dilation 1 only (the fast kernels); side exact (cap 64). */
export function depthwiseClass(g: ConvGeomLike): string | null {
  if (g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.kh !== g.kw) return null;
  return `k${g.kh}.c${bucket(g.Co, 512)}.hw${Math.min(64, Math.max(g.Ho, g.Wo))}.n${bucket(g.N, 32)}`;
}

export interface DepthwiseClass { k: number; c: number; hw: number; n: number }

export function parseDepthwiseClass(c: string): DepthwiseClass {
  const m = /^k(\d+)\.c(\d+)\.hw(\d+)\.n(\d+)$/.exec(c);
  if (!m) throw new Error(`autotune depthwise: bad shape class "${c}" (expected e.g. "k7.c128.hw16.n32")`);
  return { k: +m[1]!, c: +m[2]!, hw: +m[3]!, n: +m[4]! };
}

/** Elementwise (unary, binary, broadcast): the output size, bucketed (cap 2^22). */
export function elementwiseClass(size: number): string {
  return `n${bucket(size, 1 << 22)}`;
}

export function parseElementwiseClass(c: string): number {
  const m = /^n(\d+)$/.exec(c);
  if (!m) throw new Error(`autotune elementwise: bad shape class "${c}" (expected e.g. "n65536")`);
  return +m[1]!;
}

/** Reductions: outputs and reduced elements per output, bucketed (cap 2^20 each). */
export function reduceClass(nOut: number, R: number): string {
  return `o${bucket(nOut, 1 << 20)}.r${bucket(R, 1 << 20)}`;
}

export function parseReduceClass(c: string): { nOut: number; R: number } {
  const m = /^o(\d+)\.r(\d+)$/.exec(c);
  if (!m) throw new Error(`autotune reduce: bad shape class "${c}" (expected e.g. "o64.r4096")`);
  return { nOut: +m[1]!, R: +m[2]! };
}
