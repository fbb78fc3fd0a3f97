// Row-region copies (concat, split, contiguous slices and their backwards). The tensors are viewed
// as `outer` rows; src row o starts at o * srcRow + srcOff and dst row o at o * dstRow + dstOff.
//   COPY: dst[o * dstRow + dstOff + j] = src[o * srcRow + srcOff + j] for j < len (one thread per
//         copied element; the rest of dst is left untouched). ACCUM: += instead of = (a slice's
//         gradient added into its input's gradient in place).
//   else (PAD, gather form): every dst element of every row is written: dst[o * dstRow + j] =
//         src[o * srcRow + j - dstOff] when dstOff <= j < dstOff + len, else 0.
// VEC4: all of len, srcRow, srcOff, dstRow, dstOff are multiples of 4 and given in vec4 units.
#include "common.wgsl"
struct U { n: u32, len: u32, srcRow: u32, srcOff: u32, dstRow: u32, dstOff: u32 }
#if ${VEC4}
alias T = vec4<f32>;
#else
alias T = f32;
#endif
@group(0) @binding(0) var<storage, read> src: array<T>;
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, 64u);
  if (i >= u.n) { return; }
#if ${COPY}
  let o = i / u.len;
  let j = i - o * u.len;
#if ${ACCUM}
  let d = o * u.dstRow + u.dstOff + j;
  dst[d] = dst[d] + src[o * u.srcRow + u.srcOff + j];
#else
  dst[o * u.dstRow + u.dstOff + j] = src[o * u.srcRow + u.srcOff + j];
#endif
#else
  let o = i / u.dstRow;
  let j = i - o * u.dstRow;
  var v = T(0.0);
  if (j >= u.dstOff && j - u.dstOff < u.len) { v = src[o * u.srcRow + u.srcOff + j - u.dstOff]; }
  dst[i] = v;
#endif
}
