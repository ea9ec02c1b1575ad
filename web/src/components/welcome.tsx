// What an empty conversation shows: what the assistant can do, with a few one-click prompts.
import { welcomeSuggestions as suggestions } from '../welcome-suggestions.js';

export function Welcome({ onPick, disabled = false }: { onPick: (text: string) => void; disabled?: boolean }) {
  return (
    <div className="welcome">
      <div className="welcome__mark" aria-hidden="true">
        ✦
      </div>
      <h1 className="welcome__title">What should your agents do?</h1>
      <p className="welcome__lead">
        Describe a task and I’ll search the agent store, explain the options and add the right agent to your library.
      </p>
      <ul className="welcome__suggestions">
        {suggestions.map((text) => (
          <li key={text}>
            <button type="button" className="suggestion" onClick={() => onPick(text)} disabled={disabled}>
              {text}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
