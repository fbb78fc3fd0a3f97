// The autotuner: fastest correct variant wins, wrong variants never do, cache and override.
import { describe, it, expect, afterEach } from 'vitest';
import { add, scale, addScalar, rand, tidy, type Tensor } from '../src/runtime/index.js';
import { matmulTuning } from '../src/runtime/ops/matmul.js';
import {
  registerTunable, tune, applyTuned, setOverride, setTuneStore, getTuneStore, cacheKey, tunedChoice,
  parseVariantSpec, MemoryTuneStore, type TuneStore,
} from '../src/runtime/autotune.js';

// Fake tunable: every variant computes x + x; "slow" records 60 extra dispatches, "wrong" computes 3x.
let mode: 'fast' | 'slow' | 'wrong' = 'fast';
registerTunable({
  name: 'fake',
  variants: [
    { id: 'slow', apply: () => { mode = 'slow'; } },
    { id: 'fast', apply: () => { mode = 'fast'; } },
    { id: 'wrong', apply: () => { mode = 'wrong'; } },
  ],
  shapeClasses: ['n4096'],
  workload() {
    const x = rand([1 << 16], 7, -1, 1);
    return {
      run: (): Tensor => {
        if (mode === 'wrong') return scale(x, 3); // cheaper than everything, but wrong
        if (mode === 'fast') return add(x, x);
        return tidy(() => {
          let y = add(x, x);
          for (let i = 0; i < 60; i++) y = addScalar(y, 0);
          return y;
        });
      },
      dispose: () => x.dispose(),
      inner: 4,
    };
  },
});

afterEach(() => {
  setOverride('fake', null);
  setOverride('matmul', null);
  setTuneStore(new MemoryTuneStore());
});

describe('autotune', () => {
  it('picks the faster variant and never a wrong one', async () => {
    const r = await tune('fake', 'n4096', { reps: 2 });
    expect(r.winner).toBe('fast');
    expect(r.timings.fast).toBeLessThan(r.timings.slow!);
    expect(Number.isNaN(r.timings.wrong)).toBe(true);
    expect(r.rejected.wrong).toMatch(/wrong output/);
    expect(mode).toBe('fast'); // the winner is left applied
  });

  it('round-trips the cache through an injected store; override wins over it', async () => {
    const m = new Map<string, string>();
    const s: TuneStore = { get: (k) => m.get(k), set: (k, v) => void m.set(k, v) };
    setTuneStore(s);
    expect(getTuneStore()).toBe(s);
    expect(applyTuned('fake', 'n4096')).toBeNull();
    await tune('fake', 'n4096', { reps: 1 });
    expect(m.get(cacheKey('fake', 'n4096'))).toBe('fast');
    mode = 'slow';
    expect(applyTuned('fake', 'n4096')).toBe('fast');
    expect(mode).toBe('fast');
    setOverride('fake', 'slow');
    expect(tunedChoice('fake', 'n4096')).toBe('slow');
    expect(applyTuned('fake', 'n4096')).toBe('slow');
    expect(mode).toBe('slow');
    setOverride('fake', null);
    parseVariantSpec('fake=wrong');
    expect(applyTuned('fake', 'n4096')).toBe('wrong');
    expect(() => setOverride('fake', 'nope')).toThrow(/no variant "nope"/);
    expect(() => parseVariantSpec('fake')).toThrow(/expected name=id/);
    // A stale cached id (a variant since removed) is ignored.
    setOverride('fake', null);
    m.set(cacheKey('fake', 'n4096'), 'gone');
    expect(applyTuned('fake', 'n4096')).toBeNull();
  });

  it('tunes real matmul on 128^3 and leaves matmulTuning valid', async () => {
    const r = await tune('matmul', 'square-128', { reps: 1 });
    expect(Object.keys(r.timings)).toContain(r.winner);
    expect(r.rejected).toEqual({});
    for (const ms of Object.values(r.timings)) expect(ms).toBeGreaterThan(0);
    expect([4, 8, 16]).toContain(matmulTuning.tm);
    expect([1, 2, 4, 8]).toContain(matmulTuning.tnv);
    expect(typeof matmulTuning.tiled).toBe('boolean');
    // Restore the default for the rest of the process.
    setOverride('matmul', 'default');
    applyTuned('matmul', 'square-128');
    expect(matmulTuning).toMatchObject({ tiled: false, tm: 8, tnv: 4, kvec: false });
  });
});
