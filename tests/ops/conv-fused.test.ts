// conv2dFused (src/runtime/ops/conv.ts): conv2d, then ReLU and / or residual + scale · y. Where no
// gradient is recorded and the Winograd path takes the conv, the epilogues ride in the output
// transform's stores (shaders/winograd_out.wgsl RELU, RESIDUAL), under recording too where one of the
// two is asked for (its backward takes dy through it); elsewhere it is conv2d → relu → scale → add. Reference: that composition of our own ops, which the fused stores
// must equal exactly for the ReLU (the same float32 values, max(y, 0) on both sides) and to within
// one rounding for the residual (res + s · y in one expression, which a driver may contract into an
// FMA; lavapipe does not, and gives the same bits). And the inference forward's cached Winograd
// weight transform (Tensor.derived): made once, made again after the weight is written, disposed with it.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';
import { randn, withConvVariants } from '../helpers/conv-ref.js';
import { programs } from '../helpers/op.js';
import { WnConv2d } from '../../src/nn/layers.js';

interface Case { name: string; x: Shape; w: Shape; bias: boolean; relu: boolean; residual: number | null; variants?: Partial<typeof L.convVariants>; fused: boolean }

const W3: Shape = [8, 8, 3, 3];
const cases: Case[] = [
  { name: 'Winograd, ReLU', x: [2, 8, 9, 11], w: W3, bias: true, relu: true, residual: null, fused: true },
  { name: 'Winograd, residual × 0.1', x: [2, 8, 9, 11], w: W3, bias: true, relu: false, residual: 0.1, fused: true },
  { name: 'Winograd, residual × 1, no bias', x: [3, 8, 8, 8], w: W3, bias: false, relu: false, residual: 1, fused: true },
  { name: 'Winograd, ReLU then residual × -0.5, two chunks', x: [3, 8, 9, 7], w: W3, bias: true, relu: true, residual: -0.5, fused: true,
    variants: { winogradMaxBytes: 36 * 8 * 9 * 4 * 4 } },
  { name: 'no Winograd (conv_fwd / conv_subgroup), ReLU then residual × 0.1', x: [2, 8, 9, 11], w: W3, bias: true, relu: true, residual: 0.1, fused: false,
    variants: { winograd: false } },
  { name: '1x1 conv (not Winograd), residual × 2', x: [2, 8, 5, 6], w: [8, 8, 1, 1], bias: true, relu: false, residual: 2, fused: false },
];

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** fn with convPaths.cacheWeightTransforms off (the transforms made on every forward). */
async function withoutCache<T>(fn: () => Promise<T>): Promise<T> {
  L.convPaths.cacheWeightTransforms = false;
  try {
    return await fn();
  } finally {
    L.convPaths.cacheWeightTransforms = true;
  }
}

describe('conv2dFused: conv → ReLU → residual + s · y (inference epilogues)', () => {
  for (const c of cases) {
    it(`${c.name}: equals conv2d, relu, scale and add`, () => withConvVariants(c.variants, async () => {
      const Co = c.w[0]!;
      const pad = c.w[2] === 3 ? 1 : 0;
      const x = L.tensor(randn(size(c.x), 1), c.x), w = L.tensor(randn(size(c.w), 2), c.w);
      const b = c.bias ? L.tensor(randn(Co, 3), [Co]) : null;
      const outShape = [c.x[0]!, Co, c.x[2]!, c.x[3]!];
      const res = c.residual === null ? null : L.tensor(randn(size(outShape), 4), outShape);
      const opts = { padding: pad, relu: c.relu, residual: res, residualScale: c.residual ?? 1 };
      const composed = () => {
        const y = L.conv2d(x, w, b, { padding: pad });
        const r = c.relu ? L.relu(y) : y;
        return res ? L.add(res, c.residual === 1 ? r : L.scale(r, c.residual!)) : r;
      };
      // (the weight's Winograd transform runs in the first of the two only: it is kept with w)
      const kernels = (names: string[]) => names.filter((n) => n !== 'winograd_weight');
      const fusedNames = kernels(programs(() => { L.noGrad(() => L.conv2dFused(x, w, b, opts)); }));
      const apartNames = kernels(programs(() => { L.noGrad(composed); }));
      if (c.fused) {
        expect(fusedNames).toContain('conv2d_winograd');
        expect(fusedNames.filter((n) => /relu|add|affine/.test(n)), 'no epilogue passes of their own').toEqual([]);
        expect(fusedNames.length).toBeLessThan(apartNames.length);
      } else {
        expect(fusedNames).not.toContain('conv2d_winograd');
        expect(fusedNames.length).toBe(apartNames.length);
      }
      const got = await L.noGrad(() => L.conv2dFused(x, w, b, opts)).data();
      const want = await L.noGrad(composed).data();
      expect(got.length).toBe(want.length);
      let worst = 0, negatives = 0;
      for (let i = 0; i < got.length; i++) {
        worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (Math.abs(want[i]!) + 1e-30));
        if (want[i]! < 0) negatives++;
      }
      if (c.residual === null || !c.fused) expect(worst, 'relative difference').toBe(0);
      else expect(worst, 'relative difference').toBeLessThanOrEqual(2 ** -22);
      if (c.residual === null) expect(got.filter((v) => v === 0).length, 'ReLU zeroed about half').toBeGreaterThan(got.length / 4);
      else expect(negatives).toBeGreaterThan(got.length / 8);
      L.dispose([x, w, ...(b ? [b] : []), ...(res ? [res] : [])]);
    }));
  }

  it('checks its arguments: a residual of another shape, a scale that is not finite', () => {
    const x = L.zeros([1, 8, 4, 4]), w = L.zeros([8, 8, 3, 3]);
    expect(() => L.conv2dFused(x, w, null, { padding: 1, residual: L.zeros([1, 8, 4, 5]) })).toThrow(/residual \[1, 8, 4, 5\] must have the output's shape \[1, 8, 4, 4\]/);
    expect(() => L.conv2dFused(x, w, null, { padding: 1, residual: x, residualScale: Number.NaN })).toThrow(/residualScale must be a finite number/);
  });

  // Under recording: one op with one epilogue (its backward takes dy through it), the composition with
  // both or off Winograd. Gradients equal the composition's to the bit (the loss sum(y · r) gives every
  // path the same dy); values too, within one rounding for the residual as above.
  const recCases = [
    { name: 'ReLU (Winograd)', relu: true, residual: null, fusedFwd: true },
    { name: 'residual × 0.3 (Winograd)', relu: false, residual: 0.3, fusedFwd: true },
    { name: 'residual × 1, no bias (Winograd)', relu: false, residual: 1, fusedFwd: true, noBias: true },
    { name: 'ReLU then residual × 0.3: the ops apart', relu: true, residual: 0.3, fusedFwd: false },
    { name: 'residual × 0.3, Winograd off: the epilogue as its own passes', relu: false, residual: 0.3, fusedFwd: false, variants: { winograd: false } },
  ];
  for (const c of recCases) {
    it(`with autograd recording, ${c.name}: the same values and gradients as conv2d, relu, scale and add`, () => withConvVariants(c.variants, async () => {
      const x = L.tensor(randn(2 * 8 * 6 * 6, 5), [2, 8, 6, 6]), w = L.tensor(randn(8 * 8 * 9, 6), [8, 8, 3, 3]);
      const b = c.noBias ? null : L.tensor(randn(8, 7), [8]);
      const res = c.residual === null ? null : L.tensor(randn(2 * 8 * 6 * 6, 8), [2, 8, 6, 6]);
      const params = [x, w, ...(b ? [b] : []), ...(res ? [res] : [])];
      for (const p of params) p.requiresGrad = true;
      const r = L.tensor(randn(2 * 8 * 6 * 6, 9), [2, 8, 6, 6]);
      const forward = (fused: boolean) => {
        if (fused) return L.conv2dFused(x, w, b, { padding: 1, relu: c.relu, residual: res, residualScale: c.residual ?? 1 });
        const y = L.conv2d(x, w, b, { padding: 1 });
        const a = c.relu ? L.relu(y) : y;
        return res ? L.add(res, c.residual === 1 ? a : L.scale(a, c.residual!)) : a;
      };
      const run = async (fused: boolean) => {
        L.zeroGrad(params, true);
        let y: L.Tensor | null = null;
        // the forward's kernels (not in a tidy: the graph's intermediates must live until the backward)
        const names: string[] = [];
        const e = L.getEngine(), orig = e.run;
        e.run = (p) => { names.push(p.name); orig.call(e, p); };
        try { y = forward(fused); } finally { e.run = orig; }
        L.backward(L.sum(L.mul(y!, r)));
        const out = [await y!.data(), ...(await Promise.all(params.map((p) => p.grad!.data())))];
        y!.dispose();
        return { names, out };
      };
      const fused = await run(true), apart = await run(false);
      const epilogues = (n: string[]) => n.filter((k) => /relu|add|affine/.test(k));
      if (c.fusedFwd) {
        expect(epilogues(fused.names), 'no epilogue passes in the forward').toEqual([]);
        expect(fused.names.length).toBeLessThan(apart.names.length);
      } else {
        expect(fused.names).toEqual(apart.names);
      }
      for (let i = 1; i < fused.out.length; i++) expect(Array.from(fused.out[i]!), `gradient ${i - 1}`).toEqual(Array.from(apart.out[i]!));
      const [got, want] = [fused.out[0]!, apart.out[0]!];
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (Math.abs(want[i]!) + 1e-30));
      expect(worst, 'relative difference of the values').toBeLessThanOrEqual(c.residual === null || !c.fusedFwd ? 0 : 2 ** -22);
      L.dispose([...params, r]);
    }));
  }
});

describe('convTranspose2d, kernel 4, stride 2, padding 1, in inference: a 3x3 conv of 4·Cout channels, pixel-shuffled', () => {
  // Reference: the same transposed conv on conv_tgather (convPaths.subpixelConvT off). The sums run in
  // another order (and by Winograd where it takes the 3x3 conv), so within 1e-5 of the output's scale.
  const cases: { name: string; x: Shape; co: number; bias: boolean; variants?: Partial<typeof L.convVariants> }[] = [
    { name: '16 -> 8 channels, 5x7, bias (Winograd)', x: [2, 16, 5, 7], co: 8, bias: true },
    { name: '32 -> 3 channels, 6x6, no bias (the subgroup kernel or conv_fwd)', x: [2, 32, 6, 6], co: 3, bias: false },
    { name: '8 -> 4 channels, 6x6, bias, Winograd off', x: [2, 8, 6, 6], co: 4, bias: true, variants: { winograd: false } },
  ];
  for (const c of cases) {
    it(c.name, () => withConvVariants(c.variants, async () => {
      const ci = c.x[1]!;
      const xs = L.tensor(randn(size(c.x), 21), c.x), w = L.tensor(randn(ci * c.co * 16, 22), [ci, c.co, 4, 4]);
      const b = c.bias ? L.tensor(randn(c.co, 23), [c.co]) : null;
      const fwd = () => L.noGrad(() => L.convTranspose2d(xs, w, b, { stride: 2, padding: 1 }));
      const first = programs(() => { fwd(); });
      expect(first).toContain('convT_subpixel_weight');
      expect(first).not.toContain('conv2d_transposed_gather');
      expect(programs(() => { fwd(); })).not.toContain('convT_subpixel_weight');
      const y = fwd();
      expect(y.shape).toEqual([c.x[0], c.co, 2 * c.x[2]!, 2 * c.x[3]!]);
      const got = await y.data();
      L.convPaths.subpixelConvT = false;
      let want: Float32Array;
      try {
        const names = programs(() => { fwd(); });
        expect(names).not.toContain('convT_subpixel_weight');
        want = await fwd().data();
      } finally {
        L.convPaths.subpixelConvT = true;
      }
      const scale = Math.max(...Array.from(want, Math.abs));
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst / scale, 'max |diff| / max |y|').toBeLessThan(1e-5);
      L.dispose([xs, w, ...(b ? [b] : [])]);
    }));
  }

  it('a collecting forward (collectPipelines) takes the same path, so the page compiles its pipelines ahead, and keeps nothing', () => {
    const big = L.tensor(randn(2 * 8 * 8 * 8, 29), [2, 8, 8, 8]);
    const w = L.tensor(randn(8 * 4 * 16, 30), [8, 4, 4, 4]);
    const fwd = () => { L.noGrad(() => L.convTranspose2d(big, w, null, { stride: 2, padding: 1 })); };
    let collected: string[] = [];
    L.getEngine().collectPipelines(() => { collected = programs(fwd); });
    expect(collected).toContain('convT_subpixel_weight');
    expect(collected).not.toContain('conv2d_transposed_gather');
    // nothing kept from it: the first real forward makes the weight
    expect(programs(fwd)).toContain('convT_subpixel_weight');
    expect(programs(fwd)).not.toContain('convT_subpixel_weight');
    L.dispose([big, w]);
  });

  it('is not taken under recording, for other geometries, nor for small inputs', () => {
    const xs = L.tensor(randn(8 * 4 * 4, 24), [1, 8, 4, 4]);
    const w = L.tensor(randn(8 * 4 * 16, 25), [8, 4, 4, 4]);
    w.requiresGrad = true;
    expect(programs(() => { L.convTranspose2d(xs, w, null, { stride: 2, padding: 1 }); })).toContain('conv2d_transposed_gather');
    const w3 = L.tensor(randn(8 * 4 * 9, 26), [8, 4, 3, 3]);
    expect(programs(() => { L.noGrad(() => L.convTranspose2d(xs, w3, null, { stride: 2, padding: 1 })); })).not.toContain('convT_subpixel_weight');
    // fewer input pixels over the batch than convPaths.subpixelMinPixels: conv_tgather
    const small = L.tensor(randn(8 * 2 * 2, 27), [1, 8, 2, 2]);
    expect(L.convPaths.subpixelMinPixels).toBeGreaterThan(4);
    expect(programs(() => { L.noGrad(() => L.convTranspose2d(small, w, null, { stride: 2, padding: 1 })); })).toContain('conv2d_transposed_gather');
    L.dispose([xs, w, w3, small]);
  });
});

describe('the inference forward keeps the Winograd weight transform with the weight', () => {
  const x = () => L.tensor(randn(2 * 8 * 8 * 8, 10), [2, 8, 8, 8]);

  it('is made once, made again after the weight is written, and disposed with the weight', async () => {
    const xs = x();
    const w = L.tensor(randn(8 * 8 * 9, 11), [8, 8, 3, 3]);
    const fwd = () => L.noGrad(() => L.conv2d(xs, w, null, { padding: 1 }));
    const first = programs(() => { fwd(); });
    const again = programs(() => { fwd(); });
    expect(first).toContain('winograd_weight');
    expect(again).not.toContain('winograd_weight');
    expect(again).toContain('conv2d_winograd');
    const before = await fwd().data();
    // a write into the weight (as loading weights or an optimizer step does): the transform follows
    L.copyInto(w, L.tensor(randn(8 * 8 * 9, 12), [8, 8, 3, 3]));
    expect(programs(() => { fwd(); })).toContain('winograd_weight');
    const after = await fwd().data();
    const fresh = L.tensor(randn(8 * 8 * 9, 12), [8, 8, 3, 3]);
    const want = await L.noGrad(() => L.conv2d(xs, fresh, null, { padding: 1 })).data();
    expect(Array.from(after)).toEqual(Array.from(want));
    expect(Array.from(after)).not.toEqual(Array.from(before));
    // disposing the weight disposes what was kept with it
    const live = L.liveTensors().length;
    w.dispose();
    expect(L.liveTensors().length).toBe(live - 2); // w and its transform
    L.dispose([xs, fresh]);
  });

  it('is not kept from a forward run under collectPipelines (which computes nothing)', async () => {
    for (const [Co, seed] of [[8, 16], [3, 17]] as const) { // Winograd; conv_fwd's packed weight
      const xs = x();
      const w = L.tensor(randn(Co * 8 * 9, seed), [Co, 8, 3, 3]);
      const fwd = () => L.noGrad(() => L.conv2d(xs, w, null, { padding: 1 }));
      L.getEngine().collectPipelines(() => { L.tidy(fwd); });
      const got = await fwd().data();
      expect(Array.from(got)).toEqual(Array.from(await withoutCache(() => fwd().data())));
      L.dispose([xs, w]);
    }
  });

  // A packed weight kept like the Winograd transform: conv_fwd's (a conv of 3 output channels: neither
  // Winograd nor the subgroup kernel) and conv_tgather's (convTranspose2d at stride 2).
  const packed: { name: string; kernel: string; x: Shape; w: Shape; run: (x: L.Tensor, w: L.Tensor) => L.Tensor }[] = [
    { name: "conv_fwd's", kernel: 'conv2d_forward', x: [2, 8, 8, 8], w: [3, 8, 3, 3], run: (x, w) => L.conv2d(x, w, null, { padding: 1 }) },
    { name: "convTranspose2d's (conv_tgather, stride 2)", kernel: 'conv2d_transposed_gather', x: [2, 8, 5, 5], w: [8, 6, 3, 3],
      run: (x, w) => L.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }) },
  ];
  for (const c of packed) {
    it(`${c.name} packed weight likewise`, async () => {
      const xs = L.tensor(randn(size(c.x), 18), c.x), w = L.tensor(randn(size(c.w), 19), c.w);
      const fwd = () => L.noGrad(() => c.run(xs, w));
      const first = programs(() => { fwd(); });
      expect(first).toContain(c.kernel);
      expect(first).toContain('conv_pack');
      expect(programs(() => { fwd(); })).not.toContain('conv_pack');
      L.copyInto(w, L.tensor(randn(size(c.w), 20), c.w));
      const after = await fwd().data();
      expect(Array.from(after)).toEqual(Array.from(await withoutCache(() => fwd().data())));
      L.dispose([xs, w]);
    });
  }

  it("WnConv2d's weight-normalised kernel: kept while weight_v and weight_g are unwritten", async () => {
    const conv = new WnConv2d(8, 8, 3, { padding: 1, rng: new L.Rng(3) });
    const xs = x();
    const fwd = () => L.noGrad(() => conv.forward(xs));
    expect(programs(() => { fwd(); })).toContain('weight_norm');
    const again = programs(() => { fwd(); });
    expect(again).not.toContain('weight_norm');
    expect(again).not.toContain('winograd_weight'); // the conv's transform of that kept kernel, kept too
    for (const p of [conv.weightG, conv.weightV]) {
      // a write into either parameter: the kernel (and its transform) follow
      L.copyInto(p, L.noGrad(() => L.scale(p, 1.5)));
      const names = programs(() => { fwd(); });
      expect(names).toContain('weight_norm');
      expect(names).toContain('winograd_weight');
      const got = await fwd().data();
      expect(Array.from(got)).toEqual(Array.from(await withoutCache(() => fwd().data())));
    }
    L.dispose([xs]);
  });

  it('is not kept while autograd records, nor with convPaths.cacheWeightTransforms off', async () => {
    const xs = x();
    const w = L.tensor(randn(8 * 8 * 9, 13), [8, 8, 3, 3]);
    w.requiresGrad = true;
    const recorded = () => programs(() => { L.conv2d(xs, w, null, { padding: 1 }); });
    expect(recorded()).toContain('winograd_weight');
    expect(recorded()).toContain('winograd_weight');
    const plain = () => programs(() => { L.noGrad(() => L.conv2d(xs, w, null, { padding: 1 })); });
    await withoutCache(async () => {
      expect(plain()).toContain('winograd_weight');
      expect(plain()).toContain('winograd_weight');
    });
    L.dispose([xs, w]);
  });
});
