// WaveResNet (src/nn/dlib-resnet.ts with { downsample: 'haar', centre: true }; issue 15's method C)
// against a tfjs re-implementation written here from the description in the model's header: every
// stride-2 conv is a stride-1 conv (stem 'valid', blocks 'same') followed by the 2x2 mean (the
// halved Haar LL band), the max pool and the shortcut pools are the 2x2 mean, odd maps get one zero
// row and column first, and the embedding is L2-normalised after subtracting the stored centre. The
// weights are dlib's pretrained ones (the student starts from them) and a random centre; tfjs runs
// on its CPU backend in float32.
//
// Forward: one random 150x150 face, max |ours - tfjs| <= 2e-5 on unit-norm embeddings.
// Gradient: of L = sum(embedding * R) with respect to five parameters across the network (stem,
// both kinds of down block, a scale, fc) and the input, against tf.grads: max abs difference
// <= 1e-3 x max |tfjs grad| + 1e-6 (float32 accumulation orders differ between the backends).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import { DlibResNet, DLIB_BLOCKS, DLIB_MEAN_RGB } from '../../src/nn/dlib-resnet.js';
import { buildModel, modelConfig } from '../../src/nn/registry.js';
import { loadDlibFromFaceApi } from '../../src/node/dlib.js';
import { zeroGrad } from '../../src/runtime/autograd.js';

const S = 150;
let wave: DlibResNet;
const P = new Map<string, tf.Tensor>();

/** OIHW -> HWIO */
const hwio = (t: tf.Tensor) => tf.transpose(t, [2, 3, 1, 0]);
const mean2 = (x: tf.Tensor4D): tf.Tensor4D => {
  const [, h, w] = x.shape;
  const p = h % 2 || w % 2 ? tf.pad(x, [[0, 0], [0, h % 2], [0, w % 2], [0, 0]]) : x;
  return tf.avgPool(p as tf.Tensor4D, 2, 2, 'valid');
};

/** conv -> (mean2 when down) -> x * scale + bias -> (relu). NHWC. */
function convScale(x: tf.Tensor4D, name: string, down: boolean, relu: boolean, padding: 'same' | 'valid', w: Map<string, tf.Tensor>): tf.Tensor4D {
  let y = tf.add(tf.conv2d(x, hwio(w.get(`${name}.conv.weight`)!) as tf.Tensor4D, 1, padding), w.get(`${name}.conv.bias`)!) as tf.Tensor4D;
  if (down) y = mean2(y);
  y = tf.add(tf.mul(y, w.get(`${name}.scale.weight`)!), w.get(`${name}.scale.bias`)!) as tf.Tensor4D;
  return relu ? tf.relu(y) : y;
}

/** The tfjs WaveResNet on NHWC RGB 0..255 -> [N, 128] unit vectors. */
function tfWave(x: tf.Tensor4D, w: Map<string, tf.Tensor>): tf.Tensor2D {
  let h = tf.div(tf.sub(x, tf.tensor1d([...DLIB_MEAN_RGB])), 255) as tf.Tensor4D;
  h = mean2(convScale(h, 'conv32_down', true, true, 'valid', w));
  for (const [name, ci, co, down] of DLIB_BLOCKS) {
    const out = convScale(convScale(h, `${name}.conv1`, down, true, 'same', w), `${name}.conv2`, false, false, 'same', w);
    let skip = down ? mean2(h) : h;
    if (co !== ci) skip = tf.concat([skip, tf.zeros([...skip.shape.slice(0, 3), co - ci] as [number, number, number, number])], 3);
    h = tf.relu(tf.add(skip, out)) as tf.Tensor4D;
  }
  const e = tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, w.get('fc.weight')! as tf.Tensor2D, false, true);
  const c = tf.sub(e, w.get('centre')!);
  return tf.div(c, tf.norm(c, 2, 1, true)) as tf.Tensor2D;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const dlib = await loadDlibFromFaceApi(undefined, { fuse: false });
  wave = buildModel('dlib-resnet', { downsample: 'haar', centre: true }, 1);
  const from = new Map(dlib.namedParameters());
  for (const [n, p] of wave.namedParameters()) L.copyInto(p, from.get(n)!);
  dlib.dispose();
  const centre = new Float32Array(128).map((_, i) => 0.05 * Math.sin(i));
  L.getEngine().upload(wave.centre!.buffer, centre);
  for (const [n, t] of wave.stateDict()) P.set(n, tf.tensor(await t.data(), t.shape as number[]));
}, 120_000);
afterAll(() => { wave?.dispose(); for (const t of P.values()) t.dispose(); });

describe('WaveResNet (dlib ResNet with Haar LL downsampling) vs a tfjs re-implementation', () => {
  it('has dlib\'s parameters (names and shapes), a centre buffer, and reports its config', () => {
    const dlib = new DlibResNet();
    expect(wave.namedParameters().map(([n, t]) => `${n} ${t.shape.join('x')}`)).toEqual(dlib.namedParameters().map(([n, t]) => `${n} ${t.shape.join('x')}`));
    dlib.dispose();
    expect(wave.namedBuffers().map(([n]) => n)).toEqual(['centre']);
    expect(modelConfig('dlib-resnet', wave)).toEqual({ downsample: 'haar', centre: true });
    expect(() => buildModel('dlib-resnet', { downsample: 'wavelet' } as never)).toThrow(/downsample must be "stride" or "haar"/);
    expect(() => buildModel('dlib-resnet', { strides: 2 } as never)).toThrow(/unknown config field strides/);
  });

  it('matches tfjs forward (feature maps 36², 18², 9², 5²; unit embeddings within 2e-5) and gradients (1e-3 relative)', async () => {
    const x = L.rand([1, 3, S, S], 21, 0, 255);
    const R = L.randn([1, 128], 22, 1);
    wave.train(); // unfused path (training); eval below checks the fused one
    const picks = ['conv32_down.conv.weight', 'conv64_down.conv1.conv.weight', 'conv128_1.conv2.scale.weight', 'conv256_down_out.conv1.conv.bias', 'fc.weight'];
    const params = new Map(wave.namedParameters());
    x.requiresGrad = true;
    const { emb, shapes } = L.tidy(() => {
      const f = wave.forwardFeatures(x);
      L.backward(L.sum(L.mul(f.embedding, R)));
      return { emb: L.keep(f.embedding), shapes: f.features.map((t) => t.shape.slice(2).join('x')) };
    });
    expect(shapes).toEqual(['36x36', '18x18', '9x9', '5x5']);
    const ours = await emb.data();
    const xs = tf.tensor(await x.data(), [1, 3, S, S]).transpose([0, 2, 3, 1]) as tf.Tensor4D;
    const Rt = tf.tensor(await R.data(), [1, 128]);
    const t0 = performance.now();
    const ref = await tfWave(xs, P).data();
    let d = 0;
    for (let i = 0; i < ours.length; i++) d = Math.max(d, Math.abs(ours[i]! - ref[i]!));
    console.log(`WaveResNet forward: max |ours - tfjs| ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(2e-5);

    const t1 = performance.now();
    // gradients for the input and the picked parameters only (the others are constants)
    const gradOf = tf.grads((...args: tf.Tensor[]) => {
      const w = new Map(P);
      picks.forEach((k, i) => w.set(k, args[i + 1]!));
      return tf.sum(tf.mul(tfWave(args[0] as tf.Tensor4D, w), Rt));
    });
    const g = gradOf([xs, ...picks.map((k) => P.get(k)!)]);
    console.log(`tfjs (cpu) forward ${((t1 - t0) / 1000).toFixed(1)} s, gradients ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    const check = async (what: string, ourGrad: Float32Array, refT: tf.Tensor) => {
      const r = await refT.data();
      let m = 0, dd = 0;
      for (let i = 0; i < r.length; i++) { m = Math.max(m, Math.abs(r[i]!)); dd = Math.max(dd, Math.abs(ourGrad[i]! - r[i]!)); }
      expect(dd, `${what}: max |ours - tfjs| ${dd} (max |tfjs| ${m})`).toBeLessThanOrEqual(1e-3 * m + 1e-6);
      expect(m, what).toBeGreaterThan(0);
    };
    for (const k of picks) {
      const t = params.get(k)!;
      const refG = g[picks.indexOf(k) + 1]!;
      // tfjs grads of OIHW-shaped inputs keep that shape; fc.weight [128, 256] likewise
      await check(k, await t.grad!.data(), refG);
    }
    await check('input', await x.grad!.data(), g[0]!.transpose([0, 3, 1, 2]));
    // eval mode with the scales folded (conv -> mean -> relu) gives the same embedding
    wave.eval().fuse();
    const fused = await L.noGrad(() => wave.forward(x)).data();
    wave.unfuse();
    let df = 0;
    for (let i = 0; i < fused.length; i++) df = Math.max(df, Math.abs(fused[i]! - ours[i]!));
    expect(df).toBeLessThanOrEqual(2e-5);
    emb.dispose(); x.dispose(); R.dispose();
    for (const t of [xs, Rt, ...g]) t.dispose();
    zeroGrad(wave.parameters(), true);
  }, 600_000);
});
