/** Ordered schema migrations; each runs once, in a transaction, on PGlite and PostgreSQL alike. */
import { initial } from './0001-initial.js';

export type Migration = { id: string; sql: string };

export const migrations: Migration[] = [{ id: '0001-initial', sql: initial }];
