// The super-resolution networks lrfr trains and runs: DSR (EDSR-style, the cycle's, dsr.ts),
// WDSR-A (wide activation, issue 14's method A, wdsr.ts) and the U-Net (method B, unet.ts). Both map S x S probes with RGB in [0, 1] to
// outputSize² crops (unclamped), take config.inputSize and the config.probeSizes resized to it, and
// are rebuilt from a weights file's metadata by the registry.
import type { DSR } from './dsr.js';
import type { WDSR } from './wdsr.js';
import type { UNet } from './unet.js';
import { knownModelName } from './registry.js';

export type SrNetwork = DSR | WDSR | UNet;
export const SR_NETWORKS = ['dsr', 'wdsr', 'unet'] as const;
export type SrNetworkName = (typeof SR_NETWORKS)[number];

/** The registry name of a super-resolver's metadata.model (absent: 'dsr', the older files), or null when it is not one. */
export function srNetworkName(kind: string | undefined): SrNetworkName | null {
  const n = kind === undefined ? 'dsr' : knownModelName(kind);
  return (SR_NETWORKS as readonly string[]).includes(n ?? '') ? (n as SrNetworkName) : null;
}

/** The probe sizes a super-resolver takes (config.inputSize and config.probeSizes), ascending. */
export function srSizes(m: SrNetwork): number[] {
  return [...new Set([m.config.inputSize, ...m.probeSizes])].sort((a, b) => a - b);
}
