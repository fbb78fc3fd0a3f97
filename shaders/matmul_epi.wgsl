// The matmul kernels' store epilogue (matmul.wgsl, matmul_subgroup.wgsl): 4 outputs of one row,
// out[i .. i + 3] = columns n .. n + 3 (those >= N dropped), from their sums v (+ bias):
//   GELU       out = gelu(v)                                  (a linear followed by GELU, inference)
//   GELU_KEEP  out = v and act = gelu(v)                      (the same when training: the backward needs v)
//   DGELU      out = v · gelu'(pre), pre [M, N] like out      (the input gradient of a linear whose input
//                                                              was gelu(pre), times GELU's derivative)
//   else       out = v
// The including shader binds out, and act / pre where used, and has u.N. OUT4: they are vec4s
// (matmul_io.wgsl), one store each (the subgroup kernel, N % 4 == 0).
#include "gelu.wgsl"

fn store_epi4(i: u32, n: u32, v: vec4<f32>) {
#if ${OUT4}
  // out, act and pre as vec4s: i % 4 == 0 and N % 4 == 0, so the 4 columns are all < N.
  let q = i >> 2u;
#if ${GELU}
  out[q] = f_gelu(v);
#elif ${GELU_KEEP}
  act[q] = f_gelu(v);
  out[q] = v;
#elif ${DGELU}
  out[q] = d_gelu(v, pre[q]);
#else
  out[q] = v;
#endif
#else
#if ${GELU}
  let r = f_gelu(v);
#elif ${GELU_KEEP}
  let r = v;
  let a = f_gelu(v);
  act[i] = a.x;
  if (n + 1u < u.N) { act[i + 1u] = a.y; }
  if (n + 2u < u.N) { act[i + 2u] = a.z; }
  if (n + 3u < u.N) { act[i + 3u] = a.w; }
#elif ${DGELU}
  let l = u.N - 1u - n; // the last valid column's offset (pre's reads clamped to the row)
  let r = d_gelu(v, vec4<f32>(pre[i], pre[i + min(1u, l)], pre[i + min(2u, l)], pre[i + min(3u, l)]));
#else
  let r = v;
#endif
  out[i] = r.x;
  if (n + 1u < u.N) { out[i + 1u] = r.y; }
  if (n + 2u < u.N) { out[i + 2u] = r.z; }
  if (n + 3u < u.N) { out[i + 3u] = r.w; }
#endif
}
