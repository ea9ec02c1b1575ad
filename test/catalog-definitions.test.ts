/**
 * The shipped catalog's runnable definitions: every agent has one that validates, ends its
 * instructions with an `Output:` list of sections, and asks for inputs a person can give (each with
 * a default, examples or fixed choices, which together make a valid run). (`autochat store import`
 * of broken definitions is test/cli-store-import.test.ts.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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
    const chat = await createChatService(testOptions({ dataDir: 'memory://' }));
    try {
      const offered = Object.keys(createToolSet({ agents: chat.agents, userId: 'local' }));
      expect(offered).toEqual(expect.arrayContaining([...BUILT_IN_AGENT_TOOLS]));
    } finally {
      await chat.close();
    }
  });
});
