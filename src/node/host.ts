// The host's processor, as a CPU adapter's cache key names it (src/runtime/device.ts adapterKey).
// os.cpus()[0].model alone does not say which processor runs the code: a KVM guest on an AMD Zen 3
// and one on a Zen 4 both read "AMD EPYC", and the two differ in what the autotuner measures (the
// Zen 4 has AVX-512, which PyTorch's OpenBLAS uses and lavapipe's 256-bit code does not). So on Linux
// the key also carries /proc/cpuinfo's family and model numbers and whether AVX-512 is there.
import * as fs from 'node:fs';
import { cpus } from 'node:os';

/** "model (family F model M[, AVX-512])" from a /proc/cpuinfo text; the model alone without those fields. */
export function describeProcessor(model: string, cpuinfo: string | null): string {
  const first = cpuinfo?.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
  const family = field('cpu family');
  const num = field('model');
  if (!family || !num || !/^\d+$/.test(family) || !/^\d+$/.test(num)) return model;
  const avx512 = /(^|\s)avx512f(\s|$)/.test(field('flags') ?? '');
  return `${model} (family ${family} model ${num}${avx512 ? ', AVX-512' : ''})`;
}

/** This host's processor: os.cpus()[0].model, described from /proc/cpuinfo where readable. */
export function hostProcessor(): string | undefined {
  const model = cpus()[0]?.model?.trim();
  if (!model) return undefined;
  let info: string | null = null;
  try {
    info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux, or no /proc: the model string alone
  }
  return describeProcessor(model, info);
}
