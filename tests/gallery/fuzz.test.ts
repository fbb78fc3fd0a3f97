// A short seeded fuzz pass of every loader that reads outside data (src/node/fuzz-loaders.ts):
// safetensors weights, tfjs manifests + shards, images, gallery imports. Every input must be
// accepted or rejected with one clear error; none may crash or pass the time limit. The full run
// (10,000 inputs per loader) is scripts/fuzz-loaders.mts.
import { describe, it, expect } from 'vitest';
import { FUZZ_TARGETS, fuzz, mutateJson, mulberry32, pngWithSize } from '../../src/node/fuzz-loaders.js';
import { decodeImageChecked } from '../../src/gallery/embedder.js';
import sharp from 'sharp';

const N = Number(process.env.LRFR_FUZZ_N ?? 120);

describe('fuzzing the loaders (short seeded pass)', () => {
  for (const t of FUZZ_TARGETS) {
    it(`${t.name}: ${N} inputs, no crash, no hang, clear errors`, async () => {
      const rep = await fuzz(t, N, 20261203, { timeLimitMs: 5000 });
      expect(rep.crashes, JSON.stringify(rep.crashes.slice(0, 5))).toEqual([]);
      expect(rep.accepted + rep.rejected).toBe(N);
      // the mutations must actually reach the loaders' checks, not all pass through
      expect(rep.rejected).toBeGreaterThan(N / 4);
      console.log(`fuzz ${t.name}: ${rep.accepted} accepted, ${rep.rejected} rejected, max ${rep.maxMs.toFixed(0)} ms; ${rep.topErrors.slice(0, 3).map(([m, n]) => `${n}x ${m}`).join(' | ')}`);
    });
  }

  it('the mutators are deterministic per seed, and a huge PNG header is refused before decoding', async () => {
    const a = JSON.stringify(mutateJson({ x: [1, 2, { y: 3 }] }, mulberry32(7)));
    expect(JSON.stringify(mutateJson({ x: [1, 2, { y: 3 }] }, mulberry32(7)))).toBe(a);
    const png = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer());
    const huge = pngWithSize(png, 100_000, 100_000);
    const t0 = performance.now();
    await expect(decodeImageChecked(Buffer.from(huge))).rejects.toThrow(/pixel limit|exceeds/i);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
