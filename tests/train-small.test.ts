// The whole stack trains: a small conv + GELU + LayerNorm2d + linear + ArcFace network on a fixed
// synthetic 4-class task (src/train/small-net.ts), 200 AdamW steps of batch 16.
import { describe, it, expect } from 'vitest';
import { trainSmallNet } from '../src/train/small-net.js';
import { getEngine } from '../src/runtime/index.js';

describe('small network', () => {
  it('loss falls below the threshold in 200 steps and memory stays flat', async () => {
    const s0 = { ...getEngine().stats };
    const { losses, bytesAllocatedAt } = await trainSmallNet(200, 16, 1, [10, 200]);
    const s1 = getEngine().stats;
    // One await per step (the loss), and the step is recorded into few submits.
    expect(s1.readbacks - s0.readbacks).toBe(200);
    expect((s1.submits - s0.submits) / 200).toBeLessThanOrEqual(3);
    const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const last = losses.slice(-20).reduce((a, b) => a + b) / 20;
    // Threshold: the mean loss of the last 20 steps below 0.1 (measured here: the first 10 average
    // about 3, the last 20 about 0.001).
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(0.1);
    // A warm training step allocates nothing: the pool's total after step 10 equals that after step 200.
    expect(bytesAllocatedAt.get(200)).toBe(bytesAllocatedAt.get(10));
  });

  it('the same seed gives the same losses', async () => {
    const a = await trainSmallNet(5, 8, 3);
    const b = await trainSmallNet(5, 8, 3);
    expect(a.losses).toEqual(b.losses);
  });
});
