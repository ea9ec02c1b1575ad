/**
 * Store search that scales: a vocabulary of the words in agents' text, with each word's English stem
 * (its lexeme in the search vectors) and how many agents use it, so a misspelt query word is
 * corrected against real words through a trigram index, and rare words weigh more than common ones.
 * Agents' text is re-indexed in the same normalised form as queries (lower case, accents off,
 * punctuation as spaces; `normalize` needs a UTF8 database, PostgreSQL's default), and the trigram
 * index over whole texts, which search no longer uses and which was the costliest index to keep up
 * on import, is dropped.
 *
 * A stop word has no lexeme. The row of the empty word counts every agent (every agent "has" it):
 * the size of the store.
 */
export const searchVocabulary = /* sql */ `
CREATE TABLE agent_words (
  word text PRIMARY KEY,
  lexeme text,
  agents integer NOT NULL CHECK (agents >= 0)
);
CREATE INDEX agent_words_trgm ON agent_words USING gin (word gin_trgm_ops);
CREATE INDEX agent_words_lexeme ON agent_words (lexeme);
DROP INDEX IF EXISTS agents_search_trgm;

CREATE FUNCTION autochat_migration_normalise(value text) RETURNS text LANGUAGE sql IMMUTABLE
  RETURN trim(regexp_replace(lower(regexp_replace(normalize(value, NFKD), '[\\u0300-\\u036f]', '', 'g')), '[^[:alnum:]]+', ' ', 'g'));

UPDATE agents SET
  search_text = autochat_migration_normalise(concat_ws(' ', name, sub_heading, array_to_string(categories, ' '), description)),
  search_vector = setweight(to_tsvector('english', autochat_migration_normalise(name)), 'A')
    || setweight(to_tsvector('english', autochat_migration_normalise(sub_heading || ' ' || array_to_string(categories, ' '))), 'B')
    || setweight(to_tsvector('english', autochat_migration_normalise(description)), 'C');

DROP FUNCTION autochat_migration_normalise(text);

INSERT INTO agent_words (word, lexeme, agents)
  SELECT word, (SELECT string_agg(lexeme, ' ') FROM unnest(to_tsvector('english', word))), count(DISTINCT slug)::int
  FROM agents, regexp_split_to_table(search_text, ' ') AS word
  WHERE word <> '' GROUP BY word;

INSERT INTO agent_words (word, lexeme, agents) SELECT '', NULL, count(*)::int FROM agents;
`;
