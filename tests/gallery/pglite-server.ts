// A PostgreSQL + pgvector server for tests: PGlite (in memory, with its vector extension) served over
// the wire protocol on 127.0.0.1 by pglite-socket, so the gallery reaches it through `pg` exactly as
// it would reach a real server. Debian 12 has no pgvector package; this needs no system install.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface TestPgServer {
  url: string;
  stop(): Promise<void>;
}

export async function startPgliteServer(opts: { dataDir?: string; maxConnections?: number } = {}): Promise<TestPgServer> {
  const db = await PGlite.create({ dataDir: opts.dataDir, extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: opts.maxConnections ?? 8 });
  await server.start();
  const conn = server.getServerConn(); // host:port
  return {
    url: `postgres://postgres@${conn}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
