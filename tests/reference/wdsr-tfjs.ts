// WDSR-A (src/nn/wdsr.ts) written a second time with tfjs ops, NHWC, as the reference for our
// runtime. Shares no code with the model: weight normalisation (w = g · v / ||v||, the norm over each
// output channel's [I, k, k]), the scale rule r = round(112 / S), the conv layout change
// ([Co, Ci, kh, kw] -> [kh, kw, Ci, Co]) are re-derived here; the pixel shuffle (PyTorch's channel
// order) and the bicubic resizes are the DSR reference's (dsr-tfjs.ts).
import * as tf from '@tensorflow/tfjs';
import { resizeNhwc, pixelShuffleNhwc } from './dsr-tfjs.js';

export interface WdsrTfConfig {
  channels: number;
  blocks: number;
  expand: number;
  resScale: number;
  inputSize: number;
  outputSize: number;
}

export type Weights = Map<string, tf.Tensor>;

export function wdsrTfScale(cfg: WdsrTfConfig): number {
  return Math.max(1, Math.round(cfg.outputSize / cfg.inputSize));
}

/** Our parameter names and PyTorch shapes for cfg. */
export function wdsrTfShapes(cfg: WdsrTfConfig): Map<string, number[]> {
  const C = cfg.channels, E = cfg.expand * C, o = 3 * wdsrTfScale(cfg) ** 2;
  const m = new Map<string, number[]>();
  const conv = (name: string, k: number, ci: number, co: number) => {
    m.set(`${name}.weight_g`, [co, 1, 1, 1]);
    m.set(`${name}.weight_v`, [co, ci, k, k]);
    m.set(`${name}.bias`, [co]);
  };
  conv('head', 3, 3, C);
  for (let i = 0; i < cfg.blocks; i++) {
    conv(`body.${i}.expand`, 3, C, E);
    conv(`body.${i}.reduce`, 3, E, C);
  }
  conv('tail', 3, C, o);
  conv('skip', 5, 3, o);
  return m;
}

/** Float32Arrays keyed by our parameter names -> tf tensors of the PyTorch shapes. */
export function wdsrTfWeights(cfg: WdsrTfConfig, arrays: Map<string, Float32Array>): Weights {
  const w: Weights = new Map();
  for (const [name, shape] of wdsrTfShapes(cfg)) {
    const a = arrays.get(name);
    if (!a) throw new Error(`wdsr-tfjs: missing weight ${name}`);
    w.set(name, tf.tensor(a, shape));
  }
  return w;
}

function wnConv(w: Weights, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const g = w.get(`${name}.weight_g`), v = w.get(`${name}.weight_v`), b = w.get(`${name}.bias`);
  if (!g || !v || !b) throw new Error(`wdsr-tfjs: missing weight ${name}`);
  const norm = v.square().sum([1, 2, 3], true).sqrt();
  const k = v.mul(g.div(norm)).transpose([2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, Ci, Co]
  return tf.conv2d(x, k, 1, 'same').add(b) as tf.Tensor4D;
}

/** x NCHW [N, 3, S, S] in [0, 1] (S = inputSize) -> NCHW [N, 3, outputSize, outputSize]. */
export function wdsrTf(cfg: WdsrTfConfig, w: Weights, xNchw: tf.Tensor4D): tf.Tensor4D {
  const r = wdsrTfScale(cfg);
  const x = xNchw.transpose([0, 2, 3, 1]).mul(2).sub(1) as tf.Tensor4D;
  let f = wnConv(w, 'head', x);
  for (let i = 0; i < cfg.blocks; i++) {
    const b = wnConv(w, `body.${i}.reduce`, tf.relu(wnConv(w, `body.${i}.expand`, f)));
    f = f.add(b.mul(cfg.resScale)) as tf.Tensor4D;
  }
  const y = pixelShuffleNhwc(wnConv(w, 'tail', f), r).add(pixelShuffleNhwc(wnConv(w, 'skip', x), r)).mul(0.5).add(0.5) as tf.Tensor4D;
  const O = cfg.outputSize;
  return resizeNhwc(y, O, O < y.shape[1]).transpose([0, 3, 1, 2]) as tf.Tensor4D;
}
