// The gallery: templates (L2-normalised embeddings) of known people, kept across runs, and the
// storage interface both backends implement (LanceDB embedded: lance.ts; PostgreSQL + pgvector:
// postgres.ts). Node-only (src/gallery is not bundled for the browser; the app keeps its own
// IndexedDB gallery).
//
// A gallery is bound to one embedding space: the recognizer's name and the hash of its weights,
// fixed by the first enrollment. Searching or enrolling with another recognizer is refused with an
// error naming both hashes (GalleryModelMismatch).
//
// Per person: any number of templates (kinds 'hr', 'sr', 'degraded') and one 'fused' row, the
// re-normalised mean of the person's templates, rewritten in the same commit as the templates it
// summarises. Search fuses per person either by the best template ('max', default) or against the
// fused mean template ('mean').
import { createHash } from 'node:crypto';

export const TEMPLATE_KINDS = ['hr', 'sr', 'degraded', 'fused'] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];
export type Fusion = 'max' | 'mean';

export interface TemplateRow {
  /** Stable id: templateId(person, content hash of the source, kind, face) or fusedId(person). */
  id: string;
  person: string;
  /** Where the template came from (a file path; 'mean of N templates' for fused rows). */
  source: string;
  /** Recognizer name and weights hash (the gallery's model). */
  model: string;
  modelHash: string;
  kind: TemplateKind;
  /** L2-normalised, length = the gallery's dim. */
  embedding: Float32Array;
  /** ISO 8601. */
  enrolledAt: string;
}

export interface GalleryModel {
  model: string;
  modelHash: string;
  dim: number;
}

export interface GalleryMeta extends GalleryModel {
  createdAt: string;
  /** Storage format version (GALLERY_FORMAT_VERSION). */
  version: number;
}

export const GALLERY_FORMAT_VERSION = 1;

export interface Match {
  person: string;
  score: number;
  /** The template that scored (max fusion) or the fused row (mean fusion). */
  id: string;
  source: string;
  kind: TemplateKind;
}

export interface SearchOptions {
  /** People to return (default 5). */
  k?: number;
  fusion?: Fusion;
  /** Exact (brute-force) search even when an ANN index exists (default: exact unless useIndex). */
  exact?: boolean;
  /**
   * Use the ANN index: true, false, or 'auto' (default): when the gallery has one and holds at least
   * annMinRows() rows. Candidates from the index are re-ranked on the full vectors.
   */
  useIndex?: boolean | 'auto';
  /** IVF partitions probed (LanceDB IVF-PQ, pgvector IVFFlat; default annProbes(rows)). */
  probes?: number;
  /** HNSW candidate list (pgvector hnsw.ef_search, at most 1000; default annEfSearch(limit)). */
  efSearch?: number;
}

export interface PersonSummary {
  person: string;
  templates: number;
  kinds: Partial<Record<TemplateKind, number>>;
  lastEnrolled: string;
}

export interface GalleryStats {
  location: string;
  backend: 'lancedb' | 'postgres';
  meta: GalleryMeta | null;
  people: number;
  templates: number;
  byKind: Partial<Record<TemplateKind, number>>;
  /** Bytes on disk (LanceDB folder) or of the table and its indexes (PostgreSQL). */
  bytes: number;
  index: string | null;
}

export interface IndexOptions {
  kind: 'ivf-pq' | 'hnsw';
  /**
   * PostgreSQL's IVFFlat only: its lists (default ivfLists(rows)). Fewer lists sample fewer rows for
   * k-means (50 per list): PGlite's WebAssembly heap could not hold the default 1,225 lists' k-means
   * at 1,500,000 rows. Searches then probe a tenth of the lists the index has (annProbes).
   */
  lists?: number;
}

/** The storage interface: LanceGallery and PgGallery implement it; every CLI command goes through it. */
export interface GalleryStore {
  readonly backend: 'lancedb' | 'postgres';
  /** Where it lives (folder, or URL without the password). */
  readonly location: string;
  /** The gallery's model, or null for a gallery nothing was enrolled in yet. */
  meta(): Promise<GalleryMeta | null>;
  /** Binds an empty gallery to `model`; checks a bound one (GalleryModelMismatch). Returns the meta. */
  bind(model: GalleryModel): Promise<GalleryMeta>;
  /** The ids among `ids` that are stored. */
  existingIds(ids: readonly string[]): Promise<Set<string>>;
  /** The template (non-fused) embeddings of a person. */
  templatesOf(person: string): Promise<TemplateRow[]>;
  /** Inserts or replaces rows by id, all in one atomic commit (all or nothing). */
  upsert(rows: readonly TemplateRow[]): Promise<void>;
  /** The best `k` people for a probe (cosine), highest first. */
  search(probe: Float32Array, opts?: SearchOptions): Promise<Match[]>;
  people(): Promise<PersonSummary[]>;
  /** Deletes every row of a person (one commit); returns the number of templates removed. */
  deletePerson(person: string): Promise<number>;
  /** Every row, templates first then fused, in id order within each. */
  rows(opts?: { includeFused?: boolean }): AsyncIterable<TemplateRow>;
  count(opts?: { includeFused?: boolean }): Promise<number>;
  stats(): Promise<GalleryStats>;
  createIndex(opts: IndexOptions): Promise<void>;
  /**
   * Runs `fn` excluding this gallery's other writers (other processes, other stores on the same
   * gallery), with reads inside it seeing every commit made before (LanceDB: the folder's lock file,
   * lock.ts; PostgreSQL: an advisory lock). Reentrant within a store.
   */
  writeLocked<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * From how many rows (templates + fused) identify uses an ANN index where one exists: $LRFR_ANN_MIN_ROWS,
 * default 30,000. Measured on LanceDB with synthetic 512-D galleries (scripts/gallery-scale.mts
 * --sizes 10000,25000,50000,100000 --no-load --probes 20,40,80; README, Galleries): at 15,000 rows
 * exact search and the IVF-PQ index were equally fast within the noise (22 vs 17 ms p50), at 37,500
 * the index was 3.8x faster (13 vs 50 ms) with recall@1 100 %; the switch sits between the two.
 */
export function annMinRows(): number {
  const v = Number(process.env.LRFR_ANN_MIN_ROWS ?? 30_000);
  return Number.isFinite(v) && v >= 0 ? v : 30_000;
}

/** IVF partitions (LanceDB IVF-PQ) or lists (pgvector IVFFlat) of an index over `rows` rows: round(sqrt(rows)), at least 1. */
export function ivfLists(rows: number): number {
  return Math.max(1, Math.round(Math.sqrt(Math.max(0, rows))));
}

/**
 * IVF partitions an ANN search probes by default: a tenth of the partitions the index has (by
 * default ivfLists(rows)), at least 20, at most all of them. On synthetic 512-D galleries a fixed 20
 * kept recall@1 at 99-100 % up to 75,000 rows but gave 96-97.5 % at 150,000 (20 of 387 partitions;
 * 40 probes: 99.5 %); README, Galleries.
 */
export function annProbes(rows: number, partitions = ivfLists(rows)): number {
  return Math.min(Math.max(1, partitions), Math.max(20, Math.ceil(partitions / 10)));
}

/**
 * The HNSW candidate list of a search for `limit` rows (pgvector hnsw.ef_search): max(200, 2 limit),
 * at most 1000. Measured on PGlite, 150,000 synthetic 512-D rows (pgvector's default m 16,
 * ef_construction 64), recall@1 against exact search over 100 probes: ef_search 40 (pgvector's
 * default) 71 %, 100 93 %, 200 99 % (53 ms p50; exact 1,188 ms), 400 100 % (90 ms); README, Galleries.
 */
export function annEfSearch(limit: number): number {
  return Math.min(1000, Math.max(200, 2 * limit));
}

/** The fewest rows an ANN index is built for (IVF-PQ needs enough vectors to train its codebooks). */
export const ANN_MIN_INDEX_ROWS = 1000;

export class GalleryModelMismatch extends Error {
  constructor(readonly location: string, readonly gallery: GalleryModel, readonly wanted: GalleryModel) {
    super(
      `gallery ${location} was built with recognizer ${gallery.model} (weights hash ${gallery.modelHash}, ${gallery.dim}-D); ` +
      `this command uses ${wanted.model} (weights hash ${wanted.modelHash}, ${wanted.dim}-D). Embeddings of different models cannot be compared: ` +
      `use the gallery's recognizer (--recognizer), or another gallery (--gallery).`,
    );
    this.name = 'GalleryModelMismatch';
  }
}

/** Throws GalleryModelMismatch unless `meta` is the same embedding space as `wanted`. */
export function checkModel(location: string, meta: GalleryModel, wanted: GalleryModel): void {
  if (meta.modelHash !== wanted.modelHash || meta.dim !== wanted.dim) throw new GalleryModelMismatch(location, meta, wanted);
}

const sha = (s: string, n = 24): string => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The id of a template: the same person, source content, kind and face always give the same id. */
export function templateId(person: string, contentHash: string, kind: TemplateKind, face = 0): string {
  return `t-${sha(`${person}\u0000${contentHash}\u0000${kind}\u0000${face}`)}`;
}

export function fusedId(person: string): string {
  return `f-${sha(person)}`;
}

/** Validates a person's name (shown in tables, used in filters): 1-200 characters, no control characters. */
export function checkPerson(person: string): string {
  if (typeof person !== 'string' || person.trim() === '') throw new Error('a person\'s name must not be empty');
  if (person.length > 200) throw new Error(`a person's name is at most 200 characters (got ${person.length})`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(person)) throw new Error(`a person's name must not contain control characters: ${JSON.stringify(person)}`);
  return person;
}

/** L2-normalises a copy; throws on a zero or non-finite vector. */
export function l2normalize(v: ArrayLike<number>): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!Number.isFinite(s) || s === 0) throw new Error(`cannot normalise an embedding whose squared norm is ${s}`);
  const inv = 1 / Math.sqrt(s);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}

/** Checks an embedding for a gallery of dimension `dim`: length, finite values, unit norm (±1e-3). */
export function checkEmbedding(e: Float32Array, dim: number, what = 'embedding'): void {
  if (e.length !== dim) throw new Error(`${what}: ${e.length} values, the gallery's embeddings have ${dim}`);
  let s = 0;
  for (let i = 0; i < e.length; i++) {
    const x = e[i]!;
    if (!Number.isFinite(x)) throw new Error(`${what}: value ${i} is ${x}`);
    s += x * x;
  }
  if (Math.abs(Math.sqrt(s) - 1) > 1e-3) throw new Error(`${what}: norm ${Math.sqrt(s).toFixed(6)}, expected an L2-normalised vector`);
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The fused row of a person: the re-normalised mean of their templates. */
export function fusedRow(person: string, templates: readonly TemplateRow[], model: GalleryModel, enrolledAt: string): TemplateRow {
  if (templates.length === 0) throw new Error(`fusedRow: ${person} has no templates`);
  const sum = new Float64Array(model.dim);
  for (const t of templates) for (let i = 0; i < model.dim; i++) sum[i]! += t.embedding[i]!;
  return {
    id: fusedId(person), person, source: `mean of ${templates.length} templates`, model: model.model, modelHash: model.modelHash,
    kind: 'fused', embedding: l2normalize(sum), enrolledAt,
  };
}

/**
 * The rows one enrollment commit writes: the new templates plus, for every person they touch, the
 * fused row recomputed over the stored templates and the new ones (templates whose id is already
 * stored replace the stored ones).
 */
export async function withFusedRows(store: GalleryStore, model: GalleryModel, newRows: readonly TemplateRow[], now = new Date().toISOString()): Promise<TemplateRow[]> {
  const byPerson = new Map<string, TemplateRow[]>();
  for (const r of newRows) {
    if (r.kind === 'fused') throw new Error('withFusedRows: fused rows are computed, not given');
    const l = byPerson.get(r.person) ?? [];
    l.push(r);
    byPerson.set(r.person, l);
  }
  const out = [...newRows];
  for (const [person, fresh] of byPerson) {
    const ids = new Set(fresh.map((r) => r.id));
    const stored = (await store.templatesOf(person)).filter((r) => !ids.has(r.id));
    out.push(fusedRow(person, [...stored, ...fresh], model, now));
  }
  return out;
}

/**
 * One enrollment commit: `newRows` (templates) plus the fused rows of the people they touch,
 * recomputed and written under the gallery's writer lock, so that concurrent enrollments of the
 * same person each see the other's committed templates.
 */
export async function commitTemplates(store: GalleryStore, model: GalleryModel, newRows: readonly TemplateRow[], now = new Date().toISOString()): Promise<void> {
  if (newRows.length === 0) return;
  await store.writeLocked(async () => store.upsert(await withFusedRows(store, model, newRows, now)));
}

/** Groups the rows of a ranked candidate list into the best `k` people (max fusion). */
export function bestPerPerson(cands: readonly Match[], k: number): Match[] {
  const best = new Map<string, Match>();
  for (const c of cands) {
    const b = best.get(c.person);
    if (!b || c.score > b.score) best.set(c.person, c);
  }
  return [...best.values()].sort((a, b) => b.score - a.score || (a.person < b.person ? -1 : 1)).slice(0, k);
}

/** SQL string literal (single quotes doubled), for LanceDB filters. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
