// What the multi-tensor kernels share (src/train/multi-tensor.ts): slot k's uniforms, size =
// (element count in V units, invocations, first invocation, the kernel's own) and f (the kernel's own
// floats); V, the element type of every tensor of the dispatch (vec4 where each size % 4 == 0).
struct Slot { size: vec4<u32>, f: vec4<f32> }
#if ${VEC4}
alias V = vec4<f32>;
#else
alias V = f32;
#endif
