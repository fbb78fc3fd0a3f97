// One table for both adapters: the newest kernel benchmark of Dawn/lavapipe in Node
// (bench/results/mesa-lavapipe-<date>.json, `npm run bench:kernels`) and of Chromium/SwiftShader
// (bench/results/browser-swiftshader-<date>.json, `npm run bench:browser`), case by case: ours,
// tfjs-webgpu and tfjs-wasm (ms), our GFLOP/s and % of that adapter's measured peak, speedups and
// the autotuned variant. Reads results only; measures nothing.
//
//   npx tsx bench/summary.ts [--node FILE] [--browser FILE]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { byRunOrder } from './lib/result-files.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');

interface Timing { msMedian: number; error?: string }
interface Case {
  name: string; unit: 'GFLOP/s' | 'GB/s'; work: number; status: string;
  ours?: Timing; webgpu?: Timing; wasm?: Timing;
  variants?: { name: string; variant: string }[]; used?: { name: string; variant: string }[];
}
interface Run { date?: string; peakGflops?: number; peak?: { gflops: number }; cases: Case[] }

function newest(prefix: string): string {
  const files = byRunOrder(readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.json')));
  if (!files.length) throw new Error(`bench/summary: no ${prefix}*.json in ${dir} (run the benchmark first)`);
  return join(dir, files.at(-1)!);
}

function arg(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const nodeFile = arg('--node') ?? newest('mesa-lavapipe-');
const browserFile = arg('--browser') ?? newest('browser-swiftshader-');
const runs: [string, string, Run][] = [
  ['lavapipe (Dawn, Node)', nodeFile, JSON.parse(readFileSync(nodeFile, 'utf8')) as Run],
  ['SwiftShader (Chromium)', browserFile, JSON.parse(readFileSync(browserFile, 'utf8')) as Run],
];

const ok = (t?: Timing) => !!t && !t.error && t.msMedian > 0;
const fmtMs = (t?: Timing) => (!ok(t) ? '—' : t!.msMedian < 1 ? t!.msMedian.toFixed(3) : t!.msMedian < 100 ? t!.msMedian.toFixed(2) : t!.msMedian.toFixed(0));
const fmtX = (ours?: Timing, peer?: Timing) => (ok(ours) && ok(peer) ? `${(peer!.msMedian / ours!.msMedian).toFixed(2)}×` : '—');

const out: string[] = [];
out.push('| case | adapter | ours ms | ours GFLOP/s | % of peak | tfjs-webgpu ms | tfjs-wasm ms | vs tfjs-webgpu | vs tfjs-wasm | variant (autotuned) |');
out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
const names = [...new Set(runs.flatMap(([, , r]) => r.cases.map((c) => c.name)))];
for (const name of names) {
  for (const [label, , r] of runs) {
    const c = r.cases.find((x) => x.name === name);
    if (!c) continue;
    const peak = r.peakGflops ?? r.peak?.gflops;
    const rate = ok(c.ours) ? c.work / (c.ours!.msMedian * 1e-3) / 1e9 : NaN;
    const rateTxt = Number.isNaN(rate) ? '—' : `${rate < 10 ? rate.toFixed(2) : rate.toFixed(1)}${c.unit === 'GB/s' ? ' GB/s' : ''}`;
    const pct = c.unit === 'GFLOP/s' && peak && !Number.isNaN(rate) ? `${((100 * rate) / peak).toFixed(1)}%` : '—';
    const used = c.variants ?? c.used ?? [];
    const variant = [...new Set(used.map((u) => `${u.name} ${u.variant}`))].join(', ') || '—';
    out.push(`| ${name} | ${label} | ${fmtMs(c.ours)} | ${rateTxt} | ${pct} | ${fmtMs(c.webgpu)} | ${fmtMs(c.wasm)} | ${fmtX(c.ours, c.webgpu)} | ${fmtX(c.ours, c.wasm)} | ${variant} |`);
  }
}
out.push('');
for (const [label, file, r] of runs) {
  const peak = r.peakGflops ?? r.peak?.gflops;
  out.push(`- ${label}: \`${file.slice(file.indexOf('bench/results'))}\`${r.date ? ` (${r.date})` : ''}, measured peak ${peak ? `${peak.toFixed(1)} GFLOP/s` : 'n/a'}.`);
}
console.log(out.join('\n'));
