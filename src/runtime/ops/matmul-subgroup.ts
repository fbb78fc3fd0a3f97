// The unrolled body of shaders/matmul_subgroup.wgsl (the subgroup-broadcast matmul for 8-lane
// subgroups). WGSL's subgroupBroadcast takes a constant lane, and lavapipe keeps straight-line
// scalars in registers where it would spill loop-indexed arrays to memory (a loop-and-array version
// of this kernel measured 10x slower), so the accumulators c<i>_<j> and each k's reads, broadcasts and
// FMAs are written out here for a block of TM rows per lane x 8·TB columns.
import type { Defines } from '../shaders.js';

export const SUBGROUP_LANES = 8;

const cache = new Map<string, Defines>();

/** SG_DECL / SG_STEP / SG_STORE / TILE_M / TILE_N for rows m0 + 8i (i < tm) and columns n0 + j (j < 8·tb). */
export function subgroupMatmulDefines(tm: number, tb: number): Defines {
  const key = `${tm}x${tb}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const L = SUBGROUP_LANES;
  const cols = L * tb;
  const decl: string[] = [];
  for (let i = 0; i < tm; i++) decl.push(`  let r${i} = min(m0 + ${L * i}u, u.M - 1u);`);
  for (let j = 0; j < tb; j++) decl.push(`  let q${j} = min(n0 + ${L * j}u + lane, u.N - 1u);`);
  for (let i = 0; i < tm; i++) decl.push(`  ${Array.from({ length: cols }, (_, j) => `var c${i}_${j} = 0.0;`).join(' ')}`);
  const step: string[] = [];
  for (let i = 0; i < tm; i++) step.push(`    let a${i} = a_at(offA, r${i}, k);`);
  for (let j = 0; j < tb; j++) step.push(`    let v${j} = b_at(offB, k, q${j});`);
  for (let j = 0; j < tb; j++) {
    for (let l = 0; l < L; l++) {
      const c = L * j + l;
      const fmas = Array.from({ length: tm }, (_, i) => `c${i}_${c} = fma(a${i}, w, c${i}_${c});`).join(' ');
      step.push(`    { let w = subgroupBroadcast(v${j}, ${l}u); ${fmas} }`);
    }
  }
  const store: string[] = [];
  for (let i = 0; i < tm; i++) {
    store.push(`  if (m0 + ${L * i}u < u.M) {`);
    store.push(`    let o = offO + (m0 + ${L * i}u) * u.N + n0;`);
    for (let j = 0; j < cols; j++) store.push(`    if (n0 + ${j}u < u.N) { out[o + ${j}u] = c${i}_${j} + bias_at(n0 + ${j}u); }`);
    store.push('  }');
  }
  const d: Defines = { TILE_M: L * tm, TILE_N: cols, SG_DECL: decl.join('\n'), SG_STEP: step.join('\n'), SG_STORE: store.join('\n') };
  cache.set(key, d);
  return d;
}
