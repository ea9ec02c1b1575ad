/**
 * The scripted upstream as its own process (test/support/fake-upstream.ts), so that its timers run
 * on an event loop that neither the load generator nor the server under test can delay. Scripts come
 * from `BENCH_SCRIPTS` (JSON, name → script); a request picks one with `#name` in its last message,
 * otherwise it gets `default`.
 */
import { startFakeUpstream, type RecordedRequest, type Script } from '../../test/support/fake-upstream.js';
import { announce } from '../support/processes.js';

const scripts = JSON.parse(process.env.BENCH_SCRIPTS ?? '{}') as Record<string, Script>;
if (!scripts.default) throw new Error('BENCH_SCRIPTS needs a "default" script');

const pick = (request: RecordedRequest): Script => {
  const last = request.body.messages.at(-1);
  const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  const name = /#([a-z]+)/.exec(text)?.[1];
  return (name && scripts[name]) || scripts.default!;
};

const upstream = await startFakeUpstream();
upstream.setDefault(pick);
// The fake records every request for tests; a benchmark sends tens of thousands, so forget them.
setInterval(() => upstream.requests.splice(0), 1000).unref();
announce(upstream.url);
const stop = () => {
  upstream.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
