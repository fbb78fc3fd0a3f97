// The UNet super-resolver (src/nn/unet.ts, issue 14 method B) written a second time with tfjs ops,
// NHWC, as the reference for our runtime. Shares no code with the model: pix2pix's level layout and
// channels, the conv layouts ([Co, Ci, kh, kw] -> [kh, kw, Ci, Co]; transposed [Ci, Co, kh, kw] ->
// [kh, kw, Co, Ci]) and BatchNorm (eval: running statistics; training: batch statistics, biased
// variance) are re-derived here; the bicubic resizes are the DSR reference's. No dropout (p = 0 or
// eval mode): the masks are tested on their own.
import * as tf from '@tensorflow/tfjs';
import { resizeNhwc } from './dsr-tfjs.js';

export interface UNetTfConfig { channels: number; depth: number; workSize: number; inputSize: number; outputSize: number }
export type Weights = Map<string, tf.Tensor>;

const w8 = (C: number, l: number) => C * Math.min(2 ** l, 8);

function need(w: Weights, k: string): tf.Tensor {
  const t = w.get(k);
  if (!t) throw new Error(`unet-tfjs: missing weight ${k}`);
  return t;
}

function bn(w: Weights, name: string, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  const g = need(w, `${name}.weight`), b = need(w, `${name}.bias`);
  if (training) {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return x.sub(mean).div(variance.add(1e-5).sqrt()).mul(g).add(b) as tf.Tensor4D;
  }
  const m = need(w, `${name}.running_mean`), v = need(w, `${name}.running_var`);
  return x.sub(m).div(v.add(1e-5).sqrt()).mul(g).add(b) as tf.Tensor4D;
}

function down(w: Weights, l: number, x: tf.Tensor4D): tf.Tensor4D {
  const k = need(w, `levels.${l}.down.weight`).transpose([2, 3, 1, 0]) as tf.Tensor4D;
  const y = tf.conv2d(x, k, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const b = w.get(`levels.${l}.down.bias`);
  return (b ? y.add(b) : y) as tf.Tensor4D;
}

function up(w: Weights, l: number, x: tf.Tensor4D): tf.Tensor4D {
  const wt = need(w, `levels.${l}.up.weight`); // [Ci, Co, 4, 4]
  const k = wt.transpose([2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, Co, Ci]
  const [n, h, wd] = x.shape;
  const y = tf.conv2dTranspose(x, k, [n, 2 * h, 2 * wd, wt.shape[1]!], 2, 'same');
  const b = w.get(`levels.${l}.up.bias`);
  return (b ? y.add(b) : y) as tf.Tensor4D;
}

/** x NCHW [N, 3, S, S] in [0, 1] -> NCHW [N, 3, outputSize, outputSize]. */
export function unetTf(cfg: UNetTfConfig, w: Weights, xNchw: tf.Tensor4D, training = false): tf.Tensor4D {
  const D = cfg.depth;
  const level = (l: number, x: tf.Tensor4D): tf.Tensor4D => {
    let d = down(w, l, l === 0 ? x : (tf.leakyRelu(x, 0.2) as tf.Tensor4D));
    if (l > 0 && l < D - 1) d = bn(w, `levels.${l}.down_norm`, d, training);
    const below = l === D - 1 ? d : level(l + 1, d);
    let u = up(w, l, tf.relu(below) as tf.Tensor4D);
    if (l === 0) return u;
    u = bn(w, `levels.${l}.up_norm`, u, training);
    return tf.concat([x, u], 3) as tf.Tensor4D;
  };
  let x = xNchw.transpose([0, 2, 3, 1]) as tf.Tensor4D;
  x = resizeNhwc(x, cfg.workSize, cfg.workSize < x.shape[1]).mul(2).sub(1) as tf.Tensor4D;
  let y = tf.tanh(level(0, x)).mul(0.5).add(0.5) as tf.Tensor4D;
  y = resizeNhwc(y, cfg.outputSize, cfg.outputSize < y.shape[1]);
  return y.transpose([0, 3, 1, 2]) as tf.Tensor4D;
}

/** Level l's input and output channels (for shapes in the test). */
export function unetTfWidths(C: number, l: number): { outer: number; inner: number } {
  return { outer: l === 0 ? 3 : w8(C, l - 1), inner: w8(C, l) };
}
