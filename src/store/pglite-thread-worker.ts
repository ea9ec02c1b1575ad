/**
 * The thread that runs the embedded database (PGlite: PostgreSQL compiled to WebAssembly). A statement
 * runs synchronously inside PGlite, so on the server's own thread every statement would stop every
 * request for as long as it runs; here it runs beside them. See docs/architecture.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type ParserOptions } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { PgliteErrorFields, PgliteReply, PgliteRequest, PgliteThreadOptions } from './pglite-thread-protocol.js';
import { unpackSnapshot } from './snapshot-unpack.js';

const port = parentPort!;
const options = workerData as PgliteThreadOptions;
const send = (reply: PgliteReply) => port.postMessage(reply);

/** Parsers that leave the given types as text, one object per set of types (drizzle asks for few). */
const rawParsers = new Map<string, ParserOptions>();
const keepText = (value: string) => value;
function parsersFor(types: number[]): ParserOptions | undefined {
  if (types.length === 0) return undefined;
  const key = types.join(',');
  let parsers = rawParsers.get(key);
  if (!parsers) {
    parsers = Object.fromEntries(types.map((type) => [type, keepText]));
    rawParsers.set(key, parsers);
  }
  return parsers;
}

function errorFields(error: unknown): PgliteErrorFields {
  const source = (error ?? {}) as Partial<PgliteErrorFields> & { message?: unknown };
  const fields: PgliteErrorFields = { name: error instanceof Error ? error.name : 'Error', message: String(source.message ?? error) };
  for (const key of ['code', 'detail', 'hint', 'severity', 'constraint', 'table', 'column', 'schema'] as const) {
    if (typeof source[key] === 'string') fields[key] = source[key];
  }
  return fields;
}

async function open(): Promise<{ client: PGlite; fromSnapshot: boolean }> {
  const extensions = { pg_trgm };
  const { pgdata, snapshot } = options;
  // A new data directory starts from the snapshot (see src/store/embedded-snapshot.ts) rather than
  // from initdb, which takes seconds; an existing one is opened as it is.
  const fresh = pgdata === undefined || !existsSync(join(pgdata, 'PG_VERSION'));
  if (fresh && snapshot) {
    if (pgdata === undefined)
      return { client: await PGlite.create({ loadDataDir: new Blob([await readFile(snapshot)]), extensions }), fromSnapshot: true };
    await unpackSnapshot(snapshot, pgdata);
    return { client: await PGlite.create({ dataDir: pgdata, extensions }), fromSnapshot: true };
  }
  if (pgdata) await mkdir(pgdata, { recursive: true });
  return { client: await PGlite.create({ dataDir: pgdata, extensions }), fromSnapshot: false };
}

let client: PGlite;
try {
  const opened = await open();
  client = opened.client;
  if (options.setup) await client.exec(options.setup);
  send({ ready: true, fromSnapshot: opened.fromSnapshot });
} catch (error) {
  send({ failed: errorFields(error) });
  port.close();
  process.exit(1);
}

port.on('message', (request: PgliteRequest) => {
  if (request.op === 'close') {
    client.close().then(
      () => {
        send({ id: request.id, result: { rows: [], fields: [] } });
        port.close();
      },
      (error: unknown) => send({ id: request.id, error: errorFields(error) }),
    );
    return;
  }
  client.query(request.sql, request.params, { rowMode: request.arrays ? 'array' : 'object', parsers: parsersFor(request.raw) }).then(
    (result) => send({ id: request.id, result: { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows } }),
    (error: unknown) => send({ id: request.id, error: errorFields(error) }),
  );
});
