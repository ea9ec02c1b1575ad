// Where the user pastes the bearer token the server asks for; kept in localStorage under `autochat.token`.
import { useState, type FormEvent } from 'react';
import { saveToken } from '../auth-token.js';

interface TokenFieldProps {
  hasToken: boolean;
  rejected: boolean;
}

export function TokenField({ hasToken, rejected }: TokenFieldProps) {
  const [value, setValue] = useState('');
  const onSubmit = (event: FormEvent): void => {
    event.preventDefault();
    if (value.trim()) saveToken(value);
    setValue('');
  };
  return (
    <form className="token-field" onSubmit={onSubmit} data-testid="token-field">
      <label htmlFor="token-input" className="token-field__label">
        {rejected && hasToken ? 'The server refused your token. Paste a new one:' : 'This server needs an API token. Paste it here:'}
      </label>
      <div className="token-field__row">
        <input
          id="token-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          aria-label="API token"
          placeholder="eyJhbGciOi…"
          value={value}
          onChange={(event) => setValue(event.target.value)}
        />
        <button type="submit" className="button button--primary button--small" aria-label="Save token" disabled={!value.trim()}>
          Save
        </button>
        {hasToken ? (
          <button type="button" className="button button--small" aria-label="Forget token" onClick={() => saveToken(null)}>
            Forget
          </button>
        ) : null}
      </div>
    </form>
  );
}
