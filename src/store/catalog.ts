/**
 * The catalog of agents shipped with autochat, and validation of catalog files for import: each entry,
 * runnable definition included (docs/api.md#catalog-entries), is checked on its own.
 */
import { readFile } from 'node:fs/promises';
import { agentSchema, type Agent } from './agents-repository.js';

export { SHIPPED_CATALOG } from './shipped-catalog.js';

/** Reasons given per entry: enough to fix it, where a definition wrong everywhere would fill the screen. */
const MAX_REASONS = 5;

export type CatalogProblem = { index: number; slug?: string; reason: string };
export type ParsedCatalog = { agents: Agent[]; problems: CatalogProblem[] };

/** Validates every entry; valid ones are kept, each invalid one is reported by index and reason. */
export function parseCatalog(data: unknown): ParsedCatalog {
  if (!Array.isArray(data)) {
    return { agents: [], problems: [{ index: -1, reason: 'the file must hold a JSON array of agents' }] };
  }
  const agents: Agent[] = [];
  const problems: CatalogProblem[] = [];
  const seen = new Set<string>();
  data.forEach((entry, index) => {
    const parsed = agentSchema.safeParse(entry);
    const slug = typeof (entry as { slug?: unknown })?.slug === 'string' ? (entry as { slug: string }).slug : undefined;
    if (!parsed.success) {
      const reasons = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'entry'}: ${issue.message}`);
      const more = reasons.length > MAX_REASONS ? `; and ${reasons.length - MAX_REASONS} more` : '';
      const reason = reasons.slice(0, MAX_REASONS).join('; ') + more;
      problems.push({ index, slug, reason });
      return;
    }
    if (seen.has(parsed.data.slug)) {
      problems.push({ index, slug, reason: `slug: "${parsed.data.slug}" appears more than once in the file` });
      return;
    }
    seen.add(parsed.data.slug);
    agents.push(parsed.data);
  });
  return { agents, problems };
}

export async function readCatalogFile(path: string): Promise<ParsedCatalog> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file: ${path}` : `not valid JSON (${(error as Error).message})`;
    return { agents: [], problems: [{ index: -1, reason }] };
  }
  return parseCatalog(data);
}
