/**
 * Growth: what one append and one load of a session cost with 10, 100, 1,000 and 10,000 messages in
 * it, on PGlite and on PostgreSQL. Measured at three levels: the repository's append (the single
 * INSERT a run uses to store a message), loading the session (`getChatSession`), and through the
 * library API (`upsertChatSession` with one new message, and a whole `streamChatCompletion` turn
 * against an upstream that answers at once).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createChatService } from '../../src/chat/chat-service.js';
import type { ChatMessage } from '../../src/chat/types.js';
import { createLogger } from '../../src/logger.js';
import { createContentCipher } from '../../src/store/content-cipher.js';
import { openDatabase } from '../../src/store/database.js';
import { SessionsRepository } from '../../src/store/sessions-repository.js';
import { say, startFakeUpstream } from '../../test/support/fake-upstream.js';
import type { Cell, ScenarioResult, TargetCheck } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { formatNumber, summarize, type Summary } from '../stats.js';
import { throwawayDatabase, throwawayDataDir } from '../support/services.js';

type Database = 'pglite' | 'postgres';
type Measures = { append: Summary; load: Summary; upsert: Summary; turn: Summary };

const USER_TEXT = 'Can you find me an agent that helps with invoices and reminds clients who pay late?';
const ASSISTANT_TEXT =
  'Here are three agents that fit. **Invoice Chaser** sends polite reminders on a schedule you choose and escalates when a client is ' +
  'very late. **Cashflow Watch** forecasts the money you are owed and flags risky clients. **Ledger Buddy** reconciles payments with ' +
  'your bank feed so you know who has paid. Would you like me to add one of them to your library?';

export const growth: Scenario = {
  name: 'growth',
  title: 'Growth with history',
  async run(context) {
    const sizes = context.quick ? [10, 100] : [10, 100, 1_000, 10_000];
    const databases: Database[] = context.services.postgres ? ['pglite', 'postgres'] : ['pglite'];
    const rows: Cell[][] = [];
    const data: ScenarioResult['data'] = {};
    const targets: TargetCheck[] = [];
    for (const database of databases) {
      const measured = await measure(context, database, sizes);
      for (const [size, m] of measured) {
        for (const [operation, summary] of Object.entries(m) as [keyof Measures, Summary][]) {
          rows.push([
            database === 'pglite' ? 'PGlite' : 'PostgreSQL',
            operationLabel[operation],
            size,
            summary.n,
            summary.mean,
            summary.p50,
            summary.p95,
            summary.p99,
          ]);
          data[`${database}.${operation}.${size}`] = summary;
        }
      }
      const smallest = measured[0]![1].append;
      const largest = measured.at(-1)![1].append;
      const growthFactor = largest.p50 / smallest.p50;
      targets.push({
        target: `append stays flat from ${sizes[0]} to ${sizes.at(-1)} messages (${database === 'pglite' ? 'PGlite' : 'PostgreSQL'}; p50 grows < 1.5×)`,
        measured: `${formatNumber(smallest.p50)} → ${formatNumber(largest.p50)} ms (${formatNumber(growthFactor)}×)`,
        met: growthFactor < 1.5,
      });
    }
    return {
      scenario: 'growth',
      title: 'Growth with session history',
      method:
        'A session is filled to each size with alternating user and assistant messages (≈100 and ≈400 characters of text) by one bulk INSERT, then: ' +
        '**append** = `SessionsRepository.append`, the one statement that stores a message (each timed append is deleted again, so the size stays exact); ' +
        '**load** = `getChatSession` (session, all messages, usage); **upsert** = `upsertChatSession` of the loaded session plus one message; ' +
        '**turn** = a whole `streamChatCompletion` against an in-process upstream that answers at once (loads the history, fits it to the context window — summarising when it is too long — streams, stores). ' +
        'Library-level figures run in the bench process.',
      tables: [
        {
          title: 'Cost by number of messages in the session (ms)',
          columns: ['database', 'operation', 'messages', 'samples', 'mean', 'p50', 'p95', 'p99'],
          rows,
        },
      ],
      targets,
      notes: context.services.postgres ? [] : ['PostgreSQL was not available: PGlite only.'],
      data,
    };
  },
};

const operationLabel: Record<keyof Measures, string> = {
  append: 'append (repository)',
  load: 'load (getChatSession)',
  upsert: 'append (upsertChatSession)',
  turn: 'turn (streamChatCompletion)',
};

const textParts = (text: string) => JSON.stringify([{ type: 'text', text }]);

async function measure(context: ScenarioContext, database: Database, sizes: number[]): Promise<[number, Measures][]> {
  const store = database === 'postgres' ? await throwawayDatabase() : undefined;
  const dir = database === 'pglite' ? await throwawayDataDir() : undefined;
  const location = { databaseUrl: store?.url, dataDir: dir?.dir ?? 'memory://' };
  const samples = context.quick ? { append: 10, load: 3, upsert: 2, turn: 1 } : { append: 200, load: 30, upsert: 10, turn: 5 };
  const sessionOf = new Map<number, string>();
  const appends = new Map<number, Summary>();
  const results: [number, Measures][] = [];
  try {
    // Repository level: fill each session, then time single appends at exactly that size.
    const db = await openDatabase(location);
    try {
      const sessions = new SessionsRepository(db.db, createContentCipher());
      for (const size of sizes) {
        const sessionId = randomUUID();
        await sessions.create(sessionId, 'bench');
        await db.rows(sql`
          insert into chat_messages (id, session_id, seq, role, parts)
          select ${sessionId}::text || '-' || g, ${sessionId}::uuid, g,
            case when g % 2 = 0 then 'user' else 'assistant' end,
            case when g % 2 = 0 then ${textParts(USER_TEXT)} else ${textParts(ASSISTANT_TEXT)} end
          from generate_series(0, ${size - 1}) as g`);
        await db.rows(sql`analyze chat_messages`);
        sessionOf.set(size, sessionId);
        const times: number[] = [];
        for (let index = 0; index < samples.append + 5; index++) {
          const message: ChatMessage = { id: `probe-${randomUUID()}`, role: 'user', parts: [{ type: 'text', text: USER_TEXT }] };
          const started = performance.now();
          await sessions.append(sessionId, message);
          if (index >= 5) times.push(performance.now() - started);
          await db.rows(sql`delete from chat_messages where id = ${message.id}`);
        }
        appends.set(size, summarize(times));
        context.log(`${database} @ ${size}: append p50 ${formatNumber(appends.get(size)!.p50)} ms`);
      }
    } finally {
      await db.close();
    }

    // Library level, on the same database.
    const upstream = await startFakeUpstream();
    upstream.setDefault(say('Sure, here is what I found for you today.'));
    const chat = await createChatService({
      env: {},
      logger: createLogger('silent'),
      ...location,
      seedCatalog: false,
      llm: { apiKey: 'bench', baseUrl: upstream.url, chatModel: 'bench/chat', titleModel: 'bench/title', maxRetries: 0 },
      limits: { requestsPerMinute: 0, dailyTokens: 0, weeklyTokens: 0 },
    });
    try {
      for (const size of sizes) {
        const sessionId = sessionOf.get(size)!;
        const time = async (count: number, operation: () => Promise<unknown>) => {
          const times: number[] = [];
          for (let index = 0; index < count; index++) {
            const started = performance.now();
            await operation();
            times.push(performance.now() - started);
            upstream.requests.splice(0);
          }
          return summarize(times);
        };
        await chat.getChatSession(sessionId);
        const load = await time(samples.load, () => chat.getChatSession(sessionId));
        const upsert = await timeReturned(samples.upsert, async () => {
          const session = (await chat.getChatSession(sessionId))!;
          session.messages.push({ id: randomUUID(), role: 'user', parts: [{ type: 'text', text: USER_TEXT }] });
          const started = performance.now();
          await chat.upsertChatSession(session);
          return performance.now() - started;
        });
        const turn = await time(samples.turn, async () => {
          for await (const event of chat.streamChatCompletion(sessionId, USER_TEXT, { userId: 'bench' })) void event;
        });
        results.push([size, { append: appends.get(size)!, load, upsert, turn }]);
        context.log(
          `${database} @ ${size}: load p50 ${formatNumber(load.p50)} ms, upsert p50 ${formatNumber(upsert.p50)} ms, turn p50 ${formatNumber(turn.p50)} ms`,
        );
      }
    } finally {
      await chat.close();
      await upstream.close();
    }
  } finally {
    await store?.drop();
    await dir?.drop();
  }
  return results;
}

/** Like timing a call, but the operation reports its own duration (to leave its set-up out). */
async function timeReturned(count: number, operation: () => Promise<number>): Promise<Summary> {
  const times: number[] = [];
  for (let index = 0; index < count; index++) times.push(await operation());
  return summarize(times);
}
