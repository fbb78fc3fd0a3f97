// Cross-covariance attention (XCiT / EdgeNeXt's XCA), the part between the qkv and proj linears, in
// one workgroup per (image b, head h) reading the qkv linear's output as it is, [B, N, 3C]
// (token n: q at channel hC + c, k at C + hC + c, v at 2C + hC + c, c < CH = C / heads):
//   rq[c] = 1 / max(||q[:, c]||, eps), rk likewise (norms over the N tokens)
//   Ŝ[c1, c2] = Σ_n q[n, c1] rq[c1] · k[n, c2] rk[c2]          (raw scores, CH x CH)
//   A = softmax over c2 of t_h · Ŝ                             (t = temperature[h])
//   out[b, n, hC + c1] = Σ_c2 A[c1, c2] v[n, c2]               (tokens [B, N, C], proj's input)
// The same numbers as permute → chunk → l2Normalize → q·kᵀ → × t → softmax → A·v → permute (the
// ops it replaces), 8 dispatches in one. SAVE (recorded): saved[g] = Ŝ, A, rq, rk for the backward.
// BACKWARD, given gout = d out [B, N, C]: with dO[n, c1] = gout[b, n, hC + c1],
//   dA = dO·vᵀ;  dS = A ⊙ (dA − rowsum(A ⊙ dA));  dŜ = t · dS;  dt_part[g] = Σ dS ⊙ Ŝ
//   dv[n, c2] = Σ_c1 A[c1, c2] dO[n, c1]
//   dq[n, c1] = rq (dqn − q rq · Σ_c2 dŜ Ŝ),  dqn = Σ_c2 dŜ[c1, c2] k[n, c2] rk[c2]   (norm > eps;
//   else rq · dqn: l2Normalize's backward), dk likewise over c1 (Σ_n dqn qn = Σ_c2 dŜ Ŝ: no pass over n)
// written to dqkv [B, N, 3C] (every element: one workgroup owns its (b, h) slice of q, k and v) and
// the temperature's partial gradients dt[B · heads] (summed over b by the caller).
//
// Shaped for lavapipe (every storage or shared read is fetched lane by lane, ~3 ns each; a subgroup is
// one 8-wide SIMD vector and subgroupBroadcast a register extract), like matmul_subgroup.wgsl: lane =
// channel c (WG = CH rounded up to whole 8-lane subgroups; spare lanes compute on channel CH - 1 and
// store nothing), and each product takes 16 outputs per lane at a time from three reads: its own
// value and two more whose 8 lanes' copies it gets by broadcast (16 columns c2 of a score row, or 16
// tokens of an output column). The backward runs dv over all tokens first; then A is done with and
// dŜ is scaled by the norms in place, so dq̂ and dk̂ read one shared value per step. Shared memory 2·CH² + 2·CH + WG floats (CH ≤ 44
// fits the 16 KiB default).
// Needs 8-lane subgroups (attention.ts runs the composite elsewhere).
enable subgroups;
// Every broadcast sits in workgroup-uniform control flow (loops over uniform bounds).
diagnostic(off, subgroup_uniformity);
#include "common.wgsl"
struct U { groups: u32, n: u32, c: u32, heads: u32, eps: f32 }
const CH = ${CH}u;
@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> temp: array<f32>;
#if ${BACKWARD}
@group(0) @binding(2) var<storage, read> saved: array<f32>;
@group(0) @binding(3) var<storage, read> gout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(5) var<storage, read_write> dt: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
#if ${SAVE}
@group(0) @binding(3) var<storage, read_write> saved: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(3) var<uniform> u: U;
#endif
#endif

var<workgroup> sa: array<f32, CH * CH>;   // forward: Ŝ, then A; backward: A
var<workgroup> sd: array<f32, CH * CH>;   // backward: dA, then dŜ
var<workgroup> rq: array<f32, CH>;
var<workgroup> rk: array<f32, CH>;
var<workgroup> part: array<f32, ${WG}>;

const SAVED = 2u * CH * CH + 2u * CH;

// The 8 lanes' values of v in this subgroup, lane j's at index j (w[0][j], w[1][j - 4]).
fn bc8(v: f32) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(
    vec4<f32>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u)),
    vec4<f32>(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u)));
}

// 16 accumulators per lane (outputs j = 0..15 of a block), and one step of them: acc[j] += x · w_j
// with w_j the subgroup's broadcasts of lo (j < 8) and hi (j ≥ 8).
struct Acc16 { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32> }
fn zero16() -> Acc16 { return Acc16(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0)); }
fn step16(acc: Acc16, x: f32, lo: f32, hi: f32) -> Acc16 {
  let wl = bc8(lo);
  let wh = bc8(hi);
  let xv = vec4<f32>(x);
  return Acc16(fma(xv, wl[0], acc.a), fma(xv, wl[1], acc.b), fma(xv, wh[0], acc.c), fma(xv, wh[1], acc.d));
}
fn at16(acc: Acc16, j: u32) -> f32 {
  let k = j & 3u;
  switch (j >> 2u) {
    case 0u: { return acc.a[k]; }
    case 1u: { return acc.b[k]; }
    case 2u: { return acc.c[k]; }
    default: { return acc.d[k]; }
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let gi = flat_group(wid, nwg);
  // gi is uniform across the workgroup: a spare workgroup runs the loops (on the last group's data,
  // so every barrier is reached) and writes nothing.
  let live = gi < u.groups;
  let g = min(gi, u.groups - 1u);
  let b = g / u.heads;
  let h = g - b * u.heads;
  let row = 3u * u.c;
  let q0 = b * u.n * row + h * CH;
  let k0 = q0 + u.c;
  let v0 = q0 + 2u * u.c;
  let o0 = b * u.n * u.c + h * CH;
  let t = temp[h];
  let sv = g * SAVED;
  let own = lid < CH;          // this lane's channel exists
  let c = min(lid, CH - 1u);   // this lane's channel (spare lanes: the last one's, nothing stored)
  let li = lid % 8u;           // lane in the subgroup
#if ${BACKWARD}
  if (own) {
    rq[c] = saved[sv + 2u * CH * CH + c];
    rk[c] = saved[sv + 2u * CH * CH + CH + c];
    for (var j = 0u; j < CH; j++) { sa[c * CH + j] = saved[sv + CH * CH + c * CH + j]; }
  }
  // dA[c, c2] = Σ_n dO[n, c] v[n, c2], 16 columns c2 at a time (lane li reads columns c2 + li, c2 + 8 + li).
  for (var c2 = 0u; c2 < CH; c2 += 16u) {
    var acc = zero16();
    let lo = min(c2 + li, CH - 1u);
    let hi = min(c2 + 8u + li, CH - 1u);
    for (var n = 0u; n < u.n; n++) {
      acc = step16(acc, gout[o0 + n * u.c + c], qkv[v0 + n * row + lo], qkv[v0 + n * row + hi]);
    }
    if (own) {
      for (var j = 0u; j < 16u; j++) {
        if (c2 + j < CH) { sd[c * CH + c2 + j] = at16(acc, j); }
      }
    }
  }
  workgroupBarrier();
  // Softmax backward of row c; dŜ = t dS in place of dA; the row's Σ dŜ Ŝ and the temperature's part.
  // (Spare lanes read row CH - 1 while its lane rewrites it below; what they compute is not used.)
  var ad = 0.0;
  for (var j = 0u; j < CH; j++) { ad = fma(sa[c * CH + j], sd[c * CH + j], ad); }
  var tpart = 0.0;
  var dotq = 0.0;
  workgroupBarrier();
  for (var j = 0u; j < CH; j++) {
    let e = c * CH + j;
    let ds = sa[e] * (sd[e] - ad);
    let s = saved[sv + e];
    tpart = fma(ds, s, tpart);
    dotq = fma(t * ds, s, dotq);
    if (own) { sd[e] = t * ds; }
  }
  part[lid] = select(0.0, tpart, own);
  workgroupBarrier();
  var dotk = 0.0;
  for (var j = 0u; j < CH; j++) { dotk = fma(sd[j * CH + c], saved[sv + j * CH + c], dotk); }
  if (live && lid == 0u) {
    var s = 0.0;
    for (var l = 0u; l < ${WG}u; l++) { s += part[l]; }
    dt[g] = s;
  }
  let qeps = 1.0 / u.eps;
  let a = rq[c];
  let bk = rk[c];
  // dv[n, c] = Σ_c1 A[c1, c] dO[n, c1], 16 tokens at a time (lane li reads tokens n0 + li and n0 + 8 + li;
  // past N a neighbour's, not stored).
  for (var n0 = 0u; n0 < u.n; n0 += 16u) {
    let tl = min(n0 + li, u.n - 1u);
    let th = min(n0 + 8u + li, u.n - 1u);
    var dv = zero16();
    for (var j = 0u; j < CH; j++) { dv = step16(dv, sa[j * CH + c], gout[o0 + tl * u.c + j], gout[o0 + th * u.c + j]); }
    if (live && own) {
      for (var j = 0u; j < 16u; j++) {
        if (n0 + j < u.n) { dqkv[v0 + (n0 + j) * row + c] = at16(dv, j); }
      }
    }
  }
  workgroupBarrier();
  // A is done with: row c of sa becomes dŜ[c, :] · rq[c] (read down column c for dk̂) and row c of sd
  // dŜ[c, :] · rk (for dq̂), so each step below reads one shared value.
  if (own) {
    for (var j = 0u; j < CH; j++) {
      let d = sd[c * CH + j];
      sa[c * CH + j] = d * a;
      sd[c * CH + j] = d * rk[j];
    }
  }
  workgroupBarrier();
  // dq̂[n, c] = Σ_c2 dŜ[c, c2] k̂[n, c2]; dk̂[n, c] = Σ_c1 dŜ[c1, c] q̂[n, c1]; then l2Normalize's backward.
  for (var n0 = 0u; n0 < u.n; n0 += 16u) {
    let tl = min(n0 + li, u.n - 1u);
    let th = min(n0 + 8u + li, u.n - 1u);
    var dq = zero16();
    for (var j = 0u; j < CH; j++) { dq = step16(dq, sd[c * CH + j], qkv[k0 + tl * row + j], qkv[k0 + th * row + j]); }
    var dk = zero16();
    for (var j = 0u; j < CH; j++) { dk = step16(dk, sa[j * CH + c], qkv[q0 + tl * row + j], qkv[q0 + th * row + j]); }
    if (live && own) {
      for (var j = 0u; j < 16u; j++) {
        let n = n0 + j;
        if (n < u.n) {
          let tok = n * row + c;
          let dqn = at16(dq, j);
          let dkn = at16(dk, j);
          dqkv[q0 + tok] = select(a * dqn, a * (dqn - qkv[q0 + tok] * a * dotq), a < qeps);
          dqkv[k0 + tok] = select(bk * dkn, bk * (dkn - qkv[k0 + tok] * bk * dotk), bk < qeps);
        }
      }
    }
  }
#else
  // Row c of Ŝ, 16 columns c2 at a time (lane li reads columns c2 + li, c2 + 8 + li): Σ_n q[n, c] k[n, c2],
  // with the norms of q[:, c] and of those columns of k over the same reads, times the inverse norms;
  // the row's max of t·Ŝ kept as it goes.
  var iq = 0.0; // 1 / ||q[:, c]||, the same from every pass
  var m = -3.0e38;
  for (var c2 = 0u; c2 < CH; c2 += 16u) {
    var acc = zero16();
    let lo = min(c2 + li, CH - 1u);
    let hi = min(c2 + 8u + li, CH - 1u);
    var sq = 0.0;
    var kl = 0.0;
    var kh = 0.0;
    for (var n = 0u; n < u.n; n++) {
      let x = qkv[q0 + n * row + c];
      let yl = qkv[k0 + n * row + lo];
      let yh = qkv[k0 + n * row + hi];
      sq = fma(x, x, sq);
      kl = fma(yl, yl, kl);
      kh = fma(yh, yh, kh);
      acc = step16(acc, x, yl, yh);
    }
    iq = 1.0 / max(sqrt(sq), u.eps);
    let ikl = 1.0 / max(sqrt(kl), u.eps); // 1 / ||k[:, lo]||
    let ikh = 1.0 / max(sqrt(kh), u.eps);
    let rkb = step16(zero16(), 1.0, ikl, ikh); // column c2 + j's 1 / ||k||
    for (var j = 0u; j < 16u; j++) {
      if (c2 + j < CH) {
        let s = at16(acc, j) * iq * at16(rkb, j);
        m = max(m, t * s);
        if (own) { sa[c * CH + c2 + j] = s; }
      }
    }
    // The columns' inverse norms for the backward, from the first subgroup.
    if (lid < 8u) {
      if (c2 + lid < CH) { rk[c2 + lid] = ikl; }
      if (c2 + 8u + lid < CH) { rk[c2 + 8u + lid] = ikh; }
    }
  }
  // Softmax of row c: exp and sum over the row as stored, then A in place (and Ŝ, A, the norms saved).
  var sum = 0.0;
  for (var j = 0u; j < CH; j++) { sum += exp(t * sa[c * CH + j] - m); }
  let inv = 1.0 / sum;
  if (own) {
    for (var j = 0u; j < CH; j++) {
      let s = sa[c * CH + j];
      let p = exp(t * s - m) * inv;
#if ${SAVE}
      if (live) {
        saved[sv + c * CH + j] = s;
        saved[sv + CH * CH + c * CH + j] = p;
      }
#endif
      sa[c * CH + j] = p;
    }
  }
  workgroupBarrier();
#if ${SAVE}
  if (live && own) {
    saved[sv + 2u * CH * CH + c] = iq;
    saved[sv + 2u * CH * CH + CH + c] = rk[c];
  }
#endif
  // out[n, c] = Σ_c2 A[c, c2] v[n, c2], 16 tokens at a time (lane li reads tokens n0 + li, n0 + 8 + li).
  for (var n0 = 0u; n0 < u.n; n0 += 16u) {
    let tl = min(n0 + li, u.n - 1u);
    let th = min(n0 + 8u + li, u.n - 1u);
    var acc = zero16();
    for (var j = 0u; j < CH; j++) { acc = step16(acc, sa[c * CH + j], qkv[v0 + tl * row + j], qkv[v0 + th * row + j]); }
    if (live && own) {
      for (var j = 0u; j < 16u; j++) {
        if (n0 + j < u.n) { out[o0 + (n0 + j) * u.c + c] = at16(acc, j); }
      }
    }
  }
#endif
}
