import { describe, it, expect } from 'vitest';
import * as L from '../src/runtime/index.js';
import { SGD, AdamW, clipGradNorm, gradNorm } from '../src/train/optim.js';
import { optimPaths, slotsPerDispatch } from '../src/train/multi-tensor.js';
import { assertClose } from './helpers/op.js';

// Optimizers are compared with float64 CPU re-implementations of PyTorch's update rules over 5
// steps with fixed synthetic gradients: atol 1e-5 (float32 rounding of p, m, v over 5 steps), rtol 0.
// Shapes: odd sizes (scalar path), multiples of 4 (vec4 path), 1 element.
// [64, 4100]: vec4 grid-stride path with several vec4s per invocation.
const SHAPES = [[3, 5], [4, 8], [1], [7, 3, 3, 3], [64, 4100]];
const STEPS = 5;

function setup(seed: number) {
  const data = SHAPES.map((s, i) => L.randnArray(s.reduce((a, b) => a * b, 1), seed + i));
  const grads = SHAPES.map((s, i) => Array.from({ length: STEPS }, (_, t) => L.randnArray(s.reduce((a, b) => a * b, 1), seed + 100 * (t + 1) + i, 0.5)));
  const params = data.map((d, i) => L.keep(L.requireGrad(L.tensor(d, SHAPES[i]))));
  return { data, grads, params };
}

function setGrads(params: L.Tensor[], grads: Float32Array[][], t: number, skip?: number): void {
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = i === skip ? null : L.keep(L.tensor(grads[i]![t]!, p.shape));
  });
}

function sgd64(p: Float64Array, gs: Float32Array[], o: { lr: number; momentum: number; weightDecay: number; nesterov: boolean }): Float64Array {
  let buf: Float64Array | null = null;
  for (const g of gs) {
    const d = Float64Array.from(g, (v, j) => v + o.weightDecay * p[j]!);
    if (o.momentum > 0) {
      buf = buf ? buf.map((b, j) => o.momentum * b + d[j]!) : Float64Array.from(d);
      if (o.nesterov) for (let j = 0; j < d.length; j++) d[j] = d[j]! + o.momentum * buf[j]!;
      else d.set(buf);
    }
    for (let j = 0; j < p.length; j++) p[j] = p[j]! - o.lr * d[j]!;
  }
  return p;
}

function adamw64(p: Float64Array, gs: Float32Array[], o: { lrs: number[]; b1: number; b2: number; eps: number; wd: number }): Float64Array {
  const m = new Float64Array(p.length), v = new Float64Array(p.length);
  gs.forEach((g, k) => {
    const t = k + 1, lr = o.lrs[k]!;
    const bc1 = 1 - o.b1 ** t, bc2 = 1 - o.b2 ** t;
    for (let j = 0; j < p.length; j++) {
      p[j] = p[j]! * (1 - lr * o.wd);
      m[j] = o.b1 * m[j]! + (1 - o.b1) * g[j]!;
      v[j] = o.b2 * v[j]! + (1 - o.b2) * g[j]! ** 2;
      p[j] = p[j]! - (lr / bc1) * m[j]! / (Math.sqrt(v[j]!) / Math.sqrt(bc2) + o.eps);
    }
  });
  return p;
}

describe('SGD vs float64 PyTorch semantics', () => {
  const configs = [
    { lr: 0.1, momentum: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, weightDecay: 1e-2, nesterov: false },
    { lr: 0.02, momentum: 0.8, weightDecay: 5e-3, nesterov: true },
    { lr: 0.1, momentum: 0, weightDecay: 0.1, nesterov: false },
  ];
  for (const o of configs) {
    it(JSON.stringify(o), async () => {
      const { data, grads, params } = setup(11);
      const opt = new SGD(params, o);
      for (let t = 0; t < STEPS; t++) {
        setGrads(params, grads, t);
        opt.step();
      }
      for (let i = 0; i < params.length; i++) assertClose(`sgd p${i}`, await params[i]!.data(), sgd64(Float64Array.from(data[i]!), grads[i]!, o), 1e-5, 0);
      L.dispose(params);
      opt.dispose();
    });
  }
});

describe('AdamW vs float64 PyTorch semantics', () => {
  it('defaults (betas 0.9/0.999, eps 1e-8, wd 0.01), lr 1e-2', async () => {
    const { data, grads, params } = setup(21);
    const opt = new AdamW(params, { lr: 1e-2 });
    for (let t = 0; t < STEPS; t++) {
      setGrads(params, grads, t);
      opt.step();
    }
    expect(opt.steps).toEqual([5, 5, 5, 5, 5]);
    for (let i = 0; i < params.length; i++) assertClose(`adamw p${i}`, await params[i]!.data(), adamw64(Float64Array.from(data[i]!), grads[i]!, { lrs: [1e-2, 1e-2, 1e-2, 1e-2, 1e-2], b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01 }), 1e-5, 0);
    L.dispose(params);
    opt.dispose();
  });
  it('custom betas / eps / wd and an lr changed every step (no recompilation)', async () => {
    const { data, grads, params } = setup(31);
    const lrs = [3e-2, 2e-2, 1e-2, 5e-3, 1e-3];
    const opt = new AdamW(params, { lr: lrs[0]!, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 });
    let pipelinesAfterFirst = 0;
    for (let t = 0; t < STEPS; t++) {
      setGrads(params, grads, t);
      opt.lr = lrs[t]!;
      opt.step();
      if (t === 0) pipelinesAfterFirst = L.getEngine().stats.pipelines;
    }
    // lr and t are uniforms: steps 2..5 compile nothing
    expect(L.getEngine().stats.pipelines).toBe(pipelinesAfterFirst);
    for (let i = 0; i < params.length; i++) assertClose(`adamw p${i}`, await params[i]!.data(), adamw64(Float64Array.from(data[i]!), grads[i]!, { lrs, b1: 0.8, b2: 0.99, eps: 1e-6, wd: 0.1 }), 1e-5, 0);
    L.dispose(params);
    opt.dispose();
  });
  it('skips params whose grad is null (and their step count)', async () => {
    const { data, grads, params } = setup(41);
    const opt = new AdamW(params, { lr: 1e-2 });
    setGrads(params, grads, 0, 1);
    opt.step();
    expect(opt.steps).toEqual([1, 0, 1, 1, 1]);
    expect([...(await params[1]!.data())]).toEqual([...data[1]!]);
    L.dispose(params);
    opt.dispose();
  });
  it('state() exposes the moments; loadState restores them', async () => {
    const { grads, params } = setup(51);
    const opt = new AdamW(params, { lr: 1e-2 });
    setGrads(params, grads, 0);
    opt.step();
    const st = opt.state();
    expect(Object.keys(st)).toEqual(['0.exp_avg', '0.exp_avg_sq', '1.exp_avg', '1.exp_avg_sq', '2.exp_avg', '2.exp_avg_sq', '3.exp_avg', '3.exp_avg_sq', '4.exp_avg', '4.exp_avg_sq']);
    // m after one step = (1 - b1) g
    assertClose('exp_avg', await st['0.exp_avg']!.data(), Array.from(grads[0]![0]!, (g) => 0.1 * g), 1e-7, 1e-6);
    const saved = Object.fromEntries(Object.entries(st).map(([k, t]) => [k, L.keep(L.clone(t))]));
    const opt2 = new AdamW(params, { lr: 1e-2 });
    opt2.loadState(saved, opt.steps);
    assertClose('restored', await opt2.state()['3.exp_avg_sq']!.data(), await st['3.exp_avg_sq']!.data(), 0, 0);
    expect(opt2.steps).toEqual([1, 1, 1, 1, 1]);
    L.dispose(saved);
    L.dispose(params);
    opt.dispose();
    opt2.dispose();
  });
});

describe('no allocation after the first step', () => {
  for (const [name, make] of [
    ['SGD momentum nesterov', (ps: L.Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
    ['AdamW', (ps: L.Tensor[]) => new AdamW(ps, { lr: 1e-3 })],
  ] as const) {
    it(name, async () => {
      const { grads, params } = setup(61);
      const opt = make(params);
      setGrads(params, grads, 0);
      opt.step();
      clipGradNorm(params, 1).dispose();
      await params[0]!.data();
      const before = L.getEngine().pool.getStats().bytesAllocated;
      for (let t = 0; t < 4; t++) {
        clipGradNorm(params, 1).dispose();
        opt.step();
        opt.zeroGrad();
      }
      await params[0]!.data();
      expect(L.getEngine().pool.getStats().bytesAllocated).toBe(before);
      L.dispose(params);
      opt.dispose();
    });
  }
});

describe('clipGradNorm vs CPU', () => {
  const norm64 = (gs: Float32Array[]) => Math.sqrt(gs.reduce((s, g) => s + g.reduce((a, v) => a + v * v, 0), 0));
  for (const maxNorm of [0.5, 1e6]) {
    it(`maxNorm ${maxNorm} (${maxNorm < 1 ? 'clips' : 'no-op'}), one param without grad`, async () => {
      const { grads, params } = setup(71);
      // a large gradient (70k elements: many partial sums) as well
      const big = L.keep(L.requireGrad(L.zeros([3, 150, 157])));
      const bigG = L.randnArray(big.size, 5, 0.01);
      big.grad = L.keep(L.tensor(bigG, big.shape));
      setGrads(params, grads, 0, 2);
      const all = [...params, big];
      const gs = [grads[0]![0]!, grads[1]![0]!, grads[3]![0]!, grads[4]![0]!, bigG];
      const norm = clipGradNorm(all, maxNorm);
      const ref = norm64(gs);
      expect(norm.shape).toEqual([1]);
      expect(Math.abs((await norm.item()) - ref)).toBeLessThan(1e-5 * ref);
      const c = Math.min(1, maxNorm / (ref + 1e-6));
      const withGrad = [0, 1, 3, 4, 5];
      for (let k = 0; k < withGrad.length; k++) assertClose(`clipped grad ${k}`, await all[withGrad[k]!]!.grad!.data(), Array.from(gs[k]!, (v) => v * c), 1e-7, 1e-5);
      expect(all[2]!.grad).toBeNull();
      norm.dispose();
      L.dispose(all);
    });
  }
  it('no grads at all: norm 0', async () => {
    const p = L.requireGrad(L.zeros([3]));
    expect(await clipGradNorm([p], 1).item()).toBe(0);
  });
});

// Multi-tensor dispatches (src/train/multi-tensor.ts): the same numbers as one dispatch per tensor, to
// the bit, in fewer dispatches. 23 tensors: more than one group of each kind (vec4 and scalar sizes),
// a padded last group, a 70k-element tensor, one element, and one parameter without a gradient.
describe('multi-tensor optimizer dispatches', () => {
  const sizes = [[3], [4], [1], [8, 8], [5, 7], [12], [2, 2], [9], [3, 150, 157], [16], [6], [11], [20], [7], [4, 4, 4], [13], [32], [2], [3, 3, 3, 3], [40], [1, 1], [24], [15]];
  const SKIP = 5;
  const make = (seed: number) => sizes.map((s, i) => L.keep(L.requireGrad(L.tensor(L.randnArray(s.reduce((a, b) => a * b, 1), seed + i), s))));
  const grads = (ps: L.Tensor[], t: number) => ps.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = i === SKIP ? null : L.keep(L.tensor(L.randnArray(p.size, 300 + 10 * t + i, 0.5), p.shape));
  });
  const withGrad = sizes.length - 1;
  const vec4s = sizes.filter((s, i) => i !== SKIP && s.reduce((a, b) => a * b, 1) % 4 === 0).length;
  const groups = (K: number) => Math.ceil(vec4s / K) + Math.ceil((withGrad - vec4s) / K);
  const withPaths = <T>(multi: boolean, f: () => T): T => {
    optimPaths.multiTensor = multi;
    try { return f(); } finally { optimPaths.multiTensor = true; }
  };
  const dispatches = (f: () => void) => {
    const d0 = L.getEngine().stats.dispatches;
    f();
    return L.getEngine().stats.dispatches - d0;
  };

  it('AdamW: equal to one dispatch per tensor to the bit (p, m, v after 3 steps), in fewer dispatches', async () => {
    const K = slotsPerDispatch(4, 0);
    expect(K).toBeGreaterThan(1);
    const [a, b] = [make(7), make(7)];
    const [oa, ob] = [new AdamW(a, { lr: 1e-2 }), new AdamW(b, { lr: 1e-2 })];
    for (let t = 0; t < 3; t++) {
      grads(a, t);
      grads(b, t);
      expect(dispatches(() => withPaths(true, () => oa.step()))).toBe(groups(K));
      expect(dispatches(() => withPaths(false, () => ob.step()))).toBe(withGrad);
    }
    const [sa, sb] = [oa.state(), ob.state()];
    for (let i = 0; i < sizes.length; i++) {
      assertClose(`p${i}`, await a[i]!.data(), await b[i]!.data(), 0, 0);
      assertClose(`m${i}`, await sa[`${i}.exp_avg`]!.data(), await sb[`${i}.exp_avg`]!.data(), 0, 0);
      assertClose(`v${i}`, await sa[`${i}.exp_avg_sq`]!.data(), await sb[`${i}.exp_avg_sq`]!.data(), 0, 0);
    }
    expect(oa.steps[SKIP]).toBe(0);
    [oa, ob].forEach((o) => o.dispose());
    L.dispose([...a, ...b]);
  });

  for (const momentum of [0, 0.9]) {
    it(`SGD (momentum ${momentum}): equal to one dispatch per tensor to the bit after 3 steps, in fewer dispatches`, async () => {
      const K = slotsPerDispatch(momentum ? 3 : 2, 0);
      const [a, b] = [make(11), make(11)];
      const o = { lr: 0.05, momentum, weightDecay: 1e-2, nesterov: momentum > 0 };
      const [oa, ob] = [new SGD(a, o), new SGD(b, o)];
      for (let t = 0; t < 3; t++) {
        grads(a, t);
        grads(b, t);
        expect(dispatches(() => withPaths(true, () => oa.step()))).toBe(groups(K));
        expect(dispatches(() => withPaths(false, () => ob.step()))).toBe(withGrad);
      }
      for (let i = 0; i < sizes.length; i++) assertClose(`p${i}`, await a[i]!.data(), await b[i]!.data(), 0, 0);
      if (momentum) for (const [k, t] of Object.entries(oa.state())) assertClose(k, await t.data(), await ob.state()[k]!.data(), 0, 0);
      expect(oa.steps[SKIP]).toBe(0);
      [oa, ob].forEach((x) => x.dispose());
      L.dispose([...a, ...b]);
    });
  }

  for (const maxNorm of [0.5, 1e6]) {
    it(`AdamW.step's clip (maxNorm ${maxNorm}) = clipGradNorm then step, to the bit; the gradients left as they are`, async () => {
      const [a, b] = [make(9), make(9)];
      const [oa, ob] = [new AdamW(a, { lr: 1e-2 }), new AdamW(b, { lr: 1e-2 })];
      for (let t = 0; t < 3; t++) {
        grads(a, t);
        grads(b, t);
        const na = clipGradNorm(a, maxNorm);
        oa.step();
        const nb = gradNorm(b);
        const g0 = await b[0]!.grad!.data();
        expect(dispatches(() => ob.step({ norm: nb, maxNorm }))).toBe(groups(slotsPerDispatch(4, 1)));
        expect(await nb.item()).toBe(await na.item());
        expect([...(await b[0]!.grad!.data())]).toEqual([...g0]);
        [na, nb].forEach((n) => n.dispose());
      }
      for (let i = 0; i < sizes.length; i++) assertClose(`p${i}`, await a[i]!.data(), await b[i]!.data(), 0, 0);
      [oa, ob].forEach((o) => o.dispose());
      L.dispose([...a, ...b]);
    });
  }

  it('gradNorm and clipGradNorm: the same norm and clipped gradients as one dispatch per tensor, to the bit', async () => {
    const [a, b] = [make(13), make(13)];
    grads(a, 0);
    grads(b, 0);
    const K = slotsPerDispatch(1, 1);
    // gradNorm: the partial sums (grouped) and the finish
    expect(dispatches(() => withPaths(true, () => gradNorm(a)).dispose())).toBe(groups(K) + 1);
    const na = withPaths(true, () => clipGradNorm(a, 0.5));
    const nb = withPaths(false, () => clipGradNorm(b, 0.5));
    expect(await na.item()).toBe(await nb.item());
    for (let i = 0; i < sizes.length; i++) if (i !== SKIP) assertClose(`g${i}`, await a[i]!.grad!.data(), await b[i]!.grad!.data(), 0, 0);
    [na, nb].forEach((n) => n.dispose());
    L.dispose([...a, ...b]);
  });

  it('no allocation after the first step with a clip', async () => {
    const ps = make(17);
    const opt = new AdamW(ps, { lr: 1e-3 });
    grads(ps, 0);
    const once = () => {
      const n = gradNorm(ps);
      opt.step({ norm: n, maxNorm: 1 });
      n.dispose();
    };
    once();
    await ps[0]!.data();
    const before = L.getEngine().pool.getStats().bytesAllocated;
    for (let t = 0; t < 3; t++) once();
    await ps[0]!.data();
    expect(L.getEngine().pool.getStats().bytesAllocated).toBe(before);
    opt.dispose();
    L.dispose(ps);
  });

  it('AdamW.step rejects a bad clip', () => {
    const ps = [L.requireGrad(L.zeros([4]))];
    ps[0]!.grad = L.zeros([4]);
    const o = new AdamW(ps, { lr: 1e-3 });
    expect(() => o.step({ norm: L.zeros([1]), maxNorm: 0 })).toThrow(/AdamW.step: clip.maxNorm must be a number > 0, got 0/);
    expect(() => o.step({ norm: L.zeros([2]), maxNorm: 1 })).toThrow(/AdamW.step: clip.norm must be a \[1\] tensor/);
    o.dispose();
  });
});

describe('optimizer input checks', () => {
  const p = () => [L.requireGrad(L.zeros([2, 3]))];
  it('SGD rejects an unknown option', () => expect(() => new SGD(p(), { lr: 0.1, dampening: 0.1 } as { lr: number })).toThrow(/SGD: unknown option "dampening"/));
  it('SGD rejects nesterov without momentum', () => expect(() => new SGD(p(), { lr: 0.1, nesterov: true })).toThrow(/SGD: nesterov momentum requires momentum > 0/));
  it('SGD rejects a negative lr', () => expect(() => new SGD(p(), { lr: -1 })).toThrow(/SGD: lr must be a number >= 0, got -1/));
  it('SGD rejects an empty param list', () => expect(() => new SGD([], { lr: 0.1 })).toThrow(/SGD: params must be a non-empty array/));
  it('SGD rejects a duplicated param', () => {
    const t = L.zeros([4]);
    expect(() => new SGD([t, t], { lr: 0.1 })).toThrow(/SGD: params\[1\] \[4\] appears twice/);
  });
  it('SGD and AdamW reject two views of one buffer', () => {
    const t = L.zeros([2, 3]);
    const v = t.viewAs([6]);
    expect(() => new AdamW([t, v], { lr: 1e-3 })).toThrow(/AdamW: params\[1\] \[6\] shares its buffer with params\[0\] \(a view of it\)/);
    expect(() => new SGD([t, v], { lr: 0.1 })).toThrow(/SGD: params\[1\] \[6\] shares its buffer with params\[0\]/);
  });
  it('AdamW rejects an unknown option (amsgrad)', () => expect(() => new AdamW(p(), { lr: 1e-3, amsgrad: true } as { lr: number })).toThrow(/AdamW: unknown option "amsgrad"/));
  it('AdamW rejects beta >= 1', () => expect(() => new AdamW(p(), { lr: 1e-3, betas: [0.9, 1] })).toThrow(/AdamW: betas\[1\] must be in \[0, 1\), got 1/));
  it('AdamW rejects eps <= 0', () => expect(() => new AdamW(p(), { lr: 1e-3, eps: 0 })).toThrow(/AdamW: eps must be a number > 0/));
  it('AdamW.step rejects a NaN lr set between steps', () => {
    const o = new AdamW(p(), { lr: 1e-3 });
    o.lr = NaN;
    expect(() => o.step()).toThrow(/AdamW: lr must be a number >= 0, got NaN/);
  });
  it('step rejects a grad of the wrong size', () => {
    const ps = p();
    ps[0]!.grad = L.zeros([5]);
    expect(() => new AdamW(ps, { lr: 1e-3 }).step()).toThrow(/AdamW: grad \[5\] does not match params\[0\] \[2, 3\]/);
  });
  it('clipGradNorm rejects maxNorm <= 0', () => expect(() => clipGradNorm(p(), 0)).toThrow(/clipGradNorm: maxNorm must be a number > 0, got 0/));
});
