// Included by the subgroup conv kernels (conv_subgroup, conv_wgrad_subgroup) after their bindings:
// the input image x (a storage array) at (iy, ix) of the plane starting at base, planes u.H x u.W,
// 0 outside the image (the read itself is clamped, so it never leaves the buffer).
fn x_at(base: u32, iy: i32, ix: i32) -> f32 {
  let ok = iy >= 0 && iy < i32(u.H) && ix >= 0 && ix < i32(u.W);
  let v = x[base + u32(clamp(iy, 0, i32(u.H) - 1)) * u.W + u32(clamp(ix, 0, i32(u.W) - 1))];
  return select(0.0, v, ok);
}
