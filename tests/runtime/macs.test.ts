// The MAC counter (src/runtime/macs.ts): each counted op against its formula, nothing counted outside
// a count or by the backward, and the counted forward of DSR, WDSR and EdgeFace-XXS equal to their
// analytic counts (dsrFlops, wdsrFlops, EdgeFaceXXS.flops), which were checked against hand formulas
// in tests/models. Exact integer equality.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import { DSR, DSR_CPU, dsrFlops } from '../../src/nn/dsr.js';
import { WDSR, WDSR_CPU, wdsrFlops } from '../../src/nn/wdsr.js';
import { EdgeFaceXXS } from '../../src/nn/edgeface.js';

const rand = (shape: number[], seed: number) => L.tensor(L.randArray(shape.reduce((a, b) => a * b, 1), seed), shape);

describe('countMacs', () => {
  it('counts conv2d (groups, stride, dilation), convTranspose2d, batched matmul and linear by their formulas', async () => {
    const x = rand([2, 6, 9, 11], 1), w = rand([8, 3, 3, 3], 2), wt = rand([6, 4, 4, 4], 3);
    const a = rand([3, 5, 7], 4), b = rand([7, 4], 5), lw = rand([10, 7], 6);
    const c = await L.countMacs(() => L.tidy(() => {
      // conv: out [2, 8, 4, 4] (H: (9 + 2 - 2*2 - 1)/2 + 1 = 4, W: (11 + 2 - 4 - 1)/2 + 1 = 5)
      const y = L.conv2d(x, w, null, { stride: 2, padding: 1, dilation: 2, groups: 2 });
      expect(y.shape).toEqual([2, 8, 4, 5]);
      const t = L.convTranspose2d(x, wt, null, { stride: 2, padding: 1, groups: 2 });
      expect(t.shape).toEqual([2, 8, 18, 22]);
      L.matmul(a, b);
      L.linear(a, lw);
      return 0;
    }));
    const conv = 2 * 8 * 4 * 5 * 3 * 3 * 3; // N Co Ho Wo (Ci/G) kh kw
    const convT = 2 * 6 * 9 * 11 * 4 * 4 * 4; // N Cin H W (Cout/G) kh kw
    expect(c.byOp).toEqual({ conv2d: conv, convTranspose2d: convT, matmul: 3 * 5 * 7 * 4, linear: 15 * 7 * 10 });
    expect(c.macs).toBe(conv + convT + 3 * 5 * 7 * 4 + 15 * 7 * 10);
    for (const t of [x, w, wt, a, b, lw]) t.dispose();
  });

  it('counts nothing outside a count or in the backward, and refuses to nest', async () => {
    const x = rand([1, 2, 5, 5], 7), w = L.requireGrad(rand([3, 2, 3, 3], 8));
    const before = await L.countMacs(() => 0);
    expect(before.macs).toBe(0);
    L.tidy(() => { L.conv2d(x, w); return 0; }); // outside: not counted anywhere
    const c = await L.countMacs(() => {
      const loss = L.sum(L.conv2d(x, w, null, { padding: 1 }));
      L.backward(loss);
      loss.dispose();
      return 0;
    });
    expect(c.macs).toBe(1 * 3 * 5 * 5 * 2 * 9); // the forward only
    expect(w.grad).not.toBeNull(); // the backward did run
    await expect(L.countMacs(() => L.countMacs(() => 0))).rejects.toThrow(/do not nest/);
    x.dispose();
    w.dispose();
  });

  it('the counted forward equals the analytic count of DSR, WDSR (16 px) and EdgeFace-XXS (112 px)', async () => {
    const dsr = new DSR({ config: { ...DSR_CPU, inputSize: 16 }, seed: 1 }).eval();
    const wdsr = new WDSR({ config: { ...WDSR_CPU, inputSize: 16 }, seed: 1 }).eval();
    const ef = new EdgeFaceXXS({ seed: 1 }).eval();
    try {
      for (const [name, m, S, want] of [
        ['DSR', dsr, 16, dsrFlops({ ...DSR_CPU, inputSize: 16 }).macs],
        ['WDSR', wdsr, 16, wdsrFlops({ ...WDSR_CPU, inputSize: 16 }).macs],
        ['EdgeFace-XXS', ef, 112, ef.flops(112).macs],
      ] as const) {
        const x = rand([1, 3, S, S], 9);
        const c = await L.countMacs(() => L.noGrad(() => L.tidy(() => { m.forward(x); return 0; })));
        x.dispose();
        expect(c.macs, name).toBe(want);
      }
    } finally {
      dsr.dispose();
      wdsr.dispose();
      ef.dispose();
    }
  });
});
