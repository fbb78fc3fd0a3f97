// Load and scale of the gallery storage (no GPU: synthetic L2-normalised 512-D embeddings, two
// templates per person around a random centre, probes = a person's centre plus noise). Per size and
// backend: the write rate (rows/s of upsert in batches, fused rows included), identify latency p50/p99
// with exact search and with the ANN index (build time too), recall@1 of the ANN index against exact
// search (same top-1 person), disk size; then a bounded load test: C concurrent identify calls
// against one gallery, on 127.0.0.1 only (PostgreSQL is PGlite served over the wire there).
//   npx tsx scripts/gallery-scale.mts [--sizes 10000,100000,1000000] [--backends lancedb,postgres]
//        [--queries 200] [--concurrency 8] [--dim 512] [--out results/gallery-scale-<date>.json]
//        [--pg-index hnsw|ivf-pq] [--pg-lists N] [--no-load] [--probes auto[,20,40,80]] [--ef-search auto[,100,200,400]]
// --probes: IVF partitions probed by the ANN search (the first is the reported figure; each further
// one adds an ANN p50/p99 and recall@1 to the JSON and the log); --ef-search: the same for an HNSW
// index's candidate list (pgvector hnsw.ef_search); its first value is also the load test's.
// --pg-index ivf-pq builds pgvector's IVFFlat instead of HNSW (far quicker to build on PGlite),
// with --pg-lists N lists instead of round(sqrt(rows)) (PGlite's heap holds the k-means of fewer);
// --no-load skips the load test (for the exact-vs-ANN sweep that places $LRFR_ANN_MIN_ROWS).
// A real PostgreSQL server instead of PGlite: LRFR_SCALE_PG=postgres://user@127.0.0.1/db.
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { LanceGallery } from '../src/gallery/lance.js';
import { PgGallery } from '../src/gallery/postgres.js';
import { fusedRow, l2normalize, templateId, annProbes, ivfLists, type GalleryStore, type GalleryModel, type TemplateRow } from '../src/gallery/store.js';
import { mulberry32, type Rng } from '../src/node/fuzz-loaders.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const sizes = arg('sizes', '10000,100000,1000000').split(',').map(Number);
const backends = arg('backends', 'lancedb,postgres').split(',');
const queries = Number(arg('queries', '200'));
const concurrency = Number(arg('concurrency', '8'));
const dim = Number(arg('dim', '512'));
const date = new Date().toISOString().slice(0, 10);
const out = arg('out', `results/gallery-scale-${date}.json`);
const pgIndex = arg('pg-index', 'hnsw') as 'hnsw' | 'ivf-pq';
const pgLists = process.argv.includes('--pg-lists') ? Number(arg('pg-lists', '')) : undefined;
const noLoad = process.argv.includes('--no-load');
if (pgLists !== undefined && !(Number.isInteger(pgLists) && pgLists >= 1)) throw new Error(`--pg-lists must be a positive integer, got "${arg('pg-lists', '')}"`);
/** The IVF partitions / lists the backend's index gets over `rows` rows. */
const lists0 = (backend: string, rows: number): number => (backend === 'postgres' && pgIndex === 'ivf-pq' && pgLists !== undefined ? pgLists : ivfLists(rows));
// 'auto': the library's default (annProbes(rows)); numbers: fixed
const probesList: (number | undefined)[] = arg('probes', 'auto').split(',').map((x) => (x === 'auto' ? undefined : Number(x)));
const efList: (number | undefined)[] = arg('ef-search', 'auto').split(',').map((x) => (x === 'auto' ? undefined : Number(x)));
const T0 = performance.now();
const log = (s: string) => process.stderr.write(`[${((performance.now() - T0) / 1000).toFixed(0)} s] ${s}\n`);
const MODEL: GalleryModel = { model: 'synthetic', modelHash: 'scale0000000000', dim };

function randn(r: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}
const noisy = (c: Float32Array, r: Rng, sigma: number) => l2normalize(Array.from(c, (x) => x + (sigma / Math.sqrt(dim)) * randn(r)));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Row {
  backend: string; rows: number; people: number; writeRowsPerS: number; writeSeconds: number; bytes: number;
  exactP50: number; exactP99: number; indexKind: string | null; indexBuildS: number | null; annP50: number | null; annP99: number | null;
  recallAt1: number | null; probes: number; lists: number | null; byProbes: { probes: number; annP50: number; annP99: number; recallAt1: number }[];
  byEfSearch: { efSearch: number | 'auto'; annP50: number; annP99: number; recallAt1: number }[]; load: { concurrency: number; calls: number; perS: number; p50: number; p99: number } | null;
}

async function openBackend(backend: string, tmp: string, size: number): Promise<{ g: GalleryStore; stop: () => Promise<void> }> {
  if (backend === 'lancedb') return { g: await LanceGallery.open(join(tmp, `lance-${size}`)), stop: async () => {} };
  if (process.env.LRFR_SCALE_PG) return { g: await PgGallery.open(`${process.env.LRFR_SCALE_PG}${process.env.LRFR_SCALE_PG.includes('?') ? '&' : '?'}gallery=scale_${size}`, { maxConnections: concurrency }), stop: async () => {} };
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ dataDir: join(tmp, `pg-${size}`), extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: concurrency + 2 });
  await server.start();
  const g = await PgGallery.open(`postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable&gallery=scale`, { maxConnections: concurrency });
  return { g, stop: async () => { await server.stop(); await db.close(); } };
}

async function timeSearches(g: GalleryStore, probes: Float32Array[], useIndex: boolean, nprobes?: number, efSearch?: number): Promise<{ ms: number[]; top1: string[] }> {
  const ms: number[] = [], top1: string[] = [];
  for (const p of probes) {
    const t0 = performance.now();
    const m = await g.search(p, { k: 5, useIndex, exact: !useIndex, probes: nprobes, efSearch });
    ms.push(performance.now() - t0);
    top1.push(m[0]?.person ?? '');
  }
  return { ms, top1 };
}

const tmp = mkdtempSync(join(tmpdir(), 'lrfr-gallery-scale-'));
const results: Row[] = [];
/** Saves what is measured so far (finished rows, and the row in progress marked `partial`), so a run
 * cut off after an hour of writing still leaves its figures. */
function save(partial?: Partial<Row>): void {
  mkdirSync('results', { recursive: true });
  writeFileSync(out, JSON.stringify({ date, sizes, backends, queries, concurrency, dim, results, ...(partial ? { partial } : {}) }, null, 2));
}
try {
  for (const size of sizes) {
    const people = Math.ceil(size / 2);
    for (const backend of backends) {
      const { g, stop } = await openBackend(backend, tmp, size);
      try {
        await g.bind(MODEL);
        const r = mulberry32(size);
        const centres: Float32Array[] = [];
        const t0 = performance.now();
        let written = 0;
        const BATCH = 2000; // people per commit
        for (let p0 = 0; p0 < people; p0 += BATCH) {
          const rows: TemplateRow[] = [];
          const now = new Date().toISOString();
          for (let p = p0; p < Math.min(people, p0 + BATCH); p++) {
            const c = l2normalize(Array.from({ length: dim }, () => randn(r)));
            centres.push(c);
            const person = `p${p}`;
            const ts: TemplateRow[] = [0, 1].map((t) => ({ id: templateId(person, `s${t}`, 'hr', t), person, source: `synthetic/${p}/${t}`, model: MODEL.model, modelHash: MODEL.modelHash, kind: 'hr', embedding: noisy(c, r, 0.6), enrolledAt: now }));
            rows.push(...ts, fusedRow(person, ts, MODEL, now));
          }
          await g.upsert(rows);
          written += rows.length;
          if (((p0 / BATCH) | 0) % 10 === 0) log(`${backend} ${size}: ${written} rows written, ${(written / ((performance.now() - t0) / 1000)).toFixed(0)} rows/s`);
        }
        const writeSeconds = (performance.now() - t0) / 1000;
        log(`${backend} ${size}: ${written} rows in ${writeSeconds.toFixed(1)} s; compacting / exact search`);
        save({ backend, rows: written, people, writeRowsPerS: written / writeSeconds, writeSeconds });
        if (g instanceof LanceGallery) await g.optimize(0);
        const qr = mulberry32(size + 1);
        const truth: string[] = [];
        const probes = Array.from({ length: queries }, () => {
          const p = Math.floor(qr() * people);
          truth.push(`p${p}`);
          return noisy(centres[p]!, qr, 0.6);
        });
        const exact = await timeSearches(g, probes, false);
        const row: Row = {
          backend, rows: written, people, writeRowsPerS: written / writeSeconds, writeSeconds, bytes: 0,
          exactP50: pct(exact.ms, 50), exactP99: pct(exact.ms, 99), indexKind: null, indexBuildS: null, annP50: null, annP99: null, recallAt1: null, probes: probesList[0] ?? annProbes(written, lists0(backend, written)), lists: backend === 'postgres' && pgIndex === 'ivf-pq' ? lists0(backend, written) : null, byProbes: [], byEfSearch: [], load: null,
        };
        log(`${backend} ${size}: exact p50 ${row.exactP50.toFixed(1)} ms, p99 ${row.exactP99.toFixed(1)} ms; building the ANN index`);
        save(row);
        const kind = backend === 'lancedb' ? 'ivf-pq' : pgIndex;
        const ti = performance.now();
        const lists = backend === 'postgres' && kind === 'ivf-pq' ? pgLists : undefined;
        await g.createIndex({ kind, lists });
        row.indexBuildS = (performance.now() - ti) / 1000;
        row.indexKind = backend === 'postgres' && kind === 'ivf-pq' ? 'ivfflat' : kind;
        const ann = await timeSearches(g, probes, true, probesList[0], efList[0]);
        row.annP50 = pct(ann.ms, 50);
        row.annP99 = pct(ann.ms, 99);
        row.recallAt1 = ann.top1.filter((p, i) => p === exact.top1[i]).length / queries;
        for (const np of probesList) {
          const a = np === probesList[0] ? ann : await timeSearches(g, probes, true, np);
          const x = { probes: np ?? annProbes(written, lists0(backend, written)), annP50: pct(a.ms, 50), annP99: pct(a.ms, 99), recallAt1: a.top1.filter((p, i) => p === exact.top1[i]).length / queries };
          row.byProbes.push(x);
          if (probesList.length > 1) log(`${backend} ${size}: probes ${x.probes}${np === undefined ? " (auto)" : ""}: ANN p50 ${x.annP50.toFixed(1)} ms, p99 ${x.annP99.toFixed(1)} ms, recall@1 ${x.recallAt1}`);
        }
        if (kind === 'hnsw') {
          for (const ef of efList) {
            const a = ef === efList[0] ? ann : await timeSearches(g, probes, true, probesList[0], ef);
            const x = { efSearch: ef ?? ('auto' as const), annP50: pct(a.ms, 50), annP99: pct(a.ms, 99), recallAt1: a.top1.filter((p, i) => p === exact.top1[i]).length / queries };
            row.byEfSearch.push(x);
            if (efList.length > 1) log(`${backend} ${size}: ef_search ${x.efSearch}: ANN p50 ${x.annP50.toFixed(1)} ms, p99 ${x.annP99.toFixed(1)} ms, recall@1 ${x.recallAt1}`);
          }
        }
        row.bytes = (await g.stats()).bytes;
        save(row);
        log(`${backend} ${size}: index ${row.indexBuildS.toFixed(1)} s, ANN p50 ${row.annP50.toFixed(1)} ms, p99 ${row.annP99.toFixed(1)} ms, recall@1 ${row.recallAt1}`);
        // bounded load: `concurrency` identify calls in flight, `queries` calls in all, 127.0.0.1 only
        const lat: number[] = [];
        let next = noLoad ? probes.length : 0;
        const tl = performance.now();
        await Promise.all(Array.from({ length: concurrency }, async () => {
          while (next < probes.length) {
            const p = probes[next++]!;
            const t = performance.now();
            await g.search(p, { k: 5, efSearch: efList[0] });
            lat.push(performance.now() - t);
          }
        }));
        if (!noLoad) row.load = { concurrency, calls: probes.length, perS: probes.length / ((performance.now() - tl) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
        results.push(row);
        save();
        process.stderr.write(`${JSON.stringify(row)}\n  (exact top-1 = the probe's person: ${exact.top1.filter((p, i) => p === truth[i]).length}/${queries})\n`);
      } finally {
        await g.close();
        await stop();
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

let md = '| backend | rows | write rows/s | disk | exact p50 / p99 | ANN index (build) | ANN p50 / p99 | recall@1 | load: C calls in flight, calls/s, p50 / p99 |\n|---|---:|---:|---:|---|---|---|---:|---|\n';
for (const x of results) {
  md += `| ${x.backend} | ${x.rows.toLocaleString('en')} | ${x.writeRowsPerS.toFixed(0)} | ${(x.bytes / 1e6).toFixed(1)} MB | ${x.exactP50.toFixed(1)} / ${x.exactP99.toFixed(1)} ms | ${x.indexKind}${x.lists ? `, ${x.lists} lists` : ''} (${x.indexBuildS!.toFixed(1)} s) | ${x.annP50!.toFixed(1)} / ${x.annP99!.toFixed(1)} ms | ${(100 * x.recallAt1!).toFixed(1)} % | ${x.load ? `${x.load.concurrency}, ${x.load.perS.toFixed(0)}/s, ${x.load.p50.toFixed(1)} / ${x.load.p99.toFixed(1)} ms` : '-'} |\n`;
}
if (probesList.length > 1) {
  md += '\n| backend | rows | exact p50 / p99 | IVF probes | ANN p50 / p99 | recall@1 |\n|---|---:|---|---:|---|---:|\n';
  for (const x of results) for (const b of x.byProbes) md += `| ${x.backend} | ${x.rows.toLocaleString('en')} | ${x.exactP50.toFixed(1)} / ${x.exactP99.toFixed(1)} ms | ${b.probes} | ${b.annP50.toFixed(1)} / ${b.annP99.toFixed(1)} ms | ${(100 * b.recallAt1).toFixed(1)} % |\n`;
}
if (efList.length > 1) {
  md += '\n| backend | rows | exact p50 / p99 | HNSW ef_search | ANN p50 / p99 | recall@1 |\n|---|---:|---|---:|---|---:|\n';
  for (const x of results) for (const b of x.byEfSearch) md += `| ${x.backend} | ${x.rows.toLocaleString('en')} | ${x.exactP50.toFixed(1)} / ${x.exactP99.toFixed(1)} ms | ${b.efSearch} | ${b.annP50.toFixed(1)} / ${b.annP99.toFixed(1)} ms | ${(100 * b.recallAt1).toFixed(1)} % |\n`;
}
process.stdout.write(`${md}\n${queries} queries, ${dim}-D, 2 templates + 1 fused row per person (${date})\n`);
save();
