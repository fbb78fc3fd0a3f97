// Result table: stdout, bench/results/<adapter>-<date>.json and .md.
import { writeResultFiles } from './result-files.js';
import type { TimingResult } from './timing.js';
import { otherShare, disturbedNote, type CpuSample } from './cpu-share.js';
import type { MachineInfo } from './machine.js';

export type CaseStatus = 'ok' | 'FAIL' | 'ERROR' | 'n/a';

export interface CaseResult {
  name: string;
  what: string;
  status: CaseStatus;
  /** Why not ok (missing ops, error message, tolerance exceeded). */
  detail?: string;
  unit: 'GFLOP/s' | 'GB/s';
  work: number;
  formula: string;
  tol: number;
  maxAbsDiff?: number;
  note?: string;
  ours?: TimingResult;
  webgpu?: TimingResult;
  wasm?: TimingResult;
  /** The kernel variants our run used, per tunable and shape class (autotuned on this adapter). */
  variants?: { name: string; shapeClass: string; variant: string }[];
}

/** Records in info what other processes used of the CPU between two samples, and the note when it disturbed the run. */
export function recordCpuShare(info: RunInfo, start: CpuSample | null, end: CpuSample | null): void {
  if (start && end) info.machine.otherCpuShare = otherShare(start, end);
  const note = disturbedNote(start, end);
  if (note) info.disturbed = note;
}

/** ", other processes used X % of the CPU during the run" when it was measured (bench/lib/cpu-share.ts). */
export function cpuShareText(info: RunInfo): string {
  const s = info.machine.otherCpuShare;
  return s === undefined ? '' : `; other processes used ${(s * 100).toFixed(1)} % of the CPU during the run`;
}

export interface RunInfo {
  date: string;
  machine: MachineInfo;
  node: string;
  adapter: Record<string, unknown>;
  adapterKey: string;
  peers: Record<string, unknown>;
  timing: Record<string, unknown>;
  /** The adapter's measured peak (bench/lib/peak.ts), the denominator of "% of peak". */
  peakGflops?: number;
  peak?: { gflops: number; ms: number; invocations: number; iters: number; variant: Record<string, number> };
  disturbed?: string;
}

const ms = (t?: TimingResult): string => (!t ? '—' : t.error ? 'error' : t.msMedian < 1 ? t.msMedian.toFixed(3) : t.msMedian.toFixed(2));
const speedup = (ours?: TimingResult, peer?: TimingResult): string => {
  if (!ours || !peer || ours.error || peer.error || !(ours.msMedian > 0)) return '—';
  return `${(peer.msMedian / ours.msMedian).toFixed(2)}×`;
};
const rate = (c: CaseResult): string => {
  if (!c.ours || c.ours.error || !(c.ours.msMedian > 0)) return '—';
  const v = c.work / (c.ours.msMedian * 1e-3) / 1e9;
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)}${c.unit === 'GB/s' ? ' GB/s' : ''}`;
};
const ofPeak = (c: CaseResult, peak?: number): string => {
  if (c.unit !== 'GFLOP/s' || !peak || !(peak > 0) || !c.ours || c.ours.error || !(c.ours.msMedian > 0)) return '—';
  const p = (100 * c.work) / (c.ours.msMedian * 1e-3) / 1e9 / peak;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
};
const correctness = (c: CaseResult): string => {
  if (c.status === 'n/a') return c.detail ?? 'op not available yet';
  if (c.status === 'ERROR') return `ERROR: ${c.detail ?? ''}`;
  const d = c.maxAbsDiff === undefined ? '?' : c.maxAbsDiff.toExponential(1);
  return `${c.status === 'ok' ? 'ok' : 'FAIL'} ${d} (tol ${c.tol === 0 ? '0' : c.tol.toExponential(0)})`;
};

export const HEADER = ['case', 'ours ms', 'GFLOP/s', '% of peak', 'tfjs-webgpu ms', 'tfjs-wasm ms', 'speedup vs webgpu', 'speedup vs wasm', 'variant (autotuned)', 'correctness (max abs diff)'];

/** "matmul 16x16" / "conv default, conv-dgrad px8" (distinct tunable → variant pairs of a case). */
export const variantText = (c: { variants?: { name: string; variant: string }[] }): string => {
  if (!c.variants?.length) return '—';
  return [...new Set(c.variants.map((v) => `${v.name} ${v.variant}`))].join(', ');
};

/** Table rows; `peak` (GFLOP/s) fills "% of peak" for FLOP-counted cases. */
export function rows(results: CaseResult[], peak?: number): string[][] {
  return results.map((c) => [c.name, ms(c.ours), rate(c), ofPeak(c, peak), ms(c.webgpu), ms(c.wasm), speedup(c.ours, c.webgpu), speedup(c.ours, c.wasm), variantText(c), correctness(c)]);
}

export function textTable(results: CaseResult[], peak?: number): string {
  const all = [HEADER, ...rows(results, peak)];
  const w = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 || i === r.length - 1 ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join('  ');
  return [line(HEADER), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdown(results: CaseResult[], info: RunInfo): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  out.push(`Kernel benchmark — ${info.date}, ${esc(info.adapterKey)}`);
  out.push('');
  out.push(`Machine: ${info.machine.cpu}, ${info.machine.cores} cores, ${info.machine.os}; Node ${info.node}; adapter ${esc(String(info.adapter.description || info.adapter.device || info.adapterKey))}.`);
  const la = info.machine.loadavgStart;
  out.push(`Load average at start: ${la.map((v) => v.toFixed(2)).join(', ')} (1/5/15 min)${cpuShareText(info)}.`);
  if (info.disturbed) out.push(`\n**Note:** ${info.disturbed}`);
  out.push('');
  out.push(`| ${HEADER.join(' | ')} |`);
  out.push(`|${HEADER.map((_, i) => (i === 0 || i === HEADER.length - 1 ? '---' : '---:')).join('|')}|`);
  for (const r of rows(results, info.peakGflops)) out.push(`| ${r.map(esc).join(' | ')} |`);
  out.push('');
  out.push('ms = median time per launch (each timed iteration records K launches and awaits once; K per implementation in the JSON). Speedup = their ms / our ms. Correctness: max |ours − tfjs CPU| on the same seeded inputs.');
  out.push('');
  out.push(info.peakGflops
    ? `% of peak = our GFLOP/s / the adapter's measured peak, ${info.peakGflops.toFixed(1)} GFLOP/s (shaders/peak_fma.wgsl: independent vec4 FMA chains, 8 FLOPs per vec4 fma, best launch over a few accumulator/workgroup variants; bench/lib/peak.ts). Not given for GB/s cases.`
    : '% of peak: the peak measurement failed or was skipped.');
  out.push('');
  out.push('| case | shapes | work per launch |');
  out.push('|---|---|---|');
  for (const c of results) out.push(`| ${esc(c.name)} | ${esc(c.what)} | ${esc(c.formula)} |`);
  const notes = results.filter((c) => c.note);
  if (notes.length) {
    out.push('');
    for (const c of notes) out.push(`- ${esc(c.name)}: ${esc(c.note!)}`);
  }
  out.push('- variant: the kernel variant(s) our run used, chosen by the autotuner on this adapter (`rt.autotune` before timing: every variant of each shape class the case uses is timed once and the fastest correct one cached; src/runtime/tunables.ts lists them).');
  out.push('- tfjs peers run in NHWC (their native layout, inputs transposed once, untimed); ours in NCHW. tfjs-webgpu runs on the same Dawn adapter; tfjs-wasm is single-threaded (SIMD).');
  return out.join('\n') + '\n';
}

/**
 * A file-name-safe adapter key from adapterSummary().key ("vendor/architecture/device/description"):
 * Mesa's software Vulkan (device "llvmpipe...") is "mesa-lavapipe"; otherwise vendor, architecture
 * and device without parenthesised details, e.g. "nvidia-ampere-geforce-rtx-3080".
 */
export function sanitizeKey(key: string): string {
  const parts = key.split('/');
  if (/llvmpipe/i.test(parts[2] ?? '') || /llvmpipe/i.test(parts[3] ?? '')) return 'mesa-lavapipe';
  if (/swiftshader/i.test(key)) return 'swiftshader';
  const s = parts.slice(0, 3).map((p) => p.replace(/\(.*?\)/g, '')).join('-').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  return (s || 'unknown').slice(0, 48).replace(/-+$/, '');
}

export function writeResults(dir: string, fileKey: string, results: CaseResult[], info: RunInfo): { json: string; md: string } {
  return writeResultFiles(dir, fileKey, info.date, JSON.stringify({ ...info, cases: results }, null, 2) + '\n', markdown(results, info));
}
