// lrfr demo (npm start): the trained pipeline on held-out faces. LR probes at 16 px -> DSR ->
// recognizer -> identification against the full-resolution gallery (ORL by default: never trained or
// tuned on), beside bicubic -> the same recognizer for the same probes; an image grid
// (LR | bicubic | each DSR | HR). It uses the trained weights in weights/ (the best pipeline there,
// see PIPELINES) and never autotunes (the cached kernel choices apply; defaults otherwise).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { primeFirstRun, stderrLine } from '../node/prime.js';
import { initNodeGPU } from '../node/gpu.js';
import { loadFaceApiDlib } from '../node/dlib.js';
import {
  runEvaluation, loadHr, probeImages, loadSuperResolver, BICUBIC, itemKey, evalAutotune, evalPrime,
  type EvalRun, type ProtocolName, type Item, type ResultRow,
} from '../train/eval.js';
import { faceGridPng, type GridRow } from '../train/plots.js';
import { formatDuration } from '../train/progress.js';
import { REPO_ROOT, type Io } from './eval.js';

/**
 * Pipelines in order of preference; the first whose files are all in weights/ runs. sr: the DSR the
 * pipeline uses; recognizer / gallery: its probe-side and gallery-side recognizers; baseline: the
 * recognizer before the cycle (bicubic -> baseline is the line to beat; when it differs from
 * `recognizer`, bicubic -> recognizer is shown too); grid: the DSRs shown in the image grid (C0 and
 * C2 of the cycle).
 */
export const PIPELINES = [
  { name: 'dlib cycle (C2 DSR -> C1 dlib student; gallery: frozen dlib)', sr: 'dlib-c2-dsr', recognizer: 'dlib-c1-recognizer', gallery: 'dlib', baseline: 'dlib', grid: ['dlib-c0-dsr', 'dlib-c2-dsr'] },
  { name: 'dlib C0 (C0 DSR -> frozen dlib)', sr: 'dlib-c0-dsr', recognizer: 'dlib', gallery: null, baseline: 'dlib', grid: ['dlib-c0-dsr'] },
  { name: 'EdgeFace-XXS cycle (C2 DSR -> C1 EdgeFace-XXS)', sr: 'edgeface-c2-dsr', recognizer: 'edgeface-c1-recognizer', gallery: null, baseline: 'edgeface-xxs', grid: ['edgeface-c0-dsr', 'edgeface-c2-dsr'] },
  { name: 'EdgeFace-XXS C0 (C0 DSR -> EdgeFace-XXS)', sr: 'edgeface-c0-dsr', recognizer: 'edgeface-xxs', gallery: null, baseline: 'edgeface-xxs', grid: ['edgeface-c0-dsr'] },
] as const;

export const DEMO_USAGE = `usage: lrfr demo [options]     (npm start)

The trained pipeline on held-out faces: LR probes -> DSR -> recognizer -> identification against the
full-resolution gallery, beside bicubic -> the same recognizer for the same probes; prints rank-1 of
both and writes an image grid (LR | bicubic | each DSR of the cycle | HR).
  --protocol P      orl (default) | yaleb | blufr-ident  (held-out people only)
  --size S          probe size: 16 (default), 24 or 32
  --weights DIR     where the trained weights are (default weights/)
  --out DIR         where the grid and the numbers go (default results/demo/)
  --limit N         quick run: about N gallery entries and N probes
Pipelines, the first found in --weights is used:
${PIPELINES.map((p) => `  ${p.name}`).join('\n')}
`;

interface DemoArgs { protocol: ProtocolName; size: number; weights: string; out: string; limit?: number }

function parseArgs(argv: readonly string[]): DemoArgs {
  const a: DemoArgs = { protocol: 'orl', size: 16, weights: join(REPO_ROOT, 'weights'), out: join(REPO_ROOT, 'results', 'demo') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    switch (k) {
      case '--protocol': {
        const p = val();
        if (!['orl', 'yaleb', 'blufr-ident'].includes(p)) throw new Error(`--protocol must be orl, yaleb or blufr-ident, got "${p}"`);
        a.protocol = p as ProtocolName;
        break;
      }
      case '--size': {
        const s = Number(val());
        if (![16, 24, 32].includes(s)) throw new Error(`--size must be 16, 24 or 32, got "${argv[i]}"`);
        a.size = s;
        break;
      }
      case '--weights': a.weights = resolve(val()); break;
      case '--out': a.out = resolve(val()); break;
      case '--limit': {
        const n = Number(val());
        if (!Number.isInteger(n) || n < 1) throw new Error(`--limit must be a positive integer, got "${argv[i]}"`);
        a.limit = n;
        break;
      }
      default: throw new Error(`unknown option ${k}`);
    }
  }
  return a;
}

const table = (rows: [string, string][]) => {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v.padStart(8)}`);
};
const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(2)} %`);

export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    io.err(`lrfr demo: ${(e as Error).message}\n\n${DEMO_USAGE}`);
    return 2;
  }
  const file = (n: string) => join(args.weights, `${n}.safetensors`);
  const have = (n: string) => n === 'dlib' || existsSync(file(n));
  const pipe = PIPELINES.find((p) => have(p.sr) && have(p.recognizer) && (p.gallery === null || have(p.gallery)));
  if (!pipe) {
    io.err(`lrfr demo: no trained pipeline in ${args.weights} (one of: ${PIPELINES.map((p) => `${p.sr} + ${p.recognizer}`).join('; ')}). ` +
      'Train one with npx lrfr train --config configs/cycle-dlib.json (see README, Training).\n');
    return 1;
  }
  const spec = (n: string) => (n === 'dlib' ? 'dlib' : file(n));
  const t0 = performance.now();
  const runs: { label: string; run: EvalRun }[] = [];
  try {
    await initNodeGPU();
    evalAutotune.enabled = false; // never stop to autotune: cached choices or the defaults
    evalPrime.fn = (forward) => primeFirstRun(forward, { what: 'lrfr demo', log: stderrLine });
    io.err(`lrfr demo: ${pipe.name}; ${args.protocol} at ${args.size}x${args.size} px (held-out people)\n`);
    const base = {
      recognizer: spec(pipe.recognizer), galleryRecognizer: pipe.gallery === null ? undefined : spec(pipe.gallery),
      sizes: [args.size], degrade: false, protocols: [args.protocol], limit: args.limit, fullResolution: false,
      cacheDir: process.env.LRFR_CACHE ?? join(REPO_ROOT, '.cache', 'embeddings'), progress: true,
      log: (s: string) => io.err(`${s}\n`), loadDlib: () => loadFaceApiDlib(),
    };
    // bicubic -> the recognizer before the cycle, bicubic -> the pipeline's recognizer (when another
    // one), DSR -> the pipeline's recognizer: the same probes, the same gallery
    const lines3: { label: string; recognizer: string; gallery: string | null; sr: string; srSpec: string }[] = [];
    if (pipe.baseline !== pipe.recognizer && have(pipe.baseline)) lines3.push({ label: 'bicubic', recognizer: pipe.baseline, gallery: null, sr: 'bicubic', srSpec: 'bicubic' });
    lines3.push({ label: 'bicubic', recognizer: pipe.recognizer, gallery: pipe.gallery, sr: 'bicubic', srSpec: 'bicubic' });
    lines3.push({ label: pipe.sr, recognizer: pipe.recognizer, gallery: pipe.gallery, sr: pipe.sr, srSpec: spec(pipe.sr) });
    for (const l of lines3) {
      io.err(`lrfr demo: probes through ${l.sr} -> ${l.recognizer}...\n`);
      runs.push({ label: l.label, run: await runEvaluation({ ...base, recognizer: spec(l.recognizer), galleryRecognizer: l.gallery === null ? undefined : spec(l.gallery), sr: l.srSpec }) });
    }
    const row = (r: EvalRun): ResultRow => r.rows[0]!;
    const dsr = runs[runs.length - 1]!.run, bic = runs[runs.length - 2]!.run;
    // No training at all: the pretrained recognizer with the gallery brought to the probes' size and
    // back (resolution matching, lrfr eval --match-gallery), on the same probes.
    const matchedRec = have(pipe.baseline) ? pipe.baseline : pipe.recognizer;
    io.err(`lrfr demo: probes through bicubic -> ${matchedRec}, gallery resolution-matched...\n`);
    const matched = await runEvaluation({ ...base, recognizer: spec(matchedRec), galleryRecognizer: undefined, sr: 'bicubic', matchGallery: true });
    runs.push({ label: 'matched', run: matched });
    const quality = (r: ResultRow) => (r.psnr === undefined ? '' : `   (SR ${r.psnr.toFixed(2)} dB, SSIM ${r.ssim!.toFixed(3)})`);
    const lines = [
      `${args.protocol}, rank-1 of ${row(bic).n} probes against ${row(bic).gallery} gallery faces (full resolution, embedded by ${pipe.gallery ?? pipe.recognizer}` +
        `${lines3.length > 2 && pipe.baseline !== (pipe.gallery ?? pipe.recognizer) ? `; the first line's by ${pipe.baseline}` : ''}):`,
      ...table([
        ...lines3.map((l, i): [string, string] => [`${args.size}x${args.size} -> ${l.sr} -> ${l.recognizer}`, pct(row(runs[i]!.run).rank1)]),
        [`${args.size}x${args.size} -> bicubic -> ${matchedRec}, gallery matched to ${args.size} px`, pct(row(matched).rank1)] as [string, string],
      ]).map((t, i) => t + (i < lines3.length ? quality(row(runs[i]!.run)) : '   (no training: README, Multi-template recognition)')),
    ];
    io.out(`${lines.join('\n')}\n`);
    mkdirSync(args.out, { recursive: true });
    const grid = await writeGrid(bic, pipe.grid.filter(have).map((n) => [n, file(n)] as const), args.size, join(args.out, 'grid.png'));
    writeFileSync(join(args.out, 'demo.json'), JSON.stringify({
      command: `lrfr demo ${argv.join(' ')}`.trim(), date: new Date().toISOString(), pipeline: pipe, protocol: args.protocol, size: args.size,
      rank1: { bicubic: row(bic).rank1, sr: row(dsr).rank1, ...(lines3.length > 2 ? { bicubicBaseline: row(runs[0]!.run).rank1 } : {}), bicubicMatched: row(matched).rank1 },
      quality: { bicubic: { psnr: row(bic).psnr, ssim: row(bic).ssim }, sr: { psnr: row(dsr).psnr, ssim: row(dsr).ssim } }, wallSeconds: (performance.now() - t0) / 1000,
    }, null, 1) + '\n');
    io.out(`grid (${grid} faces: LR | bicubic | ${pipe.grid.filter(have).join(' | ')} | HR): ${join(args.out, 'grid.png')}\n`);
    io.err(`lrfr demo: done in ${formatDuration((performance.now() - t0) / 1000)}\n`);
    return 0;
  } catch (e) {
    io.err(`lrfr demo: ${(e as Error).message}\n`);
    return 1;
  } finally {
    for (const r of runs) r.run.dispose();
  }
}

/** LR | bicubic | each DSR | HR for the first probes of distinct people; returns the number of rows. */
async function writeGrid(run: EvalRun, dsrs: readonly (readonly [string, string])[], size: number, path: string, n = 6): Promise<number> {
  const plan = run.plans[0]!;
  const cands: Item[] = plan.kind === 'ident' ? plan.probes : plan.pairs.map((q) => q.b);
  const seen = new Set<string>();
  const picks: Item[] = [];
  for (const it of cands) {
    if (picks.length >= n) break;
    if (!seen.has(it.person)) { seen.add(it.person); picks.push(it); }
  }
  const hr = (await loadHr(picks, run.root)).map((x, i) => [picks[i]!, x] as const).filter((p) => p[1] !== null);
  const srs = await Promise.all(dsrs.map(([, f]) => loadSuperResolver(f)));
  try {
    const rows: GridRow[] = [];
    for (const [it, x] of hr) {
      const { lr, up } = await probeImages([x!], [itemKey(it)], { size, degrade: false }, BICUBIC);
      const outs = [];
      for (const sr of srs) outs.push((await sr.run(lr))[0]!);
      rows.push({ label: `${it.person.slice(0, 16)}\n${size}x${size}`, images: [lr[0]!, up[0]!, ...outs, x!] });
    }
    const png = await faceGridPng(`${plan.name} probes at ${size}x${size}: LR | bicubic | ${dsrs.map(([n]) => n).join(' | ')} | HR`, ['LR (enlarged)', 'bicubic', ...dsrs.map(([n]) => n.replace(/-dsr$/, '')), 'HR 112'], rows);
    writeFileSync(path, png);
    return rows.length;
  } finally {
    for (const s of srs) s.dispose();
  }
}

export async function demoMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  return demoCommand(argv, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}
