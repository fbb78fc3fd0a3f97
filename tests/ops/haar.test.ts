import { describe, it, expect } from 'vitest';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// float64 reference from the definition (block a b / c d of x):
//   ll = (a+b+c+d)/2, lh = (a+b-c-d)/2, hl = (a-b+c-d)/2, hh = (a-b-c+d)/2.
// Forward: at most four float32 adds and a halving per output: atol 1e-6, rtol 1e-6.
// Gradients (central differences of a linear map in float64 are exact to ~1e-10; ours accumulate at
// most four band contributions in float32): atol 1e-5, rtol 1e-5.
const tol = { atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5 };
type S = readonly number[];
const SIGN = [[1, 1, 1, 1], [1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]]; // ll lh hl hh on a b c d

/** Bands of x [N,C,H,W] as one [N, 4C, H/2, W/2] array (band k at channels kC..kC+C-1), or only `bands`. */
function dwt64(x: Float64Array, s: S, bands = [0, 1, 2, 3]): Float64Array {
  const [n, c, h, w] = s as [number, number, number, number];
  const ho = h / 2, wo = w / 2, nb = bands.length;
  const out = new Float64Array(n * nb * c * ho * wo);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    const at = (r: number, q: number) => x[((b * c + ch) * h + r) * w + q]!;
    const v = [at(2 * i, 2 * j), at(2 * i, 2 * j + 1), at(2 * i + 1, 2 * j), at(2 * i + 1, 2 * j + 1)];
    bands.forEach((k, bi) => {
      const sg = SIGN[k]!;
      out[((b * nb + bi) * c + ch) * ho * wo + i * wo + j] = 0.5 * (sg[0]! * v[0]! + sg[1]! * v[1]! + sg[2]! * v[2]! + sg[3]! * v[3]!);
    });
  }
  return out;
}

function idwt64(bs: Float64Array[], s: S): Float64Array {
  const [n, c, h, w] = s as [number, number, number, number];
  const out = new Float64Array(n * c * 4 * h * w);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const k = ((b * c + ch) * h + i) * w + j;
    const v = bs.map((t) => t[k]!);
    for (let p = 0; p < 4; p++) {
      const r = 2 * i + (p >> 1), q = 2 * j + (p & 1);
      out[((b * c + ch) * 2 * h + r) * 2 * w + q] = 0.5 * (SIGN[0]![p]! * v[0]! + SIGN[1]![p]! * v[1]! + SIGN[2]![p]! * v[2]! + SIGN[3]![p]! * v[3]!);
    }
  }
  return out;
}

const all = (x: L.Tensor) => { const b = L.haarDwt(x); return L.concat([b.ll, b.lh, b.hl, b.hh], 1); };

describe('Haar DWT vs float64', () => {
  const shapes: [string, number[]][] = [
    ['vec path W=8', [2, 3, 4, 8]],
    ['scalar path W=6, odd H/2', [1, 2, 6, 6]],
    ['1x1 output', [1, 1, 2, 2]],
    ['batch 7', [7, 1, 2, 4]],
  ];
  for (const [label, s] of shapes) {
    it(`dwt ${label}`, () => testOp({ name: `haarDwt ${label}`, shapes: [s], ours: all, ref64: ([x], [sx]) => dwt64(x!, sx!), ...tol }));
    it(`haarLL ${label}`, () => testOp({ name: `haarLL ${label}`, shapes: [s], ours: (x) => L.haarLL(x), ref64: ([x], [sx]) => dwt64(x!, sx!, [0]), ...tol }));
    const band = [s[0]!, s[1]!, s[2]! / 2, s[3]! / 2];
    it(`idwt ${label}`, () =>
      testOp({ name: `haarIdwt ${label}`, shapes: [band, band, band, band], ours: (a, b, c, d) => L.haarIdwt(a!, b!, c!, d!), ref64: (xs, [sb]) => idwt64(xs, sb!), ...tol }));
  }
  it('a single band (hl) used alone gets its own gradient', () =>
    testOp({ name: 'haarDwt hl only', shapes: [[2, 2, 4, 6]], ours: (x) => L.haarDwt(x).hl, ref64: ([x], [s]) => dwt64(x!, s!, [2]), ...tol }));
  it('two bands used (lh, hh)', () =>
    testOp({ name: 'haarDwt lh+hh', shapes: [[1, 2, 4, 4]], ours: (x) => { const b = L.haarDwt(x); return L.concat([b.lh, b.hh], 1); }, ref64: ([x], [s]) => dwt64(x!, s!, [1, 3]), ...tol }));
  it('round trip idwt(dwt(x)) == x within 1e-6', async () => {
    for (const s of [[2, 3, 8, 12], [1, 1, 6, 10]]) {
      const data = L.randnArray(s.reduce((a, b) => a * b, 1), 99);
      const x = L.tensor(data, s);
      const y = L.tidy(() => { const b = L.haarDwt(x); return L.haarIdwt(b.ll, b.lh, b.hl, b.hh); });
      const got = await y.data();
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - data[i]!));
      expect(worst).toBeLessThan(1e-6);
      x.dispose();
      y.dispose();
    }
  });
  it('rejects bad inputs', () => {
    const odd = L.zeros([1, 1, 3, 4]);
    expect(() => L.haarDwt(odd)).toThrow(/haarDwt.*even.*\[1, 1, 3, 4\]/);
    expect(() => L.haarLL(L.zeros([1, 1, 4, 5]))).toThrow(/haarLL.*even.*\[1, 1, 4, 5\]/);
    expect(() => L.haarDwt(L.zeros([4, 4]))).toThrow(/haarDwt.*NCHW.*\[4, 4\]/);
    const a = L.zeros([1, 1, 2, 2]), b = L.zeros([1, 1, 2, 3]);
    expect(() => L.haarIdwt(a, a, a, b)).toThrow(/haarIdwt.*\[1, 1, 2, 3\]/);
    odd.dispose();
  });
});
