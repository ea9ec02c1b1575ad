import { describe, expect, it } from 'vitest';
import { MAX_USER_ID_CHARS, userIdProblem } from './user-id.js';

describe('userIdProblem', () => {
  it('accepts ids a person could have typed, in any script, up to the limit in characters', () => {
    for (const id of ['alice', 'user-42@example.com', 'Ωmega', 'ユーザー', '😀'.repeat(MAX_USER_ID_CHARS), 'x\uFFFDy', 'a b']) {
      expect(userIdProblem(id), id).toBeUndefined();
    }
  });

  it('refuses lone surrogates, control characters, empty and overlong ids', () => {
    expect(userIdProblem('x\uD800y')).toMatch(/lone surrogate/);
    expect(userIdProblem('x\uDFFF')).toMatch(/lone surrogate/);
    expect(userIdProblem('a\u0000b')).toMatch(/control/);
    expect(userIdProblem('a\nb')).toMatch(/control/);
    expect(userIdProblem('a\u009Fb')).toMatch(/control/);
    expect(userIdProblem('')).toMatch(/empty/);
    expect(userIdProblem(42)).toMatch(/missing/);
    expect(userIdProblem('x'.repeat(MAX_USER_ID_CHARS + 1))).toMatch(/longer than 200/);
  });
});
