/**
 * The end record of a chat run or an agent execution: everything its end stores (outcome, reason, the
 * answer or output, one usage row per upstream call), as one value that can wait outside the database
 * — in Redis or a local journal — until the database takes it. Written and read as JSON, and checked
 * on the way back in. A record without `kind` is a chat run's (as every record was before executions).
 */
import { z } from 'zod';
import type { ExecutionEnd } from './executions-repository.js';
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

const endStatus = z.enum(['finished', 'failed', 'stopped', 'interrupted']);

export const runEndRecordSchema = z.object({
  kind: z.literal('run').optional(),
  runId: z.guid(),
  sessionId: z.guid(),
  userId: z.string().min(1),
  status: endStatus,
  reason: z.string().optional(),
  message: messageSchema.optional(),
  usage: z.array(usageSchema),
  /** When the run ended (ISO time), for logs and for an operator reading the journal. */
  endedAt: z.string(),
});

/** An agent execution's end: `runId` is the execution's id (ids are UUIDs: they never collide with runs'). */
export const executionEndRecordSchema = z.object({
  kind: z.literal('execution'),
  runId: z.guid(),
  userId: z.string().min(1),
  status: endStatus,
  reason: z.string().optional(),
  /** The sentence saying why it failed or was cut short. */
  error: z.string().optional(),
  /** The execution's output. */
  message: messageSchema.optional(),
  usage: z.array(usageSchema),
  endedAt: z.string(),
});

export const endRecordSchema = z.union([executionEndRecordSchema, runEndRecordSchema]);

export type RunEndRecord = Omit<z.infer<typeof runEndRecordSchema>, 'message'> & { message?: ChatMessage };
export type ExecutionEndRecord = Omit<z.infer<typeof executionEndRecordSchema>, 'message'> & { message?: ChatMessage };
export type EndRecord = RunEndRecord | ExecutionEndRecord;

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
export const runEndOf = (record: RunEndRecord): RunEnd => ({
  status: record.status,
  reason: record.reason,
  message: record.message,
  usage: record.usage,
});

/** What `ExecutionsRepository.end` takes from a record. */
export const executionEndOf = (record: ExecutionEndRecord): ExecutionEnd => ({
  status: record.status,
  reason: record.reason,
  error: record.error,
  output: record.message,
  usage: record.usage,
});

/** How logs name the run or execution a record ends. */
export const endRecordFields = (record: EndRecord) =>
  record.kind === 'execution' ? { executionId: record.runId } : { runId: record.runId, sessionId: record.sessionId };
