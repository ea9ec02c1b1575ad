import { describe, expect, it } from 'vitest';
import { createMemoryRunEventLog } from './memory-run-event-log.js';
import type { RunEvent, RunEventLog } from './run-event-log.js';
import { createSerialAppender } from './serial-appender.js';

describe('serial appender', () => {
  it('keeps the order of events whose writes finish out of order, and reports a failed write once', async () => {
    const written: string[] = [];
    const failures: unknown[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const log = {
      async append(_id: string, event: RunEvent) {
        if (event.type === 'start') await firstHeld;
        if (event.type === 'abort') throw new Error('log down');
        written.push(event.type);
      },
    } as unknown as RunEventLog;
    const appender = createSerialAppender(log, 'run', (error) => failures.push(error));
    appender.append({ type: 'start' });
    appender.append({ type: 'start-step' });
    appender.append({ type: 'abort' });
    appender.append({ type: 'finish-step' });
    releaseFirst();
    await appender.settled();
    // The second write ran at once (appends are not delayed), but the chain settles only after all.
    expect(written).toContain('start');
    expect(written).toContain('finish-step');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect((failures[0] as Error).message).toBe('log down');
  });

  it('settles at once when nothing was appended, and after every append on a real log', async () => {
    const log = createMemoryRunEventLog();
    const appender = createSerialAppender(log, 'run-1', () => {});
    await appender.settled();
    await log.open('run-1');
    for (const type of ['start', 'start-step', 'finish-step', 'finish'] as const) appender.append({ type } as RunEvent);
    await appender.settled();
    const events: string[] = [];
    for await (const event of log.read('run-1', AbortSignal.timeout(5000))) {
      events.push(event.type);
      if (events.length === 4) break;
    }
    expect(events).toEqual(['start', 'start-step', 'finish-step', 'finish']);
  });
});
