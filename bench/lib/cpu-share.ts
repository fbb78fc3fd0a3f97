// Whether a benchmark had the CPU to itself: the CPU time the whole machine spent busy during the
// run (/proc/stat) minus what this process, its reaped children and the still-running children it
// names (the torch peer) spent (/proc/<pid>/stat). Load averages cannot tell: at the end they
// include the benchmark's own threads. Linux only; elsewhere the sample is null and nothing is said.
import { readFileSync } from 'node:fs';

export interface CpuSample {
  /** Busy ticks of all CPUs together (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** All ticks of all CPUs together, idle and iowait included (the elapsed CPU capacity). */
  total: number;
  /** Ticks of this process (threads included), its reaped children and the named live children. */
  ours: number;
}

/** utime + stime + cutime + cstime of a process, in ticks (fields 14–17 of /proc/<pid>/stat). */
function processTicks(pid: number | 'self'): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from 3 on (the name may hold spaces)
  return [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0);
}

export function sampleCpu(liveChildren: (number | undefined)[] = []): CpuSample | null {
  if (process.platform !== 'linux') return null;
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
    if (!line) return null;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
    let ours = processTicks('self');
    for (const pid of liveChildren) {
      if (pid === undefined) continue;
      try {
        ours += processTicks(pid);
      } catch {
        // exited and reaped between the samples: its time is in our cutime now
      }
    }
    const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    return { busy, total: busy + idle! + iowait!, ours };
  } catch {
    return null;
  }
}

/** Share of the machine's CPU capacity between two samples that other processes used (0..1). */
export function otherShare(a: CpuSample, b: CpuSample): number {
  const total = b.total - a.total;
  if (!(total > 0)) return 0;
  return Math.max(0, (b.busy - a.busy) - (b.ours - a.ours)) / total;
}

/** The note a report prints when others used more than `limit` of the CPU during the run, else null. */
export function disturbedNote(a: CpuSample | null, b: CpuSample | null, limit = 0.05): string | null {
  if (!a || !b) return null;
  const share = otherShare(a, b);
  return share > limit
    ? `other processes used ${(share * 100).toFixed(0)} % of the CPU capacity during the run (/proc/stat less this process and its children): timings are disturbed.`
    : null;
}
