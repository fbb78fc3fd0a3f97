// The PyTorch and ONNX Runtime peers of bench:models (bench/peers/torch_models.py, bench/lib/peer-*.ts)
// on tiny configurations of EdgeFace (EdgeNeXt) and DSR, no timing: the safetensors files round-trip
// byte for byte between our writer and the python reader/writer, the python networks loaded with our
// weights match ours at batch 1 (forward, and the training check: loss and every parameter gradient)
// under the benchmark's criterion, and the exported ONNX graph run by onnxruntime-node matches ours
// at batch 2 (its batch axis is dynamic). Needs Debian's torch in /usr/bin/python3
// (`bash scripts/setup.sh --peers`; .ci/run does it); without it the torch tests are skipped and say why.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rt from '../src/runtime/index.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { EdgeFaceXXS, type EdgeNeXtConfig } from '../src/nn/edgeface.js';
import { DSR, type DsrConfig } from '../src/nn/dsr.js';
import type { Module } from '../src/nn/module.js';
import { decodeSafetensors } from '../src/nn/safetensors.js';
import { randomizeEdgeFaceForTest } from './reference/edgeface-tfjs.js';
import { writePeerFiles, readPeerOutputs, type TorchSpec } from '../bench/lib/peer-files.js';
import { TorchPeer, torchMissing, torchTrainRss, TORCH_PYTHON, TORCH_SCRIPT } from '../bench/lib/peer-torch.js';
import { parseArgs } from '../bench/lib/models-main.js';
import { markdown, pairedRatios, perHostSpeed, rangeOf, textTable, type ImplResult, type ModelCaseResult } from '../bench/lib/models-report.js';
import type { RunInfo } from '../bench/lib/report.js';
import { loadOrt, ortRun } from '../bench/lib/peer-ort.js';
import { compare, TOL } from '../bench/lib/compare.js';
import { medianRange } from '../bench/lib/stats.js';

const missing = torchMissing();
if (missing) console.warn(`tests/bench-peers.test.ts: torch tests skipped: ${missing}`);

const EDGE_TINY: Partial<EdgeNeXtConfig> = {
  depths: [1, 1, 2, 1], dims: [8, 16, 24, 32], heads: [2, 2, 2, 2], embeddingSize: 16, inputSize: 32,
};
const DSR_TINY: DsrConfig = { channels: 8, blocks: 1, resScale: 0.1, inputSize: 8, outputSize: 28, fit: 'resize-output', bicubicSkip: true };
const N = 2;

interface Case {
  id: string;
  model: Module & { forward(x: Tensor): Tensor };
  spec: TorchSpec;
  x: Float32Array;
  xShape: number[];
  aux: Float32Array;
  auxShape: number[];
  loss: (y: Tensor, aux: Tensor) => Tensor;
}

async function weightsOf(m: Module) {
  const w = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [k, p] of m.namedParameters()) w.set(k, { data: await p.data(), shape: [...p.shape] });
  return w;
}

async function makeCase(dir: string, kind: 'edgeface' | 'dsr'): Promise<Case> {
  const model = kind === 'edgeface' ? new EdgeFaceXXS({ seed: 3, config: EDGE_TINY }) : new DSR({ seed: 4, config: DSR_TINY });
  if (kind === 'edgeface') randomizeEdgeFaceForTest(model, 5);
  else {
    const rng = new rt.Rng(6);
    for (const [k, p] of model.namedParameters()) {
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      rt.getEngine().upload(p.buffer, Float32Array.from({ length: p.size }, () => (k.endsWith('.bias') ? 0.05 * rng.normal() : rng.normal() / Math.sqrt(fanIn))));
    }
  }
  const S = kind === 'edgeface' ? 32 : 8;
  const xShape = [N, 3, S, S];
  const x = kind === 'edgeface' ? rt.randArray(N * 3 * S * S, 11, -1, 1) : rt.randArray(N * 3 * S * S, 12);
  const auxShape = kind === 'edgeface' ? [N, 16] : [N, 3, 28, 28];
  const aux = kind === 'edgeface' ? rt.randnArray(N * 16, 13) : rt.randArray(N * 3 * 28 * 28, 14);
  const config = kind === 'edgeface' ? (model as EdgeFaceXXS).config : (model as DSR).config;
  const spec = writePeerFiles(join(dir, kind), {
    kind, config, weights: await weightsOf(model), params: model.namedParameters().map(([k]) => k),
    x: { data: x, shape: xShape }, aux: { data: aux, shape: auxShape },
  });
  const loss = kind === 'edgeface' ? (y: Tensor, r: Tensor) => rt.sum(rt.mul(y, r)) : (y: Tensor, t: Tensor) => rt.l1Loss(y, t);
  return { id: kind, model, spec, x, xShape, aux, auxShape, loss };
}

const per = (shape: number[]) => shape.slice(1).reduce((a, b) => a * b, 1);

async function oursForward(c: Case, n: number): Promise<Float32Array[]> {
  const y = rt.tidy(() => rt.noGrad(() => c.model.forward(rt.tensor(c.x.subarray(0, n * per(c.xShape)), [n, ...c.xShape.slice(1)]))));
  const out = Float32Array.from(await y.data());
  y.dispose();
  return [out];
}

/** The training check of bench:models at batch 1: the loss, then every parameter's gradient. */
async function oursTrainCheck(c: Case): Promise<Float32Array[]> {
  const params = c.model.parameters();
  rt.zeroGrad(params, true);
  const l = rt.tidy(() => {
    const y = c.model.forward(rt.tensor(c.x.subarray(0, per(c.xShape)), [1, ...c.xShape.slice(1)]));
    const loss = c.loss(y, rt.tensor(c.aux.subarray(0, per(c.auxShape)), [1, ...c.auxShape.slice(1)]));
    rt.backward(loss);
    return loss;
  });
  const out = [Float32Array.from(await l.data())];
  for (const p of params) out.push(Float32Array.from(await p.grad!.data()));
  l.dispose();
  rt.zeroGrad(params, true);
  return out;
}

describe.skipIf(!!missing)('bench:models PyTorch and ONNX Runtime peers (tiny configs)', () => {
  let dir = '';
  let peer: TorchPeer;
  const cases: Case[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lrfr-peers-test-'));
    peer = (await TorchPeer.start()).peer;
    for (const kind of ['edgeface', 'dsr'] as const) {
      const c = await makeCase(dir, kind);
      await peer.load(c.id, c.spec);
      cases.push(c);
    }
  });
  afterAll(() => {
    peer?.close();
    for (const c of cases) c.model.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('safetensors: the python reader/writer reproduces our file byte for byte', () => {
    const src = cases[0]!.spec.weights, dst = join(dir, 'roundtrip.safetensors');
    const code = `import sys; sys.path.insert(0, sys.argv[1]); import torch_models as t; t.write_safetensors(sys.argv[3], t.read_safetensors(sys.argv[2]))`;
    const r = spawnSync(TORCH_PYTHON, ['-c', code, join(TORCH_SCRIPT, '..'), src, dst], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const a = readFileSync(src), b = readFileSync(dst);
    expect(decodeSafetensors(new Uint8Array(b)).tensors.size).toBe(cases[0]!.model.namedParameters().length);
    expect(Buffer.compare(a, b)).toBe(0);
  });

  for (const kind of ['edgeface', 'dsr'] as const) {
    it(`${kind}: torch forward and training check at batch 1 match ours (rel <= ${TOL})`, async () => {
      const c = cases.find((k) => k.id === kind)!;
      for (const mode of ['forward', 'train'] as const) {
        const out = join(dir, `${kind}-${mode}.safetensors`);
        await peer.check(c.id, mode, out);
        const theirs = readPeerOutputs(out);
        const ours = mode === 'forward' ? await oursForward(c, 1) : await oursTrainCheck(c);
        expect(theirs.length).toBe(ours.length);
        const cmp = compare(ours, theirs);
        console.info(`${kind} ${mode}: torch vs ours ${cmp.rel.toExponential(2)} relative (output ${cmp.worst} of ${ours.length})`);
        expect(cmp.rel, `${kind} ${mode}: worst output ${cmp.worst}, abs ${cmp.abs}`).toBeLessThanOrEqual(TOL);
      }
    });

    it(`${kind}: the exported ONNX graph in onnxruntime-node matches ours at batch ${N}`, async () => {
      const c = cases.find((k) => k.id === kind)!;
      await loadOrt();
      const path = join(dir, `${kind}.onnx`);
      await peer.exportOnnx(c.id, path);
      const run = await ortRun(path, c.x, c.xShape);
      try {
        const cmp = compare(await oursForward(c, N), [await run.run()]);
        console.info(`${kind} forward b${N}: onnxruntime vs ours ${cmp.rel.toExponential(2)} relative`);
        expect(cmp.rel, `${kind} ort: abs ${cmp.abs}`).toBeLessThanOrEqual(TOL);
      } finally {
        await run.dispose();
      }
    });
  }

  it('the peak RSS of a training step comes from a fresh process, in order runtime <= setup <= peak', async () => {
    const r = await torchTrainRss(join(dir, 'dsr', 'spec.json'), N, 1);
    expect(r.runtimeBytes).toBeGreaterThan(0);
    expect(r.setupBytes).toBeGreaterThanOrEqual(r.runtimeBytes);
    expect(r.peakBytes).toBeGreaterThanOrEqual(r.setupBytes);
  });

  it('torch runs prepared launches on request and reports errors as errors', async () => {
    await peer.prepare('dsr', 'train', N);
    const r = await peer.run('dsr', 'train', N, 2);
    expect(r.ms).toBeGreaterThan(0);
    await expect(peer.run('dsr', 'forward', 7, 1)).rejects.toThrow(/not prepared/);
  });
});

describe('bench:models options and the repeats table (no timing)', () => {
  it('--peers selects and orders peers, rejects unknown ones; --repeats; --no-peers', () => {
    expect(parseArgs([]).peers).toEqual(['torch', 'ort', 'tfjs-webgpu', 'tfjs-wasm']);
    expect(parseArgs([]).repeats).toBe(3);
    expect(parseArgs(['--peers', 'tfjs-wasm,torch', '--repeats', '5'])).toMatchObject({ peers: ['torch', 'tfjs-wasm'], repeats: 5 });
    expect(parseArgs(['--no-peers']).peers).toEqual([]);
    expect(() => parseArgs(['--peers', 'torch,pytorch'])).toThrow(/unknown peer pytorch/);
    expect(() => parseArgs(['--repeats', '2.5'])).toThrow(/integer/);
  });

  it('reports median, min–max and spread per implementation, ratios from the medians, and memory', () => {
    const rep = (ms: number) => ({ method: 'benny' as const, ms, k: 2, samples: 5 });
    const c: ModelCaseResult = {
      model: 'M', mode: 'train', batch: 32, input: 'x', params: 1,
      ours: { impl: 'ours', status: 'ok', repeats: [rep(400), rep(320), rep(360)], msPerImage: 360 / 32, imagesPerS: 32000 / 360, imagesPerSMin: 80, imagesPerSMax: 100, spread: 20 / (32000 / 360) },
      peers: { torch: { impl: 'torch', status: 'ok', repeats: [rep(720)], msPerImage: 720 / 32, imagesPerS: 32000 / 720, check: { rel: 1e-6, abs: 1e-6, tol: 1e-3, output: 0 } } },
      memory: { oursPeakGpuBytes: 400 * 2 ** 20, oursBaseGpuBytes: 27 * 2 ** 20, torchPeakRssBytes: 478 * 2 ** 20, torchRssSetupBytes: 257 * 2 ** 20, torchRssRuntimeBytes: 228 * 2 ** 20, torchSteps: 2 },
    };
    const text = textTable([c]);
    expect(text).toContain('88.9 (80.0–100.0, 23%)'); // median img/s (min–max, spread)
    expect(text).toContain('2.00×'); // ours vs torch: 720 / 360 ms per launch
    expect(text).toContain('torch 1.0e-6');
    expect(text).toMatch(/400 MiB .* 478 MiB/);
    const info = { date: '2026-12-03T00:00:00Z', machine: { cpu: 'c', cores: 2, os: 'o', memGiB: 1, loadavgStart: [0, 0, 0] }, node: 'v20', adapter: {}, adapterKey: 'k', peers: { torch: '1.13' }, timing: { repeats: 3 } } as RunInfo;
    const md = markdown([c], info);
    expect(md).toContain('| torch img/s |');
    expect(md).toContain('VmHWM');
  });

  it('pairs repeats by round: per-round ratios to a peer and ours divided by the host speed', () => {
    const rep = (ms: number, round: number) => ({ method: 'benny' as const, ms, k: 1, samples: 5, round });
    // The host slows by 2x in round 1 and both implementations with it; torch skipped round 2.
    const ours: ImplResult = { impl: 'ours', status: 'ok', repeats: [rep(100, 0), rep(200, 1), rep(110, 2)], msPerImage: 110 / 32, imagesPerS: 32000 / 110, imagesPerSMin: 160, imagesPerSMax: 320, spread: 160 / (32000 / 110) };
    const torch: ImplResult = { impl: 'torch', status: 'ok', repeats: [rep(50, 0), rep(100, 1)], msPerImage: 75 / 32, imagesPerS: 32000 / 75 };
    const c: ModelCaseResult = { model: 'M', mode: 'forward', batch: 32, input: 'x', params: 1, ours, peers: { torch }, hostGflops: [100, 50, 100] };
    expect(pairedRatios(ours, torch)).toEqual([0.5, 0.5]); // round 2 has no torch repeat: not paired
    // Without rounds (older results files) a repeat's index is its round.
    expect(pairedRatios({ ...ours, repeats: ours.repeats!.map(({ round: _, ...r }) => r) }, torch)).toEqual([0.5, 0.5]);
    expect(perHostSpeed(c).map((v) => +v.toFixed(3))).toEqual([3.2, 3.2, 2.909]); // 320, 160, 290.9 img/s over 100, 50, 100 GFLOP/s
    expect(rangeOf([1, 2, 4])).toEqual({ median: 2, min: 1, max: 4, spread: 1.5 });
    expect(rangeOf([])).toBeUndefined();
    expect(medianRange([4, 1, 2.5], 1)).toBe('2.5 (1.0–4.0)'); // the probes' "median (min–max)"
    expect(medianRange([0.9, 1.2], 3, 2, '×')).toBe('1.050× (0.90–1.20)');
    const text = textTable([c]);
    expect(text).toContain('0.68× (0.50–0.50)'); // ratio of the medians (75 / 110 ms), then the per-round range
    expect(text).toContain('100.0 (50.0–100.0, 50%)'); // host GFLOP/s per round
    expect(text).toContain(' 9.1% '); // ours ÷ host spread: (3.2 − 2.909) / 3.2, against 55% for ours alone
    expect(text).toContain('0.50 (0.50–0.50, 0.0%)'); // ours vs torch per round
    expect(markdown([c], { date: '2026-12-07T00:00:00Z', machine: { cpu: 'c', cores: 2, os: 'o', memGiB: 1, loadavgStart: [0, 0, 0] }, node: 'v20', adapter: {}, adapterKey: 'k', peers: {}, timing: { repeats: 3 } } as RunInfo)).toContain('| ours vs torch per round |');
  });
});
