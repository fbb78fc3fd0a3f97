// A residual branch computed channels-last added to a channels-first trunk (EdgeNeXt's ConvBlock:
// x + gamma · permute(mlp(...), NHWC → NCHW)), with no permute pass:
//   forward   out[n, c, p] = x[n, c, p] + s[c] · y[n, p, c]
//   BACKWARD  gy[n, p, c] = s[c] · g[n, c, p], part[n, c] = Σ_p g[n, c, p] · y[n, p, c]  (the op sums
//             part over n: ds)
// One invocation per (n, c), walking p < P = H·W (1.7 → 0.4 ms at EdgeFace's first stage against one
// invocation per element, whose index decode and strided read cost more than the loop); s = 1 without SCALE.
#include "common.wgsl"
struct U { n: u32, c: u32, p: u32, nc: u32 }
#if ${BACKWARD}
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
#if ${SCALE}
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> gy: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#endif
#else
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
#if ${SCALE}
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
#endif
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, 64u);
  if (t >= u.nc) { return; }
  // t = (n, c): x, out and g walk along p; y and gy across the lanes along c
  let n = t / u.c;
  let c = t - n * u.c;
#if ${SCALE}
  let sc = s[c];
#else
  let sc = 1.0;
#endif
  var src = t * u.p;           // x, out, g [n, c, 0]
  var yi = n * u.p * u.c + c;  // y, gy [n, 0, c]
#if ${BACKWARD}
  var acc = 0.0;
  for (var p = 0u; p < u.p; p++) {
    let gv = g[src];
    acc += gv * y[yi];
    gy[yi] = sc * gv;
    src += 1u;
    yi += u.c;
  }
  part[t] = acc;
#else
  for (var p = 0u; p < u.p; p++) {
    out[src] = x[src] + sc * y[yi];
    src += 1u;
    yi += u.c;
  }
#endif
}
