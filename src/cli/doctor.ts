// lrfr doctor: is WebGPU usable here, and does every kernel compute what its reference computes?
import { initNodeGPU } from '../node/gpu.js';
import { adapterSummary, getEngine, NoAdapterError } from '../runtime/index.js';
import { KERNEL_CHECKS, CUSTOM_CHECKS } from './checks.js';
import { checkOp } from '../check/opcheck.js';

export async function doctor(args: string[]): Promise<number> {
  const only = args.find((a) => !a.startsWith('-'));
  try {
    await initNodeGPU();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      process.stderr.write(`lrfr doctor: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const s = adapterSummary();
  const out = (l = '') => process.stdout.write(l + '\n');
  out('adapter');
  out(`  vendor        ${s.vendor || '(none)'}`);
  out(`  architecture  ${s.architecture || '(none)'}`);
  out(`  device        ${s.device || '(none)'}`);
  out(`  description   ${s.description || '(none)'}`);
  out(`features  ${s.features.join(', ')}`);
  out('limits');
  for (const [k, v] of Object.entries(s.limits)) out(`  ${k.padEnd(36)} ${v}`);
  const tf = await import('@tensorflow/tfjs').catch(() => null);
  if (!tf) {
    out('\nkernel checks need @tensorflow/tfjs (a dev dependency: run npm ci)');
    return 1;
  }
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node banner
  out('\nkernels (ours vs reference; pass if |ours - ref| <= atol + rtol*|ref| everywhere)');
  let failed = 0;
  let n = 0;
  for (const c of KERNEL_CHECKS) {
    if (only && !c.name.includes(only)) continue;
    n++;
    const t0 = performance.now();
    const oc = c.make(tf);
    try {
      const maxAbs = await checkOp(tf, oc);
      const grad = oc.gradAtol !== undefined ? ` grad atol ${oc.gradAtol}` : '';
      out(`  PASS  ${c.name.padEnd(34)} max|diff| ${maxAbs.toExponential(2).padStart(9)}  (atol ${oc.atol}, rtol ${oc.rtol}${grad})  ${(performance.now() - t0).toFixed(0)} ms`);
    } catch (e) {
      failed++;
      out(`  FAIL  ${c.name.padEnd(34)} ${(e as Error).message.split('\n')[0]}`);
    }
  }
  for (const c of CUSTOM_CHECKS) {
    if (only && !c.name.includes(only)) continue;
    n++;
    const t0 = performance.now();
    try {
      const maxAbs = await c.run();
      out(`  PASS  ${c.name.padEnd(34)} max|diff| ${maxAbs.toExponential(2).padStart(9)}  (atol ${c.atol})  ${(performance.now() - t0).toFixed(0)} ms`);
    } catch (e) {
      failed++;
      out(`  FAIL  ${c.name.padEnd(34)} ${(e as Error).message.split('\n')[0]}`);
    }
  }
  getEngine().throwIfErrors();
  out(`\n${n - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
