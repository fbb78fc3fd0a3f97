// Multi-tensor dispatches for the optimizer's kernels: one dispatch updates up to K tensors ("slots")
// instead of one dispatch per tensor (EdgeFace-XXS has 160 parameter tensors, most of them biases and
// norms of a few hundred floats, where the ~30 µs a dispatch costs on lavapipe outweighs the work).
// WGSL cannot index bindings, so the shader gets K bindings of each kind and a chain of branches, one
// per slot, that this file writes out (the shaders' BINDINGS and SLOTS defines). The invocations of a
// dispatch are the slots' invocations end to end: slot k has invocations [first_k, first_{k+1}); it runs
// its grid-stride loop over its tensor as the one-tensor kernel did. Unused slots (the last group's)
// have no invocations; their read-only bindings repeat slot 0's tensors, their writable ones take small
// dummies, one each (WebGPU rejects a buffer in two writable bindings of one dispatch).
// K comes from the device's maxStorageBuffersPerShaderStage (16 on lavapipe; 8, WebGPU's default, in
// most browsers) and is a define, so each kernel has one pipeline per (K, VEC4, ...) as before.
import { Tensor, empty } from '../runtime/tensor.js';
import { getEngine, type UniformValue } from '../runtime/engine.js';
import { elementwiseInvocations } from '../runtime/ops/activation.js';

/** Switches for bench/probe-optimizer.ts (the multi-tensor kernels against one dispatch per tensor). */
export const optimPaths = { multiTensor: true };

/** Most slots a kernel writes out (its code grows with K). */
export const MAX_SLOTS = 8;

/** Slots per dispatch for a kernel binding `perSlot` storage buffers per tensor and `shared` more. */
export function slotsPerDispatch(perSlot: number, shared: number): number {
  if (!optimPaths.multiTensor) return 1;
  return Math.max(1, Math.min(MAX_SLOTS, Math.floor((getEngine().maxStorageBuffers - shared) / perSlot)));
}

/** One tensor of a group: its index in the caller's list and its element count. */
export interface SlotItem { index: number; size: number }

/**
 * The items in dispatch groups of at most K, those whose size is a multiple of 4 (read as vec4s) and
 * the others apart, each in the caller's order.
 */
export function slotGroups(items: readonly SlotItem[], K: number): { vec4: boolean; items: SlotItem[] }[] {
  const out: { vec4: boolean; items: SlotItem[] }[] = [];
  for (const vec4 of [true, false]) {
    const list = items.filter((it) => (it.size % 4 === 0) === vec4);
    for (let i = 0; i < list.length; i += K) out.push({ vec4, items: list.slice(i, i + K) });
  }
  return out;
}

/** WGSL declarations of the bindings in the engine's order (inputs read-only, then outputs, then `u`). */
export function slotBindings(reads: readonly [string, string][], writes: readonly [string, string][]): string {
  const lines: string[] = [];
  let b = 0;
  for (const [name, type] of reads) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${name}: ${type};`);
  for (const [name, type] of writes) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${name}: ${type};`);
  lines.push(`@group(0) @binding(${b}) var<uniform> u: U;`);
  return lines.join('\n');
}

/**
 * The branch chain: invocation i runs slot k's `body(k)` where u.slots[k].size.z <= i < u.slots[k + 1].size.z
 * (s = u.slots[k] and j, the invocation's first element, are in scope; unused slots start at the total).
 */
export function slotChain(K: number, body: (k: number) => string): string {
  const out: string[] = [];
  for (let k = 0; k < K; k++) {
    const cond = k < K - 1 ? `if (i < u.slots[${k + 1}].size.z) ` : '';
    out.push(`${k > 0 ? 'else ' : ''}${cond}{ let s = u.slots[${k}]; let j0 = i - s.size.z;\n    ${body(k)}\n  }`);
  }
  return out.join('\n  ');
}

/**
 * The uniforms of one group's K slots, each { size: vec4<u32>(count, threads, first, extra), f: vec4<f32> }
 * (count in vec4s with vec4; threads: the slot's invocations, by default the elementwise kernels'
 * elementwiseInvocations(count); first: its first invocation; extra and f: the kernel's own), and the
 * dispatch's total invocations (the shader's u.total.x, before the slots).
 */
export function slotUniforms(group: { vec4: boolean; items: SlotItem[] }, K: number,
  perSlot: (it: SlotItem, count: number) => { extra?: number; f?: readonly number[]; threads?: number } = () => ({})): { slots: UniformValue[]; total: UniformValue; invocations: number } {
  const slots: UniformValue[] = [];
  let first = 0;
  const push = (count: number, threads: number, extra: number, f: readonly number[]) => {
    slots.push({ t: 'vec4u', v: [count, threads, first, extra] }, { t: 'vec4f', v: [f[0] ?? 0, f[1] ?? 0, f[2] ?? 0, f[3] ?? 0] });
    first += threads;
  };
  for (const it of group.items) {
    const count = group.vec4 ? it.size / 4 : it.size;
    const o = perSlot(it, count);
    push(count, o.threads ?? elementwiseInvocations(count), o.extra ?? 0, o.f ?? []);
  }
  for (let k = group.items.length; k < K; k++) push(0, 0, 0, []);
  return { slots, total: { t: 'vec4u', v: [first, 0, 0, 0] }, invocations: first };
}

/** The group's tensors padded to K: pad(k) for the unused slot k. */
export function padSlots<T>(list: readonly T[], K: number, pad: (k: number) => T): T[] {
  return [...list, ...Array.from({ length: K - list.length }, (_, i) => pad(list.length + i))];
}

/** n 4-float tensors for the unused slots' writable bindings (their owner keeps and disposes them). */
export function slotDummies(n: number): Tensor[] {
  return Array.from({ length: n }, () => empty([4]));
}

