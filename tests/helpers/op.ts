// The test-suite face of src/check/opcheck.ts (shared with `lrfr doctor`): tfjs on its CPU backend
// as the reference. See OpCase for the fields; the pass criterion is |ours - ref| <= atol + rtol·|ref|.
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import { checkOp, type OpCase } from '../../src/check/opcheck.js';

export { assertClose, type OpCase, type Arr } from '../../src/check/opcheck.js';

/** Runs one op case; throws (failing the test) on the first mismatch. */
export async function testOp(c: OpCase): Promise<void> {
  await checkOp(tf, c);
}

/** Names of the programs (engine.run) dispatched by fn, in order (fn runs inside a tidy). */
export function programs(fn: () => void): string[] {
  const e = L.getEngine();
  const names: string[] = [];
  const orig = e.run;
  e.run = (p) => {
    names.push(p.name);
    orig.call(e, p);
  };
  try {
    L.tidy(fn);
  } finally {
    e.run = orig;
  }
  return names;
}
