// lrfr eval / lrfr sr end to end on a tiny subset of the real data (dlib recognizer, bicubic SR), the
// dlib framing from the 112 crop, the embedding cache, a separate gallery recognizer, and the
// bad-input messages. Needs the data root ($LRFR_DATA or ../shared/data) and @vladmandic/face-api's
// weights.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync, appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { evalCommand, parseEvalArgs, type Io } from '../../src/cli/eval.js';
import { srCommand } from '../../src/cli/sr.js';
import {
  evalCounters, frameWindow, dlibWindowIn112, dlibInputFrom112, aucMannWhitney, evaluatePlan, loadRecognizer, neededItems,
  type Condition, type Item, type Lookup, type ProtocolPlan, type ResultRow,
} from '../../src/train/eval.js';
import { buildModel, modelConfig } from '../../src/nn/registry.js';
import { saveModuleBytes } from '../../src/nn/safetensors.js';
import { CacheGroup } from '../../src/train/embed-cache.js';
import { loadFace, frameLfw } from '../../src/train/data.js';
import { resizeBicubicCpu, downsample, clamp01 } from '../../src/train/degrade.js';
import { decodeImage, writePng, type ChwImage } from '../../src/train/image.js';
import { lfwImagePath } from '../../src/node/data-lfw-mini.js';
import { roc, psnr, ssim } from '../../src/train/metrics.js';
import { imageQuality, probeItems, loadHr, probeImages, itemKey, BICUBIC, comparisonTable } from '../../src/train/eval.js';
import { Rng } from '../../src/runtime/random.js';

const LFW_IMG = 'Aaron_Peirsol/Aaron_Peirsol_0001.jpg';

function capture(): Io & { o: string; e: string } {
  const c = { o: '', e: '', out: (s: string) => { c.o += s; }, err: (s: string) => { c.e += s; } };
  return c;
}

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'lrfr-eval-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('dlib framing from the 112 crop', () => {
  it('maps the 250-image window (70, 76, 108) into 112-crop pixels exactly', () => {
    const w = dlibWindowIn112();
    expect(w.x).toBeCloseTo((17 * 112) / 143, 12);
    expect(w.y).toBeCloseTo((35 * 112) / 143, 12);
    expect(w.size).toBeCloseTo((108 * 112) / 143, 12);
    expect(w.y + w.size).toBeCloseTo(112, 12); // the window's bottom edge is the crop's
  });

  it('frameWindow over the whole image = degrade.ts bicubic resize (antialiased)', () => {
    const rng = new Rng(5);
    const img = { data: Float32Array.from({ length: 3 * 40 * 40 }, () => rng.next()), c: 3, h: 40, w: 40 };
    for (const out of [150, 23]) {
      const a = frameWindow(img, { x: 0, y: 0, size: 40 }, out);
      const b = resizeBicubicCpu(img, out, out, { antialias: true });
      let m = 0;
      for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
      expect(m).toBeLessThan(1e-5);
    }
  });

  it('matches the window taken directly from the 250 image (and a shifted window does not)', async () => {
    const full = await loadFace(LFW_IMG, { dataset: 'lfw', framing: 'full' });
    const direct = frameLfw(full, 'dlib'); // 108 -> 150 from the 250 image, [0, 1]
    const crop = frameLfw(full, 'arcface');
    const via = dlibInputFrom112(crop); // 0..255
    const mad = (f: Float32Array, k: number) => {
      let s = 0;
      for (let i = 0; i < direct.data.length; i++) s += Math.abs(Math.min(1, Math.max(0, f[i]! * k)) - direct.data[i]!);
      return s / direct.data.length;
    };
    const w = dlibWindowIn112();
    const exact = mad(via.data, 1 / 255);
    const shifted = mad(frameWindow(crop, { ...w, x: w.x + 1.5 }, 150).data, 1);
    expect(exact).toBeLessThan(0.02); // only the 143 -> 112 -> 150 resampling blur differs
    expect(shifted).toBeGreaterThan(1.5 * exact);
  });
});

describe('metrics helpers and the embedding cache', () => {
  it('comparisonTable: a line per (metric, pipeline), a column per resolution, manifest rows by label', () => {
    const rows = [
      { protocol: 'lfw-verify' as const, size: null, resolution: 'full', acc: 0.97, tar1e3: 0.8, auc: 0.99 },
      { protocol: 'lfw-verify' as const, size: 16, resolution: '16x16', acc: 0.81, tar1e3: 0.07, auc: 0.88, psnr: 23.456, ssim: 0.71234 },
      { protocol: 'orl' as const, size: 16, resolution: '16x16', rank1: 0.2444, tar1e3: 0.02, auc: 0.8 },
    ];
    // a manifest's rows: no size field, the resolution label only
    const manifestRows = [{ protocol: 'lfw-verify' as const, resolution: '24x24', acc: 0.9, tar1e3: 0.3, auc: 0.95 }] as unknown as typeof rows;
    const t = comparisonTable([{ label: 'A', rows }, { label: 'B', rows: manifestRows }]).split('\n');
    expect(t[0]).toBe('| protocol (metric) | pipeline | HR | 24 px | 16 px |');
    expect(t).toContain('| lfw-verify (acc) | A | 97.00 | — | 81.00 |');
    expect(t).toContain('| lfw-verify (acc) | B | — | 90.00 | — |');
    expect(t).toContain('| orl (rank-1) | A | — | — | 24.44 |');
    expect(t).toContain('| SR PSNR dB, LFW probes | A | — | — | 23.46 |');
    expect(t).toContain('| SR SSIM, LFW probes | A | — | — | 0.7123 |');
    expect(t.some((l) => l.startsWith('| orl (rank-1) | B'))).toBe(false); // B has no ORL row
    expect(t.some((l) => l.startsWith('| SR PSNR dB, LFW probes | B'))).toBe(false);
    // options.metrics keeps only those lines; an unknown key is an error naming the known ones
    const only = comparisonTable([{ label: 'A', rows }], { metrics: ['orl-rank1', 'lfw-acc'] }).split('\n');
    expect(only.slice(2)).toEqual(['| lfw-verify (acc) | A | 97.00 | 81.00 |', '| orl (rank-1) | A | — | 24.44 |']);
    expect(() => comparisonTable([{ label: 'A', rows }], { metrics: ['lfw-accuracy'] })).toThrow(/unknown metric "lfw-accuracy".*lfw-acc/);
  });
  it('aucMannWhitney = metrics.roc AUC (with ties)', () => {
    const rng = new Rng(2);
    const g = Array.from({ length: 300 }, () => Math.round(rng.normal() * 4 + 3) / 4);
    const im = Array.from({ length: 500 }, () => Math.round(rng.normal() * 4) / 4);
    expect(aucMannWhitney(g, im)).toBeCloseTo(roc(g, im).auc, 12);
  });

  it('round-trips embeddings and ignores a truncated tail', () => {
    const f = join(tmp, 'unit.emb');
    const g = new CacheGroup(f, 4);
    g.put(['a', 'b'], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    appendFileSync(f, Buffer.from([3, 0, 120])); // a record cut short
    const h = new CacheGroup(f, 4);
    expect(h.size).toBe(2);
    expect([...h.get('b')!]).toEqual([5, 6, 7, 8]);
    h.put(['c'], Float32Array.from([9, 9, 9, 9]));
    const k = new CacheGroup(f, 4);
    expect(k.size).toBe(3);
    expect(() => new CacheGroup(f, 8)).toThrow(/4-D embeddings, expected 8-D/);
  });
});

describe('lrfr eval (dlib, bicubic) on a tiny subset', () => {
  // --no-tune: the default kernel variants (autotuning dlib's ResNet on first use takes minutes on
  // lavapipe; tests/autotune.test.ts and the tune CLI test cover the tuner).
  const args = (cache = join(tmp, 'cache'), out = join(tmp, 'out')) => ['--protocol', 'lfw-verify,orl', '--sizes', '16', '--limit', '5', '--out', out, '--cache', cache, '--quiet', '--examples', '2', '--no-tune'];
  let first: Awaited<ReturnType<typeof evalCommand>>;
  let firstForwards = 0;
  let firstIo: ReturnType<typeof capture>;

  beforeAll(async () => {
    firstIo = capture();
    const f0 = evalCounters.forwards;
    first = await evalCommand(args(), firstIo);
    firstForwards = evalCounters.forwards - f0;
  });

  it('runs, prints the table and writes results.json with the expected fields', () => {
    expect(first.code, firstIo.e).toBe(0);
    expect(firstIo.o).toMatch(/\| protocol \| resolution \| rank-1 \|/);
    expect(firstIo.o).toMatch(/\| lfw-verify \| full \|/);
    expect(firstIo.o).toMatch(/\| orl \| 16x16 \|/);
    const j = JSON.parse(readFileSync(join(tmp, 'out', 'results.json'), 'utf8'));
    expect(j.recognizer.name).toBe('dlib');
    expect(j.recognizer.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(j.sr.name).toBe('bicubic');
    expect(j.results).toHaveLength(4);
    const v = j.results.find((r: { protocol: string; resolution: string }) => r.protocol === 'lfw-verify' && r.resolution === 'full');
    for (const k of ['acc', 'accStd', 'tar1e2', 'tar1e3', 'impostors', 'auc', 'n', 'roc', 'foldAccuracies']) expect(v).toHaveProperty(k);
    expect(v.n).toBe(20); // 2 pairs from each of the 10 folds
    expect(v.foldAccuracies).toHaveLength(10);
    const o = j.results.find((r: { protocol: string; resolution: string }) => r.protocol === 'orl' && r.resolution === '16x16');
    for (const k of ['rank1', 'rank5', 'rank10', 'cmc', 'tar1e3', 'auc', 'gallery']) expect(o).toHaveProperty(k);
    expect(o.gallery).toBe(5);
    expect(j.embeddings.forwards).toBe(firstForwards);
    expect(firstForwards).toBeGreaterThan(0);
    expect(readFileSync(join(tmp, 'out', 'table.md'), 'utf8')).toContain('| orl | full |');
    // the SR output's quality on the LR rows only
    expect(v.psnr).toBeUndefined();
    for (const r of j.results.filter((x: ResultRow) => x.size !== null)) {
      expect(r.psnr).toBeGreaterThan(15);
      expect(r.psnr).toBeLessThan(40);
      expect(r.ssim).toBeGreaterThan(0.3);
      expect(r.ssim).toBeLessThan(1);
    }
  });

  it('SR PSNR / SSIM: the mean over the protocol\'s probes of imageQuality(bicubic(LR), HR)', async () => {
    const j = JSON.parse(readFileSync(join(tmp, 'out', 'results.json'), 'utf8'));
    const run = first.run!;
    const plan = run.plans.find((p) => p.name === 'orl')!;
    const cond: Condition = { size: 16, degrade: false };
    const items = probeItems(plan);
    expect(items.length).toBeGreaterThan(1);
    const hr = (await loadHr(items, run.root)).map((x) => x!);
    const { up } = await probeImages(hr, items.map(itemKey), cond, BICUBIC);
    const q = up.map((x, i) => imageQuality(x, hr[i]!));
    const mean = (k: 0 | 1) => q.reduce((a, b) => a + b[k], 0) / q.length;
    const row = j.results.find((r: ResultRow) => r.protocol === 'orl' && r.size === 16);
    expect(row.psnr).toBeCloseTo(mean(0), 4); // stored as float32
    expect(row.ssim).toBeCloseTo(mean(1), 6);
    // and the definition: PSNR on the clamped RGB image, SSIM on luma
    const clamped = { ...up[0]!, data: up[0]!.data.map((v) => Math.min(1, Math.max(0, v))) };
    expect(q[0]![0]).toBeCloseTo(psnr(clamped.data, hr[0]!.data), 10);
    expect(q[0]![1]).toBeCloseTo(ssim(clamped, hr[0]!, { luma: true }), 10);
  });

  it('writes valid PNG plots', async () => {
    for (const f of ['roc-lfw-verify.png', 'cmc-orl.png', 'examples.png']) {
      const m = await sharp(join(tmp, 'out', f)).metadata();
      expect(m.format, f).toBe('png');
      expect(m.width!).toBeGreaterThan(100);
    }
  });

  it('hits the embedding cache on a second run (no forward)', async () => {
    const io = capture();
    const f0 = evalCounters.forwards;
    const r = await evalCommand(args(), io);
    expect(r.code, io.e).toBe(0);
    expect(evalCounters.forwards - f0).toBe(0);
    expect(r.run!.embed.cached).toBe(firstForwards);
    expect(r.table).toBe(first.table);
  });

  it('--quality-only: the same PSNR / SSIM as the full run, from its cached records; from an empty cache the same values', async () => {
    const full = JSON.parse(readFileSync(join(tmp, 'out', 'results.json'), 'utf8')) as { results: ResultRow[] };
    const qargs = (cache: string, out: string) => ['--quality-only', '--protocol', 'lfw-verify,orl', '--sizes', '16', '--limit', '5', '--out', out, '--cache', cache, '--quiet'];
    for (const [cache, computed] of [[join(tmp, 'cache'), 0], [join(tmp, 'cache-q'), null]] as const) {
      const io = capture();
      const f0 = evalCounters.forwards;
      const r = await evalCommand(qargs(cache, join(tmp, 'out-q')), io);
      expect(r.code, io.e).toBe(0);
      expect(evalCounters.forwards - f0).toBe(0); // no recognizer
      const j = JSON.parse(readFileSync(join(tmp, 'out-q', 'results.json'), 'utf8')) as { qualityOnly: boolean; images: { computed: number }; results: ResultRow[] };
      expect(j.qualityOnly).toBe(true);
      if (computed !== null) expect(j.images.computed).toBe(computed);
      else expect(j.images.computed).toBeGreaterThan(0);
      expect(j.results).toHaveLength(2);
      for (const q of j.results) {
        const f = full.results.find((x) => x.protocol === q.protocol && x.size === q.size)!;
        expect(q.psnr).toBeCloseTo(f.psnr!, 10);
        expect(q.ssim).toBeCloseTo(f.ssim!, 10);
      }
      expect(io.o).toMatch(/\| orl \| 16x16 \| \d+\.\d\d \| 0\.\d{4} \| \d+ \|/);
    }
    const bad = capture();
    expect((await evalCommand([...qargs(join(tmp, 'cache'), join(tmp, 'out-q')), '--recognizer', 'dlib'], bad)).code).toBe(2);
    expect(bad.e).toContain('--quality-only measures the super-resolver alone');
  });

  it('a cache without the SR quality records: the probes are super-resolved again, not re-embedded', async () => {
    const cache = join(tmp, 'cache-noq');
    const r1 = await evalCommand(args(cache, join(tmp, 'out-noq')), capture());
    expect(r1.code).toBe(0);
    rmSync(join(cache, 'sr-quality'), { recursive: true });
    const io = capture();
    const f0 = evalCounters.forwards;
    const r2 = await evalCommand(args(cache, join(tmp, 'out-noq2')), io);
    expect(r2.code, io.e).toBe(0);
    expect(evalCounters.forwards - f0).toBe(0);
    expect(r2.table).toBe(r1.table);
    expect(existsSync(join(cache, 'sr-quality'))).toBe(true);
  });

  // --gallery-recognizer: the gallery side by one recognizer, the probe side by the other. With the
  // same recognizer on both sides the rows are the normal run's.
  const galleryArgs = (cache: string, out: string) => [...args(cache, out), '--gallery-recognizer', 'dlib'];

  it('--gallery-recognizer = --recognizer from the same cache: the same rows, no forward; both recognizers reported', async () => {
    const io = capture();
    const f0 = evalCounters.forwards;
    const r = await evalCommand(galleryArgs(join(tmp, 'cache'), join(tmp, 'out-gal')), io);
    expect(r.code, io.e).toBe(0);
    expect(evalCounters.forwards - f0).toBe(0);
    expect(r.run!.rows).toEqual(first.run!.rows);
    expect(r.run!.galleryRecognizer).toEqual(first.run!.recognizer);
    expect(r.table).toBe(`Gallery side (full resolution): dlib (${first.run!.recognizer.hash}); probe side (every resolution): dlib (${first.run!.recognizer.hash}); metric euclidean.\n\n${first.table}`);
    expect(io.e).toMatch(/gallery recognizer dlib \([0-9a-f]{16}\), probe recognizer dlib/);
    const j = JSON.parse(readFileSync(join(tmp, 'out-gal', 'results.json'), 'utf8'));
    expect(j.galleryRecognizer.name).toBe('dlib');
    expect(j.recognizer.name).toBe('dlib');
    expect(JSON.parse(readFileSync(join(tmp, 'out', 'results.json'), 'utf8'))).not.toHaveProperty('galleryRecognizer');
  });

  it('--gallery-recognizer = --recognizer from an empty cache: each side embedded by its recognizer, the same rows', async () => {
    const io = capture();
    const f0 = evalCounters.forwards;
    const r = await evalCommand(galleryArgs(join(tmp, 'cache-gal'), join(tmp, 'out-gal2')), io);
    expect(r.code, io.e).toBe(0);
    // one cache per weights hash: an image on both sides at full resolution is embedded once
    expect(evalCounters.forwards - f0).toBe(firstForwards);
    expectRowsClose(r.run!.rows, first.run!.rows);
  });
});

/** Rows equal up to float noise in the scores (batches are composed differently). */
function expectRowsClose(a: readonly ResultRow[], b: readonly ResultRow[]): void {
  expect(a.length).toBe(b.length);
  const close = (x: unknown, y: unknown, path: string): void => {
    if (typeof x === 'number' && typeof y === 'number') expect(Math.abs(x - y), `${path}: ${x} vs ${y}`).toBeLessThan(1e-6);
    else if (Array.isArray(x) && Array.isArray(y)) { expect(x.length, path).toBe(y.length); x.forEach((v, i) => close(v, y[i], `${path}[${i}]`)); }
    else if (x && y && typeof x === 'object' && typeof y === 'object') {
      expect(Object.keys(x).sort(), path).toEqual(Object.keys(y).sort());
      for (const k of Object.keys(x)) close((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`);
    } else expect(x, path).toEqual(y);
  };
  a.forEach((r, i) => close(r, b[i], `${r.protocol} ${r.resolution}`));
}

describe('gallery and probe sides', () => {
  const it_ = (person: string, path: string): Item => ({ dataset: 'orl', path, person });
  const full: Condition = { size: null, degrade: false };
  const lr16: Condition = { size: 16, degrade: false };
  const vec = (v: number[]) => Float32Array.from(v);

  it('evaluatePlan asks for the gallery side at full resolution and the probe side at the condition', () => {
    const ga = it_('p1', 'g1'), gb = it_('p2', 'g2'), pa = it_('p1', 'q1'), pb = it_('p2', 'q2');
    const verify: ProtocolPlan = { kind: 'verify', name: 'lfw-verify', pairs: [
      { a: ga, b: pa, same: true, fold: 0 }, { a: gb, b: pb, same: true, fold: 0 }, { a: ga, b: pb, same: false, fold: 1 }, { a: gb, b: pa, same: false, fold: 1 },
    ] };
    const ident: ProtocolPlan = { kind: 'ident', name: 'orl', gallery: [ga, gb], probes: [pa, pb] };
    const galleryItems = new Set(['g1', 'g2']);
    const emb: Record<string, number[]> = { g1: [1, 0], g2: [0, 1], q1: [0.9, 0.1], q2: [0.1, 0.9] };
    const asked: string[] = [];
    // an embedding only for the side an item is on: any other request would drop it
    const get: Lookup = (it, c, role) => {
      asked.push(`${it.path}@${c.size ?? 'full'}:${role}`);
      const onGallerySide = galleryItems.has(it.path);
      if (onGallerySide !== (role === 'gallery') || (role === 'gallery' && c.size !== null)) return undefined;
      return vec(emb[it.path]!);
    };
    for (const plan of [verify, ident]) {
      const row = evaluatePlan(plan, lr16, get, 2, 'cosine');
      expect(row.dropped, plan.name).toBe(0);
      expect(row.auc, plan.name).toBe(1);
    }
    expect(asked.filter((a) => a.startsWith('g')).every((a) => a.endsWith('@full:gallery'))).toBe(true);
    expect(asked.filter((a) => a.startsWith('q')).every((a) => a.endsWith('@16:probe'))).toBe(true);
    expect(neededItems([verify, ident]).gallery.map((i) => i.path).sort()).toEqual(['g1', 'g2']);
    expect(evaluatePlan(ident, full, get, 2, 'cosine').dropped).toBe(0); // the full-res probes: still the probe side
  });

  it('two recognizers: the gallery side cached under the gallery one, the probe side (full resolution too) under the other', async () => {
    const files = [1, 2].map((seed) => join(tmp, `edgeface-s${seed}.safetensors`));
    for (const [k, f] of files.entries()) {
      const m = buildModel('edgeface-xxs', {}, k + 1);
      writeFileSync(f, await saveModuleBytes(m, { model: 'edgeface-xxs', config: modelConfig('edgeface-xxs', m) }));
      m.dispose();
    }
    const cache = join(tmp, 'cache-two');
    const io = capture();
    const r = await evalCommand(['--recognizer', files[0]!, '--gallery-recognizer', files[1]!, '--protocol', 'lfw-verify,orl', '--sizes', '16', '--limit', '3',
      '--out', join(tmp, 'out-two'), '--cache', cache, '--quiet', '--examples', '0', '--no-tune'], io);
    expect(r.code, io.e).toBe(0);
    const run = r.run!;
    expect(run.recognizer.name).toBe('edgeface-s1.safetensors');
    expect(run.galleryRecognizer!.name).toBe('edgeface-s2.safetensors');
    expect(run.galleryRecognizer!.hash).not.toBe(run.recognizer.hash);
    expect(run.recognizer.metric).toBe('cosine');
    const { lr, gallery } = neededItems(run.plans);
    const keys = (items: Item[]) => items.map((i) => `${i.dataset}/${i.path}`).sort();
    const held = (hash: string, group: string) => {
      const f = join(cache, hash, `${group}.emb`);
      return existsSync(f) ? new CacheGroup(f, 512) : null;
    };
    const gHr = held(run.galleryRecognizer!.hash, 'p1-hr')!, pHr = held(run.recognizer.hash, 'p1-hr')!;
    expect(held(run.galleryRecognizer!.hash, 'p1-lr16-clean-srbicubic')).toBeNull(); // no LR probe through the gallery recognizer
    expect(held(run.recognizer.hash, 'p1-lr16-clean-srbicubic')!.size).toBe(lr.length);
    expect(keys(gallery).every((k) => gHr.has(k))).toBe(true);
    expect(gHr.size).toBe(gallery.length);
    expect(keys(lr).every((k) => pHr.has(k))).toBe(true);
    expect(pHr.size).toBe(lr.length);
    expect(r.table).toMatch(/^Gallery side \(full resolution\): edgeface-s2\.safetensors \([0-9a-f]{16}\); probe side \(every resolution\): edgeface-s1\.safetensors/);
    expect(run.rows.every((row) => row.dropped === 0)).toBe(true);
  });

  it('--match-gallery: at an LR size the gallery side is the clean LR of the gallery images through the SR; full resolution unchanged', async () => {
    const m = buildModel('edgeface-xxs', {}, 7);
    const file = join(tmp, 'edgeface-match.safetensors');
    writeFileSync(file, await saveModuleBytes(m, { model: 'edgeface-xxs', config: modelConfig('edgeface-xxs', m) }));
    m.dispose();
    const cache = join(tmp, 'cache-match');
    const common = ['--recognizer', file, '--protocol', 'lfw-verify,orl', '--sizes', '16', '--limit', '3', '--cache', cache, '--quiet', '--examples', '0', '--no-tune'];
    const io = capture();
    const plain = await evalCommand([...common, '--out', join(tmp, 'out-plain')], io);
    const matched = await evalCommand([...common, '--match-gallery', '--out', join(tmp, 'out-match')], io);
    expect(plain.code, io.e).toBe(0);
    expect(matched.code, io.e).toBe(0);
    const run = matched.run!;
    expect(run.matchGallery).toBe(true);
    expect(plain.run!.matchGallery).toBe(false);
    const lr16 = new CacheGroup(join(cache, run.recognizer.hash, 'p1-lr16-clean-srbicubic.emb'), 512);
    const hr = new CacheGroup(join(cache, run.recognizer.hash, 'p1-hr.emb'), 512);
    const { gallery } = neededItems(run.plans);
    expect(gallery.every((g) => lr16.has(itemKey(g)))).toBe(true); // the gallery images' clean 16 px LR, embedded
    const c16: Condition = { size: 16, degrade: false };
    for (const [i, plan] of run.plans.entries()) {
      // full resolution: the same rows with and without matching
      expect(run.rows[2 * i]!.resolution).toBe('full');
      expect(run.rows[2 * i]).toEqual(plain.run!.rows[2 * i]);
      // 16 px: both sides from the 16 px group
      const byHand = evaluatePlan(plan, c16, (it, c, role) => (role === 'gallery' ? lr16 : c.size === null ? hr : lr16).get(itemKey(it)), 512, 'cosine');
      expect(run.rows[2 * i + 1]).toEqual({ ...byHand, psnr: run.rows[2 * i + 1]!.psnr, ssim: run.rows[2 * i + 1]!.ssim });
    }
    // and the matched gallery embeddings are not the full-resolution ones
    expect(gallery.every((g) => lr16.get(itemKey(g))!.some((v, k) => Math.abs(v - hr.get(itemKey(g))![k]!) > 1e-4))).toBe(true);
    expect(matched.table).toMatch(/^Gallery side resolution-matched at each LR size/);
    expect(JSON.parse(readFileSync(join(tmp, 'out-match', 'results.json'), 'utf8')).matchGallery).toBe(true);
    expect(parseEvalArgs([]).matchGallery).toBe(false);
  });

  it('--templates / --hypotheses (method D): each gallery entry scores by its best template and each LR probe by its best hypothesis, as template-fusion.ts S_max computes from embeddings made independently', async () => {
    const m = buildModel('edgeface-xxs', {}, 8);
    const file = join(tmp, 'edgeface-tpl.safetensors');
    writeFileSync(file, await saveModuleBytes(m, { model: 'edgeface-xxs', config: modelConfig('edgeface-xxs', m) }));
    m.dispose();
    const io = capture();
    const r = await evalCommand(['--recognizer', file, '--protocol', 'orl', '--sizes', '16', '--limit', '4', '--template-chains', '1,1', '--hypotheses', '8',
      '--out', join(tmp, 'out-tpl'), '--cache', join(tmp, 'cache-tpl'), '--quiet', '--examples', '0', '--no-tune'], io);
    expect(r.code, io.e).toBe(0);
    const run = r.run!;
    expect(run.templates).toBe(13); // 11 degradations + 1 chain of 2 + 1 of 3, besides the crop
    expect(run.hypotheses).toBe(6); // σ = k/7: 0 is the probe, 1/7 and 2/7 (< 0.3) are the probe itself, 3/7 .. 1 are deblurred
    expect(r.table).toContain('Gallery side: the crop and 13 degraded templates of it, the best-scoring taken (S_max).');
    const json = JSON.parse(readFileSync(join(tmp, 'out-tpl', 'results.json'), 'utf8'));
    expect(json.templates).toEqual({ chains2: 1, chains3: 1, embedded: 13 });
    // by hand: the templates and hypotheses made here, embedded here, fused by fuseScores
    const { galleryTemplates, deblurHypotheses, hypothesisSigmas, fuseScores } = await import('../../src/train/template-fusion.js');
    const { stableIndex } = await import('../../src/train/embeddings.js');
    const rec = await loadRecognizer(file);
    try {
      const embed = async (imgs: ChwImage[]) => {
        const prepared = imgs.map((x) => rec.prepare(x));
        const px = 3 * 112 * 112;
        const x = new Float32Array(prepared.length * px);
        prepared.forEach((p, k) => x.set(p.data, k * px));
        return rec.embed(x, [prepared.length, 3, 112, 112]);
      };
      const plan = run.plans[0]! as Extract<ProtocolPlan, { kind: 'ident' }>;
      const root = run.root;
      const gal = await Promise.all(plan.gallery.map(async (g) => {
        const hr = (await loadHr([g], root))[0]!;
        return embed((await galleryTemplates(hr, stableIndex(itemKey(g)), { chains2: 1, chains3: 1 })).map((t) => t.img));
      }));
      const probes = plan.probes.filter((p) => plan.gallery.some((g) => g.person === p.person));
      const c16: Condition = { size: 16, degrade: false };
      const prb = await Promise.all(probes.map(async (p) => {
        const hr = (await loadHr([p], root))[0]!;
        const { lr } = await probeImages([hr], [itemKey(p)], c16, BICUBIC);
        return embed(await BICUBIC.run(deblurHypotheses(lr[0]!, hypothesisSigmas(8))));
      }));
      let correct = 0;
      const gen: number[] = [], imp: number[] = [];
      prb.forEach((pe, i) => {
        const scores = gal.map((ge) => fuseScores('S_max', 'cosine', pe, 8, ge, 14, 512));
        const best = scores.indexOf(Math.max(...scores));
        if (plan.gallery[best]!.person === probes[i]!.person) correct++;
        scores.forEach((v, j) => (plan.gallery[j]!.person === probes[i]!.person ? gen : imp).push(v));
      });
      const row16 = run.rows.find((x) => x.resolution === '16x16')!;
      expect(row16.n).toBe(probes.length);
      expect(row16.rank1).toBeCloseTo(correct / probes.length, 12);
      expect(row16.auc).toBeCloseTo(aucMannWhitney(gen, imp), 6);
      // the full-resolution row: the probe itself (no hypotheses) against the templates
      const rowFull = run.rows.find((x) => x.resolution === 'full')!;
      expect(rowFull.n).toBe(probes.length);
    } finally {
      rec.dispose();
    }
    expect(parseEvalArgs(['--templates']).templates).toEqual({ chains2: 12, chains3: 12 });
    expect(() => parseEvalArgs(['--template-chains', '3'])).toThrow('--template-chains expects two counts N2,N3');
    expect(() => parseEvalArgs(['--hypotheses', '0'])).toThrow('--hypotheses expects an integer >= 1');
  });

  it('--concat-bicubic (method B): each LR probe is its SR and bicubic embeddings concatenated, the gallery the HR embedding twice; errors without an SR model', async () => {
    const m = buildModel('edgeface-xxs', {}, 11);
    const rfile = join(tmp, 'edgeface-concat.safetensors');
    writeFileSync(rfile, await saveModuleBytes(m, { model: 'edgeface-xxs', config: modelConfig('edgeface-xxs', m) }));
    m.dispose();
    const d = buildModel('dsr', { channels: 4, blocks: 1, inputSize: 16 }, 12);
    const sfile = join(tmp, 'dsr-concat.safetensors');
    writeFileSync(sfile, await saveModuleBytes(d, { model: 'dsr', config: modelConfig('dsr', d) }));
    d.dispose();
    const cache = join(tmp, 'cache-concat');
    const io = capture();
    const r = await evalCommand(['--recognizer', rfile, '--sr', sfile, '--protocol', 'orl,lfw-verify', '--sizes', '16', '--limit', '4', '--concat-bicubic',
      '--out', join(tmp, 'out-concat'), '--cache', cache, '--quiet', '--examples', '0', '--no-tune'], io);
    expect(r.code, io.e).toBe(0);
    const run = r.run!;
    expect(run.concatBicubic).toBe(true);
    const dir = join(cache, run.recognizer.hash);
    const srGroup = readdirSync(dir).find((f) => /^p1-lr16-clean-sr[0-9a-f]+\.emb$/.test(f) && !f.includes('srbicubic'))!;
    const groups = { hr: new CacheGroup(join(dir, 'p1-hr.emb'), 512), sr: new CacheGroup(join(dir, srGroup), 512), bic: new CacheGroup(join(dir, 'p1-lr16-clean-srbicubic.emb'), 512) };
    const cat = (a?: Float32Array, b?: Float32Array) => (a && b ? Float32Array.from([...a, ...b]) : undefined);
    const c16: Condition = { size: 16, degrade: false };
    for (const [i, plan] of run.plans.entries()) {
      const byHand = evaluatePlan(plan, c16, (it, c, role) => {
        const k = itemKey(it);
        if (role === 'gallery' || c.size === null) return cat(groups.hr.get(k), groups.hr.get(k));
        return cat(groups.sr.get(k), groups.bic.get(k));
      }, 1024, 'cosine');
      const row = run.rows[2 * i + 1]!;
      expect(row.resolution).toBe('16x16');
      expect({ ...row, psnr: undefined, ssim: undefined }).toEqual({ ...byHand, psnr: undefined, ssim: undefined });
    }
    expect(r.table).toContain("Each LR probe: its SR and bicubic faces' embeddings concatenated");
    const bad = capture();
    expect((await evalCommand(['--recognizer', rfile, '--protocol', 'orl', '--sizes', '16', '--concat-bicubic', '--cache', cache, '--quiet', '--no-tune'], bad)).code).toBe(1);
    expect(bad.e).toContain('--concat-bicubic concatenates the SR face');
    const bad2 = capture();
    expect((await evalCommand(['--recognizer', rfile, '--sr', sfile, '--protocol', 'orl', '--sizes', '16', '--concat-bicubic', '--match-gallery', '--cache', cache, '--quiet', '--no-tune'], bad2)).code).toBe(1);
    expect(bad2.e).toContain('does not combine with a gallery recognizer, gallery matching, templates or hypotheses');
  });

  it('method A\'s probe sizes: 7, 14 and 28 px (the x16, x8, x4 of the crop) evaluate like the others', async () => {
    const m = buildModel('edgeface-xxs', {}, 13);
    const file = join(tmp, 'edgeface-sizes.safetensors');
    writeFileSync(file, await saveModuleBytes(m, { model: 'edgeface-xxs', config: modelConfig('edgeface-xxs', m) }));
    m.dispose();
    const io = capture();
    const r = await evalCommand(['--recognizer', file, '--protocol', 'orl', '--sizes', '28,14,7', '--limit', '3', '--out', join(tmp, 'out-sizes'),
      '--cache', join(tmp, 'cache-sizes'), '--quiet', '--examples', '0', '--no-tune'], io);
    expect(r.code, io.e).toBe(0);
    expect(r.run!.rows.map((x) => x.resolution)).toEqual(['full', '28x28', '14x14', '7x7']);
    for (const row of r.run!.rows) expect(row.n).toBeGreaterThan(0);
    // the bicubic of a 7 px probe carries less of the crop than that of a 28 px one
    const [, p28, , p7] = r.run!.rows;
    expect(p28!.psnr!).toBeGreaterThan(p7!.psnr!);
  });

  it('fusedScoreMatrix: the best score over every pair of rows (brute force), and scoreMatrix with one row per item', async () => {
    const { fusedScoreMatrix, scoreMatrix } = await import('../../src/train/scoring.js');
    const rng = new Rng(3);
    const items = (n: number, k: () => number) => Array.from({ length: n }, () => Float32Array.from({ length: k() * 5 }, () => rng.normal()));
    const a = items(4, () => 1 + Math.floor(rng.next() * 3)), b = items(3, () => 1 + Math.floor(rng.next() * 4));
    for (const metric of ['cosine', 'euclidean'] as const) {
      const f = fusedScoreMatrix(a, b, 5, metric);
      a.forEach((ai, i) => b.forEach((bj, j) => {
        const all = scoreMatrix(ai, bj, 5, metric);
        expect(f[i * 3 + j]).toBeCloseTo(Math.max(...all), 5);
      }));
      const one = items(3, () => 1), two = items(2, () => 1);
      const flat = (xs: Float32Array[]) => Float32Array.from(xs.flatMap((x) => [...x]));
      expect([...fusedScoreMatrix(one, two, 5, metric)].map((v) => v.toFixed(5))).toEqual([...scoreMatrix(flat(one), flat(two), 5, metric)].map((v) => v.toFixed(5)));
    }
    expect(() => fusedScoreMatrix([new Float32Array(7)], [new Float32Array(5)], 5, 'cosine')).toThrow('fusedScoreMatrix: an entry has 7 values, not a positive multiple of 5');
    // Pearson (--metric pearson) = template-fusion.ts's correlation, written separately
    const { similarity } = await import('../../src/train/template-fusion.js');
    const x = items(3, () => 1), y = items(4, () => 1);
    const flatX = Float32Array.from(x.flatMap((v) => [...v])), flatY = Float32Array.from(y.flatMap((v) => [...v]));
    const p = scoreMatrix(flatX, flatY, 5, 'pearson');
    x.forEach((xi, i) => y.forEach((yj, j) => expect(p[i * 4 + j]).toBeCloseTo(similarity('pearson', xi, 0, yj, 0, 5), 5)));
    expect(parseEvalArgs(['--metric', 'pearson']).metric).toBe('pearson');
  });

  it('a gallery recognizer of another dimension: a clear error naming both', async () => {
    const ef = buildModel('edgeface-xxs', {}, 3);
    const file = join(tmp, 'edgeface-512.safetensors');
    writeFileSync(file, await saveModuleBytes(ef, { model: 'edgeface-xxs', config: modelConfig('edgeface-xxs', ef) }));
    ef.dispose();
    const io = capture();
    const r = await evalCommand(['--recognizer', file, '--gallery-recognizer', 'dlib', '--protocol', 'orl', '--cache', join(tmp, 'cache'), '--quiet', '--no-tune'], io);
    expect(r.code).toBe(1);
    expect(io.e).toMatch(/^lrfr eval: the gallery recognizer dlib gives 128-D embeddings and the probe recognizer edgeface-512\.safetensors 512-D/);
    expect(parseEvalArgs(['--gallery-recognizer', 'dlib']).galleryRecognizer).toBe('dlib');
    expect(parseEvalArgs([]).galleryRecognizer).toBeUndefined();
  });

  it('the dlib recognizer needs its loader injected (src/train does not read face-api itself)', async () => {
    await expect(loadRecognizer('dlib')).rejects.toThrow(/recognizer dlib: no loader for face-api's weights/);
  });
});

describe('bad inputs', () => {
  it('missing data root: one clear message', async () => {
    const io = capture();
    const r = await evalCommand(['--data', join(tmp, 'nowhere'), '--cache', join(tmp, 'cache'), '--quiet'], io);
    expect(r.code).toBe(1);
    expect(io.e).toMatch(/^lrfr eval: lrfr: face data not found under .*nowhere/);
    expect(io.e.match(/not found/g)).toHaveLength(1);
  });

  it('unknown protocol / size: usage errors', async () => {
    for (const [a, re] of [[['--protocol', 'lfw,orl'], /unknown protocol "lfw"/], [['--sizes', '16,20'], /unknown size 20/], [['--sizes', 'big'], /unknown size "big"/]] as const) {
      const io = capture();
      expect((await evalCommand([...a], io)).code).toBe(2);
      expect(io.e).toMatch(re);
    }
    expect(() => parseEvalArgs(['--limit', '0'])).toThrow(/--limit expects an integer >= 1/);
    expect(parseEvalArgs([]).tune).toBe(false); // tuning only on request (shipped defaults otherwise)
    expect(parseEvalArgs(['--tune']).tune).toBe(true);
    expect(parseEvalArgs(['--tune', '--no-tune']).tune).toBe(false);
  });

  it('a recognizer file that fails to load: the loader message', async () => {
    const bad = join(tmp, 'bad.safetensors');
    writeFileSync(bad, 'not a safetensors file');
    const io = capture();
    const r = await evalCommand(['--recognizer', bad, '--protocol', 'orl', '--cache', join(tmp, 'cache'), '--quiet'], io);
    expect(r.code).toBe(1);
    expect(io.e).toMatch(/bad\.safetensors: invalid safetensors file/);
    const io2 = capture();
    expect((await evalCommand(['--recognizer', join(tmp, 'absent.safetensors'), '--protocol', 'orl', '--quiet'], io2)).code).toBe(1);
    expect(io2.e).toMatch(/cannot read recognizer .*absent\.safetensors/);
  });
});

describe('lrfr sr', () => {
  it('super-resolves a 24x24 face to a 112x112 PNG (bicubic)', async () => {
    const crop = await loadFace(LFW_IMG, { dataset: 'lfw' });
    const inp = join(tmp, 'lr24.png'), out = join(tmp, 'sr.png');
    await writePng(inp, clamp01(downsample(crop, 24)));
    const io = capture();
    expect(await srCommand([inp, out, '--model', 'bicubic'], io), io.e).toBe(0);
    const y = await decodeImage(out);
    expect([y.w, y.h]).toEqual([112, 112]);
    // close to the HR crop it came from (a blurry copy of it)
    let s = 0;
    for (let i = 0; i < y.data.length; i++) s += Math.abs(y.data[i]! - crop.data[i]!);
    expect(s / y.data.length).toBeLessThan(0.08);
  });

  it('rejects an unreadable image, a photo without a face and a non-square crop', async () => {
    const junk = join(tmp, 'junk.png');
    writeFileSync(junk, 'nope');
    const io = capture();
    expect(await srCommand([junk, join(tmp, 'x.png')], io)).toBe(1);
    expect(io.e).toMatch(/cannot read image .*junk\.png/);
    expect(existsSync(join(tmp, 'x.png'))).toBe(false);
    // larger than 112: a photo, searched for faces (a flat grey one has none)
    const big = join(tmp, 'big.png');
    await sharp({ create: { width: 120, height: 120, channels: 3, background: '#888' } }).png().toFile(big);
    const io2 = capture();
    expect(await srCommand([big, join(tmp, 'y.png')], io2)).toBe(1);
    expect(io2.e).toMatch(/no face found in .*big\.png \(120x120\)/);
    expect(readdirSync(tmp).filter((f) => f.startsWith('y.'))).toEqual([]);
    const rect = join(tmp, 'rect.png');
    await sharp({ create: { width: 30, height: 20, channels: 3, background: '#888' } }).png().toFile(rect);
    const io4 = capture();
    expect(await srCommand([rect, join(tmp, 'z.png')], io4)).toBe(1);
    expect(io4.e).toMatch(/rect\.png is 30x20; a face crop .* must be square/);
    const io3 = capture();
    expect(await srCommand([join(tmp, 'lr24.png')], io3)).toBe(2);
    expect(io3.e).toMatch(/expected an input and an output file/);
  });

  it('photos: every face is detected, aligned and super-resolved to its own file; bad files do not stop the others', async () => {
    // two LFW photos side by side at half size (faces ~70 px): a 250x125 photo, made here, not committed
    const [A, B] = ['Aaron_Peirsol', 'Abdullah'] as const;
    const half = (p: string) => sharp(lfwImagePath(p, 2)).resize(125, 125, { kernel: 'cubic' }).removeAlpha().png().toBuffer();
    const inDir = join(tmp, 'sr-in'), outDir = join(tmp, 'sr-out');
    mkdirSync(inDir, { recursive: true });
    await sharp({ create: { width: 250, height: 125, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .composite([{ input: await half(A), left: 0, top: 0 }, { input: await half(B), left: 125, top: 0 }]).png().toFile(join(inDir, 'pair.png'));
    writeFileSync(join(inDir, 'broken.jpg'), 'not a jpeg');
    await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png().toFile(join(inDir, 'sky.png'));
    const crop24 = clamp01(downsample(await loadFace(`${A}/${A}_0002.jpg`, { dataset: 'lfw' }), 24));
    await writePng(join(inDir, 'tiny.png'), crop24);
    mkdirSync(join(inDir, 'sub'));
    await writePng(join(inDir, 'sub', 'tiny.png'), crop24); // the same name in a subfolder: tiny-2.png, not overwritten

    const io = capture();
    expect(await srCommand([inDir, '--out-dir', outDir], io), io.e).toBe(1);
    expect(io.e).toMatch(/cannot read image .*broken\.jpg/);
    expect(io.e).toMatch(/no face found in .*sky\.png \(320x240\)/);
    expect(io.e).toMatch(/4 faces written from 3 of 5 files \(2 failed\)/);
    expect(readdirSync(outDir).sort()).toEqual(['pair.face0.png', 'pair.face1.png', 'tiny-2.png', 'tiny.png']);

    // each face's output is its person: closer to that person's project crop (the 143 window at
    // (53, 41)) than to the other's; the face whose box lies left is A
    const ref = { [A]: await loadFace(`${A}/${A}_0002.jpg`, { dataset: 'lfw' }), [B]: await loadFace(`${B}/${B}_0002.jpg`, { dataset: 'lfw' }) };
    const mad = (x: ChwImage, y: ChwImage) => { let s = 0; for (let i = 0; i < x.data.length; i++) s += Math.abs(x.data[i]! - y.data[i]!); return s / x.data.length; };
    const boxX = (k: number) => Number(new RegExp(`pair\\.png face ${k} \\(box (-?\\d+),`).exec(io.e)?.[1]);
    for (const k of [0, 1]) {
      const y = await decodeImage(join(outDir, `pair.face${k}.png`));
      expect([y.c, y.h, y.w]).toEqual([3, 112, 112]);
      const who = boxX(k) < 62 ? A : B, other = who === A ? B : A;
      const [dSelf, dOther] = [mad(y, ref[who]), mad(y, ref[other])];
      console.log(`lrfr sr photo face ${k} (${who}): mean |out - own crop| ${dSelf.toFixed(4)}, other's ${dOther.toFixed(4)}`);
      expect(dSelf).toBeLessThan(0.1);
      expect(dSelf).toBeLessThan(0.75 * dOther);
    }
    expect(new Set([boxX(0) < 62, boxX(1) < 62]).size).toBe(2);
    // the default probe is the face at its own size in the photo (~70 px here)
    const sizes = [...io.e.matchAll(/pair\.png face \d \(box .*?, (\d+) px face, (\d+)x\2 probe\)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(sizes).toHaveLength(2);
    for (const [native, probe] of sizes) { expect(native).toBeGreaterThan(50); expect(native).toBeLessThan(95); expect(probe).toBe(native); }
    // the crop went through as before
    const t = await decodeImage(join(outDir, 'tiny.png'));
    expect(mad(t, ref[A])).toBeLessThan(0.08);

    // one photo, one output name: <out>.face<k>.png, --size sets the probe
    const io2 = capture();
    const single = join(tmp, 'single.png');
    expect(await srCommand([join(inDir, 'pair.png'), single, '--size', '16'], io2), io2.e).toBe(0);
    expect(io2.e).toMatch(/16x16 probe\) -> .*single\.face0\.png/);
    expect(existsSync(single)).toBe(false);
    expect(existsSync(join(tmp, 'single.face0.png')) && existsSync(join(tmp, 'single.face1.png'))).toBe(true);
  });
});
