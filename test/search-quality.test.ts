/**
 * How well the agent store's one ranking function finds what people ask for: every query of
 * test/fixtures/search-queries.json (typos, paraphrases, categories, other languages, exact names)
 * runs through `AgentsRepository.search(query, 5)` over the shipped catalog, on PGlite and on
 * PostgreSQL when TEST_DATABASE_URL is set. Prints recall@1/3/5 and MRR per kind, lists the misses,
 * and checks that the store API and the `find_agent` tool rank alike.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import type { AgentMatch } from '../src/store/agents-repository.js';
import { findAgent } from '../src/tools/find-agent.js';
import { databaseTargets } from './support/databases.js';
import { startTestServer } from './support/test-service.js';

type QueryCase = { query: string; expected: string[]; kind: string };
type Outcome = QueryCase & { found: string[]; rank: number | undefined };
type Metrics = { queries: number; recallAt1: number; recallAt3: number; recallAt5: number; mrr: number; anyAt3: number };

const cases = JSON.parse(await readFile(new URL('./fixtures/search-queries.json', import.meta.url), 'utf8')) as QueryCase[];

/**
 * A query is a hit at k when its FIRST expected slug (the best answer) is within the top k; MRR uses
 * that slug's rank too (0 when it is not in the top 5). `anyAt3` is looser: any expected slug in the top 3.
 */
function metricsOf(outcomes: Outcome[]): Metrics {
  const share = (test: (outcome: Outcome) => boolean) => outcomes.filter(test).length / outcomes.length;
  return {
    queries: outcomes.length,
    recallAt1: share((outcome) => outcome.rank === 1),
    recallAt3: share((outcome) => outcome.rank !== undefined && outcome.rank <= 3),
    recallAt5: share((outcome) => outcome.rank !== undefined && outcome.rank <= 5),
    mrr: outcomes.reduce((sum, outcome) => sum + (outcome.rank ? 1 / outcome.rank : 0), 0) / outcomes.length,
    anyAt3: share((outcome) => outcome.found.slice(0, 3).some((slug) => outcome.expected.includes(slug))),
  };
}

function report(database: string, outcomes: Outcome[]): string {
  const kinds = [...new Set(outcomes.map((outcome) => outcome.kind))];
  const rows = [
    ...kinds.map((kind) => [kind, metricsOf(outcomes.filter((outcome) => outcome.kind === kind))] as const),
    ['overall', metricsOf(outcomes)] as const,
  ];
  const cell = (value: number) => value.toFixed(3).padStart(6);
  const lines = [
    `search quality on ${database} (hit = first expected slug within top k)`,
    'kind        queries    R@1    R@3    R@5    MRR  any@3',
    ...rows.map(
      ([kind, m]) =>
        `${kind.padEnd(11)} ${String(m.queries).padStart(7)} ${cell(m.recallAt1)} ${cell(m.recallAt3)} ${cell(m.recallAt5)} ${cell(m.mrr)} ${cell(m.anyAt3)}`,
    ),
  ];
  const misses = outcomes.filter((outcome) => outcome.rank !== 1);
  lines.push(misses.length ? `not first (${misses.length}):` : 'every first expected slug ranked first');
  for (const miss of misses) {
    lines.push(
      `  [${miss.kind}] "${miss.query}": want ${miss.expected[0]} — ${miss.rank ? `rank ${miss.rank}` : 'not in top 5'}; got ${miss.found.join(', ')}`,
    );
  }
  return lines.join('\n');
}

describe.each(databaseTargets)('search quality on $name', (target) => {
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;

  beforeAll(async () => {
    database = await target.create();
    server = await startTestServer({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('finds the expected agents for the fixture queries (recall@3 ≥ 0.9)', async () => {
    const outcomes: Outcome[] = [];
    for (const queryCase of cases) {
      const found = (await server.chat.agents.search(queryCase.query, 5)).map((match) => match.slug);
      const index = found.indexOf(queryCase.expected[0]!);
      outcomes.push({ ...queryCase, found, rank: index >= 0 ? index + 1 : undefined });
    }
    console.log(report(target.name, outcomes));
    expect(outcomes).toHaveLength(66);
    expect(metricsOf(outcomes).recallAt3).toBeGreaterThanOrEqual(0.9);
  });

  it("ranks money-printing-agent first for 'moneny printing agent'", async () => {
    const [first] = await server.chat.agents.search('moneny printing agent', 5);
    expect(first?.slug).toBe('money-printing-agent');
  });

  it('follows an agent whose text changes: found by its new words, typos included, not by its old ones', async () => {
    const agent = {
      slug: 'zoo-keeper-rota',
      name: 'Zoo Keeper Rota',
      subHeading: 'Shifts for the people who feed the animals',
      description: 'Plans feeding rounds for the quokka enclosure.',
      creator: 'tests',
      categories: ['productivity'],
      runs: 10,
      rating: 4,
    };
    await server.chat.agents.upsert([agent]);
    expect((await server.chat.agents.search('quokka', 5)).map((match) => match.slug)).toEqual(['zoo-keeper-rota']);
    await server.chat.agents.upsert([{ ...agent, description: 'Plans feeding rounds for the wombat burrow.' }]);
    expect((await server.chat.agents.search('quokka', 5)).map((match) => match.slug)).not.toContain('zoo-keeper-rota');
    expect((await server.chat.agents.search('wombatt feeding', 5))[0]?.slug).toBe('zoo-keeper-rota');
  });

  it('gives the store API and the find_agent tool the same order', async () => {
    const execute = findAgent({ agents: server.chat.agents, userId: 'local' }).execute!;
    for (const query of ['moneny printing agent', 'marketing', 'help me write cold emails to prospects', 'rechnung', 'Invoice Chaser']) {
      const response = await server.app.request(`/api/store/agents?q=${encodeURIComponent(query)}&limit=5`);
      expect(response.status).toBe(200);
      const fromApi = ((await response.json()) as { agents: AgentMatch[] }).agents;
      const fromTool = (await execute({ query }, { toolCallId: 'search-quality', messages: [] })) as {
        agents: AgentMatch[];
        query: string;
      };
      expect(fromApi.length).toBeGreaterThan(0);
      expect(fromApi.map((agent) => agent.slug)).toEqual(fromTool.agents.map((agent) => agent.slug));
      expect(fromApi.map((agent) => agent.score)).toEqual(fromTool.agents.map((agent) => agent.score));
    }
  });
});
