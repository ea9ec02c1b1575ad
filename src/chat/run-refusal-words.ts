/** The sentences a user reads when a run cannot begin: the store refuses with a code (`RunRefusal`), the service words it here. */
import { ChatError, notFound } from '../errors.js';
import type { RunRefusal } from '../store/run-state-error.js';

export function runRefusalError(refusal: RunRefusal, waitsForApproval = false): ChatError {
  switch (refusal.code) {
    case 'not_found':
      return notFound();
    case 'run_in_progress':
      return waitsForApproval
        ? new ChatError(
            'run_in_progress',
            'The answer in this chat waits for your approval of a tool call. Approve or deny it (or stop the answer) first.',
            { retryAfterSeconds: 1 },
          )
        : new ChatError('run_in_progress', 'An answer is already being generated in this chat. Wait for it, or stop it first.', {
            retryAfterSeconds: 1,
          });
    case 'message_id_used':
      return new ChatError('invalid_request', 'This message id was already used. Send new messages with a new id.');
    case 'parent_missing':
      return new ChatError('invalid_request', 'The message to branch from (parentId) is not in this chat.');
    case 'not_a_question':
      return new ChatError(
        'invalid_request',
        'Only an answer, or the message it answers, can be regenerated; this message is neither in this chat.',
      );
  }
}
