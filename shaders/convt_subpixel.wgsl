// A transposed conv with kernel 4, stride 2, padding 1 (groups 1, no output padding) in sub-pixel form:
// pixelShuffle(conv3x3(x, w3, padding 1), 2) with w3 [4·Co, Ci, 3, 3] (src/runtime/ops/conv.ts, the
// inference path of convTranspose2d). Output pixel (2·iy + a, 2·ix + b) reads inputs iy − 1 .. iy + 1,
// and tap t of that row is the transposed kernel's row k = a + 3 − 2t (none where k is outside 0..3):
//   w3[co·4 + a·2 + b, ci, ty, tx] = w[ci, co, a + 3 − 2·ty, b + 3 − 2·tx], else 0,
// (the bias of channel co·4 + a·2 + b is bias[co]: the op repeats it).
#include "common.wgsl"
struct U { n: u32, Ci: u32, Co: u32, p0: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> w3: array<f32>;
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
  let tx = i % 3u;
  let ty = (i / 3u) % 3u;
  let ci = (i / 9u) % u.Ci;
  let c = i / (9u * u.Ci);
  let co = c / 4u;
  let ky = i32((c / 2u) % 2u) + 3 - 2 * i32(ty);
  let kx = i32(c % 2u) + 3 - 2 * i32(tx);
  var v = 0.0;
  if (ky >= 0 && ky <= 3 && kx >= 0 && kx <= 3) { v = w[((ci * u.Co + co) * 4u + u32(ky)) * 4u + u32(kx)]; }
  w3[i] = v;
}
