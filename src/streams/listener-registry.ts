/** Callbacks registered per run id, for the event logs' stop requests and reader wake-ups. */
export class ListenerRegistry {
  private readonly byRun = new Map<string, Set<() => void>>();

  /** Registers `listener` for `runId`; returns the function that removes it. */
  add(runId: string, listener: () => void): () => void {
    const listeners = this.byRun.get(runId) ?? new Set();
    listeners.add(listener);
    this.byRun.set(runId, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.byRun.get(runId) === listeners) this.byRun.delete(runId);
    };
  }

  /** The runs that have listeners. */
  runIds(): string[] {
    return [...this.byRun.keys()];
  }

  has(runId: string): boolean {
    return this.byRun.has(runId);
  }

  /** Calls every listener of `runId` (a copy, so listeners may remove themselves). */
  notify(runId: string): void {
    for (const listener of [...(this.byRun.get(runId) ?? [])]) listener();
  }

  notifyAll(): void {
    for (const runId of [...this.byRun.keys()]) this.notify(runId);
  }

  clear(): void {
    this.byRun.clear();
  }
}
