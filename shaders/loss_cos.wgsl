// Cosine (identity) loss, one invocation per row of a, b [N, D]:
// cos_r = a·b / (max(|a|, eps) · max(|b|, eps)); rows[r] = 1 - cos_r (summed by loss_finish.wgsl).
// GRAD: da = -G (b / (na nb) - cos · a / na² · [|a| > eps]), db likewise, G = g[0] · scale.
#include "common.wgsl"
struct U { n: u32, d: u32, eps: f32, scale: f32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
#if ${GRAD}
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> da: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> rows: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg, 64u);
  if (r >= u.n) { return; }
  let base = r * u.d;
  var ab = 0.0;
  var aa = 0.0;
  var bb = 0.0;
  for (var j = 0u; j < u.d; j++) {
    let x = a[base + j];
    let y = b[base + j];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  let ra = sqrt(aa);
  let rb = sqrt(bb);
  let na = max(ra, u.eps);
  let nb = max(rb, u.eps);
  let c = ab / (na * nb);
#if ${GRAD}
  let G = g[0] * u.scale;
  let inv = 1.0 / (na * nb);
  let ka = select(0.0, c / (na * na), ra > u.eps);
  let kb = select(0.0, c / (nb * nb), rb > u.eps);
  for (var j = 0u; j < u.d; j++) {
    let x = a[base + j];
    let y = b[base + j];
    da[base + j] = -G * (y * inv - ka * x);
    db[base + j] = -G * (x * inv - kb * y);
  }
#else
  rows[r] = 1.0 - c;
#endif
}
