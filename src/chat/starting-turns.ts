/**
 * Counts the turns that are between their request and their first output, so that background work
 * (a chat's title) can wait for a moment when no one is waiting for a first token. The server has one
 * thread: anything it does while a turn starts delays that turn.
 */
export class StartingTurns {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** A turn starts; the returned function says it produced its first output (or ended). Idempotent. */
  begin(): () => void {
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      // After the current callbacks: the turn that just answered goes on writing first.
      if (this.count === 0 && this.waiters.length > 0) setImmediate(() => this.wake());
    };
  }

  get starting(): number {
    return this.count;
  }

  /** Resolves at the next moment no turn is starting, or after `maxWaitMs` whatever happens. */
  quiet(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(finish, maxWaitMs);
      timer.unref();
      this.waiters.push(finish);
      if (this.count === 0) setImmediate(() => this.wake());
    });
  }

  private wake(): void {
    if (this.count > 0) return;
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
