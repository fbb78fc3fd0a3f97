// src/node/dawn-poll.ts: Dawn's ProcessEvents tick (a native callback handed to the global
// setImmediate) runs at once at the start of a wait, then goes through 1 ms timers; JavaScript
// callbacks are untouched; GPU waits still resolve with the wrapper installed.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import { DAWN_POLL_MARK, throttledSetImmediate } from '../../src/node/dawn-poll.js';

describe('Dawn poll throttle (Node)', () => {
  it('routes native callbacks: immediate for 0.5 ms of a burst, then 1 ms timers; a 2 ms gap starts a new burst', () => {
    let t = 100;
    const log: string[] = [];
    const wrap = throttledSetImmediate(
      (fn) => { log.push(`immediate ${fn === js ? 'js' : 'native'}`); },
      (_fn, ms) => { log.push(`timer ${ms}`); },
      () => t,
    );
    const native = Array.prototype.push.bind([], 1) as () => void; // a native function, like Dawn's tick
    const js = () => {};
    wrap(native); // t 100: a burst starts
    t = 100.3; wrap(native); // 0.3 ms in: still immediate
    t = 100.6; wrap(native); // 0.6 ms in: timer
    wrap(js); // JavaScript: never deferred
    t = 101.5; wrap(native); // 0.9 ms after the last tick: same burst, timer
    t = 104; wrap(native); // 2.5 ms gap: a new burst, immediate
    expect(log).toEqual(['immediate native', 'immediate native', 'timer 1', 'immediate js', 'timer 1', 'immediate native']);
  });

  it.runIf(process.env.LRFR_POLL !== 'spin')('is installed by initNodeGPU (tests/setup.ts), and GPU waits resolve through it', async () => {
    expect((globalThis.setImmediate as unknown as Record<symbol, unknown>)[DAWN_POLL_MARK]).toBe(true);
    const x = L.rand([256, 256], 1);
    const y = L.matmul(x, x);
    await L.getEngine().sync();
    const d = await y.data();
    expect(d.length).toBe(256 * 256);
    expect(Number.isFinite(d[0]!)).toBe(true);
    L.dispose([x, y]);
  });
});
