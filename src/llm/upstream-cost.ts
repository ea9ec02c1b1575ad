/**
 * The cost of an upstream call, when the upstream reports it: OpenRouter puts `usage.cost` (USD) in
 * the final chunk of a stream, or in the body of a non-streamed answer. It reaches the run as
 * provider metadata (`upstream.costUsd`) and is stored with the call's usage row.
 */
import type { MetadataExtractor } from '@ai-sdk/openai-compatible';

export const COST_METADATA_KEY = 'upstream';

function costIn(value: unknown): number | undefined {
  const cost = (value as { usage?: { cost?: unknown } } | undefined)?.usage?.cost;
  return typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? cost : undefined;
}

const metadataOf = (costUsd: number | undefined) => (costUsd === undefined ? undefined : { [COST_METADATA_KEY]: { costUsd } });

export const upstreamCostExtractor: MetadataExtractor = {
  extractMetadata: async ({ parsedBody }) => metadataOf(costIn(parsedBody)),
  createStreamExtractor: () => {
    let costUsd: number | undefined;
    return {
      processChunk(parsedChunk) {
        costUsd = costIn(parsedChunk) ?? costUsd;
      },
      buildMetadata: () => metadataOf(costUsd),
    };
  },
};

/** The cost recorded in a call's provider metadata, if any. */
export function costFrom(providerMetadata: Record<string, Record<string, unknown>> | undefined): number | undefined {
  const cost = providerMetadata?.[COST_METADATA_KEY]?.costUsd;
  return typeof cost === 'number' ? cost : undefined;
}
