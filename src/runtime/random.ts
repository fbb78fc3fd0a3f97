// Seeded randomness on the CPU: the same seed gives the same numbers on every platform.
import { tensor, type Shape } from './tensor.js';
import { shapeSize } from './tensor.js';

/** mulberry32: a small, fast, well-mixed 32-bit generator. */
export class Rng {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** The generator's whole state (for checkpoints): restoring it continues the same sequence. */
  getState(): { s: number; spare: number | null } {
    return { s: this.s, spare: this.spare };
  }
  setState(st: { s: number; spare: number | null }): void {
    if (!Number.isInteger(st?.s) || st.s < 0 || st.s > 0xffffffff) throw new Error(`Rng.setState: s must be a uint32, got ${String(st?.s)}`);
    if (st.spare !== null && typeof st.spare !== 'number') throw new Error(`Rng.setState: spare must be a number or null`);
    this.s = st.s >>> 0;
    this.spare = st.spare;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

export function randnArray(n: number, seed: number, std = 1, mean = 0): Float32Array {
  const r = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = mean + std * r.normal();
  return a;
}

export function randArray(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const r = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.uniform(lo, hi);
  return a;
}

export const randn = (shape: Shape, seed: number, std = 1, mean = 0) => tensor(randnArray(shapeSize(shape), seed, std, mean), shape);
export const rand = (shape: Shape, seed: number, lo = 0, hi = 1) => tensor(randArray(shapeSize(shape), seed, lo, hi), shape);
