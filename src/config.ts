/**
 * Every setting of autochat, parsed once from the environment (or from library options) with zod.
 * Nothing else in the code base reads `process.env`.
 */
import { z } from 'zod';

const integer = (fallback: number, min = 0) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min))
    .optional()
    .transform((value) => value ?? fallback);

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const encryptionKey = optionalText.refine(
  (value) => value === undefined || Buffer.from(value, 'base64').length === 32,
  'expected 32 bytes encoded as base64 (e.g. `openssl rand -base64 32`)',
);

const mcpServers = optionalText.transform((value, ctx) => {
  if (value === undefined) return {};
  const parsed = mcpServersSchema.safeParse(safeJson(value));
  if (!parsed.success) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected JSON: {"name": "stdio command line" | "https://… URL" | {"command", "args"?, "env"?} | {"url"}}',
    });
    return z.NEVER;
  }
  return parsed.data;
});

export const mcpServerSchema = z.union([
  z.string().min(1),
  z.object({ command: z.string().min(1), args: z.array(z.string()).optional(), env: z.record(z.string(), z.string()).optional() }),
  z.object({ url: z.url(), headers: z.record(z.string(), z.string()).optional() }),
]);
const mcpServersSchema = z.record(z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/), mcpServerSchema);

/** A tool name or a glob of names (`*` any run of characters, `?` one), or `@mcp`: every tool of MCP_SERVERS. */
const toolPatternList = (fallback: string[]) =>
  optionalText.transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (value.toLowerCase() === 'none') return [];
    const patterns = value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    const bad = patterns.filter((pattern) => pattern !== '@mcp' && !/^[A-Za-z0-9_.*?-]{1,128}$/.test(pattern));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected comma-separated tool names or glob patterns (letters, digits, _ - . * ?), \`@mcp\` or \`none\`; cannot use ${bad.map((entry) => JSON.stringify(entry)).join(', ')}`,
      });
      return z.NEVER;
    }
    return patterns;
  });

export const DEFAULT_CHAT_MODEL = 'openai/gpt-4o-mini';
export const DEFAULT_TITLE_MODEL = 'openai/gpt-4o-mini';
export const DEFAULT_LLM_BASE_URL = 'https://openrouter.ai/api/v1';

/** The environment variables (docs/configuration.md), each with its default. */
export const envSchema = z.object({
  PORT: integer(3000, 0).pipe(z.number().max(65535)),
  HOST: optionalText.transform((value) => value ?? '127.0.0.1'),
  DATABASE_URL: optionalText.refine(
    (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
    'expected a postgres:// or postgresql:// URL',
  ),
  DATA_DIR: optionalText.transform((value) => value ?? './.autochat'),
  REDIS_URL: optionalText.refine((value) => value === undefined || /^rediss?:\/\//.test(value), 'expected a redis:// or rediss:// URL'),
  OPEN_ROUTER_API_KEY: optionalText,
  OPENROUTER_API_KEY: optionalText,
  LLM_BASE_URL: optionalText.transform((value) => value ?? DEFAULT_LLM_BASE_URL).pipe(z.url()),
  CHAT_MODEL: optionalText.transform((value) => value ?? DEFAULT_CHAT_MODEL),
  TITLE_MODEL: optionalText.transform((value) => value ?? DEFAULT_TITLE_MODEL),
  /** Tokens the chat model accepts; older turns are condensed before a call would exceed it. */
  CONTEXT_WINDOW_TOKENS: integer(128000, 1000),
  AUTH_JWT_SECRET: optionalText,
  DAILY_TOKEN_LIMIT: integer(2_500_000),
  WEEKLY_TOKEN_LIMIT: integer(12_500_000),
  ENCRYPTION_KEY: encryptionKey,
  /** Earlier encryption keys, comma-separated, still accepted for reading during a rotation. */
  ENCRYPTION_KEYS_PREVIOUS: optionalText,
  LLM_TIMEOUT_MS: integer(60_000, 1),
  LLM_MAX_RETRIES: integer(2),
  MAX_TOOL_STEPS: integer(5, 1),
  /** Agent executions (docs/configuration.md): live ones per user, model calls each, and how long each may take. */
  MAX_RUNNING_EXECUTIONS: integer(3, 1),
  EXECUTION_MAX_STEPS: integer(8, 1),
  EXECUTION_TIMEOUT_MS: integer(300_000, 1000),
  RATE_LIMIT_PER_MINUTE: integer(120),
  MAX_MESSAGE_CHARS: integer(32_000, 1),
  REQUEST_HEADERS_TIMEOUT_MS: integer(10_000, 1),
  REQUEST_BODY_TIMEOUT_MS: integer(30_000, 1),
  RUN_LEASE_MS: integer(15_000, 500),
  /** How long a stopping instance (SIGTERM) lets running answers finish before it hands them on. */
  SHUTDOWN_GRACE_MS: integer(300_000),
  /** How often one answer may be continued on another instance after its own stopped (0: never). */
  RUN_CONTINUE_MAX: integer(2),
  PENDING_SAVES_MAX_BYTES: integer(64 * 1024 * 1024, 0),
  TLS_CERT_FILE: optionalText,
  TLS_KEY_FILE: optionalText,
  CORS_ORIGINS: optionalText.transform((value) =>
    value === undefined
      ? []
      : value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
  ),
  MCP_SERVERS: mcpServers,
  /** Tools whose calls wait for the user's approval (docs/configuration.md). */
  TOOL_APPROVAL: toolPatternList(['@mcp', 'run_agent']),
  /** Tools that never wait, whatever TOOL_APPROVAL says (`*` turns approvals off). */
  TOOL_APPROVAL_EXEMPT: toolPatternList([]),
  /** How long a tool call waits for an answer before it counts as denied and the run ends. */
  TOOL_APPROVAL_TIMEOUT_MS: integer(15 * 60_000, 1000),
  LOG_LEVEL: optionalText
    .transform((value) => value ?? 'info')
    .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
});

export type Env = z.input<typeof envSchema>;

export type Config = {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  redisUrl?: string;
  llm: {
    apiKey?: string;
    baseUrl: string;
    chatModel: string;
    titleModel: string;
    contextWindowTokens: number;
    timeoutMs: number;
    maxRetries: number;
    maxToolSteps: number;
  };
  authJwtSecret?: string;
  limits: {
    dailyTokens: number;
    weeklyTokens: number;
    requestsPerMinute: number;
    maxMessageChars: number;
    /** A request's headers must arrive within this long of its first byte (408 otherwise). */
    headersTimeoutMs: number;
    /** Its body must arrive within this long after the headers (408 otherwise). */
    bodyTimeoutMs: number;
  };
  /** Agent executions: at most `maxLive` queued or running per user; each makes at most `maxSteps` model calls within `timeoutMs`. */
  executions: { maxLive: number; maxSteps: number; timeoutMs: number };
  runLeaseMs: number;
  /** At SIGTERM, how long running answers get to finish (see docs/operations.md, "Graceful shutdown"). */
  shutdownGraceMs: number;
  /** How many times one answer may be taken over and continued by another instance (0: never). */
  runContinueMax: number;
  /** Ends of runs the database could not take yet, kept durably until it can (see docs/architecture.md). */
  pendingSaves: { maxBytes: number };
  encryptionKey?: string;
  previousEncryptionKeys: string[];
  tls?: { certFile: string; keyFile: string };
  corsOrigins: string[];
  mcpServers: Record<string, z.infer<typeof mcpServerSchema>>;
  /** Which tool calls wait for the user's approval, and for how long (see src/tools/tool-approval-policy.ts). */
  toolApproval: ToolApprovalSettings;
  logLevel: z.infer<typeof envSchema.shape.LOG_LEVEL>;
};

export type ToolApprovalSettings = {
  /** Names or globs of tools that need approval; `@mcp` stands for every tool of MCP_SERVERS. */
  required: string[];
  /** Names or globs of tools that never need it (wins over `required`). */
  exempt: string[];
  timeoutMs: number;
};

/** Raised when a setting has a value autochat cannot use; names the variable and what it expects. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Parses settings from `env` (default `process.env`); `overrides` win over the environment. */
export type ConfigOverrides = Omit<Partial<Config>, 'llm' | 'limits' | 'toolApproval' | 'executions'> & {
  llm?: Partial<Config['llm']>;
  limits?: Partial<Config['limits']>;
  toolApproval?: Partial<Config['toolApproval']>;
  executions?: Partial<Config['executions']>;
};

export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: ConfigOverrides = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  if ((e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined)) {
    throw new ConfigError(['TLS_CERT_FILE and TLS_KEY_FILE: set both, or neither']);
  }
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    llm: {
      apiKey: e.OPEN_ROUTER_API_KEY ?? e.OPENROUTER_API_KEY,
      baseUrl: e.LLM_BASE_URL,
      chatModel: e.CHAT_MODEL,
      titleModel: e.TITLE_MODEL,
      contextWindowTokens: e.CONTEXT_WINDOW_TOKENS,
      timeoutMs: e.LLM_TIMEOUT_MS,
      maxRetries: e.LLM_MAX_RETRIES,
      maxToolSteps: e.MAX_TOOL_STEPS,
    },
    authJwtSecret: e.AUTH_JWT_SECRET,
    limits: {
      dailyTokens: e.DAILY_TOKEN_LIMIT,
      weeklyTokens: e.WEEKLY_TOKEN_LIMIT,
      requestsPerMinute: e.RATE_LIMIT_PER_MINUTE,
      maxMessageChars: e.MAX_MESSAGE_CHARS,
      headersTimeoutMs: e.REQUEST_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: e.REQUEST_BODY_TIMEOUT_MS,
    },
    executions: { maxLive: e.MAX_RUNNING_EXECUTIONS, maxSteps: e.EXECUTION_MAX_STEPS, timeoutMs: e.EXECUTION_TIMEOUT_MS },
    runLeaseMs: e.RUN_LEASE_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    runContinueMax: e.RUN_CONTINUE_MAX,
    pendingSaves: { maxBytes: e.PENDING_SAVES_MAX_BYTES },
    encryptionKey: e.ENCRYPTION_KEY,
    previousEncryptionKeys: (e.ENCRYPTION_KEYS_PREVIOUS ?? '')
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean),
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : undefined,
    corsOrigins: e.CORS_ORIGINS,
    mcpServers: e.MCP_SERVERS,
    toolApproval: { required: e.TOOL_APPROVAL, exempt: e.TOOL_APPROVAL_EXEMPT, timeoutMs: e.TOOL_APPROVAL_TIMEOUT_MS },
    logLevel: e.LOG_LEVEL,
  };
  return mergeConfig(config, overrides);
}

function mergeConfig(base: Config, overrides: ConfigOverrides): Config {
  return {
    ...base,
    ...overrides,
    llm: { ...base.llm, ...overrides.llm },
    limits: { ...base.limits, ...overrides.limits },
    toolApproval: { ...base.toolApproval, ...overrides.toolApproval },
    executions: { ...base.executions, ...overrides.executions },
  };
}

/** True for addresses only this machine can reach, where single-user local mode is safe. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
