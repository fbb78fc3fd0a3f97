// tfjs reference compositions for NCHW ops (tfjs works in NHWC) and for XCA, used by `lrfr doctor`
// (src/cli/checks.ts) and by op tests.
import type * as TF from '@tensorflow/tfjs';

type tfT = typeof TF;
type T = TF.Tensor;
type P2 = [number, number];
const nhwc = (tf: tfT, x: T) => tf.transpose(x, [0, 2, 3, 1]) as TF.Tensor4D;
const nchw = (tf: tfT, x: T) => tf.transpose(x, [0, 3, 1, 2]);

export function tfConv2d(tf: tfT, stride: number, pad: number, dilation = 1) {
  return (x: T, w: T, b?: T) => {
    const y = tf.conv2d(nhwc(tf, x), tf.transpose(w, [2, 3, 1, 0]) as TF.Tensor4D, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'NHWC', dilation);
    return nchw(tf, b ? tf.add(y, b) : y);
  };
}

export function tfDepthwise(tf: tfT, stride: number, pad: number) {
  return (x: T, w: T, b?: T) => {
    const y = tf.depthwiseConv2d(nhwc(tf, x), tf.transpose(w, [2, 3, 0, 1]) as TF.Tensor4D, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
    return nchw(tf, b ? tf.add(y, b) : y);
  };
}

/** Transposed conv (PyTorch weight [Cin, Cout, kh, kw]) via tf.conv2dTranspose. */
export function tfConvTranspose(tf: tfT, stride: number, pad: number, outHW: P2) {
  return (x: T, w: T) => {
    const [N, , H, W] = x.shape as number[];
    const Cout = w.shape[1]!;
    const kh = w.shape[2]!;
    // tfjs computes the full (unpadded) transposed conv, then we crop `pad` on each side.
    const full: P2 = [(H! - 1) * stride + kh, (W! - 1) * stride + w.shape[3]!];
    const y = tf.conv2dTranspose(nhwc(tf, x), tf.transpose(w, [2, 3, 1, 0]) as TF.Tensor4D, [N!, full[0], full[1], Cout], stride, 'valid');
    return nchw(tf, tf.slice(y, [0, pad, pad, 0], [N!, outHW[0], outHW[1], Cout]));
  };
}

export function tfLayerNorm(tf: tfT, eps: number, axis: number) {
  return (x: T, g: T, b: T) => {
    const { mean, variance } = tf.moments(x, axis, true);
    const shape = x.shape.map((d, i) => (i === (axis < 0 ? x.rank + axis : axis) ? d : 1));
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), tf.reshape(g, shape)), tf.reshape(b, shape));
  };
}

export function tfMaxPool(tf: tfT, k: number, s: number, p: number) {
  return (x: T) => nchw(tf, tf.maxPool(nhwc(tf, x), k, s, p === 0 ? 'valid' : p));
}

export function tfAvgPool(tf: tfT, k: number, s: number) {
  return (x: T) => nchw(tf, tf.avgPool(nhwc(tf, x), k, s, 'valid'));
}

/**
 * timm's CrossCovarianceAttn between its qkv and proj linears (xcaAttention's reference): qkv
 * [B, N, 3C] → tokens [B, N, C], F.normalize as x / max(||x||, eps) over the tokens.
 */
export function tfXca(tf: tfT, heads: number, eps = 1e-12) {
  return (qkv: T, temp: T) => {
    const [B, N, C3] = qkv.shape as [number, number, number];
    const C = C3 / 3, ch = C / heads;
    const t = tf.transpose(tf.reshape(qkv, [B, N, 3, heads, ch]), [2, 0, 3, 4, 1]);
    const [q, k, v] = tf.split(t, 3, 0).map((x) => tf.reshape(x, [B * heads, ch, N])) as [TF.Tensor3D, TF.Tensor3D, TF.Tensor3D];
    const norm = (x: TF.Tensor3D) => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), eps)) as TF.Tensor3D;
    const attn = tf.softmax(tf.mul(tf.reshape(tf.matMul(norm(q), norm(k), false, true), [B, heads, ch, ch]), tf.reshape(temp, [heads, 1, 1])));
    const o = tf.reshape(tf.matMul(tf.reshape(attn, [B * heads, ch, ch]) as TF.Tensor3D, v), [B, heads, ch, N]);
    return tf.reshape(tf.transpose(o, [0, 3, 1, 2]), [B, N, C]);
  };
}
