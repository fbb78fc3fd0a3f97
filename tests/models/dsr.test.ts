// DSR (src/nn/dsr.ts) on our runtime vs the same network written with tfjs ops
// (tests/reference/dsr-tfjs.ts, tfjs CPU backend): parameter counts and FLOPs against the analytic
// formula, forward at S = 16, 24, 32 (batch 2, DSR_CPU; batch 1, DSR_PAPER), parameter gradients,
// input validation (timings are in bench:models).
import { saveModuleBytes, decodeSafetensors } from '../../src/nn/safetensors.js';
import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import { DSR, DSR_CPU, DSR_PAPER, dsrParamCount, dsrFlops, dsrGeometry, type DsrConfig } from '../../src/nn/dsr.js';
import { dsrTf, dsrTfWeights, type DsrTfConfig } from '../reference/dsr-tfjs.js';

const OUT = 112;

/**
 * Test weights: PyTorch's default init (U(±1/sqrt(fanIn))) shrinks activations layer by layer, which
 * makes a comparison prove little. Conv weights N(0, 1/fanIn) (O(1) activations), biases N(0, .05²).
 * Overwritten in place with getEngine().upload; returned by name for the reference.
 */
function randomizeForTest(m: DSR, seed: number): Map<string, Float32Array> {
  const rng = new L.Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, p] of m.namedParameters()) {
    const a = new Float32Array(p.size);
    const fanIn = p.shape.slice(1).reduce((x, y) => x * y, 1);
    for (let i = 0; i < a.length; i++) a[i] = name.endsWith('.bias') ? 0.05 * rng.normal() : rng.normal() / Math.sqrt(fanIn);
    L.getEngine().upload(p.buffer, a);
    out.set(name, a);
  }
  return out;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** Builds a randomised model, runs ours and tfjs at batch n; returns the worst normalised diff. */
async function compareForward(cfg: DsrConfig, n: number, seed: number): Promise<{ worst: number; maxDiff: number; maxRef: number }> {
  const m = new DSR({ config: cfg, seed });
  try {
    randomizeForTest(m, seed + 1);
    // The tfjs reference loads the same weights through a safetensors file written by our saver.
    const file = decodeSafetensors(await saveModuleBytes(m, { model: 'dsr', config: cfg }));
    const arrays = new Map([...file.tensors].map(([k, v]) => [k, v.data]));
    const S = cfg.inputSize;
    const x = L.randArray(n * 3 * S * S, seed + 2);
    const ours = await L.tidy(() => L.noGrad(() => m.forward(L.tensor(x, [n, 3, S, S])))).data();
    const ref = tf.tidy(() => {
      const w = dsrTfWeights(cfg as DsrTfConfig, arrays);
      return dsrTf(cfg as DsrTfConfig, w, tf.tensor4d(x, [n, 3, S, S])).dataSync() as Float32Array;
    });
    expect(ours.length).toBe(n * 3 * OUT * OUT);
    expect(ref.length).toBe(ours.length);
    let maxDiff = 0, worst = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ours[i]! - ref[i]!);
      maxDiff = Math.max(maxDiff, d);
      worst = Math.max(worst, d / (1e-4 + 1e-4 * Math.abs(ref[i]!)));
    }
    return { worst, maxDiff, maxRef: maxAbs(ref) };
  } finally {
    m.dispose();
  }
}

function fmtM(x: number): string {
  return (x / 1e6).toFixed(1);
}

describe('DSR', () => {
  it('parameter counts and FLOPs match the analytic formula (printed for S = 16, 24, 32)', () => {
    const conv = (ci: number, co: number) => 9 * ci * co + co;
    for (const [name, base] of [['DSR_PAPER', DSR_PAPER], ['DSR_CPU', DSR_CPU]] as const) {
      for (const S of [16, 24, 32]) {
        const cfg = { ...base, inputSize: S };
        const C = cfg.channels, k = dsrGeometry(cfg).stages;
        expect(k).toBe(S === 16 ? 3 : 2);
        const m = new DSR({ config: cfg, seed: 1 });
        const n = m.countParams();
        m.dispose();
        const formula = conv(3, C) + 2 * cfg.blocks * conv(C, C) + conv(C, C) + k * conv(C, 4 * C) + conv(C, 3);
        expect(n).toBe(formula);
        expect(dsrParamCount(cfg)).toBe(formula);
        const fo = dsrFlops(cfg), fi = dsrFlops({ ...cfg, fit: 'resize-input' });
        // body at S², one C -> 4C stage per x2, tail at S*2^k (resize-output)
        const W = S, No = S * 2 ** k;
        let up = 0;
        for (let j = 0; j < k; j++) up += 9 * C * 4 * C * (W * 2 ** j) ** 2;
        expect(fo.macs).toBe(9 * W * W * (3 * C + (2 * cfg.blocks + 1) * C * C) + up + 9 * C * 3 * No * No);
        expect(fo.flops).toBe(2 * fo.macs);
        console.log(`${name} (C=${C}, B=${cfg.blocks}) S=${S}: x${2 ** k} -> ${No} -> ${OUT}; params ${n.toLocaleString('en-US')}; ` +
          `resize-output ${fmtM(fo.macs)} M MACs = ${fmtM(fo.flops)} MFLOPs; resize-input (work ${dsrGeometry({ ...cfg, fit: 'resize-input' }).workSize}) ${fmtM(fi.flops)} MFLOPs`);
      }
    }
    // the paper config's numbers, spelled out (C = 112, B = 16, k = 2):
    // 3*112*9+112 + 32*(112*112*9+112) + (112*112*9+112) + 2*(112*448*9+448) + (112*3*9+3)
    expect(dsrParamCount(DSR_PAPER)).toBe(3136 + 32 * 113008 + 113008 + 2 * 452032 + 3027);
  });

  // Forward: |ours - ref| <= 1e-4 + 1e-4 |ref| elementwise. Float32 through up to ~40 convs with
  // sums of up to 9*112 = 1008 products, O(1) activations; the two implementations order the sums
  // differently (and the resizes are float32 matmuls vs our separable kernels), so errors are ~1e-6.
  for (const S of [16, 24, 32]) {
    it(`forward DSR_CPU at ${S}x${S}, batch 2, matches tfjs`, async () => {
      const r = await compareForward({ ...DSR_CPU, inputSize: S }, 2, 100 + S);
      console.log(`forward DSR_CPU S=${S} N=2: max |ref| ${r.maxRef.toFixed(3)}, max |ours - ref| ${r.maxDiff.toExponential(2)}, worst / (1e-4 + 1e-4|ref|) ${r.worst.toFixed(3)}`);
      expect(r.worst).toBeLessThanOrEqual(1);
    });
  }

  it('forward variants (resize-input at 24 and 32, no bicubic skip at 16) match tfjs', async () => {
    for (const cfg of [
      { ...DSR_CPU, inputSize: 24, fit: 'resize-input' as const },
      { ...DSR_CPU, inputSize: 32, fit: 'resize-input' as const },
      { ...DSR_CPU, inputSize: 16, bicubicSkip: false, blocks: 2 },
    ]) {
      const r = await compareForward(cfg, 2, 300 + cfg.inputSize);
      console.log(`forward ${cfg.fit} skip=${cfg.bicubicSkip} S=${cfg.inputSize}: max |ours - ref| ${r.maxDiff.toExponential(2)}, worst ${r.worst.toFixed(3)}`);
      expect(r.worst).toBeLessThanOrEqual(1);
    }
  });

  it('forward DSR_PAPER (C=112, B=16) at 32x32, batch 1, matches tfjs', async () => {
    const r = await compareForward(DSR_PAPER, 1, 500);
    console.log(`forward DSR_PAPER S=32 N=1: max |ref| ${r.maxRef.toFixed(3)}, max |ours - ref| ${r.maxDiff.toExponential(2)}, worst / (1e-4 + 1e-4|ref|) ${r.worst.toFixed(3)}`);
    expect(r.worst).toBeLessThanOrEqual(1);
  });

  // Gradients of sum(out * R): per parameter tensor, max |ours - ref| <= 1e-3 * max |ref| (+ 1e-6):
  // back through ~10 float32 convs, resizes and the pixel shuffles; elementwise relative error means
  // nothing for entries near zero, so the scale is the tensor's largest gradient. A reduced config
  // (C = 16, B = 2: every layer kind, 14 parameter tensors) keeps tf.grads on the CPU to seconds;
  // S = 32 resize-output (x4, antialiased 128 -> 112) and S = 16 resize-input (16 -> 14, x8).
  for (const [S, fit] of [[32, 'resize-output'], [16, 'resize-input']] as const) {
    it(`parameter gradients of sum(out * R) match tf.grads (C=16, B=2, S=${S}, ${fit}, batch 2)`, async () => {
      const cfg: DsrConfig = { ...DSR_CPU, channels: 16, blocks: 2, inputSize: S, fit };
      const n = 2;
      const m = new DSR({ config: cfg, seed: 7 });
      try {
        const arrays = randomizeForTest(m, 8);
        const x = L.randArray(n * 3 * S * S, 9);
        const R = L.randnArray(n * 3 * OUT * OUT, 10);
        const params = m.namedParameters();
        L.zeroGrad(params.map(([, p]) => p), true);
        L.tidy(() => L.backward(L.sum(L.mul(m.forward(L.tensor(x, [n, 3, S, S])), L.tensor(R, [n, 3, OUT, OUT])))));
        const names = params.map(([k]) => k);
        const refGrads = tf.tidy(() => {
          const w0 = dsrTfWeights(cfg as DsrTfConfig, arrays);
          const xs = tf.tensor4d(x, [n, 3, S, S]);
          const r = tf.tensor4d(R, [n, 3, OUT, OUT]);
          const f = (...ts: tf.Tensor[]) => dsrTf(cfg as DsrTfConfig, new Map(names.map((k, i) => [k, ts[i]!])), xs).mul(r).sum() as tf.Scalar;
          return tf.grads(f)(names.map((k) => w0.get(k)!)).map((g) => g.dataSync() as Float32Array);
        });
        let worst = 0, worstName = '';
        const fails: string[] = [];
        for (let i = 0; i < names.length; i++) {
          const p = params[i]![1];
          expect(p.grad, `${names[i]} has no gradient`).not.toBeNull();
          const ours = await p.grad!.data();
          const ref = refGrads[i]!;
          let d = 0;
          for (let j = 0; j < ref.length; j++) d = Math.max(d, Math.abs(ours[j]! - ref[j]!));
          const rel = d / Math.max(maxAbs(ref), 1e-12);
          if (rel > worst) [worst, worstName] = [rel, names[i]!];
          if (d > 1e-3 * maxAbs(ref) + 1e-6) fails.push(`${names[i]}: max diff ${d.toExponential(2)}, max |ref| ${maxAbs(ref).toExponential(2)}`);
        }
        console.log(`gradients S=${S} ${fit}: ${names.length} tensors, worst max-diff / max|ref| = ${worst.toExponential(2)} (${worstName})`);
        L.zeroGrad(params.map(([, p]) => p), true);
        expect(fails).toEqual([]);
      } finally {
        m.dispose();
      }
    });
  }

  it('rejects bad inputs and configs with clear errors', () => {
    const m = new DSR({ config: { ...DSR_CPU, blocks: 1 }, seed: 3 });
    try {
      L.tidy(() => {
        expect(() => m.forward(L.zeros([1, 1, 32, 32]))).toThrow('DSR: expected 3 (RGB) input channels, got [1, 1, 32, 32]');
        expect(() => m.forward(L.zeros([1, 3, 32, 24]))).toThrow('DSR: expected a square probe, got [1, 3, 32, 24]');
        expect(() => m.forward(L.zeros([1, 3, 24, 24]))).toThrow('DSR: this model was built for 32x32 probes, got [1, 3, 24, 24]');
        expect(() => m.forward(L.zeros([3, 32, 32]))).toThrow('DSR: expected an image batch [N, 3, S, S] (rank 4), got [3, 32, 32]');
      });
    } finally {
      m.dispose();
    }
    expect(() => new DSR({ config: { inputSize: 6 } })).toThrow('DSR: unsupported input size 6 (supported: integers 7..112)');
    expect(() => new DSR({ config: { inputSize: 128 } })).toThrow('DSR: unsupported input size 128');
    expect(() => new DSR({ config: { inputSize: 20.5 } })).toThrow('DSR: unsupported input size 20.5');
    expect(() => new DSR({ config: { fit: 'crop' as never } })).toThrow("DSR: fit must be 'resize-output' or 'resize-input'");
    expect(() => new DSR({ config: { channels: 0 } })).toThrow('DSR: channels must be a positive integer');
  });

});

describe('DSR batches over the storage binding limit', () => {
  it('runs in chunks and matches the unchunked result', async () => {
    const e = L.getEngine();
    const model = new DSR({ config: { ...DSR_CPU, inputSize: 16 }, seed: 5 });
    const x = L.rand([3, 3, 16, 16], 9);
    const whole = await L.noGrad(() => model.forward(x)).data();
    // Pretend the limit is smaller: one image per chunk.
    const saved = e.maxBinding;
    (e as { maxBinding: number }).maxBinding = DSR_CPU.channels * 128 * 128 * 4 + 16;
    try {
      const chunked = await L.noGrad(() => model.forward(x)).data();
      let max = 0;
      for (let i = 0; i < whole.length; i++) max = Math.max(max, Math.abs(whole[i]! - chunked[i]!));
      expect(max).toBeLessThan(1e-6);
    } finally {
      (e as { maxBinding: number }).maxBinding = saved;
    }
    x.dispose();
    model.dispose();
  });
});
