/**
 * A closed-loop load generator: `concurrency` workers each send their next request as soon as the
 * previous one ends, until `maxRequests` have been sent or `maxMs` have passed — both always bound it.
 */

export type LoadOptions = { concurrency: number; maxRequests: number; maxMs: number };

export async function closedLoop<T>(
  options: LoadOptions,
  task: (worker: number, index: number) => Promise<T>,
): Promise<{ results: T[]; elapsedMs: number }> {
  const results: T[] = [];
  let issued = 0;
  const started = performance.now();
  const deadline = started + options.maxMs;
  const worker = async (id: number) => {
    while (issued < options.maxRequests && performance.now() < deadline) {
      const index = issued++;
      results.push(await task(id, index));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  return { results, elapsedMs: performance.now() - started };
}

/** Runs `task` over `items`, at most `concurrency` at a time. */
export async function inBatches<I, T>(
  items: readonly I[],
  concurrency: number,
  task: (item: I, index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An open-loop load generator: requests start at a fixed rate whatever happens to earlier ones (as
 * independent users arrive), until `maxRequests` have started or `maxMs` have passed.
 */
export async function openLoop<T>(
  options: { ratePerSecond: number; maxRequests: number; maxMs: number },
  task: (index: number) => Promise<T>,
): Promise<{ results: T[]; elapsedMs: number }> {
  const started = performance.now();
  const pending: Promise<T>[] = [];
  for (let index = 0; index < options.maxRequests; index++) {
    const due = started + (index * 1000) / options.ratePerSecond;
    if (due - started > options.maxMs) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(task(index));
  }
  const results = await Promise.all(pending);
  return { results, elapsedMs: performance.now() - started };
}
