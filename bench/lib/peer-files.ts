// What the PyTorch peer (bench/peers/torch_models.py) reads: a model spec (kind, config, parameter
// order) and two safetensors files, our weights and the benchmark's inputs, in a directory of their
// own. And what it writes back: its batch-1 outputs as safetensors ("0", "1", ... in output order).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from '../../src/nn/safetensors.js';

/** A model as the python side builds it. */
export interface TorchSpec {
  kind: 'edgeface' | 'dsr';
  /** EdgeNeXtConfig (edgeface.ts) or DsrConfig (dsr.ts), as JSON. */
  config: object;
  /** Parameter names in our parameters() order (the order of the training check's gradients). */
  params: string[];
  /** Path of our weights (safetensors, names as namedParameters()). */
  weights: string;
  /** Path of the inputs: "x" [MAX_BATCH, ...] and, for a training case, "aux" (R or the target T). */
  inputs: string;
}

export interface PeerExport {
  kind: TorchSpec['kind'];
  config: object;
  weights: Map<string, NamedArray>;
  /** Parameter names in parameters() order. */
  params: string[];
  x: NamedArray;
  aux?: NamedArray;
}

/** Writes weights, inputs and the spec (spec.json) into dir; returns the spec. */
export function writePeerFiles(dir: string, e: PeerExport): TorchSpec {
  mkdirSync(dir, { recursive: true });
  const weights = join(dir, 'weights.safetensors');
  const inputs = join(dir, 'inputs.safetensors');
  writeFileSync(weights, encodeSafetensors(e.weights));
  const io = new Map<string, NamedArray>([['x', e.x]]);
  if (e.aux) io.set('aux', e.aux);
  writeFileSync(inputs, encodeSafetensors(io));
  const spec: TorchSpec = { kind: e.kind, config: e.config, params: e.params, weights, inputs };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  return spec;
}

/** The peer's outputs, in order ("0", "1", ...). */
export function readPeerOutputs(path: string): Float32Array[] {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const out: Float32Array[] = [];
  for (let i = 0; tensors.has(String(i)); i++) out.push(tensors.get(String(i))!.data);
  if (out.length !== tensors.size) throw new Error(`${path}: outputs are not numbered 0..${tensors.size - 1}`);
  return out;
}
