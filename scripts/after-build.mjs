// After `tsc`: make the `autochat` bin executable (tsc keeps its shebang, not its mode).
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
