/**
 * The anonymous subject under which an erased user's spent tokens keep counting against the budget
 * (`erased_usage`): HMAC-SHA256 of the user id with a random salt of this deployment, kept in the
 * database. It cannot be turned back into the user id; it only matches again when the same user id
 * asks for a budget within the same week. See docs/operations.md, "Privacy".
 */
import { createHmac, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../store/database.js';
import { autochatSettings } from '../store/schema.js';

export type UsageSubject = (userId: string) => string;

const SALT = 'usage-subject-salt';

/** Reads the deployment's salt, creating it on first use (any instance may be first). */
export async function loadUsageSubject(db: Db): Promise<UsageSubject> {
  await db
    .insert(autochatSettings)
    .values({ name: SALT, value: randomBytes(32).toString('base64') })
    .onConflictDoNothing();
  const [row] = await db.select({ value: autochatSettings.value }).from(autochatSettings).where(eq(autochatSettings.name, SALT));
  const key = Buffer.from(row!.value, 'base64');
  return (userId) => createHmac('sha256', key).update(userId, 'utf8').digest('base64url');
}
