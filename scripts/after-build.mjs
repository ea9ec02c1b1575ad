// After `tsc`: make the `autochat` bin executable (tsc keeps its shebang, not its mode), and make the
// embedded database's snapshot: every migration applied and the shipped catalog loaded, which a new
// DATA_DIR starts from instead of running initdb (src/store/embedded-snapshot.ts).
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);

const { makeSnapshot } = await import('../dist/store/embedded-snapshot.js');
const { migrations } = await import('../dist/store/migrations/index.js');
const { SHIPPED_CATALOG } = await import('../dist/store/shipped-catalog.js');
const started = performance.now();
const file = await makeSnapshot(migrations, { catalogFile: SHIPPED_CATALOG });
console.log(
  `embedded database snapshot (${migrations.length} migrations, the shipped catalog) written to ${file} in ${Math.round(performance.now() - started)} ms`,
);
