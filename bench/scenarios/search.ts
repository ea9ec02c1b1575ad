/**
 * Search: latency of the `find_agent` tool (the function the model calls, through the library's tool
 * set) with 1,000, 10,000 and 100,000 agents in the store, on PGlite and on PostgreSQL. The catalog
 * grows in place: the shipped agents plus deterministic generated ones, imported with
 * `chat.agents.upsert` in batches.
 */
import { createChatService } from '../../src/chat/chat-service.js';
import { createLogger } from '../../src/logger.js';
import { createToolSet } from '../../src/tools/tool-set.js';
import type { Cell, ScenarioResult } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { formatNumber, summarize, type Summary } from '../stats.js';
import { generateAgents } from '../../test/support/generated-agents.js';
import { throwawayDatabase, throwawayDataDir } from '../support/services.js';

/** Typos, several words, one word, a category, and one that matches nothing. */
const QUERIES = [
  'moneny printing agent',
  'youtub scrpt writer',
  'invoice chaser',
  'help me plan my weekly budget',
  'resume',
  'marketing',
  'smart podcast summarizer',
  'someone to track my workouts and diet',
  'pasive incom',
  'translate my essay',
  'zzqx unmatched words',
  'code review helper',
];

type Database = 'pglite' | 'postgres';

export const search: Scenario = {
  name: 'search',
  title: 'Agent search',
  async run(context) {
    const sizes = context.quick ? [1_000] : [1_000, 10_000, 100_000];
    const databases: Database[] = context.services.postgres ? ['pglite', 'postgres'] : ['pglite'];
    const rows: Cell[][] = [];
    const data: ScenarioResult['data'] = {};
    const importRows: Cell[][] = [];
    const perQuery = new Map<string, Partial<Record<Database, number>>>();
    for (const database of databases) {
      const measured = await measure(context, database, sizes, importRows, (query, p50) => {
        perQuery.set(query, { ...perQuery.get(query), [database]: p50 });
      });
      for (const [size, summary] of measured) {
        rows.push([
          database === 'pglite' ? 'PGlite' : 'PostgreSQL',
          size,
          summary.n,
          summary.mean,
          summary.p50,
          summary.p95,
          summary.p99,
          summary.max,
        ]);
        data[`${database}.${size}`] = summary;
      }
    }
    const notes = context.services.postgres ? [] : ['PostgreSQL was not available: PGlite only.'];
    return {
      scenario: 'search',
      title: 'Agent search (find_agent)',
      method:
        `Each query of a fixed set of ${QUERIES.length} (typos, phrases, single words, a category, one with no match) is run through the find_agent tool in turn, after one untimed pass, ` +
        'with the library service in the bench process (no HTTP). Agents: the shipped catalog plus deterministic generated ones.',
      tables: [
        { title: 'find_agent latency (ms)', columns: ['database', 'agents', 'samples', 'mean', 'p50', 'p95', 'p99', 'max'], rows },
        {
          title: `find_agent p50 by query at ${sizes.at(-1)!.toLocaleString('en-US')} agents (ms)`,
          columns: ['query', ...databases.map((database) => (database === 'pglite' ? 'PGlite' : 'PostgreSQL'))],
          rows: QUERIES.map((query) => [`\`${query}\``, ...databases.map((database) => perQuery.get(query)?.[database] ?? null)]),
        },
        {
          title: 'Importing the catalog (chat.agents.upsert, batches of 500)',
          columns: ['database', 'agents added', 'seconds', 'agents/s'],
          rows: importRows,
        },
      ],
      targets: [],
      notes,
      data,
    };
  },
};

async function measure(
  context: ScenarioContext,
  database: Database,
  sizes: number[],
  importRows: Cell[][],
  onLargest: (query: string, p50: number) => void,
): Promise<[number, Summary][]> {
  const store = database === 'postgres' ? await throwawayDatabase() : undefined;
  const dir = database === 'pglite' ? await throwawayDataDir() : undefined;
  const chat = await createChatService({
    env: {},
    logger: createLogger('silent'),
    databaseUrl: store?.url,
    dataDir: dir?.dir ?? 'memory://',
    limits: { requestsPerMinute: 0, dailyTokens: 0, weeklyTokens: 0 },
  });
  const results: [number, Summary][] = [];
  try {
    const findAgent = createToolSet({ agents: chat.agents, userId: 'bench' }).find_agent!;
    const run = async (query: string) => {
      await findAgent.execute!({ query }, { toolCallId: 'bench', messages: [] });
    };
    let count = await chat.agents.count();
    for (const size of sizes) {
      const started = performance.now();
      const added = size - count;
      // Generated in slices so that 100,000 agents never sit in memory at once.
      for (let from = count; from < size; from += 5_000)
        await chat.agents.upsert(generateAgents(Math.min(size, from + 5_000) - from, { start: from }));
      const seconds = (performance.now() - started) / 1000;
      count = await chat.agents.count();
      importRows.push([database === 'pglite' ? 'PGlite' : 'PostgreSQL', added, seconds, added / seconds]);
      context.log(`${database}: ${count} agents (imported ${added} in ${formatNumber(seconds)} s)`);

      // One untimed pass (bounded), then timed passes over the whole query set until the time is up.
      const budgetMs = context.quick ? 2_000 : size >= 100_000 ? 10_000 : 5_000;
      const warmDeadline = performance.now() + budgetMs / 4;
      for (const query of QUERIES) if (performance.now() < warmDeadline) await run(query);
      const samples: number[] = [];
      const byQuery = new Map<string, number[]>();
      const deadline = performance.now() + budgetMs;
      const rounds = context.quick ? 2 : 20;
      for (let round = 0; round < rounds && performance.now() < deadline; round++) {
        for (const query of QUERIES) {
          const queryStarted = performance.now();
          await run(query);
          const ms = performance.now() - queryStarted;
          samples.push(ms);
          byQuery.set(query, [...(byQuery.get(query) ?? []), ms]);
        }
      }
      const summary = summarize(samples);
      if (size === sizes.at(-1)) for (const [query, times] of byQuery) onLargest(query, summarize(times).p50);
      results.push([count, summary]);
      context.log(`${database} @ ${count}: p50 ${formatNumber(summary.p50)} ms, p99 ${formatNumber(summary.p99)} ms`);
    }
  } finally {
    await chat.close();
    await store?.drop();
    await dir?.drop();
  }
  return results;
}
