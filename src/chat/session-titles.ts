/**
 * Names a chat after its first exchange, off the path of every turn: titles are made one at a time,
 * each when no turn is waiting for its first token (or after a short wait under constant load), with
 * one call of the title model and its statements queued behind any turn's. A title never delays an
 * answer, this chat's or anyone else's.
 */
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { retryWithExponentialBackoff } from '@ai-sdk/provider-utils';
import { APICallError } from 'ai';
import type { Logger } from 'pino';
import { costFrom } from '../llm/upstream-cost.js';
import type { SessionsRepository } from '../store/sessions-repository.js';
import { toUsage } from '../usage/call-usage.js';
import type { StartingTurns } from './starting-turns.js';
import { titleText } from './title-text.js';
import type { ChatMessage, RunResult } from './types.js';
import { errorSummary } from '../logger.js';

const INSTRUCTION =
  'Write a short title (at most 6 words) for a chat that starts with the message below. Reply with the title only, no quotes.';
/** The longest a title waits for a quiet moment, by default. */
const MAX_WAIT_MS = 2000;
/** Titles waiting beyond this many are not made (the chat keeps no title): a title is a nicety. */
const MAX_WAITING = 1000;

export type TitleRequest = {
  sessionId: string;
  userId: string;
  firstMessage: string;
  /** False: name the chat by the first words of its message without asking the model (it just failed). */
  askModel?: boolean;
};

export type SessionTitles = {
  /** Asks for a title; it is made later. */
  request(title: TitleRequest): void;
  /** Resolves when every title asked for so far is made (or given up). */
  settled(): Promise<void>;
  /** Makes no more titles, and abandons the one being made. */
  stop(): void;
};

export function createSessionTitles(deps: {
  model: LanguageModelV3;
  modelId: string;
  maxRetries: number;
  /** Sessions on the database's background priority. */
  sessions: SessionsRepository;
  turns: StartingTurns;
  log: Logger;
  maxWaitMs?: number;
}): SessionTitles {
  const waiting: TitleRequest[] = [];
  let working: Promise<void> | undefined;
  let stopped = false;
  const abort = new AbortController();

  async function work(): Promise<void> {
    while (waiting.length > 0 && !stopped) {
      await deps.turns.quiet(deps.maxWaitMs ?? MAX_WAIT_MS);
      const next = waiting.shift();
      if (next && !stopped) await makeTitle(next);
    }
    working = undefined;
  }

  async function makeTitle({ sessionId, userId, firstMessage, askModel = true }: TitleRequest): Promise<void> {
    // The chat gets a name a person can recognise even when the model gives none: its first words.
    const firstWords = () =>
      deps.sessions.setTitleIfEmpty(sessionId, titleText(firstMessage.split(/\s+/).slice(0, 8).join(' '))).catch((error: unknown) => {
        if (!stopped) deps.log.warn({ sessionId, err: errorSummary(error) }, 'naming a chat by its first words failed');
      });
    if (!askModel) return firstWords();
    try {
      const call = () =>
        deps.model.doGenerate({
          prompt: [
            { role: 'system', content: INSTRUCTION },
            { role: 'user', content: [{ type: 'text', text: `Message: ${firstMessage.slice(0, 2000)}` }] },
          ],
          maxOutputTokens: 30,
          abortSignal: abort.signal,
        });
      const result =
        deps.maxRetries > 0
          ? await retryWithExponentialBackoff({
              maxRetries: deps.maxRetries,
              initialDelayInMs: 2000,
              backoffFactor: 2,
              abortSignal: abort.signal,
              shouldRetry: async (error) => APICallError.isInstance(error) && error.isRetryable,
            })(call)
          : await call();
      const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
      const title = titleText(text);
      await deps.sessions.setTitleIfEmpty(sessionId, title);
      const usage = { inputTokens: result.usage.inputTokens.total, outputTokens: result.usage.outputTokens.total };
      await deps.sessions.addUsage(userId, sessionId, [toUsage(usage, deps.modelId, 0, 'title', costFrom(result.providerMetadata))]);
    } catch (error) {
      if (stopped) return;
      deps.log.warn({ sessionId, err: errorSummary(error) }, 'title generation failed; the first words of the chat name it');
      await firstWords();
    }
  }

  return {
    request(title) {
      if (stopped || !title.firstMessage) return;
      if (waiting.length >= MAX_WAITING) {
        deps.log.warn({ sessionId: title.sessionId, waiting: waiting.length }, 'too many titles waiting: this chat gets none');
        return;
      }
      waiting.push(title);
      working ??= work();
    },
    async settled() {
      while (working) await working;
    },
    stop() {
      stopped = true;
      waiting.length = 0;
      abort.abort();
    },
  };
}

/**
 * Whether and when a run names its chat. Only the first exchange names a session (later runs never
 * pay for a title); it is asked for as the answer starts streaming rather than after it, when the
 * next turn may be starting. A first answer that ended before any output (stopped, or failed) still
 * leaves a chat to find again; after a failure the provider is not asked again: the first words name it.
 */
export function firstExchangeTitle(
  titles: Pick<SessionTitles, 'request'>,
  run: { sessionId: string; userId: string; title: string | null; history: ChatMessage[] },
): { onFirstOutput(first: { type: string }): void; onEnded(outcome: RunResult, kept: boolean): void } {
  const firstExchange = run.title === null && run.history.filter((message) => message.role === 'user').length === 1;
  let titled = false;
  const request = (askModel = true) =>
    titles.request({ sessionId: run.sessionId, userId: run.userId, firstMessage: textOf(run.history), askModel });
  return {
    onFirstOutput(first) {
      if (first.type !== 'error' && firstExchange) {
        titled = true;
        request();
      }
    },
    onEnded(outcome, kept) {
      if (firstExchange && !titled && !kept) request(outcome !== 'failed');
    },
  };
}

/** The text of the first user message of a history (what a title is made from). */
function textOf(history: ChatMessage[]): string {
  return (
    history
      .find((message) => message.role === 'user')
      ?.parts.map((part) => (part.type === 'text' ? part.text : ''))
      .join(' ') ?? ''
  );
}
