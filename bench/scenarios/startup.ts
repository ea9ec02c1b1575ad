/**
 * Start-up, as a user meets it with the built bin (`node dist/cli.js`, what `npm start` and `npx
 * autochat` run): `autochat serve` on a new DATA_DIR and on an existing one, timed from the process's
 * start to the first `/healthz` 200; `autochat store import` of 40 agents into a new DATA_DIR, timed
 * to its exit; and the server's resident memory at rest, just started and after 100 turns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAgents } from '../../test/support/generated-agents.js';
import { builtFromInputs } from '../../scripts/prepare.mjs';
import type { Cell, ScenarioResult, TargetCheck } from '../results.js';
import { profileArgs, type Scenario } from '../scenario.js';
import { formatNumber, summarize, type Summary } from '../stats.js';
import { createSessions, sendTurn } from '../support/autochat-api.js';
import { inBatches, sleep } from '../support/load.js';
import { rssKiBOf } from '../support/processes.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const TARGETS = { fresh: 1500, existing: 1000, import: 2000 };

type Serving = { child: ChildProcess; url: string; readyMs: number; stop(): Promise<void> };

const environment = (dataDir: string) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  DATA_DIR: dataDir,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
});

/** `autochat serve` until /healthz answers 200. */
async function serve(dataDir: string, nodeArgs: string[] = []): Promise<Serving> {
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve'], { env: environment(dataDir), stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`autochat serve did not start: ${stderr}`)), 120_000);
    child.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
      const found = /listening on (http:\/\/[^\s]+)/.exec(stderr)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => reject(new Error(`autochat serve exited with ${code}: ${stderr}`)));
  });
  for (;;) {
    const response = await fetch(`${url}/healthz`).catch(() => undefined);
    if (response?.status === 200) break;
    await sleep(5);
  }
  const readyMs = performance.now() - started;
  return {
    child,
    url,
    readyMs,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `autochat store import FILE` to its exit. */
async function importAgents(dataDir: string, file: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'store', 'import', file], { env: environment(dataDir), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => void (stderr += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`autochat store import exited with ${code}: ${stderr}`);
  return performance.now() - started;
}

export const startup: Scenario = {
  name: 'startup',
  title: 'Start-up and import',
  async run(context) {
    const repeats = context.quick ? 1 : 7;
    const root = await mkdtemp(join(tmpdir(), 'autochat-startup-'));
    const times = { fresh: [] as number[], existing: [] as number[], import: [] as number[] };
    let rest: { startedKiB: number; afterTurnsKiB: number } | undefined;
    try {
      const file = join(root, 'agents.json');
      await writeFile(file, JSON.stringify(generateAgents(40, { seed: 3 })));
      for (let index = 0; index < repeats; index++) {
        const dataDir = join(root, `serve-${index}`);
        const fresh = await serve(dataDir, profileArgs(context, 'startup-fresh'));
        times.fresh.push(fresh.readyMs);
        await fresh.stop();
        const existing = await serve(dataDir);
        times.existing.push(existing.readyMs);
        if (index === repeats - 1) {
          // At rest: just started (and idle for a moment), then after 100 turns of the offline demo model.
          await sleep(context.quick ? 200 : 2000);
          const startedKiB = await rssKiBOf(existing.child.pid!);
          const sessions = await createSessions(existing.url, context.quick ? 10 : 100);
          await inBatches(sessions, 10, (sessionId) => sendTurn(existing.url, sessionId, 'Hello there'));
          await sleep(context.quick ? 200 : 3000);
          rest = { startedKiB, afterTurnsKiB: await rssKiBOf(existing.child.pid!) };
        }
        await existing.stop();
        times.import.push(await importAgents(join(root, `import-${index}`), file));
        context.log(
          `run ${index + 1}: fresh ${formatNumber(times.fresh.at(-1)!)} ms, existing ${formatNumber(times.existing.at(-1)!)} ms, import ${formatNumber(times.import.at(-1)!)} ms`,
        );
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }

    const summaries: Record<keyof typeof times, Summary> = {
      fresh: summarize(times.fresh),
      existing: summarize(times.existing),
      import: summarize(times.import),
    };
    const labels: Record<keyof typeof times, string> = {
      fresh: '`autochat serve`, new DATA_DIR → /healthz 200',
      existing: '`autochat serve`, existing DATA_DIR → /healthz 200',
      import: '`autochat store import` of 40 agents, new DATA_DIR → exit',
    };
    const rows: Cell[][] = (Object.keys(times) as (keyof typeof times)[]).map((key) => [
      labels[key],
      summaries[key].n,
      summaries[key].min,
      summaries[key].p50,
      summaries[key].max,
    ]);
    const targets: TargetCheck[] = (Object.keys(times) as (keyof typeof times)[]).map((key) => ({
      target: `${labels[key]} in < ${TARGETS[key] / 1000} s (median, quiet machine)`,
      measured: `${formatNumber(summaries[key].p50)} ms (${formatNumber(summaries[key].min)}–${formatNumber(summaries[key].max)})`,
      met: summaries[key].p50 < TARGETS[key],
    }));
    const data: ScenarioResult['data'] = { fresh: summaries.fresh, existing: summaries.existing, import: summaries.import };
    if (rest) {
      data.rssAtRestKiB = rest.startedKiB;
      data.rssAfterTurnsKiB = rest.afterTurnsKiB;
    }
    const current = builtFromInputs();
    return {
      scenario: 'startup',
      title: 'Start-up and import',
      method:
        `The built bin (\`node dist/cli.js\`), ${repeats} times each, one after another: \`serve\` on a new DATA_DIR (embedded PGlite, offline demo model) until /healthz answers 200, ` +
        'then again on that directory, then `store import` of a file of 40 agents into another new DATA_DIR, timed to its exit. The resident memory at rest is that of the last server, ' +
        '2 s after it started, and 3 s after 100 turns (10 at a time).',
      tables: [
        { title: 'Start-up (ms)', columns: ['what', 'runs', 'fastest', 'median', 'slowest'], rows },
        ...(rest
          ? [
              {
                title: 'Resident memory of the server at rest (embedded default)',
                columns: ['when', 'RSS (MiB)'],
                rows: [
                  ['just started', rest.startedKiB / 1024],
                  ['after 100 turns', rest.afterTurnsKiB / 1024],
                ] as Cell[][],
              },
            ]
          : []),
      ],
      targets,
      notes: current
        ? []
        : ['dist/ was not built from the sources of this commit (run `npm run build` first): these figures are of an older build.'],
      data,
    };
  },
};
