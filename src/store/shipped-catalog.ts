/** Where the catalog of agents that ships with autochat is, whether this runs from src/ or dist/. */
import { fileURLToPath } from 'node:url';

export const SHIPPED_CATALOG = fileURLToPath(new URL('../../catalog/agents.json', import.meta.url));
