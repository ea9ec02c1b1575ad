/**
 * The agent store's catalog and each user's library. Search is one ranking function used by the
 * `find_agent` tool and the store API alike: trigram similarity (typo tolerance) on the name and on
 * all of an agent's text, full-text matching with stemming, and small popularity and rating signals.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from './database.js';
import { agents, libraryAgents } from './schema.js';

export const agentSchema = z.object({
  slug: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{1,79}$/, 'must be 2–80 lowercase letters, digits or dashes'),
  name: z.string().trim().min(1).max(120),
  subHeading: z.string().trim().max(300).default(''),
  description: z.string().trim().max(5000).default(''),
  creator: z.string().trim().min(1).max(120),
  categories: z.array(z.string().trim().min(1).max(40)).max(10).default([]),
  runs: z.number().int().min(0).max(2_000_000_000).default(0),
  rating: z.number().min(0).max(5).default(0),
});

export type Agent = z.infer<typeof agentSchema>;
export type AgentMatch = Agent & { score: number };
export type LibraryEntry = Agent & { addedAt: string };

const MAX_RESULTS = 50;

export class AgentsRepository {
  constructor(private readonly db: Db) {}

  async count(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(agents);
    return row?.n ?? 0;
  }

  /** Inserts or updates agents by slug, in batches. */
  async upsert(entries: Agent[]): Promise<number> {
    for (let start = 0; start < entries.length; start += 500) {
      const batch = entries.slice(start, start + 500).map((agent) => {
        const text = searchText(agent);
        return {
          ...agent,
          rating: agent.rating.toFixed(1),
          searchText: text,
          searchVector: sql`setweight(to_tsvector('english', ${agent.name}), 'A')
            || setweight(to_tsvector('english', ${`${agent.subHeading} ${agent.categories.join(' ')}`}), 'B')
            || setweight(to_tsvector('english', ${agent.description}), 'C')`,
        };
      });
      await this.db
        .insert(agents)
        .values(batch)
        .onConflictDoUpdate({
          target: agents.slug,
          set: {
            name: sql`excluded.name`,
            subHeading: sql`excluded.sub_heading`,
            description: sql`excluded.description`,
            creator: sql`excluded.creator`,
            categories: sql`excluded.categories`,
            runs: sql`excluded.runs`,
            rating: sql`excluded.rating`,
            searchText: sql`excluded.search_text`,
            searchVector: sql`excluded.search_vector`,
            updatedAt: sql`now()`,
          },
        });
    }
    return entries.length;
  }

  async get(slug: string): Promise<Agent | undefined> {
    const [row] = await this.db.select().from(agents).where(eq(agents.slug, slug));
    return row ? toAgent(row) : undefined;
  }

  /** The best matches for a free-text query, best first. */
  async search(query: string, limit = 5, onlySlugs?: string[]): Promise<AgentMatch[]> {
    const text = normalise(query);
    const size = Math.min(Math.max(limit, 1), MAX_RESULTS);
    if (!text) return this.popular(size, onlySlugs);
    const words = text.match(/[\p{L}\p{N}]+/gu) ?? [];
    const prefixQuery = words.map((word) => `${word}:*`).join(' | ');
    const scope = onlySlugs ? sql`a.slug in (${sql.join(onlySlugs.map((slug) => sql`${slug}`), sql`, `)})` : undefined;
    const rows = await this.db.execute(sql`
      with q as (select ${text}::text as text, to_tsquery('english', ${prefixQuery || 'a'}) as ts),
      candidates as (
        select a.*,
          word_similarity(q.text, a.search_text) as text_similarity,
          similarity(q.text, lower(a.name)) as name_similarity,
          ts_rank_cd(a.search_vector, q.ts, 1) as text_rank
        from agents a, q
        where (q.text <% a.search_text or a.search_vector @@ q.ts or lower(a.name) % q.text)
          ${scope ? sql`and ${scope}` : sql``}
      )
      select slug, name, sub_heading, description, creator, categories, runs, rating,
        (0.45 * text_similarity + 0.35 * name_similarity + 0.6 * least(text_rank, 1)
          + 0.06 * ln(1 + runs) / ln(1000001) + 0.04 * rating / 5)::float8 as score
      from candidates
      order by score desc, runs desc, slug
      limit ${size}`);
    return (rows as unknown as { rows: AgentRow[] }).rows.map((row) => ({
      ...fromRawRow(row),
      score: Math.round(Number(row.score) * 1000) / 1000,
    }));
  }

  private async popular(limit: number, onlySlugs?: string[]): Promise<AgentMatch[]> {
    const rows = await this.db
      .select()
      .from(agents)
      .where(onlySlugs ? inArray(agents.slug, onlySlugs) : undefined)
      .orderBy(sql`${agents.runs} desc`, agents.slug)
      .limit(limit);
    return rows.map((row) => ({ ...toAgent(row), score: 0 }));
  }

  async library(userId: string): Promise<LibraryEntry[]> {
    const rows = await this.db
      .select({ agent: agents, addedAt: libraryAgents.addedAt })
      .from(libraryAgents)
      .innerJoin(agents, eq(agents.slug, libraryAgents.slug))
      .where(eq(libraryAgents.userId, userId))
      .orderBy(sql`${libraryAgents.addedAt} desc`);
    return rows.map((row) => ({ ...toAgent(row.agent), addedAt: row.addedAt.toISOString() }));
  }

  /** Adds an agent to the user's library (idempotent); undefined when no agent has that slug. */
  async addToLibrary(userId: string, slug: string): Promise<LibraryEntry | undefined> {
    const agent = await this.get(slug);
    if (!agent) return undefined;
    await this.db.insert(libraryAgents).values({ userId, slug }).onConflictDoNothing();
    const [row] = await this.db
      .select({ addedAt: libraryAgents.addedAt })
      .from(libraryAgents)
      .where(and(eq(libraryAgents.userId, userId), eq(libraryAgents.slug, slug)));
    return { ...agent, addedAt: (row?.addedAt ?? new Date()).toISOString() };
  }

  async removeFromLibrary(userId: string, slug: string): Promise<boolean> {
    const rows = await this.db
      .delete(libraryAgents)
      .where(and(eq(libraryAgents.userId, userId), eq(libraryAgents.slug, slug)))
      .returning({ slug: libraryAgents.slug });
    return rows.length > 0;
  }

  async searchLibrary(userId: string, query: string, limit = 5): Promise<AgentMatch[]> {
    const rows = await this.db.select({ slug: libraryAgents.slug }).from(libraryAgents).where(eq(libraryAgents.userId, userId));
    if (rows.length === 0) return [];
    return this.search(query, limit, rows.map((row) => row.slug));
  }
}

type AgentRow = {
  slug: string;
  name: string;
  sub_heading: string;
  description: string;
  creator: string;
  categories: string[] | string;
  runs: number;
  rating: string | number;
  score: number;
};

function fromRawRow(row: AgentRow): Agent {
  return {
    slug: row.slug,
    name: row.name,
    subHeading: row.sub_heading,
    description: row.description,
    creator: row.creator,
    categories: parseTextArray(row.categories),
    runs: Number(row.runs),
    rating: Number(row.rating),
  };
}

function toAgent(row: typeof agents.$inferSelect): Agent {
  return {
    slug: row.slug,
    name: row.name,
    subHeading: row.subHeading,
    description: row.description,
    creator: row.creator,
    categories: row.categories,
    runs: row.runs,
    rating: Number(row.rating),
  };
}

/** Raw queries may return a PostgreSQL array literal (`{a,b}`) rather than a parsed array. */
function parseTextArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',').map((item) => item.replace(/^"|"$/g, '')) : [];
}

function searchText(agent: Agent): string {
  return normalise([agent.name, agent.subHeading, agent.categories.join(' '), agent.description].join(' '));
}

function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .slice(0, 500);
}
