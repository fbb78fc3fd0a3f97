// Result table of the model benchmark: stdout, bench/results/models-<adapter>-<date>.json and .md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TimingResult } from './timing.js';
import type { RunInfo } from './report.js';

export type Mode = 'forward' | 'train';
export type ImplName = 'ours' | 'tfjs-webgpu' | 'tfjs-wasm';
export const PEERS: ImplName[] = ['tfjs-webgpu', 'tfjs-wasm'];

export interface ImplResult {
  impl: ImplName;
  /** ok: timed; FAIL: disagreed at batch 1 (not timed); skipped: too slow / out of time; error; n/a. */
  status: 'ok' | 'FAIL' | 'skipped' | 'error' | 'n/a';
  detail?: string;
  /** benny (timing.ts) or our own loop of single launches. */
  method?: 'benny' | 'loop';
  /** ms per launch (one launch = one batch). */
  timing?: TimingResult;
  msPerImage?: number;
  imagesPerS?: number;
  /** The estimate a skip was based on (ms per launch). */
  estMs?: number;
  /** Batch-1 agreement with ours (peers only): max |ours − peer| / max |peer|, worst output tensor. */
  check?: { rel: number; abs: number; tol: number; output: number };
}

export interface ModelCaseResult {
  model: string;
  mode: Mode;
  batch: number;
  input: string;
  params: number;
  flopsPerImage?: number;
  loss?: string;
  ours: ImplResult;
  peers: Partial<Record<ImplName, ImplResult>>;
  /** The kernel variants our run used (autotuned on this adapter). */
  variants?: { name: string; shapeClass: string; variant: string }[];
}

const fmtMs = (v: number) => (v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : v.toFixed(0));
const fmtRate = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));

function cell(r?: ImplResult): string {
  if (!r) return '—';
  if (r.status === 'ok' && r.msPerImage !== undefined) return `${fmtMs(r.msPerImage)} (${fmtRate(r.imagesPerS!)}/s)`;
  if (r.status === 'skipped') return `skipped: ${r.detail ?? ''}`;
  if (r.status === 'FAIL') return 'FAIL (check)';
  if (r.status === 'error') return 'error';
  return r.detail ? `n/a: ${r.detail}` : 'n/a';
}

function ratio(ours: ImplResult, peer?: ImplResult): string {
  if (!peer || ours.status !== 'ok' || peer.status !== 'ok' || !ours.msPerImage || !peer.msPerImage) return '—';
  return `${(peer.msPerImage / ours.msPerImage).toFixed(2)}×`;
}

function checkCell(c: ModelCaseResult): string {
  if (c.ours.status === 'error' && !PEERS.some((p) => c.peers[p]?.check)) return 'ours error';
  const parts: string[] = [];
  for (const p of PEERS) {
    const r = c.peers[p];
    if (!r) continue;
    const short = p.replace('tfjs-', '');
    if (r.check) parts.push(`${short} ${r.check.rel.toExponential(1)}${r.check.rel <= r.check.tol ? '' : ' FAIL'}`);
    else if (r.status === 'error' || r.status === 'n/a') parts.push(`${short} ${r.status}`);
  }
  return parts.join(', ') || '—';
}

function samplesCell(c: ModelCaseResult): string {
  const one = (r?: ImplResult) => (!r?.timing ? '–' : `${r.timing.samples}${r.method === 'loop' ? 'L' : 'b'}${r.timing.k > 1 ? `×${r.timing.k}` : ''}`);
  return [one(c.ours), ...PEERS.map((p) => one(c.peers[p]))].join(' / ');
}

export const HEADER = ['model', 'step', 'batch', 'ours ms/img (img/s)', 'ours GFLOP/s', '% of peak', 'tfjs-webgpu ms/img (img/s)', 'tfjs-wasm ms/img (img/s)', 'ours vs webgpu', 'ours vs wasm', 'check @b1 (rel. max diff)', 'samples o/g/w'];
/** Columns printed left-aligned (the text ones). */
const LEFT = (i: number) => i < 2 || i >= 10;

/** FLOPs per image of a step: the forward's, x3 for a training step (backward ≈ 2x forward). */
export const stepFlops = (c: ModelCaseResult): number | undefined => (c.flopsPerImage ? c.flopsPerImage * (c.mode === 'train' ? 3 : 1) : undefined);

function gflops(c: ModelCaseResult): number | undefined {
  const f = stepFlops(c);
  if (!f || c.ours.status !== 'ok' || !c.ours.msPerImage) return undefined;
  return f / (c.ours.msPerImage * 1e-3) / 1e9;
}
const fmtG = (v?: number) => (v === undefined ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const fmtPeak = (c: ModelCaseResult, peak?: number) => {
  const g = gflops(c);
  if (g === undefined || !peak) return '—';
  const p = (100 * g) / peak;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
};

export function rows(results: ModelCaseResult[], peak?: number): string[][] {
  return results.map((c) => [
    c.model, c.mode === 'train' ? 'train step' : 'forward', String(c.batch), cell(c.ours), fmtG(gflops(c)), fmtPeak(c, peak),
    cell(c.peers['tfjs-webgpu']), cell(c.peers['tfjs-wasm']),
    ratio(c.ours, c.peers['tfjs-webgpu']), ratio(c.ours, c.peers['tfjs-wasm']), checkCell(c), samplesCell(c),
  ]);
}

export function textTable(results: ModelCaseResult[], peak?: number): string {
  const all = [HEADER, ...rows(results, peak)];
  const w = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (LEFT(i) ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join('  ');
  return [line(HEADER), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdown(results: ModelCaseResult[], info: RunInfo): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  out.push(`Model benchmark — ${info.date}, ${esc(info.adapterKey)}`);
  out.push('');
  out.push(`Machine: ${info.machine.cpu}, ${info.machine.cores} cores, ${info.machine.os}; Node ${info.node}; adapter ${esc(String(info.adapter.description || info.adapter.device || info.adapterKey))}; tfjs ${String(info.peers.tfjs)}.`);
  const la = info.machine.loadavgStart, le = info.machine.loadavgEnd;
  out.push(`Load average at start: ${la.map((v) => v.toFixed(2)).join(', ')}${le ? `; at end: ${le.map((v) => v.toFixed(2)).join(', ')}` : ''} (1/5/15 min)${la[0]! > 0.5 ? ' — other work was running; timings are disturbed' : ''}.`);
  if (info.disturbed) out.push(`\n**Note:** ${info.disturbed}`);
  out.push('');
  out.push(`| ${HEADER.join(' | ')} |`);
  out.push(`|${HEADER.map((_, i) => (LEFT(i) ? '---' : '---:')).join('|')}|`);
  for (const r of rows(results, info.peakGflops)) out.push(`| ${r.map(esc).join(' | ')} |`);
  out.push('');
  out.push('ms/img = median ms per launch / batch; img/s = its inverse. "ours vs X" = X ms/img ÷ our ms/img (> 1: ours is faster). '
    + 'Check: at batch 1, our output (train step: the loss and every parameter gradient) vs that peer\'s own output on the same weights and input, '
    + 'max |ours − peer| / max |peer| over the worst output tensor; tolerance 1e-3; a peer that disagrees is not timed. '
    + 'Samples: b = benny samples (×K launches per sample when K > 1), L = own loop of single launches (slow cases), ours / tfjs-webgpu / tfjs-wasm.');
  out.push('');
  out.push(`GFLOP/s = step FLOPs per image (forward GFLOP/img below; a training step counted as 3× the forward) / our ms per image. % of peak: of the adapter's measured peak${info.peakGflops ? `, ${info.peakGflops.toFixed(1)} GFLOP/s (shaders/peak_fma.wgsl, bench/lib/peak.ts, measured in this run)` : ' (not measured)'}. `
    + 'Before timing, our run is autotuned (rt.autotune on one step: every kernel variant of each shape class it uses timed once, the fastest correct one cached per adapter); the variants used are in the JSON.');
  out.push('');
  const models = [...new Map(results.map((c) => [c.model, c])).values()];
  out.push('| model | input | parameters | forward GFLOP/img | training loss |');
  out.push('|---|---|---:|---:|---|');
  for (const c of models) {
    const loss = results.find((r) => r.model === c.model && r.loss)?.loss ?? '—';
    out.push(`| ${esc(c.model)} | ${esc(c.input)} | ${c.params ? c.params.toLocaleString('en-US') : '—'} | ${c.flopsPerImage ? (c.flopsPerImage / 1e9).toFixed(3) : '—'} | ${esc(loss)} |`);
  }
  out.push('');
  out.push('- forward: inference (no autograd tape), batch N images of the model\'s input size; ours NCHW, tfjs models transpose to NHWC inside (tests/reference/*), dlib\'s peer is face-api\'s own FaceRecognitionNet.forwardInput (NetInput of N HWC tensors).');
  out.push('- train step (batch 32): forward + backward + optimizer update. Ours: AdamW (lr 1e-3, weight decay 0.01, grads zeroed in place). tfjs: tf.train.adam(1e-3).minimize over tf.variables holding the same weights (tfjs has no AdamW).');
  out.push(`- Timing: one untimed warm-up launch (or the batch-1 correctness run), one timed launch; under 1.5 s benny (K launches per sample, one await), else an own loop of single launches (3 if the first took < 5 s, 2 if < 15 s, else 1; the first timed launch is sample 1). A launch estimated over ${String(info.timing.maxSampleS)} s (ours: ${String(info.timing.maxSampleOursS)} s; batch-1 ms/img × batch, or 3 × the batch-32 forward for a train step) is not run: "skipped: too slow (est. X s)". Whole-run budget ${String(info.timing.budgetS)} s.`);
  const notes = results.flatMap((c) => [c.ours, ...PEERS.map((p) => c.peers[p])].filter((r): r is ImplResult => !!r && (r.status === 'error' || r.status === 'FAIL' || (r.status === 'n/a' && !!r.detail))).map((r) => `${c.model} ${c.mode} b${c.batch} ${r.impl}: ${r.status} — ${r.detail ?? ''}`));
  if (notes.length) {
    out.push('');
    for (const n of [...new Set(notes)]) out.push(`- ${esc(n)}`);
  }
  return out.join('\n') + '\n';
}

export function writeModelResults(dir: string, adapterKey: string, results: ModelCaseResult[], info: RunInfo): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `models-${adapterKey}-${info.date.slice(0, 10)}`);
  const json = `${base}.json`, md = `${base}.md`;
  writeFileSync(json, JSON.stringify({ ...info, cases: results }, null, 2) + '\n');
  writeFileSync(md, markdown(results, info));
  return { json, md };
}
