// What the super-resolvers (DSR, WDSR) share: the probe checks of forward(), the probe-size list of
// their configs, and the bicubic fit of an image batch to a size.
import { Tensor, fmtShape, resizeBicubic } from '../runtime/index.js';

/** config.probeSizes: integers 4..outputSize (or absent). */
export function checkProbeSizes(what: string, probeSizes: unknown, outputSize: number): void {
  const ps = probeSizes ?? [];
  if (!Array.isArray(ps) || !ps.every((p) => Number.isInteger(p) && p >= 4 && p <= outputSize)) {
    throw new Error(`${what}: probeSizes must be a list of integers in 4..${outputSize}, got ${JSON.stringify(probeSizes)}`);
  }
}

/** A probe batch [N, 3, S, S] with S = inputSize or one of probeSizes; anything else is a clear error. */
export function checkProbe(what: string, lr: Tensor, inputSize: number, probeSizes: readonly number[]): void {
  const [, c, h, w] = lr.shape as [number, number, number, number];
  if (c !== 3) throw new Error(`${what}: expected 3 (RGB) input channels, got ${fmtShape(lr.shape)}`);
  if (h !== w) throw new Error(`${what}: expected a square probe, got ${fmtShape(lr.shape)}`);
  if (h !== inputSize && !probeSizes.includes(h)) {
    const takes = probeSizes.length ? `takes ${[inputSize, ...probeSizes].join(', ')}-pixel` : `was built for ${inputSize}x${inputSize}`;
    throw new Error(`${what}: this model ${takes} probes, got ${fmtShape(lr.shape)} (build one with config.inputSize = ${h})`);
  }
}

/** Resize to [size, size]: bicubic, antialiased when shrinking, identity when equal. */
export function fitTo(x: Tensor, size: number): Tensor {
  const h = x.shape[2]!;
  if (h === size) return x;
  return resizeBicubic(x, [size, size], { antialias: size < h });
}
