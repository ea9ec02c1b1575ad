/**
 * The embedded database on its own thread: rows and PostgreSQL errors come back as PGlite gives
 * them, a turn's statements overtake queued background work without starving it, and a transaction
 * holds the database until it commits or rolls back. Orders are asserted, never durations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteThread, type PgliteClient } from './pglite-thread.js';

describe('PGlite on its own thread', () => {
  let thread: PgliteThread;
  let interactive: PgliteClient;
  let background: PgliteClient;

  beforeAll(async () => {
    ({ thread } = await PgliteThread.start({ setup: 'create table items (id int primary key, note text)' }));
    interactive = thread.client('interactive');
    background = thread.client('background');
  });
  afterAll(async () => {
    await thread?.close();
  });

  it('returns rows as objects or arrays, and leaves asked-for types as text', async () => {
    const objects = await interactive.query<{ n: number; at: Date }>(`select 1::int as n, timestamptz '2026-01-02 03:04:05+00' as at`);
    expect(objects.rows[0]!.n).toBe(1);
    expect(objects.rows[0]!.at).toBeInstanceOf(Date);
    const arrays = await interactive.query<unknown[]>(`select 1::int, timestamptz '2026-01-02 03:04:05+00'`, [], {
      rowMode: 'array',
      parsers: { 1184: (value: string) => value },
    });
    expect(arrays.rows[0]).toEqual([1, '2026-01-02 03:04:05+00']);
  });

  it('reports errors with their SQLSTATE', async () => {
    await interactive.query('insert into items values ($1, $2)', [1, 'first']);
    await expect(interactive.query('insert into items values ($1, $2)', [1, 'again'])).rejects.toMatchObject({ code: '23505' });
    await expect(interactive.query('select from nowhere')).rejects.toMatchObject({ code: '42P01' });
  });

  it('runs a statement a user waits on before queued background work, and still runs the background work', async () => {
    const finished: string[] = [];
    const track = (label: string, client: PgliteClient, sql: string) => client.query(sql).then(() => void finished.push(label));
    // The first statement keeps the thread busy while everything else queues up behind it.
    const all = [track('busy', background, 'select pg_sleep(0.2)')];
    for (let index = 1; index <= 8; index++) all.push(track(`background ${index}`, background, 'select 1'));
    all.push(track('turn', interactive, 'select 1'));
    await Promise.all(all);
    // Only what was already sent when the turn's statement arrived may finish before it.
    expect(finished.indexOf('turn')).toBeLessThanOrEqual(2);
    expect(finished).toHaveLength(10);
  });

  it('gives queued background work a turn while interactive statements keep coming', async () => {
    const finished: string[] = [];
    const track = (label: string, client: PgliteClient, sql: string) => client.query(sql).then(() => void finished.push(label));
    const all = [
      track('busy', interactive, 'select pg_sleep(0.2)'),
      track('sent', interactive, 'select 1'),
      track('background', background, 'select 1'),
    ];
    for (let index = 1; index <= 12; index++) all.push(track(`turn ${index}`, interactive, 'select 1'));
    await Promise.all(all);
    expect(finished.indexOf('background')).toBeLessThan(finished.indexOf('turn 12'));
  });

  it('holds the database for a transaction: a statement sent meanwhile is not part of it', async () => {
    let outside: Promise<unknown> | undefined;
    await expect(
      interactive.transaction(async (tx) => {
        await tx.query('insert into items values ($1, $2)', [4, 'in the transaction']);
        outside = interactive.query('insert into items values ($1, $2)', [5, 'sent during the transaction']);
        await tx.query('select 1');
        throw new Error('roll it back');
      }),
    ).rejects.toThrow('roll it back');
    await outside;
    const { rows } = await interactive.query<{ id: number }>('select id from items where id in (4, 5) order by id');
    expect(rows.map((row) => row.id)).toEqual([5]);
  });

  it('rolls a failed transaction back', async () => {
    await expect(
      interactive.transaction(async (tx) => {
        await tx.query('insert into items values ($1, $2)', [3, 'rolled back']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const { rows } = await interactive.query<{ n: number }>('select count(*)::int as n from items where id = 3');
    expect(rows[0]!.n).toBe(0);
  });

  it('refuses statements once closed', async () => {
    await thread.close();
    await expect(interactive.query('select 1')).rejects.toThrow(/closed/);
  });
});
