// Builds the browser chat UI from web/ into dist/web, which the server serves at `/`.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/web', import.meta.url));

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  build: {
    outDir,
    // The output lives outside `root`, so Vite needs explicit permission to clear it.
    emptyOutDir: true,
    assetsDir: 'assets',
    // Kept out of the published package; rebuild with `--sourcemap` when debugging.
    sourcemap: false,
    rollupOptions: {
      output: {
        // Long-lived vendor chunks cache across UI releases.
        manualChunks(id: string): string | undefined {
          if (!id.includes('node_modules')) return undefined;
          if (/node_modules\/(ai|@ai-sdk|zod|@standard-schema|eventsource-parser|@opentelemetry)\//.test(id)) return 'ai-sdk';
          if (/node_modules\/(react|react-dom|scheduler|use-sync-external-store)\//.test(id)) return 'react';
          return 'markdown';
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: 'http://127.0.0.1:3000', changeOrigin: false },
    },
  },
});
