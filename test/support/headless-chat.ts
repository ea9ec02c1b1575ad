/**
 * The AI SDK's own chat client without React: `AbstractChat` (what `useChat` wraps) over a plain
 * in-memory state, driving autochat through `DefaultChatTransport` exactly as a browser would.
 */
import { AbstractChat, DefaultChatTransport, type ChatInit, type ChatState, type ChatStatus, type UIMessage } from 'ai';

class MemoryChatState<M extends UIMessage> implements ChatState<M> {
  status: ChatStatus = 'ready';
  error: Error | undefined = undefined;
  constructor(public messages: M[] = []) {}
  pushMessage = (message: M) => {
    this.messages = [...this.messages, message];
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index: number, message: M) => {
    this.messages = [...this.messages.slice(0, index), message, ...this.messages.slice(index + 1)];
  };
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

export class HeadlessChat<M extends UIMessage = UIMessage> extends AbstractChat<M> {
  constructor(init: ChatInit<M>) {
    super({ ...init, state: new MemoryChatState<M>(init.messages) });
  }
}

/** A headless chat against `api` with the transport's defaults (no prepare… functions). */
export function defaultChat(api: string, id: string, init: Partial<ChatInit<UIMessage>> = {}): HeadlessChat {
  return new HeadlessChat({ id, transport: new DefaultChatTransport({ api }), ...init });
}
