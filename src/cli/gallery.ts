// lrfr enroll / lrfr identify / lrfr gallery: a gallery of known people kept across runs
// (src/gallery: LanceDB folder by default, PostgreSQL + pgvector with --gallery postgres://...).
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { initNodeGPU } from '../node/gpu.js';
import { Progress } from '../train/progress.js';
import { openGallery, resolveGallerySpec } from '../gallery/open.js';
import { FaceEmbedder, IMAGE_EXTENSIONS, DeviceLostError, type FileResult } from '../gallery/embedder.js';
import { templateId, commitTemplates, checkPerson, GalleryModelMismatch, type GalleryStore, type TemplateRow, type Fusion, type Match } from '../gallery/store.js';
import { exportGallery, parseGalleryExport, importRows } from '../gallery/exchange.js';
import { LanceGallery } from '../gallery/lance.js';
import type { Io } from './eval.js';

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

const COMMON = `  --gallery G         a gallery name (under ~/.local/share/lrfr/galleries/), a folder, or
                      postgres://user@host:port/db?gallery=NAME (PostgreSQL + pgvector);
                      default $LRFR_GALLERY or "default"
  --recognizer R      recognizer weights (safetensors) or dlib; default weights/edgeface-c1-recognizer.safetensors.
                      A gallery is bound to the recognizer it was built with and refuses another
  --sr S              super-resolver for LR crops and degraded templates: DSR safetensors or bicubic;
                      default weights/edgeface-c2-dsr.safetensors`;

export const ENROLL_USAGE = `usage: lrfr enroll <image|dir>... (--name PERSON | --names-from-dirs) [options]

Adds face templates to a gallery. Inputs: 112x112 aligned face crops (used as they are), smaller
crops (taken for low-resolution probes: super-resolved first), or photos (the best-scoring face is
detected and aligned). Directories are walked (${IMAGE_EXTENSIONS.join(' ')}). Files already in the
gallery for that person (same content) are skipped, so a stopped or killed run resumes where it was.

  --name PERSON       every input is this person
  --names-from-dirs   each file's person is the name of the folder it is in
  --degraded S        also store a degraded template per face: the crop at S x S, super-resolved (e.g. 16)
  --batch N           files per commit (default 16); each commit is atomic
${COMMON}
`;

export const IDENTIFY_USAGE = `usage: lrfr identify <image|dir>... [options]

Finds the people of a gallery closest to every face of the inputs (cosine of L2-normalised
embeddings). Inputs as for lrfr enroll; every face of a photo is searched.

  --top K             people per face (default 5)
  --threshold T       only matches with score >= T; a face with none is "unknown"
  --fusion max|mean   per person: the best template (default) or the mean template
  --json              one JSON object per face (JSON lines) instead of a table
  --exact / --ann     search: exact always / the ANN index (lrfr gallery index) always; default: the
                      index when there is one and the gallery holds >= $LRFR_ANN_MIN_ROWS rows (30,000),
                      candidates re-ranked on the full vectors
${COMMON}
`;

export const GALLERY_USAGE = `usage: lrfr gallery <list|delete PERSON|stats|export [FILE]|import FILE|index> [--gallery G] [--json]

  list              people, their templates by kind, last enrolment
  delete PERSON     removes the person and every template
  stats             model and weights hash, people, templates, bytes on disk, index
  export [FILE]     every template as JSON lines (stdout without FILE)
  import FILE       templates from an export (validated whole first; already stored ones skipped)
  index --kind ivf-pq|hnsw   builds an ANN index (LanceDB: IVF-PQ or HNSW-SQ; PostgreSQL: IVFFlat or HNSW)
        [--lists N]         PostgreSQL IVFFlat: N lists instead of round(sqrt(rows)) (fewer need less memory
                            to build; searches probe a tenth of them)
`;

class UsageError extends Error {}

interface Parsed {
  pos: string[];
  flags: Map<string, string | true>;
}

function parseArgs(argv: readonly string[], withValue: readonly string[], bare: readonly string[]): Parsed {
  const pos: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { pos.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--')) { pos.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (bare.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
    } else if (withValue.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, v);
    } else throw new UsageError(`unknown option "${a}"`);
  }
  return { pos, flags };
}

const str = (p: Parsed, k: string): string | undefined => {
  const v = p.flags.get(k);
  return typeof v === 'string' ? v : undefined;
};

function intFlag(p: Parsed, k: string, def: number, min: number, max: number): number {
  const v = str(p, k);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${k} must be an integer in ${min}..${max}, got "${v}"`);
  return n;
}

/** The image files of the inputs (directories walked, sorted), each once. */
export function expandInputs(inputs: readonly string[]): { files: string[]; fromDir: boolean } {
  const out: string[] = [];
  let fromDir = false;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const inp of inputs) {
    const p = resolve(inp);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new UsageError(`no such file or folder: ${inp}`);
    }
    if (st.isDirectory()) { fromDir = true; walk(p); } else out.push(p);
  }
  return { files: [...new Set(out)], fromDir };
}

async function withGallery<T>(spec: string | undefined, fn: (g: GalleryStore) => Promise<T>, create = false): Promise<T> {
  const g = await openGallery(spec, { create });
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}

/** withGallery for commands that may create the gallery (enroll, import). */
function withGalleryCreate<T>(spec: string | undefined, fn: (g: GalleryStore) => Promise<T>): Promise<T> {
  return withGallery(spec, fn, true);
}

function fail(io: Io, cmd: string, e: unknown): number {
  if (e instanceof UsageError) {
    io.err(`lrfr ${cmd}: ${e.message}\n\n${cmd === 'enroll' ? ENROLL_USAGE : cmd === 'identify' ? IDENTIFY_USAGE : GALLERY_USAGE}`);
    return 2;
  }
  io.err(`lrfr ${cmd}: ${(e as Error).message}\n`);
  return 1;
}

/** Hooks for tests: called after each committed batch of enroll (files done so far). */
export const enrollHooks: { afterCommit?: (filesDone: number) => void | Promise<void> } = {};

export async function enrollCommand(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let embedder: FaceEmbedder | null = null;
  try {
    const p = parseArgs(argv, ['name', 'gallery', 'recognizer', 'sr', 'degraded', 'batch'], ['names-from-dirs']);
    const name = str(p, 'name');
    const fromDirs = p.flags.has('names-from-dirs');
    if ((name === undefined) === !fromDirs) throw new UsageError('give exactly one of --name PERSON and --names-from-dirs');
    if (name !== undefined) checkPerson(name);
    if (p.pos.length === 0) throw new UsageError('no input images or folders');
    const degraded = str(p, 'degraded') === undefined ? null : intFlag(p, 'degraded', 16, 4, 111);
    const batch = intFlag(p, 'batch', 16, 1, 1024);
    const { files, fromDir } = expandInputs(p.pos);
    if (files.length === 0) throw new Error(`no image files (${IMAGE_EXTENSIONS.join(' ')}) in ${p.pos.join(', ')}`);
    const personOf = (f: string) => checkPerson(name ?? basename(dirname(f)));

    return await withGalleryCreate(str(p, 'gallery'), async (g) => {
      await initNodeGPU();
      embedder = await FaceEmbedder.create({ recognizer: str(p, 'recognizer'), sr: str(p, 'sr') });
      const model = embedder.model;
      const meta = await g.meta();
      if (meta) {
        // refuse a mismatched gallery before any work
        if (meta.modelHash !== model.modelHash || meta.dim !== model.dim) throw new GalleryModelMismatch(g.location, meta, model);
      }
      // resume: a file whose first template is stored was committed whole (one commit per batch)
      const hashes = files.map((f) => hashFile(f));
      const keys = files.map((f, i) => (hashes[i] ? [templateId(personOf(f), hashes[i]!, 'hr', 0), templateId(personOf(f), hashes[i]!, 'sr', 0)] : []));
      const have = await g.existingIds(keys.flat());
      const todo = files.filter((_, i) => !keys[i]!.some((k) => have.has(k)));
      const skipped = files.length - todo.length;
      if (skipped > 0) io.err(`lrfr enroll: ${skipped} of ${files.length} files are in the gallery already (skipped)\n`);
      const progress = fromDir || todo.length > batch ? new Progress('enroll', todo.length, { stream: { write: (s: string) => io.err(s), isTTY: process.stderr.isTTY && io === defaultIo } }) : null;
      const failed: FileResult[] = [];
      let templates = 0, done = 0;
      const people = new Set<string>();
      await g.bind(model);
      for (let i = 0; i < todo.length; i += batch) {
        const chunk = todo.slice(i, i + batch);
        const results = await embedder.embedFiles(chunk, { allFaces: false, degradedSize: degraded });
        const now = new Date().toISOString();
        const rows: TemplateRow[] = [];
        for (const r of results) {
          if (r.error || r.templates.length === 0) { failed.push(r); io.err(`lrfr enroll: skipped ${r.path}: ${r.error ?? 'no template'}\n`); continue; }
          const person = personOf(r.path);
          people.add(person);
          for (const t of r.templates) {
            rows.push({ id: templateId(person, r.contentHash, t.kind, t.face), person, source: r.path, model: model.model, modelHash: model.modelHash, kind: t.kind, embedding: t.embedding, enrolledAt: now });
          }
        }
        await commitTemplates(g, model, rows, now); // under the gallery's writer lock
        templates += rows.length;
        done += chunk.length;
        progress?.tick(chunk.length);
        await enrollHooks.afterCommit?.(skipped + done);
      }
      progress?.finish();
      if (g instanceof LanceGallery && todo.length > 0) await g.optimize(60_000);
      io.out(`enrolled ${templates} template${templates === 1 ? '' : 's'} of ${people.size} ${people.size === 1 ? 'person' : 'people'} from ${todo.length - failed.length} file${todo.length - failed.length === 1 ? '' : 's'} into ${g.location}` +
        `${skipped ? ` (${skipped} already there)` : ''}${failed.length ? `; ${failed.length} file${failed.length === 1 ? '' : 's'} failed` : ''}\n`);
      return failed.length > 0 ? 1 : 0;
    });
  } catch (e) {
    if (e instanceof DeviceLostError) {
      io.err(`lrfr enroll: ${e.message}. Every batch committed before it is kept; run the same command again to resume.\n`);
      return 1;
    }
    return fail(io, 'enroll', e);
  } finally {
    (embedder as FaceEmbedder | null)?.dispose();
  }
}

/** sha256 of a file's bytes, first 24 hex digits (FaceEmbedder's contentHash); null when unreadable. */
function hashFile(f: string): string | null {
  try {
    return createHash('sha256').update(fs.readFileSync(f)).digest('hex').slice(0, 24);
  } catch {
    return null;
  }
}

export interface FaceResult {
  file: string;
  face: number;
  box: { x: number; y: number; width: number; height: number } | null;
  kind: string;
  matches: Match[];
  error?: string;
}

export async function identifyCommand(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let embedder: FaceEmbedder | null = null;
  try {
    const p = parseArgs(argv, ['gallery', 'recognizer', 'sr', 'top', 'threshold', 'fusion', 'batch'], ['json', 'ann', 'exact']);
    if (p.pos.length === 0) throw new UsageError('no input images or folders');
    const k = intFlag(p, 'top', 5, 1, 1000);
    const thrS = str(p, 'threshold');
    const threshold = thrS === undefined ? null : Number(thrS);
    if (threshold !== null && !(Number.isFinite(threshold) && threshold >= -1 && threshold <= 1)) throw new UsageError(`--threshold must be a number in -1..1, got "${thrS}"`);
    const fusion = (str(p, 'fusion') ?? 'max') as Fusion;
    if (fusion !== 'max' && fusion !== 'mean') throw new UsageError(`--fusion must be max or mean, got "${fusion}"`);
    const json = p.flags.has('json');
    const batch = intFlag(p, 'batch', 16, 1, 1024);
    const { files, fromDir } = expandInputs(p.pos);
    if (files.length === 0) throw new Error(`no image files (${IMAGE_EXTENSIONS.join(' ')}) in ${p.pos.join(', ')}`);
    return await withGallery(str(p, 'gallery'), async (g) => {
      const meta = await g.meta();
      if (!meta) throw new Error(`gallery ${g.location} is empty: enroll people first (lrfr enroll ... --gallery ${str(p, 'gallery') ?? resolveGallerySpec(undefined)})`);
      await initNodeGPU();
      embedder = await FaceEmbedder.create({ recognizer: str(p, 'recognizer'), sr: str(p, 'sr') });
      await g.bind(embedder.model); // throws GalleryModelMismatch naming both hashes
      const progress = fromDir ? new Progress('identify', files.length, { stream: { write: (s: string) => io.err(s), isTTY: process.stderr.isTTY && io === defaultIo } }) : null;
      if (!json) io.out(`${'file'.padEnd(40)} face  ${'person'.padEnd(28)} score   rank\n`);
      let errors = 0;
      for (let i = 0; i < files.length; i += batch) {
        const results = await embedder.embedFiles(files.slice(i, i + batch), { allFaces: true });
        for (const r of results) {
          if (r.error || r.templates.length === 0) {
            errors++;
            const msg = r.error ?? 'no face';
            if (json) io.out(JSON.stringify({ file: r.path, face: null, box: null, kind: null, matches: [], error: msg }) + '\n');
            else io.out(`${shorten(r.path, 40)} -     ${msg}\n`);
            continue;
          }
          for (const t of r.templates) {
            let matches = await g.search(t.embedding, { k, fusion, useIndex: p.flags.has('exact') ? false : p.flags.has('ann') ? true : 'auto' });
            if (threshold !== null) matches = matches.filter((m) => m.score >= threshold);
            const fr: FaceResult = { file: r.path, face: t.face, box: t.box && { x: t.box.x, y: t.box.y, width: t.box.width, height: t.box.height }, kind: t.kind, matches };
            if (json) io.out(JSON.stringify(fr) + '\n');
            else if (matches.length === 0) io.out(`${shorten(r.path, 40)} ${String(t.face).padEnd(5)} ${'unknown'.padEnd(28)} -\n`);
            else matches.forEach((m, j) => io.out(`${j === 0 ? shorten(r.path, 40) : ''.padEnd(40)} ${String(t.face).padEnd(5)} ${shorten(m.person, 28)} ${m.score.toFixed(4)}  ${j + 1}\n`));
          }
        }
        progress?.tick(Math.min(batch, files.length - i));
      }
      progress?.finish();
      return errors > 0 && errors === files.length ? 1 : 0;
    });
  } catch (e) {
    if (e instanceof DeviceLostError) {
      io.err(`lrfr identify: ${e.message}. The gallery is unchanged; run the command again.\n`);
      return 1;
    }
    return fail(io, 'identify', e);
  } finally {
    (embedder as FaceEmbedder | null)?.dispose();
  }
}

function shorten(s: string, n: number): string {
  return s.length <= n ? s.padEnd(n) : `...${s.slice(s.length - n + 3)}`;
}

export async function galleryCommand(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    const p = parseArgs(argv, ['gallery', 'kind', 'lists'], ['json']);
    const [sub, ...args] = p.pos;
    const json = p.flags.has('json');
    const spec = str(p, 'gallery');
    switch (sub) {
      case 'list':
        return await withGallery(spec, async (g) => {
          const people = await g.people();
          if (json) for (const x of people) io.out(JSON.stringify(x) + '\n');
          else {
            io.out(`${'person'.padEnd(32)} templates  kinds                      last enrolled\n`);
            for (const x of people) {
              const kinds = Object.entries(x.kinds).sort().map(([kk, n]) => `${kk} ${n}`).join(', ');
              io.out(`${shorten(x.person, 32)} ${String(x.templates).padStart(9)}  ${kinds.padEnd(26)} ${x.lastEnrolled}\n`);
            }
            io.out(`${people.length} ${people.length === 1 ? 'person' : 'people'} in ${g.location}\n`);
          }
          return 0;
        });
      case 'delete': {
        if (args.length !== 1) throw new UsageError('gallery delete takes one PERSON');
        return await withGallery(spec, async (g) => {
          const n = await g.deletePerson(args[0]!);
          if (n === 0) { io.err(`lrfr gallery: no person "${args[0]}" in ${g.location}\n`); return 1; }
          io.out(`deleted ${args[0]} (${n} template${n === 1 ? '' : 's'}) from ${g.location}\n`);
          return 0;
        });
      }
      case 'stats':
        return await withGallery(spec, async (g) => {
          const s = await g.stats();
          if (json) io.out(JSON.stringify(s) + '\n');
          else {
            io.out(`gallery   ${s.location} (${s.backend})\n`);
            io.out(`model     ${s.meta ? `${s.meta.model} (weights hash ${s.meta.modelHash}, ${s.meta.dim}-D), created ${s.meta.createdAt}` : 'none yet (empty)'}\n`);
            io.out(`people    ${s.people}\ntemplates ${s.templates} (${Object.entries(s.byKind).filter(([kk]) => kk !== 'fused').map(([kk, n]) => `${kk} ${n}`).join(', ') || 'none'})\n`);
            io.out(`disk      ${(s.bytes / 1e6).toFixed(2)} MB\nindex     ${s.index ?? 'none (exact search)'}\n`);
          }
          return 0;
        });
      case 'export': {
        if (args.length > 1) throw new UsageError('gallery export takes at most one FILE');
        return await withGallery(spec, async (g) => {
          const out = args[0];
          if (out === undefined || out === '-') {
            for await (const chunk of exportGallery(g)) io.out(chunk);
            return 0;
          }
          const tmp = `${out}.tmp-${process.pid}`;
          const fd = fs.openSync(tmp, 'w');
          let n = 0;
          try {
            for await (const chunk of exportGallery(g)) { fs.writeSync(fd, chunk); n++; }
            fs.fsyncSync(fd);
          } catch (e) {
            fs.closeSync(fd);
            fs.rmSync(tmp, { force: true });
            throw e;
          }
          fs.closeSync(fd);
          fs.renameSync(tmp, out);
          io.err(`exported ${n - 1} templates from ${g.location} to ${out}\n`);
          return 0;
        });
      }
      case 'import': {
        if (args.length !== 1) throw new UsageError('gallery import takes one FILE');
        const text = fs.readFileSync(args[0]!, 'utf8');
        const { header, rows } = parseGalleryExport(text, args[0]);
        return await withGalleryCreate(spec, async (g) => {
          const r = await importRows(g, header, rows);
          io.out(`imported ${r.added} templates into ${g.location}${r.skipped ? ` (${r.skipped} already there)` : ''}\n`);
          return 0;
        });
      }
      case 'index': {
        const kind = str(p, 'kind') ?? 'ivf-pq';
        if (kind !== 'ivf-pq' && kind !== 'hnsw') throw new UsageError(`--kind must be ivf-pq or hnsw, got "${kind}"`);
        const lists = p.flags.has('lists') ? intFlag(p, 'lists', 0, 1, 32768) : undefined;
        return await withGallery(spec, async (g) => {
          await g.createIndex({ kind, lists });
          io.out(`built a ${kind} index on ${g.location}\n`);
          return 0;
        });
      }
      case undefined:
        throw new UsageError('which gallery command?');
      default:
        throw new UsageError(`unknown gallery command "${sub}"`);
    }
  } catch (e) {
    return fail(io, 'gallery', e);
  }
}

export async function enrollMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(ENROLL_USAGE); return 0; }
  return enrollCommand(argv);
}

export async function identifyMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(IDENTIFY_USAGE); return 0; }
  return identifyCommand(argv);
}

export async function galleryMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(GALLERY_USAGE); return 0; }
  return galleryCommand(argv);
}
