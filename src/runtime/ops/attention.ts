// Cross-covariance attention (XCA: XCiT, EdgeNeXt's SDTA blocks): channel attention over the tokens,
// from the qkv linear's output to the proj linear's input. Forward and backward side by side, each one
// dispatch of shaders/xca.wgsl (one workgroup per image and head; the backward adds a sum of the
// temperature's per-image parts), where the composite of layout, normalisation, product and softmax
// ops takes 8 dispatches forward and 24 forward + backward (EdgeFace-XXS at batch 32).
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record, isGradEnabled } from '../autograd.js';
import { reshape, permute, chunk } from './layout.js';
import { l2Normalize, softmax } from './softmax.js';
import { matmul } from './matmul.js';
import { mul, zerosLike } from './elementwise.js';
import { sumTo } from './reduce.js';
import { addMacs } from '../macs.js';
import { fixedSubgroupSize } from '../device.js';
import { SUBGROUP_LANES } from './matmul-subgroup.js';

/** The largest channels per head the kernel holds in 16 KiB of workgroup memory (2·CH² + 2·CH + WG floats). */
export const XCA_MAX_HEAD_CHANNELS = 44;

/** The kernel's defines: CH channels per head, one lane each (WG: CH rounded up to 8-lane passes). */
const xcaDefines = (ch: number, backward: boolean, save: boolean) => ({ CH: ch, WG: 8 * Math.ceil(ch / 8), BACKWARD: backward, SAVE: save });

/** Whether xcaAttention may run the kernel (it needs 8-lane subgroups); false: the composite of ops (tests compare the two). */
export const xcaPaths = { fused: true };

function geometry(qkv: Tensor, temperature: Tensor, heads: number) {
  const op = 'xcaAttention';
  qkv.check(op, 'qkv');
  temperature.check(op, 'temperature');
  if (!Number.isInteger(heads) || heads < 1) throw new Error(`${op}: heads must be a positive integer, got ${heads}`);
  if (qkv.rank !== 3 || qkv.shape[2]! % (3 * heads) !== 0) {
    throw new Error(`${op}: qkv must be [B, N, 3·C] with C divisible by ${heads} heads, got ${fmtShape(qkv.shape)}`);
  }
  if (temperature.size !== heads) throw new Error(`${op}: temperature ${fmtShape(temperature.shape)} must hold one value per head (${heads})`);
  const [B, N, C3] = qkv.shape as [number, number, number];
  const C = C3 / 3;
  return { B, N, C, heads, ch: C / heads };
}

type Geo = ReturnType<typeof geometry>;

const uniforms = (g: Geo, eps: number) => [u32(g.B * g.heads), u32(g.N), u32(g.C), u32(g.heads), f32(eps)];
const savedPerGroup = (ch: number) => 2 * ch * ch + 2 * ch;

/** out [B, N, C]; with save, also Ŝ, A, rq, rk per (b, head) for the backward. */
function xcaForward(qkv: Tensor, temperature: Tensor, g: Geo, eps: number, save: boolean): { out: Tensor; saved: Tensor | null } {
  const out = empty([g.B, g.N, g.C]);
  const saved = save ? empty([g.B * g.heads, savedPerGroup(g.ch)]) : null;
  if (out.size === 0) return { out, saved };
  getEngine().run({
    name: 'xca', shader: 'xca', defines: xcaDefines(g.ch, false, save),
    inputs: [qkv, temperature], outputs: saved ? [out, saved] : [out], uniforms: uniforms(g, eps),
    workgroups: grid1d(g.B * g.heads, 1),
  });
  return { out, saved };
}

/** [d qkv [B, N, 3C], d temperature (its shape)]. */
function xcaBackward(qkv: Tensor, temperature: Tensor, saved: Tensor, gOut: Tensor, g: Geo, eps: number): [Tensor, Tensor] {
  const dqkv = empty(qkv.shape);
  const parts = empty([g.B, g.heads]);
  if (dqkv.size === 0) {
    parts.dispose();
    return [dqkv, zerosLike(temperature)];
  }
  getEngine().run({
    name: 'xca_backward', shader: 'xca', defines: xcaDefines(g.ch, true, false),
    inputs: [qkv, temperature, saved, gOut], outputs: [dqkv, parts], uniforms: uniforms(g, eps),
    workgroups: grid1d(g.B * g.heads, 1),
  });
  if (g.B === 1) return [dqkv, parts.viewAs(temperature.shape)];
  const dt = sumTo(parts, [g.heads]).viewAs(temperature.shape);
  parts.dispose();
  return [dqkv, dt];
}

/**
 * The composite XCA, op by op (timm's CrossCovarianceAttn.forward between qkv and proj): the
 * reference of the kernel and the path for heads wider than XCA_MAX_HEAD_CHANNELS.
 */
export function xcaAttentionComposite(qkv: Tensor, temperature: Tensor, heads: number, eps = 1e-12): Tensor {
  const { B, N, C, ch } = geometry(qkv, temperature, heads);
  const t = permute(reshape(qkv, [B, N, 3, heads, ch]), [2, 0, 3, 4, 1]);
  const [q, k, v] = chunk(t, 3, 0).map((x) => reshape(x, [B * heads, ch, N])) as [Tensor, Tensor, Tensor];
  const qn = l2Normalize(q, -1, eps);
  const kn = l2Normalize(k, -1, eps);
  const attn = softmax(mul(reshape(matmul(qn, kn, { transB: true }), [B, heads, ch, ch]), reshape(temperature, [heads, 1, 1])), -1);
  const o = reshape(matmul(reshape(attn, [B * heads, ch, ch]), v), [B, heads, ch, N]);
  return reshape(permute(o, [0, 3, 1, 2]), [B, N, C]);
}

/**
 * Cross-covariance attention of qkv [B, N, 3·C] (the qkv linear's output: q, k, v each C channels,
 * `heads` heads of C / heads) with a per-head temperature ([heads] or [heads, 1, 1]): per image and
 * head, A = softmax(t · q̂ k̂ᵀ) over the channels (q̂, k̂: q, k normalised over the tokens, as
 * F.normalize with eps), out = A v, returned as tokens [B, N, C]. One kernel each way where the
 * adapter has 8-lane subgroups and a head has at most XCA_MAX_HEAD_CHANNELS channels; else the
 * composite of ops.
 */
export function xcaAttention(qkv: Tensor, temperature: Tensor, heads: number, eps = 1e-12): Tensor {
  const g = geometry(qkv, temperature, heads);
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`xcaAttention: eps must be a positive finite number, got ${eps}`);
  if (!xcaPaths.fused || g.ch > XCA_MAX_HEAD_CHANNELS || fixedSubgroupSize() !== SUBGROUP_LANES) return xcaAttentionComposite(qkv, temperature, heads, eps);
  const recorded = isGradEnabled() && (qkv.requiresGrad || temperature.requiresGrad);
  addMacs('matmul', 2 * g.B * g.heads * g.ch * g.ch * g.N); // q·kᵀ and A·v, as the composite's two products count
  const { out, saved } = xcaForward(qkv, temperature, g, eps, recorded);
  if (!saved) return out;
  return record('xcaAttention', [qkv, temperature], out, (gOut) => xcaBackward(qkv, temperature, saved, gOut, g, eps));
}
