// Token budget used today and this week (limit 0 means unlimited).
import type { UsageReport, UsageWindow } from '../api-types.js';
import { formatCount, formatRelative } from '../number-format.js';

function UsageRowView({ label, window: usage }: { label: string; window: UsageWindow }) {
  const unlimited = usage.limit <= 0;
  const ratio = unlimited ? 0 : Math.min(1, usage.used / usage.limit);
  const level = ratio >= 1 ? 'full' : ratio >= 0.8 ? 'high' : 'ok';
  const resets = formatRelative(usage.resetsAt);
  return (
    <div className="usage-row" title={resets ? `Resets ${resets}` : undefined}>
      <div className="usage-row__text">
        <span>{label}</span>
        <span className="usage-row__value">
          {formatCount(usage.used)}
          {unlimited ? ' · unlimited' : ` / ${formatCount(usage.limit)}`}
        </span>
      </div>
      {unlimited ? null : (
        // biome-ignore lint/a11y/useSemanticElements: a styled bar; <meter> cannot be styled alike across browsers
        <div
          className={`usage-row__bar usage-row__bar--${level}`}
          role="meter"
          aria-label={`${label} token usage`}
          aria-valuemin={0}
          aria-valuemax={usage.limit}
          aria-valuenow={Math.min(usage.used, usage.limit)}
        >
          <span style={{ width: `${(ratio * 100).toFixed(1)}%` }} />
        </div>
      )}
    </div>
  );
}

export function UsageMeter({ usage }: { usage: UsageReport | null }) {
  if (!usage) return null;
  return (
    <section className="usage-meter" data-testid="usage-meter" aria-label="Token usage">
      <UsageRowView label="Today" window={usage.daily} />
      <UsageRowView label="This week" window={usage.weekly} />
    </section>
  );
}
