/** Usage as the store writes and reads it: the `usage_events` row as an entry, and entries as the records SQL functions read. */
import type { NewUsage, UsageEntry } from './records.js';
import type { usageEvents } from './schema.js';

export function toUsageEntry(row: typeof usageEvents.$inferSelect): UsageEntry {
  return {
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    totalTokens: row.totalTokens,
    model: row.model,
    ...(row.costUsd === null ? {} : { costUsd: Number(row.costUsd) }),
    createdAt: row.createdAt.toISOString(),
    kind: row.kind,
    ...(row.estimated ? { estimated: true } : {}),
  };
}

/** The cost column's value: an exact decimal string, or null when the upstream reported none. */
export const costOf = (entry: NewUsage) => (entry.costUsd === undefined ? null : entry.costUsd.toFixed(8));

/** Usage rows as the JSON records `autochat_end_run` reads (`jsonb_to_recordset`). */
export function usageRecords(usage: NewUsage[]): string {
  return JSON.stringify(
    usage.map((entry) => ({
      kind: entry.kind,
      model: entry.model,
      prompt_tokens: entry.promptTokens,
      completion_tokens: entry.completionTokens,
      total_tokens: entry.totalTokens,
      cost_usd: costOf(entry),
      estimated: entry.estimated ?? false,
    })),
  );
}
