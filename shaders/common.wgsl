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

// i / d and i % d for i < 2^24 without an integer division (a CPU adapter has no vector integer
// division: it runs one scalar division per lane): a float quotient, corrected by one step.
fn fdivmod(i: u32, d: u32) -> vec2<u32> {
  var q = i32(f32(i) * (1.0 / f32(d)));
  var r = i32(i) - q * i32(d);
  if (r < 0) { q -= 1; r += i32(d); }
  if (r >= i32(d)) { q += 1; r -= i32(d); }
  return vec2<u32>(u32(q), u32(r));
}
