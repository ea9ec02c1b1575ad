/**
 * What may name a user (a token's `sub`, or the user id a library caller passes): text a person could
 * have typed, so that two ids that look different are stored differently and no id breaks a query.
 */

export const MAX_USER_ID_CHARS = 200;

/** Why `value` cannot be a user id, as the end of a sentence; undefined when it can. */
export function userIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'it is missing or empty';
  // Lone surrogates would be stored as U+FFFD, making two different ids one user.
  if (/[\uD800-\uDFFF]/u.test(value)) return 'it is not well-formed Unicode (it has a lone surrogate)';
  if (/\p{Cc}/u.test(value)) return 'it contains control characters';
  if ([...value].length > MAX_USER_ID_CHARS) return `it is longer than ${MAX_USER_ID_CHARS} characters`;
  return undefined;
}
