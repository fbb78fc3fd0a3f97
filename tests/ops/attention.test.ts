// xcaAttention (src/runtime/ops/attention.ts, shaders/xca.wgsl): cross-covariance attention in one
// kernel each way, against tfjs (forward and both gradients) and against our own composite of ops
// (the path it replaces), on EdgeFace-XXS's three SDTA shapes and small odd ones.
import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, programs } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';
import { tfXca as tfXcaRef } from '../../src/check/refs.js';

// tfjs's XCA (timm's CrossCovarianceAttn between qkv and proj): src/check/refs.ts, as `lrfr doctor` uses it.
const tfXca = (heads: number) => tfXcaRef(tf, heads);

// Each output sums ch products of softmax weights (≤ 1) and N(0,1) values after an N-term norm and
// an N-term product, in another order than tfjs: atol / rtol 1e-5 / 1e-4; gradients through the
// softmax and both norms 1e-4 / 1e-3.
const tol = { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-3 };

// [label, B, N, C, heads]
const cases: [string, number, number, number, number][] = [
  ['2 images, 7 tokens, 4 heads of 3', 2, 7, 12, 4],
  ['EdgeFace-XXS stage 1 (14x14 tokens, 4 heads of 12), batch 2', 2, 196, 48, 4],
  ['EdgeFace-XXS stage 2 (7x7 tokens, 4 heads of 22), batch 2', 2, 49, 88, 4],
  ['EdgeFace-XXS stage 3 (3x3 tokens, 4 heads of 42), batch 1', 1, 9, 168, 4],
  ['one token, one head of 5', 2, 1, 5, 1],
];

describe('xcaAttention vs tfjs', () => {
  for (const [label, B, N, C, heads] of cases) {
    it(label, () => testOp({
      name: `xca ${label}`, shapes: [[B, N, 3 * C], [heads, 1, 1]],
      ours: (qkv, t) => L.xcaAttention(qkv, t, heads), ref: tfXca(heads), ...tol,
    }));
  }
});

// The kernel needs fixed 8-lane subgroups (lavapipe); elsewhere xcaAttention is the composite.
const SG8 = L.fixedSubgroupSize() === 8;

describe('xcaAttention equals the composite of ops it replaces', () => {
  const run = async (B: number, N: number, C: number, heads: number, fused: boolean, edit?: (qkv: Float32Array) => void) => {
    const rng = new L.Rng(5); // the same inputs on both paths
    const rand = (shape: number[]) => ({ data: Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal()), shape });
    const qkvInit = rand([B, N, 3 * C]);
    edit?.(qkvInit.data);
    const tInit = rand([heads, 1, 1]);
    const gInit = rand([B, N, C]);
    const qkv = L.requireGrad(L.tensor(qkvInit.data, qkvInit.shape));
    const t = L.requireGrad(L.tensor(tInit.data, tInit.shape));
    const gOut = L.tensor(gInit.data, gInit.shape);
    let out: L.Tensor | null = null;
    const saved = L.xcaPaths.fused;
    L.xcaPaths.fused = fused;
    try {
      const names = programs(() => {
        out = L.keep(L.xcaAttention(qkv, t, heads));
        L.backward(out, gOut);
      });
      const inferNames: string[] = [];
      let inference: number[] = [];
      const inf = L.noGrad(() => {
        let y: L.Tensor | null = null;
        inferNames.push(...programs(() => { y = L.keep(L.xcaAttention(qkv, t, heads)); }));
        return y!;
      });
      inference = Array.from(await inf.data());
      inf.dispose();
      return { y: Array.from(await out!.data()), dqkv: Array.from(await qkv.grad!.data()), dt: Array.from(await t.grad!.data()), names, inferNames, inference };
    } finally {
      L.xcaPaths.fused = saved;
      L.dispose([qkv, t, gOut, out!]);
    }
  };
  const close = (a: number[], b: number[], what: string, rel: number) => {
    expect(a.length, what).toBe(b.length);
    const scale = Math.max(...b.map(Math.abs));
    const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    expect(diff / scale, what).toBeLessThan(rel);
  };
  for (const [label, B, N, C, heads] of cases.slice(1, 4)) {
    it(`${label}: one kernel each way, the same values and gradients`, async () => {
      const fused = await run(B, N, C, heads, true);
      const ref = await run(B, N, C, heads, false);
      // the same sums in another order (norms applied after the product, not before): measured ≲ 1e-6
      close(fused.y, ref.y, 'output', 1e-5);
      close(fused.inference, ref.y, 'output without recording', 1e-5);
      close(fused.dqkv, ref.dqkv, 'd qkv', 1e-4);
      close(fused.dt, ref.dt, 'd temperature', 1e-4);
      expect(ref.names.length).toBeGreaterThan(15);
      if (SG8) {
        expect(fused.inferNames).toEqual(['xca']);
        expect(fused.names).toEqual(B > 1 ? ['xca', 'xca_backward', 'sum'] : ['xca', 'xca_backward']);
      } else expect(fused.names).toEqual(ref.names); // no 8-lane subgroups: the composite runs
    });
  }
  it('a q row of zeros (norm under eps): l2Normalize\'s gradient (dq = dq̂ / eps), as the composite', async () => {
    // qkv [1, 6, 3·8], 2 heads of 4: q channel 5 (head 1, c = 1) zero at every token.
    const zero = (d: Float32Array) => { for (let n = 0; n < 6; n++) d[n * 24 + 5] = 0; };
    const fused = await run(1, 6, 8, 2, true, zero);
    const ref = await run(1, 6, 8, 2, false, zero);
    close(fused.y, ref.y, 'output', 1e-5);
    close(fused.dqkv, ref.dqkv, 'd qkv', 1e-4);
    close(fused.dt, ref.dt, 'd temperature', 1e-4);
    // the zero row's gradient is dq̂ / eps: huge (the scale of the comparison above)
    expect(Math.max(...fused.dqkv.map(Math.abs))).toBeGreaterThan(1e6);
  });
  it(`heads wider than ${L.XCA_MAX_HEAD_CHANNELS} channels take the composite`, async () => {
    const r = await run(1, 3, 2 * (L.XCA_MAX_HEAD_CHANNELS + 1), 2, true);
    expect(r.names).toContain('l2Normalize');
    expect(r.names).not.toContain('xca'); // (on any adapter)
  });
});

describe('xcaAttention frees what it made', () => {
  it('forward and backward in a scope leave the pool as they found it (but the gradients)', async () => {
    const pool = L.getEngine().pool;
    const qkv = L.requireGrad(L.rand([3, 49, 3 * 88], 1));
    const t = L.requireGrad(L.tensor(new Float32Array([1, 2, 0.5, 1]), [4, 1, 1]));
    const g = L.rand([3, 49, 88], 2);
    const before = pool.getStats().bytesInUse;
    L.tidy(() => L.backward(L.xcaAttention(qkv, t, 4), g));
    await qkv.grad!.data();
    L.dispose([qkv.grad!, t.grad!]);
    qkv.grad = null;
    t.grad = null;
    expect(pool.getStats().bytesInUse).toBe(before);
    L.noGrad(() => L.tidy(() => { L.xcaAttention(qkv, t, 4); }));
    expect(pool.getStats().bytesInUse).toBe(before);
    L.dispose([qkv, t, g]);
  });
});

describe('xcaAttention rejects bad inputs', () => {
  it('names the problem', () => {
    const qkv = L.zeros([2, 5, 36]);
    const t = L.zeros([4, 1, 1]);
    expect(() => L.xcaAttention(qkv, t, 5)).toThrow(/xcaAttention: qkv must be \[B, N, 3·C\].*5 heads.*\[2, 5, 36\]/);
    expect(() => L.xcaAttention(qkv, L.zeros([3]), 4)).toThrow(/xcaAttention: temperature \[3\].*one value per head \(4\)/);
    expect(() => L.xcaAttention(L.zeros([10, 36]), t, 4)).toThrow(/xcaAttention: qkv must be/);
    expect(() => L.xcaAttention(qkv, t, 0)).toThrow(/heads must be a positive integer/);
    expect(() => L.xcaAttention(qkv, t, 4, 0)).toThrow(/eps must be a positive finite number/);
    L.dispose([qkv, t]);
  });
});
