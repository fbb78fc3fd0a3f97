// convBnFolded / convTBnFolded (src/nn/layers.ts): conv (or transposed conv) → BatchNorm in eval mode
// as one conv with the BN folded into its weight and bias, against the two layers applied one after
// the other (BatchNorm's eval path is itself checked against tfjs in tests/ops/norm.test.ts). Plain,
// depthwise and transposed convs, with and without a conv bias, non-trivial running statistics. Forward and every gradient (x, the conv's weight and
// bias, γ, β): max |folded − unfolded| <= 1e-5 · max |unfolded| + 1e-6 (float32: the fold reorders
// one multiply; a wrong formula is off by O(1)). MobileFaceNet's and the UNet's own eval-mode checks
// against tfjs (tests/models/mobilefacenet.test.ts, unet.test.ts) run through the folded path too.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import { Conv2d, ConvTranspose2d, BatchNorm2d, convBnFolded, convTBnFolded } from '../../src/nn/layers.js';

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

function setBn(bn: BatchNorm2d, seed: number): void {
  const rng = new L.Rng(seed);
  const c = bn.channels;
  const e = L.getEngine();
  e.upload(bn.weight.buffer, Float32Array.from({ length: c }, () => 1 + 0.3 * rng.normal()));
  e.upload(bn.bias.buffer, Float32Array.from({ length: c }, () => 0.2 * rng.normal()));
  e.upload(bn.runningMean.buffer, Float32Array.from({ length: c }, () => 0.5 * rng.normal()));
  e.upload(bn.runningVar.buffer, Float32Array.from({ length: c }, () => rng.uniform(0.2, 3)));
}

async function run(conv: Conv2d | ConvTranspose2d, bn: BatchNorm2d, x: L.Tensor, r: L.Tensor, folded: boolean): Promise<Float32Array[]> {
  const params = [x, conv.weight, ...(conv.bias ? [conv.bias] : []), bn.weight, bn.bias];
  L.zeroGrad(params, true);
  const fold = () => (conv instanceof ConvTranspose2d ? convTBnFolded(conv, bn, x) : convBnFolded(conv, bn, x));
  const y = folded ? fold() : bn.forward(conv.forward(x));
  L.backward(L.sum(L.mul(y, r)));
  const out = [await y.data(), ...(await Promise.all(params.map((p) => p.grad!.data())))];
  y.dispose();
  L.zeroGrad(params, true);
  return out;
}

describe('convBnFolded: conv → BatchNorm (eval) as one conv', () => {
  const cases = [
    { name: '3x3 conv, no bias, stride 2', ci: 6, co: 8, k: 3, stride: 2, padding: 1, groups: 1, bias: false },
    { name: '1x1 conv with bias', ci: 5, co: 7, k: 1, stride: 1, padding: 0, groups: 1, bias: true },
    { name: 'depthwise 3x3, no bias', ci: 8, co: 8, k: 3, stride: 1, padding: 1, groups: 8, bias: false },
  ];
  for (const c of cases) {
    it(`${c.name}: forward and gradients equal the two layers'`, async () => {
      const conv = new Conv2d(c.ci, c.co, c.k, { stride: c.stride, padding: c.padding, groups: c.groups, bias: c.bias, rng: new L.Rng(3) });
      const bn = new BatchNorm2d(c.co, { eps: 1e-5 });
      setBn(bn, 4);
      const stats0 = [await bn.runningMean.data(), await bn.runningVar.data()];
      conv.eval();
      bn.eval();
      const x = L.rand([2, c.ci, 9, 9], 5, -1, 1);
      x.requiresGrad = true;
      const ho = Math.floor((9 + 2 * c.padding - c.k) / c.stride) + 1;
      const r = L.rand([2, c.co, ho, ho], 6, -1, 1);
      const ref = await run(conv, bn, x, r, false);
      const got = await run(conv, bn, x, r, true);
      expect(got.length).toBe(ref.length);
      const names = ['y', 'dx', 'dw', ...(c.bias ? ['dbias'] : []), 'dgamma', 'dbeta'];
      for (let i = 0; i < ref.length; i++) {
        expect(maxAbs(ref[i]!), `${names[i]} is not all zero`).toBeGreaterThan(1e-3);
        expect(maxDiff(got[i]!, ref[i]!), names[i]).toBeLessThanOrEqual(1e-5 * maxAbs(ref[i]!) + 1e-6);
      }
      // the running statistics are read, never written
      expect([...await bn.runningMean.data()]).toEqual([...stats0[0]!]);
      expect([...await bn.runningVar.data()]).toEqual([...stats0[1]!]);
      L.dispose([x, r]);
      conv.dispose();
      bn.dispose();
    });
  }

  it('transposed 4x4 stride 2 (the UNet decoder), with bias: forward and gradients equal the two layers\'', async () => {
    const conv = new ConvTranspose2d(6, 5, 4, { stride: 2, padding: 1, bias: true, rng: new L.Rng(3) });
    const bn = new BatchNorm2d(5, { eps: 1e-5 });
    setBn(bn, 4);
    conv.eval();
    bn.eval();
    const x = L.rand([2, 6, 5, 5], 5, -1, 1);
    x.requiresGrad = true;
    const r = L.rand([2, 5, 10, 10], 6, -1, 1);
    const ref = await run(conv, bn, x, r, false);
    const got = await run(conv, bn, x, r, true);
    const names = ['y', 'dx', 'dw', 'dbias', 'dgamma', 'dbeta'];
    for (let i = 0; i < ref.length; i++) {
      expect(maxAbs(ref[i]!), `${names[i]} is not all zero`).toBeGreaterThan(1e-3);
      expect(maxDiff(got[i]!, ref[i]!), names[i]).toBeLessThanOrEqual(1e-5 * maxAbs(ref[i]!) + 1e-6);
    }
    expect(() => convTBnFolded(conv, new BatchNorm2d(5), x)).toThrow(/training mode/);
    expect(() => convTBnFolded(conv, new BatchNorm2d(6).eval(), x)).toThrow(/6 channels after a transposed conv with 5 outputs/);
    L.dispose([x, r]);
    conv.dispose();
    bn.dispose();
  });

  it('refuses a BatchNorm in training mode and a channel mismatch', () => {
    const conv = new Conv2d(3, 4, 1, { bias: false, rng: new L.Rng(1) });
    const x = L.rand([2, 3, 4, 4], 1);
    expect(() => convBnFolded(conv, new BatchNorm2d(4), x)).toThrow(/training mode/);
    expect(() => convBnFolded(conv, new BatchNorm2d(5).eval(), x)).toThrow(/5 channels after a conv with 4 outputs/);
    x.dispose();
    conv.dispose();
  });

  // Inference (no gradient recorded): the fold is computed once and reused until one of its inputs is
  // written. Bitwise: a reused fold is the same tensors, so the output is identical; after a write the
  // output equals a fresh two-layer forward with the new values (tolerance as above).
  it('inference reuses the fold, recomputes it after any of its inputs is written, frees it with the BatchNorm', async () => {
    const e = L.getEngine();
    const live0 = L.liveTensors().length;
    const conv = new Conv2d(6, 8, 3, { padding: 1, bias: true, rng: new L.Rng(3) });
    const bn = new BatchNorm2d(8, { eps: 1e-5 });
    setBn(bn, 4);
    conv.eval();
    bn.eval();
    const x = L.rand([2, 6, 7, 7], 5, -1, 1);
    const folded = () => L.noGrad(() => convBnFolded(conv, bn, x));
    const twoLayers = async () => {
      const y = L.tidy(() => L.noGrad(() => bn.forward(conv.forward(x))));
      const d = await y.data();
      y.dispose();
      return d;
    };
    const check = async (what: string) => {
      const y = folded();
      const got = await y.data();
      y.dispose();
      const ref = await twoLayers();
      expect(maxDiff(got, ref), what).toBeLessThanOrEqual(1e-5 * maxAbs(ref) + 1e-6);
      return got;
    };
    const d0 = e.stats.dispatches;
    const first = await check('first fold');
    const firstDispatches = e.stats.dispatches - d0;
    const d1 = e.stats.dispatches;
    const y2 = folded();
    const again = await y2.data();
    y2.dispose();
    // the conv alone: the fold's dispatches are not repeated
    expect(e.stats.dispatches - d1).toBeLessThan(firstDispatches - 2);
    expect([...again]).toEqual([...first]);
    expect(bn.folded).not.toBeNull();
    const w0 = bn.folded!.w;
    // each input of the fold, written one after the other: the output follows it
    e.upload(bn.runningVar.buffer, Float32Array.from({ length: 8 }, (_, i) => 0.5 + 0.25 * i));
    const afterVar = await check('running variance uploaded');
    expect(maxDiff(afterVar, first)).toBeGreaterThan(1e-3);
    expect(w0.disposed).toBe(true); // the stale fold is freed, not leaked
    L.noGrad(() => L.affineInPlace(conv.weight, 1.5));
    await check('conv weight scaled in place');
    L.tidy(() => void L.noGrad(() => L.copyInto(bn.bias, L.rand([8], 9, -1, 1))));
    await check('β copied into');
    L.noGrad(() => L.fillInPlace(conv.bias!, 0.3));
    await check('conv bias filled');
    // a training-mode pass updates the running statistics: the next inference folds the new ones
    bn.train();
    L.tidy(() => void L.noGrad(() => bn.forward(conv.forward(x))));
    bn.eval();
    await check('after a training-mode pass');
    // recording a gradient: no cache involved, gradients reach the BatchNorm's γ
    const cached = bn.folded;
    L.tidy(() => L.backward(L.sum(convBnFolded(conv, bn, x))));
    expect(maxAbs(await bn.weight.grad!.data())).toBeGreaterThan(1e-3);
    expect(bn.folded).toBe(cached);
    L.zeroGrad([...conv.parameters(), ...bn.parameters()], true);
    x.dispose();
    conv.dispose();
    bn.dispose();
    expect(L.liveTensors().length).toBe(live0);
  });
});
