/**
 * How a message and a session's summary are stored: JSON, sealed with the content cipher when content
 * is encrypted. Every repository that writes or reads messages uses this one codec.
 */
import type { ContentCipher } from './content-cipher.js';
import type { ChatMessage, StoredSummary } from './records.js';

/** A stored message row, as the columns hold it. */
export type StoredMessageRow = { id: string; role: ChatMessage['role']; parts: string; metadata: string | null; createdAt: Date };

/** A message's parts and metadata as stored. */
export type SealedMessage = { parts: string; metadata: string | null };

export class MessageCodec {
  constructor(private readonly cipher: ContentCipher) {}

  /** A stored message row as the message it holds (decrypted when content is encrypted). */
  toMessage(row: StoredMessageRow): ChatMessage {
    return {
      id: row.id,
      role: row.role,
      parts: JSON.parse(this.cipher.open(row.parts)) as ChatMessage['parts'],
      metadata: {
        ...(row.metadata === null ? {} : (JSON.parse(this.cipher.open(row.metadata)) as ChatMessage['metadata'])),
        createdAt: row.createdAt.toISOString(),
      },
    };
  }

  /** A message's parts and metadata as stored: JSON, sealed when content is encrypted (its `createdAt` is a column). */
  seal(message: ChatMessage): SealedMessage {
    const { createdAt: _createdAt, ...kept } = message.metadata ?? {};
    return {
      parts: this.cipher.seal(JSON.stringify(message.parts)),
      metadata: Object.keys(kept).length > 0 ? this.cipher.seal(JSON.stringify(kept)) : null,
    };
  }

  /** A session's stored summary, from its two columns. */
  readSummary(row: { summary: string | null; summaryThroughSeq: number | null }): StoredSummary | undefined {
    if (row.summary === null || row.summaryThroughSeq === null) return undefined;
    return { text: this.cipher.open(row.summary), throughSeq: row.summaryThroughSeq };
  }
}
