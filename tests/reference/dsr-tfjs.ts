// DSR (src/nn/dsr.ts) written a second time with tfjs ops, NHWC, as the reference for our runtime.
// Shares no code with the model: the geometry rule (k = round(log2(112 / S)), fit), the conv layout
// change ([Co, Ci, kh, kw] -> [kh, kw, Ci, Co]), PyTorch's pixel shuffle and the bicubic resizes are
// re-derived here.
//  - Pixel shuffle: PyTorch reads input channel c*r*r + i*r + j for out[c, h*r+i, w*r+j];
//    tf.depthToSpace (NHWC) reads channel (i*r + j)*C + c, a different order, and its gradient is not
//    needed elsewhere, so we use reshape [N, H, W, C, r, r] -> transpose [N, H, r, W, r, C] -> reshape
//    (differentiable, exactly PyTorch's order).
//  - Resizes: tfjs has no bicubic (nor antialiased) resize, so each is a pair of matrix multiplies
//    with per-axis weight matrices computed in float64 from PyTorch's definitions (F.interpolate
//    mode='bicubic', align_corners=False; a = -0.75 with border-clamped taps; antialias=True: PIL-style
//    cubic a = -0.5 stretched by the scale, weights normalised per output) and rounded to float32.
import * as tf from '@tensorflow/tfjs';

export interface DsrTfConfig {
  channels: number;
  blocks: number;
  resScale: number;
  inputSize: number;
  outputSize: number;
  fit: 'resize-output' | 'resize-input';
  bicubicSkip: boolean;
}

export type Weights = Map<string, tf.Tensor>;

function stagesOf(cfg: DsrTfConfig): { k: number; work: number } {
  const k = Math.max(0, Math.round(Math.log2(cfg.outputSize / cfg.inputSize)));
  return { k, work: cfg.fit === 'resize-input' ? cfg.outputSize / 2 ** k : cfg.inputSize };
}

/** Our parameter names and PyTorch shapes for cfg. */
export function dsrTfShapes(cfg: DsrTfConfig): Map<string, number[]> {
  const C = cfg.channels;
  const m = new Map<string, number[]>();
  const conv = (name: string, ci: number, co: number) => {
    m.set(`${name}.weight`, [co, ci, 3, 3]);
    m.set(`${name}.bias`, [co]);
  };
  conv('head', 3, C);
  for (let i = 0; i < cfg.blocks; i++) {
    conv(`body.${i}.conv1`, C, C);
    conv(`body.${i}.conv2`, C, C);
  }
  conv('body_end', C, C);
  for (let j = 0; j < stagesOf(cfg).k; j++) conv(`up.${j}`, C, 4 * C);
  conv('tail', C, 3);
  return m;
}

/** Float32Arrays keyed by our parameter names -> tf tensors of the PyTorch shapes. */
export function dsrTfWeights(cfg: DsrTfConfig, arrays: Map<string, Float32Array>): Weights {
  const w: Weights = new Map();
  for (const [name, shape] of dsrTfShapes(cfg)) {
    const a = arrays.get(name);
    if (!a) throw new Error(`dsr-tfjs: missing weight ${name}`);
    w.set(name, tf.tensor(a, shape));
  }
  return w;
}

function cubic(x: number, a: number): number {
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Row-major [lout, lin] float64 weights of a 1-D bicubic resize (align_corners = False). */
export function bicubicWeights64(lin: number, lout: number, antialias: boolean): Float64Array {
  const scale = lin / lout;
  const W = new Float64Array(lout * lin);
  for (let j = 0; j < lout; j++) {
    if (antialias) {
      const support = 2 * Math.max(scale, 1);
      const inv = 1 / Math.max(scale, 1);
      const center = scale * (j + 0.5);
      const lo = Math.max(Math.floor(center - support + 0.5), 0);
      const hi = Math.min(Math.floor(center + support + 0.5), lin);
      let tot = 0;
      for (let i = lo; i < hi; i++) tot += cubic((i - center + 0.5) * inv, -0.5);
      for (let i = lo; i < hi; i++) W[j * lin + i]! += cubic((i - center + 0.5) * inv, -0.5) / tot;
    } else {
      const s = scale * (j + 0.5) - 0.5;
      const i0 = Math.floor(s);
      const l = s - i0;
      for (let t = 0; t < 4; t++) {
        const i = Math.min(Math.max(i0 - 1 + t, 0), lin - 1);
        W[j * lin + i]! += cubic(t - 1 - l, -0.75);
      }
    }
  }
  return W;
}

/** NHWC [N, H, W, C] -> [N, out, out, C]: bicubic along H then W as matrix multiplies. */
export function resizeNhwc(x: tf.Tensor4D, out: number, antialias: boolean): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h === out && w === out) return x;
  const wh = tf.tensor2d(Float32Array.from(bicubicWeights64(h, out, antialias)), [out, h]);
  const ww = tf.tensor2d(Float32Array.from(bicubicWeights64(w, out, antialias)), [out, w]);
  // along H: [H, N*W*C]
  let t = x.transpose([1, 0, 2, 3]).reshape([h, n * w * c]);
  t = tf.matMul(wh, t).reshape([out, n, w, c]).transpose([1, 0, 2, 3]); // [N, out, W, C]
  // along W: [W, N*out*C]
  t = t.transpose([2, 0, 1, 3]).reshape([w, n * out * c]);
  return tf.matMul(ww, t).reshape([out, n, out, c]).transpose([1, 2, 0, 3]) as tf.Tensor4D;
}

function conv3(w: Weights, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const k = w.get(`${name}.weight`), b = w.get(`${name}.bias`);
  if (!k || !b) throw new Error(`dsr-tfjs: missing weight ${name}`);
  const kt = k.transpose([2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, Ci, Co]
  return tf.conv2d(x, kt, 1, 'same').add(b) as tf.Tensor4D;
}

/** PyTorch pixel_shuffle(r) on NHWC. */
export function pixelShuffleNhwc(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, h, wd, cr] = x.shape;
  const c = cr / (r * r);
  return x.reshape([n, h, wd, c, r, r]).transpose([0, 1, 4, 2, 5, 3]).reshape([n, h * r, wd * r, c]) as tf.Tensor4D;
}

/** x NCHW [N, 3, S, S] in [0, 1] -> NCHW [N, 3, 112, 112]. */
export function dsrTf(cfg: DsrTfConfig, w: Weights, xNchw: tf.Tensor4D, opts: { preResize?: boolean } = {}): tf.Tensor4D {
  const { k, work } = stagesOf(cfg);
  const O = cfg.outputSize;
  const lr = xNchw.transpose([0, 2, 3, 1]) as tf.Tensor4D;
  const x = cfg.fit === 'resize-input' ? resizeNhwc(lr, work, work < cfg.inputSize) : lr;
  const h0 = conv3(w, 'head', x.sub(0.5) as tf.Tensor4D);
  let f = h0;
  for (let i = 0; i < cfg.blocks; i++) {
    const r = conv3(w, `body.${i}.conv2`, tf.relu(conv3(w, `body.${i}.conv1`, f)));
    f = f.add(r.mul(cfg.resScale)) as tf.Tensor4D;
  }
  f = conv3(w, 'body_end', f).add(h0) as tf.Tensor4D;
  for (let j = 0; j < k; j++) f = pixelShuffleNhwc(conv3(w, `up.${j}`, f), 2);
  let y = conv3(w, 'tail', f);
  if (opts.preResize) return y.transpose([0, 3, 1, 2]) as tf.Tensor4D;
  y = resizeNhwc(y, O, O < y.shape[1]);
  y = (cfg.bicubicSkip ? y.add(resizeNhwc(lr, O, false)) : y.add(0.5)) as tf.Tensor4D;
  return y.transpose([0, 3, 1, 2]) as tf.Tensor4D;
}
