/**
 * The start-up check of the encryption keys against the database, so that a wrong `ENCRYPTION_KEY`
 * stops autochat at once instead of answering 500 on old sessions and writing new content under a
 * key the rest of the data does not share.
 *
 * The database keeps one row per key that content was ever written with, holding a known text sealed
 * under it (`autochat_key_checks`). At start every such key must be configured — as `ENCRYPTION_KEY`
 * or in `ENCRYPTION_KEYS_PREVIOUS` — and must open its check; the current key's row is written before
 * anything is sealed with it. A key that is no longer configured and that no stored value uses any
 * more is retired (its row deleted); one that still has content refuses the start.
 */
import { eq, sql } from 'drizzle-orm';
import type { ContentCipher } from './content-cipher.js';
import { queryRows, type Db } from './database.js';
import { keyChecks } from './schema.js';

const CHECK_TEXT = 'autochat key check';

const marker = Symbol.for('autochat.key-check-error');

/** Raised when the configured keys do not fit the database; the message says which variable to fix. */
export class KeyCheckError extends Error {
  override readonly name = 'KeyCheckError';
  readonly [marker] = true;
  static isInstance(error: unknown): error is KeyCheckError {
    return typeof error === 'object' && error !== null && marker in error;
  }
}

export type KeyCheckResult = { verified: string[]; added?: string; retired: string[] };

/** Checks the configured keys against the database (see the module comment); throws `KeyCheckError`. */
export async function verifyEncryptionKeys(db: Db, cipher: ContentCipher): Promise<KeyCheckResult> {
  const rows = await db.select().from(keyChecks);
  const configured = new Set(cipher.keyIds);
  const result: KeyCheckResult = { verified: [], retired: [] };

  // First every check, then any change: a refused start changes nothing.
  const retire: string[] = [];
  const unverified: string[] = [];
  for (const row of rows) {
    if (!configured.has(row.keyId)) {
      if (await sealedValueWith(db, row.keyId)) throw new KeyCheckError(missingKey(row.keyId, cipher));
      retire.push(row.keyId);
    } else if (row.sealedCheck !== null) {
      if (!opens(cipher, row.sealedCheck)) throw new KeyCheckError(wrongKey(row.keyId, cipher));
      result.verified.push(row.keyId);
    } else {
      // A key found in data written before key checks existed: prove it on a value it sealed.
      const sample = await sealedValueWith(db, row.keyId);
      if (sample !== undefined && !opens(cipher, sample)) throw new KeyCheckError(wrongKey(row.keyId, cipher));
      unverified.push(row.keyId);
    }
  }
  for (const keyId of retire) {
    await db.delete(keyChecks).where(eq(keyChecks.keyId, keyId));
    result.retired.push(keyId);
  }
  for (const keyId of unverified) {
    await db
      .update(keyChecks)
      .set({ sealedCheck: cipher.sealWith(keyId, CHECK_TEXT) })
      .where(eq(keyChecks.keyId, keyId));
    result.verified.push(keyId);
  }

  const current = cipher.currentKeyId;
  if (current && !rows.some((row) => row.keyId === current)) {
    await db
      .insert(keyChecks)
      .values({ keyId: current, sealedCheck: cipher.sealWith(current, CHECK_TEXT) })
      .onConflictDoNothing();
    // Another instance may have written it at the same moment: whichever row stands must open.
    const [stored] = await db.select().from(keyChecks).where(eq(keyChecks.keyId, current));
    if (!stored?.sealedCheck || !opens(cipher, stored.sealedCheck)) throw new KeyCheckError(wrongKey(current, cipher));
    result.added = current;
  }
  return result;
}

function opens(cipher: ContentCipher, sealed: string): boolean {
  try {
    cipher.open(sealed);
    return true;
  } catch {
    return false;
  }
}

/** One stored value sealed with `keyId`, or undefined when no stored value uses that key. */
async function sealedValueWith(db: Db, keyId: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{8}$/.test(keyId)) return undefined;
  const prefix = `enc1:${keyId}:%`;
  const [row] = await queryRows<{ value: string }>(
    db,
    sql`
    select value from (
      (select parts as value from chat_messages where parts like ${prefix} limit 1)
      union all (select metadata from chat_messages where metadata like ${prefix} limit 1)
      union all (select title from chat_sessions where title like ${prefix} limit 1)
      union all (select summary from chat_sessions where summary like ${prefix} limit 1)
      union all (select checkpoint from chat_runs where checkpoint like ${prefix} limit 1)
      union all (select inputs from agent_executions where inputs like ${prefix} limit 1)
    ) as sealed limit 1`,
  );
  return row?.value;
}

function missingKey(keyId: string, cipher: ContentCipher): string {
  const configured = cipher.keyIds.length > 0 ? ` The configured keys have ids ${cipher.keyIds.join(', ')}.` : '';
  const fix = cipher.currentKeyId
    ? 'Set ENCRYPTION_KEY to the key that wrote it, or, when rotating, list that key in ENCRYPTION_KEYS_PREVIOUS.'
    : 'ENCRYPTION_KEY is not set: set it to the key that wrote the data (or, to stop encrypting, list that key in ENCRYPTION_KEYS_PREVIOUS).';
  return (
    `The database holds content encrypted with key ${keyId}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS.${configured} ` +
    `${fix} autochat did not start and changed nothing. (A key's id is the first 8 hex digits of the SHA-256 of its 32 bytes.)`
  );
}

function wrongKey(keyId: string, cipher: ContentCipher): string {
  const which = keyId === cipher.currentKeyId ? 'ENCRYPTION_KEY' : 'a key in ENCRYPTION_KEYS_PREVIOUS';
  return `${which} (id ${keyId}) does not open this database's key check: it is not the key that wrote its content. autochat did not start and changed nothing.`;
}
