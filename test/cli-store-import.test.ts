/**
 * `autochat store import` as its own process, against a fresh data directory: a file of listings
 * with valid and broken entries, and a file of the shipped agents with broken runnable definitions —
 * each broken entry is named by index, slug and reason (or path) and the rest is imported; a file
 * that is not JSON, or not an array, is refused — on PGlite and on PostgreSQL when TEST_DATABASE_URL
 * is set. In the slow tier: every case starts the command (tsx and an embedded database) in a process.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createChatService } from '../src/chat/chat-service.js';
import type { Agent } from '../src/store/agents-repository.js';
import { SHIPPED_CATALOG } from '../src/store/shipped-catalog.js';
import { runCli } from './support/cli-process.js';
import { databaseTargets } from './support/databases.js';
import { testOptions } from './support/test-service.js';

const catalog = JSON.parse(await readFile(SHIPPED_CATALOG, 'utf8')) as Agent[];
const shipped = catalog as unknown as Record<string, unknown>[];

describe('autochat store import', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const newDataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'autochat-import-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };

  const runImport = (file: string, dataDir: string) =>
    runCli(['store', 'import', file], { env: { DATA_DIR: dataDir, LOG_LEVEL: 'silent' } });

  const valid: Agent[] = [
    {
      slug: 'garden-pest-identifier',
      name: 'Garden Pest Identifier',
      subHeading: 'Name the bug eating your tomatoes and stop it',
      description: 'Upload a photo of a damaged leaf and it identifies the garden pest, then suggests organic treatments.',
      creator: 'greenthumb',
      categories: ['personal'],
      runs: 1200,
      rating: 4.3,
    },
    {
      slug: 'wine-pairing-sommelier',
      name: 'Wine Pairing Sommelier',
      subHeading: 'The right bottle for tonight’s dinner',
      description: 'Tell it what you are cooking and your budget, and it recommends wines that pair well.',
      creator: 'cellarmind',
      categories: ['personal'],
      runs: 800,
      rating: 4.5,
    },
  ];

  it('imports the valid entries, names each invalid one by index and reason, and exits 1', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const file = join(dataDir, 'agents.json');
    const { name: _name, ...nameless } = { ...valid[0]!, slug: 'nameless-agent' };
    const entries = [valid[0], nameless, { ...valid[1], slug: 'Bad Slug!' }, valid[1], { ...valid[0], slug: 'too-good-agent', rating: 9 }];
    await writeFile(file, JSON.stringify(entries));

    const result = await runImport(file, dataDir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('Imported 2 agent(s)');
    expect(result.stderr).toMatch(/entry 1 \(nameless-agent\): .*name/);
    expect(result.stderr).toMatch(/entry 2 \(Bad Slug!\): .*slug/);
    expect(result.stderr).toMatch(/entry 4 \(too-good-agent\): .*rating/);
    expect(result.stderr).not.toMatch(/entry [03]\b/);

    const chat = await createChatService(testOptions({ dataDir }));
    try {
      expect((await chat.agents.search('gardn pest identifer', 5))[0]?.slug).toBe('garden-pest-identifier');
      expect((await chat.agents.search('wine pairing', 5))[0]?.slug).toBe('wine-pairing-sommelier');
      expect(await chat.agents.get('nameless-agent')).toBeUndefined();
      expect(await chat.agents.get('too-good-agent')).toBeUndefined();
      expect(await chat.agents.count()).toBe(catalog.length + 2);
    } finally {
      await chat.close();
    }
  });

  it('refuses a file that is not JSON, or not an array, with a clear message and exit 1', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const notJson = join(dataDir, 'broken.json');
    await writeFile(notJson, '{"slug": "half-an-agent",');
    const broken = await runImport(notJson, dataDir);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/not valid JSON/);
    expect(broken.stdout).not.toContain('Imported');

    const notArray = join(dataDir, 'object.json');
    await writeFile(notArray, JSON.stringify({ agents: valid }));
    const object = await runImport(notArray, dataDir);
    expect(object.code).toBe(1);
    expect(object.stderr).toMatch(/must hold a JSON array of agents/);
    expect(object.stdout).not.toContain('Imported');

    const missing = await runImport(join(dataDir, 'missing.json'), dataDir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file/);
  });
});

describe.each(databaseTargets)('autochat store import of agent definitions on $name', (target) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const runImport = (file: string, env: Record<string, string>) =>
    runCli(['store', 'import', file], { env: { LOG_LEVEL: 'silent', ...env } });

  it('imports the shipped agents and a new runnable one, and names each broken definition by index, slug and path', {
    timeout: 180_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'autochat-definitions-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const database = await target.create();
    cleanups.push(() => database.drop());
    const env = { DATA_DIR: dir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };

    const listing = { name: 'Garden Pest Identifier', creator: 'greenthumb', categories: ['personal'], runs: 10, rating: 4 };
    const runnable = {
      instructions: 'Identify the pest from the description.\n\nOutput:\n1. Pest — its name.\n2. Treatment — organic options.',
      inputs: {
        type: 'object',
        properties: { damage: { type: 'string', title: 'Damage', description: 'What the leaves look like.', maxLength: 500 } },
        required: ['damage'],
      },
    };
    const broken = [
      { ...listing, slug: 'half-definition', instructions: runnable.instructions },
      {
        ...listing,
        slug: 'object-input',
        ...runnable,
        inputs: { type: 'object', properties: { soil: { type: 'object', title: 'Soil', description: 'Soil data.' } } },
      },
      { ...listing, slug: 'unknown-required', ...runnable, inputs: { ...runnable.inputs, required: ['damage', 'photo'] } },
      { ...listing, slug: 'shell-tool', ...runnable, tools: ['shell'] },
    ];
    const entries = [...shipped, { ...listing, slug: 'garden-pest-identifier', ...runnable }, ...broken];
    const file = join(dir, 'agents.json');
    await writeFile(file, JSON.stringify(entries));

    const result = await runImport(file, env);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain(`Imported ${shipped.length + 1} agent(s); skipped 4 invalid.`);
    const at = shipped.length + 1;
    expect(result.stderr).toContain(`entry ${at} (half-definition): inputs: an agent with instructions needs inputs too`);
    expect(result.stderr).toContain(`entry ${at + 1} (object-input): inputs.properties.soil.type: Invalid discriminator value`);
    expect(result.stderr).toContain(`entry ${at + 2} (unknown-required): inputs.required.1: "photo" is not one of the properties`);
    expect(result.stderr).toContain(`entry ${at + 3} (shell-tool): tools.0: must be one of find_agent`);
    expect(result.stderr.trim().split('\n')).toHaveLength(4);

    const chat = await createChatService(testOptions({ dataDir: dir, databaseUrl: database.databaseUrl }));
    try {
      expect(await chat.agents.count()).toBe(shipped.length + 1);
      expect(await chat.agents.get('garden-pest-identifier')).toMatchObject({ name: 'Garden Pest Identifier' });
      for (const entry of broken) expect(await chat.agents.get(entry.slug)).toBeUndefined();
    } finally {
      await chat.close();
    }
  });
});
