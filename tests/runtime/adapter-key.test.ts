// The per-adapter cache key (src/runtime/device.ts adapterKey): a CPU adapter's key names the host's
// processor (the autotuner's winners and the shipped table differ between an AMD EPYC and an Intel Xeon
// running the same lavapipe), a GPU's does not; and the device this process runs on got it.
import { describe, it, expect } from 'vitest';
import { cpus } from 'node:os';
import { adapterKey, isCpuAdapter, adapterSummary } from '../../src/runtime/device.js';

const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', isFallbackAdapter: true };
const swiftshader = { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)' };
const gpu = { vendor: 'nvidia', architecture: 'hopper', device: '0x2330', description: 'NVIDIA H100', isFallbackAdapter: false };

describe('adapterKey', () => {
  it('appends the host processor for CPU adapters only', () => {
    expect(isCpuAdapter(lavapipe)).toBe(true);
    expect(isCpuAdapter({ ...lavapipe, isFallbackAdapter: undefined })).toBe(true); // by architecture
    expect(isCpuAdapter(swiftshader)).toBe(true); // by name
    expect(isCpuAdapter(gpu)).toBe(false);
    expect(isCpuAdapter({ vendor: 'microsoft', architecture: '', device: '', description: 'Microsoft Basic Render Driver' })).toBe(true);
    expect(isCpuAdapter({ ...gpu, description: 'NVIDIA GeForce RTX 4090 (warp-aware)' })).toBe(false);
    expect(adapterKey(lavapipe, 'AMD EPYC')).toBe('mesa/software/llvmpipe-llvm-15-0-6-256-bits-/llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) on AMD EPYC');
    expect(adapterKey(lavapipe, '  Intel(R) Xeon(R)   Processor @ 2.80GHz ')).toBe('mesa/software/llvmpipe-llvm-15-0-6-256-bits-/llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) on Intel(R) Xeon(R) Processor @ 2.80GHz');
    expect(adapterKey(gpu, 'AMD EPYC')).toBe('nvidia/hopper/0x2330/NVIDIA H100');
  });

  it('is the plain name where the host is unknown (a browser page), and never holds the cache separator', () => {
    expect(adapterKey(swiftshader)).toBe('google/swiftshader//SwiftShader Device (Subzero)');
    expect(adapterKey(swiftshader, '')).toBe('google/swiftshader//SwiftShader Device (Subzero)');
    expect(adapterKey(lavapipe, 'odd|cpu')).not.toContain('|');
  });

  it("is this process's key: Node passes os.cpus()[0].model", () => {
    const s = adapterSummary();
    expect(s.key).toBe(adapterKey(s, cpus()[0]?.model));
  });
});
