// Many identify calls in one process (a short run of src/gallery/soak.ts; the full 10,000-call run is
// scripts/gallery-memory.mts): after a warm-up the GPU buffer pool holds exactly the same bytes (in
// use and allocated) and the JS heap (after a full GC) stays within 5 %. RSS is printed, not
// asserted: over short runs it drifts with native warm-up (Dawn / lavapipe, LanceDB); README,
// Galleries, gives the long-run figures.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { enrollCommand } from '../../src/cli/gallery.js';
import { FaceEmbedder } from '../../src/gallery/embedder.js';
import { LanceGallery } from '../../src/gallery/lance.js';
import { identifySoak } from '../../src/gallery/soak.js';
import { makeFixtures, PEOPLE } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'lrfr-gallery-mem-'));
const CALLS = Number(process.env.LRFR_SOAK_CALLS ?? 80);
beforeAll(async () => {
  await makeFixtures(tmp, PEOPLE.slice(0, 2));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('identify in a loop', () => {
  it(`${CALLS} calls: GPU pool bytes flat, JS heap within 5 % (RSS printed)`, async () => {
    const gallery = join(tmp, 'g');
    expect(await enrollCommand([join(tmp, 'enroll'), '--names-from-dirs', '--gallery', gallery], { out: () => {}, err: () => {} })).toBe(0);
    const g = await LanceGallery.open(gallery);
    const emb = await FaceEmbedder.create({ sr: 'bicubic' });
    try {
      const r = await identifySoak(emb, g, join(tmp, 'probe', `${PEOPLE[0]}_2.png`), CALLS, 40);
      console.log(`soak: ${CALLS} calls, ${r.msPerCall.toFixed(1)} ms/call; pool in use ${r.warm.bytesInUse} -> ${r.end.bytesInUse} B, allocated ${r.warm.bytesAllocated} -> ${r.end.bytesAllocated} B; RSS ${(r.warm.rss / 1e6).toFixed(1)} -> ${(r.end.rss / 1e6).toFixed(1)} MB, heap ${(r.warm.heapUsed / 1e6).toFixed(1)} -> ${(r.end.heapUsed / 1e6).toFixed(1)} MB`);
      expect(r.stable).toBe(true);
      expect(r.end.bytesInUse).toBe(r.warm.bytesInUse);
      expect(r.end.bytesAllocated).toBe(r.warm.bytesAllocated);
      expect(r.end.heapUsed / r.warm.heapUsed).toBeLessThan(1.05);
    } finally {
      emb.dispose();
      await g.close();
    }
  });
});
