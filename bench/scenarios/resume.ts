/**
 * Resume: a client reading a running answer goes away and reconnects (`GET …/stream`); how long from
 * the reconnect request to the first replayed event, and to the first replayed text token — on the
 * same instance, and on another instance that shares PostgreSQL and Redis with the run's owner.
 */
import type { Cell, ScenarioResult } from '../results.js';
import { profileArgs, type Scenario } from '../scenario.js';
import { formatNumber, summarize } from '../stats.js';
import { createSessions, reconnect, sendTurn, stopRun } from '../support/autochat-api.js';
import { sleep } from '../support/load.js';
import { setupName, startAutochat, startUpstream, type AutochatSetup, type AutochatTarget } from '../support/services.js';

type Case = { name: string; setup: AutochatSetup; otherInstance: boolean };

export const resume: Scenario = {
  name: 'resume',
  title: 'Resume',
  async run(context) {
    const samples = context.quick ? 10 : 100;
    const cases: Case[] = [
      { name: 'same instance', setup: { database: 'pglite', eventLog: 'memory' }, otherInstance: false },
      { name: 'same instance', setup: { database: 'postgres', eventLog: 'redis' }, otherInstance: false },
      { name: 'other instance', setup: { database: 'postgres', eventLog: 'redis' }, otherInstance: true },
    ];
    const rows: Cell[][] = [];
    const notes: string[] = [];
    const data: ScenarioResult['data'] = {};
    const upstream = await startUpstream();
    try {
      for (const entry of cases) {
        const label = `${entry.name}, ${setupName(entry.setup)}`;
        if (
          (entry.setup.database === 'postgres' && !context.services.postgres) ||
          (entry.setup.eventLog === 'redis' && !context.services.redis)
        ) {
          notes.push(`${label}: skipped, the service is not available on this machine.`);
          continue;
        }
        const tag = `resume-${entry.otherInstance ? 'other' : 'same'}-${entry.setup.database}-${entry.setup.eventLog}`;
        const owner = await startAutochat(upstream.url, entry.setup, { nodeArgs: profileArgs(context, `${tag}-owner`) });
        const targets: AutochatTarget[] = [owner];
        try {
          const reader = entry.otherInstance
            ? await startAutochat(upstream.url, entry.setup, {
                shared: { databaseUrl: owner.databaseUrl! },
                nodeArgs: profileArgs(context, `${tag}-reader`),
              })
            : owner;
          if (reader !== owner) targets.push(reader);
          const sessions = await createSessions(owner.server.url, samples + 5);
          const firstEvent: number[] = [];
          const firstToken: number[] = [];
          let failures = 0;
          for (const [index, sessionId] of sessions.entries()) {
            // Read the answer until its first token, then go away; the run goes on without us.
            const first = await sendTurn(owner.server.url, sessionId, '#long tell me a long story', { until: 'first-delta' });
            if (first.ttftMs === null) {
              failures++;
              continue;
            }
            const again = await reconnect(reader.server.url, sessionId, 'first-delta');
            if (again.status === 200 && again.firstEventMs !== null && again.ttftMs !== null) {
              if (index >= 5) {
                firstEvent.push(again.firstEventMs);
                firstToken.push(again.ttftMs);
              }
            } else failures++;
            await stopRun(owner.server.url, sessionId);
            await sleep(10);
          }
          const event = summarize(firstEvent);
          const token = summarize(firstToken);
          const key = `${entry.otherInstance ? 'other' : 'same'}.${entry.setup.database}.${entry.setup.eventLog}`;
          data[`${key}.firstEvent`] = event;
          data[`${key}.firstToken`] = token;
          rows.push([label, event.n, event.mean, event.p50, event.p95, event.p99, token.p50, token.p99]);
          if (failures > 0) notes.push(`${label}: ${failures} reconnects failed.`);
          context.log(`${label}: first event p50 ${formatNumber(event.p50)} ms, p99 ${formatNumber(event.p99)} ms`);
        } finally {
          for (const target of targets.reverse()) await target.close();
        }
      }
    } finally {
      await upstream.stop();
    }
    return {
      scenario: 'resume',
      title: 'Resume after a reconnect',
      method:
        'One at a time: a client starts a turn (an answer that takes ≈3 s), reads until the first token, disconnects; then `GET /api/chat/sessions/{id}/stream` is sent — to the same instance, ' +
        'or to a second instance sharing the PostgreSQL database and Redis — and timed from sending the request to the first replayed event (`start`) and to the first replayed text token. ' +
        'The run is then stopped. The first 5 reconnects of each case are warm-up.',
      tables: [
        {
          title: 'Reconnect → first replayed event (ms)',
          columns: ['case', 'samples', 'mean', 'p50', 'p95', 'p99', 'first token p50', 'first token p99'],
          rows,
        },
      ],
      targets: [],
      notes,
      data,
    };
  },
};
