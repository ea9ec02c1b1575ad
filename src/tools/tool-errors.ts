/**
 * A refusal of a tool (an unknown slug, a missing input, a limit) as an output the model can read and
 * act on, rather than a failed tool. Refusals are marked, so that the MCP server, which calls the
 * same tools, can flag them as error results.
 */
import { ChatError, noSuchAgent } from '../errors.js';

export type ToolRefusal = { error: string } & Record<string, unknown>;

const refusals = new WeakSet<object>();

/** Marks `output` as a refusal. */
function refusal(output: ToolRefusal): ToolRefusal {
  refusals.add(output);
  return output;
}

/** Whether a tool's output is a refusal (made here), rather than a result that happens to name an error. */
export const isToolRefusal = (output: unknown): output is ToolRefusal =>
  typeof output === 'object' && output !== null && refusals.has(output);

/** A `ChatError` a caller can act on, as a refusal; anything else (a database that is away, a bug) is rethrown. */
export function toolErrorOutput(error: unknown, extra: Record<string, unknown> = {}): ToolRefusal {
  if (ChatError.isInstance(error) && error.code !== 'internal' && error.code !== 'unavailable')
    return refusal({ error: error.message, ...extra });
  throw error;
}

/** The refusal for a slug the store does not have. */
export const unknownSlug = (slug: string): ToolRefusal => toolErrorOutput(noSuchAgent(slug), { slug });
