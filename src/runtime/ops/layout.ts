// Layout ops: reshape, flatten, permute/transpose, concat, split/chunk, slice, pad. Forward and backward
// side by side. Kernels: shaders/permute.wgsl (strided gather; 4x4 vec4 transpose variant),
// shaders/concat.wgsl (row-region copy / pad), shaders/slice_pad.wgsl (slice backward, general),
// shaders/concat_cl.wgsl (concatChannelsLast).
import { Tensor, empty, fmtShape, shapeSize, type Shape } from '../tensor.js';
import { getEngine, grid1d, u32, vec4u } from '../engine.js';
import { record, type PartialGrad } from '../autograd.js';
import { MAX_RANK, normAxis, pad8, stridesOf } from '../shape.js';
import { copyInto, zeros } from './elementwise.js';

// ---- reshape / flatten -------------------------------------------------------------------------

function resolveShape(op: string, x: Tensor, shape: Shape): number[] {
  if (!Array.isArray(shape)) throw new Error(`${op}: shape must be an array, got ${String(shape)}`);
  let infer = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new Error(`${op}: more than one -1 in ${fmtShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid dimension ${d} in ${fmtShape(shape)}`);
    else known *= d;
  });
  const out = [...shape];
  if (infer >= 0) {
    if (known === 0 || x.size % known !== 0) throw new Error(`${op}: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)}`);
    out[infer] = x.size / known;
  }
  if (shapeSize(out) !== x.size) throw new Error(`${op}: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)}`);
  return out;
}

/** A view of x with another shape (no copy); one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  x.check('reshape');
  const s = resolveShape('reshape', x, shape);
  const out = x.viewAs(s);
  return record('reshape', [x], out, (g) => [g.viewAs(x.shape)]);
}

/** Merges dims startDim..endDim (inclusive, negative counts from the end) into one. */
export function flatten(x: Tensor, startDim = 1, endDim = -1): Tensor {
  x.check('flatten');
  if (x.rank === 0) return reshape(x, [1]);
  const a = normAxis('flatten', startDim, x.rank);
  const b = normAxis('flatten', endDim, x.rank);
  if (a > b) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim} for ${fmtShape(x.shape)}`);
  const mid = x.shape.slice(a, b + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...x.shape.slice(0, a), mid, ...x.shape.slice(b + 1)]);
}

// ---- permute / transpose ----------------------------------------------------------------------

function checkPerm(x: Tensor, perm: readonly number[]): number[] {
  const r = x.rank;
  if (!Array.isArray(perm) || perm.length !== r) throw new Error(`permute: permutation [${String(perm)}] does not match rank ${r} of ${fmtShape(x.shape)}`);
  if (r > MAX_RANK) throw new Error(`permute: rank ${r} of ${fmtShape(x.shape)} exceeds ${MAX_RANK}`);
  const p = perm.map((a) => (Number.isInteger(a) && a < 0 ? a + r : a));
  const seen = new Set<number>();
  for (const a of p) {
    if (!Number.isInteger(a) || a < 0 || a >= r || seen.has(a)) throw new Error(`permute: [${perm.join(', ')}] is not a permutation of the dims of ${fmtShape(x.shape)}`);
    seen.add(a);
  }
  return p;
}

/** out[.., i_perm[k], ..] gathers; out.shape[k] = x.shape[perm[k]]. No autograd. */
function permuteForward(x: Tensor, perm: readonly number[]): Tensor {
  const outShape = perm.map((a) => x.shape[a]!);
  const out = empty(outShape);
  if (out.size === 0) return out;
  // Collapse: drop size-1 dims, then merge output dims that are consecutive in the input.
  const keep = perm.filter((a) => x.shape[a] !== 1);
  const groups: number[][] = [];
  for (const a of keep) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1]! + 1 === a) last.push(a);
    else groups.push([a]);
  }
  if (groups.length <= 1) return copyInto(out, x);
  // The collapsed input has the groups in input order; its shape and strides.
  const inOrder = [...groups].sort((g1, g2) => g1[0]! - g2[0]!);
  const gSize = (g: number[]) => g.reduce((p, a) => p * x.shape[a]!, 1);
  const inShape = inOrder.map(gSize);
  const inStr = stridesOf(inShape);
  const stOf = new Map(inOrder.map((g, i) => [g, inStr[i]!] as const));
  const cShape = groups.map(gSize);
  const cSt = groups.map((g) => stOf.get(g)!);
  // The innermost input dims [R, C] (multiples of 4) ending the output swapped: 4x4 vec4 blocks.
  const k = groups.length;
  const ga = inOrder[k - 2]!, gb = inOrder[k - 1]!;
  if (groups[k - 2] === gb && groups[k - 1] === ga && gSize(ga) % 4 === 0 && gSize(gb) % 4 === 0) {
    const R = gSize(ga), C = gSize(gb);
    const nBlocks = out.size / 16;
    const os = pad8(cShape.slice(0, k - 2)), ot = pad8(cSt.slice(0, k - 2), 0);
    getEngine().run({
      name: 'permute_t4', shader: 'permute', defines: { TRANSPOSE4: true, RANK: k - 2 },
      inputs: [x], outputs: [out],
      uniforms: [u32(nBlocks), u32(k - 2), u32(R / 4), u32(C / 4), vec4u(os.slice(0, 4)), vec4u(os.slice(4)), vec4u(ot.slice(0, 4)), vec4u(ot.slice(4)), u32(0)],
      workgroups: grid1d(nBlocks, 64),
    });
    return out;
  }
  stridedGather(x, out, cShape, cSt, 0, 'permute');
  return out;
}

function stridedGather(x: Tensor, out: Tensor, shape: number[], st: number[], base: number, name: string): void {
  const s8 = pad8(shape), t8 = pad8(st, 0);
  getEngine().run({
    name, shader: 'permute', defines: { TRANSPOSE4: false, RANK: shape.length },
    inputs: [x], outputs: [out],
    uniforms: [u32(out.size), u32(shape.length), u32(0), u32(0), vec4u(s8.slice(0, 4)), vec4u(s8.slice(4)), vec4u(t8.slice(0, 4)), vec4u(t8.slice(4)), u32(base)],
    workgroups: grid1d(Math.ceil(out.size / 4), 64),
  });
}

/** Reorders dims: out.shape[k] = x.shape[perm[k]] (rank <= 8; negative entries count from the end). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  x.check('permute');
  const p = checkPerm(x, perm);
  const inv = new Array<number>(p.length);
  p.forEach((a, k) => (inv[a] = k));
  const out = permuteForward(x, p);
  return record('permute', [x], out, (g) => [permuteForward(g, inv)]);
}

/** Swaps two dims. */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  x.check('transpose');
  const a = normAxis('transpose', d0, x.rank);
  const b = normAxis('transpose', d1, x.rank);
  const perm = [...x.shape.keys()];
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

// ---- row-region kernels (concat.wgsl) ---------------------------------------------------------

/** dst[o*dstRow + dstOff + j] = src[o*srcRow + srcOff + j], o < outer, j < len. */
function regionCopy(src: Tensor, dst: Tensor, outer: number, len: number, srcRow: number, srcOff: number, dstRow: number, dstOff: number, name: string, accum = false): void {
  const n = outer * len;
  if (n === 0) return;
  const eng = getEngine();
  if (!accum && outer <= 64 && len >= 4096) {
    // Few long rows: buffer-to-buffer copies (DMA-style) beat a shader on every adapter.
    for (let o = 0; o < outer; o++) eng.copyBuffer(src.buffer, (o * srcRow + srcOff) * 4, dst.buffer, (o * dstRow + dstOff) * 4, len * 4);
    return;
  }
  const v = [len, srcRow, srcOff, dstRow, dstOff].every((a) => a % 4 === 0);
  const d = v ? 4 : 1;
  eng.run({
    name, shader: 'concat', defines: { COPY: true, ACCUM: accum, VEC4: v },
    inputs: [src], outputs: [dst],
    uniforms: [u32(n / d), u32(len / d), u32(srcRow / d), u32(srcOff / d), u32(dstRow / d), u32(dstOff / d)],
    workgroups: grid1d(n / d, 64),
  });
}

/** Writes all of dst (outer rows of dstRow): src row slice at [dstOff, dstOff+len), zeros elsewhere. */
function regionPad(src: Tensor, dst: Tensor, outer: number, len: number, srcRow: number, dstRow: number, dstOff: number, name: string): void {
  const n = outer * dstRow;
  if (n === 0) return;
  const v = [len, srcRow, dstRow, dstOff].every((a) => a % 4 === 0);
  const d = v ? 4 : 1;
  getEngine().run({
    name, shader: 'concat', defines: { COPY: false, ACCUM: false, VEC4: v },
    inputs: [src], outputs: [dst],
    uniforms: [u32(n / d), u32(len / d), u32(srcRow / d), u32(0), u32(dstRow / d), u32(dstOff / d)],
    workgroups: grid1d(n / d, 64),
  });
}

// ---- slice (and the kernels split/concat backward share) --------------------------------------

interface Dim { n: number; b: number; s: number }

/** Drops size-1 dims and merges each full dim into the one before it (same memory layout). */
function mergeDims(shape: Shape, begin: readonly number[], size: readonly number[]): Dim[] {
  const out: Dim[] = [];
  shape.forEach((n, i) => {
    if (n === 1) return;
    const b = begin[i]!, s = size[i]!;
    const full = b === 0 && s === n;
    const last = out[out.length - 1];
    if (full && last) {
      last.n *= n;
      last.b *= n;
      last.s *= n;
    } else out.push({ n, b, s });
  });
  return out;
}

const fullDim = (d: Dim) => d.b === 0 && d.s === d.n;

/** The whole tensor (merged dims): a copy, no slice. */
const whole = (dims: Dim[]) => dims.length === 0 || (dims.length === 1 && fullDim(dims[0]!));

/** A slice that is `outer` rows, each with one contiguous run d (the row-region kernels' case), or null. */
function rowRegion(dims: Dim[]): { outer: number; d: Dim } | null {
  if (dims.length === 1) return { outer: 1, d: dims[0]! };
  if (dims.length === 2 && fullDim(dims[0]!)) return { outer: dims[0]!.n, d: dims[1]! };
  return null;
}

function sliceForward(x: Tensor, begin: readonly number[], size: readonly number[], name: string): Tensor {
  const out = empty(size);
  if (out.size === 0) return out;
  const dims = mergeDims(x.shape, begin, size);
  if (whole(dims)) return copyInto(out, x);
  const r = rowRegion(dims);
  if (r) regionCopy(x, out, r.outer, r.d.s, r.d.n, r.d.b, r.d.s, 0, name);
  else {
    const st = stridesOf(dims.map((d) => d.n));
    const base = dims.reduce((p, d, i) => p + d.b * st[i]!, 0);
    stridedGather(x, out, dims.map((d) => d.s), st, base, name);
  }
  return out;
}

/** The gradient of a slice: g placed at `begin` in a zero tensor of `shape`. */
function padForward(g: Tensor, shape: Shape, begin: readonly number[], size: readonly number[], name: string): Tensor {
  const out = empty(shape);
  if (out.size === 0) return out;
  if (g.size === 0) return zeros(shape);
  const dims = mergeDims(shape, begin, size);
  if (whole(dims)) return copyInto(out, g);
  const r = rowRegion(dims);
  if (r) regionPad(g, out, r.outer, r.d.s, r.d.s, r.d.n, r.d.b, name);
  else {
    const s8 = pad8(dims.map((d) => d.n)), b8 = pad8(dims.map((d) => d.b), 0), z8 = pad8(dims.map((d) => d.s));
    getEngine().run({
      name, shader: 'slice_pad', defines: { RANK: dims.length }, inputs: [g], outputs: [out],
      uniforms: [u32(out.size), u32(dims.length), vec4u(s8.slice(0, 4)), vec4u(s8.slice(4)), vec4u(b8.slice(0, 4)), vec4u(b8.slice(4)), vec4u(z8.slice(0, 4)), vec4u(z8.slice(4))],
      workgroups: grid1d(Math.ceil(out.size / 4), 64),
    });
  }
  return out;
}

/**
 * The gradient of a slice as a PartialGrad where the slice is a row region (rows of x, a contiguous
 * run in each): materialised by padForward, added into a pending gradient of x by a region add (so a
 * split's pieces write one full tensor between them); else the padded tensor.
 */
function sliceGrad(g: Tensor, shape: Shape, begin: readonly number[], size: readonly number[], name: string): Tensor | PartialGrad {
  const dims = mergeDims(shape, begin, size);
  const r = rowRegion(dims);
  if (g.size === 0 || !r || whole(dims)) return padForward(g, shape, begin, size, name);
  return {
    partial: true,
    materialize: () => padForward(g, shape, begin, size, name),
    addInto: (dst) => regionCopy(g, dst, r.outer, r.d.s, r.d.s, 0, r.d.n, r.d.b, `${name}_accumulate`, true),
  };
}

function sliced(op: string, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const out = sliceForward(x, begin, size, op);
  return record(op, [x], out, (g) => [sliceGrad(g, x.shape, begin, size, `${op}_backward`)]);
}

/**
 * out = x[begin[0] : begin[0] + size[0], ...]. size[d] = -1 takes everything from begin[d] to the
 * end (tf.slice convention); begin/size may be shorter than the rank (the rest is taken whole).
 */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  x.check('slice');
  const r = x.rank;
  if (!Array.isArray(begin) || !Array.isArray(size) || begin.length > r || size.length > r) {
    throw new Error(`slice: begin [${String(begin)}] / size [${String(size)}] do not fit ${fmtShape(x.shape)}`);
  }
  const b: number[] = [], s: number[] = [];
  for (let d = 0; d < r; d++) {
    const n = x.shape[d]!;
    const bd = begin[d] ?? 0;
    let sd = size[d] ?? -1;
    if (!Number.isInteger(bd) || bd < 0 || bd > n) throw new Error(`slice: begin ${bd} out of range for dim ${d} of ${fmtShape(x.shape)}`);
    if (sd === -1) sd = n - bd;
    if (!Number.isInteger(sd) || sd < 0 || bd + sd > n) {
      throw new Error(`slice: begin [${begin.join(', ')}] + size [${size.join(', ')}] exceeds ${fmtShape(x.shape)} on dim ${d}`);
    }
    b.push(bd);
    s.push(sd);
  }
  return sliced('slice', x, b, s);
}

/**
 * Zero padding (tf.pad with constant 0): paddings[d] = [before, after] for each dim d (shorter lists
 * leave the remaining dims unpadded). The backward is the slice of the gradient. Used for
 * TensorFlow's asymmetric 'same' padding of strided convolutions (face-api's networks).
 */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[]): Tensor {
  const op = 'pad';
  x.check(op);
  const r = x.rank;
  if (!Array.isArray(paddings) || paddings.length > r) {
    throw new Error(`${op}: paddings must be at most ${r} pairs [before, after] for ${fmtShape(x.shape)}, got ${JSON.stringify(paddings)}`);
  }
  const begin: number[] = [], shape: number[] = [];
  for (let d = 0; d < r; d++) {
    const p = paddings[d] ?? [0, 0];
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new Error(`${op}: padding of dim ${d} must be [before, after] with non-negative integers, got ${JSON.stringify(p)}`);
    }
    begin.push(p[0]);
    shape.push(x.shape[d]! + p[0] + p[1]);
  }
  if (begin.every((b, d) => b === 0 && shape[d] === x.shape[d])) return sliced(op, x, begin, x.shape);
  const out = padForward(x, shape, begin, x.shape, op);
  return record(op, [x], out, (g) => [sliceForward(g, begin, x.shape, `${op}_backward`)]);
}

// ---- concat / split / chunk --------------------------------------------------------------------

/** Joins tensors along `axis`; all other dims must match. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (!xs || xs.length === 0) throw new Error('concat: needs at least one tensor');
  xs.forEach((t, i) => t.check('concat', `input ${i}`));
  const first = xs[0]!;
  const ax = normAxis('concat', axis, first.rank);
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${xs.map((q) => fmtShape(q.shape)).join(', ')} differ outside axis ${ax}`);
    }
  }
  const sizes = xs.map((t) => t.shape[ax]!);
  const A = sizes.reduce((p, a) => p + a, 0);
  const outShape = [...first.shape];
  outShape[ax] = A;
  const outer = first.shape.slice(0, ax).reduce((p, d) => p * d, 1);
  const inner = first.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  const out = empty(outShape);
  let off = 0;
  const offs: number[] = [];
  xs.forEach((t, k) => {
    offs.push(off);
    regionCopy(t, out, outer, sizes[k]! * inner, sizes[k]! * inner, 0, A * inner, off * inner, 'concat');
    off += sizes[k]!;
  });
  return record('concat', xs, out, (g) =>
    xs.map((t, k) => {
      if (!t.requiresGrad) return null;
      const gk = empty(t.shape);
      regionCopy(g, gk, outer, sizes[k]! * inner, A * inner, offs[k]! * inner, sizes[k]! * inner, 0, 'concat_backward');
      return gk;
    }),
  );
}

/** The most pieces concatChannelsLast joins in one kernel (more: concat, then permute). */
export const CONCAT_CL_MAX_PIECES = 4;

/**
 * concat(xs, 1) of NCHW pieces [N, C_k, H, W], written channels-last [N, H, W, ΣC_k]: the same numbers
 * as permute(concat(xs, 1), [0, 2, 3, 1]), in one pass each way (shaders/concat_cl.wgsl) where that
 * takes a copy per piece and a permute (EdgeNeXt's SDTA block: its split convolutions → tokens).
 * Where H·W and every C_k are multiples of 4 it runs concat and permute instead: the pieces then go
 * by buffer copies and the permute moves 4x4 blocks with vector reads and writes, which beat the
 * kernel's one element per lane (EdgeFace-XXS at batch 32, forward + backward, GPU time: stage 1, 2 x
 * 24 channels at 14x14, 1.14 ms against 4.35; stage 2, 30 + 30 + 28 at 7x7, 1.99 against 2.23 ms for
 * concat + permute; stage 3, 4 x 42 at 3x3, 0.93 against 1.99; 2026-12-08, .scratch probe, lavapipe).
 */
export function concatChannelsLast(xs: readonly Tensor[]): Tensor {
  if (!xs || xs.length === 0) throw new Error('concatChannelsLast: needs at least one tensor');
  xs.forEach((t, i) => t.check('concatChannelsLast', `input ${i}`));
  const [N, , H, W] = xs[0]!.shape as [number, number, number, number];
  for (const t of xs) {
    if (t.rank !== 4 || t.shape[0] !== N || t.shape[2] !== H || t.shape[3] !== W) {
      throw new Error(`concatChannelsLast: pieces must be NCHW with the same N, H, W; got ${xs.map((q) => fmtShape(q.shape)).join(', ')}`);
    }
  }
  const aligned = (H * W) % 4 === 0 && xs.every((t) => t.shape[1]! % 4 === 0);
  if (xs.length > CONCAT_CL_MAX_PIECES || aligned) return permute(concat(xs, 1), [0, 2, 3, 1]);
  const ends: number[] = [];
  let C = 0;
  for (const t of xs) ends.push(C += t.shape[1]!);
  const P = xs.length, hw = H * W, n = N * hw * C;
  const defines = (backward: boolean) => ({ BACKWARD: backward, P2: P >= 2, P3: P >= 3, P4: P >= 4, NP: P, NP1: P + 1, FDIV: n < 2 ** 24 });
  const uniforms = [u32(n), u32(hw), u32(C), u32(0), vec4u([...ends, C, C, C].slice(0, 4))];
  const out = empty([N, H, W, C]);
  if (n > 0) {
    getEngine().run({ name: 'concatChannelsLast', shader: 'concat_cl', defines: defines(false), inputs: xs, outputs: [out], uniforms, workgroups: grid1d(n, 64) });
  }
  return record('concatChannelsLast', xs, out, (g) => {
    const gs = xs.map((t) => empty(t.shape));
    if (n > 0) {
      getEngine().run({ name: 'concatChannelsLast_backward', shader: 'concat_cl', defines: defines(true), inputs: [g], outputs: gs, uniforms, workgroups: grid1d(n, 64) });
    }
    return gs.map((gk, k) => (xs[k]!.requiresGrad ? gk : (gk.dispose(), null)));
  });
}

/**
 * Splits x along `axis` into pieces of the given sizes (which must sum to x.shape[axis]). Each piece
 * records its own backward (its gradient padded with zeros to x's shape), so pieces that are not
 * used contribute nothing and autograd sums the rest.
 */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  x.check('split');
  const ax = normAxis('split', axis, x.rank);
  const D = x.shape[ax]!;
  if (!Array.isArray(sizes) || sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((p, s) => p + s, 0) !== D) {
    throw new Error(`split: sizes [${String(sizes)}] do not sum to ${D} (dim ${ax} of ${fmtShape(x.shape)})`);
  }
  let off = 0;
  return sizes.map((s) => {
    const b = x.shape.map((_, d) => (d === ax ? off : 0));
    const z = x.shape.map((n, d) => (d === ax ? s : n));
    off += s;
    return sliced('split', x, b, z);
  });
}

/** PyTorch chunk: pieces of ceil(D / n) along axis (the last one smaller; possibly fewer than n). */
export function chunk(x: Tensor, n: number, axis: number): Tensor[] {
  x.check('chunk');
  if (!Number.isInteger(n) || n < 1) throw new Error(`chunk: n must be a positive integer, got ${n} for ${fmtShape(x.shape)}`);
  const ax = normAxis('chunk', axis, x.rank);
  const D = x.shape[ax]!;
  const c = Math.ceil(D / n);
  const sizes: number[] = [];
  for (let off = 0; off < D; off += c) sizes.push(Math.min(c, D - off));
  if (sizes.length === 0) sizes.push(0);
  return split(x, sizes, ax);
}
