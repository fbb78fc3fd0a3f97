// Forward f_<op>(x) and backward d_<op>(g, s) of the unary ops, on vec4 lanes. Included by
// unary.wgsl and unary_grad.wgsl, whose uniform `u` carries the op's parameters a, b
// (leakyRelu: a = slope; pow: a = p; clamp: a = lo, b = hi). s is x or y = f(x), see activation.ts.

// Runtime NaN / +inf (a literal would be a const-expression error).
fn nan4() -> vec4<f32> { return vec4<f32>(bitcast<f32>(0x7fc00000u | (u.n & 0u))); }
fn inf4() -> vec4<f32> { return vec4<f32>(bitcast<f32>(0x7f800000u | (u.n & 0u))); }

#include "gelu.wgsl"

fn f_relu(x: vec4<f32>) -> vec4<f32> { return max(x, vec4<f32>(0.0)); }
fn d_relu(g: vec4<f32>, y: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), g, y > vec4<f32>(0.0)); }

fn f_leaky(x: vec4<f32>) -> vec4<f32> { return select(x * u.a, x, x > vec4<f32>(0.0)); }
fn d_leaky(g: vec4<f32>, x: vec4<f32>) -> vec4<f32> { return select(g * u.a, g, x > vec4<f32>(0.0)); }

fn f_sigmoid(x: vec4<f32>) -> vec4<f32> { return 1.0 / (1.0 + exp(-x)); }
fn d_sigmoid(g: vec4<f32>, y: vec4<f32>) -> vec4<f32> { return g * y * (1.0 - y); }

// tanh = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no overflow for large |x|.
fn f_tanh(x: vec4<f32>) -> vec4<f32> {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}
fn d_tanh(g: vec4<f32>, y: vec4<f32>) -> vec4<f32> { return g * (1.0 - y * y); }

fn f_exp(x: vec4<f32>) -> vec4<f32> { return exp(x); }
fn d_exp(g: vec4<f32>, y: vec4<f32>) -> vec4<f32> { return g * y; }

fn f_log(x: vec4<f32>) -> vec4<f32> { return log(x); }
fn d_log(g: vec4<f32>, x: vec4<f32>) -> vec4<f32> { return g / x; }

fn f_sqrt(x: vec4<f32>) -> vec4<f32> { return sqrt(x); }
fn d_sqrt(g: vec4<f32>, y: vec4<f32>) -> vec4<f32> { return g * 0.5 / y; }

fn f_square(x: vec4<f32>) -> vec4<f32> { return x * x; }
fn d_square(g: vec4<f32>, x: vec4<f32>) -> vec4<f32> { return 2.0 * g * x; }

fn f_abs(x: vec4<f32>) -> vec4<f32> { return abs(x); }
fn d_abs(g: vec4<f32>, x: vec4<f32>) -> vec4<f32> { return g * sign(x); }

// x^p (PyTorch semantics): x^0 = 1; 0^p = 0 (p > 0) or inf (p < 0); negative x: sign by parity
// for integer p, NaN otherwise.
fn powp(x: vec4<f32>, p: f32) -> vec4<f32> {
  if (p == 0.0) { return vec4<f32>(1.0); }
  let ax = abs(x);
  var r = exp2(p * log2(ax));
  r = select(r, select(vec4<f32>(0.0), inf4(), p < 0.0), ax == vec4<f32>(0.0));
  let isInt = fract(p) == 0.0;
  let odd = isInt && fract(p * 0.5) != 0.0;
  let neg = x < vec4<f32>(0.0);
  let signed = select(r, -r, odd);
  return select(r, select(nan4(), signed, isInt), neg);
}
fn f_pow(x: vec4<f32>) -> vec4<f32> { return powp(x, u.a); }
fn d_pow(g: vec4<f32>, x: vec4<f32>) -> vec4<f32> {
  if (u.a == 0.0) { return vec4<f32>(0.0); }
  return g * u.a * powp(x, u.a - 1.0);
}

// The gradient passes where lo <= x <= hi (PyTorch / tfjs convention).
fn f_clamp(x: vec4<f32>) -> vec4<f32> { return clamp(x, vec4<f32>(u.a), vec4<f32>(u.b)); }
fn d_clamp(g: vec4<f32>, x: vec4<f32>) -> vec4<f32> {
  return select(vec4<f32>(0.0), g, (x >= vec4<f32>(u.a)) & (x <= vec4<f32>(u.b)));
}
