/**
 * Writes the OpenAPI document the app serves at `/openapi.json` to a file, taken from the app
 * in-process (no server, no network), as deployed: a token required and the MCP endpoint served.
 *
 *   node --import tsx scripts/openapi-document.ts [FILE]    (default dist/openapi.json)
 *
 * `npm run lint:openapi` writes it and lints it with Redocly's recommended rules (redocly.yaml).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createChatService } from '../src/chat/chat-service.js';
import { appServicesOf } from '../src/http/app-context.js';
import { createApp } from '../src/http/app.js';
import { createMetrics } from '../src/http/metrics.js';
import { createLogger } from '../src/logger.js';
import { createMcpEndpoint } from '../src/mcp/mcp-http-endpoint.js';
import { version } from '../src/version.js';

const file = resolve(process.argv[2] ?? 'dist/openapi.json');
const chat = await createChatService({
  env: {},
  dataDir: 'memory://',
  seedCatalog: false,
  // Only its presence matters here: the document then says which routes need a token.
  authJwtSecret: 'document-only-secret-never-used-to-sign',
  logger: createLogger('silent'),
});
try {
  const app = createApp(appServicesOf(chat, { metrics: createMetrics({ defaultMetrics: false }), version }), {
    mcp: createMcpEndpoint(chat),
  });
  const response = await app.request('/openapi.json');
  if (response.status !== 200) throw new Error(`/openapi.json answered ${response.status}: ${await response.text()}`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(await response.json(), null, 2)}\n`);
  console.log(`wrote ${file}`);
} finally {
  await chat.close();
}
