// bench/lib/cpu-share.ts: a benchmark's note that other processes used the CPU.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sampleCpu, otherShare, disturbedNote, type CpuSample } from '../bench/lib/cpu-share.js';

const s = (busy: number, total: number, ours: number): CpuSample => ({ busy, total, ours });

describe('cpu share of other processes', () => {
  it('is the busy time not ours over the elapsed capacity', () => {
    expect(otherShare(s(100, 1000, 50), s(700, 2000, 550))).toBeCloseTo(0.1, 12); // 600 busy, 500 ours, 1000 total
    expect(otherShare(s(0, 0, 0), s(500, 1000, 520))).toBe(0); // ours read a little after /proc/stat: never negative
    expect(otherShare(s(0, 10, 0), s(0, 10, 0))).toBe(0);
    expect(disturbedNote(s(0, 0, 0), s(300, 1000, 260), 0.05)).toBeNull(); // 4 %
    expect(disturbedNote(s(0, 0, 0), s(300, 1000, 200), 0.05)).toMatch(/other processes used 10 % of the CPU/);
    expect(disturbedNote(null, s(1, 1, 1))).toBeNull();
  });

  it.runIf(process.platform === 'linux')('counts a busy child as ours only when it is named', async () => {
    // The child spins ~0.8 s of CPU, says so, then waits (alive, not reaped) until its stdin closes.
    const child = spawn(process.execPath, ['-e', "const t=Date.now();while(Date.now()-t<800);process.stdout.write('done\\n');process.stdin.resume()"], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const named0 = sampleCpu([child.pid])!, plain0 = sampleCpu()!;
      await once(child.stdout, 'data');
      const named1 = sampleCpu([child.pid])!, plain1 = sampleCpu()!;
      expect(named1.busy).toBeLessThanOrEqual(named1.total);
      // The child's ticks (USER_HZ 100: 0.8 s = 80) are in the named samples only.
      const childTicks = (named1.ours - named0.ours) - (plain1.ours - plain0.ours);
      expect(childTicks).toBeGreaterThanOrEqual(40);
      expect(otherShare(plain0, plain1)).toBeGreaterThan(otherShare(named0, named1));
    } finally {
      child.stdin.end();
      await once(child, 'exit');
    }
  });
});
