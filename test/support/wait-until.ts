/** Waits for a condition a test cannot be told about by an event (a process gone, a server answering). */

/** Polls `check` until it answers true, for at most `timeoutMs`; an exception from `check` ends the wait. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
