/**
 * `npm run bench`: runs the benchmark scenarios one after another, writes each one's figures to
 * bench/results/<scenario>.json and renders BENCHMARKS.md from them.
 *
 *   --quick          every scenario briefly, to check the scripts still work (CI); no timing
 *                    assertions; results go to bench/results/quick/ and BENCHMARKS.md is left alone
 *   --only <names>   comma-separated scenario names (first-message, added-latency, throughput, memory, growth, search, resume, heavy-requests, startup)
 *   --profile        autochat server processes write CPU profiles to bench/results/profiles/
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderReport } from './report.js';
import { commit, currentLoad, machine, writeResult } from './results.js';
import type { Scenario } from './scenario.js';
import { addedLatency } from './scenarios/added-latency.js';
import { firstMessage } from './scenarios/first-message.js';
import { growth } from './scenarios/growth.js';
import { heavyRequests } from './scenarios/heavy-requests.js';
import { memory } from './scenarios/memory.js';
import { resume } from './scenarios/resume.js';
import { search } from './scenarios/search.js';
import { startup } from './scenarios/startup.js';
import { throughput } from './scenarios/throughput.js';
import { probeServices } from './support/services.js';

const SCENARIOS: Scenario[] = [firstMessage, addedLatency, throughput, memory, growth, search, resume, heavyRequests, startup];
/** Whole-run ceilings: a scenario that overruns them is a bug in the bench, not a result. */
const LIMIT_MS = { full: 15 * 60_000, quick: 4 * 60_000 };

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, profile: { type: 'boolean', default: false } },
});
const quick = values.quick ?? false;
const only = values.only
  ?.split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const unknown = only?.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`Unknown scenario(s): ${unknown.join(', ')}. Known: ${SCENARIOS.map((scenario) => scenario.name).join(', ')}.`);
  process.exit(2);
}
const selected = only ? SCENARIOS.filter((scenario) => only.includes(scenario.name)) : SCENARIOS;

const resultsDir = fileURLToPath(new URL(quick ? './results/quick/' : './results/', import.meta.url));
const profileDir = values.profile ? fileURLToPath(new URL('./results/profiles/', import.meta.url)) : undefined;
if (profileDir) await mkdir(profileDir, { recursive: true });

const started = performance.now();
const limit = quick ? LIMIT_MS.quick : LIMIT_MS.full;
const watchdog = setTimeout(() => {
  console.error(`The benchmark overran its ${limit / 60_000} min limit; stopping.`);
  process.exit(3);
}, limit + 60_000);
watchdog.unref();

const services = await probeServices();
const log = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
log(
  `${quick ? 'quick' : 'full'} run of ${selected.map((scenario) => scenario.name).join(', ')}; PostgreSQL ${services.postgres ? 'available' : 'NOT available'}, Redis ${services.redis ? 'available' : 'NOT available'}`,
);

let failed = 0;
for (const scenario of selected) {
  const scenarioStarted = performance.now();
  const loadBefore = currentLoad();
  log(`▶ ${scenario.name}`);
  try {
    const result = await scenario.run({ quick, profileDir, services, log: (message) => log(`  ${scenario.name}: ${message}`) });
    const durationSeconds = Math.round((performance.now() - scenarioStarted) / 100) / 10;
    const file = await writeResult(resultsDir, {
      ...result,
      date: new Date().toISOString(),
      machine: machine(),
      commit: commit(),
      quick,
      durationSeconds,
      loadAverage: { before: loadBefore, after: currentLoad() },
    });
    log(`✔ ${scenario.name} in ${durationSeconds} s → ${file}`);
  } catch (error) {
    failed++;
    log(`✘ ${scenario.name} failed: ${(error as Error).stack ?? String(error)}`);
  }
}

if (!quick && failed === 0) {
  const report = await renderReport();
  log(`BENCHMARKS.md written (${report})`);
}
log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s${failed ? `, ${failed} scenario(s) failed` : ''}`);
process.exit(failed > 0 ? 1 : 0);
