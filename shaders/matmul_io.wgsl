// The bindings of a matmul product after A (0) and B (1), shared by matmul.wgsl and
// matmul_subgroup.wgsl (both declare struct U first): bias (HAS_BIAS), out, the row sums (ROW_SUMS,
// subgroup kernel), pre (DGELU) or act (GELU_KEEP) of the store epilogue, then the uniform; and
// bias_at(n), 0 without a bias. OUT4 (subgroup kernel, N % 4 == 0): out, act and pre bound as vec4s,
// one store per 4 columns (a store costs per lane whatever its width on lavapipe).
#if ${OUT4}
alias otype = vec4<f32>;
#else
alias otype = f32;
#endif
#if ${HAS_BIAS}
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<otype>;
#if ${GELU_KEEP}
@group(0) @binding(4) var<storage, read_write> act: array<otype>;
@group(0) @binding(5) var<uniform> u: U;
#else
@group(0) @binding(4) var<uniform> u: U;
#endif
fn bias_at(n: u32) -> f32 { return bias[n]; }
#elif ${ROW_SUMS}
@group(0) @binding(2) var<storage, read_write> out: array<otype>;
@group(0) @binding(3) var<storage, read_write> rows: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
fn bias_at(n: u32) -> f32 { return 0.0; }
#elif ${DGELU}
@group(0) @binding(2) var<storage, read> pre: array<otype>;
@group(0) @binding(3) var<storage, read_write> out: array<otype>;
@group(0) @binding(4) var<uniform> u: U;
fn bias_at(n: u32) -> f32 { return 0.0; }
#else
@group(0) @binding(2) var<storage, read_write> out: array<otype>;
#if ${GELU_KEEP}
@group(0) @binding(3) var<storage, read_write> act: array<otype>;
@group(0) @binding(4) var<uniform> u: U;
#else
@group(0) @binding(3) var<uniform> u: U;
#endif
fn bias_at(n: u32) -> f32 { return 0.0; }
#endif
#include "matmul_epi.wgsl"
