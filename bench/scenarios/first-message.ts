/**
 * The first message of a new chat, as a user meets it: the session is made beforehand, the message is
 * the chat's first (so the server also names the chat, titles on), and the upstream streams its first
 * token at once — so what is measured is the server, not the model. One at a time and at concurrency
 * 20 and 50, on PGlite and PostgreSQL, beside the same turn straight to the upstream and through the
 * bare AI SDK server; then the second message of a chat; and how evenly the tokens flow (the gaps
 * between text tokens as the client receives them, against the upstream's own).
 */
import type { Cell, ScenarioResult, Table, TargetCheck } from '../results.js';
import { profileArgs, type Scenario, type ScenarioContext } from '../scenario.js';
import { difference, formatNumber, summarize, type Summary } from '../stats.js';
import { baselineTurn, createSessions, directTurn, sendTurn } from '../support/autochat-api.js';
import { closedLoop, inBatches, sleep } from '../support/load.js';
import type { ServerProcess } from '../support/processes.js';
import { CHUNKS, INSTANT_GAP_MS } from '../support/scripts.js';
import { startAutochat, startBaseline, startUpstream, type AutochatTarget } from '../support/services.js';
import type { TimedStream } from '../support/sse-client.js';

const MESSAGE = 'Hello! Which agent would you recommend for planning my week? #instant';

type Path = 'direct' | 'baseline' | 'pglite' | 'postgres';
type Level = { concurrency: number; maxRequests: number; maxMs: number; rounds: number };

type Measured = {
  ttft: Summary;
  firstEvent: Summary;
  gaps: Summary;
  /** Share of gaps under 1 ms: tokens that left together although the upstream sent them 5 ms apart. */
  bursts: number;
  rate: number;
  serverCpuPerTurn: number | null;
  loopP99: number | null;
  failed: number;
};

const LABELS: Record<Path, string> = {
  direct: 'upstream direct',
  baseline: 'bare AI SDK server',
  pglite: 'autochat, PGlite',
  postgres: 'autochat, PostgreSQL',
};

export const firstMessage: Scenario = {
  name: 'first-message',
  title: 'First message of a new chat',
  async run(context) {
    const levels: Level[] = context.quick
      ? [
          { concurrency: 1, maxRequests: 5, maxMs: 3_000, rounds: 1 },
          { concurrency: 20, maxRequests: 40, maxMs: 3_000, rounds: 1 },
        ]
      : [
          // One at a time in rounds, so that a slow minute of the shared machine hits every path alike.
          { concurrency: 1, maxRequests: 50, maxMs: 10_000, rounds: 4 },
          { concurrency: 20, maxRequests: 1_500, maxMs: 8_000, rounds: 1 },
          { concurrency: 50, maxRequests: 2_500, maxMs: 8_000, rounds: 1 },
        ];
    const secondMessages = context.quick ? 5 : 100;

    const upstream = await startUpstream();
    const baseline = await startBaseline(upstream.url, profileArgs(context, 'first-message-baseline'));
    const autochat: Partial<Record<'pglite' | 'postgres', AutochatTarget>> = {};
    const notes: string[] = [];
    try {
      autochat.pglite = await startAutochat(
        upstream.url,
        { database: 'pglite', eventLog: 'memory' },
        { nodeArgs: profileArgs(context, 'first-message-autochat') },
      );
      if (context.services.postgres) {
        autochat.postgres = await startAutochat(
          upstream.url,
          { database: 'postgres', eventLog: 'memory' },
          { nodeArgs: profileArgs(context, 'first-message-autochat-postgres') },
        );
      } else {
        notes.push('autochat on PostgreSQL: skipped, PostgreSQL is not available on this machine.');
      }
      const paths: Path[] = ['direct', 'baseline', 'pglite', ...(autochat.postgres ? (['postgres'] as const) : [])];
      const serverOf = (path: Path): ServerProcess | undefined =>
        path === 'baseline' ? baseline : path === 'pglite' || path === 'postgres' ? autochat[path]!.server : undefined;

      // Warm every path (JIT, connection pools, the upstream's sockets) before anything is timed.
      // Enough for the JIT to have compiled every path's hot code, as on a server that has been up a while.
      const warm = context.quick ? 10 : 500;
      await inBatches(Array.from({ length: warm }), 10, () => directTurn(upstream.url, MESSAGE));
      await inBatches(Array.from({ length: warm }), 10, () => baselineTurn(baseline.url, MESSAGE));
      for (const path of ['pglite', 'postgres'] as const) {
        const target = autochat[path];
        if (!target) continue;
        const sessions = await createSessions(target.server.url, warm);
        await inBatches(sessions, 10, (sessionId) => sendTurn(target.server.url, sessionId, MESSAGE));
      }

      const measured: Record<string, Measured> = {};
      const samples: Record<string, TimedStream[]> = {};
      const cpu: Record<string, { ms: number; turns: number }> = {};
      const loops: Record<string, number[]> = {};
      let elapsed: Record<string, number> = {};
      for (const level of levels) {
        elapsed = {};
        for (let round = 0; round < level.rounds; round++) {
          for (const path of paths) {
            const key = `${path}.c${level.concurrency}`;
            const server = serverOf(path);
            // A fresh session for every turn, made beforehand (untimed), as the chat a user opens.
            const sessions = path === 'pglite' || path === 'postgres' ? await createSessions(server!.url, level.maxRequests) : [];
            await settle(server);
            await server?.probe(); // resets the event-loop delay histogram
            const cpuBefore = await server?.cpuMs();
            const { results, elapsedMs } = await closedLoop(level, () => {
              if (path === 'direct') return directTurn(upstream.url, MESSAGE);
              if (path === 'baseline') return baselineTurn(baseline.url, MESSAGE);
              return sendTurn(server!.url, sessions.shift()!, MESSAGE);
            });
            if (server) {
              const entry = (cpu[key] ??= { ms: 0, turns: 0 });
              entry.ms += (await server.cpuMs()) - cpuBefore!;
              entry.turns += results.length;
              (loops[key] ??= []).push((await server.probe()).loopDelay.p99);
            }
            (samples[key] ??= []).push(...results);
            elapsed[key] = (elapsed[key] ?? 0) + elapsedMs;
          }
        }
        for (const path of paths) {
          const key = `${path}.c${level.concurrency}`;
          measured[key] = summariseTurns(samples[key]!, path, elapsed[key]!, cpu[key], loops[key]);
          context.log(describe(key, measured[key]));
        }
      }

      // The second message of a chat, one at a time: sessions that already had one exchange (and
      // their title), then the same turn again.
      const second: Record<string, Measured> = {};
      const directAgain = await closedLoop({ concurrency: 1, maxRequests: secondMessages, maxMs: 10_000 }, () =>
        directTurn(upstream.url, MESSAGE),
      );
      second.direct = summariseTurns(directAgain.results, 'direct', directAgain.elapsedMs);
      for (const path of ['pglite', 'postgres'] as const) {
        const target = autochat[path];
        if (!target) continue;
        const sessions = await createSessions(target.server.url, secondMessages);
        await inBatches(sessions, 10, (sessionId) => sendTurn(target.server.url, sessionId, MESSAGE));
        await settle(target.server);
        const run = await closedLoop({ concurrency: 1, maxRequests: secondMessages, maxMs: 10_000 }, () =>
          sendTurn(target.server.url, sessions.shift()!, MESSAGE),
        );
        second[path] = summariseTurns(run.results, path, run.elapsedMs);
        context.log(describe(`${path}.second`, second[path]));
      }

      return report(context, levels, paths, measured, second, notes);
    } finally {
      await autochat.pglite?.close();
      await autochat.postgres?.close();
      await baseline.stop();
      await upstream.stop();
    }
  },
};

/** Lets background work of the previous step (title calls) finish before the next step is timed. */
async function settle(server: ServerProcess | undefined): Promise<void> {
  if (server) await sleep(300);
}

function isComplete(result: TimedStream, path: Path): boolean {
  return (
    result.status === 200 && result.done && result.ttftMs !== null && result.deltas === CHUNKS && (path === 'direct' || result.finished)
  );
}

function summariseTurns(
  results: TimedStream[],
  path: Path,
  elapsedMs: number,
  cpu?: { ms: number; turns: number },
  loops?: number[],
): Measured {
  const ok = results.filter((result) => isComplete(result, path));
  return {
    ttft: summarize(ok.map((result) => result.ttftMs!)),
    firstEvent: summarize(ok.map((result) => result.firstEventMs!)),
    gaps: summarize(ok.flatMap((result) => result.gapsMs)),
    bursts: share(
      ok.flatMap((result) => result.gapsMs),
      (gap) => gap < 1,
    ),
    rate: ok.length / (elapsedMs / 1000),
    serverCpuPerTurn: cpu ? cpu.ms / Math.max(1, cpu.turns) : null,
    loopP99: loops && loops.length > 0 ? Math.max(...loops) : null,
    failed: results.length - ok.length,
  };
}

const share = (values: number[], test: (value: number) => boolean) =>
  values.length === 0 ? 0 : values.filter(test).length / values.length;

const describe = (key: string, m: Measured) =>
  `${key}: n=${m.ttft.n} ttft p50=${formatNumber(m.ttft.p50)} p95=${formatNumber(m.ttft.p95)} p99=${formatNumber(m.ttft.p99)} ms, ` +
  `gap p50=${formatNumber(m.gaps.p50)} p99=${formatNumber(m.gaps.p99)} ms, cpu/turn=${formatNumber(m.serverCpuPerTurn ?? 0)} ms, loop p99=${formatNumber(m.loopP99 ?? 0)} ms, failed=${m.failed}`;

function report(
  _context: ScenarioContext,
  levels: Level[],
  paths: Path[],
  measured: Record<string, Measured>,
  second: Record<string, Measured>,
  notes: string[],
): ScenarioResult {
  const data: ScenarioResult['data'] = {};
  const tables: Table[] = [];
  const targets: TargetCheck[] = [];
  const added = (path: Path, concurrency: number) =>
    difference(measured[`${path}.c${concurrency}`]!.ttft, measured[`direct.c${concurrency}`]!.ttft);

  const ttftRows: Cell[][] = [];
  const flowRows: Cell[][] = [];
  for (const level of levels) {
    for (const path of paths) {
      const key = `${path}.c${level.concurrency}`;
      const m = measured[key]!;
      const plus = path === 'direct' ? null : added(path, level.concurrency);
      ttftRows.push([
        level.concurrency,
        LABELS[path],
        m.ttft.n,
        m.ttft.p50,
        m.ttft.p95,
        m.ttft.p99,
        plus?.p50 ?? null,
        plus?.p95 ?? null,
        plus?.p99 ?? null,
        m.firstEvent.p50,
      ]);
      flowRows.push([
        level.concurrency,
        LABELS[path],
        m.gaps.n,
        m.gaps.p50,
        m.gaps.p99,
        m.gaps.max,
        `${Math.round(m.bursts * 100)} %`,
        m.rate,
        m.serverCpuPerTurn,
        m.loopP99,
      ]);
      data[`${key}.ttft`] = m.ttft;
      data[`${key}.gaps`] = m.gaps;
      data[`${key}.bursts`] = m.bursts;
      data[`${key}.failed`] = m.failed;
      if (plus) data[`${key}.added`] = plus;
    }
  }
  tables.push({
    title: 'Time to first token, first message of a new chat (ms)',
    columns: ['concurrency', 'path', 'samples', 'p50', 'p95', 'p99', 'added p50', 'added p95', 'added p99', 'first event p50'],
    rows: ttftRows,
    note: 'Added = through the server − straight to the upstream, percentile by percentile, in the same run. "First event" is the `start` event (for the upstream, its first chunk).',
  });
  tables.push({
    title: `How the tokens flow: gaps between text tokens at the client (the upstream sends one every ${INSTANT_GAP_MS} ms), server CPU and event-loop delay`,
    columns: [
      'concurrency',
      'path',
      'gaps',
      'gap p50',
      'gap p99',
      'gap max',
      'gaps < 1 ms (bursts)',
      'turns/s',
      'server CPU per turn (ms)',
      'server event-loop delay p99 (ms)',
    ],
    rows: flowRows,
    note: 'Gaps at the client include the load generator\'s own delays (the "upstream direct" row). Server CPU counts every thread of the process (for autochat on PGlite, the database\'s too).',
  });

  const secondRows: Cell[][] = Object.entries(second).map(([path, m]) => {
    const plus = path === 'direct' ? null : difference(m.ttft, second.direct!.ttft);
    if (plus) data[`${path}.second.added`] = plus;
    return [LABELS[path as Path], m.ttft.n, m.ttft.p50, m.ttft.p95, m.ttft.p99, plus?.p50 ?? null, plus?.p95 ?? null, plus?.p99 ?? null];
  });
  tables.push({
    title: 'Time to first token, second message of a chat, one at a time (ms)',
    columns: ['path', 'samples', 'p50', 'p95', 'p99', 'added p50', 'added p95', 'added p99'],
    rows: secondRows,
  });

  const one = levels.find((level) => level.concurrency === 1);
  for (const path of paths.filter((path) => path === 'pglite' || path === 'postgres')) {
    if (!one) break;
    const plus = added(path, 1);
    targets.push(
      {
        target: `first message, one at a time, ${LABELS[path]}: added time to first token p50 < 2 ms`,
        measured: `${formatNumber(plus.p50)} ms`,
        met: plus.p50 < 2,
      },
      {
        target: `first message, one at a time, ${LABELS[path]}: added time to first token p95 < 5 ms`,
        measured: `${formatNumber(plus.p95)} ms`,
        met: plus.p95 < 5,
      },
    );
    const gap = measured[`${path}.c1`]!.gaps.p99 - measured['direct.c1']!.gaps.p99;
    targets.push({
      target: `no bursts, one at a time, ${LABELS[path]}: gap p99 at most 1 ms above the upstream's`,
      measured: `${formatNumber(gap)} ms`,
      met: gap <= 1,
    });
  }
  for (const level of levels.filter((level) => level.concurrency > 1)) {
    const ours = added('pglite', level.concurrency);
    const sdk = added('baseline', level.concurrency);
    for (const at of ['p50', 'p99'] as const) {
      const own = measured[`pglite.c${level.concurrency}`]!.ttft[at];
      const bare = measured[`baseline.c${level.concurrency}`]!.ttft[at];
      const direct = measured[`direct.c${level.concurrency}`]!.ttft[at];
      targets.push({
        target: `concurrency ${level.concurrency}, PGlite: added time to first token ${at} ≤ 1.1× the bare AI SDK server's`,
        measured:
          `${formatNumber(ours[at])} vs ${formatNumber(sdk[at])} ms added` +
          (ours[at] > 0 && sdk[at] > 0 ? ` (${formatNumber(ours[at] / sdk[at])}×)` : '') +
          `; first token ${at} ${formatNumber(own)} vs ${formatNumber(bare)} ms, upstream direct ${formatNumber(direct)} ms`,
        met: ours[at] <= 1.1 * sdk[at],
      });
    }
    const gap = measured[`pglite.c${level.concurrency}`]!.gaps.p99 - measured[`direct.c${level.concurrency}`]!.gaps.p99;
    targets.push({
      target: `no bursts, concurrency ${level.concurrency}, PGlite: gap p99 at most 1 ms above the upstream's`,
      measured: `${formatNumber(gap)} ms`,
      met: gap <= 1,
    });
  }

  const failed = Object.entries(measured).filter(([, m]) => m.failed > 0);
  return {
    scenario: 'first-message',
    title: 'First message of a new chat',
    method:
      `Every turn is the first message of a chat whose session was made beforehand (untimed), so the server also asks the upstream for the chat's title afterwards (titles on, as a user has them). ` +
      `The upstream sends its first text token with its response headers, then one every ${INSTANT_GAP_MS} ms (${CHUNKS} in all), so the time to first token is the server's own. ` +
      `Closed loop: ${levels.map((level) => `${level.concurrency} client(s) for ${level.maxRequests} turns or ${level.maxMs / 1000} s${level.rounds > 1 ? `, ${level.rounds} rounds` : ''}`).join('; ')}. ` +
      'autochat runs with the in-memory event log, logging at info, budgets and rate limits off. The second message of a chat is timed one at a time on sessions that had one exchange.',
    tables,
    targets,
    notes: [
      ...notes,
      failed.length === 0
        ? 'No request failed.'
        : `Failed or incomplete requests (excluded): ${failed.map(([key, m]) => `${key} ${m.failed}`).join(', ')}.`,
    ],
    data,
  };
}
