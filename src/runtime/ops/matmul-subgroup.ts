// The unrolled body of shaders/matmul_subgroup.wgsl (the subgroup-broadcast matmul for 8-lane
// subgroups). WGSL's subgroupBroadcast takes a constant lane, and lavapipe keeps straight-line
// scalars in registers where it would spill loop-indexed arrays to memory (a loop-and-array version
// of this kernel measured 10x slower), so the accumulators c<i>_<j> and each k's reads, broadcasts and
// FMAs are written out here for a block of TM rows per lane x 8·TB columns.
import type { Defines } from '../shaders.js';

export const SUBGROUP_LANES = 8;

const cache = new Map<string, Defines>();

/**
 * The block for an M x N output: tm shrunk to the power of 2 covering a small M (at least 2), tb
 * likewise for N; the rows a small M gives up go to columns (tb up to 8) where N has them, keeping
 * the multiply-adds per read.
 */
export function subgroupTile(b: { tm: number; tb: number }, M: number, N: number): { tm: number; tb: number } {
  const cover = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(x / SUBGROUP_LANES))));
  const tm = Math.max(2, Math.min(b.tm, cover(M)));
  return { tm, tb: Math.min(8, b.tb * (b.tm / tm), cover(N)) };
}

/** The block subgroupTile gives an M x N output, and its grid: tilesN tiles across N, tiles in all. */
export function subgroupGrid(b: { tm: number; tb: number }, M: number, N: number): { tm: number; tb: number; tilesN: number; tiles: number } {
  const { tm, tb } = subgroupTile(b, M, N);
  const tilesN = Math.ceil(N / (SUBGROUP_LANES * tb));
  return { tm, tb, tilesN, tiles: tilesN * Math.ceil(M / (SUBGROUP_LANES * tm)) };
}

/**
 * The FMAs of one step over ku k's x = 0 .. ku - 1: a<i>_<x> = aRead(i, x) (row i), v<j>_<x> = bRead(j, x)
 * (this lane's column j), and for every column n0 + 8j + l the other lanes' values by broadcast;
 * each accumulator is written once, as one chain of fmas in k order: lavapipe masks every write of
 * a loop variable with a blend (and spills the accumulators to the stack), so one write per ku k's
 * cuts both ku-fold.
 */
function chainStep(tm: number, tb: number, ku: number, aRead: (i: number, x: number) => string, bRead: (j: number, x: number) => string,
  colOf: (j: number, l: number) => number = (j, l) => SUBGROUP_LANES * j + l): string[] {
  const L = SUBGROUP_LANES;
  const step: string[] = [];
  for (let i = 0; i < tm; i++) for (let x = 0; x < ku; x++) step.push(`    let a${i}_${x} = ${aRead(i, x)};`);
  for (let j = 0; j < tb; j++) for (let x = 0; x < ku; x++) step.push(`    let v${j}_${x} = ${bRead(j, x)};`);
  for (let j = 0; j < tb; j++) {
    for (let l = 0; l < L; l++) {
      const c = colOf(j, l);
      const ws = Array.from({ length: ku }, (_, x) => `let w${x} = subgroupBroadcast(v${j}_${x}, ${l}u);`).join(' ');
      const chain = (i: number) => {
        let e = `c${i}_${c}`;
        for (let x = 0; x < ku; x++) e = `fma(a${i}_${x}, w${x}, ${e})`;
        return `c${i}_${c} = ${e};`;
      };
      step.push(`    { ${ws} ${Array.from({ length: tm }, (_, i) => chain(i)).join(' ')} }`);
    }
  }
  return step;
}

/**
 * The accumulators and one step of the block: rows r<i> = min(m0 + 8i, M - 1) read with a_at(offA, r<i>, k),
 * columns q<j> = min(n0 + 8j + lane, N - 1) read with b_at(offB, k, q<j>), the other lanes' columns by
 * broadcast; c<i>_<j> += op(A)[row i, k] · op(B)[k, column n0 + j]. A step takes k .. k + ku - 1
 * (reads clamped to kEnd - 1 and zeroed past it) and writes each accumulator once (chainStep).
 */
export function subgroupBlock(tm: number, tb: number, ku = 1): { decl: string[]; step: string[] } {
  const { decl } = blockDecl(tm, tb);
  const step: string[] = [];
  for (let x = 1; x < ku; x++) step.push(`    let k${x} = min(k + ${x}u, kEnd - 1u); let ok${x} = k + ${x}u < kEnd;`);
  const at = (read: string, x: number) => (x === 0 ? read : `select(0.0, ${read}, ok${x})`);
  const kx = (x: number) => (x === 0 ? 'k' : `k${x}`);
  step.push(...chainStep(tm, tb, ku, (i, x) => at(`a_at(offA, r${i}, ${kx(x)})`, x), (j, x) => at(`b_at(offB, ${kx(x)}, q${j})`, x)));
  return { decl, step };
}

/** Rows r<i>, columns q<j> and the zeroed accumulators c<i>_<j> of a tm x tb block. */
function blockDecl(tm: number, tb: number): { decl: string[] } {
  const L = SUBGROUP_LANES;
  const decl: string[] = [];
  for (let i = 0; i < tm; i++) decl.push(`  let r${i} = min(m0 + ${L * i}u, u.M - 1u);`);
  for (let j = 0; j < tb; j++) decl.push(`  let q${j} = min(n0 + ${L * j}u + lane, u.N - 1u);`);
  for (let i = 0; i < tm; i++) decl.push(`  ${Array.from({ length: L * tb }, (_, j) => `var c${i}_${j} = 0.0;`).join(' ')}`);
  return { decl };
}

/**
 * SG_DECL / SG_STEP / SG_STORE / TILE_M / TILE_N for rows m0 + 8i (i < tm) and columns n0 + j (j < 8·tb);
 * with rowSums also s<i> = Σ_k op(A)[row i, k], stored to rows[offO / N + row] by the tiles of the first
 * column (the shader's ROW_SUMS); with bias the stores add bias_at(n) (the shader's HAS_BIAS).
 */
export function subgroupMatmulDefines(tm: number, tb: number, rowSums = false, ku = 1, epi = false, bias = false, out4 = false): Defines {
  const key = `${tm}x${tb}${rowSums ? 'r' : ''}k${ku}${epi ? 'e' : ''}${bias ? 'b' : ''}${out4 ? 'o' : ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { decl, step } = subgroupBlock(tm, tb, ku);
  const d = matmulEpilogue(tm, tb, ku, rowSums, epi, bias, out4, (i) => `m0 + ${SUBGROUP_LANES * i}u`, decl, step);
  cache.set(key, d);
  return d;
}

/**
 * The matmul kernels' defines from a block's decl / step: with rowSums the sums s<i> of the step's
 * a<i>_<x> (the tiles of the first column store them to rows[offO / N + row]), and the stores of row
 * i (at the expression row(i)): out[offO + row·N + n0 + j] = c<i>_<j> (+ bias_at(n0 + j) with bias); with epi
 * four columns at a time through the shader's store_epi4 (matmul_epi.wgsl: GELU and its derivative);
 * with out4 (the shader's OUT4: out bound as vec4s, N % 4 == 0) four columns per store.
 * The bias is read once per tile: lane l reads columns n0 + 8j + l (j < tb, bq<j>), and column c's value
 * reaches all lanes by subgroupBroadcast (bc<c>), before any row's branch. Read per store, as before,
 * each lane fetched every column's bias once per row (per-lane fetches on lavapipe: linear with a bias
 * took 1.19-1.29x linear without on EdgeFace-XXS's shapes, 1.02-1.11x after, 2026-12-07).
 */
function matmulEpilogue(tm: number, tb: number, ku: number, rowSums: boolean, epi: boolean, bias: boolean, out4: boolean, row: (i: number) => string, decl: string[], step: string[]): Defines {
  const cols = SUBGROUP_LANES * tb;
  const L = SUBGROUP_LANES;
  if (rowSums) {
    const terms = (i: number) => Array.from({ length: ku }, (_, x) => `a${i}_${x}`).join(' + ');
    decl.push(`  ${Array.from({ length: tm }, (_, i) => `var s${i} = 0.0;`).join(' ')}`);
    step.push(`    ${Array.from({ length: tm }, (_, i) => `s${i} += ${terms(i)};`).join(' ')}`);
  }
  const store: string[] = [];
  if (bias) {
    for (let j = 0; j < tb; j++) store.push(`  let bq${j} = bias_at(min(n0 + ${L * j}u + lane, u.N - 1u));`);
    for (let c = 0; c < cols; c++) store.push(`  let bc${c} = subgroupBroadcast(bq${Math.floor(c / L)}, ${c % L}u);`);
  }
  const plus = (c: number) => (bias ? ` + bc${c}` : '');
  for (let i = 0; i < tm; i++) {
    store.push(`  { let m = ${row(i)};`);
    store.push('  if (m < u.M) {');
    store.push('    let o = offO + m * u.N + n0;');
    if (epi) {
      const v = (j: number) => Array.from({ length: 4 }, (_, t) => `c${i}_${j + t}${plus(j + t)}`).join(', ');
      for (let j = 0; j < cols; j += 4) store.push(`    if (n0 + ${j}u < u.N) { store_epi4(o + ${j}u, n0 + ${j}u, vec4<f32>(${v(j)})); }`);
    } else if (out4) {
      const v = (j: number) => Array.from({ length: 4 }, (_, t) => `c${i}_${j + t}${plus(j + t)}`).join(', ');
      for (let j = 0; j < cols; j += 4) store.push(`    if (n0 + ${j}u < u.N) { out[(o + ${j}u) >> 2u] = vec4<f32>(${v(j)}); }`);
    } else {
      for (let j = 0; j < cols; j++) store.push(`    if (n0 + ${j}u < u.N) { out[o + ${j}u] = c${i}_${j}${plus(j)}; }`);
    }
    if (rowSums) store.push(`    if (tn == 0u) { rows[offO / u.N + m] = s${i}; }`);
    store.push('  } }');
  }
  return { TILE_M: SUBGROUP_LANES * tm, TILE_N: cols, SG_KU: ku, SG_DECL: decl.join('\n'), SG_STEP: step.join('\n'), SG_STORE: store.join('\n') };
}

const vec4Cache = new Map<string, Defines>();

/**
 * subgroupMatmulDefines with every read a vec4 along the operand's contiguous axis (the shader's A4 /
 * B4), 4 k per step: op(A) along k where A is plain ([M, K]), along m where it is transposed ([K, M]:
 * lane l's rows are then 4l .. 4l + 3 of each 32-row group); op(B) along k where B is transposed
 * ([N, K]), along n where plain ([K, N]: lane l's columns 4l .. 4l + 3 of each 32-column group, and
 * the broadcasts relabelled to match). lavapipe fetches a storage read lane by lane, with a bounds
 * check and an insert per lane (perf annotate on EdgeFace-XXS's products: ~2/3 of the kernel's
 * samples), and a vec4 shares that per-lane work over 4 floats (bench/probe-load-costs.ts: 0.60 ns per
 * lane-vec4 against 0.21 per lane-f32). The op uses it only where every vec4 is aligned and whole:
 * K % 4 == 0 (no partial step), M % 4 / N % 4 == 0 and tm / tb multiples of 4 for the m / n reads,
 * batch strides multiples of 4.
 */
export function subgroupMatmulVec4Defines(tm: number, tb: number, transA: boolean, transB: boolean, rowSums = false, epi = false, bias = false, out4 = false): Defines {
  const key = `${tm}x${tb}${transA ? 't' : 'n'}${transB ? 't' : 'n'}${rowSums ? 'r' : ''}${epi ? 'e' : ''}${bias ? 'b' : ''}${out4 ? 'o' : ''}`;
  const hit = vec4Cache.get(key);
  if (hit) return hit;
  const L = SUBGROUP_LANES;
  const ku = 4;
  if (transA && tm % 4 !== 0) throw new Error(`subgroupMatmulVec4Defines: a transposed A needs tm % 4 == 0, got ${tm}`);
  if (!transB && tb % 4 !== 0) throw new Error(`subgroupMatmulVec4Defines: a plain B needs tb % 4 == 0, got ${tb}`);
  const cols = L * tb;
  const decl: string[] = [];
  const step: string[] = [];
  // Rows: row(i) of this lane, as an offset expression from mb (the tile's first row).
  const row = (i: number) => (transA ? `mb + ${32 * (i >> 2) + (i & 3)}u + 4u * lane` : `m0 + ${L * i}u`);
  if (transA) {
    for (let g = 0; g < tm / 4; g++) decl.push(`  let rg${g} = min(mb + ${32 * g}u + 4u * lane, u.M - 4u);`);
    for (let g = 0; g < tm / 4; g++) for (let x = 0; x < ku; x++) step.push(`    let ag${g}_${x} = A[(offA + (k + ${x}u) * u.M + rg${g}) >> 2u];`);
  } else {
    for (let i = 0; i < tm; i++) decl.push(`  let r${i} = min(m0 + ${L * i}u, u.M - 1u);`);
    for (let i = 0; i < tm; i++) step.push(`    let av${i} = A[(offA + r${i} * u.K + k) >> 2u];`);
  }
  if (transB) {
    for (let j = 0; j < tb; j++) decl.push(`  let q${j} = min(n0 + ${L * j}u + lane, u.N - 1u);`);
    for (let j = 0; j < tb; j++) step.push(`    let bv${j} = B[(offB + q${j} * u.K + k) >> 2u];`);
  } else {
    for (let h = 0; h < tb / 4; h++) decl.push(`  let qg${h} = min(n0 + ${32 * h}u + 4u * lane, u.N - 4u);`);
    for (let h = 0; h < tb / 4; h++) for (let x = 0; x < ku; x++) step.push(`    let bg${h}_${x} = B[(offB + (k + ${x}u) * u.N + qg${h}) >> 2u];`);
  }
  for (let i = 0; i < tm; i++) decl.push(`  ${Array.from({ length: cols }, (_, j) => `var c${i}_${j} = 0.0;`).join(' ')}`);
  const aRead = (i: number, x: number) => (transA ? `ag${i >> 2}_${x}[${i & 3}]` : `av${i}[${x}]`);
  const bRead = (j: number, x: number) => (transB ? `bv${j}[${x}]` : `bg${j >> 2}_${x}[${j & 3}]`);
  const colOf = (j: number, l: number) => (transB ? L * j + l : 32 * (j >> 2) + 4 * l + (j & 3));
  step.push(...chainStep(tm, tb, ku, aRead, bRead, colOf));
  const d = matmulEpilogue(tm, tb, ku, rowSums, epi, bias, out4, row, decl, step);
  vec4Cache.set(key, d);
  return d;
}

const convCache = new Map<string, Defines>();

/**
 * The same block for shaders/conv_subgroup.wgsl (implicit GEMM: rows = output channels, columns =
 * output pixels n = (batch, oy, ox), k = (ci, ky, kx)): column j's pixel is decomposed once
 * (xb<j> its input plane base, iy<j> / ix<j> its top-left input position) and each k reads
 * x_at(xb<j> + cio, iy<j> + kyd, ix<j> + kxd) (0 outside the image). kw > 0: a step takes a whole
 * kernel row, kx = 0 .. kw - 1 (the shader's SG_KW loop, for convolutions of that kernel width),
 * each accumulator written once per row (chainStep); 0: one k per step. The stores write
 * out[(b·Co + m)·HoWo + p] (+ bias[m], PReLU with alpha[m] where the shader has them; both read once
 * per row, not per store: bias_of / slope_of).
 */
export function subgroupConvDefines(tm: number, tb: number, kw = 0): Defines {
  const key = `${tm}x${tb}w${kw}`;
  const hit = convCache.get(key);
  if (hit) return hit;
  const L = SUBGROUP_LANES;
  const cols = L * tb;
  const { decl } = blockDecl(tm, tb);
  const step = kw > 0
    ? chainStep(tm, tb, kw, (i, x) => `a_kx(offA, r${i}, k, ${x}u)`, (j, x) => `x_at(xb${j} + cio, iy${j} + kyd, ix${j}${x === 0 ? '' : ` + ${x} * u.dw`})`)
    : chainStep(tm, tb, 1, (i) => `a_at(offA, r${i}, k)`, (j) => `x_at(xb${j} + cio, iy${j} + kyd, ix${j} + kxd)`);
  for (let j = 0; j < tb; j++) {
    decl.push(`  let xb${j} = (q${j} / u.HWo) * u.Ci * u.H * u.W;`);
    decl.push(`  let iy${j} = i32((q${j} % u.HWo) / u.Wo) * u.sh - u.ph;`);
    decl.push(`  let ix${j} = i32(q${j} % u.Wo) * u.sw - u.pw;`);
  }
  const store: string[] = [];
  for (let i = 0; i < tm; i++) {
    store.push(`  if (m0 + ${L * i}u < u.M) {`);
    store.push(`    let m = m0 + ${L * i}u;`);
    store.push('    let bm = bias_of(m);');
    store.push('    let am = slope_of(m);');
    for (let j = 0; j < cols; j++) store.push(`    if (n0 + ${j}u < u.N) { store_px(m, n0 + ${j}u, c${i}_${j}, bm, am); }`);
    store.push('  }');
  }
  const d: Defines = { TILE_M: L * tm, TILE_N: cols, SG_KW: kw, SG_DECL: decl.join('\n'), SG_STEP: step.join('\n'), SG_STORE: store.join('\n') };
  convCache.set(key, d);
  return d;
}

const wgradCache = new Map<string, Defines>();

/**
 * The block for shaders/conv_wgrad_subgroup.wgsl (rows = output channels, columns = the weight's
 * (ci, ky, kx), the reduction over output pixels): column j's (ci, ky, kx) is decomposed once (cio<j>
 * its input plane offset, oyo<j> / oxo<j> its offsets from the pixel's strided position), a step takes
 * ku pixels ox .. ox + ku - 1 of the row (dy_at is 0 past Wo), and the stores write the split's
 * partial part[(s·M + m)·N + n].
 */
export function subgroupWgradDefines(tm: number, tb: number, ku: number): Defines {
  const key = `${tm}x${tb}k${ku}`;
  const hit = wgradCache.get(key);
  if (hit) return hit;
  const L = SUBGROUP_LANES;
  const cols = L * tb;
  const { decl } = blockDecl(tm, tb);
  for (let j = 0; j < tb; j++) {
    decl.push(`  let cio${j} = (q${j} / u.khw) * u.H * u.W;`);
    decl.push(`  let kk${j} = q${j} % u.khw;`);
    decl.push(`  let oyo${j} = i32(kk${j} / u.kw) * u.dh - u.ph;`);
    decl.push(`  let oxo${j} = i32(kk${j} % u.kw) * u.dw - u.pw;`);
  }
  const ox = (x: number) => (x === 0 ? 'ox' : `ox + ${x}u`);
  const step = chainStep(tm, tb, ku, (i, x) => `dy_at(dyb + r${i} * HWo, ${ox(x)})`, (j, x) => `x_at(xb + cio${j}, iy + oyo${j}, i32(${ox(x)}) * u.sw + oxo${j})`);
  const store: string[] = [];
  for (let i = 0; i < tm; i++) {
    store.push(`  if (m0 + ${L * i}u < u.M) {`);
    store.push(`    let o = (s * u.M + m0 + ${L * i}u) * u.N + n0;`);
    for (let j = 0; j < cols; j++) store.push(`    if (n0 + ${j}u < u.N) { part[o + ${j}u] = c${i}_${j}; }`);
    store.push('  }');
  }
  const d: Defines = { TILE_M: L * tm, TILE_N: cols, SG_KU: ku, SG_DECL: decl.join('\n'), SG_STEP: step.join('\n'), SG_STORE: store.join('\n') };
  wgradCache.set(key, d);
  return d;
}
