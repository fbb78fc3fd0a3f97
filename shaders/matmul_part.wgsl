// The product a matmul workgroup works on (shaders/matmul.wgsl's register-blocked variant and
// shaders/matmul_subgroup.wgsl; needs their uniform u). SPLIT_K: z = batch * splits + s, split s sums
// k in [s * kChunk, min(K, (s + 1) * kChunk)) (kChunk a multiple of 4: vec4 reads along K stay
// aligned) into part[b * splits + s]; else z is the batch and K is whole.
struct Part { b: u32, k0: u32, k1: u32, offO: u32 }

fn part_of(z: u32) -> Part {
#if ${SPLIT_K}
  let s = z % u.splits;
  let b = u.batch0 + z / u.splits;
  let k0 = s * u.kChunk;
  return Part(b, k0, min(u.K, k0 + u.kChunk), (b * u.splits + s) * u.M * u.N);
#else
  let b = u.batch0 + z;
  return Part(b, 0u, u.K, b * u.M * u.N);
#endif
}
