/**
 * What makes a store agent runnable: its system prompt (`instructions`), the fields a person must give
 * it (`inputs`, a small subset of JSON Schema that a form or a terminal can render safely), the tools
 * it may use and an optional model. Catalog entries carry these as optional top-level fields
 * (docs/api.md#catalog-entries); this module validates them on import, and a person's inputs before a run.
 */
import { z } from 'zod';

/** The chat's own tools an agent may use; any other tool is an MCP tool, named `<server>__<tool>`. */
export const BUILT_IN_AGENT_TOOLS = ['find_agent', 'get_agent_details', 'find_library_agent', 'add_agent_to_library'] as const;

/** At most this many inputs: more is a form nobody fills in, and a prompt the model reads badly. */
export const MAX_INPUTS = 12;
/** The longest text an input takes when its schema sets no `maxLength` (a long document pasted in). */
export const MAX_INPUT_CHARS = 32_000;
/** The most items a list input takes. */
export const MAX_LIST_ITEMS = 50;
const MAX_TOOLS = 20;
/** As MCP tools are named for the model (see src/mcp/mcp-client-tools.ts). */
const MAX_TOOL_NAME = 64;

const unique = (values: readonly unknown[]) => new Set(values).size === values.length;

/** Usable as a form field's name, in a CLI `--input key=value` and as a JSON key. */
const INPUT_NAME_RULE = 'an input name is 1–40 letters, digits or underscores, starting with a letter';
const inputName = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/, INPUT_NAME_RULE);

const choices = z
  .array(z.string().trim().min(1).max(200))
  .min(1)
  .max(30)
  // A person's value is matched to an enum value whatever its case, so two may not differ by case only.
  .refine((values) => unique(values.map((value) => value.toLowerCase())), 'the enum values must differ');

/** Every input says what it is, for the form and for the model. */
const label = {
  title: z.string().trim().min(1).max(80),
  description: z.string().trim().min(1).max(500),
};

const stringInput = z.strictObject({
  type: z.literal('string'),
  ...label,
  enum: choices.optional(),
  format: z.enum(['uri', 'email', 'date']).optional(),
  maxLength: z.int().min(1).max(MAX_INPUT_CHARS).optional(),
  default: z.string().optional(),
  examples: z.array(z.string()).min(1).max(5).optional(),
});

const numberInput = z.strictObject({
  type: z.literal('number'),
  ...label,
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  default: z.number().optional(),
  examples: z.array(z.number()).min(1).max(5).optional(),
});

const integerInput = z.strictObject({
  type: z.literal('integer'),
  ...label,
  minimum: z.int().optional(),
  maximum: z.int().optional(),
  default: z.int().optional(),
  examples: z.array(z.int()).min(1).max(5).optional(),
});

const booleanInput = z.strictObject({
  type: z.literal('boolean'),
  ...label,
  default: z.boolean().optional(),
  examples: z.array(z.boolean()).min(1).max(2).optional(),
});

const listInput = z.strictObject({
  type: z.literal('array'),
  ...label,
  items: z.strictObject({
    type: z.literal('string'),
    enum: choices.optional(),
    maxLength: z.int().min(1).max(MAX_INPUT_CHARS).optional(),
  }),
  minItems: z.int().min(0).max(MAX_LIST_ITEMS).optional(),
  maxItems: z.int().min(1).max(MAX_LIST_ITEMS).optional(),
  default: z.array(z.string()).max(MAX_LIST_ITEMS).optional(),
  examples: z.array(z.array(z.string()).max(MAX_LIST_ITEMS)).min(1).max(5).optional(),
});

/** One input: a text (optionally one of a few values, a web address, an email or a date), a number, a yes/no or a list of texts. */
export const agentInputSchema = z
  .discriminatedUnion('type', [stringInput, numberInput, integerInput, booleanInput, listInput])
  .superRefine((input, ctx) => {
    const [low, high, lowKey] =
      input.type === 'number' || input.type === 'integer'
        ? [input.minimum, input.maximum, 'minimum']
        : input.type === 'array'
          ? [input.minItems, input.maxItems, 'minItems']
          : [undefined, undefined, ''];
    if (low !== undefined && high !== undefined && low > high) {
      ctx.addIssue({ code: 'custom', path: [lowKey], message: 'must not be above the maximum' });
    }
    if (input.type === 'string' && input.enum && input.format) {
      ctx.addIssue({ code: 'custom', path: ['format'], message: 'an input with enum values takes no format' });
    }
    const itemsSchema = input.type === 'string' ? input : input.type === 'array' ? input.items : undefined;
    if (
      itemsSchema?.enum &&
      itemsSchema.maxLength !== undefined &&
      itemsSchema.enum.some((value) => value.length > itemsSchema.maxLength!)
    ) {
      ctx.addIssue({ code: 'custom', path: ['enum'], message: 'an enum value is longer than maxLength' });
    }
    // The default and the examples are values a person could give: they must pass the same checks.
    const samples: [PropertyKey[], unknown][] = [];
    if (input.default !== undefined) samples.push([['default'], input.default]);
    const examples: readonly unknown[] = input.examples ?? [];
    examples.forEach((example, index) => samples.push([['examples', index], example]));
    for (const [path, value] of samples) {
      const read = readValue(input, value);
      if ('problem' in read)
        ctx.addIssue({ code: 'custom', path, message: `the ${path[0] === 'default' ? 'default' : 'example'} ${read.problem}` });
    }
  });

export type AgentInput = z.infer<typeof agentInputSchema>;

/** The fields a person supplies to run an agent: `{"type":"object","properties":{…},"required":[…]}`. */
export const agentInputsSchema = z
  .strictObject({
    type: z.literal('object'),
    properties: z
      .record(inputName, agentInputSchema, { error: (issue) => (issue.code === 'invalid_key' ? INPUT_NAME_RULE : undefined) })
      .refine((properties) => Object.keys(properties).length <= MAX_INPUTS, `at most ${MAX_INPUTS} inputs`),
    required: z.array(inputName).max(MAX_INPUTS).default([]),
    additionalProperties: z.literal(false).optional(),
  })
  .superRefine((inputs, ctx) => {
    inputs.required.forEach((name, index) => {
      if (!Object.hasOwn(inputs.properties, name)) {
        ctx.addIssue({ code: 'custom', path: ['required', index], message: `"${name}" is not one of the properties` });
      } else if (inputs.required.indexOf(name) !== index) {
        ctx.addIssue({ code: 'custom', path: ['required', index], message: `"${name}" is listed twice` });
      }
    });
  });

export type AgentInputs = z.infer<typeof agentInputsSchema>;

const instructionsSchema = z.string().trim().min(1).max(8000);

const builtIn = BUILT_IN_AGENT_TOOLS.join('|');
const toolsSchema = z
  .array(
    z
      .string()
      .max(MAX_TOOL_NAME)
      .regex(
        new RegExp(`^(?:${builtIn}|[a-zA-Z0-9_-]{1,32}__[a-zA-Z0-9_-]+)$`),
        `must be one of ${BUILT_IN_AGENT_TOOLS.join(', ')} or an MCP tool named <server>__<tool>`,
      ),
  )
  .max(MAX_TOOLS)
  .refine(unique, 'a tool is listed twice');

const modelSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:/@+-]+$/, 'a model id is letters, digits and . _ : / @ + - only');

/** A runnable agent: what it is told, what it is given, which tools it may call and on which model. */
export const agentDefinitionSchema = z.object({
  instructions: instructionsSchema,
  inputs: agentInputsSchema,
  tools: toolsSchema.default([]),
  model: modelSchema.optional(),
});

export type AgentDefinition = z.infer<typeof agentDefinitionSchema>;

/**
 * The definition as optional top-level fields of a catalog entry. Not defaulted, so that a plain
 * listing stays as it was; `requireWholeDefinition` checks that the fields come together.
 */
export const agentDefinitionFields = {
  instructions: instructionsSchema.optional(),
  inputs: agentInputsSchema.optional(),
  tools: toolsSchema.optional(),
  model: modelSchema.optional(),
};

type DefinitionFields = { instructions?: string; inputs?: AgentInputs; tools?: string[]; model?: string };

/**
 * An entry is runnable with both `instructions` and `inputs`, or a plain listing with neither; one
 * without the other, or tools or a model without them, is a mistake to report rather than to guess at.
 */
export function requireWholeDefinition(entry: DefinitionFields, ctx: z.RefinementCtx<DefinitionFields>): void {
  const runnable = entry.instructions !== undefined || entry.inputs !== undefined;
  if (entry.instructions !== undefined && entry.inputs === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['inputs'],
      message: 'an agent with instructions needs inputs too (an object schema, possibly with no properties)',
    });
  } else if (entry.inputs !== undefined && entry.instructions === undefined) {
    ctx.addIssue({ code: 'custom', path: ['instructions'], message: 'an agent with inputs needs instructions too' });
  }
  for (const field of ['tools', 'model'] as const) {
    if (!runnable && entry[field] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `${field} is part of a runnable definition: give instructions and inputs too`,
      });
    }
  }
}

/** The entry's runnable definition, or undefined for a plain listing. */
export function definitionOf(entry: DefinitionFields): AgentDefinition | undefined {
  if (entry.instructions === undefined || entry.inputs === undefined) return undefined;
  return {
    instructions: entry.instructions,
    inputs: entry.inputs,
    tools: entry.tools ?? [],
    ...(entry.model !== undefined ? { model: entry.model } : {}),
  };
}

/** A value an input takes, once read. */
export type InputValue = string | number | boolean | string[];

/** Nothing given: absent, null, blank text or an empty list. */
function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'string' && value.trim() === '') ||
    (Array.isArray(value) && value.length === 0)
  );
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The given values with each empty one that has a default replaced by it. */
export function applyDefaults(definition: Pick<AgentDefinition, 'inputs'>, given: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...given };
  for (const [name, input] of Object.entries(definition.inputs.properties)) {
    if (input.default !== undefined && isEmpty(own(given, name))) {
      result[name] = Array.isArray(input.default) ? [...input.default] : input.default;
    }
  }
  return result;
}

/** The required inputs still not given (or given empty) once defaults apply, in the schema's order. */
export function missingInputs(definition: Pick<AgentDefinition, 'inputs'>, given: Record<string, unknown>): string[] {
  const filled = applyDefaults(definition, given);
  return definition.inputs.required.filter((name) => isEmpty(own(filled, name)));
}

export type InputProblem = { field?: string; message: string };
export type InputsValidation =
  | { ok: true; inputs: Record<string, InputValue> }
  | { ok: false; problems: InputProblem[]; missing: string[] };

/** Unknown fields named one by one, up to this many; a flood of them is summed up. */
const MAX_UNKNOWN_REPORTED = 5;

/**
 * Checks what a person (or a model) gave against an agent's inputs. Defaults fill empty fields;
 * values are read leniently where the meaning is plain, as a terminal or a model may give them as
 * text: "12" for a number, "true"/"false" for a yes/no, one item per line (or comma-separated on one
 * line) for a list, any casing of an enum value. Each problem is a sentence about one field.
 */
export function validateInputs(definition: Pick<AgentDefinition, 'inputs'>, given: unknown): InputsValidation {
  const { properties } = definition.inputs;
  if (given === undefined || given === null) given = {};
  if (typeof given !== 'object' || Array.isArray(given)) {
    return {
      ok: false,
      problems: [{ message: 'The inputs must be an object of field names and values.' }],
      missing: missingInputs(definition, {}),
    };
  }
  const values = given as Record<string, unknown>;
  const problems: InputProblem[] = [];
  const names = Object.keys(properties);
  const unknown = Object.keys(values).filter((key) => !Object.hasOwn(properties, key));
  const known = names.length > 0 ? `its inputs are ${names.join(', ')}` : 'it takes no inputs';
  for (const key of unknown.slice(0, MAX_UNKNOWN_REPORTED)) {
    const shown = key.slice(0, 60);
    problems.push({ field: shown, message: `"${shown}" is not an input of this agent (${known}).` });
  }
  if (unknown.length > MAX_UNKNOWN_REPORTED) {
    problems.push({ message: `${unknown.length - MAX_UNKNOWN_REPORTED} more fields are not inputs of this agent (${known}).` });
  }

  const filled = applyDefaults(definition, values);
  const missing = definition.inputs.required.filter((name) => isEmpty(own(filled, name)));
  const inputs: Record<string, InputValue> = {};
  for (const [name, input] of Object.entries(properties)) {
    const value = own(filled, name);
    if (isEmpty(value)) {
      if (missing.includes(name)) problems.push({ field: name, message: `${input.title} is required.` });
      continue;
    }
    const read = readValue(input, value);
    if ('problem' in read) problems.push({ field: name, message: `${input.title} ${read.problem}.` });
    else inputs[name] = read.value;
  }
  return problems.length > 0 ? { ok: false, problems, missing } : { ok: true, inputs };
}

type ValueCheck = { value: InputValue } | { problem: string };

/** Reads one non-empty value for an input, or says (after the input's title) what is wrong with it. */
function readValue(input: AgentInput, value: unknown): ValueCheck {
  switch (input.type) {
    case 'string':
      return readText(input, value);
    case 'number':
    case 'integer': {
      const number =
        typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isFinite(number)) return { problem: input.type === 'integer' ? 'must be a whole number' : 'must be a number' };
      if (input.type === 'integer' && !Number.isInteger(number)) return { problem: 'must be a whole number' };
      if (input.minimum !== undefined && number < input.minimum) return { problem: `must be at least ${input.minimum}` };
      if (input.maximum !== undefined && number > input.maximum) return { problem: `must be at most ${input.maximum}` };
      return { value: number };
    }
    case 'boolean':
      if (typeof value === 'boolean') return { value };
      if (typeof value === 'string' && /^\s*(true|false)\s*$/i.test(value)) return { value: value.trim().toLowerCase() === 'true' };
      return { problem: 'must be true or false' };
    case 'array': {
      const list = typeof value === 'string' ? splitList(value) : value;
      if (!Array.isArray(list)) return { problem: 'must be a list of texts' };
      const items = list.filter((item) => !isEmpty(item));
      if (input.maxItems !== undefined && items.length > input.maxItems) return { problem: `must have at most ${input.maxItems} items` };
      if (items.length > MAX_LIST_ITEMS) return { problem: `must have at most ${MAX_LIST_ITEMS} items` };
      if (input.minItems !== undefined && items.length < input.minItems) return { problem: `must have at least ${input.minItems} items` };
      const read: string[] = [];
      for (const [index, item] of items.entries()) {
        const text = readText(input.items, item);
        if ('problem' in text) return { problem: `item ${index + 1} ${text.problem}` };
        read.push(text.value as string);
      }
      return { value: read };
    }
    default:
      return { problem: 'has a type this version does not know' };
  }
}

function readText(input: { enum?: string[]; format?: 'uri' | 'email' | 'date'; maxLength?: number }, value: unknown): ValueCheck {
  if (typeof value !== 'string' && typeof value !== 'number') return { problem: 'must be text' };
  const text = String(value).trim();
  if (input.enum) {
    const match = input.enum.find((choice) => choice.toLowerCase() === text.toLowerCase());
    return match !== undefined ? { value: match } : { problem: `must be one of: ${input.enum.join(', ')}` };
  }
  const limit = Math.min(input.maxLength ?? MAX_INPUT_CHARS, MAX_INPUT_CHARS);
  if (text.length > limit) return { problem: `must be at most ${limit} characters` };
  if (input.format === 'uri' && !isWebAddress(text)) return { problem: 'must be a web address starting with http:// or https://' };
  if (input.format === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text)) return { problem: 'must be an email address' };
  if (input.format === 'date' && !isDate(text)) return { problem: 'must be a date written YYYY-MM-DD' };
  return { value: text };
}

function splitList(text: string): string[] {
  const parts = text.includes('\n') ? text.split('\n') : text.split(',');
  return parts.map((part) => part.trim()).filter(Boolean);
}

function isWebAddress(text: string): boolean {
  if (!/^https?:\/\//i.test(text)) return false;
  try {
    return new URL(text).hostname.length > 0;
  } catch {
    return false;
  }
}

function isDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === text;
}

/** One section of an agent's answer, as its instructions' `Output:` list names it. */
export type OutputSection = { heading: string; description: string };

/**
 * The sections an agent's answer has, from the last `Output:` line of its instructions and the
 * numbered list after it (`1. Heading — what it holds`); empty when the instructions do not end so.
 */
export function outputSections(instructions: string): OutputSection[] {
  const lines = instructions.split('\n').map((line) => line.trim());
  const start = lines.lastIndexOf('Output:');
  if (start < 0) return [];
  const sections: OutputSection[] = [];
  for (const line of lines.slice(start + 1).filter(Boolean)) {
    const match = /^(\d+)\. (.+?) — (.+)$/.exec(line);
    if (!match || Number(match[1]) !== sections.length + 1) return [];
    sections.push({ heading: match[2]!.trim(), description: match[3]!.trim() });
  }
  return sections;
}
