// out[b] = op(A[b]) · op(B[b]) (+ bias), op = transpose when TRANS_A / TRANS_B.
// Stored layouts: A is [M, K] ([K, M] when TRANS_A), B is [K, N] ([N, K] when TRANS_B), out [M, N];
// batch b at element offsets b * sA, b * sB (0 on a broadcast side), b * M * N.
//
// Defines:
//   TRANS_A, TRANS_B  read the operand transposed (no materialised transpose).
//   VEC_A, VEC_B      bind the operand as array<vec4<f32>> (the op sets them only where every vec4 it
//                     reads is aligned: A along K (along M when TRANS_A) has a multiple of 4 elements,
//                     same for B along N (K when TRANS_B)).
//   HAS_BIAS          out += bias[n] (bias [N]; bound as input 2).
//   GELU, GELU_KEEP, DGELU   the store epilogue (matmul_epi.wgsl; not with SPLIT_K): act is bound as
//                     output 2, pre as input 2 (no bias with DGELU).
//   TILED_V4          shared-memory tiled variant with vec4 tiles, TM x 4TNV per invocation (TM 4 or 8,
//                     TNV 1 or 2; SwiftShader). VEC_A / VEC_B mean something narrower there: see below.
//   TILED             shared-memory tiled variant (for real GPUs; slow on lavapipe). Else the default
//                     register-blocked variant: each invocation computes TM rows x (4 * TNV) columns with
//                     no shared memory and no barriers.
// lavapipe (Mesa 25.0) note: every storage-buffer read becomes a per-lane scalar fetch loop with a bounds
// check per component (no gathers, no uniform fast path inside loops), a vec4 read costing less than four
// scalar reads; so the fastest shape reads the fewest values per multiply-add while keeping the live set
// small: one k per step, 8 x 16 blocks, vec4 along N (see bench/probe-matmul.ts).
//   TM, TNV, WGX, WGY register block and workgroup shape (WGX * WGY invocations, WGX along N).
//   KVEC              K in chunks of 4 with vec4 reads along K (else one k at a time: fastest on lavapipe).
//   A_VEC_M, B_VEC_N  per-k reads of transposed A / plain B as vec4 (along M / N).
//   SPLIT_K           (register-blocked only) split-K partial products: z = batch * splits + s; split s
//                     sums k in [s * kChunk, min(K, (s + 1) * kChunk)) into part[b * splits + s] ([M, N],
//                     no bias); a second program (REDUCE) sums the splits (+ bias). For products with few
//                     output tiles and a long K (the weight gradients gᵀ·x of the linears).
//   REDUCE            the split-K reduction: out[b, i] = Σ_s part[(b * splits + s) * MN + i] (+ bias[i % N]).
// Grid: (tiles folded into x, y; batch (* splits) in z). A tile is WGY * TM rows x WGX * 4 * TNV columns (TILED:
// 32 x 32); tile t of a batch is (t % tilesN, t / tilesN).
#include "common.wgsl"
#if ${REDUCE}
struct R { MN: u32, N: u32, splits: u32, total: u32 }
@group(0) @binding(0) var<storage, read> part: array<f32>;
#if ${HAS_BIAS}
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: R;
#else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: R;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u); // over batch * MN
  if (i >= u.total) { return; }
  let b = i / u.MN;
  let r = i - b * u.MN;
  var p = b * u.splits * u.MN + r;
  var s = 0.0;
  for (var j = 0u; j < u.splits; j++) {
    s += part[p];
    p += u.MN;
  }
#if ${HAS_BIAS}
  s += bias[r % u.N];
#endif
  out[i] = s;
}
#else
struct U {
  M: u32, N: u32, K: u32, tilesN: u32,
  tiles: u32, sA: u32, sB: u32, batch0: u32,
  splits: u32, kChunk: u32, p0: u32, p1: u32,
}
#include "matmul_part.wgsl"

#if ${VEC_A}
@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
fn a_scalar(i: u32) -> f32 { return A[i / 4u][i % 4u]; }
#else
@group(0) @binding(0) var<storage, read> A: array<f32>;
fn a_scalar(i: u32) -> f32 { return A[i]; }
#endif
#if ${VEC_B}
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
fn b_scalar(i: u32) -> f32 { return B[i / 4u][i % 4u]; }
#else
@group(0) @binding(1) var<storage, read> B: array<f32>;
fn b_scalar(i: u32) -> f32 { return B[i]; }
#endif
#include "matmul_io.wgsl"

// op(A)[m, k] and op(B)[k, n] as scalars (any alignment; indices must be in range).
fn a_at(off: u32, m: u32, k: u32) -> f32 {
#if ${TRANS_A}
  return a_scalar(off + k * u.M + m);
#else
  return a_scalar(off + m * u.K + k);
#endif
}
fn b_at(off: u32, k: u32, n: u32) -> f32 {
#if ${TRANS_B}
  return b_scalar(off + n * u.K + k);
#else
  return b_scalar(off + k * u.N + n);
#endif
}

// Bias for columns n..n+3 (clamped reads; columns >= N are never stored).
fn bias4(n: u32) -> vec4<f32> {
#if ${HAS_BIAS}
  let l = u.N - 1u;
  return vec4<f32>(bias[min(n, l)], bias[min(n + 1u, l)], bias[min(n + 2u, l)], bias[min(n + 3u, l)]);
#else
  return vec4<f32>(0.0);
#endif
}

// Stores v (+ bias) at out[m, n..n+3] through the epilogue, dropping columns >= N. Caller checks
// m < M. Scalar stores: any N, and one variant less to compile (stores are once per output, not in
// the K loop).
fn store4(offO: u32, m: u32, n: u32, v: vec4<f32>) {
  if (n >= u.N) { return; }
  store_epi4(offO + m * u.N + n, n, v + bias4(n));
}

#if ${TILED}
// ---- shared-memory tiled variant: 64 invocations (8 x 8), each 4 x 4 outputs of a 32 x 32 tile;
// K in steps of 32 staged through workgroup memory (zero-padded at the edges).
var<workgroup> tA: array<array<f32, 33>, 32>; // tA[k][m]
var<workgroup> tB: array<array<f32, 33>, 32>; // tB[k][n]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = flat_group(wid, nwg);
  // t is uniform across the workgroup, so every invocation reaches the barriers.
  let live = t < u.tiles;
  let tn = t % u.tilesN;
  let tm = t / u.tilesN;
  let b = u.batch0 + wid.z;
  let offA = b * u.sA;
  let offB = b * u.sB;
  let offO = b * u.M * u.N;
  let tx = lid % 8u;
  let ty = lid / 8u;
  let mBase = tm * 32u;
  let nBase = tn * 32u;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < u.K; k0 += 32u) {
    // 1024 elements of each tile, 16 per invocation.
    for (var e = 0u; e < 16u; e++) {
      let idx = lid + e * 64u;
      let r = idx / 32u; // k within the tile
      let c = idx % 32u; // m (or n) within the tile
      let k = k0 + r;
      var va = 0.0;
      var vb = 0.0;
      if (live && k < u.K) {
        if (mBase + c < u.M) { va = a_at(offA, mBase + c, k); }
        if (nBase + c < u.N) { vb = b_at(offB, k, nBase + c); }
      }
      tA[r][c] = va;
      tB[r][c] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk++) {
      let bv = vec4<f32>(tB[kk][tx * 4u], tB[kk][tx * 4u + 1u], tB[kk][tx * 4u + 2u], tB[kk][tx * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] = fma(vec4<f32>(tA[kk][ty * 4u + i]), bv, acc[i]); }
    }
    workgroupBarrier();
  }
  if (!live) { return; }
  for (var i = 0u; i < 4u; i++) {
    let m = mBase + ty * 4u + i;
    if (m < u.M) { store4(offO, m, nBase + tx * 4u, acc[i]); }
  }
}
#elif ${TILED_V4}
// ---- shared-memory tiled variant with vec4 tiles (tfjs-webgpu's matmul_packed layout): 8 x 8
// invocations, each TM rows x 4 * TNV columns (columns lid.x + 8j in vec4 units) of a 8TM x 32TNV tile;
// K in steps of 32 staged through workgroup memory as vec4 (A along K, B along N), zero-padded at the
// edges; per 4 k an invocation reads 4 * TNV + TM vec4 from workgroup memory for 4 * TM * TNV vec4
// FMAs. Here VEC_A means A is not transposed and K % 4 == 0 (VEC_B: B not transposed, N % 4 == 0), so
// a vec4 read at a k (n) that is a multiple of 4 is aligned and wholly in range when its first
// element is. Fast on SwiftShader (Chromium's software adapter), slow on lavapipe (barriers).
const TM = ${TM}u;
const TNV = ${TNV}u;
const BM = 8u * TM;
const BNV = 8u * TNV;
var<workgroup> sA: array<array<vec4<f32>, 8>, BM>;   // sA[m][k / 4]
var<workgroup> sB: array<array<vec4<f32>, BNV>, 32>; // sB[k][n / 4]

// op(A)[m, k..k+3], zero outside [M, K].
fn a_vec(off: u32, m: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (m >= u.M || k >= u.K) { return v; }
#if ${VEC_A}
  v = A[(off + m * u.K + k) / 4u];
#else
  for (var c = 0u; c < 4u; c++) { if (k + c < u.K) { v[c] = a_at(off, m, k + c); } }
#endif
  return v;
}

// op(B)[k, n..n+3], zero outside [K, N].
fn b_vec(off: u32, k: u32, n: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (k >= u.K || n >= u.N) { return v; }
#if ${VEC_B}
  v = B[(off + k * u.N + n) / 4u];
#else
  for (var c = 0u; c < 4u; c++) { if (n + c < u.N) { v[c] = b_at(off, k, n + c); } }
#endif
  return v;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = flat_group(wid, nwg);
  // t is uniform across the workgroup, so every invocation reaches the barriers.
  let live = t < u.tiles;
  let tn = t % u.tilesN;
  let tm = t / u.tilesN;
  let b = u.batch0 + wid.z;
  let offA = b * u.sA;
  let offB = b * u.sB;
  let offO = b * u.M * u.N;
  let mBase = tm * BM;
  let nBase = tn * BNV * 4u;
  var acc: array<vec4<f32>, TM * TNV>;
  for (var i = 0u; i < TM * TNV; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < u.K; k0 += 32u) {
    // A tile: BM rows x 8 vec4 (TM per invocation); B tile: 32 rows x BNV vec4 (4 * TNV per invocation).
    for (var e = 0u; e < TM; e++) {
      let idx = li + e * 64u;
      var v = vec4<f32>(0.0);
      if (live) { v = a_vec(offA, mBase + idx / 8u, k0 + 4u * (idx % 8u)); }
      sA[idx / 8u][idx % 8u] = v;
    }
    for (var e = 0u; e < 4u * TNV; e++) {
      let idx = li + e * 64u;
      var v = vec4<f32>(0.0);
      if (live) { v = b_vec(offB, k0 + idx / BNV, nBase + 4u * (idx % BNV)); }
      sB[idx / BNV][idx % BNV] = v;
    }
    workgroupBarrier();
    for (var kv = 0u; kv < 8u; kv++) {
      var bv: array<vec4<f32>, 4 * TNV>;
      for (var j = 0u; j < TNV; j++) {
        for (var c = 0u; c < 4u; c++) { bv[4u * j + c] = sB[4u * kv + c][lid.x + 8u * j]; }
      }
      for (var i = 0u; i < TM; i++) {
        let a = sA[lid.y * TM + i][kv];
        for (var j = 0u; j < TNV; j++) {
          var s = acc[i * TNV + j];
          s = fma(bv[4u * j], vec4<f32>(a.x), s);
          s = fma(bv[4u * j + 1u], vec4<f32>(a.y), s);
          s = fma(bv[4u * j + 2u], vec4<f32>(a.z), s);
          s = fma(bv[4u * j + 3u], vec4<f32>(a.w), s);
          acc[i * TNV + j] = s;
        }
      }
    }
    workgroupBarrier();
  }
  if (!live) { return; }
  for (var i = 0u; i < TM; i++) {
    let m = mBase + lid.y * TM + i;
    if (m < u.M) {
      for (var j = 0u; j < TNV; j++) { store4(offO, m, nBase + 4u * (lid.x + 8u * j), acc[i * TNV + j]); }
    }
  }
}
#else
// ---- register-blocked variant (default) ----
const TM = ${TM}u;
const TNV = ${TNV}u;

// op(A)[m0 + i, k .. k+3] for i < TM as a[i] (rows clamped to M - 1: their outputs are not stored).
fn load_a4(off: u32, m0: u32, k: u32) -> array<vec4<f32>, TM> {
  var a: array<vec4<f32>, TM>;
#if ${TRANS_A}
#if ${VEC_A}
  // M % 4 == 0: vec4 along M (rows m0.. of a group of 4), one per k.
  for (var r = 0u; r < TM / 4u; r++) {
    let m = min(m0 + 4u * r, u.M - 4u);
    for (var kk = 0u; kk < 4u; kk++) {
      let v = A[(off + (k + kk) * u.M + m) / 4u];
      for (var c = 0u; c < 4u; c++) { a[4u * r + c][kk] = v[c]; }
    }
  }
#else
  for (var i = 0u; i < TM; i++) {
    let m = min(m0 + i, u.M - 1u);
    let p = off + k * u.M + m;
    a[i] = vec4<f32>(A[p], A[p + u.M], A[p + 2u * u.M], A[p + 3u * u.M]);
  }
#endif
#else
  for (var i = 0u; i < TM; i++) {
    let p = off + min(m0 + i, u.M - 1u) * u.K + k;
#if ${VEC_A}
    a[i] = A[p / 4u];
#else
    a[i] = vec4<f32>(A[p], A[p + 1u], A[p + 2u], A[p + 3u]);
#endif
  }
#endif
  return a;
}

// op(B)[k + kk, n0 + 4j .. +3] as b[kk * TNV + j] (columns clamped to N - 1).
fn load_b4(off: u32, k: u32, n0: u32) -> array<vec4<f32>, 4 * TNV> {
  var b: array<vec4<f32>, 4 * TNV>;
#if ${TRANS_B}
  // B stored [N, K]: one row per column n, read along k.
  for (var j = 0u; j < TNV; j++) {
    for (var c = 0u; c < 4u; c++) {
      let p = off + min(n0 + 4u * j + c, u.N - 1u) * u.K + k;
#if ${VEC_B}
      let v = B[p / 4u];
#else
      let v = vec4<f32>(B[p], B[p + 1u], B[p + 2u], B[p + 3u]);
#endif
      for (var kk = 0u; kk < 4u; kk++) { b[kk * TNV + j][c] = v[kk]; }
    }
  }
#else
  for (var kk = 0u; kk < 4u; kk++) {
    for (var j = 0u; j < TNV; j++) {
#if ${VEC_B}
      b[kk * TNV + j] = B[(off + (k + kk) * u.N + min(n0 + 4u * j, u.N - 4u)) / 4u];
#else
      let row = off + (k + kk) * u.N;
      let n = n0 + 4u * j;
      let l = u.N - 1u;
      b[kk * TNV + j] = vec4<f32>(B[row + min(n, l)], B[row + min(n + 1u, l)], B[row + min(n + 2u, l)], B[row + min(n + 3u, l)]);
#endif
    }
  }
#endif
  return b;
}

// op(A)[m0 + i, k] for i < TM (rows clamped to M - 1).
fn load_a1(off: u32, m0: u32, k: u32) -> array<f32, TM> {
  var a: array<f32, TM>;
#if ${A_VEC_M}
  // A stored [K, M] with M % 4 == 0: vec4 along M.
  for (var r = 0u; r < TM / 4u; r++) {
    let v = A[(off + k * u.M + min(m0 + 4u * r, u.M - 4u)) / 4u];
    for (var c = 0u; c < 4u; c++) { a[4u * r + c] = v[c]; }
  }
#else
  for (var i = 0u; i < TM; i++) { a[i] = a_at(off, min(m0 + i, u.M - 1u), k); }
#endif
  return a;
}

// op(B)[k, n0 + 4j .. +3] for j < TNV (columns clamped to N - 1).
fn load_b1(off: u32, k: u32, n0: u32) -> array<vec4<f32>, TNV> {
  var b: array<vec4<f32>, TNV>;
  for (var j = 0u; j < TNV; j++) {
#if ${B_VEC_N}
    b[j] = B[(off + k * u.N + min(n0 + 4u * j, u.N - 4u)) / 4u];
#else
    let n = n0 + 4u * j;
    let l = u.N - 1u;
    b[j] = vec4<f32>(b_at(off, k, min(n, l)), b_at(off, k, min(n + 1u, l)), b_at(off, k, min(n + 2u, l)), b_at(off, k, min(n + 3u, l)));
#endif
  }
  return b;
}

@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = flat_group(wid, nwg);
  if (t >= u.tiles) { return; }
  let tn = t % u.tilesN;
  let tm = t / u.tilesN;
  let n0 = (tn * ${WGX}u + lid.x) * 4u * TNV;
  let m0 = (tm * ${WGY}u + lid.y) * TM;
  if (n0 >= u.N || m0 >= u.M) { return; }
  let part = part_of(wid.z);
  let b = part.b;
  var k = part.k0;
  let kEnd = part.k1;
  let offO = part.offO;
  let offA = b * u.sA;
  let offB = b * u.sB;
  var acc: array<vec4<f32>, TM * TNV>;
  for (var i = 0u; i < TM * TNV; i++) { acc[i] = vec4<f32>(0.0); }
#if ${KVEC}
  // K in chunks of 4, both operands read 4 k at a time (vec4 along K where the layout allows): fewer,
  // wider loads for real GPUs; more live registers.
  let K4 = k + ((kEnd - k) & ~3u);
  for (; k < K4; k += 4u) {
    let a4 = load_a4(offA, m0, k);
    let b4 = load_b4(offB, k, n0);
    for (var kk = 0u; kk < 4u; kk++) {
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TNV; j++) {
          acc[i * TNV + j] = fma(vec4<f32>(a4[i][kk]), b4[kk * TNV + j], acc[i * TNV + j]);
        }
      }
    }
  }
#endif
  // One k at a time: TM + 4 * TNV loads for 4 * TM * TNV multiply-adds, few live registers (lavapipe:
  // every load is a per-lane scalar fetch, register pressure decides the block size).
  for (; k < kEnd; k++) {
    let a = load_a1(offA, m0, k);
    let bb = load_b1(offB, k, n0);
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TNV; j++) {
        acc[i * TNV + j] = fma(vec4<f32>(a[i]), bb[j], acc[i * TNV + j]);
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m < u.M) {
      for (var j = 0u; j < TNV; j++) { store4(offO, m, n0 + 4u * j, acc[i * TNV + j]); }
    }
  }
}
#endif
#endif
