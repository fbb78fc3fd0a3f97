// Where channel c of image n lies in a tensor of logical shape [N, C, H, W] (included by the transforms
// of x and dy): stored as is, or (IN_SHUFFLE = r > 0) as its pixelShuffle(r), [N, C / r², H·r, W·r],
// which holds (c, y, x) at channel c / r², row y·r + (c / r) % r, column x·r + c % r (the gradient of a
// conv2dPixelShuffle, read without an unshuffle pass). Element (y, x) of the plane is at
// base + y·row + x·col. r is a constant: its divisions are shifts or multiplies, and the plain layout
// compiles to the plain index.
struct Plane { base: u32, row: u32, col: u32 }
#if ${IN_SHUFFLE}
fn plane_of(n: u32, c: u32, C: u32, H: u32, W: u32) -> Plane {
  const r = ${IN_SHUFFLE}u;
  let wr = W * r;
  return Plane(((n * (C / (r * r)) + c / (r * r)) * H * r + (c / r) % r) * wr + c % r, wr * r, r);
}
#else
fn plane_of(n: u32, c: u32, C: u32, H: u32, W: u32) -> Plane {
  return Plane((n * C + c) * H * W, W, 1u);
}
#endif
