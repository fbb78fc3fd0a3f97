// The embedded default gallery: a LanceDB folder (@lancedb/lancedb 0.31.0) holding one table
// `templates` and a JSON file with the gallery's model (written atomically). Every write is one
// LanceDB commit (mergeInsert on id, or delete), so a process killed mid-write leaves the table at
// the previous or the next version, never in between. Search is exact (brute force, dot product on
// L2-normalised vectors = cosine) unless an ANN index exists and the caller asks for it; candidates
// from the index are re-ranked on the full vectors (refineFactor).
//
// Several writers at once (two `lrfr enroll` processes, or two stores in one process, on the same
// folder): every read-modify-write (bind, enrollment commits with their fused rows, import, delete,
// index, optimize) runs under the folder's writer lock (lock.ts) on the latest table version, so
// each commit's fused rows are computed from every template committed before it.
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Schema, Field, FixedSizeList, Float32, Utf8 } from 'apache-arrow';
import { writeFileAtomic } from '../node/files.js';
import { withFolderLock, LOCK_FILE } from './lock.js';
import {
  GALLERY_FORMAT_VERSION, checkModel, annMinRows, annProbes, ivfLists, ANN_MIN_INDEX_ROWS, sqlString, bestPerPerson, TEMPLATE_KINDS,
  type GalleryStore, type GalleryMeta, type GalleryModel, type TemplateRow, type Match, type SearchOptions,
  type PersonSummary, type GalleryStats, type IndexOptions, type TemplateKind,
} from './store.js';

const TABLE = 'templates';
const META_FILE = 'lrfr-gallery.json';

function schema(dim: number): Schema {
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('person', new Utf8(), false),
    new Field('source', new Utf8(), false),
    new Field('model', new Utf8(), false),
    new Field('model_hash', new Utf8(), false),
    new Field('kind', new Utf8(), false),
    new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
    new Field('enrolled_at', new Utf8(), false),
  ]);
}

type Rec = Record<string, unknown>;

function toRecord(r: TemplateRow): Rec {
  return {
    id: r.id, person: r.person, source: r.source, model: r.model, model_hash: r.modelHash, kind: r.kind,
    vector: Array.from(r.embedding), enrolled_at: r.enrolledAt,
  };
}

function vectorOf(v: unknown): Float32Array {
  if (v instanceof Float32Array) return v;
  const a = v as { toArray?: () => ArrayLike<number> } & ArrayLike<number>;
  return Float32Array.from(typeof a.toArray === 'function' ? a.toArray() : a);
}

function fromRecord(x: Rec): TemplateRow {
  return {
    id: String(x.id), person: String(x.person), source: String(x.source), model: String(x.model), modelHash: String(x.model_hash),
    kind: String(x.kind) as TemplateKind, embedding: vectorOf(x.vector), enrolledAt: String(x.enrolled_at),
  };
}

export function parseMeta(text: string, where: string): GalleryMeta {
  let m: Partial<GalleryMeta>;
  try {
    m = JSON.parse(text) as Partial<GalleryMeta>;
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof m !== 'object' || m === null || typeof m.model !== 'string' || typeof m.modelHash !== 'string' || !Number.isInteger(m.dim) || (m.dim as number) <= 0) {
    throw new Error(`${where}: expected {model, modelHash, dim, createdAt, version}, got ${text.slice(0, 200)}`);
  }
  if (m.version !== GALLERY_FORMAT_VERSION) throw new Error(`${where}: gallery format version ${String(m.version)}, this lrfr reads version ${GALLERY_FORMAT_VERSION}`);
  return { model: m.model, modelHash: m.modelHash, dim: m.dim as number, createdAt: String(m.createdAt ?? ''), version: m.version };
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}

export class LanceGallery implements GalleryStore {
  readonly backend = 'lancedb' as const;
  private metaCache: GalleryMeta | null = null;
  private table: lancedb.Table | null = null;

  private constructor(readonly location: string, private readonly db: lancedb.Connection) {}

  /** Opens (creating the folder if needed) the gallery in `dir`. */
  static async open(dir: string): Promise<LanceGallery> {
    const loc = resolve(dir);
    if (fs.existsSync(loc) && !fs.statSync(loc).isDirectory()) throw new Error(`gallery ${loc} is not a folder`);
    fs.mkdirSync(loc, { recursive: true });
    // what LanceDB itself writes on connect (__manifest) and the table: a gallery being created by another process
    const entries = fs.readdirSync(loc).filter((e) => !e.startsWith('.') && e !== '__manifest' && e !== `${TABLE}.lance` && !e.startsWith(LOCK_FILE) && !e.startsWith(`${META_FILE}.tmp-`));
    if (entries.length > 0 && !entries.includes(META_FILE)) {
      throw new Error(`${loc} is not an lrfr gallery (no ${META_FILE}; it holds ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}); give an empty or new folder`);
    }
    const db = await lancedb.connect(loc);
    const g = new LanceGallery(loc, db);
    const mp = join(loc, META_FILE);
    if (fs.existsSync(mp)) g.metaCache = parseMeta(fs.readFileSync(mp, 'utf8'), mp);
    if ((await db.tableNames()).includes(TABLE)) g.table = await db.openTable(TABLE);
    return g;
  }

  async meta(): Promise<GalleryMeta | null> {
    return this.metaCache;
  }

  async bind(model: GalleryModel): Promise<GalleryMeta> {
    if (this.metaCache && this.table) {
      checkModel(this.location, this.metaCache, model);
      return this.metaCache;
    }
    // creating the meta file or the table: under the writer lock, after re-reading both (another
    // process may have bound the gallery since it was opened)
    return this.writeLocked(async () => {
      if (this.metaCache) {
        checkModel(this.location, this.metaCache, model);
        if (!this.table) this.table = await this.db.createEmptyTable(TABLE, schema(this.metaCache.dim), { existOk: true });
        return this.metaCache;
      }
      const meta: GalleryMeta = { ...model, createdAt: new Date().toISOString(), version: GALLERY_FORMAT_VERSION };
      await writeFileAtomic(join(this.location, META_FILE), new TextEncoder().encode(JSON.stringify(meta, null, 2) + '\n'));
      this.metaCache = meta;
      this.table = await this.db.createEmptyTable(TABLE, schema(model.dim), { existOk: true });
      return meta;
    });
  }

  private lockDepth = 0;

  /**
   * Runs `fn` holding the folder's writer lock (reentrant within this store), after bringing this
   * store up to date with other writers: the meta file re-read, the table opened if another process
   * created it, and checked out at its latest version.
   */
  async writeLocked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.lockDepth > 0) return fn();
    return withFolderLock(this.location, async () => {
      this.lockDepth++;
      try {
        const mp = join(this.location, META_FILE);
        if (!this.metaCache && fs.existsSync(mp)) this.metaCache = parseMeta(fs.readFileSync(mp, 'utf8'), mp);
        if (!this.table && (await this.db.tableNames()).includes(TABLE)) this.table = await this.db.openTable(TABLE);
        else if (this.table) await this.table.checkoutLatest();
        return await fn();
      } finally {
        this.lockDepth--;
      }
    });
  }

  private async rowsWhere(where: string, limit?: number): Promise<TemplateRow[]> {
    if (!this.table) return [];
    let q = this.table.query().where(where);
    if (limit !== undefined) q = q.limit(limit);
    return (await q.toArray()).map((x: Rec) => fromRecord(x));
  }

  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (!this.table || ids.length === 0) return out;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.table.query().where(`id IN (${chunk.map(sqlString).join(', ')})`).select(['id']).toArray();
      for (const r of rows as Rec[]) out.add(String(r.id));
    }
    return out;
  }

  async templatesOf(person: string): Promise<TemplateRow[]> {
    return this.rowsWhere(`person = ${sqlString(person)} AND kind <> 'fused'`);
  }

  async upsert(rows: readonly TemplateRow[]): Promise<void> {
    if (rows.length === 0) return;
    const meta = this.metaCache;
    if (!meta || !this.table) throw new Error(`gallery ${this.location}: bind() a model before writing`);
    for (const r of rows) checkModel(this.location, meta, { model: r.model, modelHash: r.modelHash, dim: r.embedding.length });
    const data = lancedb.makeArrowTable(rows.map(toRecord), { schema: schema(meta.dim) });
    await this.table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
  }

  async search(probe: Float32Array, opts: SearchOptions = {}): Promise<Match[]> {
    const k = opts.k ?? 5;
    if (!this.table || !this.metaCache) return [];
    if (probe.length !== this.metaCache.dim) throw new Error(`probe has ${probe.length} values, the gallery's embeddings ${this.metaCache.dim}`);
    const fusion = opts.fusion ?? 'max';
    const hasIndex = opts.exact !== true && opts.useIndex !== false && (await this.table.listIndices()).some((i) => i.columns.includes('vector'));
    const rows = hasIndex ? await this.table.countRows() : 0;
    const useIndex = hasIndex && (opts.useIndex === true || rows >= annMinRows());
    const probes = opts.probes ?? annProbes(rows);
    const run = async (limit: number): Promise<Match[]> => {
      let q = this.table!.vectorSearch(Array.from(probe)).distanceType('dot')
        .where(fusion === 'mean' ? "kind = 'fused'" : "kind <> 'fused'").limit(limit)
        .select(['id', 'person', 'source', 'kind', '_distance']);
      q = useIndex ? q.refineFactor(10).nprobes(probes) : q.bypassVectorIndex();
      return ((await q.toArray()) as Rec[]).map((x) => ({
        person: String(x.person), id: String(x.id), source: String(x.source), kind: String(x.kind) as TemplateKind, score: 1 - Number(x._distance),
      }));
    };
    if (fusion === 'mean') return bestPerPerson(await run(k), k);
    // max fusion: widen the candidate list until it holds k people or every row
    for (let limit = Math.max(4 * k, 16); ; limit *= 4) {
      const cands = await run(limit);
      const best = bestPerPerson(cands, k);
      if (best.length >= k || cands.length < limit) return best; // k people, or every row seen
    }
  }

  async people(): Promise<PersonSummary[]> {
    if (!this.table) return [];
    const rows = (await this.table.query().where("kind <> 'fused'").select(['person', 'kind', 'enrolled_at']).toArray()) as Rec[];
    const m = new Map<string, PersonSummary>();
    for (const r of rows) {
      const p = String(r.person), kind = String(r.kind) as TemplateKind, at = String(r.enrolled_at);
      const s = m.get(p) ?? { person: p, templates: 0, kinds: {}, lastEnrolled: at };
      s.templates++;
      s.kinds[kind] = (s.kinds[kind] ?? 0) + 1;
      if (at > s.lastEnrolled) s.lastEnrolled = at;
      m.set(p, s);
    }
    return [...m.values()].sort((a, b) => (a.person < b.person ? -1 : a.person > b.person ? 1 : 0));
  }

  async deletePerson(person: string): Promise<number> {
    return this.writeLocked(async () => {
      if (!this.table) return 0;
      const n = await this.table.countRows(`person = ${sqlString(person)} AND kind <> 'fused'`);
      if (n > 0) await this.table.delete(`person = ${sqlString(person)}`);
      return n;
    });
  }

  async *rows(opts: { includeFused?: boolean } = {}): AsyncIterable<TemplateRow> {
    if (!this.table) return;
    const kinds = opts.includeFused ? [false, true] : [false];
    for (const fused of kinds) {
      const rows = (await this.table.query().where(fused ? "kind = 'fused'" : "kind <> 'fused'").toArray() as Rec[]).map(fromRecord);
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      yield* rows;
    }
  }

  async count(opts: { includeFused?: boolean } = {}): Promise<number> {
    if (!this.table) return 0;
    return opts.includeFused ? this.table.countRows() : this.table.countRows("kind <> 'fused'");
  }

  async stats(): Promise<GalleryStats> {
    const byKind: Partial<Record<TemplateKind, number>> = {};
    let index: string | null = null;
    if (this.table) {
      for (const k of TEMPLATE_KINDS) {
        const n = await this.table.countRows(`kind = '${k}'`);
        if (n > 0) byKind[k] = n;
      }
      const idx = (await this.table.listIndices()).filter((i) => i.columns.includes('vector'));
      if (idx.length > 0) index = idx.map((i) => `${i.indexType} (${i.name})`).join(', ');
    }
    return {
      location: this.location, backend: this.backend, meta: this.metaCache, people: (await this.people()).length,
      templates: await this.count(), byKind, bytes: dirBytes(this.location), index,
    };
  }

  async createIndex(opts: IndexOptions): Promise<void> {
    return this.writeLocked(() => this.createIndexLocked(opts));
  }

  private async createIndexLocked(opts: IndexOptions): Promise<void> {
    if (!this.table || !this.metaCache) throw new Error(`gallery ${this.location} is empty: nothing to index`);
    const n = await this.table.countRows();
    if (n < ANN_MIN_INDEX_ROWS) throw new Error(`gallery ${this.location} has ${n} rows; an ANN index needs at least ${ANN_MIN_INDEX_ROWS} (exact search is fast at this size)`);
    if (opts.lists !== undefined) throw new Error(`lists is a PostgreSQL IVFFlat setting; LanceDB's IVF-PQ index on ${this.location} takes round(sqrt(rows)) partitions`);
    const dim = this.metaCache.dim;
    const subVectors = dim % 16 === 0 ? dim / 16 : dim % 8 === 0 ? dim / 8 : 1;
    const config = opts.kind === 'hnsw'
      ? lancedb.Index.hnswSq({ distanceType: 'dot' })
      : lancedb.Index.ivfPq({ distanceType: 'dot', numPartitions: ivfLists(n), numSubVectors: subVectors });
    await this.table.createIndex('vector', { config, replace: true });
  }

  /** Compacts the table's fragments and removes versions older than `olderThanMs` (default 0: all but the latest). */
  async optimize(olderThanMs = 0): Promise<void> {
    await this.writeLocked(async () => {
      if (!this.table) return;
      await this.table.optimize({ cleanupOlderThan: new Date(Date.now() - olderThanMs) });
    });
  }

  async close(): Promise<void> {
    this.table?.close();
    this.table = null;
    this.db.close();
  }
}
