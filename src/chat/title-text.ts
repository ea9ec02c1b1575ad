/**
 * A session title as the title model wrote it, made fit to show: quotes and trailing dots off, and
 * at most `max` characters, cut at a word boundary with an ellipsis rather than mid-word.
 */
export function titleText(raw: string, max = 80): string {
  // Control characters (a NUL the model copied from the message) are text no database column takes.
  const title = raw.replace(/[\p{Cc}\s]+/gu, ' ').replace(/^["'#\s]+|["'\s.]+$/g, '');
  if (title.length <= max) return title || 'New chat';
  const cut = title.slice(0, max - 1);
  const boundary = cut.lastIndexOf(' ');
  return `${(boundary > max / 2 ? cut.slice(0, boundary) : cut).replace(/[\s,;:.-]+$/, '')}…`;
}
