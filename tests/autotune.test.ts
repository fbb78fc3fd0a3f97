// The autotuner: fastest correct variant wins, wrong variants never do; cache, override, modes;
// ops pick the cached winner of their shape class; autotune(fn) tunes what fn used, once.
import { describe, it, expect, afterEach } from 'vitest';
import { add, scale, addScalar, rand, tidy, noGrad, matmul, conv2d, type Tensor } from '../src/runtime/index.js';
import * as L from '../src/runtime/index.js';
import { matmulTuning } from '../src/runtime/ops/matmul.js';
import { convVariants } from '../src/runtime/ops/conv.js';
import {
  registerTunable, tune, autotune, withVariant, activeVariant, setOverride, setTuneStore, getTuneStore, cacheKey, stampChoice, tunableSignature,
  tunedChoice, tunedChoices, parseVariantSpec, setAutotuneMode, MemoryTuneStore, tunePrimer, getTunable, type TuneStore,
} from '../src/runtime/autotune.js';
import {
  bucket, matmulClass, parseMatmulClass, convClass, parseConvClass, depthwiseClass, parseDepthwiseClass,
  elementwiseClass, parseElementwiseClass, reduceClass, parseReduceClass,
} from '../src/runtime/shape-class.js';

// Fake tunable: every variant computes x + x; "slow" records 60 extra dispatches, "wrong" computes 3x.
const knobs = { mode: 'fast' as 'fast' | 'slow' | 'wrong' };
const ran: string[] = [];
function fakeOp(x: Tensor, cls = 'n65536'): Tensor {
  return withVariant('fake', cls, () => {
    ran.push(knobs.mode);
    if (knobs.mode === 'wrong') return scale(x, 3); // cheaper than everything, but wrong
    if (knobs.mode === 'fast') return add(x, x);
    return tidy(() => {
      let y = add(x, x);
      for (let i = 0; i < 60; i++) y = addScalar(y, 0);
      return y;
    });
  });
}
registerTunable({
  name: 'fake',
  target: knobs,
  variants: [{ id: 'slow', knobs: { mode: 'slow' } }, { id: 'fast', knobs: { mode: 'fast' } }, { id: 'wrong', knobs: { mode: 'wrong' } }],
  shapeClasses: ['n65536'],
  workload(cls) {
    const x = rand([Number(cls.slice(1))], 7, -1, 1);
    return { run: () => fakeOp(x, cls), dispose: () => x.dispose(), inner: 4 };
  },
});

afterEach(() => {
  for (const n of ['fake', 'matmul', 'depthwise', 'elementwise']) setOverride(n, null);
  setTuneStore(new MemoryTuneStore());
  setAutotuneMode('cached');
  ran.length = 0;
});

describe('shape classes', () => {
  it('buckets to the nearest power of two and round-trips', () => {
    expect([1, 3, 5, 6, 12, 1000, 5000].map((x) => bucket(x, 1024))).toEqual([1, 4, 4, 8, 16, 1024, 1024]);
    const m = matmulClass(32, 512, 1000, false, true);
    expect(m).toBe('nt.m32.k512.n1024');
    expect(parseMatmulClass(m)).toEqual({ transA: false, transB: true, M: 32, K: 512, N: 1024, batch: 1 });
    expect(parseMatmulClass(matmulClass(8, 8, 8, true, false, 12)).batch).toBe(16);
    const g = { N: 32, Ci: 88, Co: 176, Ho: 14, Wo: 14, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, G: 1 };
    expect(convClass(g)).toBe('k1x1.s1x1.ci64.co128.hw14.n32');
    expect(parseConvClass(convClass({ ...g, kh: 3, kw: 3, dh: 2, dw: 2, Ho: 100 })!)).toMatchObject({ kh: 3, dh: 2, hw: 64 });
    expect(convClass({ ...g, G: 2 })).toBeNull();
    const d = { ...g, Co: 88, Ci: 88, G: 88, kh: 7, kw: 7 };
    expect(depthwiseClass(d)).toBe('k7.c64.hw14.n32');
    expect(parseDepthwiseClass('k7.c64.hw14.n32')).toEqual({ k: 7, c: 64, hw: 14, n: 32 });
    expect(depthwiseClass({ ...d, sh: 2, sw: 2 })).toBeNull();
    expect(() => parseMatmulClass('square-1024')).toThrow(/bad shape class/);
    expect(elementwiseClass(70000)).toBe('n65536');
    expect(parseElementwiseClass(elementwiseClass(1 << 30))).toBe(1 << 22);
    expect(reduceClass(88, 25088)).toBe('o64.r32768');
    expect(parseReduceClass(reduceClass(1, 3))).toEqual({ nOut: 1, R: 4 });
  });
});

describe('autotune', () => {
  it('picks the faster variant, never a wrong one, and restores the knobs', async () => {
    knobs.mode = 'fast';
    const r = await tune('fake', 'n65536', { reps: 2 });
    expect(r.winner).toBe('fast');
    expect(r.timings.fast).toBeLessThan(r.timings.slow!);
    expect(Number.isNaN(r.timings.wrong)).toBe(true);
    expect(r.rejected.wrong).toMatch(/wrong output/);
    expect(knobs.mode).toBe('fast'); // tune() leaves the target as it found it
  });

  it('ops use the cached winner, overrides win, mode off ignores the cache', async () => {
    const m = new Map<string, string>();
    const s: TuneStore = { get: (k) => m.get(k), set: (k, v) => void m.set(k, v) };
    setTuneStore(s);
    expect(getTuneStore()).toBe(s);
    knobs.mode = 'slow'; // the "default knobs" for this test
    const x = rand([64], 1);
    expect(activeVariant('fake', 'n65536')).toBe('slow'); // variants[0] when nothing is chosen
    await tune('fake', 'n65536', { reps: 1 });
    expect(m.get(cacheKey('fake', 'n65536'))).toBe(stampChoice('fake', 'fast'));
    expect(stampChoice('fake', 'fast')).toMatch(/^fast@[0-9a-f]{8}$/);
    tidy(() => void fakeOp(x));
    expect(ran.at(-1)).toBe('fast');
    expect(knobs.mode).toBe('slow'); // restored after the op
    setOverride('fake', 'wrong');
    expect(tunedChoice('fake', 'n65536')).toBe('wrong');
    tidy(() => void fakeOp(x));
    expect(ran.at(-1)).toBe('wrong');
    setOverride('fake', null);
    setAutotuneMode('off');
    tidy(() => void fakeOp(x));
    expect(ran.at(-1)).toBe('slow');
    setAutotuneMode('cached');
    parseVariantSpec('fake=fast');
    expect(tunedChoice('fake', 'other-class')).toBe('fast');
    expect(() => setOverride('fake', 'nope')).toThrow(/no variant "nope"/);
    expect(() => parseVariantSpec('fake')).toThrow(/expected name=id/);
    setOverride('fake', null);
    m.set(cacheKey('fake', 'n65536'), stampChoice('fake', 'fast').replace(/^fast@/, 'gone@')); // a variant since removed: ignored
    expect(tunedChoice('fake', 'n65536')).toBeUndefined();
    m.set(cacheKey('fake', 'n65536'), 'fast'); // a choice from before signatures: ignored
    expect(tunedChoice('fake', 'n65536')).toBeUndefined();
    m.set(cacheKey('fake', 'n65536'), stampChoice('fake', 'fast'));
    expect(tunedChoice('fake', 'n65536')).toBe('fast');
    x.dispose();
    knobs.mode = 'fast';
  });

  it('signs choices with the default knobs and the variants: a choice made under another set no longer applies', () => {
    const make = (dflt: string, extra: boolean) => registerTunable({
      name: 'sigfake', target: { mode: dflt }, variants: [{ id: 'a', knobs: {} }, { id: 'b', knobs: { mode: 'b' } }, ...(extra ? [{ id: 'c', knobs: { mode: 'c' } }] : [])],
      shapeClasses: [], workload: () => { throw new Error('not timed'); },
    });
    const m = new Map<string, string>();
    setTuneStore({ get: (k) => m.get(k), set: (k, val) => void m.set(k, val) });
    make('x', false);
    const s0 = tunableSignature('sigfake');
    m.set(cacheKey('sigfake', 'n1'), stampChoice('sigfake', 'b'));
    expect(tunedChoice('sigfake', 'n1')).toBe('b');
    make('y', false); // another default
    expect(tunableSignature('sigfake')).not.toBe(s0);
    expect(tunedChoice('sigfake', 'n1')).toBeUndefined();
    make('x', true); // another variant
    expect(tunableSignature('sigfake')).not.toBe(s0);
    expect(tunedChoice('sigfake', 'n1')).toBeUndefined();
    make('x', false); // as it was
    expect(tunableSignature('sigfake')).toBe(s0);
    expect(tunedChoice('sigfake', 'n1')).toBe('b');
  });

  it('skips a variant whose when() is false: never run, listed as rejected', async () => {
    const k2 = { mode: 'fast' as 'fast' | 'slow' };
    const seen: string[] = [];
    registerTunable({
      name: 'fake-when',
      target: k2,
      variants: [{ id: 'slow', knobs: { mode: 'slow' } }, { id: 'fast', knobs: { mode: 'fast' }, when: () => false }],
      shapeClasses: ['n4096'],
      workload() {
        const x = rand([4096], 7, -1, 1);
        const run = () => withVariant('fake-when', 'n4096', () => {
          seen.push(k2.mode);
          return k2.mode === 'fast' ? add(x, x) : tidy(() => addScalar(add(x, x), 0));
        });
        return { run, dispose: () => x.dispose(), inner: 2 };
      },
    });
    const r = await tune('fake-when', 'n4096', { reps: 1 });
    expect(r.winner).toBe('slow');
    expect(r.rejected.fast).toBe('not available on this device');
    expect(seen).not.toContain('fast');
  });

  it('rejects variants with unknown knobs', () => {
    expect(() => registerTunable({ name: 'bad', target: knobs, variants: [{ id: 'a', knobs: { nope: 1 } }], shapeClasses: [], workload: () => { throw new Error(); } }))
      .toThrow(/unknown knob "nope"/);
  });

  it('autotune(fn) tunes the classes fn used, once', async () => {
    const x = rand([4096], 2);
    setOverride('elementwise', 'default'); // the fake op's add would be tuned too
    const rep = await autotune(() => fakeOp(x, 'n4096'), { reps: 1 });
    const first = rep.tuned;
    expect(first.map((r) => `${r.name}|${r.shapeClass}`)).toEqual(['fake|n4096']);
    expect(first[0]!.winner).not.toBe('wrong');
    // a non-default winner is then validated on the whole fn, which may drop it (a timing: with other
    // test files running beside this one, "fast" failed once to win 3 of 4 pairs, 2026-12-07); what the
    // validation left is what is cached and used
    const kept = rep.validation?.kept === false ? 'slow' : first[0]!.winner;
    const again = await autotune(() => fakeOp(x, 'n4096'));
    expect(again.tuned).toEqual([]); // cached now
    expect(again.used).toContainEqual({ name: 'fake', shapeClass: 'n4096', variant: kept });
    expect(again.used).toContainEqual({ name: 'elementwise', shapeClass: 'n4096', variant: 'default' });
    expect(tunedChoices()).toContainEqual({ name: 'fake', shapeClass: 'n4096', variant: kept, source: 'cache' });
    x.dispose();
  });

  it('hands the pipelines of every variant it will time to tunePrimer first (nothing run), then tunes as before', async () => {
    // a tunable whose two variants use ops no other test here compiles: square, and abs then mul
    const k2 = { v: 'sq' as 'sq' | 'abs' };
    const op = (x: Tensor, cls: string) => withVariant('fake-primed', cls, () => (k2.v === 'sq' ? L.square(x) : L.mul(L.abs(x), L.abs(x))));
    registerTunable({
      name: 'fake-primed', target: k2, shapeClasses: ['n2048'],
      variants: [{ id: 'sq', knobs: { v: 'sq' } }, { id: 'abs', knobs: { v: 'abs' } }],
      workload(cls) {
        const x = rand([Number(cls.slice(1))], 6, -1, 1);
        return { run: () => op(x, cls), dispose: () => x.dispose(), inner: 2 };
      },
    });
    const x = rand([2048], 5);
    setOverride('elementwise', 'default');
    const primed: string[][] = [];
    const e = L.getEngine();
    let d0 = 0;
    tunePrimer.fn = async (specs) => {
      expect(e.stats.dispatches).toBe(d0 + 1); // autotune's own recording of fn, no variant run yet
      primed.push(specs.map((s) => s.label));
      await e.primePipelines(specs);
      for (const s of specs) expect(e.hasPipeline(s.key)).toBe(true);
    };
    try {
      const ref = await tidy(() => op(x, 'n2048')).data();
      d0 = e.stats.dispatches;
      const r = (await autotune(() => op(x, 'n2048'), { reps: 1 })).tuned;
      expect(r.map((t) => `${t.name}|${t.shapeClass}`)).toEqual(['fake-primed|n2048']);
      expect(r[0]!.rejected).toEqual({});
      const out = await tidy(() => op(x, 'n2048')).data();
      expect(Array.from(out)).toEqual(Array.from(ref));
      // one call, before timing, with the other variant's pipelines (the default's square ran above)
      expect(primed.length).toBe(1);
      expect(primed[0]!.sort()).toEqual(['f_abs', 'mul']); // the unary op's program name
      // a class already cached: nothing to tune, no call
      await autotune(() => op(x, 'n2048'), { reps: 1 });
      expect(primed.length).toBe(1);
    } finally {
      tunePrimer.fn = null;
    }
    x.dispose();
  });

  it('tunes real matmul through autotune(fn); the op output is unchanged, matmulTuning restored', async () => {
    const before = JSON.stringify(matmulTuning);
    const a = rand([128, 96], 3, -1, 1), b = rand([96, 160], 4, -1, 1);
    const ref = await tidy(() => matmul(a, b)).data();
    setOverride('matmul', null);
    const rep = await autotune(() => matmul(a, b), { reps: 1 });
    const r = rep.tuned;
    expect(r.map((x) => x.shapeClass)).toEqual(['nn.m128.k128.n128']);
    expect(r[0]!.rejected).toEqual({});
    // timed on the product fn ran (128 x 96 x 160), not on the class's 128 x 128 x 128
    expect(r[0]!.sample).toEqual({ M: 128, K: 96, N: 160, transA: false, transB: false, batch: 1 });
    // A non-default winner is validated on the whole fn (validatePicks) and dropped if it loses there.
    expect(rep.validation === undefined).toBe(r[0]!.winner === 'default');
    expect(activeVariant('matmul', 'nn.m128.k128.n128')).toBe(rep.validation?.kept === false ? 'default' : r[0]!.winner);
    const out = await tidy(() => matmul(a, b)).data();
    let d = 0;
    for (let i = 0; i < out.length; i++) d = Math.max(d, Math.abs(out[i]! - ref[i]!));
    expect(d).toBeLessThan(1e-4);
    expect(JSON.stringify(matmulTuning)).toBe(before);
    a.dispose();
    b.dispose();
  });

  it('times a class on the sizes of the first op of it that passed them (withVariant sample), else on the class', async () => {
    const seen: unknown[] = [];
    const kn = { v: 0 };
    const op = (x: Tensor, cls: string, sample?: unknown) => withVariant('sampled', cls, () => add(x, x), sample);
    registerTunable({
      name: 'sampled', target: kn, variants: [{ id: 'a', knobs: { v: 0 } }, { id: 'b', knobs: { v: 1 } }], shapeClasses: ['c1'],
      workload(_cls, sample) {
        seen.push(sample);
        const x = rand([64], 1);
        return { run: () => op(x, 'c1'), dispose: () => x.dispose(), inner: 1 };
      },
    });
    setOverride('elementwise', 'default');
    const x = rand([64], 2);
    // three ops: c1 with no sample, then c1 with sizes {n: 5} and {n: 7}; c2 never with one
    await autotune(() => tidy(() => { op(x, 'c1'); op(x, 'c1', { n: 5 }); op(x, 'c1', { n: 7 }); op(x, 'c2'); }), { reps: 1, validate: false });
    expect(seen).toEqual([{ n: 5 }, undefined]);
    seen.length = 0;
    await tune('sampled', 'c3', { reps: 1 });
    expect(seen).toEqual([undefined]);
    x.dispose();
  });

  it("matmul's workload runs the sample's product where it is of the class, else the class's", () => {
    const w = (cls: string, sample?: unknown) => {
      const wl = getTunable('matmul').workload(cls, sample);
      try {
        return tidy(() => wl.run().shape);
      } finally {
        wl.dispose();
      }
    };
    const real = { M: 40, K: 5000, N: 20, transA: true, transB: false, batch: 1 };
    expect(matmulClass(40, 5000, 20, true, false)).toBe('tn.m32.k4096.n16');
    expect(w('tn.m32.k4096.n16', real)).toEqual([40, 20]);
    expect(w('tn.m32.k4096.n16')).toEqual([32, 16]);
    expect(w('tn.m64.k4096.n16', real)).toEqual([64, 16]); // not of that class: ignored
    expect(w('tn.m32.k4096.n16', { ...real, K: 2.5 })).toEqual([32, 16]); // not sizes
  });

  it('tunes elementwise kernels (binary and unary share the tunable) without changing results', async () => {
    const x = rand([3, 5000], 8, -1, 1), y = rand([5000], 9, -1, 1);
    const ref = await tidy(() => L.gelu(L.add(x, y))).data();
    const r = (await autotune(() => L.gelu(L.add(x, y)), { reps: 1 })).tuned;
    expect(r.map((t) => `${t.name}|${t.shapeClass}`)).toEqual(['elementwise|n16384']);
    expect(r[0]!.rejected).toEqual({});
    for (const id of ['scalar', 'vec4x1']) {
      setOverride('elementwise', id);
      const out = await tidy(() => L.gelu(L.add(x, y))).data();
      expect(Array.from(out)).toEqual(Array.from(ref)); // same arithmetic per element: bit-identical
    }
    setOverride('elementwise', null);
    x.dispose();
    y.dispose();
  });

  it('tunes the depthwise forward through autotune(fn)', async () => {
    const before = JSON.stringify(convVariants);
    const x = rand([2, 16, 12, 12], 5, -1, 1), w = rand([16, 1, 5, 5], 6, -1, 1);
    const r = (await autotune(() => noGrad(() => conv2d(x, w, null, { padding: 2, groups: 16 })), { reps: 1 })).tuned;
    expect(r.map((t) => `${t.name}|${t.shapeClass}`)).toEqual(['depthwise|k5.c16.hw12.n2']);
    expect(Object.keys(r[0]!.timings)).toEqual(expect.arrayContaining(['default', 'unsplit', 'generic']));
    expect(r[0]!.rejected).toEqual({});
    expect(JSON.stringify(convVariants)).toBe(before);
    x.dispose();
    w.dispose();
  });
});
