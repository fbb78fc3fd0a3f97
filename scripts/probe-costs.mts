// What a probe costs in each evaluated pipeline (issues 14 and 15): embeddings per probe, conv /
// matmul MACs per probe (counted on the ops: src/runtime/macs.ts), parameters, and the wall time per
// probe in batches of 32, min / median / max over repeats (src/train/probe-cost.ts), the time to
// embed a full-resolution face (a verified LFW pair costs one of each), and the gallery side's
// embeddings per enrolled image. Rows whose weights are not in weights/ are listed as missing.
//
//   npx tsx scripts/probe-costs.mts [--sizes 16,32] [--only SUBSTRING[,SUBSTRING...]] [--repeats 5]
//       [--batch 32] [--out docs/results/probe-costs.json]
//
// Time it on an otherwise idle machine: it shares the CPU with anything else running.
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { initNodeGPU } from '../src/node/gpu.js';
import { loadFaceApiDlib } from '../src/node/dlib.js';
import { codeCommit } from '../src/cli/train.js';
import { loadRecognizer, loadSuperResolver } from '../src/train/recognizers.js';
import { measureProbeCost, type ProbeCost } from '../src/train/probe-cost.js';
import { LR_SIZES } from '../src/train/degrade.js';

interface Row {
  label: string;
  rec: string;
  sr: string;
  hypotheses?: number;
  concat?: boolean;
  /** Gallery embeddings per enrolled image, per probe size evaluated (1: the crop). */
  gallery: string;
}

const W = 'weights/';
const ROWS: Row[] = [
  { label: 'bicubic → dlib', rec: 'dlib', sr: 'bicubic', gallery: '1' },
  { label: 'dlib C0 DSR → dlib', rec: 'dlib', sr: `${W}dlib-c0-dsr.safetensors`, gallery: '1' },
  { label: 'dlib cycle: C2 DSR → C1', rec: `${W}dlib-c1-recognizer.safetensors`, sr: `${W}dlib-c2-dsr.safetensors`, gallery: '1' },
  { label: 'EdgeFace cycle: C2 DSR → C1', rec: `${W}edgeface-c1-recognizer.safetensors`, sr: `${W}edgeface-c2-dsr.safetensors`, gallery: '1' },
  { label: 'bicubic → MobileFaceNet', rec: `${W}mobilefacenet.safetensors`, sr: 'bicubic', gallery: '1' },
  { label: 'A, α = 0: WDSR → MobileFaceNet', rec: `${W}mobilefacenet.safetensors`, sr: `${W}wdsr-a0.safetensors`, gallery: '1' },
  { label: 'A, α = 0.5: WDSR → MobileFaceNet', rec: `${W}mobilefacenet.safetensors`, sr: `${W}wdsr-a05.safetensors`, gallery: '1' },
  { label: 'A, α = 0.5, joint: WDSR → its MobileFaceNet', rec: `${W}wdsr-a05-joint-recognizer.safetensors`, sr: `${W}wdsr-a05-joint.safetensors`, gallery: '1' },
  { label: 'A, α = 0.5, 28 px model: WDSR → MobileFaceNet', rec: `${W}mobilefacenet.safetensors`, sr: `${W}wdsr-a05-28.safetensors`, gallery: '1' },
  { label: 'B: UNet → dlib', rec: 'dlib', sr: `${W}unet.safetensors`, gallery: '1' },
  { label: 'B + concat with bicubic', rec: 'dlib', sr: `${W}unet.safetensors`, concat: true, gallery: '1 (HR twice)' },
  { label: 'C: bicubic → WaveResNet', rec: `${W}wave-resnet.safetensors`, sr: 'bicubic', gallery: '1' },
  { label: 'D: dlib, gallery matched', rec: 'dlib', sr: 'bicubic', gallery: '2 (crop + matched)' },
  { label: 'D: dlib, matched + 24 templates', rec: 'dlib', sr: 'bicubic', gallery: '25 (24 templates + matched)' },
  { label: 'D: dlib, H = 8 hypotheses', rec: 'dlib', sr: 'bicubic', hypotheses: 8, gallery: '1' },
  { label: 'D: dlib, H = 16 hypotheses', rec: 'dlib', sr: 'bicubic', hypotheses: 16, gallery: '1' },
];

function parse(argv: string[]): { sizes: number[]; only: string[]; repeats: number; batch: number; out: string } {
  const a = { sizes: [16], only: [] as string[], repeats: 5, batch: 32, out: 'docs/results/probe-costs.json' };
  const int = (k: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${k} needs an integer >= 1, got ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!, v = argv[i + 1];
    switch (k) {
      case '--sizes':
        a.sizes = (v ?? '').split(',').filter(Boolean).map((s) => {
          const n = Number(s);
          if (!(LR_SIZES as readonly number[]).includes(n)) throw new Error(`--sizes: ${s} is not a probe size (known: ${LR_SIZES.join(', ')})`);
          return n;
        });
        i++;
        break;
      case '--only': a.only = (v ?? '').split(',').filter(Boolean); i++; break;
      case '--repeats': a.repeats = int(k, v); i++; break;
      case '--batch': a.batch = int(k, v); i++; break;
      case '--out': a.out = v ?? ''; i++; break;
      case '--help': case '-h':
        process.stdout.write('usage: npx tsx scripts/probe-costs.mts [--sizes 16,32] [--only SUBSTRING,...] [--repeats 5] [--batch 32] [--out FILE.json]\n');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new Error(`unknown argument "${k}"`);
    }
  }
  if (!a.sizes.length) throw new Error('--sizes: no size given');
  return a;
}

const a = parse(process.argv.slice(2));
await initNodeGPU();
const loadDlib = () => loadFaceApiDlib();
const rows = ROWS.filter((r) => !a.only.length || a.only.some((s) => r.label.toLowerCase().includes(s.toLowerCase())));
if (!rows.length) throw new Error(`--only ${a.only.join(',')}: no row matches (rows: ${ROWS.map((r) => r.label).join('; ')})`);
const results: { row: Row; costs: ProbeCost[]; missing?: string }[] = [];
const t0 = performance.now();
for (const [i, row] of rows.entries()) {
  const missing = [row.rec, ...row.sr.split(',')].filter((f) => f.endsWith('.safetensors') && !existsSync(f));
  if (missing.length) {
    process.stderr.write(`[${i + 1}/${rows.length}] ${row.label}: skipped, not trained yet (${missing.join(', ')} missing)\n`);
    results.push({ row, costs: [], missing: missing.join(', ') });
    continue;
  }
  const rec = await loadRecognizer(row.rec, { loadDlib });
  const sr = await loadSuperResolver(row.sr);
  try {
    const costs: ProbeCost[] = [];
    for (const S of a.sizes) {
      if (sr.sizes && !sr.sizes.includes(S)) continue;
      process.stderr.write(`[${i + 1}/${rows.length}] ${row.label} at ${S} px: compiling, warming up, ${a.repeats} timed batches of ${a.batch}... `);
      const c = await measureProbeCost({ rec, sr, hypotheses: row.hypotheses, concatBicubic: row.concat }, S, { batch: a.batch, repeats: a.repeats });
      process.stderr.write(`${c.ms.median.toFixed(1)} ms / probe (${((performance.now() - t0) / 1000).toFixed(0)} s so far)\n`);
      costs.push(c);
    }
    results.push({ row, costs });
  } finally {
    sr.dispose();
    rec.dispose();
  }
}

const M = (n: number) => (n / 1e6).toFixed(n >= 1e8 ? 0 : 1);
const lines = [
  '| pipeline | probe | embeddings / probe | gallery embeddings / image | MMACs / probe | parameters (M) | ms / probe, median (min–max) | ms / HR face |',
  '|---|---:|---:|---|---:|---:|---|---:|',
];
for (const { row, costs, missing } of results) {
  if (missing) { lines.push(`| ${row.label} | — | — | — | — | — | not trained yet | — |`); continue; }
  for (const c of costs) {
    lines.push(`| ${row.label} | ${c.size}×${c.size} | ${c.embeddings} | ${row.gallery} | ${M(c.macs)} | ${(c.params / 1e6).toFixed(2)} | ${c.ms.median.toFixed(1)} (${c.ms.min.toFixed(1)}–${c.ms.max.toFixed(1)}) | ${c.hrMs.median.toFixed(1)} |`);
  }
}
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(dirname(a.out), { recursive: true });
writeFileSync(a.out, `${JSON.stringify({
  date: new Date().toISOString(), commit: codeCommit(), batch: a.batch, repeats: a.repeats, sizes: a.sizes,
  seconds: (performance.now() - t0) / 1000, rows: results, table,
}, null, 1)}\n`);
process.stderr.write(`wrote ${a.out}\n`);
