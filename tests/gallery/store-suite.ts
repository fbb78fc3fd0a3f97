// The gallery storage suite, run against every backend (tests/gallery/store.test.ts): LanceDB in a
// temporary folder and PostgreSQL + pgvector (PGlite served over the wire on 127.0.0.1, reached
// through the same `pg` code path a real server gets). Synthetic L2-normalised embeddings with a
// seeded RNG; expected results are computed by brute force in the test.
import { it, expect } from 'vitest';
import {
  templateId, fusedId, l2normalize, dot, withFusedRows, GalleryModelMismatch,
  type GalleryStore, type GalleryModel, type TemplateRow,
} from '../../src/gallery/store.js';
import { exportGallery, parseGalleryExport, importRows } from '../../src/gallery/exchange.js';
import { mulberry32 } from '../../src/node/fuzz-loaders.js';

export const MODEL: GalleryModel = { model: 'edgeface-test.safetensors', modelHash: 'aaaabbbbccccdddd', dim: 512 };

/** The fuzzer's seeded generator (mulberry32). */
export const rng = mulberry32;

export function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export function randomUnit(r: () => number, dim: number): Float32Array {
  return l2normalize(Array.from({ length: dim }, () => randn(r)));
}

/** `people` people, each a random centre with `per` templates = normalise(centre + noise). */
export function syntheticPeople(seed: number, people: number, per: number, model = MODEL, noise = 0.6): { rows: TemplateRow[]; centres: Map<string, Float32Array> } {
  const r = rng(seed);
  const rows: TemplateRow[] = [];
  const centres = new Map<string, Float32Array>();
  for (let p = 0; p < people; p++) {
    const person = p === 3 ? "O'Brien, Ann" : `person_${String(p).padStart(4, '0')}`;
    const c = randomUnit(r, model.dim);
    centres.set(person, c);
    for (let t = 0; t < per; t++) {
      const e = l2normalize(Array.from(c, (x) => x + (noise / Math.sqrt(model.dim)) * randn(r)));
      rows.push({
        id: templateId(person, `content-${seed}-${p}-${t}`, t === 0 ? 'hr' : 'degraded'), person, source: `/data/${person}/${t}.png`,
        model: model.model, modelHash: model.modelHash, kind: t === 0 ? 'hr' : 'degraded', embedding: e, enrolledAt: new Date(Date.UTC(2026, 11, 3, 8, 0, t)).toISOString(),
      });
    }
  }
  return { rows, centres };
}

/** Brute force: best `k` people by max template score, and by fused mean template. */
export function bruteForce(rows: readonly TemplateRow[], probe: Float32Array, k: number, fusion: 'max' | 'mean'): { person: string; score: number }[] {
  const by = new Map<string, TemplateRow[]>();
  for (const r of rows) by.set(r.person, [...(by.get(r.person) ?? []), r]);
  const scored = [...by].map(([person, ts]) => {
    if (fusion === 'max') return { person, score: Math.max(...ts.map((t) => dot(t.embedding, probe))) };
    const mean = l2normalize(Array.from({ length: probe.length }, (_, i) => ts.reduce((s, t) => s + t.embedding[i]!, 0)));
    return { person, score: dot(mean, probe) };
  });
  return scored.sort((a, b) => b.score - a.score).slice(0, k);
}

async function enroll(store: GalleryStore, rows: readonly TemplateRow[]): Promise<void> {
  await store.bind(MODEL);
  await store.upsert(await withFusedRows(store, MODEL, rows));
}

async function collect(store: GalleryStore, includeFused = false): Promise<TemplateRow[]> {
  const out: TemplateRow[] = [];
  for await (const r of store.rows({ includeFused })) out.push(r);
  return out;
}

/** Registers the suite; `open(name)` opens (creating if needed) the gallery `name` of this backend. */
export function gallerySuite(open: (name: string) => Promise<GalleryStore>): void {
  it('an empty gallery has no model, no rows and finds nothing', async () => {
    const g = await open('empty');
    try {
      expect(await g.meta()).toBeNull();
      expect(await g.count()).toBe(0);
      expect(await g.search(randomUnit(rng(1), MODEL.dim), { k: 3 })).toEqual([]);
      expect(await g.people()).toEqual([]);
      await expect(g.upsert(syntheticPeople(1, 1, 1).rows)).rejects.toThrow(/bind\(\) a model/);
    } finally {
      await g.close();
    }
  });

  it('exact search ranks people as brute force does (max and mean fusion), across a reopen', async () => {
    const { rows, centres } = syntheticPeople(7, 30, 3);
    let g = await open('exact');
    await enroll(g, rows);
    expect(await g.count()).toBe(90);
    expect(await g.count({ includeFused: true })).toBe(120);
    await g.close();
    g = await open('exact'); // persisted
    try {
      expect((await g.meta())!.modelHash).toBe(MODEL.modelHash);
      const r = rng(99);
      let top1 = 0;
      for (const [person, c] of [...centres].slice(0, 8)) {
        const probe = l2normalize(Array.from(c, (x) => x + (0.6 / Math.sqrt(MODEL.dim)) * randn(r)));
        for (const fusion of ['max', 'mean'] as const) {
          const got = await g.search(probe, { k: 5, fusion });
          const want = bruteForce(rows, probe, 5, fusion);
          expect(got.map((m) => m.person)).toEqual(want.map((m) => m.person));
          got.forEach((m, i) => expect(m.score).toBeCloseTo(want[i]!.score, 4));
          if (fusion === 'max') expect(got[0]!.kind).not.toBe('fused');
          else expect(got[0]!.kind).toBe('fused');
        }
        if ((await g.search(probe, { k: 1 }))[0]!.person === person) top1++;
      }
      expect(top1).toBe(8);
      const people = await g.people();
      expect(people).toHaveLength(30);
      expect(people.find((p) => p.person === "O'Brien, Ann")).toMatchObject({ templates: 3, kinds: { hr: 1, degraded: 2 } });
    } finally {
      await g.close();
    }
  });

  it('max fusion returns k different people even when one person owns the top templates', async () => {
    const g = await open('crowd');
    try {
      const r = rng(3);
      const c = randomUnit(r, MODEL.dim);
      const rows: TemplateRow[] = [];
      for (let t = 0; t < 40; t++) {
        rows.push({ id: templateId('crowd', `c${t}`, 'hr'), person: 'crowd', source: `c${t}`, model: MODEL.model, modelHash: MODEL.modelHash, kind: 'hr',
          embedding: l2normalize(Array.from(c, (x) => x + 0.01 * randn(r))), enrolledAt: new Date().toISOString() });
      }
      rows.push(...syntheticPeople(5, 6, 1).rows);
      await enroll(g, rows);
      const got = await g.search(c, { k: 4 });
      expect(got).toHaveLength(4);
      expect(new Set(got.map((m) => m.person)).size).toBe(4);
      expect(got[0]!.person).toBe('crowd');
      expect(got.map((m) => m.person)).toEqual(bruteForce(rows, c, 4, 'max').map((m) => m.person));
    } finally {
      await g.close();
    }
  });

  it('refuses another model, naming both hashes, and keeps its own', async () => {
    let g = await open('mismatch');
    await enroll(g, syntheticPeople(2, 2, 2).rows);
    const other: GalleryModel = { model: 'dlib', modelHash: '1234123412341234', dim: 512 };
    await expect(g.bind(other)).rejects.toThrow(GalleryModelMismatch);
    await g.close();
    g = await open('mismatch');
    try {
      const err = await g.bind(other).then(() => null, (e: Error) => e);
      expect(err).toBeInstanceOf(GalleryModelMismatch);
      expect(err!.message).toContain(MODEL.modelHash);
      expect(err!.message).toContain(other.modelHash);
      const badRow = { ...syntheticPeople(4, 1, 1).rows[0]!, modelHash: other.modelHash };
      await expect(g.upsert([badRow])).rejects.toThrow(other.modelHash);
      expect(await g.count()).toBe(4);
      await expect(g.bind({ ...MODEL, dim: 128 })).rejects.toThrow(/128-D/);
    } finally {
      await g.close();
    }
  });

  it('upserting the same ids twice stores them once; the fused row is the mean of the templates', async () => {
    const g = await open('idem');
    try {
      const { rows } = syntheticPeople(11, 3, 2);
      await enroll(g, rows);
      await enroll(g, rows);
      expect(await g.count()).toBe(6);
      expect((await g.existingIds([...rows.map((r) => r.id), 't-0000'])).size).toBe(6);
      const more = syntheticPeople(12, 1, 2).rows.map((r) => ({ ...r, person: rows[0]!.person, id: templateId(rows[0]!.person, r.id, r.kind) }));
      await enroll(g, more);
      const all = await collect(g, true);
      const fused = all.find((r) => r.id === fusedId(rows[0]!.person))!;
      const ts = all.filter((r) => r.person === rows[0]!.person && r.kind !== 'fused');
      expect(ts).toHaveLength(4);
      expect(fused.source).toBe('mean of 4 templates');
      const mean = l2normalize(Array.from({ length: MODEL.dim }, (_, i) => ts.reduce((s, t) => s + t.embedding[i]!, 0)));
      expect(dot(mean, fused.embedding)).toBeGreaterThan(1 - 1e-5);
    } finally {
      await g.close();
    }
  });

  it('deletes a person with every template and the fused row', async () => {
    const g = await open('del');
    try {
      const { rows, centres } = syntheticPeople(21, 4, 3);
      await enroll(g, rows);
      const [victim] = [...centres.keys()];
      expect(await g.deletePerson(victim!)).toBe(3);
      expect(await g.deletePerson('nobody')).toBe(0);
      expect(await g.count({ includeFused: true })).toBe(12);
      const got = await g.search(centres.get(victim!)!, { k: 5 });
      expect(got.map((m) => m.person)).not.toContain(victim);
      expect(got).toHaveLength(3);
      expect((await g.search(centres.get(victim!)!, { k: 5, fusion: 'mean' })).map((m) => m.person)).not.toContain(victim);
      const s = await g.stats();
      expect(s).toMatchObject({ people: 3, templates: 9, byKind: { hr: 3, degraded: 6, fused: 3 } });
      expect(s.bytes).toBeGreaterThan(9 * MODEL.dim * 4);
    } finally {
      await g.close();
    }
  });

  it('export -> import into an empty gallery gives the same rows; again: all skipped; a bad file changes nothing', async () => {
    const a = await open('exp_a');
    const b = await open('exp_b');
    try {
      const { rows } = syntheticPeople(31, 5, 2);
      await enroll(a, rows);
      let text = '';
      for await (const chunk of exportGallery(a)) text += chunk;
      const parsed = parseGalleryExport(text);
      expect(parsed.rows).toHaveLength(10);
      expect(await importRows(b, parsed.header, parsed.rows)).toEqual({ added: 10, skipped: 0 });
      expect(await importRows(b, parsed.header, parsed.rows)).toEqual({ added: 0, skipped: 10 });
      const ra = await collect(a, true), rb = await collect(b, true);
      expect(rb.map((r) => [r.id, r.person, r.kind, r.source])).toEqual(ra.map((r) => [r.id, r.person, r.kind, r.source]));
      rb.forEach((r, i) => expect(dot(r.embedding, ra[i]!.embedding)).toBeGreaterThan(1 - 1e-6));
      // bad inputs: each one clear error, b unchanged
      const lines = text.trimEnd().split('\n');
      const bad: [string, RegExp][] = [
        [lines.slice(0, -1).join('\n'), /header says 10 rows, the file has 9/],
        [[lines[0], ...lines.slice(1, 5), '{"id":', ...lines.slice(6)].join('\n'), /line 6 is not JSON/],
        [[lines[0]!.replace(MODEL.modelHash, 'ffffeeeeddddcccc'), ...lines.slice(1)].join('\n'), /weights hash ffffeeeeddddcccc/],
        [[lines[0], lines[1]!.replace(/"embedding":"[^"]*"/, '"embedding":"AAAAAA=="'), ...lines.slice(2)].join('\n'), /line 2: embedding: 1 values/],
      ];
      for (const [t, re] of bad) {
        const err = await (async () => {
          const p = parseGalleryExport(t);
          await importRows(b, p.header, p.rows);
        })().then(() => null, (e: Error) => e);
        expect(err?.message).toMatch(re);
      }
      expect(await b.count({ includeFused: true })).toBe(15);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an ANN index (from 1,000 rows): scores re-ranked exactly, the same top-1 as exact search for most probes; refused below', async () => {
    const small = await open('ann_small');
    try {
      await enroll(small, syntheticPeople(41, 10, 2).rows);
      await expect(small.createIndex({ kind: 'hnsw' })).rejects.toThrow(/has 30 rows; an ANN index needs at least 1000/);
    } finally {
      await small.close();
    }
    const g = await open('ann');
    try {
      const { rows, centres } = syntheticPeople(42, 500, 2);
      await enroll(g, rows);
      // LanceDB: IVF-PQ; PostgreSQL: HNSW, then IVFFlat (the index a 1,000,000-row gallery gets)
      for (const kind of g.backend === 'lancedb' ? (['ivf-pq'] as const) : (['hnsw', 'ivf-pq'] as const)) {
        await g.createIndex({ kind });
        expect((await g.stats()).index).toMatch(g.backend === 'lancedb' ? /IvfPq/i : kind === 'hnsw' ? /^hnsw/ : /^ivfflat/);
        const r = rng(43);
        let same = 0;
        const probes = [...centres.values()].slice(0, 20).map((c) => l2normalize(Array.from(c, (x) => x + (0.6 / Math.sqrt(MODEL.dim)) * randn(r))));
        for (const probe of probes) {
          const ann = await g.search(probe, { k: 3, useIndex: true });
          const exact = await g.search(probe, { k: 3, exact: true });
          expect(exact.map((m) => m.person)).toEqual(bruteForce(rows, probe, 3, 'max').map((m) => m.person));
          // every score the index path returns is the exact cosine of that template
          for (const m of ann) expect(m.score).toBeCloseTo(dot(rows.find((x) => x.id === m.id)!.embedding, probe), 4);
          if (ann[0]?.person === exact[0]!.person) same++;
        }
        expect(same, kind).toBeGreaterThanOrEqual(18);
      }
      // PostgreSQL's IVFFlat with fewer lists (what PGlite's heap can build at 1,500,000 rows): with 8
      // lists every search probes all 8 (a tenth, at least 20, at most the lists), so the index path
      // finds exactly what exact search finds
      if (g.backend === 'postgres') {
        await g.createIndex({ kind: 'ivf-pq', lists: 8 });
        expect((await g.stats()).index).toMatch(/^ivfflat, 8 lists/);
        for (const c of [...centres.values()].slice(0, 20)) {
          const probe = l2normalize(Array.from(c));
          expect((await g.search(probe, { k: 3, useIndex: true })).map((m) => m.id)).toEqual((await g.search(probe, { k: 3, exact: true })).map((m) => m.id));
        }
        await expect(g.createIndex({ kind: 'hnsw', lists: 8 })).rejects.toThrow(/lists is an IVFFlat setting/);
        await expect(g.createIndex({ kind: 'ivf-pq', lists: 0 })).rejects.toThrow(/lists must be an integer from 1 to 1500/);
      } else {
        await expect(g.createIndex({ kind: 'ivf-pq', lists: 8 })).rejects.toThrow(/lists is a PostgreSQL IVFFlat setting/);
      }
    } finally {
      await g.close();
    }
  });
}
