// src/runtime and src/nn must run unchanged in a browser: no Node built-ins, no Node globals.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const NODE_ONLY = [
  /from\s+['"]node:/, /from\s+['"](fs|path|os|url|child_process|worker_threads|crypto|buffer|process)['"]/,
  /import\(\s*['"](node:|fs|path|os|webgpu)/, /from\s+['"]webgpu['"]/, /\bprocess\./, /\bBuffer\./, /\brequire\(/, /__dirname/,
];

describe('browser-safe sources', () => {
  for (const dir of ['src/runtime', 'src/nn']) {
    it(`${dir} uses no Node API`, () => {
      const offenders: string[] = [];
      for (const f of files(dir)) {
        const text = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '');
        for (const re of NODE_ONLY) if (re.test(text)) offenders.push(`${f}: ${re}`);
      }
      expect(offenders).toEqual([]);
    });
  }
});
