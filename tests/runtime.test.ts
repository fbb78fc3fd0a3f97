// The runtime core: scopes, buffer pool, autograd bookkeeping, batching, the pipeline cache, errors.
import { describe, it, expect } from 'vitest';
import * as L from '../src/runtime/index.js';
import { getEngine, tensor, tidy, keep, backward, noGrad, zeroGrad } from '../src/runtime/index.js';
import { shaderKey, type Defines } from '../src/runtime/shaders.js';

const stats = () => getEngine().pool.getStats();

describe('tensors and scopes', () => {
  it('round-trips data and rejects bad shapes', async () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect([...(await t.data())]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => tensor([1], [1.5])).toThrow(/invalid shape/);
    expect(() => tensor([1], [-1])).toThrow(/invalid shape/);
    t.dispose();
  });

  it('tidy disposes intermediates, keeps results and kept tensors', () => {
    const before = stats().bytesInUse;
    let inner: L.Tensor | null = null;
    let kept: L.Tensor | null = null;
    const out = tidy(() => {
      const a = L.ones([4, 4]);
      inner = L.add(a, a);
      kept = keep(L.zeros([3]));
      return L.mul(inner, inner);
    });
    expect(inner!.disposed).toBe(true);
    expect(kept!.disposed).toBe(false);
    expect(out.disposed).toBe(false);
    out.dispose();
    kept!.dispose();
    expect(stats().bytesInUse).toBe(before);
  });

  it('tidy releases everything when fn throws', () => {
    const before = stats().bytesInUse;
    expect(() => tidy(() => {
      L.ones([8]);
      throw new Error('boom');
    })).toThrow('boom');
    expect(stats().bytesInUse).toBe(before);
  });

  it('a disposed tensor is reported by the op that wanted it', async () => {
    const a = L.ones([2, 2]);
    const b = L.ones([2, 2]);
    b.dispose();
    expect(() => L.add(a, b)).toThrow(/add: b tensor #\d+ \[2, 2\] is disposed/);
    await expect(b.data()).rejects.toThrow(/is disposed/);
    a.dispose();
  });

  it('shape mismatches name the op and both shapes', () => {
    const a = L.ones([2, 3]);
    const b = L.ones([4, 3]);
    expect(() => L.mul(a, b)).toThrow('mul: shapes [2, 3] and [4, 3] do not broadcast');
    expect(() => L.sum(a, 2)).toThrow(/sum: axis 2 is out of range for rank 2/);
    expect(() => a.viewAs([5])).toThrow(/cannot view \[2, 3\] \(6 elements\) as \[5\]/);
    L.dispose([a, b]);
  });

  it('views share storage and survive their base being disposed', async () => {
    const a = tensor([1, 2, 3, 4], [2, 2]);
    const v = a.viewAs([4]);
    a.dispose();
    expect([...(await v.data())]).toEqual([1, 2, 3, 4]);
    v.dispose();
  });
});

describe('buffer pool', () => {
  it('reuses freed buffers of the same size', () => {
    const a = L.zeros([256]);
    a.dispose();
    const s0 = stats();
    const b = L.zeros([256]);
    expect(stats().bytesAllocated).toBe(s0.bytesAllocated);
    expect(stats().bytesInUse).toBe(s0.bytesInUse + 1024);
    b.dispose();
  });

  it('trim frees idle buffers', () => {
    L.zeros([1000]).dispose();
    getEngine().trim();
    expect(stats().bytesAllocated).toBe(stats().bytesInUse);
  });
});

describe('engine', () => {
  it('records many dispatches per submit and reads back once', async () => {
    const e = getEngine();
    const s0 = { ...e.stats };
    let x = L.zeros([16]);
    for (let i = 0; i < 3000; i++) { // > one uniform arena (1024 dispatches of 256 B)
      const y = L.addScalar(x, 1);
      x.dispose();
      x = y;
    }
    expect((await x.data())[0]).toBe(3000);
    expect(e.stats.dispatches - s0.dispatches).toBe(3000); // zeros() is a buffer clear, not a dispatch
    expect(e.stats.readbacks - s0.readbacks).toBe(1);
    expect(e.stats.submits - s0.submits).toBeLessThanOrEqual(4);
    x.dispose();
  });

  it('sleep-then-await returns the same data as await, batch after batch', async () => {
    const e = getEngine();
    const saved = e.pollStrategy;
    try {
      for (const strategy of ['await', 'sleep-then-await'] as const) {
        e.pollStrategy = strategy;
        for (let rep = 0; rep < 3; rep++) {
          const x = tensor([1, 2, 3, 4], [4]);
          const y = tidy(() => L.sum(L.mul(L.matmul(L.ones([64, 64]), L.ones([64, 64])), L.ones([64, 64])), [0, 1]));
          expect(await y.item()).toBe(64 * 64 * 64);
          expect([...(await x.data())]).toEqual([1, 2, 3, 4]);
          L.dispose([x, y]);
        }
      }
    } finally {
      e.pollStrategy = saved;
    }
  });

  it('caches pipelines by final WGSL text', () => {
    const e = getEngine();
    const a = L.ones([3]);
    L.add(a, a);
    const n = e.stats.pipelines;
    L.add(L.ones([7]), L.ones([7])); // another shape: same pipeline (shapes are uniforms)
    expect(e.stats.pipelines).toBe(n);
    L.sub(a, a); // other defines: a new pipeline
    expect(e.stats.pipelines).toBe(n + 1);
  });

  it('makes one bind group per combination of buffers, the uniforms at a dynamic offset', async () => {
    const e = getEngine();
    const x = tensor([1, 2, 3, 4], [4]);
    const round = async (s0: number) => {
      const ys = [1, 2, 3].map((i) => L.addScalar(x, s0 + i)); // one submit, three uniform offsets
      const got = await Promise.all(ys.map(async (y) => [...(await y.data())]));
      L.dispose(ys); // back to the pool, handed out again (in reverse) next round
      return got;
    };
    await round(0);
    const n = e.stats.bindGroups;
    expect(await round(10)).toEqual([11, 12, 13].map((s) => [1, 2, 3, 4].map((v) => v + s)));
    expect(e.stats.bindGroups).toBe(n); // the same (input, output) buffers: no new bind group
    e.trim(); // buffers destroyed: their bind groups go
    expect(await round(20)).toEqual([21, 22, 23].map((s) => [1, 2, 3, 4].map((v) => v + s)));
    expect(e.stats.bindGroups).toBe(n + 3);
    e.recordingCaches = false; // every dispatch makes its bind group (and spec) afresh: same values
    try {
      expect(await round(30)).toEqual([31, 32, 33].map((s) => [1, 2, 3, 4].map((v) => v + s)));
      expect(e.stats.bindGroups).toBe(n + 6);
    } finally {
      e.recordingCaches = true;
    }
    x.dispose();
  });

  it('keys shaders by their defines in any order, long strings by content', () => {
    const long = (c: string) => 'let a = 1.0;'.repeat(8) + c;
    expect(shaderKey('m', { A: 1, B: true, C: 'x' })).toBe(shaderKey('m', { C: 'x', B: true, A: 1 }));
    expect(shaderKey('m', { S: long('b') })).toBe(shaderKey('m', { S: [long('b')].join('') })); // another string object
    const keys = ([{ A: 1 }, { A: '1' }, { A: true }, { A: 'true' }, { S: long('b') }, { S: long('c') }, { A: 1, B: 2 }, {}] as Defines[])
      .map((d) => shaderKey('m', d));
    expect(new Set(keys).size).toBe(keys.length);
    expect(shaderKey('m', { A: 1 })).not.toBe(shaderKey('n', { A: 1 }));
  });

  it('rejects grids over the per-dimension workgroup limit with a clear message', () => {
    const a = L.zeros([4]);
    expect(() => getEngine().run({ name: 'fill_test', shader: 'fill', inputs: [], outputs: [a], uniforms: [L.u32(4), L.f32(0)], workgroups: [70000] }))
      .toThrow(/fill_test: dispatch \(70000, 1, 1\) exceeds 65535 workgroups per dimension/);
    a.dispose();
  });

  it('rejects a tensor over the storage binding limit with a clear message', () => {
    const e = getEngine();
    const n = Math.floor(e.maxBinding / 4) + 64; // one float past the limit (rounded to 16 bytes)
    const big = L.empty([n]);
    expect(() => L.fillInPlace(big, 1)).toThrow(/fill: a [\d.]+ MiB tensor exceeds this adapter's storage binding limit/);
    big.dispose();
  });

  it('folds 1-D grids into 2-D', () => {
    expect(L.grid1d(64 * 65535, 64)).toEqual([65535, 1]);
    const [x, y] = L.grid1d(64 * 65536, 64);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(65536);
  });

  it('names a missing shader define', () => {
    const a = L.zeros([4]);
    expect(() => getEngine().run({ name: 'bin', shader: 'binary', defines: {}, inputs: [a, a], outputs: [a], uniforms: [L.u32(4)], workgroups: [1] }))
      .toThrow(/binary.wgsl" uses \$\{ADD\} but the program defines no ADD/);
    a.dispose();
  });
});

describe('autograd', () => {
  it('accumulates gradients of a tensor used twice, and across backward calls', async () => {
    const x = L.requireGrad(keep(tensor([1, 2, 3], [3])));
    tidy(() => backward(L.sum(L.mul(x, x)))); // d/dx sum(x²) = 2x
    expect([...(await x.grad!.data())]).toEqual([2, 4, 6]);
    tidy(() => backward(L.sum(L.add(x, x)))); // + 2
    expect([...(await x.grad!.data())]).toEqual([4, 6, 8]);
    zeroGrad([x]);
    expect([...(await x.grad!.data())]).toEqual([0, 0, 0]);
    x.dispose();
  });

  it('noGrad records nothing; backward of a non-scalar needs gradOut', () => {
    const x = L.requireGrad(L.ones([2]));
    const y = noGrad(() => L.mul(x, x));
    expect(y.requiresGrad).toBe(false);
    expect(() => backward(y)).toThrow(/does not require grad/);
    const z = L.mul(x, x);
    expect(() => backward(z)).toThrow(/not a scalar; pass gradOut/);
    L.dispose([x, y, z]);
  });

  it('backward reports a saved tensor disposed before it', () => {
    const x = L.requireGrad(L.ones([2]));
    const h = L.mul(x, x);
    const y = L.sum(L.mul(h, h));
    h.dispose();
    expect(() => backward(y)).toThrow(/backward: saved tensor #\d+ \[2\] is disposed/);
    L.dispose([x, y]);
  });

  // A leaf whose .grad was dropped (zeroGrad(…, true), the optimizers' default) takes its gradient
  // tensor as it is when nothing else holds it: no zero fill and no accumulation dispatch. It must
  // never take a tensor someone else still reads or owns.
  it('a dropped grad takes the gradient tensor itself: one dispatch fewer per leaf, the same values', async () => {
    const e = getEngine();
    const a = L.requireGrad(keep(tensor([1, 2, 3, 4, 5, 6], [2, 3])));
    const b = L.requireGrad(keep(tensor([6, 5, 4, 3, 2, 1], [2, 3])));
    const step = () => tidy(() => backward(L.sum(L.mul(a, b))));
    step(); // compile
    zeroGrad([a, b]); // in place: the next backward accumulates into the zeroed grads
    const d0 = e.stats.dispatches;
    step();
    const accumulated = e.stats.dispatches - d0;
    const ga = [...(await a.grad!.data())], gb = [...(await b.grad!.data())];
    zeroGrad([a, b], true);
    const d1 = e.stats.dispatches;
    step();
    expect(e.stats.dispatches - d1).toBe(accumulated - 2);
    expect([...(await a.grad!.data())]).toEqual(ga);
    expect([...(await b.grad!.data())]).toEqual(gb);
    expect(ga).toEqual([6, 5, 4, 3, 2, 1]);
    // a second backward accumulates into the taken tensor
    step();
    expect([...(await a.grad!.data())]).toEqual(ga.map((v) => 2 * v));
    L.dispose([a, b]);
  });

  it('a dropped grad never shares a buffer: one gradient for two leaves, views, the caller\'s gradOut', async () => {
    const a = L.requireGrad(keep(tensor([1, 2, 3], [3])));
    const b = L.requireGrad(keep(tensor([4, 5, 6], [3])));
    // add's backward hands the same gradient to both inputs
    tidy(() => backward(L.sum(L.add(a, b))));
    expect(a.grad!.aliased || b.grad!.aliased).toBe(false);
    L.addInPlace(a.grad!, L.ones([3]));
    expect([...(await a.grad!.data())]).toEqual([2, 2, 2]);
    expect([...(await b.grad!.data())]).toEqual([1, 1, 1]);
    zeroGrad([a, b], true);
    // a reshape's gradient is a view of the one after it; the leaf gets its own shape
    const m = L.requireGrad(keep(tensor([1, 2, 3, 4, 5, 6], [2, 3])));
    tidy(() => backward(L.sum(L.mul(L.reshape(m, [6]), L.reshape(m, [6])))));
    expect(m.grad!.shape).toEqual([2, 3]);
    expect([...(await m.grad!.data())]).toEqual([2, 4, 6, 8, 10, 12]);
    zeroGrad([m], true);
    tidy(() => backward(L.sum(L.reshape(m, [3, 2]))));
    expect(m.grad!.shape).toEqual([2, 3]);
    expect([...(await m.grad!.data())]).toEqual([1, 1, 1, 1, 1, 1]);
    // backward from a leaf with the caller's gradOut: the leaf gets a copy, not the caller's tensor
    zeroGrad([a], true);
    const gOut = tensor([7, 8, 9], [3]);
    backward(a, gOut);
    expect(a.grad).not.toBe(gOut);
    gOut.dispose();
    expect([...(await a.grad!.data())]).toEqual([7, 8, 9]);
    L.dispose([a, b, m]);
  });

  it('a backward pass leaves no tensors behind', () => {
    const x = L.requireGrad(keep(L.ones([64])));
    const step = () => tidy(() => backward(L.sum(L.mul(L.add(x, x), x))));
    for (let i = 0; i < 3; i++) step(); // warm the pool (x.grad appears in step 1, which shifts the peak once)
    const before = stats();
    const liveBefore = L.liveTensors().length;
    for (let i = 0; i < 5; i++) step();
    expect(L.liveTensors().length).toBe(liveBefore);
    expect(stats().bytesInUse).toBe(before.bytesInUse);
    expect(stats().bytesAllocated).toBe(before.bytesAllocated);
    x.dispose();
  });
});

describe('Tensor.derived: a tensor kept with the one it was computed from', () => {
  it('is made once, made again after a write into the tensor or a dependency or for another dependency, and disposed with the tensor', async () => {
    const w = L.tensor([1, 2, 3], [3]), g = L.tensor([10], [1]), g2 = L.tensor([20], [1]);
    let made = 0;
    const make = (dep: L.Tensor) => () => { made++; return L.noGrad(() => L.add(w, dep)); };
    let a!: L.Tensor;
    L.tidy(() => { a = w.derived('plus', make(g), [g]); }); // made inside a scope: the scope leaves it
    expect(a.disposed).toBe(false);
    expect(Array.from(await a.data())).toEqual([11, 12, 13]);
    expect(w.derived('plus', make(g), [g])).toBe(a);
    expect(made).toBe(1);
    L.copyInto(g, L.tensor([100], [1])); // a write into the dependency
    const b = w.derived('plus', make(g), [g]);
    expect(made).toBe(2);
    expect(a.disposed).toBe(true);
    expect(Array.from(await b.data())).toEqual([101, 102, 103]);
    L.copyInto(w, L.tensor([4, 5, 6], [3])); // a write into the tensor itself
    expect(Array.from(await w.derived('plus', make(g), [g]).data())).toEqual([104, 105, 106]);
    expect(made).toBe(3);
    const c = w.derived('plus', make(g2), [g2]); // another dependency
    expect(made).toBe(4);
    expect(Array.from(await c.data())).toEqual([24, 25, 26]);
    const other = w.derived('other', () => L.noGrad(() => L.scale(w, 2)));
    w.dispose();
    expect(c.disposed).toBe(true);
    expect(other.disposed).toBe(true);
    L.dispose([g, g2]);
  });

  it('refuses to make anything while pipelines are being collected (nothing is computed then)', () => {
    const w = L.tensor([1, 2], [2]);
    expect(() => L.getEngine().collectPipelines(() => { w.derived('k', () => L.noGrad(() => L.scale(w, 2))); }))
      .toThrow(/derived\("k"\) while collecting pipelines/);
    w.dispose();
  });
});
