// lrfr eval: recognition accuracy at full and low resolution (see src/train/eval.ts for the pipeline).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { primeFirstRun, stderrLine } from '../node/prime.js';
import { initNodeGPU } from '../node/gpu.js';
import { loadFaceApiDlib } from '../node/dlib.js';
import {
  runEvaluation, markdownTable, PROTOCOLS, loadHr, probeImages, BICUBIC, itemKey, checkSizes, evalAutotune, evalPrime,
  type EvalRun, type ScoreMetric, type ProtocolName, type Item,
} from '../train/eval.js';
import { writeChartPng, faceGridPng, type GridRow } from '../train/plots.js';
import { formatDuration } from '../train/progress.js';
import { LR_SIZES } from '../train/degrade.js';
import { runQualityEvaluation, qualityTable, type QualityRun } from '../train/quality-eval.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const EVAL_USAGE = `usage: lrfr eval [options]

Face recognition at full resolution and on low-resolution probes (gallery at full resolution).
  --recognizer R    dlib (face-api's dlib ResNet, default) | model.safetensors (dlib or EdgeFace)
  --gallery-recognizer R
                    embed the gallery side (LFW pairs' first image, the BLUFR / ORL / Yale B
                    galleries; full resolution) with R and the probe side (every size, full
                    resolution included) with --recognizer, e.g. a cross-resolution student
                    against the frozen dlib: --recognizer student.safetensors
                    --gallery-recognizer dlib. Same embedding dimension as --recognizer; the
                    metric is --metric or --recognizer's. Default: --recognizer embeds both sides
  --sr M            bicubic (default) | dsr.safetensors[,dsr2.safetensors...] (one DSR per probe size)
  --sizes LIST      probe sizes, from 7,12,14,16,24,28,32 (default 32,24,16; none = full resolution only);
                    full resolution is always included
  --degrade         degraded probes (blur, noise, JPEG; seed 3) instead of clean bicubic downsampling
  --match-gallery   resolution matching: at each LR size the gallery side is brought to that size
                    (clean bicubic-AA) and back to 112 by --sr before it is embedded, like the probes
  --templates       gallery templates (issue 15, method D): each gallery image is also embedded as
                    the method's 11 degradations and chains of 2 and 3 of them (--template-chains,
                    default 12,12); a comparison takes the best-scoring template (S_max). With
                    --match-gallery the matched image is one more template at each LR size
  --template-chains N2,N3
                    how many chains of 2 and of 3 degradations (implies --templates)
  --hypotheses H    multi-hypothesis probes (method D): each LR probe deblurred under H assumed
                    blurs σ = 0..1 LR px before the SR, the best-scoring hypothesis taken (S_max);
                    default 1 (the probe alone)
  --concat-bicubic  method B's fusion (issue 14): each LR probe embedded as its SR face's embedding
                    concatenated with its bicubic face's (gallery and full-resolution probes: the HR
                    embedding twice); needs --sr FILE
  --protocol LIST   from lfw-verify,blufr-ident,orl,yaleb (default: all four)
  --data DIR        data root (default $LRFR_DATA, else ../shared/data)
  --out DIR         results folder (default results/eval-<date>-<time>/)
  --limit N         quick run: ~N pairs / N gallery entries and N probes per protocol
  --cache DIR       embedding cache (default .cache/embeddings/ under the repository)
  --batch N         images per forward (default 32)
  --metric M        cosine | euclidean | pearson (correlation: the cosine of the mean-centred embeddings)
                    (default: the recognizer's own: dlib euclidean, EdgeFace cosine)
  --examples N      faces in the example grid (default 4; 0 = none)
  --quiet           no progress bar
  --tune            autotune the kernel variants on first use of each batch shape (minutes, once per
                    adapter; off by default: the cached choices or shipped defaults apply)
  --no-tune         no autotuning on first use (the default)
  --quality-only    only the SR output's PSNR / SSIM against HR on the protocols' LR probes, no
                    recognizer (minutes instead of tens of minutes; the records a full run caches)
Prints a markdown table (each LR row also gives the super-resolved probes' mean PSNR, RGB, and SSIM,
luma, against their HR crops); writes results.json, table.md, cmc-<protocol>.png, roc-lfw-verify.png
and examples.png into the results folder.
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export class UsageError extends Error {}

export interface EvalArgs {
  recognizer: string;
  galleryRecognizer?: string;
  sr: string;
  sizes: number[];
  degrade: boolean;
  matchGallery: boolean;
  /** Gallery templates (chains of 2 and 3), or null for none. */
  templates: { chains2: number; chains3: number } | null;
  hypotheses: number;
  concatBicubic: boolean;
  protocols: ProtocolName[];
  data?: string;
  out?: string;
  limit?: number;
  cache: string;
  batch: number;
  metric?: ScoreMetric;
  examples: number;
  quiet: boolean;
  tune: boolean;
  qualityOnly: boolean;
  /** Whether --recognizer / --gallery-recognizer were given (--quality-only takes none). */
  recognizerGiven: boolean;
}

function intArg(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} expects an integer >= ${min}, got "${v}"`);
  return n;
}

export function parseEvalArgs(argv: readonly string[]): EvalArgs {
  const a: EvalArgs = {
    recognizer: 'dlib', sr: 'bicubic', sizes: [32, 24, 16], degrade: false, matchGallery: false, templates: null, hypotheses: 1, concatBicubic: false, protocols: [...PROTOCOLS],
    cache: process.env.LRFR_CACHE ?? join(REPO_ROOT, '.cache', 'embeddings'), batch: 32, examples: 4, quiet: false, tune: false,
    qualityOnly: false, recognizerGiven: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const [flag, inline] = k.startsWith('--') && k.includes('=') ? [k.slice(0, k.indexOf('=')), k.slice(k.indexOf('=') + 1)] : [k, undefined];
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--recognizer': a.recognizer = val(); a.recognizerGiven = true; break;
      case '--gallery-recognizer': a.galleryRecognizer = val(); a.recognizerGiven = true; break;
      case '--quality-only': a.qualityOnly = true; break;
      case '--sr': a.sr = val(); break;
      case '--sizes': {
        const v = val();
        if (v === 'none') { a.sizes = []; break; }
        a.sizes = v.split(',').filter(Boolean).map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n)) throw new UsageError(`unknown size "${s}" in --sizes (known: ${LR_SIZES.join(', ')})`);
          return n;
        });
        try { checkSizes(a.sizes); } catch (e) { throw new UsageError(`${(e as Error).message} in --sizes`); }
        break;
      }
      case '--degrade': a.degrade = true; break;
      case '--match-gallery': a.matchGallery = true; break;
      case '--templates': a.templates ??= { chains2: 12, chains3: 12 }; break;
      case '--template-chains': {
        const v = val();
        const m = /^(\d+),(\d+)$/.exec(v);
        if (!m) throw new UsageError(`--template-chains expects two counts N2,N3 (chains of 2 and of 3 degradations), got "${v}"`);
        a.templates = { chains2: Number(m[1]), chains3: Number(m[2]) };
        break;
      }
      case '--hypotheses': a.hypotheses = intArg('--hypotheses', val(), 1); break;
      case '--concat-bicubic': a.concatBicubic = true; break;
      case '--protocol': case '--protocols': {
        const ps = val().split(',').filter(Boolean);
        for (const p of ps) if (!(PROTOCOLS as readonly string[]).includes(p)) throw new UsageError(`unknown protocol "${p}" (known: ${PROTOCOLS.join(', ')})`);
        a.protocols = [...new Set(ps)] as ProtocolName[];
        if (!a.protocols.length) throw new UsageError('--protocol: no protocol given');
        break;
      }
      case '--data': a.data = val(); break;
      case '--out': a.out = val(); break;
      case '--limit': a.limit = intArg('--limit', val(), 1); break;
      case '--cache': a.cache = val(); break;
      case '--batch': a.batch = intArg('--batch', val(), 1); break;
      case '--metric': {
        const m = val();
        if (m !== 'cosine' && m !== 'euclidean' && m !== 'pearson') throw new UsageError(`--metric: expected cosine, euclidean or pearson, got "${m}"`);
        a.metric = m;
        break;
      }
      case '--examples': a.examples = intArg('--examples', val(), 0); break;
      case '--quiet': a.quiet = true; break;
      case '--no-tune': a.tune = false; break;
      case '--tune': a.tune = true; break;
      default: throw new UsageError(`unknown option "${k}"`);
    }
  }
  return a;
}

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** The recognizer's name, or "gallery G / probes P" with a gallery recognizer (chart titles). */
function recognizerNames(run: EvalRun): string {
  return run.galleryRecognizer ? `gallery ${run.galleryRecognizer.name} / probes ${run.recognizer.name}` : run.recognizer.name;
}

/** The line above the table when the two sides have different recognizers. */
function recognizersLabel(run: EvalRun): string {
  const g = run.galleryRecognizer!, r = run.recognizer;
  return `Gallery side (full resolution): ${g.name} (${g.hash}); probe side (every resolution): ${r.name} (${r.hash}); metric ${r.metric}.`;
}

/** Writes the CMC / ROC charts and the example grid; returns the file names. */
async function writeFigures(run: EvalRun, outDir: string, nExamples: number): Promise<string[]> {
  const files: string[] = [];
  for (const p of run.plans) {
    const rows = run.rows.filter((r) => r.protocol === p.name);
    if (p.kind === 'ident') {
      const f = `cmc-${p.name}.png`;
      await writeChartPng(join(outDir, f), {
        title: `CMC, ${p.name} (${recognizerNames(run)} + ${run.sr.name})`, xLabel: 'rank', yLabel: 'identification rate',
        series: rows.map((r) => ({ name: r.resolution, x: r.cmc!.map((_, i) => i + 1), y: r.cmc! })), yRange: [0, 1], xRange: [1, 100], xLog: true, xTicks: [1, 2, 5, 10, 20, 50, 100],
      });
      files.push(f);
    } else {
      const f = `roc-${p.name}.png`;
      await writeChartPng(join(outDir, f), {
        title: `ROC, ${p.name} (${recognizerNames(run)} + ${run.sr.name})`, xLabel: 'FAR (false accept rate)', yLabel: 'TAR (true accept rate)',
        series: rows.map((r) => ({ name: `${r.resolution} (AUC ${(100 * r.auc).toFixed(1)})`, x: r.roc!.fpr, y: r.roc!.tpr })),
        xLog: true, xRange: [1e-4, 1], yRange: [0, 1],
      });
      files.push(f);
    }
  }
  const sizes = run.conditions.filter((c) => c.size !== null);
  if (nExamples > 0 && sizes.length) {
    // the first probes of the first protocol (LFW when present), one per person
    const seen = new Set<string>();
    const picks: Item[] = [];
    for (const p of run.plans) {
      const cands = p.kind === 'ident' ? p.probes : p.pairs.map((q) => q.b);
      for (const it of cands) {
        if (picks.length >= nExamples) break;
        if (!seen.has(it.person)) { seen.add(it.person); picks.push(it); }
      }
    }
    const hr = (await loadHr(picks, run.root)).map((x, i) => [picks[i]!, x] as const).filter((p) => p[1] !== null);
    const rows: GridRow[] = [];
    for (const [it, x] of hr) {
      for (const c of sizes) {
        const keys = [itemKey(it)];
        const { lr } = await probeImages([x!], keys, c, BICUBIC);
        const bic = await BICUBIC.run(lr);
        const srOut = run.srModel === BICUBIC ? bic : await run.srModel.run(lr);
        rows.push({ label: `${it.person.slice(0, 16)}\n${c.size}x${c.size}${c.degrade ? ' degraded' : ''}`, images: [lr[0]!, bic[0]!, srOut[0]!, x!] });
      }
    }
    if (rows.length) {
      const png = await faceGridPng(`probes: LR | bicubic | SR (${run.sr.name}) | HR`, ['LR (enlarged)', 'bicubic', `SR`, 'HR 112'], rows);
      writeFileSync(join(outDir, 'examples.png'), png);
      files.push('examples.png');
    }
  }
  return files;
}

export interface EvalResult { code: number; run?: Omit<EvalRun, 'rec' | 'srModel' | 'dispose'>; outDir?: string; table?: string }

/** `lrfr eval` (argv without the command name). */
export async function evalCommand(argv: readonly string[], io: Io = defaultIo): Promise<EvalResult> {
  let args: EvalArgs;
  try {
    args = parseEvalArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`lrfr eval: ${e.message}\n\n${EVAL_USAGE}`);
      return { code: 2 };
    }
    throw e;
  }
  if (args.qualityOnly) return qualityCommand(args, argv, io);
  const t0 = performance.now();
  let run: EvalRun;
  try {
    await initNodeGPU();
    // Kernel variants per adapter: with --tune, the first forward of each batch shape tunes what is not cached.
    evalAutotune.enabled = args.tune;
    evalPrime.fn = (forward) => primeFirstRun(forward, { what: 'lrfr eval', log: stderrLine });
    run = await runEvaluation({
      recognizer: args.recognizer, galleryRecognizer: args.galleryRecognizer, sr: args.sr, sizes: args.sizes, degrade: args.degrade, protocols: args.protocols,
      dataRoot: args.data, limit: args.limit, cacheDir: args.cache, batch: args.batch, metric: args.metric,
      matchGallery: args.matchGallery, templates: args.templates ?? undefined, hypotheses: args.hypotheses, concatBicubic: args.concatBicubic, progress: !args.quiet, log: (s) => io.err(`${s}\n`), loadDlib: () => loadFaceApiDlib(),
    });
  } catch (e) {
    io.err(`lrfr eval: ${(e as Error).message}\n`);
    return { code: 1 };
  }
  try {
    const defaultOut = args.out === undefined;
    const outDir = resolve(args.out ?? join(REPO_ROOT, 'results', `eval-${stamp()}`));
    mkdirSync(outDir, { recursive: true });
    if (defaultOut && !existsSync(join(REPO_ROOT, 'results', '.gitignore'))) {
      writeFileSync(join(REPO_ROOT, 'results', '.gitignore'), '# lrfr eval outputs: not committed\n*\n');
    }
    // with two recognizers the table says which embeds which side (one recognizer: the table alone)
    const table = (run.galleryRecognizer ? `${recognizersLabel(run)}\n\n` : '') +
      (run.matchGallery ? 'Gallery side resolution-matched at each LR size (brought to the probe size and back by the SR).\n\n' : '') +
      (run.templates ? `Gallery side: the crop and ${run.templates} degraded templates of it${run.matchGallery ? ' (and the matched image)' : ''}, the best-scoring taken (S_max).\n\n` : '') +
      (run.concatBicubic ? 'Each LR probe: its SR and bicubic faces\' embeddings concatenated; gallery and full resolution: the HR embedding twice.\n\n' : '') +
      (run.hypotheses > 1 ? `Probe side: ${run.hypotheses} deblurring hypotheses of each LR probe, the best-scoring taken (S_max).\n\n` : '') + markdownTable(run.rows);
    const e = run.embed;
    const figures = await writeFigures(run, outDir, args.examples);
    const wall = (performance.now() - t0) / 1000;
    const json = {
      command: `lrfr eval ${argv.join(' ')}`.trim(),
      date: new Date().toISOString(),
      recognizer: run.recognizer,
      ...(run.galleryRecognizer ? { galleryRecognizer: run.galleryRecognizer } : {}),
      sr: run.sr,
      sizes: args.sizes,
      degrade: args.degrade,
      matchGallery: run.matchGallery,
      templates: args.templates ? { ...args.templates, embedded: run.templates } : null,
      hypotheses: { asked: args.hypotheses, embedded: run.hypotheses },
      concatBicubic: run.concatBicubic,
      protocols: args.protocols,
      limit: args.limit ?? null,
      dataRoot: run.root,
      embeddings: { computed: e.computed, cached: e.cached, forwards: e.images, skipped: e.skipped, seconds: e.seconds, msPerImage: e.perImageMs },
      wallSeconds: wall,
      loadAverage: (await import('node:os')).loadavg(),
      figures,
      table,
      results: run.rows,
    };
    writeFileSync(join(outDir, 'results.json'), JSON.stringify(json, null, 1) + '\n');
    writeFileSync(join(outDir, 'table.md'), `${table}\n`);
    io.out(`${table}\n\n`);
    const g = run.galleryRecognizer;
    const recs = g
      ? `gallery recognizer ${g.name} (${g.hash}), probe recognizer ${run.recognizer.name} (${run.recognizer.hash}), ${run.recognizer.metric}`
      : `recognizer ${run.recognizer.name} (${run.recognizer.hash}, ${run.recognizer.metric})`;
    io.err(`${recs}, SR ${run.sr.name}; ` +
      `embeddings: ${e.computed} computed (${e.perImageMs.toFixed(1)} ms/image), ${e.cached} from the cache` +
      `${e.skipped.length ? `, ${e.skipped.length} undecodable images skipped` : ''}; wall ${formatDuration(wall)}\n`);
    io.err(`results: ${outDir}\n`);
    const { rec: _r, srModel: _s, dispose: _d, ...plain } = run;
    return { code: 0, run: plain, outDir, table };
  } finally {
    run.dispose();
  }
}

/** `lrfr eval --quality-only`: the SR output's PSNR / SSIM on the protocols' LR probes. */
async function qualityCommand(args: EvalArgs, argv: readonly string[], io: Io): Promise<EvalResult> {
  if (args.recognizerGiven) {
    io.err(`lrfr eval: --quality-only measures the super-resolver alone: it takes no --recognizer or --gallery-recognizer\n\n${EVAL_USAGE}`);
    return { code: 2 };
  }
  const t0 = performance.now();
  let q: QualityRun;
  try {
    await initNodeGPU();
    evalAutotune.enabled = args.tune;
    evalPrime.fn = (forward) => primeFirstRun(forward, { what: 'lrfr eval', log: stderrLine });
    q = await runQualityEvaluation({
      sr: args.sr, sizes: args.sizes, degrade: args.degrade, protocols: args.protocols, dataRoot: args.data, limit: args.limit,
      cacheDir: args.cache, batch: args.batch, progress: !args.quiet, log: (s) => io.err(`${s}\n`),
    });
  } catch (e) {
    io.err(`lrfr eval: ${(e as Error).message}\n`);
    return { code: 1 };
  }
  const outDir = resolve(args.out ?? join(REPO_ROOT, 'results', `quality-${stamp()}`));
  mkdirSync(outDir, { recursive: true });
  const table = qualityTable(q.rows);
  const wall = (performance.now() - t0) / 1000;
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({
    command: `lrfr eval ${argv.join(' ')}`.trim(), date: new Date().toISOString(), sr: q.sr, sizes: args.sizes, degrade: args.degrade,
    protocols: args.protocols, limit: args.limit ?? null, dataRoot: q.root, qualityOnly: true,
    images: { computed: q.computed, cached: q.cached, skipped: q.skipped, seconds: q.seconds }, wallSeconds: wall, table, results: q.rows,
  }, null, 1) + '\n');
  writeFileSync(join(outDir, 'table.md'), `${table}\n`);
  io.out(`${table}\n\n`);
  io.err(`SR ${q.sr.name} (${q.sr.hash}); ${q.computed} probes super-resolved, ${q.cached} from the cache; wall ${formatDuration(wall)}\nresults: ${outDir}\n`);
  return { code: 0, outDir, table };
}

export async function evalMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(EVAL_USAGE);
    return 0;
  }
  return (await evalCommand(argv)).code;
}
