// Distillation KL, one invocation per row of logits [N, K]: with q = softmax(s/T) (student),
// p = softmax(t/T) (teacher), KL_r = Σ_j p_j (log p_j - log q_j) (summed by loss_finish.wgsl).
// GRAD: ds_j = G (q_j - p_j); TEACHER also dt_j = G p_j (log p_j - log q_j - KL_r), G = g[0]·scale/T
// (scale = T²/N or T²).
#include "common.wgsl"
struct U { n: u32, k: u32, invT: f32, scale: f32 }
@group(0) @binding(0) var<storage, read> s: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
#if ${GRAD}
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;
#if ${TEACHER}
@group(0) @binding(4) var<storage, read_write> dt: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
#else
@group(0) @binding(4) var<uniform> u: U;
#endif
#else
@group(0) @binding(2) var<storage, read_write> rows: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg, 64u);
  if (r >= u.n) { return; }
  let base = r * u.k;
  var ms = -3.4028234663852886e38;
  var mt = -3.4028234663852886e38;
  for (var j = 0u; j < u.k; j++) {
    ms = max(ms, s[base + j] * u.invT);
    mt = max(mt, t[base + j] * u.invT);
  }
  var ss = 0.0;
  var st = 0.0;
  for (var j = 0u; j < u.k; j++) {
    ss += exp(s[base + j] * u.invT - ms);
    st += exp(t[base + j] * u.invT - mt);
  }
  let lses = ms + log(ss);
  let lset = mt + log(st);
  var kl = 0.0;
  for (var j = 0u; j < u.k; j++) {
    let lp = t[base + j] * u.invT - lset;
    let lq = s[base + j] * u.invT - lses;
    kl += exp(lp) * (lp - lq);
  }
#if ${GRAD}
  let G = g[0] * u.scale * u.invT;
  for (var j = 0u; j < u.k; j++) {
    let lp = t[base + j] * u.invT - lset;
    let lq = s[base + j] * u.invT - lses;
    let p = exp(lp);
    ds[base + j] = G * (exp(lq) - p);
#if ${TEACHER}
    dt[base + j] = G * p * (lp - lq - kl);
#endif
  }
#else
  rows[r] = kl;
#endif
}
