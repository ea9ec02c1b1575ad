/**
 * One request must not freeze the server (embedded default): while heavy requests run — exports of
 * a user with 10,000 sessions, four MCP batches of 100 `find_agent` calls of 16 random words, 50
 * concurrent store searches — `/healthz` is asked every 10 ms and a new chat's first message is sent
 * one after another, and both are timed. The export's memory is read with 1,000 and with 10,000
 * sessions: streamed in batches, it should not grow with the number of sessions.
 */
import { sql } from 'drizzle-orm';
import { AgentsRepository } from '../../src/store/agents-repository.js';
import { openDatabase } from '../../src/store/database.js';
import { generateAgents } from '../../test/support/generated-agents.js';
import type { Cell, ScenarioResult, TargetCheck } from '../results.js';
import { profileArgs, type Scenario, type ScenarioContext } from '../scenario.js';
import { formatNumber, summarize, type Summary } from '../stats.js';
import { createSessions, sendTurn } from '../support/autochat-api.js';
import { sleep } from '../support/load.js';
import type { ServerProcess } from '../support/processes.js';
import { startAutochat, startUpstream, throwawayDataDir } from '../support/services.js';

const TARGET_MS = 100;
const TURN_MESSAGE = 'Hello! Which agent would you recommend for planning my week? #instant';

type Load = 'idle' | 'export' | 'mcp' | 'search' | 'searchLarge';
const LOAD_LABELS: Record<Load, string> = {
  idle: 'nothing (for reference)',
  export: 'exports of 10,000 sessions, one after another',
  mcp: '4 concurrent MCP batches of 100 find_agent calls (16 random words each)',
  search: '50 concurrent store searches (16 random words each)',
  searchLarge: '50 concurrent store searches (16 random words each), 10,000 more agents in the store',
};
/** The loads of the targets, on the embedded default (the shipped catalog), and the one beyond it. */
const LOADS: Load[] = ['idle', 'export', 'mcp', 'search'];

type Probed = { health: Summary; ttft: Summary; loadRuns: number; loadSeconds: number; failed: number; note?: string };
type ExportMemory = { sessions: number; bytes: number; seconds: number; rssGrowthMiB: number; heapGrowthMiB: number };

export const heavyRequests: Scenario = {
  name: 'heavy-requests',
  title: 'One request must not freeze the server',
  async run(context) {
    const sizes = context.quick ? [100, 500] : [1_000, 10_000];
    const moreAgents = context.quick ? 500 : 10_000;
    const loadMs = context.quick ? 1_500 : 8_000;
    const upstream = await startUpstream();
    const data = await throwawayDataDir();
    const memory: ExportMemory[] = [];
    const probed: Partial<Record<Load, Probed>> = {};
    const notes: string[] = [];
    try {
      await seed(data.dir, { sessions: sizes[0]!, agents: 0 });
      context.log(`seeded ${sizes[0]} sessions`);
      const start = () =>
        startAutochat(
          upstream.url,
          { database: 'pglite', eventLog: 'memory' },
          { env: { DATA_DIR: data.dir }, nodeArgs: profileArgs(context, 'heavy-requests-autochat') },
        );

      let autochat = await start();
      try {
        memory.push(await exportMemory(autochat.server, sizes[0]!));
      } finally {
        await autochat.close();
      }
      await seed(data.dir, { sessions: sizes[1]! - sizes[0]!, agents: 0 });
      autochat = await start();
      try {
        memory.push(await exportMemory(autochat.server, sizes[1]!));
        context.log(`export memory: ${memory.map((m) => `${m.sessions} sessions +${formatNumber(m.heapGrowthMiB)} MiB heap`).join(', ')}`);
        const random = wordsFrom(42);
        for (const load of LOADS)
          probed[load] = await probe(context, autochat.server.url, load, random, loadMs, notes, context.quick ? 10 : 100);
      } finally {
        await autochat.close();
      }
      await seed(data.dir, { sessions: 0, agents: moreAgents });
      autochat = await start();
      try {
        probed.searchLarge = await probe(context, autochat.server.url, 'searchLarge', wordsFrom(43), loadMs, notes, 100);
      } finally {
        await autochat.close();
      }
    } finally {
      await upstream.stop();
      await data.drop();
    }
    return report(sizes, memory, probed as Record<Load, Probed>, notes, moreAgents);
  },
};

async function probe(
  context: ScenarioContext,
  url: string,
  load: Load,
  random: () => string,
  loadMs: number,
  notes: string[],
  batch: number,
): Promise<Probed> {
  const runLoad: () => Promise<string | undefined> =
    load === 'idle'
      ? () => sleep(loadMs).then(() => undefined)
      : load === 'export'
        ? () => readExport(url).then(() => undefined)
        : load === 'mcp'
          ? () => mcpBatches(url, random, batch)
          : () => searches(url, random);
  // A load request that fails (the connection refused or cut) is noted, not fatal to the scenario.
  const guarded = () =>
    runLoad().catch((error: unknown) => `a load request failed: ${(error as Error).message} (${String((error as Error).cause ?? '')})`);
  const probed = await underLoad(context, url, load, guarded, loadMs);
  context.log(
    `${load}: /healthz p50 ${formatNumber(probed.health.p50)} p99 ${formatNumber(probed.health.p99)} ms; ` +
      `first token p50 ${formatNumber(probed.ttft.p50)} p99 ${formatNumber(probed.ttft.p99)} ms; ${probed.loadRuns} load runs of ${formatNumber(probed.loadSeconds)} s`,
  );
  if (probed.note) notes.push(`${LOAD_LABELS[load]}: ${probed.note}`);
  return probed;
}

/** Adds sessions (two messages and a usage row each) for the local user, and generated agents. */
async function seed(dataDir: string, counts: { sessions: number; agents: number }): Promise<void> {
  const database = await openDatabase({ dataDir });
  try {
    if (counts.sessions > 0) {
      await database.rows(sql`insert into chat_sessions (id, user_id, title)
        select gen_random_uuid(), 'local', 'Seeded chat ' || g from generate_series(1, ${counts.sessions}) g`);
      await database.rows(sql`insert into chat_messages (id, session_id, seq, role, parts)
        select 'seed-' || s.id || '-' || m, s.id, m, case when m = 0 then 'user' else 'assistant' end,
          json_build_array(json_build_object('type', 'text', 'text', repeat('A seeded message. ', 12)))::text
        from chat_sessions s cross join generate_series(0, 1) m
        where s.user_id = 'local' and not exists (select 1 from chat_messages x where x.session_id = s.id)`);
      await database.rows(sql`insert into usage_events (user_id, session_id, kind, model, prompt_tokens, completion_tokens, total_tokens)
        select 'local', s.id, 'chat', 'bench/chat', 40, 10, 50 from chat_sessions s
        where s.user_id = 'local' and not exists (select 1 from usage_events u where u.session_id = s.id)`);
    }
    if (counts.agents > 0) await new AgentsRepository(database.db).upsert(generateAgents(counts.agents));
  } finally {
    await database.close();
  }
}

/** One export read to its end; its size in bytes. */
async function readExport(url: string): Promise<number> {
  const response = await fetch(`${url}/api/me/export`, { signal: AbortSignal.timeout(600_000) });
  if (response.status !== 200) throw new Error(`export failed: HTTP ${response.status}`);
  let bytes = 0;
  const reader = response.body!.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) bytes += next.value.length;
  return bytes;
}

/** Peak memory above the server's own while one export of `sessions` sessions is read. */
async function exportMemory(server: ServerProcess, sessions: number): Promise<ExportMemory> {
  await readExport(server.url); // warm-up: code paths compiled, caches filled
  const before = await server.probe(true);
  let peakRss = before.rssKiB;
  let peakHeap = before.heapUsedKiB;
  let reading = true;
  const sampler = (async () => {
    while (reading) {
      // A server whose event loop is stopped does not answer the probe: its RSS is read from /proc.
      const now = await server.probe(false).catch(() => undefined);
      peakRss = Math.max(peakRss, now?.rssKiB ?? (await server.rssKiB()));
      if (now) peakHeap = Math.max(peakHeap, now.heapUsedKiB);
      await sleep(25);
    }
  })();
  const started = performance.now();
  const bytes = await readExport(server.url);
  const seconds = (performance.now() - started) / 1000;
  reading = false;
  await sampler;
  return {
    sessions,
    bytes,
    seconds,
    rssGrowthMiB: (peakRss - before.rssKiB) / 1024,
    heapGrowthMiB: (peakHeap - before.heapUsedKiB) / 1024,
  };
}

/** Runs `load` again and again for about `loadMs` while /healthz and new chats' first messages are timed. */
async function underLoad(
  context: ScenarioContext,
  url: string,
  load: Load,
  runLoad: () => Promise<string | undefined>,
  loadMs: number,
): Promise<Probed> {
  const sessions = await createSessions(url, Math.ceil(loadMs / 50) + 50);
  let loading = true;
  const health: number[] = [];
  const ttft: number[] = [];
  let failed = 0;
  const healthLoop = (async () => {
    while (loading) {
      const started = performance.now();
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(600_000) }).catch(() => undefined);
      if (response?.status === 200) health.push(performance.now() - started);
      else failed++;
      await response?.arrayBuffer().catch(() => undefined);
      await sleep(10);
    }
  })();
  const turnLoop = (async () => {
    while (loading && sessions.length > 0) {
      const turn = await sendTurn(url, sessions.shift()!, TURN_MESSAGE, { timeoutMs: 600_000 });
      if (turn.ttftMs !== null && turn.finished) ttft.push(turn.ttftMs);
      else failed++;
      await sleep(50);
    }
  })();
  await sleep(200); // the probes are running before the load starts
  let runs = 0;
  let note: string | undefined;
  const started = performance.now();
  do {
    note = (await runLoad()) ?? note;
    runs++;
  } while (performance.now() - started < loadMs);
  const loadSeconds = (performance.now() - started) / 1000 / runs;
  loading = false;
  await Promise.all([healthLoop, turnLoop]);
  if (health.length === 0) context.log(`${load}: no /healthz answer at all`);
  return { health: summarize(health), ttft: summarize(ttft), loadRuns: runs, loadSeconds, failed, note };
}

/** A deterministic source of query words: real words of the store's vocabulary and misspellings. */
function wordsFrom(seed: number): () => string {
  const vocabulary = generateAgents(300, { seed: 7 }).flatMap((agent) =>
    `${agent.name} ${agent.description}`
      .toLowerCase()
      .split(/[^a-z]+/)
      .filter((word) => word.length > 2),
  );
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return () =>
    Array.from({ length: 16 }, () => {
      const word = vocabulary[Math.floor(next() * vocabulary.length)]!;
      return next() < 0.3 ? `${word.slice(0, -1)}x` : word;
    }).join(' ');
}

/** Four concurrent POST /mcp, each a JSON-RPC batch of `size` (100; fewer in a quick run) find_agent calls. */
async function mcpBatches(url: string, query: () => string, size: number): Promise<string | undefined> {
  let note: string | undefined;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const calls = Array.from({ length: size }, (_, index) => ({
        jsonrpc: '2.0',
        id: index + 1,
        method: 'tools/call',
        params: { name: 'find_agent', arguments: { query: query() } },
      }));
      const response = await fetch(`${url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(calls),
        signal: AbortSignal.timeout(600_000),
      });
      const text = await response.text();
      if (response.status !== 200) {
        // A server that bounds batch sizes refuses this one; the calls then go ten at a time.
        note = `a batch of ${size} was refused (HTTP ${response.status}); the calls were sent in batches of 10`;
        for (let start = 0; start < calls.length; start += 10) {
          const part = await fetch(`${url}/mcp`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
            body: JSON.stringify(calls.slice(start, start + 10)),
            signal: AbortSignal.timeout(600_000),
          });
          await part.text();
        }
      } else if (!text.includes('"result"')) {
        note = `MCP answered without results: ${text.slice(0, 120)}`;
      }
    }),
  );
  return note;
}

/** 50 concurrent store searches. */
async function searches(url: string, query: () => string): Promise<undefined> {
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      const response = await fetch(`${url}/api/store/agents?q=${encodeURIComponent(query())}&limit=5`, {
        signal: AbortSignal.timeout(600_000),
      });
      await response.arrayBuffer();
    }),
  );
  return undefined;
}

function report(
  sizes: number[],
  memory: ExportMemory[],
  probed: Record<Load, Probed>,
  notes: string[],
  moreAgents: number,
): ScenarioResult {
  const data: ScenarioResult['data'] = {};
  const rows: Cell[][] = [];
  const targets: TargetCheck[] = [];
  for (const load of [...LOADS, 'searchLarge'] as Load[]) {
    const m = probed[load];
    rows.push([
      LOAD_LABELS[load],
      load === 'idle' ? null : m.loadSeconds,
      m.health.n,
      m.health.p50,
      m.health.p99,
      m.health.max,
      m.ttft.n,
      m.ttft.p50,
      m.ttft.p99,
      m.ttft.max,
    ]);
    data[`${load}.health`] = m.health;
    data[`${load}.ttft`] = m.ttft;
    data[`${load}.failed`] = m.failed;
    if (!LOADS.includes(load) || load === 'idle') continue;
    targets.push(
      {
        target: `/healthz p99 < ${TARGET_MS} ms during ${LOAD_LABELS[load]}`,
        measured: `${formatNumber(m.health.p99)} ms`,
        met: m.health.p99 < TARGET_MS,
      },
      {
        target: `first token of a new chat p99 < ${TARGET_MS} ms during ${LOAD_LABELS[load]}`,
        measured: `${formatNumber(m.ttft.p99)} ms`,
        met: m.ttft.p99 < TARGET_MS,
      },
    );
  }
  const [small, large] = memory;
  if (small && large) {
    const growth = large.heapGrowthMiB / Math.max(small.heapGrowthMiB, 1);
    targets.push({
      target: `export memory does not grow with the number of sessions (peak heap growth at ${sizes[1]} ≤ 2× that at ${sizes[0]})`,
      measured: `${formatNumber(small.heapGrowthMiB)} → ${formatNumber(large.heapGrowthMiB)} MiB`,
      met: growth <= 2,
    });
  }
  for (const m of memory) data[`export.${m.sessions}.heapGrowthMiB`] = m.heapGrowthMiB;
  const failed = Object.entries(probed).filter(([, m]) => m.failed > 0);
  return {
    scenario: 'heavy-requests',
    title: 'One request must not freeze the server',
    method:
      `autochat on the embedded default (PGlite on disk, in-memory event log, the shipped catalog), local mode, with ${sizes[1]} sessions of the local user (two messages and a usage row each); ` +
      `the last row adds ${moreAgents} generated agents to the store. Each load runs again and again for about 8 s while /healthz is asked every 10 ms and the first message of a new chat ` +
      '(session made beforehand; upstream answering at once) is sent one after another, 50 ms apart; both are timed at the client. ' +
      "Export memory: the server's peak resident set and V8 heap above its own (after a full GC) while one export is read, sampled every 25 ms, with the first and the second number of sessions.",
    tables: [
      {
        title: 'While each load runs: /healthz and the first token of a new chat (ms)',
        columns: [
          'load',
          'seconds per run of the load',
          '/healthz samples',
          '/healthz p50',
          '/healthz p99',
          '/healthz max',
          'turns',
          'first token p50',
          'first token p99',
          'first token max',
        ],
        rows,
      },
      {
        title: 'Memory of an export',
        columns: ['sessions', 'export size (MiB)', 'seconds', 'peak RSS growth (MiB)', 'peak V8 heap growth (MiB)'],
        rows: memory.map((m) => [m.sessions, m.bytes / 2 ** 20, m.seconds, m.rssGrowthMiB, m.heapGrowthMiB]),
      },
    ],
    targets,
    notes: [
      ...notes,
      failed.length === 0
        ? 'Every probe was answered.'
        : `Probes not answered: ${failed.map(([load, m]) => `${load} ${m.failed}`).join(', ')}.`,
    ],
    data,
  };
}
