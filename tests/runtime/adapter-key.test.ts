// The per-adapter cache key (src/runtime/device.ts adapterKey): a CPU adapter's key names the host's
// processor (the autotuner's winners and the shipped table differ between an AMD EPYC and an Intel Xeon
// running the same lavapipe, and between two AMD EPYC generations), a GPU's does not; and the device
// this process runs on got it.
import { describe, it, expect } from 'vitest';
import { adapterKey, isCpuAdapter, adapterSummary } from '../../src/runtime/device.js';
import { describeProcessor, hostProcessor } from '../../src/node/host.js';

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

  it("is this process's key: Node passes hostProcessor()", () => {
    const s = adapterSummary();
    expect(s.key).toBe(adapterKey(s, hostProcessor()));
  });
});

// /proc/cpuinfo's first processor of a KVM guest on each host (fields trimmed to those read and a few
// around them); two generations of AMD server both call themselves "AMD EPYC".
const zen4 = 'processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512dq avx512vl\n\nprocessor\t: 1\ncpu family\t: 99\n';
const zen3 = 'processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n';

describe('describeProcessor', () => {
  it('tells two processors with one model string apart by family, model and AVX-512', () => {
    expect(describeProcessor('AMD EPYC', zen4)).toBe('AMD EPYC (family 25 model 17, AVX-512)');
    expect(describeProcessor('AMD EPYC', zen3)).toBe('AMD EPYC (family 25 model 1)');
    expect(adapterKey(lavapipe, describeProcessor('AMD EPYC', zen4))).not.toBe(adapterKey(lavapipe, describeProcessor('AMD EPYC', zen3)));
  });

  it('is the model string alone without a readable cpuinfo or its fields', () => {
    expect(describeProcessor('AMD EPYC', null)).toBe('AMD EPYC');
    expect(describeProcessor('Apple M2', 'processor\t: 0\nBogoMIPS\t: 48.00\n')).toBe('Apple M2');
    expect(describeProcessor('X', 'cpu family\t: 6\nmodel\t\t: abc\n')).toBe('X');
  });

  it("does not take a flag's prefix for AVX-512F (avx512fp16 alone is not avx512f)", () => {
    expect(describeProcessor('X', 'cpu family\t: 6\nmodel\t\t: 143\nflags\t\t: avx2 avx512fp16\n')).toBe('X (family 6 model 143)');
  });
});
