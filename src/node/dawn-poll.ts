// Dawn's Node binding (dawn.node) resolves its promises (onSubmittedWorkDone, mapAsync, popErrorScope)
// by calling instance.ProcessEvents() from a setImmediate callback that re-schedules itself while
// any promise is pending (dawn/node/binding/AsyncRunner.cpp looks up the global setImmediate each
// time). So every await on the GPU busy-spins the main thread. With a software adapter (lavapipe)
// that thread competes with the driver's workers for the same cores: on this 2-core machine a
// 1568x352x88 matmul took 4.4-4.8 ms awaited with the spin and 2.4 ms with the ticks throttled, the
// main thread using 0.05 s of CPU instead of 0.7-0.8 s over 200 products (2026-12-05).
//
// throttleDawnPolling() wraps the global setImmediate: a callback that is a native function (Dawn's
// tick; JavaScript callers pass JavaScript functions) runs immediately for the first BURST_MS of a
// wait, so short waits stay short, then once per millisecond through setTimeout. Everything else
// passes through untouched. LRFR_POLL=spin keeps Dawn's own busy loop.

const BURST_MS = 0.5;
/** Ticks further apart than this start a new wait. */
const GAP_MS = 2;

let installed = false;

function isNativeFunction(f: unknown): boolean {
  if (typeof f !== 'function') return false;
  try {
    return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(f));
  } catch {
    return false;
  }
}

type Schedule = (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

/** Marks the installed wrapper (globalThis.setImmediate[DAWN_POLL_MARK] === true). */
export const DAWN_POLL_MARK = Symbol.for('lrfr.dawnPollThrottle');

/**
 * The wrapper: native callbacks go to `immediate` for the first BURST_MS of a burst (ticks closer
 * than GAP_MS apart), then to `timer` with a 1 ms delay; other callbacks always to `immediate`.
 */
export function throttledSetImmediate(immediate: Schedule, timer: (fn: (...args: unknown[]) => void, ms: number, ...args: unknown[]) => unknown,
  now: () => number = () => performance.now()): Schedule {
  let burstStart = -Infinity;
  let lastTick = -Infinity;
  return function setImmediate(fn, ...args) {
    if (!isNativeFunction(fn)) return immediate(fn, ...args);
    const t = now();
    if (t - lastTick > GAP_MS) burstStart = t;
    lastTick = t;
    if (t - burstStart < BURST_MS) return immediate(fn, ...args);
    return timer(fn, 1, ...args);
  };
}

/** Idempotent; a no-op with LRFR_POLL=spin. Returns whether the throttle is in place. */
export function throttleDawnPolling(): boolean {
  if (installed) return true;
  if (process.env.LRFR_POLL === 'spin') return false;
  const original = globalThis.setImmediate;
  const wrapped = throttledSetImmediate(original as unknown as Schedule, setTimeout as unknown as Parameters<typeof throttledSetImmediate>[1]);
  // setImmediate.__promisify__ and friends stay reachable.
  Object.assign(wrapped, original, { [DAWN_POLL_MARK]: true });
  globalThis.setImmediate = wrapped as unknown as typeof globalThis.setImmediate;
  installed = true;
  return true;
}
