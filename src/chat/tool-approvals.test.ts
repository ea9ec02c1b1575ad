import type { LanguageModelV3, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { tool, type UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ResumedRun } from '../store/approvals-repository.js';
import { AnswerBuilder } from './answer-builder.js';
import { generate, type ApprovalRequest } from './generation.js';
import { endedAnswer, logIdOf, modelViewOf, runAnsweredCalls } from './tool-approvals.js';
import type { ChatMessage } from './types.js';

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 3, text: 3, reasoning: undefined },
};
const replies = (parts: LanguageModelV3StreamPart[][]): LanguageModelV3 => ({
  specificationVersion: 'v3',
  provider: 'test',
  modelId: 'scripted',
  supportedUrls: {},
  doGenerate: () => Promise.reject(new Error('not used')),
  async doStream() {
    const reply = parts.shift();
    if (!reply) throw new Error('no reply scripted');
    return {
      stream: new ReadableStream({ start: (controller) => (reply.forEach((part) => controller.enqueue(part)), controller.close()) }),
    };
  },
});
const callParts = (name: string, input: string, id: string): LanguageModelV3StreamPart[] => [
  { type: 'tool-input-start', id, toolName: name },
  { type: 'tool-input-delta', id, delta: input },
  { type: 'tool-input-end', id },
  { type: 'tool-call', toolCallId: id, toolName: name, input },
];

describe('a tool call that needs approval', () => {
  it('is announced and not run; the step ends and the loop stops, other calls of the step run', async () => {
    const ran: string[] = [];
    const tools = {
      shout: tool({
        inputSchema: z.object({ text: z.string() }),
        execute: async ({ text }) => (ran.push(`shout ${text}`), text.toUpperCase()),
      }),
      look: tool({ inputSchema: z.object({ word: z.string() }), execute: async ({ word }) => (ran.push(`look ${word}`), word) }),
    };
    const chunks: UIMessageChunk[] = [];
    let asked: ApprovalRequest[] | undefined;
    const model = replies([
      [
        ...callParts('shout', '{"text":"hi"}', 'c1'),
        ...callParts('look', '{"word":"x"}', 'c2'),
        { type: 'finish', usage, finishReason: { unified: 'tool-calls', raw: 'tool_calls' } },
      ],
    ]);
    const reason = await generate({
      model,
      system: '',
      messages: [{ role: 'user', content: 'go' }],
      tools,
      maxSteps: 3,
      maxRetries: 0,
      signal: new AbortController().signal,
      emit: (chunk) => chunks.push(chunk),
      onStep: () => {},
      needsApproval: (name) => name === 'shout',
      onApprovalRequests: (requests) => (asked = requests),
    });
    expect(reason).toBe('tool-calls');
    expect(ran).toEqual(['look x']);
    expect(asked).toEqual([{ approvalId: expect.any(String), toolCallId: 'c1', toolName: 'shout', input: { text: 'hi' } }]);
    const types = chunks.map((chunk) => chunk.type);
    expect(types.indexOf('tool-approval-request')).toBeGreaterThan(types.indexOf('tool-input-available'));
    expect(types.at(-1)).toBe('finish-step');
    expect(types.filter((type) => type === 'start-step')).toHaveLength(1);
  });

  it('resumes: approved calls run, denied ones are reported, on the same answer', async () => {
    const builder = new AnswerBuilder('answer-1');
    for (const chunk of [
      { type: 'start-step' },
      { type: 'tool-input-available', toolCallId: 'c1', toolName: 'shout', input: { text: 'hi' } },
      { type: 'tool-approval-request', toolCallId: 'c1', approvalId: 'a1' },
      { type: 'tool-input-available', toolCallId: 'c2', toolName: 'shout', input: { text: 'no' } },
      { type: 'tool-approval-request', toolCallId: 'c2', approvalId: 'a2' },
    ] as UIMessageChunk[])
      builder.apply(chunk);
    const paused = builder.message({ waiting: true });
    expect(paused.parts.filter((part) => (part as { state?: string }).state === 'approval-requested')).toHaveLength(2);
    // A stored answer never keeps a call that waits.
    expect(builder.message().parts).toEqual([]);

    const answer = AnswerBuilder.continuing(paused);
    const emitted: UIMessageChunk[] = [];
    const approval = { runId: 'r', sessionId: 's', requestedAt: '', expiresAt: '', toolName: 'shout' };
    await runAnsweredCalls(
      {
        answer: paused,
        approvals: [
          { ...approval, approvalId: 'a1', toolCallId: 'c1', input: { text: 'hi' }, approved: true },
          { ...approval, approvalId: 'a2', toolCallId: 'c2', input: { text: 'no' }, approved: false, reason: 'too loud' },
        ],
      },
      answer,
      {
        tools: { shout: tool({ inputSchema: z.object({ text: z.string() }), execute: async ({ text }) => text.toUpperCase() }) },
        signal: new AbortController().signal,
        emit: (chunk) => (emitted.push(chunk), answer.apply(chunk)),
      },
    );
    expect(emitted).toEqual([
      { type: 'tool-output-available', toolCallId: 'c1', output: 'HI' },
      { type: 'tool-output-denied', toolCallId: 'c2' },
    ]);
    const message = answer.message();
    expect(message.id).toBe('answer-1');
    expect(message.parts).toEqual([
      { type: 'step-start' },
      {
        type: 'tool-shout',
        toolCallId: 'c1',
        state: 'output-available',
        input: { text: 'hi' },
        output: 'HI',
        approval: { id: 'a1', approved: true },
      },
      {
        type: 'tool-shout',
        toolCallId: 'c2',
        state: 'output-denied',
        input: { text: 'no' },
        approval: { id: 'a2', approved: false, reason: 'too loud' },
      },
    ]);

    // The model is shown the denial as a tool error with the reason, and no approval bookkeeping.
    const [shown] = modelViewOf([message]);
    expect(shown!.parts[1]).toEqual({
      type: 'tool-shout',
      toolCallId: 'c1',
      state: 'output-available',
      input: { text: 'hi' },
      output: 'HI',
    });
    expect(shown!.parts[2]).toMatchObject({ state: 'output-error', errorText: expect.stringContaining('too loud') });
  });

  it('ends unanswered: waiting calls are shown denied, approved ones as not run', () => {
    const answer: ChatMessage = {
      id: 'answer-2',
      role: 'assistant',
      parts: [
        { type: 'text', text: 'Let me try.', state: 'done' },
        { type: 'tool-shout', toolCallId: 'c1', state: 'approval-requested', input: { text: 'a' }, approval: { id: 'a1' } },
        { type: 'tool-shout', toolCallId: 'c2', state: 'approval-requested', input: { text: 'b' }, approval: { id: 'a2' } },
      ] as ChatMessage['parts'],
    };
    const base = { runId: 'r', sessionId: 's', requestedAt: '', expiresAt: '', toolName: 'shout' };
    const resumed: ResumedRun = {
      runId: 'r',
      sessionId: 's',
      userId: 'u',
      resumes: 1,
      answer,
      approvals: [
        { ...base, approvalId: 'a1', toolCallId: 'c1', input: { text: 'a' }, approved: true },
        { ...base, approvalId: 'a2', toolCallId: 'c2', input: { text: 'b' }, approved: false, reason: 'expired' },
      ],
    };
    const ended = endedAnswer(resumed);
    expect(ended.parts.map((part) => (part as { state?: string }).state)).toEqual(['done', 'output-error', 'output-denied']);
    expect(logIdOf('r', 0)).toBe('r');
    expect(logIdOf('r', 2)).toBe('r.2');
  });
});
