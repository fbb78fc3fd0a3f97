// Batches of images for the training tasks: stacking CHW images into one tensor's data, and
// embedding a list of images through a network in batches (no grad), one readback per batch.
import * as L from '../runtime/index.js';
import type { ChwImage } from './image.js';

export function stackImages(imgs: readonly ChwImage[]): { x: Float32Array; shape: [number, number, number, number] } {
  const p = imgs[0]!;
  const px = p.c * p.h * p.w;
  const x = new Float32Array(imgs.length * px);
  imgs.forEach((m, k) => x.set(m.data, k * px));
  return { x, shape: [imgs.length, p.c, p.h, p.w] };
}

export async function embedAll(net: (t: L.Tensor) => L.Tensor, imgs: readonly ChwImage[], batch = 32, onBatch?: (n: number) => void): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (let i = 0; i < imgs.length; i += batch) {
    const { x, shape } = stackImages(imgs.slice(i, i + batch));
    const y = L.noGrad(() => L.tidy(() => net(L.tensor(x, shape))));
    try {
      parts.push(await y.data());
    } finally {
      y.dispose();
    }
    onBatch?.(shape[0]);
  }
  const dim = parts[0]!.length / Math.min(batch, imgs.length);
  const out = new Float32Array(imgs.length * dim);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

