import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The slow tier: tests that take the longest (measured: each well above the default tier's files,
 * most of them 30 s to 5 min on a loaded 2-core machine) because they start processes, throwaway
 * servers or a browser, or create data at scale. `npm test` runs everything else; `npm run test:slow`
 * runs these; `npm run test:all` runs both. See docs/architecture.md, "Tests".
 */
export const slowTests = [
  // Scale and load: 100k generated agents, thousands of sessions, concurrent budgets, fuzzing.
  'test/search-scale.test.ts',
  'test/session-paging.test.ts',
  'test/user-export.test.ts',
  'test/budget-admission.test.ts',
  'test/robustness.test.ts',
  // Real processes: the terminal client in tmux, MCP servers, `serve`, DATA_DIR locks, key checks at start, the package,
  // the README's library example run as a program.
  'test/cli-chat.test.ts',
  'test/library-snippet.test.ts',
  // `autochat store import` in a process per case (tsx and an embedded database each): 10–35 s a case on a loaded machine.
  'test/cli-store-import.test.ts',
  // Two instances (PostgreSQL + Redis) or a real terminal: executions and approvals across processes,
  // the drain of a stopping server, and the terminal clients of both.
  'test/drain.test.ts',
  // A single embedded instance killed with -9 and restarted: two processes opening PGlite from disk.
  'test/embedded-crash.test.ts',
  'test/execution-instances.test.ts',
  'test/tool-approvals-instances.test.ts',
  'test/cli-run.test.ts',
  'test/cli-reattach.test.ts',
  'test/cli-tool-approvals.test.ts',
  'test/mcp.test.ts',
  'test/serve.test.ts',
  'test/data-dir-lock.test.ts',
  'test/encryption-keys.test.ts',
  'test/packaging.test.ts',
  'src/store/embedded-snapshot.test.ts',
  // HTTPS and HTTP/2 with generated certificates.
  'test/https.test.ts',
  // Fault tests with throwaway PostgreSQL and Redis servers, and the rolling deploy behind HAProxy.
  'test/faults/**/*.test.ts',
  'test/deploy/**/*.test.ts',
  // Chromium.
  'test/browser/**/*.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // The JSON report lets CI print a one-line summary (and keep the details as an artefact). Each
    // tier's script names its own file (`--outputFile.json=…`), so running one keeps the other's.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        extends: true,
        test: { name: 'default', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...slowTests] },
      },
      { extends: true, test: { name: 'slow', include: slowTests } },
    ],
  },
});
