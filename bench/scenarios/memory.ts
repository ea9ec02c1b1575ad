/**
 * Memory: resident memory per concurrent open stream. 1,000 streams are held open against an upstream
 * that sends one chunk a second; the server's memory once they are all streaming, minus its memory
 * before, divided by the number of streams. autochat on PostgreSQL (when available) and the bare AI SDK
 * server are measured the same way.
 */
import type { Cell, ScenarioResult } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { formatNumber } from '../stats.js';
import { baselineTurn, createSessions, sendTurn } from '../support/autochat-api.js';
import { inBatches, sleep } from '../support/load.js';
import type { ProcessStats, ServerProcess } from '../support/processes.js';
import { startAutochat, startBaseline, startUpstream } from '../support/services.js';
import type { TimedStream } from '../support/sse-client.js';

const TARGET_KIB = 100;
const WAVE = 50;
/** Servers may be asked for a full GC before a memory read. */
const NODE_ARGS = ['--expose-gc'];

type Measured = {
  streams: number;
  open: number;
  openSeconds: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  collectedBefore: ProcessStats;
  collectedAfter: ProcessStats;
};

export const memory: Scenario = {
  name: 'memory',
  title: 'Memory per open stream',
  async run(context) {
    const streams = context.quick ? 50 : 1000;
    const nodeArgs = NODE_ARGS;
    const upstream = await startUpstream();
    const results: Record<string, Measured> = {};
    try {
      results.autochat = await measureAutochat(context, upstream.url, 'pglite', streams);
      // The same on PostgreSQL: what PGlite's WebAssembly memory adds to the embedded figure.
      if (context.services.postgres) results.autochatPostgres = await measureAutochat(context, upstream.url, 'postgres', streams);
      const baseline = await startBaseline(upstream.url, nodeArgs);
      try {
        await inBatches(Array.from({ length: 50 }), 25, () => baselineTurn(baseline.url, 'warm-up turn'));
        results.baseline = await holdStreams(context, baseline, streams, (index, options) =>
          baselineTurn(baseline.url, `#slow stream ${index}`, options),
        );
      } finally {
        await baseline.stop();
      }
    } finally {
      await upstream.stop();
    }

    const ours = results.autochat!;
    const rows: Cell[][] = [
      ['autochat (PGlite + memory)', ...cells(ours)],
      ...(results.autochatPostgres ? [['autochat (PostgreSQL + memory)', ...cells(results.autochatPostgres)]] : []),
      ['bare AI SDK server', ...cells(results.baseline!)],
    ];
    const data: ScenarioResult['data'] = {};
    for (const [name, m] of Object.entries(results)) {
      data[`${name}.open`] = m.open;
      data[`${name}.rssPerStreamKiB`] = perStream(m, 'rss');
      data[`${name}.collectedRssPerStreamKiB`] = perStream(m, 'collected');
      data[`${name}.heapPerStreamKiB`] = perStream(m, 'heap');
    }
    const measured = perStream(ours, 'collected');
    return {
      scenario: 'memory',
      title: 'Memory per open stream',
      method:
        `${streams} streams opened (in waves of ${WAVE}) against an upstream that sends one chunk a second; each stream is a live run with its in-memory event log, its upstream request and its SSE response. ` +
        "Once every stream has delivered its first token, the server's memory is read over IPC and compared with before (after 50 warm-up turns): resident set as it is, and resident set and V8 heap after a full GC " +
        '(servers run with `--expose-gc`; the GC is triggered only for these reads). The per-stream figure of the target is the post-GC resident set: what the streams keep alive, not garbage that was not yet collected.',
      tables: [
        {
          title: 'Memory per open stream',
          columns: [
            'server',
            'open streams',
            'seconds to open',
            'RSS before (MiB)',
            'RSS open (MiB)',
            'per stream, RSS (KiB)',
            'per stream, RSS after GC (KiB)',
            'per stream, V8 heap after GC (KiB)',
          ],
          rows,
        },
      ],
      targets: [
        {
          target: `< ${TARGET_KIB} KiB per open stream (autochat, RSS after GC)`,
          measured: `${formatNumber(measured)} KiB`,
          met: measured < TARGET_KIB,
        },
      ],
      notes: [
        ...(ours.open < streams ? [`Only ${ours.open} of ${streams} autochat streams were open when measured (time limit).`] : []),
        ...(context.services.postgres ? [] : ['autochat on PostgreSQL: skipped, PostgreSQL is not available on this machine.']),
      ],
      data,
    };
  },
};

async function measureAutochat(
  context: ScenarioContext,
  upstreamUrl: string,
  database: 'pglite' | 'postgres',
  streams: number,
): Promise<Measured> {
  const autochat = await startAutochat(upstreamUrl, { database, eventLog: 'memory' }, { nodeArgs: NODE_ARGS });
  try {
    const url = autochat.server.url;
    const sessions = await createSessions(url, streams + 50);
    await inBatches(sessions.slice(streams), 25, (sessionId) => sendTurn(url, sessionId, 'warm-up turn'));
    return await holdStreams(context, autochat.server, streams, (index, options) =>
      sendTurn(url, sessions[index]!, `#slow stream ${index}`, options),
    );
  } finally {
    await autochat.close();
  }
}

function perStream(m: Measured, kind: 'rss' | 'collected' | 'heap'): number {
  const open = Math.max(1, m.open);
  if (kind === 'rss') return (m.rssAfterKiB - m.rssBeforeKiB) / open;
  if (kind === 'collected') return (m.collectedAfter.rssKiB - m.collectedBefore.rssKiB) / open;
  return (m.collectedAfter.heapUsedKiB - m.collectedBefore.heapUsedKiB) / open;
}

const cells = (m: Measured): Cell[] => [
  m.open,
  m.openSeconds,
  m.collectedBefore.rssKiB / 1024,
  m.rssAfterKiB / 1024,
  perStream(m, 'rss'),
  perStream(m, 'collected'),
  perStream(m, 'heap'),
];

async function medianRss(server: ServerProcess, reads = 5): Promise<number> {
  const values: number[] = [];
  for (let index = 0; index < reads; index++) {
    values.push(await server.rssKiB());
    if (index < reads - 1) await sleep(400);
  }
  return values.sort((a, b) => a - b)[Math.floor(reads / 2)]!;
}

async function holdStreams(
  context: ScenarioContext,
  server: ServerProcess,
  count: number,
  open: (index: number, options: { timeoutMs: number; signal: AbortSignal; onFirstDelta: () => void }) => Promise<TimedStream>,
): Promise<Measured> {
  const reads = context.quick ? 1 : 5;
  await sleep(context.quick ? 200 : 1000);
  const rssBeforeKiB = await medianRss(server, reads);
  const collectedBefore = await server.probe(true);
  const stop = new AbortController();
  let streaming = 0;
  const pending: Promise<TimedStream>[] = [];
  const started = performance.now();
  const deadline = started + (context.quick ? 30_000 : 90_000);
  // Opened in waves, as a crowd of clients would arrive; a wave waits (briefly) for the one before.
  for (let index = 0; index < count && performance.now() < deadline; index++) {
    pending.push(open(index, { timeoutMs: 240_000, signal: stop.signal, onFirstDelta: () => void streaming++ }));
    if (index % WAVE === WAVE - 1) {
      const waveDeadline = Math.min(deadline, performance.now() + 10_000);
      while (streaming < pending.length && performance.now() < waveDeadline) await sleep(50);
    }
  }
  while (streaming < pending.length && performance.now() < deadline) await sleep(100);
  const openSeconds = (performance.now() - started) / 1000;
  await sleep(context.quick ? 200 : 1000);
  const rssAfterKiB = await medianRss(server, reads);
  const collectedAfter = await server.probe(true);
  context.log(
    `${server.name}: ${streaming}/${count} streams open after ${formatNumber(openSeconds)} s; RSS ${formatNumber(rssBeforeKiB / 1024)} → ${formatNumber(rssAfterKiB / 1024)} MiB, ` +
      `after GC ${formatNumber(collectedBefore.rssKiB / 1024)} → ${formatNumber(collectedAfter.rssKiB / 1024)} MiB, heap ${formatNumber(collectedBefore.heapUsedKiB / 1024)} → ${formatNumber(collectedAfter.heapUsedKiB / 1024)} MiB`,
  );
  stop.abort();
  await Promise.all(pending);
  return { streams: count, open: streaming, openSeconds, rssBeforeKiB, rssAfterKiB, collectedBefore, collectedAfter };
}
