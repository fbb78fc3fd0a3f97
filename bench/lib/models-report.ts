// Result table of the model benchmark: stdout, bench/results/models-<adapter>-<date>.json and .md.
import { writeResultFiles } from './result-files.js';
import { median } from './stats.js';
import type { TimingResult } from './timing.js';
import { cpuShareText, type RunInfo } from './report.js';

export type Mode = 'forward' | 'train';
export type ImplName = 'ours' | 'torch' | 'ort' | 'tfjs-webgpu' | 'tfjs-wasm';
/** Every peer, in table order: what a user would run instead (PyTorch, ONNX Runtime), then tfjs. */
export const PEERS: Exclude<ImplName, 'ours'>[] = ['torch', 'ort', 'tfjs-webgpu', 'tfjs-wasm'];
const SHORT: Record<ImplName, string> = { ours: 'ours', torch: 'torch', ort: 'ort', 'tfjs-webgpu': 'webgpu', 'tfjs-wasm': 'wasm' };

/** One timed repeat of an implementation (repeats are interleaved across implementations). */
export interface RepeatResult {
  method: 'benny' | 'loop';
  /** ms per launch: benny's median over its samples, or the single launch of the own loop. */
  ms: number;
  k: number;
  samples: number;
  /** The round of the repeats it ran in (0-based; older results files lack it: then its index). */
  round?: number;
}

export interface ImplResult {
  impl: ImplName;
  /** ok: timed; FAIL: disagreed at batch 1 (not timed); skipped: too slow / out of time; error; n/a. */
  status: 'ok' | 'FAIL' | 'skipped' | 'error' | 'n/a';
  detail?: string;
  /** benny (timing.ts) or our own loop of single launches (of the first repeat). */
  method?: 'benny' | 'loop';
  /** Summary over the repeats, ms per launch (one launch = one batch): msMedian = median of the repeats. */
  timing?: TimingResult;
  /** Every repeat, in order. */
  repeats?: RepeatResult[];
  /** From the median repeat. */
  msPerImage?: number;
  imagesPerS?: number;
  /** img/s of the slowest and fastest repeat, and (max − min) / median of the repeats' img/s. */
  imagesPerSMin?: number;
  imagesPerSMax?: number;
  spread?: number;
  /** The estimate a skip was based on (ms per launch). */
  estMs?: number;
  /** Batch-1 agreement with ours (peers only): max |ours − peer| / max |peer|, worst output tensor. */
  check?: { rel: number; abs: number; tol: number; output: number };
  /** Training (ours): the step with Winograd forward convs vs direct ones (which the peers are
   *  checked against), worst ||diff|| / ||direct|| over the outputs (compare.ts compareL2). */
  winograd?: { l2: number; tol: number; output: number };
}

/** Peak memory of a training step (EdgeFace-XXS and DSR-cpu at batch 32). */
export interface MemoryResult {
  /** Our buffer pool's peak bytes in use during one step (weights, AdamW state, inputs, activations, gradients). */
  oursPeakGpuBytes?: number;
  /** Bytes in use just before that step (weights, AdamW state, inputs). */
  oursBaseGpuBytes?: number;
  /** PyTorch, a fresh process (peak RSS, VmHWM): after importing torch, after building the step, and after running it (its peak). */
  torchRssRuntimeBytes?: number;
  torchRssSetupBytes?: number;
  torchPeakRssBytes?: number;
  /** That process's getrusage ru_maxrss (inflated by the spawn: Linux keeps Node's figure across exec). */
  torchRuMaxrssBytes?: number;
  torchSteps?: number;
  detail?: string;
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
  memory?: MemoryResult;
  /** The host's speed before each round of repeats (bench/lib/peak.ts hostGflops, GFLOP/s), by round. */
  hostGflops?: number[];
}

const fmtRate = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const pct = (v: number) => `${(100 * v).toFixed(v < 0.1 ? 1 : 0)}%`;

/** "median (min–max, spread)" img/s, or why not timed. */
function cell(r?: ImplResult): string {
  if (!r) return '—';
  if (r.status === 'ok' && r.imagesPerS !== undefined) {
    const n = r.repeats?.length ?? 1;
    // detail: why fewer repeats ran than asked (time budget).
    const note = r.detail ? ` [${r.detail}]` : '';
    if (n < 2 || r.imagesPerSMin === undefined) return fmtRate(r.imagesPerS) + note;
    return `${fmtRate(r.imagesPerS)} (${fmtRate(r.imagesPerSMin)}–${fmtRate(r.imagesPerSMax!)}, ${pct(r.spread!)})${note}`;
  }
  if (r.status === 'skipped') return `skipped: ${r.detail ?? ''}`;
  if (r.status === 'FAIL') return 'FAIL (check)';
  if (r.status === 'error') return 'error';
  return r.detail ? `n/a: ${r.detail}` : 'n/a';
}

/** Median, min, max and spread ((max − min) / median) of some positive figures. */
export function rangeOf(xs: number[]): { median: number; min: number; max: number; spread: number } | undefined {
  if (!xs.length) return undefined;
  const m = median(xs), min = Math.min(...xs), max = Math.max(...xs);
  return { median: m, min, max, spread: (max - min) / m };
}
const roundOf = (r: RepeatResult, i: number) => r.round ?? i;

/**
 * ours ÷ peer speed in each round where both ran (peer ms ÷ our ms per launch, the same batch): the
 * two timings of a round are seconds apart, so the host's slower drift cancels in their ratio.
 */
export function pairedRatios(ours: ImplResult, peer?: ImplResult): number[] {
  if (!peer || ours.status !== 'ok' || peer.status !== 'ok' || !ours.repeats || !peer.repeats) return [];
  const mine = new Map(ours.repeats.map((r, i) => [roundOf(r, i), r.ms]));
  return peer.repeats.flatMap((r, i) => {
    const o = mine.get(roundOf(r, i));
    return o ? [r.ms / o] : [];
  });
}

/** Our img/s ÷ the host's GFLOP/s measured before the same round (a speed the host's drift divides out of). */
export function perHostSpeed(c: ModelCaseResult): number[] {
  const reps = c.ours.status === 'ok' ? c.ours.repeats ?? [] : [];
  return reps.flatMap((r, i) => {
    const h = c.hostGflops?.[roundOf(r, i)];
    return h ? [(1000 * c.batch) / r.ms / h] : [];
  });
}

/** ours img/s ÷ peer img/s from the medians (> 1: ours is faster), then the range of the per-round ratios. */
function ratio(ours: ImplResult, peer?: ImplResult): string {
  if (!peer || ours.status !== 'ok' || peer.status !== 'ok' || !ours.msPerImage || !peer.msPerImage) return '—';
  const rounds = pairedRatios(ours, peer);
  const r = rangeOf(rounds);
  const range = r && rounds.length > 1 ? ` (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : '';
  return `${(peer.msPerImage / ours.msPerImage).toFixed(2)}×${range}`;
}

function checkCell(c: ModelCaseResult, peers: ImplName[]): string {
  if (c.ours.status === 'error' && !peers.some((p) => c.peers[p]?.check)) return 'ours error';
  const parts: string[] = [];
  const w = c.ours.winograd;
  if (w) parts.push(`Winograd L2 ${w.l2.toExponential(1)}${w.l2 <= w.tol ? '' : ' FAIL'}`);
  for (const p of peers) {
    const r = c.peers[p];
    if (!r) continue;
    if (r.check) parts.push(`${SHORT[p]} ${r.check.rel.toExponential(1)}${r.check.rel <= r.check.tol ? '' : ' FAIL'}`);
    else if (r.status === 'error' || r.status === 'n/a') parts.push(`${SHORT[p]} ${r.status}`);
  }
  return parts.join(', ') || '—';
}

function samplesCell(c: ModelCaseResult, peers: ImplName[]): string {
  const one = (r?: ImplResult) => {
    if (!r?.repeats?.length) return '–';
    const k = r.repeats[0]!.k;
    return `${r.repeats.length}×${r.method === 'loop' ? 'L' : `b${r.repeats[0]!.samples}`}${k > 1 ? `×${k}` : ''}`;
  };
  return [one(c.ours), ...peers.map((p) => one(c.peers[p]))].join(' / ');
}

/** The peers that appear in any case of the run (table columns). */
export function peersIn(results: ModelCaseResult[]): ImplName[] {
  return PEERS.filter((p) => results.some((c) => c.peers[p]));
}

export function header(peers: ImplName[]): string[] {
  return [
    'model', 'step', 'batch', 'ours img/s', 'ours GFLOP/s', '% of peak',
    ...peers.map((p) => `${p} img/s`), ...peers.map((p) => `ours vs ${SHORT[p]}`),
    'check @b1 (rel. max diff)', `repeats ${['ours', ...peers.map((p) => SHORT[p])].join(' / ')}`,
  ];
}
/** Columns printed left-aligned (the text ones). */
const leftCols = (peers: ImplName[]) => (i: number) => i < 2 || i >= 6 + 2 * peers.length;

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

export function rows(results: ModelCaseResult[], peak: number | undefined, peers: ImplName[]): string[][] {
  return results.map((c) => [
    c.model, c.mode === 'train' ? 'train step' : 'forward', String(c.batch), cell(c.ours), fmtG(gflops(c)), fmtPeak(c, peak),
    ...peers.map((p) => cell(c.peers[p])), ...peers.map((p) => ratio(c.ours, c.peers[p])),
    checkCell(c, peers), samplesCell(c, peers),
  ]);
}

/** Where the spread comes from: the host's speed over the rounds, ours divided by it, and each per-round ratio. */
export function stabilityRows(results: ModelCaseResult[], peers: ImplName[]): string[][] {
  const fmt = (r: ReturnType<typeof rangeOf>, digits: number) => (r ? `${r.median.toFixed(digits)} (${r.min.toFixed(digits)}–${r.max.toFixed(digits)}, ${pct(r.spread)})` : '—');
  return results.filter((c) => c.ours.status === 'ok' && (c.ours.repeats?.length ?? 0) > 1).map((c) => [
    c.model, c.mode === 'train' ? 'train step' : 'forward', String(c.batch),
    c.ours.spread === undefined ? '—' : pct(c.ours.spread),
    fmt(rangeOf(c.hostGflops ?? []), 1),
    (() => { const r = rangeOf(perHostSpeed(c)); return r ? pct(r.spread) : '—'; })(),
    ...peers.map((p) => fmt(rangeOf(pairedRatios(c.ours, c.peers[p])), 2)),
  ]);
}
const stabilityHeader = (peers: ImplName[]) => ['model', 'step', 'batch', 'ours spread', 'host GFLOP/s per round', 'ours ÷ host spread', ...peers.map((p) => `ours vs ${SHORT[p]} per round`)];

const MiB = (b?: number) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)} MiB`);

/** Rows of the memory table: one per training case that measured something. */
export function memoryRows(results: ModelCaseResult[]): string[][] {
  return results.filter((c) => c.memory).map((c) => {
    const m = c.memory!;
    return [c.model, `train step b${c.batch}`, MiB(m.oursPeakGpuBytes), MiB(m.oursBaseGpuBytes), MiB(m.torchPeakRssBytes), MiB(m.torchRssSetupBytes), MiB(m.torchRssRuntimeBytes), m.detail ?? ''];
  });
}
const MEM_HEADER = ['model', 'step', 'ours peak GPU (pool, in use)', 'ours before the step', 'torch peak RSS', 'torch RSS before the step', 'torch RSS after import', 'note'];

function align(all: string[][], left: (i: number) => boolean): string {
  const w = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (left(i) ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join('  ');
  return [line(all[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function textTable(results: ModelCaseResult[], peak?: number): string {
  const peers = peersIn(results);
  const out = [align([header(peers), ...rows(results, peak, peers)], leftCols(peers))];
  const st = stabilityRows(results, peers);
  if (st.length) out.push('', align([stabilityHeader(peers), ...st], (i) => i < 2));
  const mem = memoryRows(results);
  if (mem.length) out.push('', align([MEM_HEADER, ...mem], (i) => i < 2 || i === 7));
  return out.join('\n');
}

export function markdown(results: ModelCaseResult[], info: RunInfo): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  out.push(`Model benchmark — ${info.date}, ${esc(info.adapterKey)}`);
  out.push('');
  out.push(`Machine: ${info.machine.cpu}, ${info.machine.cores} cores, ${info.machine.os}; Node ${info.node}; adapter ${esc(String(info.adapter.description || info.adapter.device || info.adapterKey))}; tfjs ${String(info.peers.tfjs)}.`);
  const la = info.machine.loadavgStart, le = info.machine.loadavgEnd;
  out.push(`Load average at start: ${la.map((v) => v.toFixed(2)).join(', ')}${le ? `; at end: ${le.map((v) => v.toFixed(2)).join(', ')}` : ''} (1/5/15 min)${cpuShareText(info)}.`);
  if (info.disturbed) out.push(`\n**Note:** ${info.disturbed}`);
  const off = Object.entries((info.peers.off ?? {}) as Record<string, string>);
  if (off.length) out.push(`\nPeers off in this run: ${off.map(([k, why]) => `${k} — ${esc(why)}`).join('; ')}.`);
  out.push('');
  const peers = peersIn(results);
  const hdr = header(peers), left = leftCols(peers);
  out.push(`| ${hdr.join(' | ')} |`);
  out.push(`|${hdr.map((_, i) => (left(i) ? '---' : '---:')).join('|')}|`);
  for (const r of rows(results, info.peakGflops, peers)) out.push(`| ${r.map(esc).join(' | ')} |`);
  out.push('');
  out.push(`img/s: median over the repeats (min–max over the repeats, spread = (max − min) / median); each repeat is one timing of that implementation, the implementations taking turns (ours, then each peer, then ours again, ...; ${String(info.timing.repeats ?? 1)} repeats asked). "ours vs X" = our median img/s ÷ X's median img/s (> 1: ours is faster), then in brackets the min–max of the per-round ratios (table below). `
    + 'Check: at batch 1, our output (train step: the loss and every parameter gradient) vs that peer\'s own output on the same weights and input, '
    + 'max |ours − peer| / max |peer| over the worst output tensor; tolerance 1e-3; a peer that disagrees is not timed. '
    + 'Repeats column: repeats × (b N = benny with N samples, ×K launches per sample when K > 1; L = one single launch per repeat, for launches ≥ 1.5 s), in column order.');
  out.push('');
  const st = stabilityRows(results, peers);
  if (st.length) {
    const sh = stabilityHeader(peers);
    out.push(`| ${sh.join(' | ')} |`);
    out.push(`|${sh.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
    for (const r of st) out.push(`| ${r.map(esc).join(' | ')} |`);
    out.push('');
    out.push('Where the spread comes from. Host GFLOP/s per round: before each round of repeats, the peak-FMA kernel\'s winning variant is launched 3 times (bench/lib/peak.ts hostGflops, the median); median (min–max, spread) over the rounds. '
      + 'Ours ÷ host spread: the spread of our img/s divided by the host GFLOP/s of the same round (what is left of ours when the host\'s speed is divided out). '
      + '"ours vs X per round": X\'s ms ÷ our ms per launch within each round, the two timed seconds apart; median (min–max, spread) over the rounds. The ratio columns above show the ratio of the medians, then the min–max of these per-round ratios.');
    out.push('');
  }
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
  out.push(`- torch: PyTorch ${String(info.peers.torch ?? '—')} on the CPU (bench/peers/torch_models.py, the same networks with our weights; torch.set_num_threads(2); forward under torch.inference_mode()), one persistent python process that runs launches only when it is its turn. ort: onnxruntime-node ${String(info.peers.ort ?? '—')}, CPU execution provider, intraOpNumThreads 2, sequential, on the forward graphs torch.onnx.export wrote (opset 17, dynamic batch).`);
  out.push('- train step (batch 32): forward + backward + optimizer update. Ours: AdamW (lr 1e-3, weight decay 0.01, grads zeroed in place). torch: torch.optim.AdamW(lr 1e-3, weight_decay 0.01), zero_grad in place. tfjs: tf.train.adam(1e-3).minimize over tf.variables holding the same weights (tfjs has no AdamW).');
  out.push(`- Timing: one untimed warm-up launch (or the batch-1 correctness run); then per repeat one timed launch, and when it took under 1.5 s benny (K launches per sample, one await) whose median is the repeat's figure, else that single launch is. A launch estimated over ${String(info.timing.maxSampleS)} s (ours: ${String(info.timing.maxSampleOursS)} s; batch-1 ms/img × batch, or 3 × the batch-32 forward for a train step) is not run: "skipped: too slow (est. X s)". Whole-run budget ${String(info.timing.budgetS)} s.`);
  const mem = memoryRows(results);
  if (mem.length) {
    out.push('');
    out.push(`| ${MEM_HEADER.join(' | ')} |`);
    out.push(`|${MEM_HEADER.map((_, i) => (i < 2 || i === 7 ? '---' : '---:')).join('|')}|`);
    for (const r of mem) out.push(`| ${r.map(esc).join(' | ')} |`);
    out.push('');
    out.push('Memory of a training step at batch 32. Ours: the buffer pool\'s peak bytes in use during one step after the timing runs were built (src/runtime/buffers.ts peakBytesInUse: weights, AdamW moments, inputs, activations, gradients; not the engine\'s uniform and staging buffers, nor the driver\'s own memory), and the bytes in use just before it. '
      + `torch: the peak RSS (VmHWM of /proc/self/status) of a fresh python process that only imports torch ("after import"), builds that step (model, AdamW, inputs: "before the step") and runs it ${String(results.find((c) => c.memory?.torchSteps)?.memory?.torchSteps ?? 2)} times ("peak RSS", which includes the python and torch runtime). Not getrusage\'s ru_maxrss, which Linux carries over from the spawning Node process across exec (it is in the JSON, torchRuMaxrssBytes).`);
  }
  const notes = results.flatMap((c) => [c.ours, ...PEERS.map((p) => c.peers[p])].filter((r): r is ImplResult => !!r && (r.status === 'error' || r.status === 'FAIL' || (r.status === 'n/a' && !!r.detail))).map((r) => `${c.model} ${c.mode} b${c.batch} ${r.impl}: ${r.status} — ${r.detail ?? ''}`));
  if (notes.length) {
    out.push('');
    for (const n of [...new Set(notes)]) out.push(`- ${esc(n)}`);
  }
  return out.join('\n') + '\n';
}

export function writeModelResults(dir: string, adapterKey: string, results: ModelCaseResult[], info: RunInfo): { json: string; md: string } {
  return writeResultFiles(dir, `models-${adapterKey}`, info.date, JSON.stringify({ ...info, cases: results }, null, 2) + '\n', markdown(results, info));
}
