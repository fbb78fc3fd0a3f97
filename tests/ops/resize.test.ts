import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, assertClose } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// float64 reference written from the definitions (PyTorch F.interpolate(size=..., mode=...)),
// as a per-axis weight matrix W[out][in]; y = W_H x W_W^T, and the exact gradient dx = W_H^T dy W_W.
//   scale = alignCorners ? (out > 1 ? (in-1)/(out-1) : 0) : in/out
//   no antialias: s = alignCorners ? scale*j : scale*(j+0.5) - 0.5 (bilinear with halfPixelCenters
//     false, TensorFlow's legacy resize: s = scale*j)
//     bilinear: s = max(s, 0) (half-pixel only); i0 = min(floor(s), in-1); l = clamp(s-i0, 0, 1);
//               W[j][i0] += 1-l, W[j][min(i0+1, in-1)] += l
//     bicubic:  i = floor(s), l = s - i; W[j][clamp(i-1+k, 0, in-1)] += cubic_a(k-1-l), a = -0.75
//   antialias (PIL / PyTorch _aa kernels): center = scale*(j+0.5); support = r * max(scale, 1) with
//     r = 1 (bilinear) / 2 (bicubic); taps i in [max(floor(center-support+0.5), 0), min(floor(center+support+0.5), in));
//     w_i = f((i - center + 0.5) / max(scale, 1)), f = triangle or cubic with a = -0.5; W[j][i] = w_i / sum w.
// Tolerances: ours computes positions and weights in float32 (positions up to ~112 carry ~1e-5
// absolute error; weights move by that times the filter slope) and sums up to ~30 taps per axis:
// forward atol 3e-5, rtol 1e-4. Gradients sum up to ~200 weighted terms per input: atol 2e-4, rtol 2e-4.
const FWD = { atol: 3e-5, rtol: 1e-4 };
const GRAD = { atol: 2e-4, rtol: 2e-4 };

type Kind = 'bilinear' | 'bicubic';
interface Opts { alignCorners?: boolean; antialias?: boolean; halfPixelCenters?: boolean }

function cubic(x: number, a: number): number {
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function weights64(kind: Kind, lin: number, lout: number, o: Opts): Float64Array[] {
  const align = !!o.alignCorners;
  const scale = align ? (lout > 1 ? (lin - 1) / (lout - 1) : 0) : lin / lout;
  const W = Array.from({ length: lout }, () => new Float64Array(lin));
  const clampI = (i: number) => Math.min(Math.max(i, 0), lin - 1);
  for (let j = 0; j < lout; j++) {
    const row = W[j]!;
    if (o.antialias) {
      const r = kind === 'bilinear' ? 1 : 2;
      const sup = r * Math.max(scale, 1);
      const inv = 1 / Math.max(scale, 1);
      const f = (x: number) => (kind === 'bilinear' ? Math.max(0, 1 - Math.abs(x)) : cubic(x, -0.5));
      const center = scale * (j + 0.5);
      const lo = Math.max(Math.floor(center - sup + 0.5), 0);
      const hi = Math.min(Math.floor(center + sup + 0.5), lin);
      let tot = 0;
      for (let i = lo; i < hi; i++) tot += f((i - center + 0.5) * inv);
      for (let i = lo; i < hi; i++) row[i]! += f((i - center + 0.5) * inv) / (tot || 1);
    } else {
      let s = align || o.halfPixelCenters === false ? scale * j : scale * (j + 0.5) - 0.5;
      if (kind === 'bilinear') {
        if (!align) s = Math.max(s, 0);
        const i0 = Math.min(Math.floor(s), lin - 1);
        const l = Math.min(Math.max(s - i0, 0), 1);
        row[i0]! += 1 - l;
        row[Math.min(i0 + 1, lin - 1)]! += l;
      } else {
        const i = Math.floor(s);
        const l = s - i;
        for (let k = 0; k < 4; k++) row[clampI(i - 1 + k)]! += cubic(k - 1 - l, -0.75);
      }
    }
  }
  return W;
}

/** y[p][i][j] = sum_{a,b} Wh[i][a] Ww[j][b] x[p][a][b] (separable, float64). */
function apply64(x: ArrayLike<number>, P: number, h: number, w: number, Wh: Float64Array[], Ww: Float64Array[]): Float64Array {
  const oh = Wh.length, ow = Ww.length;
  const tmp = new Float64Array(P * h * ow);
  for (let p = 0; p < P; p++) for (let a = 0; a < h; a++) for (let j = 0; j < ow; j++) {
    let s = 0;
    const r = Ww[j]!;
    for (let b = 0; b < w; b++) if (r[b]) s += r[b]! * x[(p * h + a) * w + b]!;
    tmp[(p * h + a) * ow + j] = s;
  }
  const out = new Float64Array(P * oh * ow);
  for (let p = 0; p < P; p++) for (let i = 0; i < oh; i++) {
    const r = Wh[i]!;
    for (let a = 0; a < h; a++) {
      if (!r[a]) continue;
      for (let j = 0; j < ow; j++) out[(p * oh + i) * ow + j]! += r[a]! * tmp[(p * h + a) * ow + j]!;
    }
  }
  return out;
}

const transpose = (W: Float64Array[], lin: number) => Array.from({ length: lin }, (_, i) => Float64Array.from(W, (row) => row[i]!));

function ref64(kind: Kind, x: ArrayLike<number>, s: readonly number[], size: [number, number], o: Opts): Float64Array {
  const [n, c, h, w] = s as [number, number, number, number];
  return apply64(x, n * c, h, w, weights64(kind, h, size[0], o), weights64(kind, w, size[1], o));
}

const op = (kind: Kind) => (kind === 'bilinear' ? L.resizeBilinear : L.resizeBicubic);

/** Forward and backward vs the float64 reference (exact transpose for the gradient). */
async function check(kind: Kind, s: number[], size: [number, number], o: Opts, seed = 5): Promise<void> {
  const [n, c, h, w] = s as [number, number, number, number];
  const data = L.randnArray(n * c * h * w, seed);
  const dyData = L.randnArray(n * c * size[0] * size[1], seed + 1);
  const x = L.tensor(data, s);
  x.requiresGrad = true;
  const y = L.tidy(() => {
    const out = op(kind)(x, size, o);
    const dy = L.tensor(dyData, out.shape);
    L.backward(out, dy);
    return out;
  });
  expect([...y.shape]).toEqual([n, c, ...size]);
  const label = `${kind} ${JSON.stringify(s)} -> ${JSON.stringify(size)} ${JSON.stringify(o)}`;
  assertClose(`${label} forward`, await y.data(), ref64(kind, data, s, size, o), FWD.atol, FWD.rtol);
  const Wh = weights64(kind, h, size[0], o), Ww = weights64(kind, w, size[1], o);
  const dx = apply64(dyData, n * c, size[0], size[1], transpose(Wh, h), transpose(Ww, w));
  assertClose(`${label} grad`, await x.grad!.data(), dx, GRAD.atol, GRAD.rtol);
  y.dispose();
  x.dispose();
}

const geoms: [string, number[], [number, number]][] = [
  ['up x2', [1, 2, 16, 16], [32, 32]],
  ['up x3.5 (32 -> 112)', [1, 1, 32, 32], [112, 112]],
  ['down 112 -> 16', [1, 2, 112, 112], [16, 16]],
  ['down 112 -> 24', [1, 1, 112, 112], [24, 24]],
  ['down 112 -> 32', [1, 1, 112, 112], [32, 32]],
  ['1x1 in', [1, 3, 1, 1], [3, 5]],
  ['1x1 out', [1, 2, 7, 6], [1, 1]],
  ['odd mixed (up H, down W), batch 7', [7, 1, 5, 13], [9, 4]],
  ['same H (W pass only), odd W', [1, 2, 6, 7], [6, 12]],
  ['same W = 7 (H pass only, partial 4-lane groups)', [2, 1, 10, 7], [5, 7]],
];

describe('resize vs float64 reference (forward and exact gradient)', () => {
  for (const kind of ['bilinear', 'bicubic'] as const) {
    for (const [label, s, size] of geoms) {
      it(`${kind} ${label}`, async () => {
        await check(kind, s, size, {});
        await check(kind, s, size, { alignCorners: true });
        await check(kind, s, size, { antialias: true });
        if (kind === 'bilinear') await check(kind, s, size, { halfPixelCenters: false });
        if (label.startsWith('down 112 -> 32') || label.startsWith('odd')) await check(kind, s, size, { antialias: true, alignCorners: true });
      });
    }
  }
});

describe('resize: finite-difference gradients of the reference (small shapes)', () => {
  // The reference is linear, so central differences are exact to ~1e-10; same tolerances as above.
  const small: [Kind, number[], [number, number], Opts][] = [
    ['bicubic', [1, 1, 6, 5], [3, 8], { antialias: true }],
    ['bilinear', [1, 2, 3, 4], [7, 2], { alignCorners: true }],
    ['bicubic', [2, 1, 4, 4], [5, 3], {}],
    ['bilinear', [1, 1, 4, 5], [8, 3], {}],
  ];
  for (const [kind, s, size, o] of small) {
    it(`${kind} ${JSON.stringify(s)} -> ${JSON.stringify(size)} ${JSON.stringify(o)}`, () =>
      testOp({ name: `${kind} fd`, shapes: [s], ours: (x) => op(kind)(x, size, o), ref64: ([x], [sx]) => ref64(kind, x!, sx!, size, o), atol: FWD.atol, rtol: FWD.rtol, gradAtol: GRAD.atol, gradRtol: GRAD.rtol }));
  }
});

describe('resizeBilinear vs tf.image.resizeBilinear (halfPixelCenters)', () => {
  // tfjs float32 CPU kernel, same formula: atol 1e-5, rtol 1e-5. Forward only: tfjs's
  // ResizeBilinear gradient (CPU, @tensorflow/tfjs 4.x) fails with transposed shapes for
  // non-square inputs and, for square ones, differs from the transpose of the (matching) forward;
  // our gradients are checked against the exact float64 transpose and finite differences above.
  const toNHWC = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]);
  const toNCHW = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]);
  for (const [label, s, size] of geoms.filter((g) => !g[0].startsWith('down 112 -> 16') && !g[0].startsWith('down 112 -> 24'))) {
    it(label, () =>
      testOp({
        name: `resizeBilinear tfjs ${label}`, shapes: [s], ours: (x) => L.resizeBilinear(x, size),
        ref: (x) => toNCHW(tf.image.resizeBilinear(toNHWC(x) as tf.Tensor4D, size, false, true)),
        atol: 1e-5, rtol: 1e-5,
      }));
  }
});

describe('resizeBilinear halfPixelCenters = false vs tf.image.resizeBilinear(alignCorners false, halfPixelCenters false)', () => {
  // TensorFlow's legacy mapping (what face-api's toBatchTensor resizes with). tfjs's CPU kernel
  // computes source positions in float64, ours in float32 (scale * j): at positions up to ~250 that
  // is ~3e-5 of position error, times neighbour differences up to ~5 of the N(0, 1) data: atol 2e-4
  // for face-api's sizes (a 250 LFW image to 416, 173 -> 112), 1e-5 for the small shapes above.
  const toNHWC = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]);
  const toNCHW = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]);
  const legacy: [string, number[], [number, number]][] = [
    ...geoms.filter((g) => !g[0].startsWith('down 112 -> 16') && !g[0].startsWith('down 112 -> 24')),
    ['up 250 -> 416 (face-api detector input)', [1, 3, 250, 250], [416, 416]],
    ['down 173 -> 112 (face-api landmark input)', [1, 3, 173, 173], [112, 112]],
  ];
  for (const [label, s, size] of legacy) {
    it(label, () =>
      testOp({
        name: `resizeBilinear legacy tfjs ${label}`, shapes: [s], ours: (x) => L.resizeBilinear(x, size, { halfPixelCenters: false }),
        ref: (x) => toNCHW(tf.image.resizeBilinear(toNHWC(x) as tf.Tensor4D, size, false, false)),
        atol: Math.max(s[2]!, s[3]!) > 112 ? 2e-4 : 1e-5, rtol: 1e-5,
      }));
  }
});

describe('resize rejects bad inputs', () => {
  it('throws naming the op and shapes', () => {
    const x = L.zeros([1, 1, 4, 4]);
    expect(() => L.resizeBilinear(x, [0, 4])).toThrow(/resizeBilinear.*\[0, 4\].*\[1, 1, 4, 4\]/);
    expect(() => L.resizeBicubic(x, [3, 0])).toThrow(/resizeBicubic.*\[3, 0\]/);
    expect(() => L.resizeBilinear(x, [2.5, 4])).toThrow(/resizeBilinear.*positive integers/);
    expect(() => L.resizeBilinear(L.zeros([4, 4]), [2, 2])).toThrow(/resizeBilinear.*NCHW.*\[4, 4\]/);
    expect(() => L.resizeBicubic(x, [2, 2], { mode: 'area' } as never)).toThrow(/resizeBicubic.*unknown option "mode"/);
    expect(() => L.resizeBilinear(x, [2, 2], { antialias: 1 } as never)).toThrow(/resizeBilinear.*booleans/);
    expect(() => L.resizeBilinear(x, [2, 2], { halfPixelCenters: false, alignCorners: true })).toThrow(/resizeBilinear.*legacy.*alignCorners/);
    expect(() => L.resizeBicubic(x, [2, 2], { halfPixelCenters: false } as never)).toThrow(/resizeBicubic.*unknown option "halfPixelCenters"/);
    x.dispose();
  });
});
