// The test-suite face of src/check/opcheck.ts (shared with `lrfr doctor`): tfjs on its CPU backend
// as the reference. See OpCase for the fields; the pass criterion is |ours - ref| <= atol + rtol·|ref|.
import * as tf from '@tensorflow/tfjs';
import { checkOp, type OpCase } from '../../src/check/opcheck.js';

export { assertClose, type OpCase, type Arr } from '../../src/check/opcheck.js';

/** Runs one op case; throws (failing the test) on the first mismatch. */
export async function testOp(c: OpCase): Promise<void> {
  await checkOp(tf, c);
}
