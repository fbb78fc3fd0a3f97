// Node entry to WebGPU: Dawn through the npm package "webgpu".
// Dawn's create() result must stay referenced for the life of the process: if it is garbage
// collected, the process segfaults or deadlocks. It is held in a module variable and on globalThis.
import { initDevice, NoAdapterError } from '../runtime/device.js';
import { getEngine } from '../runtime/engine.js';
import { useNodeTuneCache } from './tune-cache.js';

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
  }
  const device = await initDevice({ gpu: dawnGPU });
  // Plain awaiting is the default: measured 2026-12-02 (EdgeFace-XXS, batch 32) it gave 72-75 img/s
  // forward and 25-26 img/s training in every run, where sleeping through the estimated time first
  // (engine.ts waitFor) swung 22-98 / 13-28 between identical runs. LRFR_POLL=sleep opts back in.
  getEngine().pollStrategy = process.env.LRFR_POLL === 'sleep' ? 'sleep-then-await' : 'await';
  // The autotuner's per-adapter choices (a JSON file; LRFR_TUNE_CACHE=off keeps them in memory).
  if (!tuneCacheInstalled) {
    useNodeTuneCache();
    tuneCacheInstalled = true;
  }
  return device;
}
