/**
 * The shipped catalog's runnable definitions: every agent has one that validates, ends its
 * instructions with an `Output:` list of sections, and asks for inputs a person can give (each with
 * a default, examples or fixed choices, which together make a valid run). Then `autochat store
 * import` with a file of the shipped agents and broken definitions: each broken entry is reported by
 * index, slug and the path of what is wrong, and the rest is imported — on PGlite and on PostgreSQL
 * when TEST_DATABASE_URL is set.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createChatService } from '../src/chat/chat-service.js';
import {
  BUILT_IN_AGENT_TOOLS,
  definitionOf,
  missingInputs,
  outputSections,
  validateInputs,
  type AgentDefinition,
} from '../src/store/agent-definition.js';
import { parseCatalog, SHIPPED_CATALOG } from '../src/store/catalog.js';
import { createToolSet } from '../src/tools/tool-set.js';
import { databaseTargets } from './support/databases.js';
import { testOptions } from './support/test-service.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const shipped = JSON.parse(await readFile(SHIPPED_CATALOG, 'utf8')) as Record<string, unknown>[];
const parsed = parseCatalog(shipped);
const definitions = parsed.agents.map((agent) => ({ slug: agent.slug, definition: definitionOf(agent) }));

/** A run of the agent with every input at its default, first example or first choice. */
function sampleInputs(definition: AgentDefinition): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(definition.inputs.properties).map(([name, input]) => {
      const choices = input.type === 'string' ? input.enum : undefined;
      return [name, input.default ?? input.examples?.[0] ?? choices?.[0]];
    }),
  );
}

describe('the shipped catalog', () => {
  it('validates, and every agent in it has a runnable definition', () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.agents).toHaveLength(shipped.length);
    expect(shipped.length).toBeGreaterThanOrEqual(128);
    expect(definitions.filter(({ definition }) => !definition).map(({ slug }) => slug)).toEqual([]);
  });

  it.each(definitions)('$slug ends its instructions with an Output: list of sections', ({ definition }) => {
    const sections = outputSections(definition!.instructions);
    expect(sections.length, 'at least three numbered sections after "Output:"').toBeGreaterThanOrEqual(3);
    expect(new Set(sections.map((section) => section.heading.toLowerCase())).size).toBe(sections.length);
    for (const section of sections) {
      expect(section.heading.length).toBeLessThanOrEqual(60);
      expect(section.description.length, `"${section.heading}" says what it holds`).toBeGreaterThanOrEqual(12);
    }
  });

  it.each(definitions)('$slug asks for inputs a person can give, and runs with its samples', ({ definition }) => {
    const { properties, required } = definition!.inputs;
    const names = Object.keys(properties);
    expect(names.length).toBeGreaterThanOrEqual(1);
    expect(names.length).toBeLessThanOrEqual(8);
    for (const [name, input] of Object.entries(properties)) {
      // A placeholder or a preset for every field, so that a form shows what is expected.
      const choices = input.type === 'string' ? input.enum : undefined;
      expect(input.default ?? input.examples ?? choices, `${name} has a default, examples or choices`).toBeDefined();
      if (input.type === 'string' && !input.enum && !input.format) expect(input.maxLength, `${name} bounds its length`).toBeDefined();
      // A required field with a default is never missing: it would be required in name only.
      if (required.includes(name)) expect(input.default, `${name} is required and has a default`).toBeUndefined();
    }
    expect(missingInputs(definition!, {})).toEqual(required);
    expect(validateInputs(definition!, sampleInputs(definition!))).toMatchObject({ ok: true });
  });

  it('has its entry format documented with a complete runnable example that validates', async () => {
    const markdown = await readFile(join(ROOT, 'docs/api.md'), 'utf8');
    const section = markdown.split(/^### /m).find((text) => text.startsWith('Catalog entries\n'));
    const example = /^```json\n([\s\S]*?)^```/m.exec(section ?? '')?.[1];
    expect(example, 'docs/api.md has a "### Catalog entries" section with a JSON example').toBeDefined();
    const documented = parseCatalog([JSON.parse(example!)]);
    expect(documented.problems).toEqual([]);
    const definition = definitionOf(documented.agents[0]!);
    expect(definition).toBeDefined();
    expect(outputSections(definition!.instructions).length).toBeGreaterThanOrEqual(3);
    expect(validateInputs(definition!, sampleInputs(definition!))).toMatchObject({ ok: true });
  });

  it('lists only built-in tools, which the chat offers, so it runs without any MCP server', async () => {
    const listed = new Set(definitions.flatMap(({ definition }) => definition!.tools));
    expect(listed.size).toBeGreaterThan(0);
    for (const tool of listed) expect(BUILT_IN_AGENT_TOOLS).toContain(tool);
    const chat = await createChatService(testOptions({ dataDir: 'memory://', seedCatalog: false }));
    try {
      const offered = Object.keys(createToolSet({ agents: chat.agents, userId: 'local' }));
      expect(offered).toEqual(expect.arrayContaining([...BUILT_IN_AGENT_TOOLS]));
    } finally {
      await chat.close();
    }
  });
});

describe.each(databaseTargets)('autochat store import of agent definitions on $name', (target) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Runs the CLI as its own process, with nothing from this machine's environment but PATH and HOME. */
  const runImport = (file: string, env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'store', 'import', file], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

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
