// Exact GELU x·Φ(x) and its derivative on vec4 lanes: unary_fns.wgsl (the gelu op) and the matmul
// epilogues (matmul_epi.wgsl) share them. Uses no uniform.

// erfc(z) for z >= 0: Numerical Recipes' erfcc (Chebyshev fit), relative error < 1.2e-7 for all
// z >= 0 in exact arithmetic; in float32 the exp adds a few ulp (|z| <= 4: measured rel. error
// of gelu < 1e-6, see tests/ops/activation.test.ts).
fn erfc_pos(z: vec4<f32>) -> vec4<f32> {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + p);
}
// Standard normal CDF Φ(x) = 0.5 erfc(-x/√2), accurate in the lower tail (no 1 + erf cancellation).
fn phi_cdf(x: vec4<f32>) -> vec4<f32> {
  let e = 0.5 * erfc_pos(abs(x) * 0.70710678118654752);
  return select(e, 1.0 - e, x >= vec4<f32>(0.0));
}

fn f_gelu(x: vec4<f32>) -> vec4<f32> { return x * phi_cdf(x); }
fn d_gelu(g: vec4<f32>, x: vec4<f32>) -> vec4<f32> {
  return g * (phi_cdf(x) + x * 0.39894228040143268 * exp(-0.5 * x * x));
}
