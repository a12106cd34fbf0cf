// Darwin-only behaviour, run by .github/workflows/macos.yml on a macOS runner (as root, for
// the clock step). Excluded from `npm test` on other systems by the ava glob in package.json.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { watchClockChanges, type ClockChangeEvent } from '../../native/clock.js';
import { osLog } from '../../native/log.js';

const onDarwin = process.platform === 'darwin';
const asRoot = process.getuid?.() === 0;

// Relative step with clock_settime (macOS has no ADJ_SETOFFSET): the few microseconds between
// read and write are lost, which is harmless on a CI runner.
function stepClock(ns: number): void {
  const program =
    'import sys, time\nt = time.clock_gettime_ns(time.CLOCK_REALTIME)\ntime.clock_settime_ns(time.CLOCK_REALTIME, t + int(sys.argv[1]))\n';
  const run = spawnSync('python3', ['-c', program, String(ns)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`could not step the clock: ${run.stderr}`);
}

(onDarwin && asRoot ? test.serial : test.serial.skip)(
  'com.apple.system.clock_set reaches JS after a real step',
  async (t) => {
    const events: ClockChangeEvent[] = [];
    const sub = watchClockChanges((e) => events.push(e));
    try {
      stepClock(1000);
      // A bound on a hung test, not a latency (issue 17 item 16).
      const deadline = Date.now() + 30_000;
      while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      t.true(events.length > 0, 'no clock_set event after the step');
      t.is(events[0]?.kind, 'clock_set');
    } finally {
      stepClock(-1000);
      sub.stop();
    }
  },
);

(onDarwin ? test : test.skip)('osLog writes to the unified log under our subsystem', async (t) => {
  const marker = `trustguard-ci-${randomUUID()}`;
  osLog('com.trustguard.agent', 'ci', 'error', marker);
  const predicate = `subsystem == "com.trustguard.agent" AND eventMessage CONTAINS "${marker}"`;
  let found = '';
  for (let i = 0; i < 10 && !found.includes(marker); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    found = spawnSync('/usr/bin/log', ['show', '--last', '2m', '--style', 'compact', '--predicate', predicate], {
      encoding: 'utf8',
    }).stdout;
  }
  t.true(found.includes(marker), `log show did not find ${marker}`);
});
