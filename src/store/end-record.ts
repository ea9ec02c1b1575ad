/**
 * The end record of a run: everything its end stores (outcome, reason, the answer, one usage row per
 * upstream call), as one value that can wait outside the database — in Redis or a local journal —
 * until the database takes it. Written and read as JSON, and checked on the way back in.
 */
import { z } from 'zod';
import type { RunEnd } from './runs-repository.js';
import type { ChatMessage } from './records.js';

export const usageSchema = z.object({
  kind: z.enum(['chat', 'title', 'summary', 'execution']),
  model: z.string(),
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0),
  costUsd: z.number().optional(),
  estimated: z.boolean().optional(),
});

const messageSchema = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant', 'system']),
  parts: z.array(z.looseObject({ type: z.string() })),
  metadata: z.looseObject({}).optional(),
});

export const endRecordSchema = z.object({
  runId: z.guid(),
  sessionId: z.guid(),
  userId: z.string().min(1),
  status: z.enum(['finished', 'failed', 'stopped', 'interrupted']),
  reason: z.string().optional(),
  message: messageSchema.optional(),
  usage: z.array(usageSchema),
  /** When the run ended (ISO time), for logs and for an operator reading the journal. */
  endedAt: z.string(),
});

export type EndRecord = Omit<z.infer<typeof endRecordSchema>, 'message'> & { message?: ChatMessage };

/** The record as stored text. */
export const serializeEndRecord = (record: EndRecord): string => JSON.stringify(record);

/** Parses stored text back into a record; undefined when it is not one (a torn or foreign line). */
export function parseEndRecord(text: string): EndRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = endRecordSchema.safeParse(value);
  return parsed.success ? (parsed.data as EndRecord) : undefined;
}

/** What `RunsRepository.end` takes from a record. */
export const runEndOf = (record: EndRecord): RunEnd => ({
  status: record.status,
  reason: record.reason,
  message: record.message,
  usage: record.usage,
});
