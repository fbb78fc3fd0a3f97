// Shared helpers, included with #include "common.wgsl".

// Flat invocation index of a 1-D problem whose grid was folded into 2-D to stay under the
// 65,535-workgroups-per-dimension limit (engine.ts grid1d). wg = threads per workgroup.
fn flat_id(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg;
}

// Flat workgroup index of a folded grid (one workgroup per item).
fn flat_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Element d (0..7) of a shape/stride packed as array<vec4<u32>, 2> in a uniform.
fn dim8(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}
