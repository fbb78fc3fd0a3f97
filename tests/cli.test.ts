// The CLI as a user meets it: no adapter, unknown commands.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/lrfr.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

describe('lrfr CLI', () => {
  it('doctor without a Vulkan driver says what is missing and how to install it', () => {
    const r = run(['doctor'], { VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/No WebGPU adapter was found/);
    expect(r.stderr).toMatch(/apt-get install -y -t bookworm-backports mesa-vulkan-drivers/);
  });

  it('an unknown command prints the usage and exits 2', () => {
    const r = run(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
    expect(r.stderr).toMatch(/doctor/);
  });
});
