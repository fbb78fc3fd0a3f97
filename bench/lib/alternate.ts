// Alternating timings for probes that compare variants of one kernel in one process: each variant
// once as a warm-up (its pipelines compiled), then `rounds` rounds in which the variants take turns,
// so the machine's drift hits all of them alike; the median per variant.
import { getEngine, type Tensor } from '../../src/runtime/index.js';

/** ms per call of `product`: `reps` calls recorded back to back, one sync, the outputs disposed. */
export async function msPerCall(product: () => Tensor, reps = 5): Promise<number> {
  const t0 = performance.now();
  const ys = Array.from({ length: reps }, product);
  await getEngine().sync();
  const ms = (performance.now() - t0) / reps;
  ys.forEach((y) => y.dispose());
  return ms;
}

/** Median ms of each of `count` variants, run(i) timing variant i once. */
export async function alternate(count: number, rounds: number, run: (i: number) => Promise<number>): Promise<number[]> {
  const times = Array.from({ length: count }, () => [] as number[]);
  for (let i = 0; i < count; i++) await run(i);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < count; i++) times[i]!.push(await run(i));
  return times.map((v) => [...v].sort((p, q) => p - q)[v.length >> 1]!);
}
