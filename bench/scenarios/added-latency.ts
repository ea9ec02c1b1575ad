/**
 * Added latency: time to first token and total time of a turn straight to the scripted upstream,
 * through the bare AI SDK server, and through autochat (PGlite + in-memory log, persistence on), at
 * several concurrencies. Added = through a server − straight to the upstream, percentile by percentile.
 */
import type { Cell, ScenarioResult, Table, TargetCheck } from '../results.js';
import { profileArgs, type Scenario } from '../scenario.js';
import { difference, formatNumber, summarize, type Summary } from '../stats.js';
import { baselineTurn, createSession, createSessions, directTurn, sendTurn } from '../support/autochat-api.js';
import { closedLoop, inBatches, openLoop } from '../support/load.js';
import { CHUNKS, CHUNK_MS, FIRST_CHUNK_MS } from '../support/scripts.js';
import { startAutochat, startBaseline, startUpstream } from '../support/services.js';
import type { TimedStream } from '../support/sse-client.js';

/** Turns per session before a worker moves to a fresh one, so history stays short (2–42 messages). */
const TURNS_PER_SESSION = 20;
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
          { concurrency: 1, maxRequests: 5, maxMs: 3_000 },
          { concurrency: 5, maxRequests: 25, maxMs: 3_000 },
          { concurrency: 20, maxRequests: 40, maxMs: 3_000 },
        ]
      : [
          { concurrency: 1, maxRequests: 50, maxMs: 15_000 },
          { concurrency: 50, maxRequests: 2_000, maxMs: 10_000 },
          { concurrency: 200, maxRequests: 3_000, maxMs: 10_000 },
        ];

    const upstream = await startUpstream();
    const baseline = await startBaseline(upstream.url, profileArgs(context, 'added-latency-baseline'));
    const autochat = await startAutochat(
      upstream.url,
      { database: 'pglite', eventLog: 'memory' },
      { nodeArgs: profileArgs(context, 'added-latency-autochat') },
    );
    const base = autochat.server.url;
    // Sessions shared by the open-loop step: more than can be busy at once at its rate.
    const openSessions = context.quick ? 8 : 40;
    const openRate = context.quick
      ? { ratePerSecond: 10, maxRequests: 20, maxMs: 2_000 }
      : { ratePerSecond: 20, maxRequests: 300, maxMs: 12_000 };
    const open: Partial<Record<Path, Summary>> = {};
    const data: ScenarioResult['data'] = {};
    const errors: Record<string, number> = {};
    const measured: Record<
      string,
      {
        ttft: Summary;
        total: Summary;
        rate: number;
        serverCpu: number | null;
        upstreamCpu: number;
        clientCpu: number;
        loopP99: number | null;
      }
    > = {};

    try {
      // Warm every path (JIT, connection pools) before anything is timed.
      const warm = context.quick ? 10 : 200;
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
          const server = path === 'baseline' ? baseline : path === 'autochat' ? autochat.server : undefined;
          await server?.probe(); // resets its event-loop delay histogram
          const cpuBefore = { server: await server?.cpuMs(), upstream: await upstream.cpuMs(), client: process.cpuUsage() };
          const { results, elapsedMs } = await closedLoop(level, (worker) => {
            if (path === 'direct') return directTurn(upstream.url, MESSAGE);
            if (path === 'baseline') return baselineTurn(baseline.url, MESSAGE);
            const turn = turnsOf[worker]!++;
            const sessionId = sessions[worker * sessionsPerWorker + Math.min(sessionsPerWorker - 1, Math.floor(turn / TURNS_PER_SESSION))]!;
            return sendTurn(base, sessionId, MESSAGE);
          });
          const serverCpu = server ? (await server.cpuMs()) - cpuBefore.server! : null;
          const loop = server ? (await server.probe()).loopDelay : null;
          const upstreamCpu = (await upstream.cpuMs()) - cpuBefore.upstream;
          const clientCpu = process.cpuUsage(cpuBefore.client);
          const ok = results.filter((result) => isComplete(result, path));
          const key = `${path}.c${level.concurrency}`;
          errors[key] = results.length - ok.length;
          const perTurn = (ms: number) => ms / Math.max(1, results.length);
          measured[key] = {
            ttft: summarize(ok.map((result) => result.ttftMs!)),
            total: summarize(ok.map((result) => result.totalMs)),
            rate: ok.length / (elapsedMs / 1000),
            serverCpu: serverCpu === null ? null : perTurn(serverCpu),
            upstreamCpu: perTurn(upstreamCpu),
            clientCpu: perTurn((clientCpu.user + clientCpu.system) / 1000),
            loopP99: loop?.p99 ?? null,
          };
          data[`${key}.serverCpuMsPerTurn`] = measured[key].serverCpu;
          data[`${key}.ttft`] = measured[key].ttft;
          data[`${key}.total`] = measured[key].total;
          data[`${key}.errors`] = errors[key];
          context.log(
            `c=${level.concurrency} ${path}: n=${ok.length} ttft p50=${formatNumber(measured[key].ttft.p50)} p99=${formatNumber(measured[key].ttft.p99)} total p50=${formatNumber(measured[key].total.p50)} ms, ` +
              `cpu/turn server=${formatNumber(measured[key].serverCpu ?? 0)} upstream=${formatNumber(measured[key].upstreamCpu)} client=${formatNumber(measured[key].clientCpu)} ms, ` +
              `loop p99=${formatNumber(measured[key].loopP99 ?? 0)} ms, ${formatNumber(measured[key].rate)} turns/s, errors=${errors[key]}`,
          );
        }
      }

      // Below saturation: arrivals at a fixed rate that every path can sustain, so that the figure is
      // overhead rather than queueing.
      context.log(`open loop at ${openRate.ratePerSecond} turns/s: preparing ${openSessions} sessions`);
      const idle = await createSessions(base, openSessions);
      await inBatches(idle, 10, (sessionId) => sendTurn(base, sessionId, MESSAGE));
      for (const path of PATHS) {
        const { results } = await openLoop(openRate, async () => {
          if (path === 'direct') return directTurn(upstream.url, MESSAGE);
          if (path === 'baseline') return baselineTurn(baseline.url, MESSAGE);
          const sessionId = idle.shift() ?? (await createSession(base));
          try {
            return await sendTurn(base, sessionId, MESSAGE);
          } finally {
            idle.push(sessionId);
          }
        });
        const ok = results.filter((result) => isComplete(result, path));
        const key = `${path}.open`;
        errors[key] = results.length - ok.length;
        open[path] = summarize(ok.map((result) => result.ttftMs!));
        data[`${key}.ttft`] = open[path];
        context.log(`open loop ${path}: n=${ok.length} ttft p50=${formatNumber(open[path].p50)} p99=${formatNumber(open[path].p99)} ms`);
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
          rows.push([
            level.concurrency,
            label(path),
            own.n,
            own.mean,
            own.p50,
            own.p95,
            own.p99,
            ...(path === 'direct' ? [null, null, null] : addedCells(own, direct)),
          ]);
        }
      }
      tables.push({
        title: metric === 'ttft' ? 'Time to first token (ms)' : 'Total time of a turn (ms)',
        columns: ['concurrency', 'path', 'samples', 'mean', 'p50', 'p95', 'p99', 'added p50', 'added p95', 'added p99'],
        rows,
      });
    }

    tables.push({
      title: "CPU time per turn, by process (ms), and the server's event-loop delay",
      columns: ['concurrency', 'path', 'turns/s', 'server CPU', 'upstream CPU', 'load generator CPU', 'server event-loop delay p99'],
      rows: levels.flatMap((level) =>
        PATHS.map((path) => {
          const entry = measured[`${path}.c${level.concurrency}`]!;
          return [level.concurrency, label(path), entry.rate, entry.serverCpu, entry.upstreamCpu, entry.clientCpu, entry.loopP99];
        }),
      ),
      note:
        'CPU from /proc/<pid>/stat (10 ms ticks) over each step, divided by the turns of the step: the cost of a turn, which scheduling noise on a shared machine hardly moves — the steadiest measure of our overhead. ' +
        "Event-loop delay (perf_hooks, 10 ms resolution) is how long ready work waited for the server's loop during the step.",
    });

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
      columns: [
        'concurrency',
        'AI SDK added mean',
        'AI SDK added p50',
        'autochat added mean',
        'autochat added p50',
        'ratio (mean)',
        'ratio (p50)',
      ],
      rows: overheadRows,
    });

    const openDirect = open.direct!;
    tables.push({
      title: `Time to first token below saturation: open loop, ${openRate.ratePerSecond} turns/s (ms)`,
      columns: ['path', 'samples', 'mean', 'p50', 'p95', 'p99', 'added p50', 'added p95', 'added p99'],
      rows: PATHS.map((path) => {
        const own = open[path]!;
        return [
          label(path),
          own.n,
          own.mean,
          own.p50,
          own.p95,
          own.p99,
          ...(path === 'direct' ? [null, null, null] : addedCells(own, openDirect)),
        ];
      }),
      note: `New turns start every ${1000 / openRate.ratePerSecond} ms whatever the earlier ones are doing (independent users), a rate every path sustains on this machine; about 5 turns are in flight at a time.`,
    });
    const openOurs = difference(open.autochat!, openDirect);
    const openSdk = difference(open.baseline!, openDirect);
    data['added.open.autochat'] = openOurs;
    data['added.open.baseline'] = openSdk;

    const at50 = levels.find((level) => level.concurrency === 50);
    if (at50) {
      const ours = difference(measured['autochat.c50']!.ttft, measured['direct.c50']!.ttft);
      const sdk = difference(measured['baseline.c50']!.ttft, measured['direct.c50']!.ttft);
      targets.push(
        {
          target: 'added time to first token p50 < 1 ms at concurrency 50 (PGlite)',
          measured: `${formatNumber(ours.p50)} ms`,
          met: ours.p50 < 1,
        },
        {
          target: 'added time to first token p99 < 5 ms at concurrency 50 (PGlite)',
          measured: `${formatNumber(ours.p99)} ms`,
          met: ours.p99 < 5,
        },
        {
          target: 'added time to first token within 1.2× the bare AI SDK server (p50, concurrency 50)',
          measured: `${formatNumber(ours.p50)} vs ${formatNumber(sdk.p50)} ms (${formatNumber(ours.p50 / sdk.p50)}×)`,
          met: ours.p50 <= 1.2 * sdk.p50,
        },
      );
    }
    targets.push(
      {
        target: `(same, below saturation: open loop at ${openRate.ratePerSecond} turns/s) added time to first token p50 < 1 ms`,
        measured: `${formatNumber(openOurs.p50)} ms`,
        met: openOurs.p50 < 1,
      },
      {
        target: `(same, below saturation) added time to first token p99 < 5 ms`,
        measured: `${formatNumber(openOurs.p99)} ms`,
        met: openOurs.p99 < 5,
      },
      {
        target: '(same, below saturation) within 1.2× the bare AI SDK server (p50)',
        measured: `${formatNumber(openOurs.p50)} vs ${formatNumber(openSdk.p50)} ms (${formatNumber(openOurs.p50 / openSdk.p50)}×)`,
        met: openOurs.p50 <= 1.2 * openSdk.p50,
      },
    );

    const errorTotal = Object.values(errors).reduce((sum, count) => sum + count, 0);
    return {
      scenario: 'added-latency',
      title: 'Added latency',
      method:
        `Closed loop: each of N concurrent clients sends its next turn when the previous one ends (bounded by count and by ${levels.map((level) => level.maxMs / 1000).join(' / ')} s per step). ` +
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
  return (
    result.status === 200 && result.done && result.ttftMs !== null && result.deltas === CHUNKS && (path === 'direct' || result.finished)
  );
}

function addedCells(own: Summary, direct: Summary): Cell[] {
  const added = difference(own, direct);
  return [added.p50, added.p95, added.p99];
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
