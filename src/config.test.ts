import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: './.autochat',
      corsOrigins: [],
      mcpServers: {},
      logLevel: 'info',
    });
    expect(config.limits).toEqual({
      dailyTokens: 2_500_000,
      weeklyTokens: 12_500_000,
      requestsPerMinute: 120,
      maxMessageChars: 32_000,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
    });
    expect(config.llm).toMatchObject({ apiKey: undefined, baseUrl: 'https://openrouter.ai/api/v1', timeoutMs: 60_000 });
  });

  it('gives running answers 5 minutes at shutdown and lets an answer be continued twice, unless told otherwise', () => {
    expect(loadConfig({})).toMatchObject({ shutdownGraceMs: 300_000, runContinueMax: 2 });
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '30000', RUN_CONTINUE_MAX: '0' })).toMatchObject({ shutdownGraceMs: 30_000, runContinueMax: 0 });
    expect(() => loadConfig({ SHUTDOWN_GRACE_MS: '5m' })).toThrow(/SHUTDOWN_GRACE_MS: expected a whole number/);
    expect(() => loadConfig({ RUN_CONTINUE_MAX: '-1' })).toThrow(/RUN_CONTINUE_MAX/);
  });

  it('reads either spelling of the OpenRouter key and lets options win over the environment', () => {
    expect(loadConfig({ OPENROUTER_API_KEY: 'b' }).llm.apiKey).toBe('b');
    expect(loadConfig({ OPEN_ROUTER_API_KEY: 'a', OPENROUTER_API_KEY: 'b' }).llm.apiKey).toBe('a');
    expect(loadConfig({ PORT: '4000' }, { port: 5000 }).port).toBe(5000);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ ENCRYPTION_KEY: 'too-short' }, 'ENCRYPTION_KEY'],
    [{ DAILY_TOKEN_LIMIT: '-5' }, 'DAILY_TOKEN_LIMIT'],
    [{ LLM_BASE_URL: 'not a url' }, 'LLM_BASE_URL'],
    [{ MCP_SERVERS: '{broken' }, 'MCP_SERVERS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ TLS_CERT_FILE: 'a.pem' }, 'TLS_CERT_FILE'],
  ])('refuses %o, naming %s and what it expects', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message).toContain(variable);
      expect((error as Error).message).toMatch(/expected|set both|Invalid/);
    }
  });

  it('parses CORS origins and MCP servers', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://a.example, https://b.example',
      MCP_SERVERS: '{"echo":"node echo.js","web":{"url":"https://mcp.example/mcp"}}',
    });
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.mcpServers).toEqual({ echo: 'node echo.js', web: { url: 'https://mcp.example/mcp' } });
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.1', 'example.com', '::']) expect(isLoopbackHost(host)).toBe(false);
  });
});
