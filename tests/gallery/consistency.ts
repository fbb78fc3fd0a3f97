// What a consistent gallery is: ids unique; every person with templates has exactly one fused row,
// the re-normalised mean of exactly their templates; no fused row without templates; every row of
// the gallery's model; every embedding finite and unit-norm.
import { expect } from 'vitest';
import { l2normalize, dot, fusedId, checkEmbedding, type GalleryStore, type TemplateRow } from '../../src/gallery/store.js';

export async function checkConsistent(g: GalleryStore): Promise<TemplateRow[]> {
  const meta = (await g.meta())!;
  const rows: TemplateRow[] = [];
  for await (const r of g.rows({ includeFused: true })) rows.push(r);
  expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  const templates = rows.filter((r) => r.kind !== 'fused');
  const fused = rows.filter((r) => r.kind === 'fused');
  const people = new Set(templates.map((r) => r.person));
  expect(new Set(fused.map((r) => r.person))).toEqual(people);
  for (const r of rows) {
    expect(r.modelHash).toBe(meta.modelHash);
    checkEmbedding(r.embedding, meta.dim, r.id);
  }
  for (const f of fused) {
    expect(f.id).toBe(fusedId(f.person));
    const ts = templates.filter((t) => t.person === f.person);
    expect(f.source).toBe(`mean of ${ts.length} templates`);
    const mean = l2normalize(Array.from({ length: meta.dim }, (_, i) => ts.reduce((s, t) => s + t.embedding[i]!, 0)));
    expect(dot(mean, f.embedding)).toBeGreaterThan(1 - 1e-5);
  }
  return templates;
}
