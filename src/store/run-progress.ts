/**
 * What a running answer has spent so far, saved with its lease so that whoever closes the run when
 * its owner is gone (crash, lost lease, the session deleted elsewhere) can charge every upstream
 * call: the usage of the calls that completed, and what is needed to estimate the one in flight.
 */
import { z } from 'zod';
import { usageSchema } from './end-record.js';

export const runProgressSchema = z.object({
  /** Estimated prompt tokens of a call (the fitted history, system prompt and tools). */
  promptEstimate: z.number().int().min(0),
  /** The model answering, for an estimated row. */
  model: z.string(),
  /** One row per upstream call that completed and reported its usage. */
  usage: z.array(usageSchema),
  /** True while a call is in flight: it has cost something that no row records yet. */
  calling: z.boolean(),
  /** Characters produced by the call in flight so far (the basis of its completion estimate). */
  pendingChars: z.number().int().min(0),
});

export type RunProgress = z.infer<typeof runProgressSchema>;

/** Parses a stored progress value; undefined when there is none or it is not one. */
export function parseRunProgress(text: string | null | undefined): RunProgress | undefined {
  if (!text) return undefined;
  try {
    const parsed = runProgressSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
