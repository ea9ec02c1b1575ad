/**
 * Added latency: time to first token and total time of a turn straight to the scripted upstream,
 * through the bare AI SDK server, and through autochat (PGlite + in-memory log, persistence on), at
 * several concurrencies. Added = through a server − straight to the upstream, percentile by percentile.
 */
import type { Cell, ScenarioResult, Table, TargetCheck } from '../results.js';
import { profileArgs, type Scenario } from '../scenario.js';
import { difference, formatNumber, summarize, type Summary } from '../stats.js';
import { baselineTurn, createSessions, directTurn, sendTurn } from '../support/autochat-api.js';
import { closedLoop, inBatches } from '../support/load.js';
import { CHUNKS, CHUNK_MS, FIRST_CHUNK_MS } from '../support/scripts.js';
import { startAutochat, startBaseline, startUpstream } from '../support/services.js';
import type { TimedStream } from '../support/sse-client.js';

/** Turns per session before a worker moves to a fresh one, so history stays short (2–22 messages). */
const TURNS_PER_SESSION = 10;
const MESSAGE = 'Hello! Which agent would you recommend for planning my week?';

type Level = { concurrency: number; maxRequests: number; maxMs: number };
type Path = 'direct' | 'baseline' | 'autochat';
const PATHS: Path[] = ['direct', 'baseline', 'autochat'];

export const addedLatency: Scenario = {
  name: 'added-latency',
  title: 'Added latency',
  async run(context) {
    const levels: Level[] = context.quick
      ? [
          { concurrency: 1, maxRequests: 10, maxMs: 5_000 },
          { concurrency: 50, maxRequests: 100, maxMs: 5_000 },
          { concurrency: 200, maxRequests: 200, maxMs: 5_000 },
        ]
      : [
          { concurrency: 1, maxRequests: 150, maxMs: 25_000 },
          { concurrency: 50, maxRequests: 3_000, maxMs: 25_000 },
          { concurrency: 200, maxRequests: 4_000, maxMs: 25_000 },
        ];

    const upstream = await startUpstream();
    const baseline = await startBaseline(upstream.url, profileArgs(context, 'added-latency-baseline'));
    const autochat = await startAutochat(upstream.url, { database: 'pglite', eventLog: 'memory' }, { nodeArgs: profileArgs(context, 'added-latency-autochat') });
    const base = autochat.server.url;
    const data: ScenarioResult['data'] = {};
    const errors: Record<string, number> = {};
    const measured: Record<string, { ttft: Summary; total: Summary; rate: number }> = {};

    try {
      // Warm every path (JIT, connection pools) before anything is timed.
      const warm = context.quick ? 20 : 200;
      await inBatches(Array.from({ length: warm }), 20, () => directTurn(upstream.url, MESSAGE));
      await inBatches(Array.from({ length: warm }), 20, () => baselineTurn(baseline.url, MESSAGE));

      for (const level of levels) {
        // Enough sessions for every worker to move on every TURNS_PER_SESSION turns; each is warmed
        // with one untimed turn so that the session-title call of a first exchange is not measured.
        const perWorker = Math.ceil(level.maxRequests / level.concurrency);
        const sessionsPerWorker = Math.ceil(perWorker / TURNS_PER_SESSION);
        context.log(`c=${level.concurrency}: preparing ${level.concurrency * sessionsPerWorker} sessions`);
        const sessions = await createSessions(base, level.concurrency * sessionsPerWorker);
        await inBatches(sessions, Math.min(level.concurrency, 50), (sessionId) => sendTurn(base, sessionId, MESSAGE));
        await new Promise((resolve) => setTimeout(resolve, 500)); // let title calls of the warm-up finish

        for (const path of PATHS) {
          const turnsOf = new Array<number>(level.concurrency).fill(0);
          const { results, elapsedMs } = await closedLoop(level, (worker) => {
            if (path === 'direct') return directTurn(upstream.url, MESSAGE);
            if (path === 'baseline') return baselineTurn(baseline.url, MESSAGE);
            const turn = turnsOf[worker]!++;
            const sessionId = sessions[worker * sessionsPerWorker + Math.min(sessionsPerWorker - 1, Math.floor(turn / TURNS_PER_SESSION))]!;
            return sendTurn(base, sessionId, MESSAGE);
          });
          const ok = results.filter((result) => isComplete(result, path));
          const key = `${path}.c${level.concurrency}`;
          errors[key] = results.length - ok.length;
          measured[key] = {
            ttft: summarize(ok.map((result) => result.ttftMs!)),
            total: summarize(ok.map((result) => result.totalMs)),
            rate: ok.length / (elapsedMs / 1000),
          };
          data[`${key}.ttft`] = measured[key].ttft;
          data[`${key}.total`] = measured[key].total;
          data[`${key}.errors`] = errors[key];
          context.log(
            `c=${level.concurrency} ${path}: n=${ok.length} ttft p50=${formatNumber(measured[key].ttft.p50)} p99=${formatNumber(measured[key].ttft.p99)} total p50=${formatNumber(measured[key].total.p50)} ms, errors=${errors[key]}`,
          );
        }
      }
    } finally {
      await autochat.close();
      await baseline.stop();
      await upstream.stop();
    }

    const tables: Table[] = [];
    const targets: TargetCheck[] = [];
    for (const metric of ['ttft', 'total'] as const) {
      const rows: Cell[][] = [];
      for (const level of levels) {
        const direct = measured[`direct.c${level.concurrency}`]![metric];
        for (const path of PATHS) {
          const own = measured[`${path}.c${level.concurrency}`]![metric];
          rows.push([level.concurrency, label(path), own.n, own.mean, own.p50, own.p95, own.p99, ...(path === 'direct' ? [null, null, null] : addedCells(own, direct))]);
        }
      }
      tables.push({
        title: metric === 'ttft' ? 'Time to first token (ms)' : 'Total time of a turn (ms)',
        columns: ['concurrency', 'path', 'samples', 'mean', 'p50', 'p95', 'p99', 'added p50', 'added p95', 'added p99'],
        rows,
      });
    }

    const overheadRows: Cell[][] = levels.map((level) => {
      const direct = measured[`direct.c${level.concurrency}`]!.ttft;
      const sdk = difference(measured[`baseline.c${level.concurrency}`]!.ttft, direct);
      const ours = difference(measured[`autochat.c${level.concurrency}`]!.ttft, direct);
      data[`added.c${level.concurrency}.baseline`] = sdk;
      data[`added.c${level.concurrency}.autochat`] = ours;
      return [level.concurrency, sdk.mean, sdk.p50, ours.mean, ours.p50, ratio(ours.mean, sdk.mean), ratio(ours.p50, sdk.p50)];
    });
    tables.push({
      title: 'Added time to first token: autochat vs. the bare AI SDK server (ms)',
      columns: ['concurrency', 'AI SDK added mean', 'AI SDK added p50', 'autochat added mean', 'autochat added p50', 'ratio (mean)', 'ratio (p50)'],
      rows: overheadRows,
    });

    const at50 = levels.find((level) => level.concurrency === 50);
    if (at50) {
      const ours = difference(measured['autochat.c50']!.ttft, measured['direct.c50']!.ttft);
      const sdk = difference(measured['baseline.c50']!.ttft, measured['direct.c50']!.ttft);
      targets.push(
        { target: 'added time to first token p50 < 1 ms at concurrency 50 (PGlite)', measured: `${formatNumber(ours.p50)} ms`, met: ours.p50 < 1 },
        { target: 'added time to first token p99 < 5 ms at concurrency 50 (PGlite)', measured: `${formatNumber(ours.p99)} ms`, met: ours.p99 < 5 },
        {
          target: 'added time to first token within 1.2× the bare AI SDK server (p50, concurrency 50)',
          measured: `${formatNumber(ours.p50)} vs ${formatNumber(sdk.p50)} ms (${formatNumber(ours.p50 / sdk.p50)}×)`,
          met: ours.p50 <= 1.2 * sdk.p50,
        },
      );
    }

    const errorTotal = Object.values(errors).reduce((sum, count) => sum + count, 0);
    return {
      scenario: 'added-latency',
      title: 'Added latency',
      method:
        `Closed loop: each of N concurrent clients sends its next turn when the previous one ends (bounded by count and by ${levels[0]!.maxMs / 1000} s per step). ` +
        `Upstream script: ${CHUNKS} text chunks, the first after ${FIRST_CHUNK_MS} ms, then one every ${CHUNK_MS} ms. Time to first token = request sent → first text token received by the client ` +
        '(`text-delta` for the servers, `delta.content` straight to the upstream). autochat runs on PGlite (on disk) with the in-memory event log, logging at info, budgets and rate limits off; ' +
        `each session gets one untimed warm-up turn (its title call), and a client moves to a fresh session every ${TURNS_PER_SESSION} turns. "Added" is a difference of percentiles (unpaired samples).`,
      tables,
      targets,
      notes: [errorTotal === 0 ? 'No request failed.' : `Failed or incomplete requests (excluded): ${JSON.stringify(errors)}.`],
      data,
    };
  },
};

const label = (path: Path) => (path === 'direct' ? 'upstream direct' : path === 'baseline' ? 'bare AI SDK server' : 'autochat');

function isComplete(result: TimedStream, path: Path): boolean {
  return result.status === 200 && result.done && result.ttftMs !== null && result.deltas === CHUNKS && (path === 'direct' || result.finished);
}

function addedCells(own: Summary, direct: Summary): Cell[] {
  const added = difference(own, direct);
  return [added.p50, added.p95, added.p99];
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
