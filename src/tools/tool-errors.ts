/** A failure of the agent-running tools as an output the model can read and act on (not a failed tool). */
import { ChatError } from '../errors.js';

export function toolErrorOutput(error: unknown, extra: Record<string, unknown> = {}): { error: string } & Record<string, unknown> {
  if (ChatError.isInstance(error) && error.code !== 'internal' && error.code !== 'unavailable') return { error: error.message, ...extra };
  throw error;
}
