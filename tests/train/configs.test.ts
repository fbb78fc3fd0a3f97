// Every committed training config (configs/*.json) parses, and the files it names exist or are made
// by another committed config (a phase's weights come from an earlier phase's export).
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAnyConfig } from '../../src/train/train-config.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const files = readdirSync(join(REPO, 'configs')).filter((f) => f.endsWith('.json')).sort();

describe('configs/*.json', () => {
  it('has configs', () => expect(files.length).toBeGreaterThan(10));
  const names = new Set(files.map((f) => (JSON.parse(readFileSync(join(REPO, 'configs', f), 'utf8')) as { name: string }).name));
  for (const f of files) {
    it(`${f} parses; its name is its file name; the weights and configs it names exist or are exported by a config here`, () => {
      const raw = JSON.parse(readFileSync(join(REPO, 'configs', f), 'utf8')) as Record<string, unknown>;
      const cfg = parseAnyConfig(raw);
      expect(cfg.name).toBe(f.replace(/\.json$/, ''));
      const refs: string[] = [];
      const visit = (v: unknown) => {
        if (typeof v === 'string' && /^(weights|configs)\/.+\.(safetensors|json)$/.test(v)) refs.push(v);
        else if (Array.isArray(v)) v.forEach(visit);
        else if (v && typeof v === 'object') Object.values(v).forEach(visit);
      };
      visit(raw);
      for (const r of refs) {
        const made = /^weights\/(.+)\.safetensors$/.exec(r)?.[1];
        expect(existsSync(join(REPO, r)) || (made !== undefined && names.has(made)), `${f}: ${r}`).toBe(true);
      }
    });
  }
});
