// Quiet output: Dawn's per-run adapter limit notes are filtered from what initNodeGPU writes back to
// stderr, everything else is kept, and verbose mode keeps all of it.
import { describe, it, expect } from 'vitest';
import { filterDawnOutput } from '../src/node/gpu.js';
import { filterWrites } from '../src/node/dawn-output.js';

const NOTE1 = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';
const NOTE2 = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';

describe('filterDawnOutput', () => {
  it('drops only the known limit notes', () => {
    const real = 'Error: vkCreateDevice failed with VK_ERROR_INITIALIZATION_FAILED\n';
    expect(filterDawnOutput(NOTE1 + real + NOTE2, false)).toBe(real);
    expect(filterDawnOutput(NOTE1 + NOTE2, false)).toBe('');
    expect(filterDawnOutput('Warning: maxBindGroups reduced for another reason\n', false)).toBe('Warning: maxBindGroups reduced for another reason\n');
    expect(filterDawnOutput('tail without newline', false)).toBe('tail without newline');
  });

  it('keeps everything in verbose mode', () => {
    expect(filterDawnOutput(NOTE1 + NOTE2, true)).toBe(NOTE1 + NOTE2);
  });
});

describe('filterWrites', () => {
  function sink() {
    const got: string[] = [];
    const s = { write: (chunk: unknown, ...rest: unknown[]) => { got.push(String(chunk)); const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined; cb?.(); return true; } };
    return { got, s };
  }

  it('drops the notes from what is written through the stream, keeps the rest, and still calls back', async () => {
    const { got, s } = sink();
    filterWrites(s as unknown as Parameters<typeof filterWrites>[0], false);
    s.write('test output\n');
    s.write(Buffer.from(NOTE1 + NOTE2));
    s.write(NOTE1 + 'Error: real\n');
    let called = false;
    s.write(NOTE2, () => { called = true; });
    await Promise.resolve();
    expect(got).toEqual(['test output\n', 'Error: real\n']);
    expect(called).toBe(true);
  });
});
