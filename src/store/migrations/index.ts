/** Ordered schema migrations; each runs once, in a transaction, on PGlite and PostgreSQL alike. */
import { initial } from './0001-initial.js';
import { searchVocabulary } from './0002-search-vocabulary.js';
import { runTransitions } from './0003-run-transitions.js';
import { messageMetadata } from './0004-message-metadata.js';
import { runFunctions } from './0005-run-functions.js';
import { runProgress } from './0006-run-progress.js';
import { keysAndBudgets } from './0007-keys-and-budgets.js';
import { sessionMessageIds } from './0008-session-message-ids.js';
import { exportOrder } from './0009-export-order.js';
import { messageFeedback } from './0010-message-feedback.js';
import { messageBranches } from './0011-message-branches.js';
import { toolApprovals } from './0012-tool-approvals.js';
import { agentExecutions } from './0013-agent-executions.js';
import { runContinuation } from './0014-run-continuation.js';
import { executionReservations } from './0015-execution-reservations.js';
import { executionContinuation } from './0016-execution-continuation.js';

export type Migration = { id: string; sql: string };

export const migrations: Migration[] = [
  { id: '0001-initial', sql: initial },
  { id: '0002-search-vocabulary', sql: searchVocabulary },
  { id: '0003-run-transitions', sql: runTransitions },
  { id: '0004-message-metadata', sql: messageMetadata },
  { id: '0005-run-functions', sql: runFunctions },
  { id: '0006-run-progress', sql: runProgress },
  { id: '0007-keys-and-budgets', sql: keysAndBudgets },
  { id: '0008-session-message-ids', sql: sessionMessageIds },
  { id: '0009-export-order', sql: exportOrder },
  { id: '0010-message-feedback', sql: messageFeedback },
  { id: '0011-message-branches', sql: messageBranches },
  { id: '0012-tool-approvals', sql: toolApprovals },
  { id: '0013-agent-executions', sql: agentExecutions },
  { id: '0014-run-continuation', sql: runContinuation },
  { id: '0015-execution-reservations', sql: executionReservations },
  { id: '0016-execution-continuation', sql: executionContinuation },
];

/** Splits a migration into statements at `;` line ends, keeping `$$ … $$` bodies whole. */
export function statementsOf(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let inBody = false;
  for (const line of sql.split('\n')) {
    current += `${line}\n`;
    inBody = (line.match(/\$\$/g)?.length ?? 0) % 2 === 1 ? !inBody : inBody;
    if (!inBody && line.trimEnd().endsWith(';')) {
      statements.push(current.trim().replace(/;$/, ''));
      current = '';
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
