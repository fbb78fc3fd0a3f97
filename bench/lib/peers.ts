// The peers we time against: tfjs on its CPU backend (correctness reference only), on WebGPU (the
// same Dawn GPU object, hence the same adapter, as lrfr) and on WASM (one thread, SIMD).
// tfjs is never lrfr's compute path; it only lives in tests and benchmarks.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export { tf };

export type PeerName = 'cpu' | 'webgpu' | 'wasm';

export interface PeerStatus {
  webgpu: string | null; // null when ready, else why not
  wasm: string | null;
  webgpuAdapter?: string;
  wasmSimd?: boolean;
  wasmThreads?: number;
}

/** Minimal view of tfjs-webgpu's backend internals used to wait for completion without a readback. */
interface WebGPUBackendLike {
  device: GPUDevice;
  queue?: GPUQueue;
  commandEncoder: GPUCommandEncoder | null;
  ensureCommandEncoderReady?: () => void;
  endComputePassEncoder?: () => void;
  submitQueue?: () => void;
  adapterInfo?: { vendor?: string; architecture?: string; description?: string };
}

/**
 * Registers tfjs-webgpu on Dawn and tfjs-wasm; call after initNodeGPU(). tfjs-webgpu registers its
 * backend at import time only when navigator.gpu exists, so navigator is set before importing it.
 */
export async function initPeers(): Promise<PeerStatus> {
  const status: PeerStatus = { webgpu: null, wasm: null };
  const g = globalThis as Record<string, unknown>;
  const dawn = g.__lrfrDawnGPU as GPU | undefined;
  // tfjs-core's logging is noisy about backends it cannot use; keep it quiet.
  tf.env().set('PROD', true);
  if (!dawn) status.webgpu = 'no Dawn GPU object on globalThis.__lrfrDawnGPU (initNodeGPU not called?)';
  else {
    try {
      const nav = (g.navigator ?? {}) as Record<string, unknown>;
      if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
      if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: dawn, configurable: true });
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!tf.findBackendFactory('webgpu')) throw new Error('tfjs-backend-webgpu did not register (navigator.gpu missing at import)');
      if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') throw new Error(`tf.setBackend('webgpu') failed (backend is ${tf.getBackend()})`);
      const info = (tf.backend() as unknown as WebGPUBackendLike).adapterInfo;
      status.webgpuAdapter = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') : 'unknown';
    } catch (e) {
      status.webgpu = (e as Error).message;
    }
  }
  try {
    const wasmMod = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasmMod.setWasmPaths(join(dist, '/')); // a folder ending in '/': emscripten appends the file name
    // tfjs-wasm never uses threads in Node (WASM_HAS_MULTITHREAD_SUPPORT is false there); set it anyway.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmMod.setThreadsCount(1);
    if (!(await tf.setBackend('wasm')) || tf.getBackend() !== 'wasm') throw new Error(`tf.setBackend('wasm') failed (backend is ${tf.getBackend()})`);
    status.wasmSimd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    status.wasmThreads = wasmMod.getThreadsCount();
  } catch (e) {
    status.wasm = (e as Error).message ?? String(e);
  }
  await tf.setBackend('cpu');
  return status;
}

/** Switches tfjs to a backend and checks it took. */
export async function useBackend(name: PeerName): Promise<void> {
  await tf.setBackend(name);
  if (tf.getBackend() !== name) throw new Error(`tfjs: wanted backend ${name}, running on ${tf.getBackend()}`);
}

/**
 * Waits until everything tfjs has queued on the current backend has finished. On webgpu: submit
 * tfjs's open command encoder and await the queue (the same wait lrfr's engine.sync() does; no
 * readback, never dataSync). Falls back to reading `last` back. On wasm/cpu the ops already ran.
 */
export async function tfFinish(last: tf.Tensor | null): Promise<void> {
  if (tf.getBackend() === 'webgpu') {
    const be = tf.backend() as unknown as WebGPUBackendLike;
    if (be.submitQueue && be.endComputePassEncoder && be.ensureCommandEncoderReady) {
      be.ensureCommandEncoderReady();
      be.endComputePassEncoder();
      be.submitQueue();
      await (be.queue ?? be.device.queue).onSubmittedWorkDone();
      return;
    }
    if (last) await last.data();
  }
  // wasm and cpu kernels run synchronously inside the op call: nothing is pending.
}
