/**
 * Summaries of timing samples: count, mean and percentiles (linear interpolation between closest
 * ranks, the same definition as numpy's default), in the unit the samples were taken in.
 */

export type Summary = { n: number; mean: number; p50: number; p95: number; p99: number; min: number; max: number };

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low]!;
  return lowValue + (sorted[high]! - lowValue) * (rank - low);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? Number.NaN : sorted.reduce((sum, value) => sum + value, 0) / n;
  return {
    n,
    mean,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    min: n === 0 ? Number.NaN : sorted[0]!,
    max: n === 0 ? Number.NaN : sorted[n - 1]!,
  };
}

/** `a − b` at each percentile (and for the mean): the added cost of `a` over `b` for unpaired samples. */
export function difference(a: Summary, b: Summary): Summary {
  return {
    n: Math.min(a.n, b.n),
    mean: a.mean - b.mean,
    p50: a.p50 - b.p50,
    p95: a.p95 - b.p95,
    p99: a.p99 - b.p99,
    min: a.min - b.min,
    max: a.max - b.max,
  };
}

/** Rounds for display: three significant decimals below 10, fewer above. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return value.toFixed(0);
  if (magnitude >= 100) return value.toFixed(1);
  if (magnitude >= 10) return value.toFixed(2);
  return value.toFixed(3);
}
