// Multi-template recognition (issue 15, method D) on one protocol of the project at one probe size:
// resolution matching, gallery degradation templates, multi-hypothesis probes and the score / template
// fusions of src/train/template-fusion.ts, with cosine, Pearson (and dlib's Euclidean) similarity.
//
//   npx tsx scripts/fusion-eval.mts --protocol orl|yaleb|blufr-ident|lfw-verify [--size 16]
//       [--recognizer weights/edgeface-c1-recognizer.safetensors | dlib | FILE] [--sr bicubic | FILE]
//       [--hypotheses 16] [--chains2 12] [--chains3 12] [--no-degradations] [--limit N] [--batch 32] [--data DIR] [--out FILE.json]
//
// Gallery side (identification: the gallery; verification: side a of each pair, at full resolution):
//   hr         the aligned crop (the project's protocol)
//   matched    the crop brought to the probe's size S and back to 112 by the probe's super-resolver
//   templates  hr + the 11 degradations + the chains (galleryTemplates)
//   all        templates + matched
// (--no-degradations: templates = hr alone, for large protocols: then only hr and matched differ.)
// Probe side (S x S, clean bicubic-AA from the crop, as lrfr eval): one (σ = 0) or all hypotheses,
// each super-resolved by --sr and embedded. Every (gallery, probe, fusion, similarity) is scored;
// identification reports rank-1, verification the 10-fold accuracy and TAR at FAR = 1e-3. ms per
// probe = measured time of its hypotheses (deblur, SR, embedding) on this machine.
// The protocol's people were never trained on (ORL, Yale B: held out entirely; LFW/BLUFR test side);
// nothing here is tuned: the method's parameters are fixed in template-fusion.ts.
import { writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { initNodeGPU } from '../src/node/gpu.js';
import { codeCommit } from '../src/cli/train.js';
import { loadFaceApiDlib } from '../src/node/dlib.js';
import { checkDataRoot } from '../src/train/data.js';
import { planProtocols, dataPartsFor, itemKey, PROTOCOLS, type Item, type ProtocolName } from '../src/train/eval-protocols.js';
import { loadHr, stableIndex } from '../src/train/embeddings.js';
import { loadRecognizer, loadSuperResolver, type Recognizer, type SuperResolver } from '../src/train/recognizers.js';
import { degradeLR, downsample, clamp01, LR_SIZES } from '../src/train/degrade.js';
import { cmc, kFoldAccuracy, tarAtFar } from '../src/train/metrics.js';
import type { ChwImage } from '../src/train/image.js';
import {
  galleryTemplates, hypothesisSigmas, deblurHypotheses, fuseScores, fuseGrid, dotForm, similarityMatrix, FUSIONS, type Fusion, type Similarity,
} from '../src/train/template-fusion.js';

interface Args {
  protocol: ProtocolName; size: number; recognizer: string; sr: string; hypotheses: number;
  chains2: number; chains3: number; singles: boolean; limit?: number; batch: number; data?: string; out?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { protocol: 'orl', size: 16, recognizer: 'weights/edgeface-c1-recognizer.safetensors', sr: 'bicubic', hypotheses: 16, chains2: 12, chains3: 12, singles: true, batch: 32 };
  const int = (k: string, v: string | undefined, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${k} needs an integer >= ${min}, got ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!, v = argv[i + 1];
    if (k === '--protocol') { if (!(PROTOCOLS as readonly string[]).includes(v ?? '')) throw new Error(`--protocol: one of ${PROTOCOLS.join(', ')}`); a.protocol = v as ProtocolName; i++; }
    else if (k === '--size') { a.size = int(k, v); if (!(LR_SIZES as readonly number[]).includes(a.size)) throw new Error(`--size: one of ${LR_SIZES.join(', ')}`); i++; }
    else if (k === '--recognizer') { a.recognizer = v ?? ''; i++; }
    else if (k === '--sr') { a.sr = v ?? ''; i++; }
    else if (k === '--hypotheses') { a.hypotheses = int(k, v); i++; }
    else if (k === '--chains2') { a.chains2 = int(k, v, 0); i++; }
    else if (k === '--chains3') { a.chains3 = int(k, v, 0); i++; }
    else if (k === '--no-degradations') { a.singles = false; a.chains2 = 0; a.chains3 = 0; }
    else if (k === '--limit') { a.limit = int(k, v); i++; }
    else if (k === '--batch') { a.batch = int(k, v); i++; }
    else if (k === '--data') { a.data = v; i++; }
    else if (k === '--out') { a.out = v; i++; }
    else throw new Error(`unknown argument ${k} (see the header of scripts/fusion-eval.mts)`);
  }
  return a;
}

/** Embeds 112 crops in batches; returns [n * dim] and the seconds spent. */
async function embedAll(rec: Recognizer, imgs: readonly ChwImage[], batch: number, label: string): Promise<{ emb: Float32Array; seconds: number }> {
  const t0 = performance.now();
  const out = new Float32Array(imgs.length * rec.dim);
  for (let i = 0; i < imgs.length; i += batch) {
    const part = imgs.slice(i, i + batch).map((x) => rec.prepare(x));
    const { c, h, w } = part[0]!;
    const x = new Float32Array(part.length * c * h * w);
    part.forEach((p, k) => x.set(p.data, k * c * h * w));
    out.set(await rec.embed(x, [part.length, c, h, w]), i * rec.dim);
    const done = Math.min(imgs.length, i + batch);
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(`\r  ${label}: ${done}/${imgs.length} embedded, ${s.toFixed(0)} s, ETA ${((s / done) * (imgs.length - done)).toFixed(0)} s   `);
  }
  process.stderr.write('\n');
  return { emb: out, seconds: (performance.now() - t0) / 1000 };
}


const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  await initNodeGPU();
  const root = checkDataRoot(a.data, dataPartsFor([a.protocol]));
  const plan = planProtocols([a.protocol], root, a.limit)[0]!;
  const rec = await loadRecognizer(a.recognizer, { loadDlib: loadFaceApiDlib });
  const sr: SuperResolver = await loadSuperResolver(a.sr);
  const sims: Similarity[] = rec.metric === 'euclidean' ? ['euclidean', 'cosine', 'pearson'] : ['cosine', 'pearson'];
  const S = a.size;
  try {
    // The two sides' images.
    const galleryItems: Item[] = [], probeItems: Item[] = [];
    const gi = new Map<string, number>(), pi = new Map<string, number>();
    const addTo = (list: Item[], idx: Map<string, number>, it: Item) => { if (!idx.has(itemKey(it))) { idx.set(itemKey(it), list.length); list.push(it); } };
    if (plan.kind === 'verify') for (const q of plan.pairs) { addTo(galleryItems, gi, q.a); addTo(probeItems, pi, q.b); }
    else { plan.gallery.forEach((g) => addTo(galleryItems, gi, g)); plan.probes.forEach((p) => addTo(probeItems, pi, p)); }
    console.log(`${a.protocol}: ${galleryItems.length} gallery-side and ${probeItems.length} probe-side images; recognizer ${rec.name}, SR ${sr.name}, probes ${S}x${S}, ${a.hypotheses} hypotheses`);
    const [ghr, phr] = await Promise.all([loadHr(galleryItems, root), loadHr(probeItems, root)]);
    if (ghr.some((x) => !x) || phr.some((x) => !x)) throw new Error('some images could not be decoded (lrfr eval lists them)');

    // Embeddings are cached (.cache/fusion/<key>.bin) by everything they depend on.
    const sigmas = hypothesisSigmas(a.hypotheses);
    const H = sigmas.length;
    const key = createHash('sha256').update(JSON.stringify({ v: 'f1', p: a.protocol, S, limit: a.limit ?? null, rec: rec.hash, sr: sr.hash, sigmas, c2: a.chains2, c3: a.chains3, singles: a.singles })).digest('hex').slice(0, 16);
    const cacheFile = join(process.cwd(), '.cache', 'fusion', `${key}.bin`);
    let tplNames: string[] = [];
    let gT: { emb: Float32Array; seconds: number }, gM: { emb: Float32Array; seconds: number }, pE: { emb: Float32Array; seconds: number };
    let probeMs: number;
    if (existsSync(cacheFile) && existsSync(`${cacheFile}.json`)) {
      const meta = JSON.parse(readFileSync(`${cacheFile}.json`, 'utf8')) as { tplNames: string[]; lens: number[]; probeMs: number; seconds: number[] };
      const buf = readFileSync(cacheFile);
      const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      const [l0, l1] = meta.lens as [number, number, number];
      tplNames = meta.tplNames;
      gT = { emb: all.subarray(0, l0), seconds: meta.seconds[0]! };
      gM = { emb: all.subarray(l0, l0 + l1), seconds: meta.seconds[1]! };
      pE = { emb: all.subarray(l0 + l1), seconds: meta.seconds[2]! };
      probeMs = meta.probeMs;
      console.log(`embeddings from ${cacheFile}`);
    } else {
      // Gallery templates: hr, the degradations and chains, and the resolution-matched crop.
      const tplImgs: ChwImage[] = [];
      for (let i = 0; i < galleryItems.length; i++) {
        const t = a.singles ? await galleryTemplates(ghr[i]!, stableIndex(itemKey(galleryItems[i]!)), { chains2: a.chains2, chains3: a.chains3 }) : [{ name: 'hr', img: ghr[i]! }];
        if (i === 0) tplNames = t.map((x) => x.name);
        for (const x of t) tplImgs.push(x.img);
      }
      const matched = await sr.run(ghr.map((x) => clamp01(downsample(x!, S))));
      gT = await embedAll(rec, tplImgs, a.batch, `gallery templates (${tplNames.length} per image)`);
      gM = await embedAll(rec, matched, a.batch, 'gallery, resolution-matched');

      // Probe hypotheses.
      const tp = performance.now();
      const hyps: ChwImage[] = [];
      for (let i = 0; i < probeItems.length; i++) {
        const lr = await degradeLR(phr[i]!, S, { model: 'clean', seed: 3, index: stableIndex(itemKey(probeItems[i]!)) });
        hyps.push(...deblurHypotheses(lr, sigmas));
      }
      const up: ChwImage[] = [];
      for (let i = 0; i < hyps.length; i += 256) up.push(...(await sr.run(hyps.slice(i, i + 256))));
      pE = await embedAll(rec, up, a.batch, `probes (${H} hypotheses each)`);
      probeMs = (performance.now() - tp) / probeItems.length;
      mkdirSync(dirname(cacheFile), { recursive: true });
      const all = new Float32Array(gT.emb.length + gM.emb.length + pE.emb.length);
      all.set(gT.emb); all.set(gM.emb, gT.emb.length); all.set(pE.emb, gT.emb.length + gM.emb.length);
      writeFileSync(cacheFile, all);
      writeFileSync(`${cacheFile}.json`, JSON.stringify({ tplNames, lens: [gT.emb.length, gM.emb.length, pE.emb.length], probeMs, seconds: [gT.seconds, gM.seconds, pE.seconds] }));
    }
    const T = tplNames.length;
    const probeMsSingle = probeMs / H; // the hypotheses cost alike: one of them
    const d = rec.dim;
    const TG = T + 1; // per gallery image: the T templates, then the matched crop
    const gAll = new Float32Array(galleryItems.length * TG * d);
    for (let g = 0; g < galleryItems.length; g++) {
      gAll.set(gT.emb.subarray(g * T * d, (g + 1) * T * d), g * TG * d);
      gAll.set(gM.emb.subarray(g * d, (g + 1) * d), (g * TG + T) * d);
    }
    // Gallery modes as contiguous column ranges of an image's TG vectors; probe modes as row ranges.
    const gCols: Record<string, [number, number]> = { hr: [0, 1], matched: [T, TG], templates: [0, T], all: [0, TG] };
    const pRows: Record<string, [number, number]> = { single: [0, 1], multi: [0, H] };
    const pairs: [number, number][] = plan.kind === 'ident'
      ? plan.probes.flatMap((q) => plan.gallery.map((g) => [pi.get(itemKey(q))!, gi.get(itemKey(g))!] as [number, number]))
      : plan.pairs.map((q) => [pi.get(itemKey(q.b))!, gi.get(itemKey(q.a))!]);

    const rows: Record<string, unknown>[] = [];
    const gModes = ['hr', 'matched', 'templates', 'all'], pModes = H > 1 ? ['single', 'multi'] : ['single'];
    for (const sim of sims) {
      // The full hypothesis x template score grid of every scored (probe, gallery) pair, as dot products.
      const ts = performance.now();
      const pf = dotForm(sim, pE.emb, probeItems.length * H, d), gf = dotForm(sim, gAll, galleryItems.length * TG, d);
      const grids = new Float32Array(pairs.length * H * TG);
      const rowsOf = (f: { v: Float32Array; sq: Float64Array }, first: number, n: number) => ({ v: f.v.subarray(first * d, (first + n) * d), sq: f.sq.subarray(first, first + n) });
      pairs.forEach(([p, g], k) => grids.set(similarityMatrix(sim, rowsOf(pf, p * H, H), rowsOf(gf, g * TG, TG), d), k * H * TG));
      console.log(`  ${sim}: ${pairs.length} pairs x ${H} x ${TG} scores in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
      for (const gm of gModes) {
        for (const pm of pModes) {
          const [c0, c1] = gCols[gm]!, [r0, r1] = pRows[pm]!;
          const cols = Array.from({ length: c1 - c0 }, (_, i) => c0 + i), rws = Array.from({ length: r1 - r0 }, (_, i) => r0 + i);
          const single = cols.length === 1 && rws.length === 1;
          for (const fusion of (single ? ['S_max'] : FUSIONS) as Fusion[]) {
            const score = (k: number): number => {
              const [p, g] = pairs[k]!;
              if (fusion === 'S_max' || fusion === 'S_add' || fusion === 'Smax_Sadd') return fuseGrid(fusion, grids.subarray(k * H * TG, (k + 1) * H * TG), H, TG, rws, cols);
              return fuseScores(fusion, sim, pE.emb.subarray((p * H + r0) * d, (p * H + r1) * d), rws.length, gAll.subarray((g * TG + c0) * d, (g * TG + c1) * d), cols.length, d);
            };
            const scores = pairs.map((_, k) => score(k));
            const row: Record<string, unknown> = { gallery: gm, probe: pm, fusion: single ? '—' : fusion, similarity: sim };
            if (plan.kind === 'ident') {
              row.rank1 = cmc(scores, plan.probes.map((q) => q.person), plan.gallery.map((g) => g.person), 1).rank1;
            } else {
              const same = plan.pairs.map((q) => q.same);
              row.accuracy = kFoldAccuracy(scores, same, plan.pairs.map((q) => q.fold)).mean;
              row.tar1e3 = tarAtFar(scores.filter((_, i) => same[i]), scores.filter((_, i) => !same[i]), 1e-3).tar;
            }
            row.embeddingsPerProbe = rws.length;
            row.msPerProbe = pm === 'multi' ? probeMs : probeMsSingle;
            row.galleryTemplates = cols.length;
            rows.push(row);
          }
        }
      }
    }
    const metricHead = plan.kind === 'ident' ? 'rank-1' : 'accuracy | TAR@FAR=1e-3';
    const lines = [
      `${a.protocol} at ${S}x${S}: recognizer ${rec.name} (${rec.hash.slice(0, 12)}), SR ${sr.name}, ${H} hypotheses (σ 0..1 LR px), ${T} gallery templates (+ matched); ${new Date().toISOString().slice(0, 10)}, commit ${codeCommit()}`,
      '',
      `| gallery | probe | fusion | similarity | ${metricHead} | templates / embeddings per probe | ms per probe |`,
      `|---|---|---|---|${plan.kind === 'ident' ? '---:' : '---:|---:'}|---:|---:|`,
      ...rows.map((r) => `| ${String(r.gallery)} | ${String(r.probe)} | ${String(r.fusion)} | ${String(r.similarity)} | ${plan.kind === 'ident' ? pct(r.rank1 as number) : `${pct(r.accuracy as number)} | ${pct(r.tar1e3 as number)}`} | ${String(r.galleryTemplates)} / ${String(r.embeddingsPerProbe)} | ${(r.msPerProbe as number).toFixed(1)} |`),
    ];
    console.log(lines.join('\n'));
    const wall = (performance.now() - t0) / 1000;
    console.log(`\nwall ${Math.floor(wall / 60)} min ${Math.round(wall % 60)} s (gallery embeddings ${(gT.seconds + gM.seconds).toFixed(0)} s, probes ${pE.seconds.toFixed(0)} s of embedding)`);
    if (a.out) {
      mkdirSync(dirname(a.out), { recursive: true });
      writeFileSync(a.out, JSON.stringify({
        protocol: a.protocol, size: S, recognizer: { name: rec.name, hash: rec.hash }, sr: { name: sr.name, hash: sr.hash },
        hypotheses: sigmas, templates: [...tplNames, 'matched'], options: a, commit: codeCommit(), date: new Date().toISOString(), wallSeconds: wall, rows,
        table: lines.join('\n'),
      }, null, 1));
      console.log(`wrote ${a.out}`);
    }
  } finally {
    sr.dispose();
    rec.dispose();
  }
}

main().then(() => process.exit(0), (e) => { console.error(`fusion-eval: ${(e as Error).message ?? String(e)}`); process.exit(1); });
