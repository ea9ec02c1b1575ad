/**
 * The agent store's catalog and each user's library. Search is one ranking function used by the
 * `find_agent` tool and the store API alike. Each query word is matched on its own: spelt as typed
 * when agents use that word, else corrected to the closest words of the store's vocabulary (trigram
 * similarity), then looked up in the full-text index with English stemming. An agent scores by how
 * much of the query it covers (rare words weigh more than common ones, a word in the name more than
 * one in the description), by how well the query reads in its name and whether it is its name, and
 * a little by popularity and rating. Candidates are found through indexes only, and each query word
 * sends at most a few hundred of them (its best by a cheap first score) to the full ranking, so search
 * stays fast with a large store, even for a word that thousands of agents have.
 */
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import {
  agentDefinitionFields,
  agentDefinitionSchema,
  definitionOf,
  requireWholeDefinition,
  type AgentDefinition,
} from './agent-definition.js';
import { agentSlug } from './agent-slug.js';
import { queryRows, type Db } from './database.js';
import { MAX_QUERY_CHARS, MAX_QUERY_WORDS, normalise, queryWords } from './search-query.js';
import { agents, libraryAgents } from './schema.js';

export const agentSchema = z
  .object({
    slug: agentSlug,
    name: z.string().trim().min(1).max(120),
    subHeading: z.string().trim().max(300).default(''),
    description: z.string().trim().max(5000).default(''),
    creator: z.string().trim().min(1).max(120),
    categories: z.array(z.string().trim().min(1).max(40)).max(10).default([]),
    runs: z.number().int().min(0).max(2_000_000_000).default(0),
    rating: z.number().min(0).max(5).default(0),
    // Optional: what makes the agent runnable, all or nothing (see docs/api.md#catalog-entries).
    ...agentDefinitionFields,
  })
  .superRefine(requireWholeDefinition);

export type Agent = z.infer<typeof agentSchema>;
export type AgentMatch = Agent & { score: number };
export type LibraryEntry = Agent & { addedAt: string };

const MAX_RESULTS = 50;
const UPSERT_BATCH = 500;

/** Runs SQL: the database or a transaction. */
type Executor = Pick<Db, 'execute'>;

export class AgentsRepository {
  constructor(private readonly db: Db) {}

  async count(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(agents);
    return row?.n ?? 0;
  }

  /** Inserts or updates agents by slug, in batches, and keeps the search vocabulary's counts. */
  async upsert(entries: Agent[]): Promise<number> {
    for (let start = 0; start < entries.length; start += UPSERT_BATCH) {
      const batch = entries.slice(start, start + UPSERT_BATCH).map((agent) => {
        // Indexed in the same normalised form as queries, so "traducción" is found by "traduccion".
        const name = normalise(agent.name);
        const about = normalise(`${agent.subHeading} ${agent.categories.join(' ')}`);
        const description = normalise(agent.description);
        const definition = definitionOf(agent);
        return {
          ...agent,
          definition: definition ? JSON.stringify(definition) : null,
          rating: agent.rating.toFixed(1),
          searchText: [name, about, description].filter(Boolean).join(' '),
          searchVector: sql`setweight(to_tsvector('english', ${name}), 'A')
            || setweight(to_tsvector('english', ${about}), 'B')
            || setweight(to_tsvector('english', ${description}), 'C')`,
        };
      });
      await this.db.transaction(async (tx) => {
        // Locks the rows being replaced, so their old words are counted out exactly once.
        const previous = await tx
          .select({ searchText: agents.searchText })
          .from(agents)
          .where(
            inArray(
              agents.slug,
              batch.map((agent) => agent.slug),
            ),
          )
          .for('update');
        await tx
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
              definition: sql`excluded.definition`,
              updatedAt: sql`now()`,
            },
          });
        await countWords(
          tx,
          previous.map((row) => row.searchText),
          batch.map((agent) => agent.searchText),
        );
      });
    }
    return entries.length;
  }

  /**
   * The agent and its runnable definition as stored (migration 0013), or undefined for an unknown
   * slug; `definition` is undefined for a plain listing, or one stored unreadable.
   */
  async runnable(slug: string): Promise<{ agent: Agent; definition?: AgentDefinition } | undefined> {
    const [row] = await this.db.select().from(agents).where(eq(agents.slug, slug));
    if (!row) return undefined;
    return { agent: toAgent(row), definition: parseDefinition(row.definition) };
  }

  /**
   * Stores the definitions of these entries for agents stored without one (a database made before
   * definitions were stored): nothing else of the entry is changed. Returns how many were filled.
   */
  async fillMissingDefinitions(entries: Agent[]): Promise<number> {
    const values = entries.flatMap((entry) => {
      const definition = definitionOf(entry);
      return definition ? [sql`(${entry.slug}::text, ${JSON.stringify(definition)}::text)`] : [];
    });
    if (values.length === 0) return 0;
    const rows = await queryRows<{ slug: string }>(
      this.db,
      sql`
      update agents a set definition = v.definition
      from (values ${sql.join(values, sql`, `)}) as v(slug, definition)
      where a.slug = v.slug and a.definition is null
      returning a.slug`,
    );
    return rows.length;
  }

  /** How many agents are stored without a runnable definition. */
  async countWithoutDefinition(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(agents).where(sql`${agents.definition} is null`);
    return row?.n ?? 0;
  }

  async get(slug: string): Promise<Agent | undefined> {
    const [row] = await this.db.select().from(agents).where(eq(agents.slug, slug));
    return row ? toAgent(row) : undefined;
  }

  /**
   * The best matches for a free-text query, best first, with a score from 0 to 1 (see
   * `searchStatement`). An empty query lists the most used agents.
   */
  async search(query: string, limit = 5, onlySlugs?: string[]): Promise<AgentMatch[]> {
    const size = Math.min(Math.max(limit, 1), MAX_RESULTS);
    if (onlySlugs && onlySlugs.length === 0) return [];
    const statement = searchStatement(query, size, onlySlugs);
    if (!statement) return this.popular(size, onlySlugs);
    const rows = await queryRows<AgentRow>(this.db, statement);
    return rows.map((row) => ({
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
    return this.search(
      query,
      limit,
      rows.map((row) => row.slug),
    );
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

/** A stored definition, checked on the way back in; undefined when there is none or it no longer reads. */
function parseDefinition(text: string | null): AgentDefinition | undefined {
  if (!text) return undefined;
  try {
    const parsed = agentDefinitionSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Raw queries may return a PostgreSQL array literal (`{a,b}`) rather than a parsed array. */
function parseTextArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',').map((item) => item.replace(/^"|"$/g, '')) : [];
}

/**
 * The one ranking query, for `search` and for anyone who wants to look at its plan; undefined when
 * the query has no words. Only agents that share a (possibly corrected) word with the query, or whose
 * name looks like the whole query, are candidates, and both are found through indexes. `cap` bounds
 * the candidates each query word (and the name likeness) brings; tests raise it to rank every match.
 */
export function searchStatement(query: string, limit: number, onlySlugs?: string[], cap: number = CANDIDATES_PER_WORD): SQL | undefined {
  // Callers refuse longer queries (search-query.ts); these cuts only keep a direct call bounded.
  const text = normalise(query).slice(0, MAX_QUERY_CHARS);
  if (!text) return undefined;
  const size = Math.min(Math.max(limit, 1), MAX_RESULTS);
  const words = queryWords(text).slice(0, MAX_QUERY_WORDS);
  const inScope = onlySlugs
    ? sql`and a.slug in (${sql.join(
        onlySlugs.map((slug) => sql`${slug}`),
        sql`, `,
      )})`
    : sql``;
  return sql`
    with query_words as (
      select word, position
      from json_array_elements_text(${JSON.stringify(words)}::json) with ordinality as w (word, position)
      -- Stop words ("me", "to") carry no meaning and are left out.
      where numnode(plainto_tsquery('english', word)) > 0
      -- Never more rows than words; saying so keeps the planner's estimates (and on PostgreSQL, the
      -- choice to compile the query, which costs more than running it) in proportion.
      limit ${words.length}
    ),
    -- How each query word may be spelt in the store: as typed when agents use it, else the closest
    -- words of the vocabulary, so a typo in one word leaves the others intact.
    spellings as (
      select w.position, v.word, v.lexeme, v.likeness, max(v.likeness) over (partition by w.position) as best
      from query_words w
      cross join lateral (
        select v.word, v.lexeme, similarity(w.word, v.word) as likeness
        from agent_words v
        where (v.word % w.word or v.word = w.word) and v.lexeme is not null and v.agents > 0
        order by likeness desc, v.agents desc
        limit 5
      ) v
    ),
    -- One search term per stem; its count of agents sums those of the words with that stem (an upper
    -- bound: an agent may use two of them).
    terms as (
      select distinct on (s.position, s.lexeme) s.position, s.word, plainto_tsquery('english', s.word) as ts,
        s.likeness / s.best as weight, s.best,
        (select sum(x.agents) from agent_words x where x.lexeme = s.lexeme)::float8 as agents
      from spellings s
      where s.likeness >= 0.8 * s.best
      order by s.position, s.lexeme, s.likeness desc
    ),
    -- What a query word is worth: more when rare in the store (inverse document frequency), less
    -- when its spelling was guessed.
    positions as (
      select position, max(agents) as agents, max(best) as best,
        (0.5 + 0.5 * max(best)) * ln(1 + ${storeSize} / least(greatest(max(agents), 1), ${storeSize})) as importance
      from terms
      group by position
    ),
    -- The rarer query words pick the candidates: agents that share only a very common word with the
    -- query ("help", "write") would not rank, and there are many of them.
    picking as (
      select t.position, p.importance / (select sum(importance) from positions) as share, to_tsquery('english', string_agg(t.word, ' | ')) as ts
      from terms t
      join positions p using (position)
      where p.agents <= greatest(${COMMON_SHARE} * ${storeSize}, ${COMMON_FLOOR})
        or p.position = (select position from positions order by agents, position limit 1)
      group by t.position, p.importance
    ),
    -- Each picking word, and the name's likeness to the whole query, bring at most CANDIDATES_PER_WORD
    -- candidates: the best by a cheap first score (how well the agent has that word, how many of the
    -- other picking words it has, how used and rated it is), so that a common word such as "marketing"
    -- does not send thousands of agents to the full ranking. A rarer word brings all its agents.
    matches as (
      select m.*
      from picking k
      cross join lateral (
        select a.slug, a.name, a.runs, a.rating, a.search_vector
        from agents a
        where a.search_vector @@ k.ts ${inScope}
        order by 0.5 * k.share * least(ts_rank('{0.4, 0.4, 0.7, 1}', a.search_vector, k.ts) / ${SINGLE_HIT_RANK}, 1)
            + 0.5 * (select coalesce(sum(o.share), 0) from picking o where o.position <> k.position and a.search_vector @@ o.ts)
            + 0.1 * (lower(a.name) = ${text})::int
            + 0.15 * ${popularity(sql`a`)} desc,
          a.runs desc, a.slug
        limit ${cap}
      ) m
      union all
      (select a.slug, a.name, a.runs, a.rating, a.search_vector
      from agents a
      where lower(a.name) % ${text} ${inScope}
        -- A single word, spelt as typed, that more agents have than the cap: the agents that have it
        -- outrank those whose name only looks like it, and looking is the costly part.
        and not coalesce((select count(*) = 1 and bool_and(best = 1 and agents > ${cap}) from positions), false)
      order by strict_word_similarity(${text}, lower(a.name)) desc, a.runs desc, a.slug
      limit ${cap})
    ),
    candidates as (
      select distinct on (slug) * from matches
    ),
    -- How well each candidate matches each query word: fully in its name, less in its sub-heading
    -- and categories, least in its description.
    fits as (
      select c.slug, t.position, max(t.weight * least(ts_rank('{0.4, 0.4, 0.7, 1}', c.search_vector, t.ts) / ${SINGLE_HIT_RANK}, 1)) as fit
      from candidates c
      join terms t on c.search_vector @@ t.ts
      group by c.slug, t.position
    ),
    coverage as (
      select f.slug, sum(f.fit * p.importance) / (select sum(importance) from positions) as coverage
      from fits f
      join positions p using (position)
      group by f.slug
    ),
    -- The score: how much of the query the agent covers; how well the query reads in its name
    -- (whole words, typos allowed), and whether it is the name; how used and how well rated it is.
    ranked as (
      select c.slug,
        (0.5 * coalesce(v.coverage, 0)
          + 0.25 * strict_word_similarity(${text}, lower(c.name))
          + 0.1 * (case when char_length(c.name) between char_length(${text}) and 2 * char_length(${text}) + 4
              then (${normalisedName(sql`c.name`)} = ${text})::int else 0 end)
          + 0.1 * least(ln(1 + c.runs::float8) / ln(1e7), 1)
          + 0.05 * c.rating::float8 / 5)::float8 as score
      from candidates c
      left join coverage v using (slug)
      order by score desc, c.runs desc, c.slug
      limit ${size}
    )
    select a.slug, a.name, a.sub_heading, a.description, a.creator, a.categories, a.runs, a.rating, r.score
    from ranked r
    join agents a using (slug)
    order by r.score desc, a.runs desc, a.slug`;
}

/**
 * A name as `normalise` would make it, in SQL (marks off after NFKD, lower case, anything but letters
 * and digits as single spaces). Costly per row, so only used on names of about the query's length.
 */
function normalisedName(name: SQL): SQL {
  return sql`trim(regexp_replace(lower(regexp_replace(normalize(${name}, NFKD), '[\\u0300-\\u036f]', '', 'g')), '[^[:alnum:]]+', ' ', 'g'))`;
}

/** How used (2/3) and how well rated (1/3) an agent is, from 0 to 1; `agent` is a row alias. */
function popularity(agent: SQL): SQL {
  return sql`((2 * least(ln(1 + ${agent}.runs::float8) / ln(1e7), 1) + ${agent}.rating::float8 / 5) / 3)`;
}

/** The number of agents in the store: the count of the empty word, which every agent has. */
const storeSize = sql`coalesce((select agents from agent_words where word = ''), 1)::float8`;

/**
 * A query word found in more than this share of the store (and more than COMMON_FLOOR agents) does
 * not pick candidates on its own.
 */
const COMMON_SHARE = 0.05;
const COMMON_FLOOR = 1000;

/** At most this many candidates per query word go to the full ranking (see `searchStatement`). */
const CANDIDATES_PER_WORD = 500;

/** ts_rank of one occurrence of a term at full weight: 1 / (π²/6). */
const SINGLE_HIT_RANK = 0.6079;

/** The distinct words of a normalised text, and the empty word that stands for "one agent". */
function wordsOf(text: string): Set<string> {
  return new Set(['', ...text.split(' ').filter(Boolean)]);
}

/**
 * Updates the vocabulary for agents whose text went from `before` to `after`: each word's count is
 * the number of agents whose text has it. Words no agent uses any more are removed.
 */
async function countWords(executor: Executor, before: string[], after: string[]): Promise<void> {
  const change = new Map<string, number>();
  const tally = (text: string, by: number) => {
    for (const word of wordsOf(text)) change.set(word, (change.get(word) ?? 0) + by);
  };
  before.forEach((text) => tally(text, -1));
  after.forEach((text) => tally(text, 1));
  const changed = [...change].filter(([, by]) => by !== 0);
  const added = changed.filter(([, by]) => by > 0);
  const removed = changed.filter(([, by]) => by < 0);
  if (added.length > 0) {
    // In word order, so concurrent imports lock vocabulary rows in the same order.
    await executor.execute(sql`
      insert into agent_words (word, lexeme, agents)
      select key, (select string_agg(lexeme, ' ') from unnest(to_tsvector('english', key))), value::int
      from json_each_text(${JSON.stringify(Object.fromEntries(added))}::json)
      order by key
      on conflict (word) do update set agents = agent_words.agents + excluded.agents`);
  }
  if (removed.length > 0) {
    const counts = sql`json_each_text(${JSON.stringify(Object.fromEntries(removed))}::json)`;
    await executor.execute(sql`
      update agent_words v set agents = greatest(v.agents + c.value::int, 0)
      from ${counts} as c where v.word = c.key`);
    await executor.execute(sql`
      delete from agent_words v using ${counts} as c where v.word = c.key and v.agents = 0 and v.word <> ''`);
  }
}
