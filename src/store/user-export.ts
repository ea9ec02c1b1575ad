/**
 * Everything stored about a user as one JSON document (GDPR access), written out in batches: a page
 * of sessions, then the messages and usage rows of that whole page (never a query per session), each
 * read in pages too. Neither the server's memory nor any single statement grows with how much the
 * user has, and the statements run at the database's background priority, so turns go first.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { AgentsRepository } from './agents-repository.js';
import type { ApprovalsRepository } from './approvals-repository.js';
import type { ExecutionsRepository } from './executions-repository.js';
import type { FeedbackRepository } from './feedback-repository.js';
import type { Db } from './database.js';
import { chatMessages, chatSessions, usageEvents } from './schema.js';
import type { SessionsRepository } from './sessions-repository.js';
import { toUsageEntry } from './usage-rows.js';

/** Sessions per batch; their messages and usage are read together. */
const SESSIONS_PER_BATCH = 100;
/** Rows per read of messages (which can be large) and of usage rows. */
const MESSAGES_PER_READ = 200;
const USAGE_PER_READ = 1000;

type MessageRow = Pick<
  typeof chatMessages.$inferSelect,
  'sessionId' | 'seq' | 'id' | 'role' | 'parts' | 'metadata' | 'createdAt' | 'parentId'
>;

/** Where the previous page ended: its last row's creation time (as text: a JavaScript Date would drop its microseconds) and id. */
type Cursor = { at: string; id: string } | undefined;

/**
 * The document's text, in pieces to be written one after another. The first piece comes once the
 * first statement has answered, so a database that does not answer fails the request before any of
 * it is sent.
 */
export async function* userExportJson(
  deps: {
    db: Db;
    sessions: SessionsRepository;
    agents: AgentsRepository;
    feedback: FeedbackRepository;
    approvals?: ApprovalsRepository;
    executions?: ExecutionsRepository;
  },
  userId: string,
  exportedAt = new Date(),
): AsyncGenerator<string> {
  const { db, sessions } = deps;
  const sessionPage = (cursor: Cursor) =>
    db
      .select({ row: chatSessions, at: sql<string>`${chatSessions.createdAt}::text` })
      .from(chatSessions)
      .where(
        and(
          eq(chatSessions.userId, userId),
          cursor ? sql`(${chatSessions.createdAt}, ${chatSessions.id}) > (${cursor.at}::timestamptz, ${cursor.id}::uuid)` : undefined,
        ),
      )
      .orderBy(asc(chatSessions.createdAt), asc(chatSessions.id))
      .limit(SESSIONS_PER_BATCH);

  let page = await sessionPage(undefined);
  yield `{"userId":${JSON.stringify(userId)},"exportedAt":${JSON.stringify(exportedAt.toISOString())},"sessions":[`;

  let first = true;
  let cursor: Cursor;
  for (;;) {
    if (page.length === 0) break;
    const last = page.at(-1)!;
    cursor = { at: last.at, id: last.row.id };

    // The batch is written in id order, the order its messages and usage rows are read in.
    const batch = page.map((entry) => entry.row).sort((a, b) => (a.id < b.id ? -1 : 1));
    const ids = batch.map((row) => row.id);
    const messages = rowsInOrder<MessageRow>(
      (from) =>
        db
          .select({
            sessionId: chatMessages.sessionId,
            seq: chatMessages.seq,
            id: chatMessages.id,
            role: chatMessages.role,
            parts: chatMessages.parts,
            metadata: chatMessages.metadata,
            createdAt: chatMessages.createdAt,
            parentId: chatMessages.parentId,
          })
          .from(chatMessages)
          .where(
            and(
              inArray(chatMessages.sessionId, ids),
              from ? sql`(${chatMessages.sessionId}, ${chatMessages.seq}) > (${from.sessionId}::uuid, ${from.seq}::int)` : undefined,
            ),
          )
          .orderBy(asc(chatMessages.sessionId), asc(chatMessages.seq))
          .limit(MESSAGES_PER_READ),
      MESSAGES_PER_READ,
    );
    const usage = rowsInOrder<typeof usageEvents.$inferSelect>(
      (from) =>
        db
          .select()
          .from(usageEvents)
          .where(
            and(
              inArray(usageEvents.sessionId, ids),
              from ? sql`(${usageEvents.sessionId}, ${usageEvents.id}) > (${from.sessionId}::uuid, ${from.id}::bigint)` : undefined,
            ),
          )
          .orderBy(asc(usageEvents.sessionId), asc(usageEvents.id))
          .limit(USAGE_PER_READ),
      USAGE_PER_READ,
    );

    for (const row of batch) {
      const summary = JSON.stringify(sessions.toSummary(row));
      // Every message of every branch, each with its parent, and the end of the path the chat shows.
      let text = `${first ? '' : ','}${summary.slice(0, -1)},"activeLeafId":${JSON.stringify(row.activeLeafId)},"messages":[`;
      first = false;
      let separator = '';
      for await (const message of messages.takeWhile((next) => next.sessionId === row.id)) {
        text += separator + JSON.stringify({ ...sessions.toMessage(message), parentId: message.parentId });
        separator = ',';
        if (text.length > 64 * 1024) {
          yield text;
          text = '';
        }
      }
      text += '],"usage":[';
      separator = '';
      for await (const entry of usage.takeWhile((next) => next.sessionId === row.id)) {
        text += separator + JSON.stringify(toUsageEntry(entry));
        separator = ',';
      }
      yield `${text}]}`;
    }
    if (page.length < SESSIONS_PER_BATCH) break;
    page = await sessionPage(cursor);
  }

  yield '],"usage":[';
  first = true;
  cursor = undefined;
  for (;;) {
    const page = await db
      .select({ row: usageEvents, at: sql<string>`${usageEvents.createdAt}::text` })
      .from(usageEvents)
      .where(
        and(
          eq(usageEvents.userId, userId),
          cursor ? sql`(${usageEvents.createdAt}, ${usageEvents.id}) > (${cursor.at}::timestamptz, ${cursor.id}::bigint)` : undefined,
        ),
      )
      .orderBy(asc(usageEvents.createdAt), asc(usageEvents.id))
      .limit(USAGE_PER_READ);
    if (page.length === 0) break;
    cursor = { at: page.at(-1)!.at, id: String(page.at(-1)!.row.id) };
    yield (first ? '' : ',') + page.map(({ row }) => JSON.stringify({ ...toUsageEntry(row), sessionId: row.sessionId })).join(',');
    first = false;
    if (page.length < USAGE_PER_READ) break;
  }

  yield `],"feedback":${JSON.stringify(await deps.feedback.ofUser(userId))}`;
  yield `,"library":${JSON.stringify(await deps.agents.library(userId))}`;
  yield `,"toolApprovals":${JSON.stringify((await deps.approvals?.ofUser(userId)) ?? [])}`;
  // Agent executions with their inputs and output (their usage rows are among "usage" above).
  yield `,"executions":${JSON.stringify(deps.executions ? await deps.executions.allOfUser(userId) : [])}}`;
}

/**
 * Rows read page by page, in the order of the query, handed out while they belong to the current
 * item (`takeWhile`); `read(from)` reads the page after the row `from`.
 */
function rowsInOrder<Row>(read: (from: Row | undefined) => Promise<Row[]>, pageSize: number) {
  let buffered: Row[] = [];
  let last: Row | undefined;
  let exhausted = false;
  const peek = async (): Promise<Row | undefined> => {
    if (buffered.length === 0 && !exhausted) {
      buffered = await read(last);
      if (buffered.length < pageSize) exhausted = true;
    }
    return buffered[0];
  };
  return {
    async *takeWhile(belongs: (row: Row) => boolean): AsyncGenerator<Row> {
      for (let next = await peek(); next !== undefined && belongs(next); next = await peek()) {
        last = buffered.shift();
        yield next;
      }
    },
  };
}
