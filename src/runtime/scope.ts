// Memory scopes, like tf.tidy: tensors created inside tidy(fn) are disposed when fn returns, except
// the ones it returns and the ones kept with keep(). tidy is synchronous by design: a training step
// is recorded inside it, and the single await (reading the loss) happens outside.
import type { Tensor } from './tensor.js';

const scopes: Set<Tensor>[] = [];

export function trackTensor(t: Tensor): void {
  if (scopes.length && !t.kept) scopes[scopes.length - 1]!.add(t);
}

export function untrackTensor(t: Tensor): void {
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.delete(t)) return;
}

function isTensorLike(x: object): x is Tensor {
  return 'shape' in x && 'dispose' in x && 'requiresGrad' in x;
}

function collect(x: unknown, out: Set<Tensor>, depth = 0): void {
  if (x === null || x === undefined || depth > 8) return;
  if (typeof x !== 'object') return;
  if (isTensorLike(x)) {
    out.add(x as Tensor);
    return;
  }
  if (Array.isArray(x)) for (const v of x) collect(v, out, depth + 1);
  else if (x instanceof Map) for (const v of x.values()) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x as object)) collect(v, out, depth + 1);
}

export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy(fn): fn must be synchronous (record the step inside, await outside)');
  } catch (e) {
    // On error too: everything made inside is released, nothing leaks.
    scopes.pop();
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  }
  scopes.pop();
  const keepSet = new Set<Tensor>();
  collect(result, keepSet);
  for (const t of scope) {
    if (keepSet.has(t) || t.kept) continue;
    t.dispose();
  }
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of keepSet) if (!t.kept && !t.disposed) parent.add(t);
  return result;
}

/** Excludes a tensor from every enclosing and future tidy(); dispose it yourself. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  untrackTensor(t);
  return t;
}

export function dispose(x: Tensor | readonly Tensor[] | Record<string, Tensor>): void {
  const s = new Set<Tensor>();
  collect(x, s);
  for (const t of s) t.dispose();
}
