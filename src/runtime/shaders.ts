// WGSL loading: shaders/<name>.wgsl (bundled into shaders.generated.ts), with
//   #include "other.wgsl"          textual include of a shared file (once per file)
//   ${NAME}                        substituted from the program's defines (numbers, strings, booleans)
//   #if ${FLAG} / #elif / #else / #endif   conditionals, evaluated by wgsl-preprocessor
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { SHADERS } from './shaders.generated.js';

export type Defines = Record<string, number | string | boolean>;

function expandIncludes(name: string, seen: Set<string>): string {
  const src = SHADERS[name];
  if (src === undefined) throw new Error(`shader "${name}.wgsl" not found in shaders/ (known: ${Object.keys(SHADERS).join(', ')})`);
  return src.replace(/^[ \t]*#include\s+"([\w.-]+)\.wgsl"[ \t]*$/gm, (_m, inc: string) => {
    if (seen.has(inc)) return '';
    seen.add(inc);
    return expandIncludes(inc, seen);
  });
}

const cache = new Map<string, string>();

/** Returns the final WGSL text of shaders/<name>.wgsl under the given defines. */
export function loadShader(name: string, defines: Defines = {}): string {
  const key = name + '|' + JSON.stringify(Object.entries(defines).sort());
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const text = expandIncludes(name, new Set([name]));
  const strings: string[] = [];
  const values: unknown[] = [];
  let last = 0;
  for (const m of text.matchAll(/\$\{(\w+)\}/g)) {
    strings.push(text.slice(last, m.index));
    const k = m[1]!;
    if (!(k in defines)) throw new Error(`shader "${name}.wgsl" uses \${${k}} but the program defines no ${k}`);
    const v = defines[k]!;
    values.push(typeof v === 'number' && !Number.isInteger(v) ? v.toExponential() : v);
    last = m.index! + m[0].length;
  }
  strings.push(text.slice(last));
  const out = (wgsl as (s: string[], ...v: unknown[]) => string)(strings, ...values);
  cache.set(key, out);
  return out;
}
