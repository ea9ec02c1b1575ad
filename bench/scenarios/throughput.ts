/**
 * Throughput: completed chat turns per second at saturation, for each autochat set-up (PGlite or
 * PostgreSQL; in-memory or Redis event log), with the bare AI SDK server as the ceiling for reference.
 * Clients start a new session every few turns, so session creation and title calls are part of the
 * work, as with real users.
 */
import type { Cell, ScenarioResult } from '../results.js';
import { profileArgs, type Scenario } from '../scenario.js';
import { formatNumber, summarize } from '../stats.js';
import { baselineTurn, createSession, sendTurn } from '../support/autochat-api.js';
import { closedLoop } from '../support/load.js';
import { CHUNKS } from '../support/scripts.js';
import { setupName, startAutochat, startBaseline, startUpstream, type AutochatSetup } from '../support/services.js';
import type { TimedStream } from '../support/sse-client.js';

const TURNS_PER_SESSION = 10;
const MESSAGE = 'Find me an agent that writes YouTube scripts.';

export const throughput: Scenario = {
  name: 'throughput',
  title: 'Throughput',
  async run(context) {
    const concurrency = context.quick ? 10 : 64;
    const window = context.quick ? { maxMs: 1_500, maxRequests: 100 } : { maxMs: 8_000, maxRequests: 20_000 };
    const warmMs = context.quick ? 500 : 2_000;
    const setups: AutochatSetup[] = [
      { database: 'pglite', eventLog: 'memory' },
      { database: 'postgres', eventLog: 'memory' },
      { database: 'pglite', eventLog: 'redis' },
      { database: 'postgres', eventLog: 'redis' },
    ];
    const rows: Cell[][] = [];
    const notes: string[] = [];
    const data: ScenarioResult['data'] = {};
    const upstream = await startUpstream();
    try {
      const baseline = await startBaseline(upstream.url);
      try {
        await closedLoop({ concurrency, maxRequests: Number.MAX_SAFE_INTEGER, maxMs: warmMs }, () => baselineTurn(baseline.url, MESSAGE));
        const { results, elapsedMs } = await closedLoop({ concurrency, ...window }, () => baselineTurn(baseline.url, MESSAGE));
        rows.push(row('bare AI SDK server (no persistence)', results, elapsedMs));
        data['baseline.turnsPerSecond'] = rows.at(-1)![2] as number;
      } finally {
        await baseline.stop();
      }

      for (const setup of setups) {
        const name = setupName(setup);
        if ((setup.database === 'postgres' && !context.services.postgres) || (setup.eventLog === 'redis' && !context.services.redis)) {
          notes.push(`${name}: skipped, the service is not available on this machine.`);
          continue;
        }
        const autochat = await startAutochat(upstream.url, setup, {
          nodeArgs: profileArgs(context, `throughput-${setup.database}-${setup.eventLog}`),
        });
        try {
          const url = autochat.server.url;
          const sessions = new Map<number, { id: string; turns: number }>();
          const turn = async (worker: number) => {
            let session = sessions.get(worker);
            if (!session || session.turns >= TURNS_PER_SESSION) {
              session = { id: await createSession(url), turns: 0 };
              sessions.set(worker, session);
            }
            session.turns++;
            return sendTurn(url, session.id, MESSAGE);
          };
          await closedLoop({ concurrency, maxRequests: Number.MAX_SAFE_INTEGER, maxMs: warmMs }, turn);
          const { results, elapsedMs } = await closedLoop({ concurrency, ...window }, turn);
          rows.push(row(`autochat, ${name}`, results, elapsedMs));
          data[`${setup.database}.${setup.eventLog}.turnsPerSecond`] = rows.at(-1)![2] as number;
          context.log(`${name}: ${formatNumber(rows.at(-1)![2] as number)} turns/s`);
        } finally {
          await autochat.close();
        }
      }
    } finally {
      await upstream.stop();
    }
    return {
      scenario: 'throughput',
      title: 'Throughput',
      method:
        `${concurrency} concurrent clients (enough to keep the server's one core busy: more only lengthens queues) in a closed loop for ${window.maxMs / 1000} s (after ${warmMs / 1000} s of warm-up), same upstream script as above (≈200 ms per answer). ` +
        `A client starts a new session every ${TURNS_PER_SESSION} turns (session creation and the title call of each first exchange are part of the work). ` +
        'A turn counts when its stream ended with `finish` and `[DONE]` and carried every token. The server is one Node process (one core at most); the machine has 2 cores shared by server, upstream and load generator.',
      tables: [
        {
          title: `Completed turns per second at concurrency ${concurrency}`,
          columns: ['server', 'completed turns', 'turns/s', 'failed', 'turn time p50 (ms)', 'turn time p95 (ms)', 'turn time p99 (ms)'],
          rows,
        },
      ],
      targets: [],
      notes,
      data,
    };
  },
};

function row(name: string, results: TimedStream[], elapsedMs: number): Cell[] {
  const ok = results.filter((result) => result.status === 200 && result.done && result.finished && result.deltas === CHUNKS);
  const times = summarize(ok.map((result) => result.totalMs));
  return [name, ok.length, ok.length / (elapsedMs / 1000), results.length - ok.length, times.p50, times.p95, times.p99];
}
