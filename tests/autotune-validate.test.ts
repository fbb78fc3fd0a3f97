// The autotuner's shipped defaults (used without tuning when the adapter key matches; stale entries
// fall back to the default variant) and the end-to-end validation of its picks (tuned step vs
// default step, interleaved, medians; picks dropped when they lose), timed with a fake clock.
import { describe, it, expect, afterEach } from 'vitest';
import { rand, scale, type Tensor } from '../src/runtime/index.js';
import { adapterSummary } from '../src/runtime/device.js';
import {
  registerTunable, autotune, validatePicks, withVariant, activeVariant, setTuneStore, getTuneStore, cacheKey,
  tunedChoice, setShippedDefaults, setOverride, MemoryTuneStore, stampChoice,
} from '../src/runtime/autotune.js';

// A fake tunable whose variants all compute 2x; the test's clock decides which one is "fast".
const knobs = { mode: 'a' as string };
const ran: string[] = [];
registerTunable({
  name: 'vfake',
  target: knobs,
  variants: [{ id: 'a', knobs: { mode: 'a' } }, { id: 'b', knobs: { mode: 'b' } }],
  shapeClasses: ['n1024'],
  workload() {
    const x = rand([1024], 3, -1, 1);
    return { run: () => op(x), dispose: () => x.dispose(), inner: 1 };
  },
});
function op(x: Tensor, cls = 'n1024'): Tensor {
  return withVariant('vfake', cls, () => {
    ran.push(knobs.mode);
    return scale(x, 2);
  });
}

/** A fake clock: each step advances it by the cost of the variants the step ran. */
function fakeClock(cost: Record<string, number>) {
  let t = 0;
  return {
    now: () => t,
    step: (x: Tensor) => () => {
      const start = ran.length;
      const y = op(x, 'n1024');
      for (const m of ran.slice(start)) t += cost[m]!;
      return y;
    },
  };
}

afterEach(() => {
  setShippedDefaults(null);
  setOverride('vfake', null);
  setTuneStore(new MemoryTuneStore());
  ran.length = 0;
});

describe('shipped defaults', () => {
  it('apply when the adapter key matches, lose to the cache, and ignore unknown variants and tunables', () => {
    const key = adapterSummary().key;
    setShippedDefaults({
      [key]: { 'vfake|n1024': stampChoice('vfake', 'b'), 'vfake|n2048': stampChoice('vfake', 'a').replace(/^a@/, 'gone@'), 'renamed-kernel|n1': 'x@00000000',
        'vfake|n512': 'b@00000000', 'vfake|n256': 'b' },
      'other adapter': { 'vfake|n4096': stampChoice('vfake', 'b') },
    });
    expect(tunedChoice('vfake', 'n1024')).toBe('b');
    expect(tunedChoice('vfake', 'n512')).toBeUndefined(); // made under another signature (the tunable changed since): default
    expect(tunedChoice('vfake', 'n256')).toBeUndefined(); // no signature (a table from before signatures)
    expect(activeVariant('vfake', 'n1024')).toBe('b');
    expect(tunedChoice('vfake', 'n2048')).toBeUndefined(); // variant no longer exists: default
    expect(activeVariant('vfake', 'n2048')).toBe('a');
    expect(tunedChoice('vfake', 'n4096')).toBeUndefined(); // another adapter's entry
    getTuneStore().set(cacheKey('vfake', 'n1024'), stampChoice('vfake', 'a'));
    expect(tunedChoice('vfake', 'n1024')).toBe('a'); // a local tune run wins
  });

  it('autotune() does not tune a class the shipped table covers (unless shipped: false)', async () => {
    setShippedDefaults({ [adapterSummary().key]: { 'vfake|n1024': stampChoice('vfake', 'b') } });
    const x = rand([1024], 1, -1, 1);
    try {
      const r = await autotune(() => op(x), { reps: 1, targetMs: 1, validate: false });
      expect(r.tuned).toEqual([]);
      expect(r.used).toEqual([{ name: 'vfake', shapeClass: 'n1024', variant: 'b' }]);
      const r2 = await autotune(() => op(x), { reps: 1, targetMs: 1, validate: false, shipped: false });
      expect(r2.tuned.map((t) => t.shapeClass)).toEqual(['n1024']);
    } finally {
      x.dispose();
    }
  });
});

describe('validatePicks', () => {
  it('keeps picks whose step is faster, interleaving default and tuned', async () => {
    const x = rand([1024], 2, -1, 1);
    try {
      getTuneStore().set(cacheKey('vfake', 'n1024'), stampChoice('vfake', 'b'));
      const clock = fakeClock({ a: 10, b: 5 });
      ran.length = 0;
      const v = await validatePicks(clock.step(x), [{ name: 'vfake', shapeClass: 'n1024' }], { rounds: 4, now: clock.now });
      expect(v.kept).toBe(true);
      expect(v.defaultMs).toBe(10);
      expect(v.tunedMs).toBe(5);
      expect(v.samples).toHaveLength(4);
      expect(v.wins).toBe(4);
      // one untimed pair first, then A B, B A, A B, B A: neither arm always runs second
      expect(ran).toEqual(['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
      expect(v.samples.every((p) => p.default === 10 && p.tuned === 5)).toBe(true);
      expect(tunedChoice('vfake', 'n1024')).toBe('b');
    } finally {
      x.dispose();
    }
  });

  it('drops picks whose step is slower or not faster by minGain (medians, so one outlier does not decide)', async () => {
    const x = rand([1024], 2, -1, 1);
    try {
      getTuneStore().set(cacheKey('vfake', 'n1024'), stampChoice('vfake', 'b'));
      // b is slower except in one outlier round where a stalls
      let i = 0;
      let t = 0;
      const step = () => {
        const start = ran.length;
        const y = op(x);
        for (const m of ran.slice(start)) { t += m === 'a' ? (i === 2 ? 100 : 10) : 12; if (m === 'a') i++; }
        return y;
      };
      const v = await validatePicks(step, [{ name: 'vfake', shapeClass: 'n1024' }], { rounds: 5, now: () => t });
      expect(v.kept).toBe(false);
      expect(v.defaultMs).toBe(10);
      expect(v.tunedMs).toBe(12);
      expect(v.dropped).toEqual([{ name: 'vfake', shapeClass: 'n1024', variant: 'b' }]);
      expect(getTuneStore().get(cacheKey('vfake', 'n1024'))).toBe(stampChoice('vfake', 'a')); // cached as default: not tuned again
      expect(activeVariant('vfake', 'n1024')).toBe('a');

      getTuneStore().set(cacheKey('vfake', 'n1024'), stampChoice('vfake', 'b'));
      const c = fakeClock({ a: 10, b: 9.9 }); // 1 % faster: inside minGain (2 %)
      const v2 = await validatePicks(c.step(x), [{ name: 'vfake', shapeClass: 'n1024' }], { now: c.now });
      expect(v2.kept).toBe(false);
    } finally {
      x.dispose();
    }
  });

  it('drops picks whose median gain comes from some pairs only: the tuned step must win 3 of every 4 pairs', async () => {
    const x = rand([1024], 2, -1, 1);
    try {
      // per timed round (after the untimed pair): default 10 throughout; tuned 5 in three rounds, 11 in two.
      // Medians say 10 vs 5 (50 % faster), but the tuned step won 3 pairs of 5 (< 4 = ceil(0.75 * 5)).
      const tunedCost = [5, 11, 5, 11, 5];
      const run = async (costs: number[]) => {
        setTuneStore(new MemoryTuneStore()); // a fresh cache: the tuned arm is b again
        getTuneStore().set(cacheKey('vfake', 'n1024'), stampChoice('vfake', 'b'));
        let t = 0, nb = 0;
        const step = () => {
          const start = ran.length;
          const y = op(x);
          for (const m of ran.slice(start)) t += m === 'a' ? 10 : (nb++ === 0 ? 10 : costs[nb - 2]!);
          return y;
        };
        return validatePicks(step, [{ name: 'vfake', shapeClass: 'n1024' }], { rounds: 5, now: () => t });
      };
      const v = await run(tunedCost);
      expect(v.tunedMs).toBe(5);
      expect(v.defaultMs).toBe(10);
      expect(v.wins).toBe(3);
      expect(v.kept).toBe(false);
      expect(activeVariant('vfake', 'n1024')).toBe('a');
      const v2 = await run([5, 11, 5, 5, 5]); // 4 of 5: kept
      expect(v2.wins).toBe(4);
      expect(v2.kept).toBe(true);
    } finally {
      x.dispose();
    }
  });
});
