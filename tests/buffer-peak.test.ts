// The buffer pool's peak counter (peakBytesInUse, resetPeak), which bench:models reports as the peak
// GPU bytes of a training step. A fake device stands in for the GPU: only createBuffer and limits.
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/runtime/buffers.js';

function fakeDevice(): GPUDevice {
  return {
    limits: { maxBufferSize: 1 << 30 },
    createBuffer: ({ size }: { size: number }) => ({ size, destroy: () => undefined }),
  } as unknown as GPUDevice;
}

describe('BufferPool peak bytes in use', () => {
  it('tracks the highest bytesInUse, reuse included, and restarts at the current use on resetPeak', () => {
    const pool = new BufferPool(fakeDevice());
    const a = pool.acquire(100); // rounded to 112
    const b = pool.acquire(1000);
    expect(pool.getStats().peakBytesInUse).toBe(112 + 1008);
    pool.release(b);
    expect(pool.getStats().bytesInUse).toBe(112);
    expect(pool.getStats().peakBytesInUse).toBe(1120);
    pool.resetPeak();
    expect(pool.getStats().peakBytesInUse).toBe(112);
    const c = pool.acquire(1000); // reused from the free list: still counts as in use
    expect(pool.getStats().peakBytesInUse).toBe(1120);
    pool.release(c);
    pool.release(a);
    pool.trim();
    expect(pool.getStats()).toMatchObject({ bytesInUse: 0, bytesAllocated: 0, peakBytesInUse: 1120 });
  });
});
