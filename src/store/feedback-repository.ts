/**
 * Feedback on answers: a thumbs up or down and an optional comment per message, given by the owner
 * of the session. Comments are sealed like message content.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { ContentCipher } from './content-cipher.js';
import type { Db } from './database.js';
import { chatMessages, messageFeedback } from './schema.js';

export type FeedbackRating = (typeof messageFeedback.$inferSelect)['rating'];
export type Feedback = { rating: FeedbackRating; comment?: string; updatedAt: string };

export class FeedbackRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: ContentCipher,
  ) {}

  /**
   * Sets the feedback on an assistant message of the session (replacing earlier feedback). Returns
   * undefined, writing nothing, when the session holds no assistant message with that id.
   */
  async set(sessionId: string, userId: string, messageId: string, rating: FeedbackRating, comment?: string): Promise<Feedback | undefined> {
    const sealed = comment ? this.cipher.seal(comment) : null;
    const [row] = await this.db
      .insert(messageFeedback)
      .select(
        this.db
          .select({
            sessionId: chatMessages.sessionId,
            messageId: chatMessages.id,
            userId: sql<string>`${userId}`.as('user_id'),
            rating: sql<FeedbackRating>`${rating}`.as('rating'),
            comment: sql<string | null>`${sealed}`.as('comment'),
            createdAt: sql<Date>`now()`.as('created_at'),
            updatedAt: sql<Date>`now()`.as('updated_at'),
          })
          .from(chatMessages)
          .where(and(eq(chatMessages.sessionId, sessionId), eq(chatMessages.id, messageId), eq(chatMessages.role, 'assistant'))),
      )
      .onConflictDoUpdate({
        target: [messageFeedback.sessionId, messageFeedback.messageId],
        set: { rating, comment: sealed, updatedAt: sql`now()` },
      })
      .returning();
    return row ? this.toFeedback(row) : undefined;
  }

  /** Removes the feedback on a message; true when there was some. */
  async clear(sessionId: string, messageId: string): Promise<boolean> {
    const removed = await this.db
      .delete(messageFeedback)
      .where(and(eq(messageFeedback.sessionId, sessionId), eq(messageFeedback.messageId, messageId)))
      .returning({ messageId: messageFeedback.messageId });
    return removed.length > 0;
  }

  /** The feedback on a session's messages, by message id. */
  async ofSession(sessionId: string): Promise<Map<string, Feedback>> {
    const rows = await this.db.select().from(messageFeedback).where(eq(messageFeedback.sessionId, sessionId));
    return new Map(rows.map((row) => [row.messageId, this.toFeedback(row)]));
  }

  /** Every feedback row of a user, for their data export. */
  async ofUser(userId: string): Promise<(Feedback & { sessionId: string; messageId: string })[]> {
    const rows = await this.db.select().from(messageFeedback).where(eq(messageFeedback.userId, userId));
    return rows.map((row) => ({ sessionId: row.sessionId, messageId: row.messageId, ...this.toFeedback(row) }));
  }

  private toFeedback(row: typeof messageFeedback.$inferSelect): Feedback {
    return {
      rating: row.rating,
      ...(row.comment === null ? {} : { comment: this.cipher.open(row.comment) }),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}
