// src/runtime and src/nn must run unchanged in a browser: no Node built-ins, no Node globals. src/train
// may use Node built-ins but not the Node glue in src/node (what it needs from there is injected).
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

/** Static or dynamic imports (and re-exports) of a module under src/node. */
const FROM_SRC_NODE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](?:\.\.?\/)*(?:src\/)?node\/[^'"]*['"]/;

describe('src/train does not import src/node', () => {
  it('the pattern catches the forms an import can take', () => {
    for (const s of ["import { x } from '../node/dlib.js';", "const m = await import('../node/dlib.js');", "export * from \"../node/files.js\";", "import '../node/gpu.js';"]) {
      expect(FROM_SRC_NODE.test(s), s).toBe(true);
    }
    for (const s of ["import { x } from './node-helpers.js';", "import { readFileSync } from 'node:fs';", "import x from '../nn/node.js';"]) {
      expect(FROM_SRC_NODE.test(s), s).toBe(false);
    }
  });

  it('no file under src/train imports from ../node/', () => {
    const offenders: string[] = [];
    for (const f of files('src/train')) {
      const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      for (const line of text.split('\n')) if (FROM_SRC_NODE.test(line)) offenders.push(`${f}: ${line.trim()}`);
    }
    expect(offenders).toEqual([]);
  });
});
