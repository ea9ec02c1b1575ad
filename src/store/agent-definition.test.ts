import { describe, expect, it } from 'vitest';
import {
  agentDefinitionSchema,
  applyDefaults,
  definitionOf,
  missingInputs,
  outputSections,
  validateInputs,
  type AgentDefinition,
} from './agent-definition.js';
import { agentSchema } from './agents-repository.js';

const listing = { slug: 'linkedin-post-generator', name: 'LinkedIn Post Generator', creator: 'postcraft' };

const definition: AgentDefinition = agentDefinitionSchema.parse({
  instructions:
    'Write a LinkedIn post.\n\nOutput:\n1. Hook — one line that stops the scroll.\n2. Body — three short paragraphs.\n3. Call to action — one line.',
  inputs: {
    type: 'object',
    properties: {
      topic: { type: 'string', title: 'Topic', description: 'What the post is about.', maxLength: 300, examples: ['Our product launch'] },
      tone: {
        type: 'string',
        title: 'Tone',
        description: 'How it should sound.',
        enum: ['professional', 'casual', 'bold'],
        default: 'professional',
      },
      words: { type: 'integer', title: 'Length in words', description: 'About how long.', minimum: 50, maximum: 600, default: 200 },
      emoji: { type: 'boolean', title: 'Use emoji', description: 'Whether a few emoji are welcome.', default: false },
      hashtags: {
        type: 'array',
        title: 'Hashtags',
        description: 'Hashtags to include.',
        items: { type: 'string', maxLength: 40 },
        maxItems: 5,
      },
      site: { type: 'string', title: 'Link', description: 'A page to link to.', format: 'uri' },
      contact: { type: 'string', title: 'Contact', description: 'Who to write to.', format: 'email' },
      launch: { type: 'string', title: 'Launch date', description: 'When it ships.', format: 'date' },
      budget: { type: 'number', title: 'Budget', description: 'In euros.', minimum: 0 },
    },
    required: ['topic', 'tone'],
  },
});

/** The `path: message` lines an invalid catalog entry gets, as import reports them. */
function problemsOf(entry: Record<string, unknown>): string[] {
  const parsed = agentSchema.safeParse({ ...listing, ...entry });
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const inputsWith = (property: Record<string, unknown>, required: string[] = []) => ({
  instructions: 'Do the thing.',
  inputs: { type: 'object', properties: { field: { title: 'Field', description: 'A field.', ...property } }, required },
});

describe('agent definitions in catalog entries', () => {
  it('accepts a full definition, defaulting tools to none, and leaves a plain listing without one', () => {
    expect(definition.tools).toEqual([]);
    const entry = agentSchema.parse({ ...listing, ...definition, tools: ['find_agent', 'files__read_file'], model: 'openai/gpt-4o-mini' });
    expect(definitionOf(entry)).toEqual({ ...definition, tools: ['find_agent', 'files__read_file'], model: 'openai/gpt-4o-mini' });

    const plain = agentSchema.parse(listing);
    expect(Object.keys(plain)).not.toContain('tools');
    expect(definitionOf(plain)).toBeUndefined();
  });

  it.each([
    ['instructions without inputs', { instructions: 'Do it.' }, 'inputs: an agent with instructions needs inputs too'],
    [
      'inputs without instructions',
      { inputs: { type: 'object', properties: {} } },
      'instructions: an agent with inputs needs instructions too',
    ],
    ['tools on a plain listing', { tools: ['find_agent'] }, 'tools: tools is part of a runnable definition'],
    ['a model on a plain listing', { model: 'openai/gpt-4o' }, 'model: model is part of a runnable definition'],
    ['empty instructions', { ...inputsWith({ type: 'string' }), instructions: '  ' }, 'instructions: Too small'],
    ['instructions over 8000 characters', { ...inputsWith({ type: 'string' }), instructions: 'x'.repeat(8001) }, 'instructions: Too big'],
    ['an object input', inputsWith({ type: 'object' }), 'inputs.properties.field.type: Invalid discriminator value'],
    [
      'a JSON Schema keyword outside the subset',
      inputsWith({ type: 'string', pattern: '^a' }),
      'inputs.properties.field: Unrecognized key: "pattern"',
    ],
    ['a list of numbers', inputsWith({ type: 'array', items: { type: 'number' } }), 'inputs.properties.field.items.type: Invalid input'],
    [
      'an input without a title',
      { instructions: 'x', inputs: { type: 'object', properties: { field: { type: 'string', description: 'd' } } } },
      'inputs.properties.field.title: Invalid input',
    ],
    [
      'an input without a description',
      { instructions: 'x', inputs: { type: 'object', properties: { field: { type: 'string', title: 't' } } } },
      'inputs.properties.field.description: Invalid input',
    ],
    [
      'a format outside uri, email and date',
      inputsWith({ type: 'string', format: 'hostname' }),
      'inputs.properties.field.format: Invalid option',
    ],
    [
      'a default outside the enum',
      inputsWith({ type: 'string', enum: ['a', 'b'], default: 'c' }),
      'inputs.properties.field.default: the default must be one of: a, b',
    ],
    [
      'a default longer than maxLength',
      inputsWith({ type: 'string', maxLength: 3, default: 'four' }),
      'inputs.properties.field.default: the default must be at most 3 characters',
    ],
    [
      'an example that is no date',
      inputsWith({ type: 'string', format: 'date', examples: ['2025-02-30'] }),
      'inputs.properties.field.examples.0: the example must be a date',
    ],
    [
      'a default below the minimum',
      inputsWith({ type: 'number', minimum: 1, default: 0 }),
      'inputs.properties.field.default: the default must be at least 1',
    ],
    [
      'a fractional integer default',
      inputsWith({ type: 'integer', default: 2.5 }),
      'inputs.properties.field.default: Invalid input: expected int',
    ],
    [
      'a minimum above the maximum',
      inputsWith({ type: 'integer', minimum: 5, maximum: 1 }),
      'inputs.properties.field.minimum: must not be above the maximum',
    ],
    [
      'an enum with a format',
      inputsWith({ type: 'string', enum: ['a'], format: 'email' }),
      'inputs.properties.field.format: an input with enum values takes no format',
    ],
    [
      'a repeated enum value',
      inputsWith({ type: 'string', enum: ['a', 'a'] }),
      'inputs.properties.field.enum: the enum values must differ',
    ],
    [
      'enum values differing by case only',
      inputsWith({ type: 'string', enum: ['Red', 'red'] }),
      'inputs.properties.field.enum: the enum values must differ',
    ],
    [
      'a required name that is no property',
      inputsWith({ type: 'string' }, ['field', 'feild']),
      'inputs.required.1: "feild" is not one of the properties',
    ],
    [
      'a property name with a space',
      { instructions: 'x', inputs: { type: 'object', properties: { 'two words': { type: 'string', title: 't', description: 'd' } } } },
      'inputs.properties.two words: an input name is',
    ],
    ['an inputs schema that is no object', { instructions: 'x', inputs: { type: 'array', properties: {} } }, 'inputs.type: Invalid input'],
    [
      'an unknown tool',
      { ...inputsWith({ type: 'string' }), tools: ['shell'] },
      'tools.0: must be one of find_agent, get_agent_details, find_library_agent, add_agent_to_library or an MCP tool',
    ],
    ['a tool listed twice', { ...inputsWith({ type: 'string' }), tools: ['find_agent', 'find_agent'] }, 'tools: a tool is listed twice'],
    ['a model id with spaces', { ...inputsWith({ type: 'string' }), model: 'my model' }, 'model: a model id is'],
  ])('reports %s, naming the path', (_case, entry, problem) => {
    const problems = problemsOf(entry);
    expect(
      problems.some((line) => line.startsWith(problem)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('takes at most 12 inputs', () => {
    const properties = Object.fromEntries(
      Array.from({ length: 13 }, (_, i) => [`field${i}`, { type: 'string', title: 'T', description: 'D' }]),
    );
    expect(problemsOf({ instructions: 'x', inputs: { type: 'object', properties } })).toEqual(['inputs.properties: at most 12 inputs']);
    delete properties.field12;
    expect(problemsOf({ instructions: 'x', inputs: { type: 'object', properties } })).toEqual([]);
  });
});

describe('defaults and missing inputs', () => {
  it('fills empty fields that have a default, and leaves given ones alone', () => {
    expect(applyDefaults(definition, { topic: 'Launch' })).toEqual({ topic: 'Launch', tone: 'professional', words: 200, emoji: false });
    expect(applyDefaults(definition, { tone: '  ', words: 80, emoji: true })).toEqual({ tone: 'professional', words: 80, emoji: true });
  });

  it('lists the required fields not given, or given empty, once defaults apply', () => {
    expect(missingInputs(definition, {})).toEqual(['topic']);
    expect(missingInputs(definition, { topic: ' ', tone: '' })).toEqual(['topic']);
    expect(missingInputs(definition, { topic: 'Launch' })).toEqual([]);
    const list = agentDefinitionSchema.parse(inputsWith({ type: 'array', items: { type: 'string' } }, ['field']));
    expect(missingInputs(list, { field: [] })).toEqual(['field']);
    expect(missingInputs(list, { field: ['a'] })).toEqual([]);
  });

  it('does not take inherited object members for given values', () => {
    const named = agentDefinitionSchema.parse({
      instructions: 'x',
      inputs: { type: 'object', properties: { constructor: { type: 'string', title: 'C', description: 'D' } }, required: ['constructor'] },
    });
    expect(missingInputs(named, {})).toEqual(['constructor']);
    expect(validateInputs(named, {})).toMatchObject({ ok: false, missing: ['constructor'] });
  });
});

describe('validateInputs', () => {
  it('accepts good inputs with defaults applied, reading plain text forms of numbers, yes/no, lists and enum casing', () => {
    const result = validateInputs(definition, {
      topic: '  Our launch  ',
      tone: 'Casual',
      words: '120',
      emoji: 'TRUE',
      hashtags: 'launch, product',
      site: 'https://example.com/launch',
      contact: 'pr@example.com',
      launch: '2026-03-01',
      budget: 99.5,
    });
    expect(result).toEqual({
      ok: true,
      inputs: {
        topic: 'Our launch',
        tone: 'casual',
        words: 120,
        emoji: true,
        hashtags: ['launch', 'product'],
        site: 'https://example.com/launch',
        contact: 'pr@example.com',
        launch: '2026-03-01',
        budget: 99.5,
      },
    });
    expect(validateInputs(definition, { topic: 'x', hashtags: 'one, two\nthree' })).toMatchObject({
      ok: true,
      inputs: { hashtags: ['one, two', 'three'] },
    });
    expect(validateInputs(definition, { topic: 'x', hashtags: ['one', ' ', '', 'two'] })).toMatchObject({
      ok: true,
      inputs: { hashtags: ['one', 'two'] },
    });
    expect(validateInputs(definition, { topic: 'x' })).toEqual({
      ok: true,
      inputs: { topic: 'x', tone: 'professional', words: 200, emoji: false },
    });
  });

  it('says what is wrong with each field, in a sentence naming it', () => {
    const result = validateInputs(definition, {
      tone: 'angry',
      words: 12.5,
      emoji: 'maybe',
      hashtags: ['a', 'b', 'c', 'd', 'e', 'f'],
      site: 'javascript:alert(1)',
      contact: 'nobody',
      launch: '01/03/2026',
      budget: -1,
      colour: 'red',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.missing).toEqual(['topic']);
    expect(result.problems).toEqual([
      {
        field: 'colour',
        message:
          '"colour" is not an input of this agent (its inputs are topic, tone, words, emoji, hashtags, site, contact, launch, budget).',
      },
      { field: 'topic', message: 'Topic is required.' },
      { field: 'tone', message: 'Tone must be one of: professional, casual, bold.' },
      { field: 'words', message: 'Length in words must be a whole number.' },
      { field: 'emoji', message: 'Use emoji must be true or false.' },
      { field: 'hashtags', message: 'Hashtags must have at most 5 items.' },
      { field: 'site', message: 'Link must be a web address starting with http:// or https://.' },
      { field: 'contact', message: 'Contact must be an email address.' },
      { field: 'launch', message: 'Launch date must be a date written YYYY-MM-DD.' },
      { field: 'budget', message: 'Budget must be at least 0.' },
    ]);
  });

  it('checks lengths, ranges and list items', () => {
    const problems = (given: Record<string, unknown>) => {
      const result = validateInputs(definition, { topic: 'x', ...given });
      return result.ok ? [] : result.problems.map((problem) => problem.message);
    };
    expect(problems({ topic: 'x'.repeat(301) })).toEqual(['Topic must be at most 300 characters.']);
    expect(problems({ words: 601 })).toEqual(['Length in words must be at most 600.']);
    expect(problems({ words: 'many' })).toEqual(['Length in words must be a whole number.']);
    expect(problems({ hashtags: ['fine', 'x'.repeat(41)] })).toEqual(['Hashtags item 2 must be at most 40 characters.']);
    expect(problems({ hashtags: [{ tag: 'x' }] })).toEqual(['Hashtags item 1 must be text.']);
    expect(problems({ hashtags: 7 })).toEqual(['Hashtags must be a list of texts.']);
    expect(problems({ topic: { text: 'x' } })).toEqual(['Topic must be text.']);
    expect(problems({ launch: '2026-02-29' })).toEqual(['Launch date must be a date written YYYY-MM-DD.']);
  });

  it('refuses inputs that are not an object, and sums up a flood of unknown fields', () => {
    expect(validateInputs(definition, ['topic'])).toEqual({
      ok: false,
      problems: [{ message: 'The inputs must be an object of field names and values.' }],
      missing: ['topic'],
    });
    expect(validateInputs(definition, undefined)).toMatchObject({ ok: false, missing: ['topic'] });
    const flood = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x${i}`, i]));
    const result = validateInputs(definition, { topic: 'x', ...flood });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(6);
    expect(result.problems.at(-1)!.message).toMatch(/^995 more fields are not inputs of this agent/);
  });
});

describe('outputSections', () => {
  it('reads the numbered list after the last Output: line', () => {
    expect(outputSections(definition.instructions)).toEqual([
      { heading: 'Hook', description: 'one line that stops the scroll.' },
      { heading: 'Body', description: 'three short paragraphs.' },
      { heading: 'Call to action', description: 'one line.' },
    ]);
  });

  it('finds none when the instructions do not end with a well-formed Output: list', () => {
    expect(outputSections('Write a post.')).toEqual([]);
    expect(outputSections('Output:\n1. Hook — a line.\n3. Body — skipped a number.')).toEqual([]);
    expect(outputSections('Output:\n1. Hook - a hyphen, not a dash.')).toEqual([]);
    expect(outputSections('Output:\n1. Hook — a line.\nThen write more rules.')).toEqual([]);
  });
});
