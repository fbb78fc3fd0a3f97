// The gallery on a shared PostgreSQL server with pgvector, through the `pg` client and the `pgvector`
// helper: --gallery postgres://user[:password]@host[:port]/db[?gallery=NAME] (NAME default
// "default"; several galleries share a database, one table each). Tables:
//   lrfr_galleries(name PK, model, model_hash, dim, created_at, version)
//   lrfr_gallery_<NAME>(id PK, person, source, model, model_hash, kind, embedding vector(dim), enrolled_at)
// Every write is one transaction. Exact search is a sequential scan ordered by inner product (index
// scans switched off in that transaction); with an HNSW / IVFFlat index and useIndex, pgvector's
// index scan returns candidates whose scores are exact (it re-reads the full vectors), widened by
// ef_search / probes.
import pg from 'pg';
import pgvector from 'pgvector/pg';
import {
  GALLERY_FORMAT_VERSION, checkModel, annMinRows, annProbes, annEfSearch, ivfLists, ANN_MIN_INDEX_ROWS, bestPerPerson, TEMPLATE_KINDS,
  type GalleryStore, type GalleryMeta, type GalleryModel, type TemplateRow, type Match, type SearchOptions,
  type PersonSummary, type GalleryStats, type IndexOptions, type TemplateKind,
} from './store.js';

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** The connection string without the gallery parameter, the gallery name, and a location without the password. */
export function parsePostgresSpec(spec: string): { connectionString: string; name: string; location: string } {
  let u: URL;
  try {
    u = new URL(spec);
  } catch (e) {
    throw new Error(`--gallery ${spec}: not a valid postgres:// URL (${(e as Error).message})`, { cause: e });
  }
  const name = u.searchParams.get('gallery') ?? 'default';
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(name)) throw new Error(`--gallery ${spec}: the gallery name "${name}" must match [a-z][a-z0-9_]{0,39}`);
  u.searchParams.delete('gallery');
  const connectionString = u.toString();
  const shown = new URL(connectionString);
  if (shown.password) shown.password = '***';
  return { connectionString, name, location: `${shown.toString()}${shown.search ? '&' : '?'}gallery=${name}` };
}

interface Row {
  id: string; person: string; source: string; model: string; model_hash: string; kind: string; embedding: number[]; enrolled_at: string;
}

function fromRow(r: Row): TemplateRow {
  return {
    id: r.id, person: r.person, source: r.source, model: r.model, modelHash: r.model_hash, kind: r.kind as TemplateKind,
    embedding: Float32Array.from(r.embedding), enrolledAt: r.enrolled_at,
  };
}

/**
 * maintenance_work_mem (MB) for building an ANN index over `rows` rows of `dim` floats, with a quarter
 * to spare, at least 64 MB, at most $LRFR_PG_INDEX_MEMORY_MB (default 1024). HNSW keeps the whole
 * graph in memory (each vector plus ~2·M neighbour links on layer 0); below that, pgvector's build
 * falls back to inserting into the on-disk index one row at a time (on PGlite 150,000 rows had not
 * been indexed after 22.5 min that way). IVFFlat runs k-means on a sample of 50 rows per list and
 * refuses to start when what pgvector's IvfflatCheckMemoryUsage counts does not fit: the sample,
 * a lower bound per (sample, list), the centres and the lists² centre distances (1,500,000 rows:
 * 1,225 lists, 420 MB).
 */
export function indexBuildMemoryMb(kind: 'hnsw' | 'ivfflat', rows: number, dim: number, lists = ivfLists(rows)): number {
  const cap = Number(process.env.LRFR_PG_INDEX_MEMORY_MB ?? 1024);
  if (!Number.isFinite(cap) || cap < 64) throw new Error(`LRFR_PG_INDEX_MEMORY_MB=${process.env.LRFR_PG_INDEX_MEMORY_MB}: a number of megabytes, at least 64`);
  let bytes: number;
  if (kind === 'hnsw') bytes = rows * (dim * 4 + 8 + 2 * 16 * 8);
  else {
    const samples = Math.min(rows, 50 * lists);
    bytes = samples * (dim * 4 + 16 + 4 * lists) + lists * lists * 4 + 3 * lists * dim * 4;
  }
  return Math.floor(Math.min(cap, Math.max(64, Math.ceil((bytes * 1.25) / 2 ** 20))));
}

/** The lists of an IVFFlat index from its definition (pg_indexes.indexdef), or null. */
function indexLists(indexdef: string): number | null {
  const m = /lists\s*=\s*'?(\d+)/i.exec(indexdef);
  return m ? Number(m[1]) : null;
}

const COLS = 'id, person, source, model, model_hash, kind, embedding::real[] AS embedding, enrolled_at';

export class PgGallery implements GalleryStore {
  readonly backend = 'postgres' as const;
  private metaCache: GalleryMeta | null = null;
  private readonly table: string;

  private constructor(readonly location: string, readonly name: string, private readonly pool: pg.Pool) {
    this.table = `lrfr_gallery_${name}`;
  }

  static async open(spec: string, opts: { maxConnections?: number } = {}): Promise<PgGallery> {
    const { connectionString, name, location } = parsePostgresSpec(spec);
    const pool = new pg.Pool({ connectionString, max: opts.maxConnections ?? 4, connectionTimeoutMillis: 10_000 });
    pool.on('error', () => { /* an idle client's error surfaces on the next query */ });
    const g = new PgGallery(location, name, pool);
    try {
      await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
      await pool.query(`CREATE TABLE IF NOT EXISTS lrfr_galleries (
        name text PRIMARY KEY, model text NOT NULL, model_hash text NOT NULL, dim integer NOT NULL,
        created_at text NOT NULL, version integer NOT NULL)`);
      const r = await pool.query('SELECT model, model_hash, dim, created_at, version FROM lrfr_galleries WHERE name = $1', [name]);
      if (r.rows.length > 0) {
        const m = r.rows[0] as { model: string; model_hash: string; dim: number; created_at: string; version: number };
        if (m.version !== GALLERY_FORMAT_VERSION) throw new Error(`gallery ${location}: format version ${m.version}, this lrfr reads version ${GALLERY_FORMAT_VERSION}`);
        g.metaCache = { model: m.model, modelHash: m.model_hash, dim: m.dim, createdAt: m.created_at, version: m.version };
      }
    } catch (e) {
      await pool.end().catch(() => {});
      throw new Error(`gallery ${location}: ${(e as Error).message}`, { cause: e });
    }
    return g;
  }

  async meta(): Promise<GalleryMeta | null> {
    return this.metaCache;
  }

  async bind(model: GalleryModel): Promise<GalleryMeta> {
    if (this.metaCache) {
      checkModel(this.location, this.metaCache, model);
      return this.metaCache;
    }
    const meta: GalleryMeta = { ...model, createdAt: new Date().toISOString(), version: GALLERY_FORMAT_VERSION };
    await this.tx(async (c) => {
      await c.query('INSERT INTO lrfr_galleries (name, model, model_hash, dim, created_at, version) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING',
        [this.name, meta.model, meta.modelHash, meta.dim, meta.createdAt, meta.version]);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
        id text PRIMARY KEY, person text NOT NULL, source text NOT NULL, model text NOT NULL, model_hash text NOT NULL,
        kind text NOT NULL, embedding vector(${meta.dim}) NOT NULL, enrolled_at text NOT NULL)`);
      await c.query(`CREATE INDEX IF NOT EXISTS ${this.table}_person ON ${this.table} (person)`);
    });
    // another process may have bound it first: read back what is stored
    const r = await this.pool.query('SELECT model, model_hash, dim, created_at, version FROM lrfr_galleries WHERE name = $1', [this.name]);
    const m = r.rows[0] as { model: string; model_hash: string; dim: number; created_at: string; version: number };
    this.metaCache = { model: m.model, modelHash: m.model_hash, dim: m.dim, createdAt: m.created_at, version: m.version };
    checkModel(this.location, this.metaCache, model);
    return this.metaCache;
  }

  private lockDepth = 0;

  /**
   * Runs `fn` holding this gallery's writer lock: a session-level advisory lock
   * (pg_advisory_lock(hashtext('lrfr_gallery_<name>'))) on a connection of its own, so that the
   * read-modify-write of an enrollment commit (templates read, fused rows recomputed, written) is not
   * interleaved with another writer's. Reentrant within this store. (PGlite runs every connection in
   * one session, where the lock does not exclude anything; a real server's does.)
   */
  async writeLocked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.lockDepth > 0) return fn();
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [this.table]);
      this.lockDepth++;
      try {
        return await fn();
      } finally {
        this.lockDepth--;
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [this.table]).catch(() => {});
      }
    } finally {
      c.release();
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    if (!this.metaCache || ids.length === 0) return new Set();
    const r = await this.pool.query(`SELECT id FROM ${this.table} WHERE id = ANY($1::text[])`, [ids]);
    return new Set(r.rows.map((x: { id: string }) => x.id));
  }

  async templatesOf(person: string): Promise<TemplateRow[]> {
    if (!this.metaCache) return [];
    const r = await this.pool.query(`SELECT ${COLS} FROM ${this.table} WHERE person = $1 AND kind <> 'fused' ORDER BY id`, [person]);
    return (r.rows as Row[]).map(fromRow);
  }

  async upsert(rows: readonly TemplateRow[]): Promise<void> {
    if (rows.length === 0) return;
    const meta = this.metaCache;
    if (!meta) throw new Error(`gallery ${this.location}: bind() a model before writing`);
    for (const r of rows) checkModel(this.location, meta, { model: r.model, modelHash: r.modelHash, dim: r.embedding.length });
    await this.tx(async (c) => {
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        const params: unknown[] = [];
        const values = chunk.map((r) => {
          const b = params.length;
          params.push(r.id, r.person, r.source, r.model, r.modelHash, r.kind, pgvector.toSql(Array.from(r.embedding)), r.enrolledAt);
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8})`;
        });
        await c.query(`INSERT INTO ${this.table} (id, person, source, model, model_hash, kind, embedding, enrolled_at) VALUES ${values.join(', ')}
          ON CONFLICT (id) DO UPDATE SET person = EXCLUDED.person, source = EXCLUDED.source, model = EXCLUDED.model,
          model_hash = EXCLUDED.model_hash, kind = EXCLUDED.kind, embedding = EXCLUDED.embedding, enrolled_at = EXCLUDED.enrolled_at`, params);
      }
    });
  }

  async search(probe: Float32Array, opts: SearchOptions = {}): Promise<Match[]> {
    const k = opts.k ?? 5;
    const meta = this.metaCache;
    if (!meta) return [];
    if (probe.length !== meta.dim) throw new Error(`probe has ${probe.length} values, the gallery's embeddings ${meta.dim}`);
    const fusion = opts.fusion ?? 'max';
    const q = pgvector.toSql(Array.from(probe));
    const hasIndex = opts.exact !== true && opts.useIndex !== false && (this.index ??= await this.readIndex()).exists;
    const rows = hasIndex ? await this.count({ includeFused: true }) : 0;
    const useIndex = hasIndex && (opts.useIndex === true || rows >= annMinRows());
    const run = (limit: number) => this.tx(async (c) => {
      if (useIndex) {
        await c.query(`SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(1, Math.floor(opts.efSearch ?? annEfSearch(limit))))}`);
        await c.query(`SET LOCAL ivfflat.probes = ${Math.max(1, Math.floor(opts.probes ?? annProbes(rows, this.index?.lists ?? undefined)))}`);
      } else {
        await c.query('SET LOCAL enable_indexscan = off');
        await c.query('SET LOCAL enable_bitmapscan = off');
      }
      const r = await c.query(`SELECT id, person, source, kind, (embedding <#> $1) AS d FROM ${this.table}
        WHERE kind ${fusion === 'mean' ? "= 'fused'" : "<> 'fused'"} ORDER BY embedding <#> $1 LIMIT $2`, [q, limit]);
      return (r.rows as { id: string; person: string; source: string; kind: string; d: number }[]).map((x) => ({
        person: x.person, id: x.id, source: x.source, kind: x.kind as TemplateKind, score: -Number(x.d),
      }));
    });
    if (fusion === 'mean') return bestPerPerson(await run(k), k);
    for (let limit = Math.max(4 * k, 16); ; limit *= 4) {
      const cands = await run(limit);
      const best = bestPerPerson(cands, k);
      if (best.length >= k || cands.length < limit) return best; // k people, or every row seen
    }
  }

  /** The ANN index, read once per createIndex: whether it exists and, for IVFFlat, its lists. */
  private index: { exists: boolean; lists: number | null } | undefined;

  private async readIndex(): Promise<{ exists: boolean; lists: number | null }> {
    const r = await this.pool.query('SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2', [this.table, `${this.table}_ann`]);
    if (r.rows.length === 0) return { exists: false, lists: null };
    return { exists: true, lists: indexLists((r.rows[0] as { indexdef: string }).indexdef) };
  }

  async people(): Promise<PersonSummary[]> {
    if (!this.metaCache) return [];
    const r = await this.pool.query(`SELECT person, kind, count(*)::int AS n, max(enrolled_at) AS last FROM ${this.table}
      WHERE kind <> 'fused' GROUP BY person, kind`);
    const m = new Map<string, PersonSummary>();
    for (const x of r.rows as { person: string; kind: TemplateKind; n: number; last: string }[]) {
      const s = m.get(x.person) ?? { person: x.person, templates: 0, kinds: {}, lastEnrolled: x.last };
      s.templates += x.n;
      s.kinds[x.kind] = x.n;
      if (x.last > s.lastEnrolled) s.lastEnrolled = x.last;
      m.set(x.person, s);
    }
    return [...m.values()].sort((a, b) => (a.person < b.person ? -1 : a.person > b.person ? 1 : 0));
  }

  async deletePerson(person: string): Promise<number> {
    if (!this.metaCache) return 0;
    return this.tx(async (c) => {
      const r = await c.query(`DELETE FROM ${this.table} WHERE person = $1 RETURNING kind`, [person]);
      return (r.rows as { kind: string }[]).filter((x) => x.kind !== 'fused').length;
    });
  }

  async *rows(opts: { includeFused?: boolean } = {}): AsyncIterable<TemplateRow> {
    if (!this.metaCache) return;
    for (const fused of opts.includeFused ? [false, true] : [false]) {
      let after = '';
      for (;;) {
        const r = await this.pool.query(`SELECT ${COLS} FROM ${this.table} WHERE kind ${fused ? "= 'fused'" : "<> 'fused'"} AND id > $1 ORDER BY id LIMIT 1000`, [after]);
        if (r.rows.length === 0) break;
        for (const x of r.rows as Row[]) yield fromRow(x);
        after = (r.rows[r.rows.length - 1] as Row).id;
      }
    }
  }

  async count(opts: { includeFused?: boolean } = {}): Promise<number> {
    if (!this.metaCache) return 0;
    const r = await this.pool.query(`SELECT count(*)::int AS n FROM ${this.table}${opts.includeFused ? '' : " WHERE kind <> 'fused'"}`);
    return (r.rows[0] as { n: number }).n;
  }

  async stats(): Promise<GalleryStats> {
    const byKind: Partial<Record<TemplateKind, number>> = {};
    let bytes = 0;
    let index: string | null = null;
    if (this.metaCache) {
      const r = await this.pool.query(`SELECT kind, count(*)::int AS n FROM ${this.table} GROUP BY kind`);
      for (const x of r.rows as { kind: TemplateKind; n: number }[]) if (TEMPLATE_KINDS.includes(x.kind)) byKind[x.kind] = x.n;
      bytes = Number((await this.pool.query('SELECT pg_total_relation_size($1)::bigint AS b', [this.table])).rows[0].b);
      const ix = await this.pool.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 AND (indexdef ILIKE '%hnsw%' OR indexdef ILIKE '%ivfflat%')`, [this.table]);
      if (ix.rows.length > 0) index = (ix.rows as { indexname: string; indexdef: string }[]).map((x) => `${/hnsw/i.test(x.indexdef) ? 'hnsw' : `ivfflat, ${indexLists(x.indexdef) ?? '?'} lists`} (${x.indexname})`).join(', ');
    }
    return {
      location: this.location, backend: this.backend, meta: this.metaCache, people: (await this.people()).length,
      templates: await this.count(), byKind, bytes, index,
    };
  }

  async createIndex(opts: IndexOptions): Promise<void> {
    if (!this.metaCache) throw new Error(`gallery ${this.location} is empty: nothing to index`);
    const n = await this.count({ includeFused: true });
    if (n < ANN_MIN_INDEX_ROWS) throw new Error(`gallery ${this.location} has ${n} rows; an ANN index needs at least ${ANN_MIN_INDEX_ROWS} (exact search is fast at this size)`);
    if (opts.lists !== undefined && opts.kind === 'hnsw') throw new Error('lists is an IVFFlat setting; an HNSW index has none');
    if (opts.lists !== undefined && !(Number.isInteger(opts.lists) && opts.lists >= 1 && opts.lists <= Math.min(n, 32768))) {
      throw new Error(`lists must be an integer from 1 to ${Math.min(n, 32768)} (the rows, at most pgvector's 32,768), got ${opts.lists}`);
    }
    this.index = undefined;
    const lists = opts.lists ?? ivfLists(n);
    const mb = indexBuildMemoryMb(opts.kind === 'hnsw' ? 'hnsw' : 'ivfflat', n, this.metaCache.dim, lists);
    await this.tx(async (c) => {
      await c.query(`SET LOCAL maintenance_work_mem = '${mb}MB'`);
      await c.query(`DROP INDEX IF EXISTS ${this.table}_ann`);
      if (opts.kind === 'hnsw') await c.query(`CREATE INDEX ${this.table}_ann ON ${this.table} USING hnsw (embedding vector_ip_ops)`);
      else await c.query(`CREATE INDEX ${this.table}_ann ON ${this.table} USING ivfflat (embedding vector_ip_ops) WITH (lists = ${lists})`);
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
