// Cross-covariance attention (XCiT / EdgeNeXt's XCA), the part between the qkv and proj linears, in
// one workgroup per (image b, head h) reading the qkv linear's output as it is, [B, N, 3C]
// (token n: q at channel hC + c, k at C + hC + c, v at 2C + hC + c, c < CH = C / heads):
//   rq[c] = 1 / max(||q[:, c]||, eps), rk likewise (norms over the N tokens)
//   Ŝ[c1, c2] = Σ_n q[n, c1] rq[c1] · k[n, c2] rk[c2]          (raw scores, CH x CH)
//   A = softmax over c2 of t_h · Ŝ                             (t = temperature[h])
//   out[b, n, hC + c1] = Σ_c2 A[c1, c2] v[n, c2]               (tokens [B, N, C], proj's input)
// The same numbers as permute → chunk → l2Normalize → q·kᵀ → × t → softmax → A·v → permute (the
// ops it replaces), 11 dispatches in one. SAVE (recorded): saved[g] = Ŝ, A, rq, rk for the backward.
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
// store nothing), and each product takes 8 outputs per lane at a time from two reads: its own value
// and one more whose 8 lanes' copies it gets by broadcast (8 columns c2 of a score row, or 8 tokens
// of an output column). Shared memory 2·CH² + 2·CH + WG floats (CH ≤ 44 fits the 16 KiB default).
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
  // dA[c, c2] = Σ_n dO[n, c] v[n, c2], 8 columns c2 at a time (lane li reads column c2 + li).
  for (var c2 = 0u; c2 < CH; c2 += 8u) {
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    let mine = min(c2 + li, CH - 1u);
    for (var n = 0u; n < u.n; n++) {
      let x = vec4<f32>(gout[o0 + n * u.c + c]);
      let w = bc8(qkv[v0 + n * row + mine]);
      a0 = fma(x, w[0], a0);
      a1 = fma(x, w[1], a1);
    }
    if (own) {
      for (var i = 0u; i < 4u; i++) {
        if (c2 + i < CH) { sd[c * CH + c2 + i] = a0[i]; }
        if (c2 + 4u + i < CH) { sd[c * CH + c2 + 4u + i] = a1[i]; }
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
  var dk = 0.0;
  for (var j = 0u; j < CH; j++) { dk = fma(sd[j * CH + c], saved[sv + j * CH + c], dk); }
  if (live && lid == 0u) {
    var s = 0.0;
    for (var l = 0u; l < ${WG}u; l++) { s += part[l]; }
    dt[g] = s;
  }
  let dotkc = dk;
  let qeps = 1.0 / u.eps;
  let a = rq[c];
  let bk = rk[c];
  // dv[n, c] = Σ_c1 A[c1, c] dO[n, c1]; dq̂[n, c] = Σ_c2 dŜ[c, c2] k̂[n, c2]; dk̂[n, c] = Σ_c1 dŜ[c1, c] q̂[n, c1]:
  // 8 tokens at a time (lane li reads token n0 + li; tokens past N read a neighbour's, not stored).
  for (var n0 = 0u; n0 < u.n; n0 += 8u) {
    let tl = min(n0 + li, u.n - 1u);
    var v0a = vec4<f32>(0.0);
    var v1a = vec4<f32>(0.0);
    for (var j = 0u; j < CH; j++) {
      let w = bc8(gout[o0 + tl * u.c + j]);
      let x = vec4<f32>(sa[j * CH + c]);
      v0a = fma(x, w[0], v0a);
      v1a = fma(x, w[1], v1a);
    }
    var q0a = vec4<f32>(0.0);
    var q1a = vec4<f32>(0.0);
    for (var j = 0u; j < CH; j++) {
      let w = bc8(qkv[k0 + tl * row + j]);
      let x = vec4<f32>(sd[c * CH + j] * rk[j]);
      q0a = fma(x, w[0], q0a);
      q1a = fma(x, w[1], q1a);
    }
    var k0a = vec4<f32>(0.0);
    var k1a = vec4<f32>(0.0);
    for (var j = 0u; j < CH; j++) {
      let w = bc8(qkv[q0 + tl * row + j]);
      let x = vec4<f32>(sd[j * CH + c] * rq[j]);
      k0a = fma(x, w[0], k0a);
      k1a = fma(x, w[1], k1a);
    }
    if (live && own) {
      for (var i = 0u; i < 8u; i++) {
        let n = n0 + i;
        if (n < u.n) {
          let tok = n * row + c;
          let hi = i >= 4u;
          let k = i & 3u;
          let dqn = select(q0a[k], q1a[k], hi);
          let dkn = select(k0a[k], k1a[k], hi);
          dqkv[v0 + tok] = select(v0a[k], v1a[k], hi);
          dqkv[q0 + tok] = select(a * dqn, a * (dqn - qkv[q0 + tok] * a * dotq), a < qeps);
          dqkv[k0 + tok] = select(bk * dkn, bk * (dkn - qkv[k0 + tok] * bk * dotkc), bk < qeps);
        }
      }
    }
  }
#else
  // Norms of q[:, c] and k[:, c] over the tokens.
  var sq = 0.0;
  var sk = 0.0;
  for (var n = 0u; n < u.n; n++) {
    let x = qkv[q0 + n * row + c];
    let y = qkv[k0 + n * row + c];
    sq = fma(x, x, sq);
    sk = fma(y, y, sk);
  }
  let iq = 1.0 / max(sqrt(sq), u.eps);
  if (own) {
    rq[c] = iq;
    rk[c] = 1.0 / max(sqrt(sk), u.eps);
  }
  workgroupBarrier();
  // Row c of Ŝ: Σ_n q[n, c] k[n, c2], 8 columns c2 at a time (lane li reads column c2 + li), times the norms.
  for (var c2 = 0u; c2 < CH; c2 += 8u) {
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    let mine = min(c2 + li, CH - 1u);
    for (var n = 0u; n < u.n; n++) {
      let x = vec4<f32>(qkv[q0 + n * row + c]);
      let w = bc8(qkv[k0 + n * row + mine]);
      a0 = fma(x, w[0], a0);
      a1 = fma(x, w[1], a1);
    }
    if (own) {
      for (var i = 0u; i < 4u; i++) {
        if (c2 + i < CH) { sa[c * CH + c2 + i] = a0[i] * iq * rk[c2 + i]; }
        if (c2 + 4u + i < CH) { sa[c * CH + c2 + 4u + i] = a1[i] * iq * rk[c2 + 4u + i]; }
      }
    }
  }
  workgroupBarrier();
  // Softmax of row c (saving Ŝ and A when recorded).
  var m = t * sa[c * CH];
  for (var j = 1u; j < CH; j++) { m = max(m, t * sa[c * CH + j]); }
  var sum = 0.0;
  for (var j = 0u; j < CH; j++) { sum += exp(t * sa[c * CH + j] - m); }
  let inv = 1.0 / sum;
  workgroupBarrier();
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
#if ${SAVE}
    if (live) {
      saved[sv + 2u * CH * CH + c] = iq;
      saved[sv + 2u * CH * CH + CH + c] = rk[c];
    }
#endif
  }
  workgroupBarrier();
  // out[n, c] = Σ_c2 A[c, c2] v[n, c2], 8 tokens at a time (lane li reads token n0 + li).
  for (var n0 = 0u; n0 < u.n; n0 += 8u) {
    let tl = min(n0 + li, u.n - 1u);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    for (var j = 0u; j < CH; j++) {
      let x = vec4<f32>(sa[c * CH + j]);
      let w = bc8(qkv[v0 + tl * row + j]);
      a0 = fma(x, w[0], a0);
      a1 = fma(x, w[1], a1);
    }
    if (live && own) {
      for (var i = 0u; i < 4u; i++) {
        if (n0 + i < u.n) { out[o0 + (n0 + i) * u.c + c] = a0[i]; }
        if (n0 + 4u + i < u.n) { out[o0 + (n0 + 4u + i) * u.c + c] = a1[i]; }
      }
    }
  }
#endif
}
