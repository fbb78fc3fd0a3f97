// Cross-entropy with a fused, stable log-softmax; one invocation per row of logits [N, K].
// Labels are class indices stored as f32; a label that is not an integer in [0, K) makes the row's
// loss (and gradient) NaN.
// Forward: rows[r] = logsumexp(x_r) - x_r[label_r]  (summed by loss_finish.wgsl).
// GRAD: dx[r, j] = g[0] · scale · (softmax(x_r)_j - [j == label_r]).
#include "common.wgsl"
struct U { n: u32, k: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
#if ${GRAD}
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> rows: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg, 64u);
  if (r >= u.n) { return; }
  let base = r * u.k;
  let lf = labels[r];
  let valid = lf >= 0.0 && lf < f32(u.k) && fract(lf) == 0.0;
  let li = select(0u, u32(lf), valid);
  var m = -3.4028234663852886e38;
  for (var j = 0u; j < u.k; j++) { m = max(m, x[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < u.k; j++) { s += exp(x[base + j] - m); }
  let lse = m + log(s);
  let nan = bitcast<f32>(0x7fc00000u | (u.n & 0u));
#if ${GRAD}
  let gs = select(nan, g[0] * u.scale, valid);
  for (var j = 0u; j < u.k; j++) {
    let p = exp(x[base + j] - lse);
    dx[base + j] = gs * (p - select(0.0, 1.0, j == li));
  }
#else
  rows[r] = select(nan, lse - x[base + li], valid);
#endif
}
