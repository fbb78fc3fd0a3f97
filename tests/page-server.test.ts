// bench/lib/page-server.ts: the bundle and the 127.0.0.1 server the browser benchmarks share
// (bench/browser.ts, bench/browser-models.ts, scripts/app-timings.mts). Every answer must carry the
// cross-origin isolation headers (without them the threaded wasm peers silently run on one thread).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundlePage, servePage, routes, scriptRoute, tfjsWasmRoute, ISOLATION } from '../bench/lib/page-server.js';

const tmp = mkdtempSync(join(tmpdir(), 'lrfr-page-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bench/lib/page-server', () => {
  it('bundles an entry for the browser with NODE_ENV production and the caller\'s defines', async () => {
    const entry = join(tmp, 'entry.ts');
    writeFileSync(entry, 'import { fmtShape } from "' + join(import.meta.dirname, '..', 'src/runtime/tensor.js').replaceAll('\\', '/') + '";\nexport const mode: string = process.env.NODE_ENV!; export const extra: number = EXTRA; export const s = fmtShape([2, 3]);\n');
    const js = await bundlePage(entry, { define: { EXTRA: '42' } });
    expect(js).toMatch(/"production"/);
    expect(js).toMatch(/\b42\b/);
    expect(js).toMatch(/function fmtShape/);
    expect(js).not.toMatch(/process\.env/);
  });

  it('serves the page, the routes and tfjs-wasm files with COOP/COEP; 204 for the favicon, 404 otherwise', async () => {
    const fetched: string[] = [];
    const srv = await servePage('<!doctype html><p>page', routes(scriptRoute('p.js', 'console.log(1)'), tfjsWasmRoute((f) => fetched.push(f)), (p) => (p === '/data' ? { type: 'application/octet-stream', body: new Uint8Array([1, 2, 3]) } : null)));
    try {
      expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const get = (p: string) => fetch(new URL(p, srv.url));
      for (const [p, type, body] of [['/', 'text/html', 'page'], ['/index.html', 'text/html', 'page'], ['/p.js', 'text/javascript', 'console.log(1)']] as const) {
        const r = await get(p);
        expect(r.status, p).toBe(200);
        expect(r.headers.get('content-type')).toContain(type);
        for (const [k, v] of Object.entries(ISOLATION)) expect(r.headers.get(k), `${p} ${k}`).toBe(v);
        expect(await r.text()).toContain(body);
      }
      const d = await get('/data?x=1');
      expect([...new Uint8Array(await d.arrayBuffer())]).toEqual([1, 2, 3]);
      const w = await get('/wasm/tfjs-backend-wasm-simd.wasm');
      expect(w.status).toBe(200);
      expect(w.headers.get('content-type')).toBe('application/wasm');
      expect(new Uint8Array(await w.arrayBuffer()).subarray(0, 4)).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d]));
      expect(fetched).toEqual(['tfjs-backend-wasm-simd.wasm']);
      expect((await get('/favicon.ico')).status).toBe(204);
      expect((await get('/nope')).status).toBe(404);
      expect((await get('/wasm/other.wasm')).status).toBe(404);
    } finally {
      srv.close();
    }
  });
});
