// lrfr enroll / identify / gallery end to end on real faces (LFW fixtures made at test time, the
// committed EdgeFace-XXS C1 recognizer and C2 DSR), in this process through the commands' own
// functions (the same code bin/lrfr.js runs), against both backends: a LanceDB folder and PostgreSQL
// + pgvector (PGlite over the wire on 127.0.0.1).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { enrollCommand, identifyCommand, galleryCommand, type FaceResult } from '../../src/cli/gallery.js';
import { makeFixtures, PEOPLE } from './fixtures.js';
import { startPgliteServer, type TestPgServer } from './pglite-server.js';
import { DEFAULT_RECOGNIZER } from '../../src/gallery/embedder.js';
import { recognizerFromBytes, embedImages, cosine } from '../../src/nn/face-pipeline.js';
import type { EdgeFaceXXS } from '../../src/nn/edgeface.js';
import { decodeImage } from '../../src/train/image.js';

const tmp = mkdtempSync(join(tmpdir(), 'lrfr-gallery-cli-'));
let server: TestPgServer;
let recognizer: EdgeFaceXXS;
/** Top-1 right of 4 per backend and probe set (printed; EdgeFace-XXS C1 is a weak recognizer). */
const accuracy: Record<string, number> = {};
const chw = (f: string) => decodeImage(f);

function capture() {
  const o = { out: '', err: '' };
  return { io: { out: (s: string) => { o.out += s; }, err: (s: string) => { o.err += s; } }, o };
}

async function run(cmd: typeof enrollCommand, argv: string[]) {
  const { io, o } = capture();
  const code = await cmd(argv, io);
  return { code, ...o };
}

const jsonLines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FaceResult);

beforeAll(async () => {
  await makeFixtures(tmp);
  server = await startPgliteServer();
  recognizer = recognizerFromBytes(new Uint8Array(readFileSync(DEFAULT_RECOGNIZER)));
});
afterAll(async () => {
  recognizer?.dispose();
  console.log(`gallery cli: top-1 right of ${PEOPLE.length} (EdgeFace-XXS C1): ${JSON.stringify(accuracy)}`);
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.each([['lancedb'], ['postgres']] as const)('lrfr enroll / identify / gallery (%s)', (backend) => {
  const gallery = () => (backend === 'lancedb' ? join(tmp, 'g-lance') : `${server.url}&gallery=cli`);

  it('enrolls a folder by folder names, resumes without duplicates, identifies HR and LR probes', async () => {
    const e1 = await run(enrollCommand, [join(tmp, 'enroll'), '--names-from-dirs', '--gallery', gallery(), '--degraded', '16']);
    expect(e1.err).not.toMatch(/skipped/);
    expect(e1.code).toBe(0);
    expect(e1.out).toMatch(/enrolled 8 templates of 4 people from 4 files/);
    const again = await run(enrollCommand, [join(tmp, 'enroll'), '--names-from-dirs', '--gallery', gallery()]);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/4 of 4 files are in the gallery already/);
    expect(again.out).toMatch(/enrolled 0 templates .* \(4 already there\)/);

    const list = await run(galleryCommand, ['list', '--json', '--gallery', gallery()]);
    const people = list.out.trim().split('\n').map((l) => JSON.parse(l) as { person: string; templates: number; kinds: Record<string, number> });
    expect(people.map((p) => p.person)).toEqual([...PEOPLE]);
    for (const p of people) expect(p).toMatchObject({ templates: 2, kinds: { hr: 1, degraded: 1 } });

    // the enrolled files themselves: top-1 is the person with a score of ~1
    const self = await run(identifyCommand, [join(tmp, 'enroll'), '--json', '--top', '2', '--gallery', gallery()]);
    expect(self.code).toBe(0);
    const selfRes = jsonLines(self.out);
    expect(selfRes).toHaveLength(4);
    for (const r of selfRes) {
      expect(r.matches[0]!.person).toBe(r.file.split('/').at(-2));
      expect(r.matches[0]!.score).toBeGreaterThan(0.999);
      expect(r.matches[0]!.score).toBeGreaterThan(r.matches[1]!.score);
    }
    // other images of the same people (HR crops, and 16 px crops through the DSR): every score is the
    // cosine of embeddings computed here independently (face-pipeline's embedImages on the same crops)
    const hrEmb = new Map<string, Float32Array>();
    for (const p of PEOPLE) hrEmb.set(p, (await embedImages(recognizer, [await chw(join(tmp, 'enroll', p, '1.png'))]))[0]!);
    for (const [dir, kind] of [['probe', 'hr'], ['probe-lr', 'sr']] as const) {
      const res = jsonLines((await run(identifyCommand, [join(tmp, dir), '--json', '--top', '4', '--gallery', gallery()])).out);
      expect(res.map((r) => r.kind)).toEqual(Array(4).fill(kind));
      let right = 0;
      for (const r of res) {
        expect(r.matches).toHaveLength(4);
        expect(new Set(r.matches.map((m) => m.person)).size).toBe(4);
        const s = r.matches.map((m) => m.score);
        expect([...s].sort((a, b) => b - a)).toEqual(s);
        if (kind === 'hr') {
          const probe = (await embedImages(recognizer, [await chw(r.file)]))[0]!;
          for (const m of r.matches) {
            const c = cosine(probe, hrEmb.get(m.person)!);
            if (m.kind === 'hr') expect(Math.abs(m.score - c)).toBeLessThan(1e-4);
            else expect(m.score).toBeGreaterThan(c - 1e-4);
          }
        }
        if (r.file.endsWith(`${r.matches[0]!.person}_2.png`)) right++;
      }
      accuracy[`${backend} ${dir}`] = right;
    }
  });

  it('identifies faces in a photo through the detector; --threshold gives unknown; mean fusion; the table', async () => {
    const p = join(tmp, 'photo', `${PEOPLE[0]}_3.png`);
    const r = jsonLines((await run(identifyCommand, [p, '--json', '--gallery', gallery()])).out);
    expect(r).toHaveLength(1);
    expect(r[0]!.box!.width).toBeGreaterThan(40);
    expect(r[0]!.kind).toBe('hr');
    const unknown = jsonLines((await run(identifyCommand, [p, '--json', '--threshold', '0.99', '--gallery', gallery()])).out);
    expect(unknown[0]!.matches).toEqual([]);
    const mean = jsonLines((await run(identifyCommand, [p, '--json', '--fusion', 'mean', '--gallery', gallery()])).out);
    expect(mean[0]!.matches.every((m) => m.kind === 'fused')).toBe(true);
    const table = await run(identifyCommand, [join(tmp, 'probe', `${PEOPLE[1]}_2.png`), '--top', '2', '--gallery', gallery()]);
    expect(table.out.split('\n')[0]).toMatch(/^file\s+face\s+person\s+score\s+rank/);
    expect(table.out.trim().split('\n')).toHaveLength(3);
  });

  it('refuses another recognizer naming both hashes; the gallery is unchanged', async () => {
    const other = join(tmp, 'other-recognizer.safetensors');
    // the same model with one byte of a weight changed: another hash, same shapes
    const bytes = readFileSync(DEFAULT_RECOGNIZER);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(other, bytes);
    const before = (await run(galleryCommand, ['stats', '--json', '--gallery', gallery()])).out;
    for (const cmd of [identifyCommand, enrollCommand]) {
      const args = [join(tmp, 'probe', `${PEOPLE[0]}_2.png`), '--recognizer', other, '--gallery', gallery(), ...(cmd === enrollCommand ? ['--name', 'X'] : [])];
      const r = await run(cmd, args);
      expect(r.code).toBe(1);
      const hashes = [...r.err.matchAll(/weights hash ([0-9a-f]{16})/g)].map((m) => m[1]);
      expect(hashes).toHaveLength(2);
      expect(hashes[0]).not.toBe(hashes[1]);
    }
    const after = JSON.parse((await run(galleryCommand, ['stats', '--json', '--gallery', gallery()])).out);
    expect(after.templates).toBe(JSON.parse(before).templates);
  });

  it('bad inputs: one message each, the good files still enrolled, usage errors exit 2', async () => {
    const bad = join(tmp, `bad-${backend}`);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(bad, 'Zed'), { recursive: true });
    writeFileSync(join(bad, 'Zed', 'corrupt.png'), Buffer.concat([readFileSync(join(tmp, 'probe', `${PEOPLE[2]}_2.png`)).subarray(0, 40), Buffer.alloc(100, 9)]));
    writeFileSync(join(bad, 'Zed', 'text.jpg'), 'not an image');
    writeFileSync(join(bad, 'Zed', 'good.png'), readFileSync(join(tmp, 'probe', `${PEOPLE[2]}_2.png`)));
    const sky = await (await import('sharp')).default({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png().toBuffer();
    writeFileSync(join(bad, 'Zed', 'noface.png'), sky);
    const r = await run(enrollCommand, [join(bad, 'Zed'), '--name', 'Zed', '--gallery', gallery()]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/corrupt\.png is not an image lrfr can read/);
    expect(r.err).toMatch(/text\.jpg is not an image lrfr can read/);
    expect(r.err).toMatch(/no face found in .*noface\.png/);
    expect(r.out).toMatch(/enrolled 1 template of 1 person from 1 file .*3 files failed/);
    expect((await run(enrollCommand, [join(bad, 'nope'), '--name', 'Zed', '--gallery', gallery()])).code).toBe(2);
    expect((await run(enrollCommand, [bad, '--gallery', gallery()])).err).toMatch(/exactly one of --name PERSON and --names-from-dirs/);
    expect((await run(identifyCommand, [bad, '--top', 'x', '--gallery', gallery()])).err).toMatch(/--top must be an integer/);
    // gallery index: flags checked, a gallery this small refused, --lists only for PostgreSQL's IVFFlat
    expect((await run(galleryCommand, ['index', '--kind', 'flat', '--gallery', gallery()])).err).toMatch(/--kind must be ivf-pq or hnsw, got "flat"/);
    expect((await run(galleryCommand, ['index', '--lists', 'many', '--gallery', gallery()])).err).toMatch(/--lists must be an integer in 1\.\.32768, got "many"/);
    const small = await run(galleryCommand, ['index', '--lists', '4', '--gallery', gallery()]);
    expect(small.code).toBe(1);
    expect(small.err).toMatch(/has \d+ rows; an ANN index needs at least 1000/);
    expect((await run(galleryCommand, ['delete', 'Zed', '--gallery', gallery()])).out).toMatch(/deleted Zed \(1 template\)/);
    expect((await run(galleryCommand, ['delete', 'Zed', '--gallery', gallery()])).code).toBe(1);
    if (backend === 'lancedb') {
      // reading commands do not create a gallery that is not there
      const missing = join(tmp, 'no-such-gallery');
      for (const [cmd, args] of [[identifyCommand, [join(tmp, 'probe')]], [galleryCommand, ['list']], [galleryCommand, ['stats']]] as const) {
        const r2 = await run(cmd, [...args, '--gallery', missing]);
        expect(r2.code).toBe(1);
        expect(r2.err).toContain(`no gallery at ${missing}`);
      }
      expect(existsSync(missing)).toBe(false);
    }
  });

  it('export, import into a new gallery, stats', async () => {
    const file = join(tmp, `export-${backend}.jsonl`);
    expect((await run(galleryCommand, ['export', file, '--gallery', gallery()])).code).toBe(0);
    const target = backend === 'lancedb' ? join(tmp, 'g-lance-imported') : `${server.url}&gallery=imported`;
    const imp = await run(galleryCommand, ['import', file, '--gallery', target]);
    expect(imp.out).toMatch(/imported 8 templates/);
    const s = JSON.parse((await run(galleryCommand, ['stats', '--json', '--gallery', target])).out);
    expect(s).toMatchObject({ people: 4, templates: 8, byKind: { hr: 4, degraded: 4, fused: 4 } });
    // a truncated export is refused whole
    const text = readFileSync(file, 'utf8');
    writeFileSync(`${file}.cut`, text.slice(0, Math.floor(text.length * 0.6)));
    const cut = await run(galleryCommand, ['import', `${file}.cut`, '--gallery', `${target}${backend === 'lancedb' ? '-2' : '2'}`]);
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/line \d+ is not JSON|header says 8 rows/);
    if (backend === 'lancedb') expect(existsSync(join(tmp, 'g-lance-imported-2')) ? readdirSync(join(tmp, 'g-lance-imported-2')) : []).toEqual([]);
  });
});
