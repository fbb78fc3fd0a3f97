// EdgeFace-XXS on our runtime vs the same network written with tfjs ops (tests/reference/edgeface-tfjs.ts,
// tfjs CPU backend): parameter count, forward at batch 2 and the gradients of every parameter.
import { saveModuleBytes, decodeSafetensors } from '../../src/nn/safetensors.js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import { EdgeFaceXXS } from '../../src/nn/edgeface.js';
import { edgefaceTf, randomizeEdgeFaceForTest, type Weights } from '../reference/edgeface-tfjs.js';

const S = 112;
const B = 2;

let model: EdgeFaceXXS;
let weights: Map<string, { data: Float32Array; shape: readonly number[] }>;
const x01 = L.randArray(B * 3 * S * S, 11); // [0, 1) RGB, NCHW
const R = L.randnArray(B * 512, 12); // loss = sum(emb * R)

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('EdgeFace-XXS', () => {
  beforeAll(async () => {
    model = new EdgeFaceXXS({ seed: 5 });
    randomizeEdgeFaceForTest(model, 6);
    // The tfjs reference loads the same weights through a safetensors file written by our saver.
    const file = decodeSafetensors(await saveModuleBytes(model, { model: 'edgeface-xxs', config: model.config }));
    weights = new Map([...file.tensors].map(([k, v]) => [k, { data: v.data, shape: v.shape }]));
    expect(weights.size).toBe(model.namedParameters().length);
  });
  afterAll(() => model?.dispose());

  it('has timm edgenext_xx_small + Linear(168, 512) parameters: 1,244,744', () => {
    const n = model.countParams();
    console.log(`EdgeFace-XXS parameters: ${n.toLocaleString('en-US')}`);
    // 1,244,744 = the count exactly: it includes head.fc's bias (512), the positional
    // encoding's 1x1 projection in stage 1's SDTA block (64*48 + 48 = 3,120) and the 4 XCA
    // temperatures of each of the 3 SDTA blocks (12).
    expect(n).toBe(1_244_744);
    const f = model.flops(S);
    console.log(`EdgeFace-XXS @${S}: ${(f.macs / 1e6).toFixed(2)} M MACs, ${(f.flops / 1e6).toFixed(2)} M FLOPs (2 x MACs)`);
    expect(f.macs).toBe(47_297_978);
  });

  it("seeded init follows timm's _init_weights (+ PyTorch default for the reset head.fc)", async () => {
    const m = new EdgeFaceXXS({ seed: 3 });
    const p = new Map(m.namedParameters());
    const get = async (k: string) => p.get(k)!.data();
    const w = await get('stages.2.blocks.5.mlp.fc1.weight'); // trunc_normal_tf_(std .02): |w| <= .04
    const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.0172);
    expect(std).toBeLessThan(0.0180); // truncated at ±2σ: std = 0.02 * 0.880 = 0.0176
    expect(maxAbs(w)).toBeLessThanOrEqual(0.04 + 1e-7);
    expect(maxAbs(await get('stages.2.blocks.5.mlp.fc1.bias'))).toBe(0);
    expect([...await get('stages.3.blocks.1.gamma_xca')].every((v) => Math.abs(v - 1e-6) < 1e-12)).toBe(true);
    expect([...await get('stages.3.blocks.1.xca.temperature')]).toEqual([1, 1, 1, 1]);
    expect([...await get('stages.1.downsample.0.weight')].every((v) => v === 1)).toBe(true);
    const fc = await get('head.fc.weight');
    expect(maxAbs(fc)).toBeLessThanOrEqual(1 / Math.sqrt(168));
    expect(maxAbs(fc)).toBeGreaterThan(0.9 / Math.sqrt(168));
    // Same seed, same weights.
    const m2 = new EdgeFaceXXS({ seed: 3 });
    expect(await m2.namedParameters()[5]![1].data()).toEqual(await m.namedParameters()[5]![1].data());
    m.dispose();
    m2.dispose();
  });

  it('forward at batch 2 matches tfjs (random weights, layer scales ~0.5)', async () => {
    const ours = await L.tidy(() => L.noGrad(() => model.embed(L.tensor(x01, [B, 3, S, S])))).data();
    const w: Weights = new Map([...weights].map(([k, v]) => [k, tf.tensor(v.data, [...v.shape])]));
    const xn = tf.tensor4d(x01, [B, 3, S, S]).mul(2).sub(1) as tf.Tensor4D; // (x - 0.5) / 0.5
    const refT = edgefaceTf(w, xn);
    const ref = refT.dataSync() as Float32Array;
    tf.dispose([...w.values(), xn, refT]);
    expect(ours.length).toBe(B * 512);
    let maxDiff = 0, worst = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ours[i]! - ref[i]!);
      maxDiff = Math.max(maxDiff, d);
      worst = Math.max(worst, d / (1e-4 + 1e-4 * Math.abs(ref[i]!)));
    }
    console.log(`forward: max |ref| ${maxAbs(ref).toFixed(3)}, max |ours - ref| ${maxDiff.toExponential(2)}, worst diff / (1e-4 + 1e-4|ref|) ${worst.toFixed(3)}`);
    // |ours - ref| <= 1e-4 + 1e-4 |ref|: float32 through ~40 layers with O(1) activations.
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('parameter gradients of sum(emb * R) match tf.grads', async () => {
    const params = model.parameters();
    L.zeroGrad(params, true);
    L.tidy(() => {
      const emb = model.embed(L.tensor(x01, [B, 3, S, S]));
      const loss = L.sum(L.mul(emb, L.tensor(R, [B, 512])));
      L.backward(loss);
    });
    const names = model.namedParameters().map(([k]) => k); // the file's keys are sorted; use the model's order
    const ws = names.map((k) => tf.tensor(weights.get(k)!.data, [...weights.get(k)!.shape]));
    const xn = tf.tensor4d(x01, [B, 3, S, S]).mul(2).sub(1) as tf.Tensor4D;
    const r = tf.tensor2d(R, [B, 512]);
    const f = (...t: tf.Tensor[]) => {
      const w: Weights = new Map(names.map((k, i) => [k, t[i]!]));
      return edgefaceTf(w, xn).mul(r).sum() as tf.Scalar;
    };
    const grads = tf.grads(f)(ws);
    // Per parameter tensor: max |ours - ref| <= 1e-3 * max |ref| (+ 1e-6 for all-but-zero gradients):
    // the gradients go back through ~40 float32 layers; elementwise relative error is meaningless for
    // entries near zero, so the scale is the tensor's largest gradient.
    let worst = 0, worstName = '';
    const fails: string[] = [];
    for (let i = 0; i < names.length; i++) {
      const p = params[i]!;
      expect(p.name).toBe(names[i]!.slice(names[i]!.lastIndexOf('.') + 1));
      expect(p.grad, `${names[i]} has no gradient`).not.toBeNull();
      const ours = await p.grad!.data();
      const ref = grads[i]!.dataSync() as Float32Array;
      let d = 0;
      for (let j = 0; j < ref.length; j++) d = Math.max(d, Math.abs(ours[j]! - ref[j]!));
      const rel = d / Math.max(maxAbs(ref), 1e-12);
      if (rel > worst) [worst, worstName] = [rel, names[i]!];
      if (d > 1e-3 * maxAbs(ref) + 1e-6) fails.push(`${names[i]}: max diff ${d.toExponential(2)}, max |ref| ${maxAbs(ref).toExponential(2)}`);
    }
    console.log(`gradients: ${names.length} tensors, worst max-diff / max|ref| = ${worst.toExponential(2)} (${worstName})`);
    tf.dispose([...ws, xn, r, ...grads]);
    L.zeroGrad(params, true);
    expect(fails).toEqual([]);
  });

});
