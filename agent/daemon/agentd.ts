#!/usr/bin/env node
// agentd: the daemon. For now it only follows clock changes in the foreground.
import { watchClockChanges } from '../../native/index.js';

const sub = watchClockChanges((event) => {
  console.log(JSON.stringify({ msg: 'wall clock was set', wall_ms: event.wallMs }));
});
console.log('agentd: running in the foreground (Ctrl-C to stop)');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    sub.stop();
    process.exit(0);
  });
}
