// Many identify calls in one process (a short run of src/gallery/soak.ts; the full 10,000-call run is
// scripts/gallery-memory.mts): after a warm-up the GPU buffer pool holds exactly the same bytes (in
// use and allocated) and the JS heap (after a full GC) stays within 5 %. RSS is sampled every 10
// calls after the warm-up (after a full GC too); single samples move by a few % either way (native
// allocators of Dawn / lavapipe and LanceDB), so the test asserts on the trend: the mean of the last
// two samples within RSS_TREND of the mean of the first two, and no sample above the warm value by
// more than RSS_MAX (tolerances from the spread measured over repeated runs; README, Galleries, has
// the 10,000-call run).
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
const EVERY = 10;
/** Last two samples vs first two (mean), after the warm-up. */
const RSS_TREND = 0.05;
/** Any sample vs the warm value. */
const RSS_MAX = 0.10;
beforeAll(async () => {
  await makeFixtures(tmp, PEOPLE.slice(0, 2));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('identify in a loop', () => {
  it(`${CALLS} calls: GPU pool bytes flat, JS heap within 5 %, RSS without an upward trend`, async () => {
    const gallery = join(tmp, 'g');
    expect(await enrollCommand([join(tmp, 'enroll'), '--names-from-dirs', '--gallery', gallery], { out: () => {}, err: () => {} })).toBe(0);
    const g = await LanceGallery.open(gallery);
    const emb = await FaceEmbedder.create({ sr: 'bicubic' });
    try {
      const r = await identifySoak(emb, g, join(tmp, 'probe', `${PEOPLE[0]}_2.png`), CALLS, 40, EVERY);
      const mb = (b: number) => (b / 1e6).toFixed(1);
      console.log(`soak: ${CALLS} calls, ${r.msPerCall.toFixed(1)} ms/call; pool in use ${r.warm.bytesInUse} -> ${r.end.bytesInUse} B, allocated ${r.warm.bytesAllocated} -> ${r.end.bytesAllocated} B; RSS ${(r.warm.rss / 1e6).toFixed(1)} -> ${(r.end.rss / 1e6).toFixed(1)} MB, heap ${(r.warm.heapUsed / 1e6).toFixed(1)} -> ${(r.end.heapUsed / 1e6).toFixed(1)} MB`);
      expect(r.stable).toBe(true);
      expect(r.end.bytesInUse).toBe(r.warm.bytesInUse);
      expect(r.end.bytesAllocated).toBe(r.warm.bytesAllocated);
      expect(r.end.heapUsed / r.warm.heapUsed).toBeLessThan(1.05);
      const rss = r.samples.map((x) => x.rss);
      console.log(`soak RSS (MB) at ${r.warm.call}, then every ${EVERY} calls: ${[r.warm.rss, ...rss].map(mb).join(', ')}`);
      expect(rss.length).toBeGreaterThanOrEqual(4);
      const first = (rss[0]! + rss[1]!) / 2, last = (rss[rss.length - 2]! + rss[rss.length - 1]!) / 2;
      expect(last / first, `RSS trend: first two samples ${mb(first)} MB, last two ${mb(last)} MB`).toBeLessThan(1 + RSS_TREND);
      expect(Math.max(...rss) / r.warm.rss, `RSS peak vs the warm value ${mb(r.warm.rss)} MB`).toBeLessThan(1 + RSS_MAX);
    } finally {
      emb.dispose();
      await g.close();
    }
  });
});
