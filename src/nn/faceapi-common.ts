// Pieces shared by our ports of face-api's small networks (npm @vladmandic/face-api@1.7.15, MIT):
// TensorFlow's 'same' padding for convolutions, the depthwise-separable conv both nets use, the
// legacy-resize / pad-to-square input preparation, and a weight loader for face-api's tfjs
// manifests. Browser-safe (no Node API).
//
// TensorFlow 'same' padding (tf.conv2d / tf.separableConv2d with 'same'): output ceil(n / s), total
// padding max((out - 1) s + k - n, 0), the smaller half BEFORE. For 3x3 stride 1 that is one on each
// side (a symmetric conv padding), but for 3x3 stride 2 on an even side it is 0 before and 1 after,
// which no symmetric padding reproduces: those go through an explicit zero pad() and a 'valid' conv.
import {
  Tensor, Rng, conv2d, pad, resizeBilinear, getEngine, fmtShape,
} from '../runtime/index.js';
import type { NamedArray } from './safetensors.js';
import { Module } from './module.js';
import { Conv2d } from './layers.js';

/** [before, after] of TensorFlow's 'same' padding along a side of length n (kernel k, stride s). */
export function tfSamePadding(n: number, k: number, s: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** conv2d with TensorFlow's 'same' (or 'valid') padding; groups for depthwise. */
export function tfConv2d(x: Tensor, w: Tensor, b: Tensor | null, stride: number, padding: 'same' | 'valid', groups = 1): Tensor {
  if (padding === 'valid') return conv2d(x, w, b, { stride, groups });
  const [kh, kw] = [w.shape[2]!, w.shape[3]!];
  const [t, bo] = tfSamePadding(x.shape[2]!, kh, stride);
  const [l, r] = tfSamePadding(x.shape[3]!, kw, stride);
  if (t === bo && l === r) return conv2d(x, w, b, { stride, padding: [t, l], groups });
  return conv2d(pad(x, [[0, 0], [0, 0], [t, bo], [l, r]]), w, b, { stride, groups });
}

/**
 * tf.separableConv2d(x, depthwise, pointwise, stride, 'same') + bias: a depthwise 3x3 (no bias) then a
 * 1x1 conv with the bias. Parameters: depthwise.weight [C, 1, 3, 3], pointwise.weight [Co, C, 1, 1],
 * pointwise.bias [Co] (face-api's depthwise_filter, pointwise_filter, bias).
 */
export class SeparableConv extends Module {
  readonly depthwise: Conv2d;
  readonly pointwise: Conv2d;
  constructor(readonly ci: number, readonly co: number, readonly stride: 1 | 2, rng: Rng) {
    super();
    this.depthwise = this.child('depthwise', new Conv2d(ci, ci, 3, { groups: ci, bias: false, rng }));
    this.pointwise = this.child('pointwise', new Conv2d(ci, co, 1, { rng }));
  }
  forward(x: Tensor): Tensor {
    const d = tfConv2d(x, this.depthwise.weight, null, this.stride, 'same', this.ci);
    return conv2d(d, this.pointwise.weight, this.pointwise.bias);
  }
}

/**
 * face-api's NetInput.toBatchTensor for a tensor input: pad [1, 3, H, W] to a square with zeros
 * (centred: round(diff / 2) after and the rest before, as padToSquare(x, true); else all of it
 * after, i.e. at the bottom or the right), then tf.image.resizeBilinear to size x size with
 * alignCorners = false, halfPixelCenters = false (skipped when the square already has that size).
 * Returns the prepared tensor (x itself when there is nothing to do) and the padding before (x, y)
 * in input pixels.
 */
export function toFaceApiInput(x: Tensor, size: number, centre: boolean): { input: Tensor; padX: number; padY: number } {
  if (x.rank !== 4 || x.shape[0] !== 1 || x.shape[1] !== 3) throw new Error(`face-api input: expected one RGB image [1, 3, H, W], got ${fmtShape(x.shape)}`);
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  if (h < 1 || w < 1) throw new Error(`face-api input: empty image ${fmtShape(x.shape)}`);
  const diff = Math.abs(h - w);
  const after = Math.round(diff * (centre ? 0.5 : 1));
  const before = diff - after;
  let sq = x;
  let padX = 0, padY = 0;
  if (diff > 0) {
    const p: [number, number] = [before, after];
    sq = h > w ? pad(x, [[0, 0], [0, 0], [0, 0], p]) : pad(x, [[0, 0], [0, 0], p, [0, 0]]);
    if (h > w) padX = before; else padY = before;
  }
  const side = Math.max(h, w);
  if (side === size) return { input: sq, padX, padY };
  const input = resizeBilinear(sq, [size, size], { halfPixelCenters: false });
  if (sq !== x) sq.dispose();
  return { input, padX, padY };
}

/** How a face-api weight is laid out (decides the transposition into our layout). */
function toOurLayout(name: string, a: NamedArray): { data: Float32Array; shape: number[] } {
  const s = a.shape;
  if (s.length === 4 && name.endsWith('depthwise_filter')) {
    // [kh, kw, C, 1] -> [C, 1, kh, kw]
    const [kh, kw, c, m] = s as [number, number, number, number];
    if (m !== 1) throw new Error(`"${name}" ${fmtShape(s)}: a depthwise multiplier other than 1 is not supported`);
    const out = new Float32Array(a.data.length);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < c; i++) out[(i * kh + y) * kw + x] = a.data[(y * kw + x) * c + i]!;
    return { data: out, shape: [c, 1, kh, kw] };
  }
  if (s.length === 4) {
    // HWIO [kh, kw, ci, co] -> OIHW [co, ci, kh, kw]
    const [kh, kw, ci, co] = s as [number, number, number, number];
    const out = new Float32Array(a.data.length);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) {
      const src = ((y * kw + x) * ci + i) * co;
      for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = a.data[src + o]!;
    }
    return { data: out, shape: [co, ci, kh, kw] };
  }
  if (s.length === 2) {
    // tf.matMul(x, w) with w [in, out] -> linear()'s [out, in]
    const [i, o] = s as [number, number];
    const out = new Float32Array(i * o);
    for (let r = 0; r < i; r++) for (let c = 0; c < o; c++) out[c * i + r] = a.data[r * o + c]!;
    return { data: out, shape: [o, i] };
  }
  return { data: a.data, shape: [...s] };
}

/**
 * Copies face-api weights (decoded by decodeTfjsWeights / loadTfjsWeightsFromDir) into `model`
 * through `ours` (face-api name -> our parameter name, null when it has none). Every parameter must
 * be filled and every weight used, with matching shapes; anything else throws naming the weight and
 * `what` (the model).
 */
export function loadFaceApiNet(model: Module, weights: ReadonlyMap<string, NamedArray>, what: string, ours: (name: string) => string | null): void {
  const params = new Map(model.namedParameters());
  const filled = new Set<string>();
  const e = getEngine();
  for (const [name, a] of weights) {
    const o = ours(name);
    const p = o ? params.get(o) : undefined;
    if (!o || !p) throw new Error(`${what}: face-api weight "${name}" has no counterpart in the model (wrong weights manifest?)`);
    const n = a.shape.reduce((x, y) => x * y, 1);
    if (a.data.length !== n) throw new Error(`${what}: "${name}" has ${a.data.length} values for shape ${fmtShape(a.shape)}`);
    const { data, shape } = toOurLayout(name, a);
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`${what}: "${name}" ${fmtShape(a.shape)} (as ${fmtShape(shape)}) does not fit ${o} ${fmtShape(p.shape)}`);
    }
    e.upload(p.buffer, data);
    filled.add(o);
  }
  const missing = [...params.keys()].filter((k) => !filled.has(k));
  if (missing.length) throw new Error(`${what}: ${missing.length} parameters not in the weights (wrong weights manifest?): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
}

/**
 * face-api's parameter naming: "a/b/filters" -> "a.b.weight", and for the separable convs named by
 * `separable` (their prefix with '.'), depthwise_filter / pointwise_filter / bias ->
 * .depthwise.weight / .pointwise.weight / .pointwise.bias. null for any other name.
 */
export function faceApiParamName(name: string, separable: (prefix: string) => boolean): string | null {
  const m = /^(.+)\/(filters|bias|depthwise_filter|pointwise_filter|weights)$/.exec(name);
  if (!m) return null;
  const base = m[1]!.replaceAll('/', '.');
  const sep = separable(base);
  switch (m[2]) {
    case 'filters': case 'weights': return sep ? null : `${base}.weight`;
    case 'depthwise_filter': return sep ? `${base}.depthwise.weight` : null;
    case 'pointwise_filter': return sep ? `${base}.pointwise.weight` : null;
    default: return sep ? `${base}.pointwise.bias` : `${base}.bias`;
  }
}
