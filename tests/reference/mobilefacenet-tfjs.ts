// MobileFaceNet (src/nn/mobilefacenet.ts) written a second time with tfjs ops, NHWC, from the
// paper's table (Chen et al. 2018, Table 1) and PyTorch's BatchNorm2d / PReLU definitions; shares
// no code with the model. Weights by our parameter names ([Co, Ci/g, kh, kw] convs).
//  - BatchNorm, training: batch mean and biased variance over N, H, W; running stats updated with
//    momentum 0.1 and the unbiased variance (PyTorch). Eval: the running stats.
//  - depthwise convs: tf.depthwiseConv2d with the filter [kh, kw, C, 1] = ours [C, 1, kh, kw] transposed.
import * as tf from '@tensorflow/tfjs';

export type Weights = Map<string, tf.Tensor>;
export interface BnUpdate { mean: tf.Tensor; var: tf.Tensor }

const STAGES: [number, number, number, number][] = [[2, 64, 5, 2], [4, 128, 1, 2], [2, 128, 6, 1], [4, 128, 1, 2], [2, 128, 2, 1]];

/** The forward; with `training`, BN uses batch statistics and `updates` receives each BN's new running stats by prefix. */
export function mobileFaceNetTf(w: Weights, x: tf.Tensor4D, training: boolean, updates?: Map<string, BnUpdate>, eps = 1e-5): tf.Tensor2D {
  const bn = (y: tf.Tensor4D, p: string): tf.Tensor4D => {
    const g = w.get(`${p}.bn.weight`)!, b = w.get(`${p}.bn.bias`)!;
    let mean: tf.Tensor, variance: tf.Tensor;
    if (training) {
      const m = tf.moments(y, [0, 1, 2]);
      mean = m.mean;
      variance = m.variance;
      if (updates) {
        const n = y.shape[0] * y.shape[1] * y.shape[2];
        const rm = w.get(`${p}.bn.running_mean`)!, rv = w.get(`${p}.bn.running_var`)!;
        updates.set(p, { mean: tf.add(tf.mul(rm, 0.9), tf.mul(mean, 0.1)), var: tf.add(tf.mul(rv, 0.9), tf.mul(variance, 0.1 * n / (n - 1))) });
      }
    } else {
      mean = w.get(`${p}.bn.running_mean`)!;
      variance = w.get(`${p}.bn.running_var`)!;
    }
    return tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, eps))), g), b) as tf.Tensor4D;
  };
  const convBn = (y: tf.Tensor4D, p: string, opts: { stride?: number; pad?: number; dw?: boolean; prelu: boolean }): tf.Tensor4D => {
    const k = w.get(`${p}.conv.weight`)!;
    const s = opts.stride ?? 1, pad = opts.pad ?? 0;
    const padded = pad ? tf.pad(y, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) as tf.Tensor4D : y;
    const out = opts.dw
      ? tf.depthwiseConv2d(padded, tf.transpose(k, [2, 3, 0, 1]) as tf.Tensor4D, s, 'valid')
      : tf.conv2d(padded, tf.transpose(k, [2, 3, 1, 0]) as tf.Tensor4D, s, 'valid');
    const z = bn(out, p);
    return opts.prelu ? tf.prelu(z, w.get(`${p}.act.weight`)!) as tf.Tensor4D : z;
  };
  let y = convBn(x, 'conv1', { stride: 2, pad: 1, prelu: true });
  y = convBn(y, 'dw_conv1', { pad: 1, dw: true, prelu: true });
  let i = 0, ci = 64;
  for (const [, c, n, s] of STAGES) {
    for (let r = 0; r < n; r++, i++) {
      const stride = r === 0 ? s : 1;
      const p = `blocks.${i}`;
      let z = convBn(y, `${p}.expand`, { prelu: true });
      z = convBn(z, `${p}.dw`, { stride, pad: 1, dw: true, prelu: true });
      z = convBn(z, `${p}.project`, { prelu: false });
      y = stride === 1 && ci === c ? tf.add(y, z) as tf.Tensor4D : z;
      ci = c;
    }
  }
  y = convBn(y, 'conv2', { prelu: true });
  y = convBn(y, 'gdconv', { dw: true, prelu: false });
  y = convBn(y, 'linear', { prelu: false });
  return tf.reshape(y, [x.shape[0], -1]) as tf.Tensor2D;
}
