import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // The JSON report lets CI print a one-line summary (and keep the details as an artefact).
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
