// N identify calls in one process (default 10,000) against a gallery of LFW faces made at run time
// (the project's 112 crops of 4 people; ../shared/data or $LRFR_DATA): GPU pool bytes (in use,
// allocated), RSS and JS heap (after a full GC) sampled every --every calls after a warm-up.
//   npx tsx scripts/gallery-memory.mts [--calls 10000] [--every 1000] [--warmup 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { initNodeGPU } from '../src/node/gpu.js';
import { enrollCommand } from '../src/cli/gallery.js';
import { FaceEmbedder } from '../src/gallery/embedder.js';
import { LanceGallery } from '../src/gallery/lance.js';
import { identifySoak } from '../src/gallery/soak.js';
import { makeFixtures, PEOPLE } from '../tests/gallery/fixtures.js';

const arg = (n: string, d: number) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? Number(process.argv[i + 1]) : d; };
const calls = arg('calls', 10_000), every = arg('every', 1000), warmup = arg('warmup', 100);
await initNodeGPU();
const tmp = mkdtempSync(join(tmpdir(), 'lrfr-gallery-memory-'));
try {
  await makeFixtures(tmp, PEOPLE);
  if (await enrollCommand([join(tmp, 'enroll'), '--names-from-dirs', '--gallery', join(tmp, 'g')], { out: () => {}, err: (s) => process.stderr.write(s) }) !== 0) throw new Error('enroll failed');
  const g = await LanceGallery.open(join(tmp, 'g'));
  const emb = await FaceEmbedder.create({ sr: 'bicubic' });
  const probe = join(tmp, 'probe', `${PEOPLE[0]}_2.png`);
  const w = await identifySoak(emb, g, probe, warmup, warmup);
  const base = w.end;
  console.log(`| calls | pool in use | pool allocated | RSS | heap | ms/call |\n|---:|---:|---:|---:|---:|---:|\n| ${warmup} (warm) | ${base.bytesInUse} | ${base.bytesAllocated} | ${(base.rss / 1e6).toFixed(1)} MB | ${(base.heapUsed / 1e6).toFixed(1)} MB | ${w.msPerCall.toFixed(1)} |`);
  for (let done = warmup; done < calls; done += every) {
    const r = await identifySoak(emb, g, probe, Math.min(every, calls - done), Math.min(every, calls - done));
    const e = r.end;
    console.log(`| ${done + Math.min(every, calls - done)} | ${e.bytesInUse} | ${e.bytesAllocated} | ${(e.rss / 1e6).toFixed(1)} MB (${(100 * (e.rss / base.rss - 1)).toFixed(1)} %) | ${(e.heapUsed / 1e6).toFixed(1)} MB | ${r.msPerCall.toFixed(1)} |`);
  }
  emb.dispose();
  await g.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
