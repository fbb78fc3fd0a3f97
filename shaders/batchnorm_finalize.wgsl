// BatchNorm2d stage 2: one invocation per channel. Turns the partial sums of batchnorm_partial.wgsl
// (or the running statistics) into per-channel coefficients coef[c] = (A, B, m, C) for
// batchnorm_apply.wgsl:  forward out = A*(x - m) + C;  backward dx = A*g + B*(x - m) + C.
// Defines: TRAIN (batch statistics, else running statistics), BACKWARD, NEED_PART (= TRAIN or BACKWARD).
//   TRAIN forward also updates the running statistics in place (PyTorch: momentum, unbiased variance).
//   BACKWARD also writes dgamma = sum(g * xhat) and dbeta = sum(g).
#include "common.wgsl"
struct U { c: u32, p: u32, hw: u32, m: f32, eps: f32, momentum: f32, unbias: f32 }
#if ${TRAIN}
#if ${BACKWARD}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(6) var<uniform> u: U;
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> rmean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rvar: array<f32>;
@group(0) @binding(7) var<uniform> u: U;
#endif
#else
#if ${BACKWARD}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> rmean: array<f32>;
@group(0) @binding(4) var<storage, read> rvar: array<f32>;
@group(0) @binding(5) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(8) var<uniform> u: U;
#else
@group(0) @binding(0) var<storage, read> gamma: array<f32>;
@group(0) @binding(1) var<storage, read> beta: array<f32>;
@group(0) @binding(2) var<storage, read> rmean: array<f32>;
@group(0) @binding(3) var<storage, read> rvar: array<f32>;
@group(0) @binding(4) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> u: U;
#endif
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = flat_id(gid, nwg, 64u);
  if (c >= u.c) { return; }
#if ${NEED_PART}
  var s = 0.0;
  var s2 = 0.0;
#if ${BACKWARD}
  var sg = 0.0;
  var sgv = 0.0;
  for (var q = c * u.p; q < (c + 1u) * u.p; q++) { s += part[4u * q]; s2 += part[4u * q + 1u]; sg += part[4u * q + 2u]; sgv += part[4u * q + 3u]; }
#else
  for (var q = c * u.p; q < (c + 1u) * u.p; q++) { s += part[2u * q]; s2 += part[2u * q + 1u]; }
#endif
  let k0 = x[c * u.hw];
#endif
#if ${TRAIN}
  let ms = s / u.m;
  let var_ = max(s2 / u.m - ms * ms, 0.0);
  let mean = k0 + ms;
  let rstd = inverseSqrt(var_ + u.eps);
#if ${BACKWARD}
  let a = gamma[c] * rstd;
  let sgxhat = rstd * (sgv - ms * sg); // sum(g * xhat)
  dgamma[c] = sgxhat;
  dbeta[c] = sg;
  coef[c] = vec4<f32>(a, -a * rstd * sgxhat / u.m, mean, -a * sg / u.m);
#else
  let a = gamma[c] * rstd;
  coef[c] = vec4<f32>(a, 0.0, mean, beta[c]);
  rmean[c] = (1.0 - u.momentum) * rmean[c] + u.momentum * mean;
  rvar[c] = (1.0 - u.momentum) * rvar[c] + u.momentum * var_ * u.unbias;
#endif
#else
  let rstd = inverseSqrt(rvar[c] + u.eps);
  let a = gamma[c] * rstd;
#if ${BACKWARD}
  dgamma[c] = rstd * (sgv - (rmean[c] - k0) * sg);
  dbeta[c] = sg;
  coef[c] = vec4<f32>(a, 0.0, 0.0, 0.0);
#else
  coef[c] = vec4<f32>(a, 0.0, rmean[c], beta[c]);
#endif
#endif
}
