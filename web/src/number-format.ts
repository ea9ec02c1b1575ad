// Compact numbers and times for the sidebar and agent cards ("12.3k runs", "resets in 5 h").

export function formatCount(value: number): string {
  const abs = Math.abs(value);
  const units: Array<[number, string]> = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) {
      const scaled = value / size;
      const text = scaled >= 100 ? scaled.toFixed(0) : scaled.toFixed(1).replace(/\.0$/, '');
      return `${text}${suffix}`;
    }
  }
  return String(Math.round(value));
}

export function formatTokens(value: number): string {
  return new Intl.NumberFormat(undefined).format(value);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });

/** "in 5 hr", "2 days ago" — coarse on purpose. */
export function formatRelative(iso: string, now: number = Date.now()): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return '';
  const seconds = (time - now) / 1000;
  const steps: Array<[number, Intl.RelativeTimeFormatUnit]> = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [7, 'day'],
    [4.35, 'week'],
    [12, 'month'],
  ];
  let amount = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(amount) < size) {
      return unit === 'second' && Math.abs(amount) < 45
        ? amount < 0
          ? 'just now'
          : 'in a moment'
        : relative.format(Math.round(amount), unit);
    }
    amount /= size;
  }
  return relative.format(Math.round(amount), 'year');
}
