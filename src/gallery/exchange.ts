// `lrfr gallery export` / `import`: JSON lines. Line 1 is a header
//   {"format":"lrfr-gallery","version":1,"model":..,"modelHash":..,"dim":..,"rows":N}
// then one template per line
//   {"id":..,"person":..,"source":..,"kind":"hr"|"sr"|"degraded","enrolledAt":..,"embedding":"<base64 float32 little-endian>"}
// Fused rows are not exported (an import recomputes them). parseGalleryExport validates the whole
// text before anything is written, so a bad file changes nothing; every error names the line.
import {
  checkEmbedding, checkPerson, commitTemplates, TEMPLATE_KINDS,
  type GalleryModel, type GalleryStore, type TemplateRow, type TemplateKind,
} from './store.js';

export const EXPORT_FORMAT = 'lrfr-gallery';
export const EXPORT_VERSION = 1;
/** The most rows and dimensions an import takes (a guard against absurd headers). */
export const MAX_IMPORT_DIM = 8192;

export interface ExportHeader extends GalleryModel {
  format: typeof EXPORT_FORMAT;
  version: number;
  rows: number;
}

function b64(e: Float32Array): string {
  const le = new Uint8Array(e.length * 4);
  const dv = new DataView(le.buffer);
  e.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return Buffer.from(le).toString('base64');
}

function fromB64(s: string, where: string): Float32Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new Error(`${where}: embedding is not base64`);
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 4 !== 0) throw new Error(`${where}: embedding has ${bytes.length} bytes, not a whole number of float32 values`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** The export of a whole gallery as JSON lines (chunks, for streaming to a file). */
export async function* exportGallery(store: GalleryStore): AsyncIterable<string> {
  const meta = await store.meta();
  if (!meta) throw new Error(`gallery ${store.location} is empty (no model bound yet): nothing to export`);
  const header: ExportHeader = { format: EXPORT_FORMAT, version: EXPORT_VERSION, model: meta.model, modelHash: meta.modelHash, dim: meta.dim, rows: await store.count() };
  yield JSON.stringify(header) + '\n';
  for await (const r of store.rows()) {
    yield JSON.stringify({ id: r.id, person: r.person, source: r.source, kind: r.kind, enrolledAt: r.enrolledAt, embedding: b64(r.embedding) }) + '\n';
  }
}

/** A value for an error message: JSON, cut to 60 characters. */
const show = (x: unknown): string => (x === undefined ? 'missing' : (JSON.stringify(x) ?? String(x)).slice(0, 60));

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Parses and validates an export (see the file comment). Throws one error naming the first bad line. */
export function parseGalleryExport(text: string, what = 'gallery export'): { header: ExportHeader; rows: TemplateRow[] } {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new Error(`${what}: empty file`);
  let h: unknown;
  try {
    h = JSON.parse(lines[0]!);
  } catch (e) {
    throw new Error(`${what}: line 1 (the header) is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObj(h) || h.format !== EXPORT_FORMAT) throw new Error(`${what}: line 1 is not an lrfr gallery export header (expected "format":"${EXPORT_FORMAT}")`);
  if (h.version !== EXPORT_VERSION) throw new Error(`${what}: export version ${show(h.version)}, this lrfr reads version ${EXPORT_VERSION}`);
  if (typeof h.model !== 'string' || h.model === '' || typeof h.modelHash !== 'string' || !/^[0-9a-zA-Z._-]{1,128}$/.test(h.modelHash)) {
    throw new Error(`${what}: the header needs "model" and "modelHash" strings`);
  }
  if (!Number.isInteger(h.dim) || (h.dim as number) < 1 || (h.dim as number) > MAX_IMPORT_DIM) throw new Error(`${what}: the header's dim ${show(h.dim)} is not an integer in 1..${MAX_IMPORT_DIM}`);
  if (!Number.isInteger(h.rows) || (h.rows as number) < 0) throw new Error(`${what}: the header's rows ${show(h.rows)} is not a count`);
  const header: ExportHeader = { format: EXPORT_FORMAT, version: EXPORT_VERSION, model: h.model, modelHash: h.modelHash, dim: h.dim as number, rows: h.rows as number };
  if (lines.length - 1 !== header.rows) throw new Error(`${what}: the header says ${header.rows} rows, the file has ${lines.length - 1} (truncated or appended to?)`);
  const rows: TemplateRow[] = [];
  const ids = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const where = `${what}: line ${i + 1}`;
    let x: unknown;
    try {
      x = JSON.parse(lines[i]!);
    } catch (e) {
      throw new Error(`${where} is not JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!isObj(x)) throw new Error(`${where}: expected an object`);
    for (const f of ['id', 'person', 'source', 'kind', 'enrolledAt', 'embedding'] as const) {
      if (typeof x[f] !== 'string') throw new Error(`${where}: "${f}" must be a string`);
    }
    const id = x.id as string, kind = x.kind as string;
    if (!/^[tf]-[0-9a-f]{1,64}$/.test(id)) throw new Error(`${where}: bad id ${JSON.stringify(id).slice(0, 80)}`);
    if (ids.has(id)) throw new Error(`${where}: id ${id} appears twice`);
    ids.add(id);
    if (!(TEMPLATE_KINDS as readonly string[]).includes(kind) || kind === 'fused') throw new Error(`${where}: kind ${JSON.stringify(kind).slice(0, 40)} is not one of hr, sr, degraded`);
    try {
      checkPerson(x.person as string);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
    }
    if (Number.isNaN(Date.parse(x.enrolledAt as string))) throw new Error(`${where}: enrolledAt ${JSON.stringify(x.enrolledAt).slice(0, 40)} is not a date`);
    const embedding = fromB64(x.embedding as string, where);
    checkEmbedding(embedding, header.dim, `${where}: embedding`);
    rows.push({
      id, person: x.person as string, source: (x.source as string).slice(0, 4096), model: header.model, modelHash: header.modelHash,
      kind: kind as TemplateKind, embedding, enrolledAt: x.enrolledAt as string,
    });
  }
  return { header, rows };
}

/**
 * Imports parsed rows into `store` (bound to the export's model, or checked against it): rows whose
 * id is stored already are skipped; the rest and the fused rows of every person touched are written
 * in commits of `batch` rows. Returns the counts.
 */
export async function importRows(store: GalleryStore, header: ExportHeader, rows: readonly TemplateRow[], batch = 2000): Promise<{ added: number; skipped: number }> {
  const model: GalleryModel = { model: header.model, modelHash: header.modelHash, dim: header.dim };
  await store.bind(model);
  const have = await store.existingIds(rows.map((r) => r.id));
  const fresh = rows.filter((r) => !have.has(r.id));
  // group by person so each commit carries complete people (their fused row stays consistent)
  const byPerson = new Map<string, TemplateRow[]>();
  for (const r of fresh) byPerson.set(r.person, [...(byPerson.get(r.person) ?? []), r]);
  let pending: TemplateRow[] = [];
  const now = new Date().toISOString();
  const flush = async () => {
    if (pending.length === 0) return;
    // under the writer lock; stored templates with the same id as a pending one are counted once
    await commitTemplates(store, model, pending, now);
    pending = [];
  };
  for (const list of byPerson.values()) {
    pending.push(...list);
    if (pending.length >= batch) await flush();
  }
  await flush();
  return { added: fresh.length, skipped: rows.length - fresh.length };
}
