/** Reads and validates request input, turning every problem into a 400 a person can act on. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ChatError } from '../errors.js';
import { isJsonMediaType, unsupportedMediaType } from './middleware/json-bodies.js';

/** Parses `value`; on failure names what and where is wrong, with `hint` saying what is expected. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string, hint?: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? ` (${issue.path.join('.')})` : '';
  const reason = (issue?.message ?? 'not valid').replace(/\.$/, '');
  throw new ChatError('invalid_request', `Invalid ${what}${where}: ${reason}.${hint ? ` ${hint}` : ''}`);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON body; an empty body counts as `{}` only when `allowEmpty`. */
export async function readJson(c: Context, allowEmpty = false): Promise<unknown> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length === 0) {
    if (allowEmpty) return {};
    throw new ChatError('invalid_request', 'The request body is empty; send JSON.');
  }
  if (!isJsonMediaType(c.req.header('content-type'))) throw unsupportedMediaType();
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ChatError('invalid_request', 'The request body is not valid UTF-8 text.');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ChatError('invalid_request', 'The request body is not valid JSON.');
  }
}
