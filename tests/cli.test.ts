// The CLI as a user meets it: no adapter, unknown commands, the autotuner's cache.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (args: string[], env: Record<string, string> = {}, timeout = 60_000) =>
  spawnSync(process.execPath, ['bin/lrfr.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout });

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

  it('tune: bad arguments exit 2 and name the problem; --model tunes a step and --list shows the cache', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrfr-tune-'));
    const env = { LRFR_TUNE_CACHE: join(dir, 'autotune.json') };
    try {
      const bad = run(['tune', '--model', 'resnet'], env);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/unknown model "resnet"/);
      expect(run(['tune', '--batch', '0'], env).status).toBe(2);
      // 117 s with an empty Mesa shader cache (2026-12-06: every variant of 13 classes compiles), 30 s warm.
      const ok = run(['tune', '--model', 'dsr', '--batch', '1', '--size', '8', '--reps', '1'], env, 300_000);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/dsr forward at batch 1: \d+ shape classes used, \d+ tuned now/);
      const cache = JSON.parse(readFileSync(env.LRFR_TUNE_CACHE, 'utf8')) as Record<string, string>;
      expect(Object.keys(cache).some((k) => /\|conv\|k3x3\.s1x1\./.test(k))).toBe(true);
      const list = run(['tune', '--list'], env);
      expect(list.status).toBe(0);
      expect(list.stdout).toMatch(/conv\s+k3x3\.s1x1\.ci\d+\.co\d+\.hw\d+\.n1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 360_000);
});
