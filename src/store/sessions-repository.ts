/**
 * Sessions and their append-only message history. Appending is one INSERT whose sequence number is
 * computed by the database from the (session_id, seq) index, so its cost does not grow with history.
 */
import { and, asc, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { ContentCipher } from './content-cipher.js';
import { queryRows, type Db } from './database.js';
import { MessageCodec, type SealedMessage, type StoredMessageRow } from './message-codec.js';
import type {
  ChatMessage,
  ChatSession,
  NewUsage,
  RunOutcome,
  SessionMessage,
  SessionRecord,
  StoredSummary,
  UsageEntry,
} from './records.js';
import { agentExecutions, chatMessages, chatRuns, chatSessions, libraryAgents, messageFeedback, usageEvents } from './schema.js';
import { costOf, toUsageEntry } from './usage-rows.js';

type SessionRow = typeof chatSessions.$inferSelect;

type PlacedRow = {
  id: string;
  role: ChatMessage['role'];
  parts: string;
  metadata: string | null;
  createdAt: Date | string;
  parentId: string | null;
  siblingIds: string;
};

/**
 * Where a page of the session list ends: the last session's `updated_at`, to the microsecond the
 * database keeps (an ISO time with six decimals), and its id. A millisecond would not do: sessions
 * created together share milliseconds, and the rows of the last one on a page would be skipped.
 */
export type SessionCursor = { updatedAt: string; id: string };

/** Where a page of sessions in creation order ends (for the export); like `SessionCursor`. */
export type CreationCursor = { createdAt: string; id: string };

export type SessionsPage = { sessions: SessionRecord[]; nextCursor: CreationCursor | null };

/** A timestamp as an ISO text with all six decimals the column keeps, in UTC. */
const exactTime = (column: SQL) => sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export class SessionsRepository {
  private readonly codec: MessageCodec;

  constructor(
    private readonly db: Db,
    private readonly cipher: ContentCipher,
  ) {
    this.codec = new MessageCodec(cipher);
  }

  async create(id: string, userId: string, title: string | null = null): Promise<SessionRecord> {
    const [row] = await this.db
      .insert(chatSessions)
      .values({ id, userId, title: title === null ? null : this.cipher.seal(title) })
      .returning();
    return this.toSummary(row!);
  }

  /** Creates the session unless one has this id already; true when it was created. */
  async createIfAbsent(id: string, userId: string): Promise<boolean> {
    const rows = await this.db.insert(chatSessions).values({ id, userId }).onConflictDoNothing().returning({ id: chatSessions.id });
    return rows.length > 0;
  }

  async findRow(id: string): Promise<SessionRow | undefined> {
    const [row] = await this.db.select().from(chatSessions).where(eq(chatSessions.id, id));
    return row;
  }

  async summary(id: string): Promise<SessionRecord | undefined> {
    const row = await this.findRow(id);
    return row && this.toSummary(row);
  }

  /** The session with its active path (each message with its place in the tree) and all its usage. */
  async load(id: string): Promise<ChatSession | undefined> {
    const row = await this.findRow(id);
    if (!row) return undefined;
    const [messages, usage] = await Promise.all([this.activePath(id), this.usage(id)]);
    return { ...this.toSummary(row), messages, usage };
  }

  /**
   * The path from the first message to the session's active leaf (its latest message when it has
   * no leaf yet), root first, each message with its parent and its siblings (same parent, oldest
   * first): what the session shows and the model sees. One statement.
   */
  async activePath(sessionId: string): Promise<SessionMessage[]> {
    const rows = await queryRows<PlacedRow>(
      this.db,
      sql`
      with recursive path as (
        select m.id, m.parent_id, 0 as depth from chat_messages m
        where m.session_id = ${sessionId} and m.id = coalesce(
          (select active_leaf_id from chat_sessions where id = ${sessionId}),
          (select id from chat_messages where session_id = ${sessionId} order by seq desc limit 1))
        union all
        -- A lateral key lookup per step: a plain join lets the planner hash the whole session at every step.
        select m.id, m.parent_id, path.depth + 1 from path
          cross join lateral (
            select p.id, p.parent_id from chat_messages p where p.session_id = ${sessionId} and p.id = path.parent_id limit 1
          ) m
      )
      , siblings as (
        -- The children of the path's parents (and the first messages), grouped by parent: index
        -- lookups, one group per step of the path.
        select coalesce(s.parent_id, '') as parent_key, json_agg(s.id order by s.seq)::text as ids
        from chat_messages s
        where s.session_id = ${sessionId}
          and (s.parent_id in (select parent_id from path where parent_id is not null) or s.parent_id is null)
        group by 1
      )
      select m.id, m.role, m.parts, m.metadata, m.created_at as "createdAt", m.parent_id as "parentId", sib.ids as "siblingIds"
      from path join chat_messages m on m.session_id = ${sessionId} and m.id = path.id
        join siblings sib on sib.parent_key = coalesce(m.parent_id, '')
      order by path.depth desc`,
    );
    return rows.map((row) => {
      const siblingIds = JSON.parse(row.siblingIds) as string[];
      const index = siblingIds.indexOf(row.id);
      return {
        ...this.toMessage({ ...row, createdAt: new Date(row.createdAt) }),
        parentId: row.parentId,
        siblingIds,
        branch: { index, count: siblingIds.length },
      };
    });
  }

  /** Every message of the session, on every branch, in the order stored, each with its parent. */
  async messages(sessionId: string): Promise<SessionMessage[]> {
    const rows = await this.db
      .select({
        id: chatMessages.id,
        role: chatMessages.role,
        parts: chatMessages.parts,
        metadata: chatMessages.metadata,
        createdAt: chatMessages.createdAt,
        parentId: chatMessages.parentId,
      })
      .from(chatMessages)
      .where(eq(chatMessages.sessionId, sessionId))
      .orderBy(asc(chatMessages.seq));
    return rows.map((row) => ({ ...this.toMessage(row), parentId: row.parentId }));
  }

  async hasMessage(sessionId: string, messageId: string): Promise<boolean> {
    const rows = await this.db
      .select({ id: chatMessages.id })
      .from(chatMessages)
      .where(and(eq(chatMessages.sessionId, sessionId), eq(chatMessages.id, messageId)));
    return rows.length > 0;
  }

  /** Which of `ids` are stored in the session (on any branch). */
  async storedAmong(sessionId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ id: chatMessages.id })
      .from(chatMessages)
      .where(and(eq(chatMessages.sessionId, sessionId), inArray(chatMessages.id, ids)));
    return new Set(rows.map((row) => row.id));
  }

  /**
   * The user message a regenerate answers: the parent of the answer `messageId`, or that message
   * itself when it is a user message; without one, the same for the session's active leaf.
   * Undefined when there is no such user message.
   */
  async questionOf(sessionId: string, messageId: string | undefined): Promise<string | undefined> {
    const [row] = await queryRows<{ id: string | null }>(
      this.db,
      sql`
      with target as (
        select m.id, m.role, m.parent_id from chat_messages m
        where m.session_id = ${sessionId}
          and m.id = coalesce(${messageId ?? null}::text, (select active_leaf_id from chat_sessions where id = ${sessionId}))
      )
      select case when t.role = 'user' then t.id
        else (select p.id from chat_messages p where p.session_id = ${sessionId} and p.id = t.parent_id and p.role = 'user') end as id
      from target t`,
    );
    return row?.id ?? undefined;
  }

  /**
   * Makes the latest leaf under `messageId` (the message itself if it has no replies) the session's
   * active leaf, for the session's owner while no answer is being generated. Its latest descendant is
   * a leaf: a reply is always stored after what it replies to. Returns what happened.
   */
  async switchLeaf(sessionId: string, userId: string, messageId: string): Promise<'switched' | 'no_message' | 'running' | 'no_session'> {
    const [row] = await queryRows<{ outcome: string }>(
      this.db,
      sql`
      with recursive below as (
          select m.id, m.seq from chat_messages m where m.session_id = ${sessionId} and m.id = ${messageId}
          union all
          select c.id, c.seq from below
            cross join lateral (select r.id, r.seq from chat_messages r where r.session_id = ${sessionId} and r.parent_id = below.id) c
        ),
        leaf as (select id from below order by seq desc limit 1),
        switched as (
          update chat_sessions set active_leaf_id = (select id from leaf)
          where id = ${sessionId} and user_id = ${userId} and status = 'idle' and exists (select 1 from leaf)
          returning id
        )
      select case
        when exists (select 1 from switched) then 'switched'
        when not exists (select 1 from chat_sessions where id = ${sessionId} and user_id = ${userId}) then 'no_session'
        when not exists (select 1 from leaf) then 'no_message'
        else 'running' end as outcome`,
    );
    return row!.outcome as 'switched' | 'no_message' | 'running' | 'no_session';
  }

  /** A stored message row as the message it holds (decrypted when content is encrypted). */
  toMessage(row: StoredMessageRow): ChatMessage {
    return this.codec.toMessage(row);
  }

  async usage(sessionId: string): Promise<UsageEntry[]> {
    const rows = await this.db.select().from(usageEvents).where(eq(usageEvents.sessionId, sessionId)).orderBy(asc(usageEvents.id));
    return rows.map(toUsageEntry);
  }

  async messageIds(sessionId: string): Promise<Set<string>> {
    const rows = await this.db.select({ id: chatMessages.id }).from(chatMessages).where(eq(chatMessages.sessionId, sessionId));
    return new Set(rows.map((row) => row.id));
  }

  /** The caller's sessions, most recently active first, `limit` at a time. */
  async list(userId: string, limit: number, cursor?: SessionCursor) {
    const after = cursor
      ? sql`(${chatSessions.updatedAt}, ${chatSessions.id}) < (${cursor.updatedAt}::timestamptz, ${cursor.id}::uuid)`
      : undefined;
    const rows = await this.db
      .select({ ...getTableColumns(chatSessions), at: exactTime(sql`${chatSessions.updatedAt}`) })
      .from(chatSessions)
      .where(and(eq(chatSessions.userId, userId), after))
      .orderBy(desc(chatSessions.updatedAt), desc(chatSessions.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor: SessionCursor | null = rows.length > limit && last ? { updatedAt: last.at, id: last.id } : null;
    return { sessions: page.map((row) => this.toSummary(row)), nextCursor };
  }

  /** The caller's sessions, newest first by creation (which never changes), `limit` at a time. */
  async listByCreation(userId: string, limit: number, cursor?: CreationCursor): Promise<SessionsPage> {
    const after = cursor
      ? sql`(${chatSessions.createdAt}, ${chatSessions.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id}::uuid)`
      : undefined;
    const rows = await this.db
      .select({ ...getTableColumns(chatSessions), at: exactTime(sql`${chatSessions.createdAt}`) })
      .from(chatSessions)
      .where(and(eq(chatSessions.userId, userId), after))
      .orderBy(desc(chatSessions.createdAt), desc(chatSessions.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      sessions: page.map((row) => this.toSummary(row)),
      nextCursor: rows.length > limit && last ? { createdAt: last.at, id: last.id } : null,
    };
  }

  /**
   * Appends one message in a single statement: the next sequence number comes from the index, and the
   * session's `updated_at` moves in the same statement. Returns false when the id is already stored
   * (a retried request), so a message is never saved twice. Without a `parentId` (or with one not
   * stored in the session) the message continues the active path (migration 0011's trigger).
   */
  async append(sessionId: string, message: SessionMessage): Promise<boolean> {
    const { parts, metadata } = this.seal(message);
    const parentId = typeof message.parentId === 'string' ? message.parentId : null;
    const updated = await queryRows(
      this.db,
      sql`
      with inserted as (
        insert into chat_messages (id, session_id, seq, role, parts, metadata, parent_id)
        values (
          ${message.id}, ${sessionId},
          (select coalesce(max(seq), -1) + 1 from chat_messages where session_id = ${sessionId}),
          ${message.role}, ${parts}, ${metadata},
          (select id from chat_messages where session_id = ${sessionId} and id = ${parentId}::text)
        )
        on conflict (session_id, id) do nothing
        returning session_id
      )
      update chat_sessions set updated_at = now()
      where id = (select session_id from inserted)
      returning id`,
    );
    return updated.length === 1;
  }

  /** A message's parts and metadata as stored: JSON, sealed when content is encrypted. */
  seal(message: ChatMessage): SealedMessage {
    return this.codec.seal(message);
  }

  async setTitle(id: string, title: string): Promise<void> {
    await this.db
      .update(chatSessions)
      .set({ title: this.cipher.seal(title) })
      .where(eq(chatSessions.id, id));
  }

  /** Sets the title only if none was set meanwhile (a person's own title wins over a generated one). */
  async setTitleIfEmpty(id: string, title: string): Promise<void> {
    await this.db
      .update(chatSessions)
      .set({ title: this.cipher.seal(title) })
      .where(and(eq(chatSessions.id, id), sql`${chatSessions.title} is null`));
  }

  /** Stores the summary of the path up to `throughSeq` (its position), whose message there is `throughId`. */
  async setSummary(id: string, summary: string, throughSeq: number, throughId: string | null): Promise<void> {
    await this.db
      .update(chatSessions)
      .set({ summary: this.cipher.seal(summary), summaryThroughSeq: throughSeq, summaryThroughId: throughId })
      .where(eq(chatSessions.id, id));
  }

  readSummary(row: Pick<SessionRow, 'summary' | 'summaryThroughSeq'>): StoredSummary | undefined {
    return this.codec.readSummary(row);
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.db.delete(chatSessions).where(eq(chatSessions.id, id)).returning({ id: chatSessions.id });
    return rows.length > 0;
  }

  async addUsage(userId: string, sessionId: string | null, usage: NewUsage[]): Promise<void> {
    if (usage.length === 0) return;
    await this.db.insert(usageEvents).values(
      usage.map((entry) => ({
        userId,
        sessionId,
        kind: entry.kind,
        model: entry.model,
        promptTokens: entry.promptTokens,
        completionTokens: entry.completionTokens,
        totalTokens: entry.totalTokens,
        costUsd: costOf(entry),
        estimated: entry.estimated ?? false,
      })),
    );
  }

  async usageOfUser(userId: string): Promise<(UsageEntry & { sessionId: string | null })[]> {
    const rows = await this.db.select().from(usageEvents).where(eq(usageEvents.userId, userId)).orderBy(asc(usageEvents.id));
    return rows.map((row) => ({ ...toUsageEntry(row), sessionId: row.sessionId }));
  }

  async runIdsOfUser(userId: string): Promise<string[]> {
    const rows = await this.db.select({ id: chatRuns.id }).from(chatRuns).where(eq(chatRuns.userId, userId));
    return rows.map((row) => row.id);
  }

  /**
   * Deletes every row of a user: sessions (and with them messages and runs), usage, library. With
   * `keep`, the tokens they spent since `since` (the budget week) are first added to `erased_usage`
   * per UTC day under the anonymous `subject`, so erasure does not reset their budget; counters
   * older than any budget window are dropped in passing.
   */
  async eraseUser(userId: string, keep?: { subject: string; since: Date }): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (keep) {
        await tx.execute(sql`
          insert into erased_usage (subject, day, total_tokens)
          select ${keep.subject}, (created_at at time zone 'UTC')::date, sum(total_tokens)
          from usage_events where user_id = ${userId} and created_at >= ${keep.since.toISOString()}::timestamptz
          group by 2
          on conflict (subject, day) do update set total_tokens = erased_usage.total_tokens + excluded.total_tokens`);
        await tx.execute(sql`delete from erased_usage where day < ${keep.since.toISOString().slice(0, 10)}::date`);
      }
      await tx.delete(usageEvents).where(eq(usageEvents.userId, userId));
      await tx.delete(libraryAgents).where(eq(libraryAgents.userId, userId));
      await tx.delete(messageFeedback).where(eq(messageFeedback.userId, userId));
      await tx.delete(chatRuns).where(eq(chatRuns.userId, userId));
      await tx.delete(agentExecutions).where(eq(agentExecutions.userId, userId));
      await tx.delete(chatSessions).where(eq(chatSessions.userId, userId));
    });
  }

  toSummary(row: SessionRow): SessionRecord {
    return {
      sessionId: row.id,
      userId: row.userId,
      title: row.title === null ? null : this.cipher.open(row.title),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      status: row.status,
      lastRunStatus: (row.lastRunStatus as RunOutcome | null) ?? null,
    };
  }
}
