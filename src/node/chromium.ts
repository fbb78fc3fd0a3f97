// Headless Chromium for the browser tests (playwright-core + Debian's chromium package): where it is
// and the flags, the same as the browser benchmark's (bench/browser.ts ARGS). --enable-unsafe-webgpu
// gives the SwiftShader WebGPU adapter in headless mode on a machine without a GPU (Chromium 156).
import { existsSync } from 'node:fs';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

export const CHROMIUM_INSTALL_HINT =
  'Install it with `apt-get install -y chromium` (Debian 12; scripts/setup.sh does it), or point CHROMIUM at a Chromium/Chrome binary.';

/** $CHROMIUM or /usr/bin/chromium; throws naming how to install it when there is none. */
export function chromiumPath(): string {
  const p = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(p)) throw new Error(`no Chromium at ${p}. ${CHROMIUM_INSTALL_HINT}`);
  return p;
}
