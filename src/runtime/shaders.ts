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
/** Long string defines (generated kernel bodies, kilobytes each) by number, for shaderKey. */
const interned = new Map<string, number>();

/**
 * A short key naming shaders/<name>.wgsl under these defines: equal keys, equal text. Long string
 * values enter it as a number (the generators cache their strings, so the lookup hashes a string
 * V8 has hashed before): it is built for every dispatch, and JSON of the defines copied ~10–50 KB.
 */
export function shaderKey(name: string, defines: Defines = {}): string {
  let key = name;
  for (const k of Object.keys(defines).sort()) {
    const v = defines[k]!;
    let s: string;
    if (typeof v !== 'string') s = typeof v === 'number' ? `n${v}` : v ? 'T' : 'F';
    else if (v.length <= 32) s = JSON.stringify(v);
    else {
      let id = interned.get(v);
      if (id === undefined) interned.set(v, (id = interned.size));
      s = `#${id}`;
    }
    key += `|${k}=${s}`;
  }
  return key;
}

/** Returns the final WGSL text of shaders/<name>.wgsl under the given defines. */
export function loadShader(name: string, defines: Defines = {}, key = shaderKey(name, defines)): string {
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
