/** The first schema: sessions, append-only messages, runs, usage, the agent catalog and libraries. */
export const initial = /* sql */ `
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE chat_sessions (
  id uuid PRIMARY KEY,
  user_id text NOT NULL,
  title text,
  status text NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'running')),
  active_run_id uuid,
  last_run_status text,
  summary text,
  summary_through_seq integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'running') = (active_run_id IS NOT NULL))
);
CREATE INDEX chat_sessions_user_recent ON chat_sessions (user_id, updated_at DESC, id DESC);

CREATE TABLE chat_messages (
  id text PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  role text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  parts text NOT NULL,
  run_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (session_id, seq)
);

CREATE TABLE chat_runs (
  id uuid PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  status text NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'finished', 'failed', 'stopped', 'interrupted')),
  reason text,
  owner text NOT NULL,
  lease_expires_at timestamptz NOT NULL,
  checkpoint text,
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  CHECK ((status = 'running') = (ended_at IS NULL))
);
CREATE INDEX chat_runs_session ON chat_runs (session_id, started_at DESC);
CREATE INDEX chat_runs_running_lease ON chat_runs (lease_expires_at) WHERE status = 'running';

CREATE TABLE usage_events (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL,
  session_id uuid REFERENCES chat_sessions (id) ON DELETE SET NULL,
  run_id uuid,
  kind text NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'title', 'summary')),
  model text NOT NULL,
  prompt_tokens integer NOT NULL CHECK (prompt_tokens >= 0),
  completion_tokens integer NOT NULL CHECK (completion_tokens >= 0),
  total_tokens integer NOT NULL CHECK (total_tokens >= 0),
  cost_usd numeric(14, 8),
  estimated boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_user_time ON usage_events (user_id, created_at);
CREATE INDEX usage_events_session ON usage_events (session_id, id);

CREATE TABLE agents (
  slug text PRIMARY KEY,
  name text NOT NULL,
  sub_heading text NOT NULL,
  description text NOT NULL,
  creator text NOT NULL,
  categories text[] NOT NULL DEFAULT '{}',
  runs integer NOT NULL DEFAULT 0 CHECK (runs >= 0),
  rating numeric(2, 1) NOT NULL DEFAULT 0 CHECK (rating >= 0 AND rating <= 5),
  search_text text NOT NULL,
  search_vector tsvector NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_search_vector ON agents USING gin (search_vector);
CREATE INDEX agents_search_trgm ON agents USING gin (search_text gin_trgm_ops);
CREATE INDEX agents_name_trgm ON agents USING gin (lower(name) gin_trgm_ops);

CREATE TABLE library_agents (
  user_id text NOT NULL,
  slug text NOT NULL REFERENCES agents (slug) ON DELETE CASCADE,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, slug)
);
`;
