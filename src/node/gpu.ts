// Node entry to WebGPU: Dawn through the npm package "webgpu".
// Dawn's create() result must stay referenced for the life of the process: if it is garbage
// collected, the process segfaults or deadlocks. It is held in a module variable and on globalThis.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDevice, NoAdapterError } from '../runtime/device.js';
import { getEngine } from '../runtime/engine.js';
import { tunePrimer } from '../runtime/autotune.js';
import { useNodeTuneCache } from './tune-cache.js';
import { throttleDawnPolling } from './dawn-poll.js';
import { hostProcessor } from './host.js';
import { filterDawnOutput, verbose } from './dawn-output.js';

export { BENIGN_DAWN_LINES, filterDawnOutput, verbose } from './dawn-output.js';

let dawnGPU: GPU | null = null;
let tuneCacheInstalled = false;

export async function initNodeGPU(flags: string[] = []): Promise<GPUDevice> {
  if (!dawnGPU) {
    let mod: { create: (f: string[]) => GPU; globals: object };
    try {
      mod = (await import('webgpu')) as unknown as typeof mod;
    } catch (e) {
      throw new NoAdapterError(`cannot load the npm package "webgpu" (Dawn): ${(e as Error).message}`);
    }
    Object.assign(globalThis, mod.globals);
    // Dawn quantizes timestamp queries (a browser anti-fingerprinting measure) to 65.5 us by
    // default, which zeroes most kernels in a profile (engine.startProfile): off in Node.
    dawnGPU = mod.create(flags.some((f) => f.startsWith('disable-dawn-features=')) ? flags : ['disable-dawn-features=timestamp_quantization', ...flags]);
    (globalThis as Record<string, unknown>).__lrfrDawnGPU = dawnGPU;
    // Dawn prints adapter notes natively (fprintf to fd 2) the first time an instance enumerates
    // its adapters, e.g. on lavapipe "Warning: maxDynamicUniformBuffersPerPipelineLayout
    // artificially reduced from 1000000 to 16 ..." on every run. No create() option, toggle or
    // log callback of the `webgpu` package (0.6.2) reaches that path, so the first enumeration runs
    // with fd 2 pointed at a temp file; afterwards every captured line is written back to stderr
    // except the known harmless ones (BENIGN_DAWN_LINES), and all of them with LRFR_VERBOSE=1 /
    // `lrfr --verbose`. Real errors are never dropped.
    const gpu = dawnGPU;
    await withNativeStderrFiltered(() => gpu.requestAdapter({ powerPreference: 'high-performance' }));
  }
  // Dawn busy-spins the main thread while a GPU promise is pending; throttled here so that lavapipe's
  // workers get the cores (src/node/dawn-poll.ts; LRFR_POLL=spin keeps the spin).
  throttleDawnPolling();
  // The processor goes into a CPU adapter's cache key (device.ts adapterKey): lavapipe's name does not say it.
  const device = await initDevice({ gpu: dawnGPU, host: hostProcessor() });
  // Plain awaiting is the default: measured 2026-12-02 (EdgeFace-XXS, batch 32) it gave 72-75 img/s
  // forward and 25-26 img/s training in every run, where sleeping through the estimated time first
  // (engine.ts waitFor) swung 22-98 / 13-28 between identical runs. LRFR_POLL=sleep opts back in.
  getEngine().pollStrategy = process.env.LRFR_POLL === 'sleep' ? 'sleep-then-await' : 'await';
  // The autotuner's per-adapter choices (a JSON file; LRFR_TUNE_CACHE=off keeps them in memory).
  if (!tuneCacheInstalled) {
    useNodeTuneCache();
    // the autotuner compiles the variants it is about to time on every core first (src/node/prime.ts)
    const { primeSpecs, stderrLine } = await import('./prime.js');
    tunePrimer.fn = (specs) => primeSpecs(specs, { what: 'lrfr autotune', log: stderrLine });
    tuneCacheInstalled = true;
  }
  return device;
}

/** Whether fd was opened O_APPEND (/proc/self/fdinfo: then a reopened 'a' description writes where it would). */
function appendOnly(fd: number): boolean {
  try {
    const m = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m !== null && (parseInt(m[1]!, 8) & 0o2000) !== 0;
  } catch {
    return false;
  }
}

/**
 * Runs fn with the process's fd 2 pointed at a temp file (native code's fprintf(stderr) lands
 * there), restores fd 2, and writes the captured text back through filterDawnOutput. Only where
 * it is safe: Linux, stderr a terminal, pipe or /dev/null (reopened through /proc/self/fd; a regular
 * file is left alone, since a reopened description would not share the offset stdout may share
 * with it, unless opened O_APPEND; a socket, as in vitest's fork workers, cannot be reopened at all:
 * vitest.config.ts filters the copy instead), and not in verbose mode; anywhere else fn just runs.
 */
export async function withNativeStderrFiltered<T>(fn: () => Promise<T>): Promise<T> {
  if (process.platform !== 'linux' || verbose()) return fn();
  let saved = -1;
  try {
    const st = fs.fstatSync(2);
    if (!(st.isCharacterDevice() || st.isFIFO() || (st.isFile() && appendOnly(2)))) return fn();
    saved = fs.openSync('/proc/self/fd/2', 'a');
  } catch {
    return fn();
  }
  const tmp = join(tmpdir(), `lrfr-dawn-stderr-${process.pid}-${Date.now()}.log`);
  let captured = false;
  try {
    fs.closeSync(2);
    const fd = fs.openSync(tmp, 'w+');
    captured = fd === 2;
    if (!captured) {
      // fd 2 was not the lowest free descriptor: put stderr back where it was and run plainly.
      fs.closeSync(fd);
      fs.openSync(`/proc/self/fd/${saved}`, 'a');
    }
  } catch {
    // could not redirect: make sure fd 2 is the original stderr again
    try { fs.fstatSync(2); } catch { fs.openSync(`/proc/self/fd/${saved}`, 'a'); }
  }
  if (!captured) {
    fs.closeSync(saved);
    try { fs.unlinkSync(tmp); } catch { /* not created */ }
    return fn();
  }
  try {
    return await fn();
  } finally {
    fs.closeSync(2);
    fs.openSync(`/proc/self/fd/${saved}`, 'a'); // the lowest free descriptor: 2 again
    fs.closeSync(saved);
    let text = '';
    try {
      text = fs.readFileSync(tmp, 'utf8');
      fs.unlinkSync(tmp);
    } catch { /* nothing captured */ }
    const shown = filterDawnOutput(text);
    if (shown) process.stderr.write(shown);
  }
}
