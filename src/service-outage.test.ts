import { describe, expect, it } from 'vitest';
import { markOutage, outageOf, unavailableError } from './service-outage.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('outages of backing services', () => {
  it('tells the database and Redis apart from other failures, through wrapping causes', () => {
    expect(outageOf(withCode('terminating connection due to administrator command', '57P01'))).toBe('database');
    expect(outageOf(new Error('Failed query', { cause: withCode('the database system is starting up', '57P03') }))).toBe('database');
    expect(outageOf(new Error('Connection terminated unexpectedly'))).toBe('database');
    expect(outageOf(markOutage(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'database'))).toBe('database');
    expect(
      outageOf(Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' })),
    ).toBe('redis');
    expect(outageOf(new Error('Connection is closed.'))).toBe('redis');
    expect(outageOf(withCode('connect ECONNREFUSED 10.0.0.1:1', 'ECONNREFUSED'))).toBe('unknown');
    // Not outages: bugs and refusals stay what they are.
    expect(outageOf(withCode('duplicate key value violates unique constraint', '23505'))).toBeUndefined();
    expect(outageOf(new TypeError('x is undefined'))).toBeUndefined();
    expect(outageOf('a string')).toBeUndefined();
  });

  it('becomes 503 unavailable with Retry-After and a sentence naming the service', () => {
    const error = unavailableError('database');
    expect(error).toMatchObject({ code: 'unavailable', status: 503, retryable: true });
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.message).toMatch(/database is not answering/);
    expect(unavailableError('unknown').message).toMatch(/a service it depends on/);
  });
});
