// Memory over many identify calls in one process (issue: GPU bytes in use and RSS flat): the same
// image embedded and searched `calls` times; the buffer pool's counters and the process RSS sampled
// after a warm-up and at the end. tests/gallery/memory.test.ts runs a short one; the full run is
// scripts/gallery-memory.mts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getEngine } from '../runtime/engine.js';
import type { FaceEmbedder } from './embedder.js';
import type { GalleryStore } from './store.js';

export interface SoakSample {
  call: number;
  bytesInUse: number;
  bytesAllocated: number;
  rss: number;
  heapUsed: number;
}

export interface SoakResult {
  calls: number;
  warm: SoakSample;
  end: SoakSample;
  msPerCall: number;
  /** Samples every `sampleEvery` calls after the warm-up (empty without sampleEvery). */
  samples: SoakSample[];
  /** The top-1 person of every call was the same. */
  stable: boolean;
}

/** A full garbage collection before each sample, so RSS and heap compare like with like. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function sample(call: number): SoakSample {
  collectGarbage();
  const s = getEngine().pool.getStats();
  const m = process.memoryUsage();
  return { call, bytesInUse: s.bytesInUse, bytesAllocated: s.bytesAllocated, rss: m.rss, heapUsed: m.heapUsed };
}

export async function identifySoak(embedder: FaceEmbedder, gallery: GalleryStore, file: string, calls: number, warmup = Math.min(50, Math.floor(calls / 4)), sampleEvery = 0): Promise<SoakResult> {
  let warm: SoakSample | null = null;
  const samples: SoakSample[] = [];
  let first: string | undefined;
  let stable = true;
  const t0 = performance.now();
  for (let i = 1; i <= calls; i++) {
    const [r] = await embedder.embedFiles([file], { allFaces: true });
    if (!r || r.error || r.templates.length === 0) throw new Error(`identify call ${i}: ${r?.error ?? 'no template'}`);
    const m = await gallery.search(r.templates[0]!.embedding, { k: 3 });
    first ??= m[0]?.person;
    if (m[0]?.person !== first) stable = false;
    if (i === warmup) warm = sample(i);
    else if (sampleEvery > 0 && i > warmup && (i - warmup) % sampleEvery === 0 && i < calls) samples.push(sample(i));
  }
  const end = sample(calls);
  if (sampleEvery > 0) samples.push(end);
  return { calls, warm: warm ?? sample(0), end, msPerCall: (performance.now() - t0) / calls, stable, samples };
}
