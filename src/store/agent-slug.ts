/**
 * What an agent slug may be: 2–80 lowercase letters, digits or dashes. Everything that takes a slug
 * from outside (the catalog file, the API, the model's and MCP clients' tool calls) checks it with
 * this schema, so a slug that cannot exist (NUL, other control characters, any other text) is refused
 * as bad input before it reaches a query.
 */
import { z } from 'zod';

export const agentSlug = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{1,79}$/, 'must be 2–80 lowercase letters, digits or dashes');
