/**
 * Makes tool failures safe to show: a tool that throws, or runs longer than its time limit, fails
 * with a `ToolFailure` whose message is short and meant for the model and the person. The run tells
 * these apart from upstream failures: a failed tool is reported on the tool and the answer goes on.
 */
import type { Tool, ToolSet } from 'ai';

const marker = Symbol.for('autochat.tool-failure');

export class ToolFailure extends Error {
  override readonly name = 'ToolFailure';
  readonly [marker] = true;
  static isInstance(error: unknown): error is ToolFailure {
    return typeof error === 'object' && error !== null && marker in error;
  }
}

export const TOOL_TIMEOUT_MS = 30_000;

export function guardTools(tools: ToolSet, timeoutMs = TOOL_TIMEOUT_MS): ToolSet {
  return Object.fromEntries(Object.entries(tools).map(([name, tool]) => [name, guardTool(name, tool, timeoutMs)]));
}

function guardTool(name: string, tool: Tool, timeoutMs: number): Tool {
  const execute = tool.execute;
  if (!execute) return tool;
  return {
    ...tool,
    execute: async (input: unknown, options: Parameters<typeof execute>[1]) => {
      // The tool is handed the deadline too (with the run's own signal), so that a tool which honours
      // its signal stops its work; one that does not is still not waited for.
      const deadline = AbortSignal.timeout(timeoutMs);
      const abortSignal = options.abortSignal ? AbortSignal.any([options.abortSignal, deadline]) : deadline;
      const timedOut = new Promise<never>((_, reject) => {
        deadline.addEventListener(
          'abort',
          () => reject(new ToolFailure(`The ${name} tool did not answer within ${Math.round(timeoutMs / 1000)} s.`)),
          {
            once: true,
          },
        );
      });
      timedOut.catch(() => undefined);
      try {
        return await Promise.race([execute(input as never, { ...options, abortSignal }), timedOut]);
      } catch (error) {
        if (ToolFailure.isInstance(error)) throw error;
        if (deadline.aborted) throw new ToolFailure(`The ${name} tool did not answer within ${Math.round(timeoutMs / 1000)} s.`);
        const reason = error instanceof Error ? error.message : String(error);
        throw new ToolFailure(`The ${name} tool failed: ${reason.slice(0, 300)}`);
      }
    },
  } as Tool;
}
