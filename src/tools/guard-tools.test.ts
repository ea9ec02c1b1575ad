import { tool, type ToolExecutionOptions } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { guardTools, ToolFailure } from './guard-tools.js';

const options = (abortSignal?: AbortSignal): ToolExecutionOptions => ({ toolCallId: 'c', messages: [], abortSignal });
const run = (guarded: ReturnType<typeof guardTools>, name: string, signal?: AbortSignal) => guarded[name]!.execute!({}, options(signal));

describe('guardTools', () => {
  it('passes a result through untouched', async () => {
    const guarded = guardTools({ echo: tool({ inputSchema: z.object({}), execute: async () => 'fine' }) });
    await expect(run(guarded, 'echo')).resolves.toBe('fine');
  });

  it('fails a tool that does not answer in time with a sentence, and aborts the signal it was given', async () => {
    let given: AbortSignal | undefined;
    const stuck = tool({
      inputSchema: z.object({}),
      execute: (_input, { abortSignal }) => {
        given = abortSignal;
        return new Promise<string>(() => {});
      },
    });
    const failure = await run(guardTools({ stuck }, 50), 'stuck').catch((error: unknown) => error);
    expect(ToolFailure.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toBe('The stuck tool did not answer within 0 s.');
    expect(given?.aborted).toBe(true);
  });

  it('hands the tool the run’s own signal as well', async () => {
    const run_ = new AbortController();
    let given: AbortSignal | undefined;
    const watching = tool({
      inputSchema: z.object({}),
      execute: async (_input, { abortSignal }) => {
        given = abortSignal;
        return 'ok';
      },
    });
    await run(guardTools({ watching }), 'watching', run_.signal);
    expect(given?.aborted).toBe(false);
    run_.abort();
    expect(given?.aborted).toBe(true);
  });

  it('words a thrown error as the tool failing, shortened, without its stack', async () => {
    const broken = tool({
      inputSchema: z.object({}),
      execute: async (): Promise<string> => {
        throw new Error(`database said ${'x'.repeat(1000)}`);
      },
    });
    const failure = (await run(guardTools({ broken }), 'broken').catch((error: unknown) => error)) as Error;
    expect(ToolFailure.isInstance(failure)).toBe(true);
    expect(failure.message).toMatch(/^The broken tool failed: database said x+$/);
    expect(failure.message.length).toBeLessThan(350);
  });

  it('leaves a tool without execute (answered by the client) as it is', () => {
    const clientSide = tool({ inputSchema: z.object({}) });
    expect(guardTools({ clientSide }).clientSide).toBe(clientSide);
  });
});
