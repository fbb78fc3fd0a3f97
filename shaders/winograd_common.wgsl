// The transforms of Winograd F(4x4, 3x3) (Lavin & Gray 2016, points 0, ±1, ±2, ∞):
// y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for a 6x6 input patch d and a 3x3 kernel g (correlation).
// Invocation i of a transform over (channel c < C, tile t < T of a chunk), t fastest: (c, t, n, ty, tx) with
// the chunk's tiles from global tile t0 (tilesW across, tilesHW per image).
struct Tile { c: u32, t: u32, n: u32, ty: u32, tx: u32 }
fn tile_of(i: u32, T: u32, t0: u32, tilesHW: u32, tilesW: u32) -> Tile {
  let ct = fdivmod(i, T);
  let nt = fdivmod(t0 + ct.y, tilesHW);
  let yx = fdivmod(nt.y, tilesW);
  return Tile(ct.x, ct.y, nt.x, yx.x, yx.y);
}

fn bt6(d: array<f32, 6>) -> array<f32, 6> {
  return array<f32, 6>(
    4.0 * d[0] - 5.0 * d[2] + d[4],
    -4.0 * (d[1] + d[2]) + d[3] + d[4],
    4.0 * (d[1] - d[2]) - d[3] + d[4],
    2.0 * (d[3] - d[1]) - d[2] + d[4],
    2.0 * (d[1] - d[3]) - d[2] + d[4],
    4.0 * d[1] - 5.0 * d[3] + d[5]);
}
fn g6(g0: f32, g1: f32, g2: f32) -> array<f32, 6> {
  return array<f32, 6>(
    0.25 * g0,
    -(g0 + g1 + g2) / 6.0,
    -(g0 - g1 + g2) / 6.0,
    g0 / 24.0 + g1 / 12.0 + g2 / 6.0,
    g0 / 24.0 - g1 / 12.0 + g2 / 6.0,
    g2);
}
fn at4(m: array<f32, 6>) -> vec4<f32> {
  return vec4<f32>(
    m[0] + m[1] + m[2] + m[3] + m[4],
    m[1] - m[2] + 2.0 * (m[3] - m[4]),
    m[1] + m[2] + 4.0 * (m[3] + m[4]),
    m[1] - m[2] + 8.0 * (m[3] - m[4]) + m[5]);
}
// For the weight gradient (the transposes): dM = A dY Aᵀ of a 4x4 output-gradient tile (A: 6x4) and
// dg = Gᵀ dU G (Gᵀ: 3x6).
fn a6(m: vec4<f32>) -> array<f32, 6> {
  return array<f32, 6>(
    m[0],
    m[0] + m[1] + m[2] + m[3],
    m[0] - m[1] + m[2] - m[3],
    m[0] + 2.0 * m[1] + 4.0 * m[2] + 8.0 * m[3],
    m[0] - 2.0 * m[1] + 4.0 * m[2] - 8.0 * m[3],
    m[3]);
}
fn gt3(u: array<f32, 6>) -> vec3<f32> {
  return vec3<f32>(
    0.25 * u[0] - (u[1] + u[2]) / 6.0 + (u[3] + u[4]) / 24.0,
    (u[2] - u[1]) / 6.0 + (u[3] - u[4]) / 12.0,
    (u[3] + u[4] - u[1] - u[2]) / 6.0 + u[5]);
}
