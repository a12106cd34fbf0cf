import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { continuousClock, kernelTimeStatus, wallClock, watchClockChanges, type ClockChangeEvent } from '../../native/clock.js';
import { missing, stepClock } from '../helpers/system.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceRoot = path.resolve(here, '..', '..', '..');

test('wallClock agrees with Date.now within 5 ms', (t) => {
  for (let i = 0; i < 100; i++) {
    const before = Date.now();
    const wall = wallClock();
    const after = Date.now();
    t.true(wall >= before - 5 && wall <= after + 5, `wallClock ${wall} outside [${before}, ${after}] ± 5 ms`);
  }
});

test('continuousClock is monotonic and advances with real time', async (t) => {
  let previous = continuousClock();
  for (let i = 0; i < 10_000; i++) {
    const now = continuousClock();
    t.true(now >= previous);
    previous = now;
  }
  const start = continuousClock();
  await new Promise((r) => setTimeout(r, 50));
  const elapsed = continuousClock() - start;
  t.true(elapsed >= 45 && elapsed < 1000, `50 ms sleep measured as ${elapsed} ms`);
});

test('kernelTimeStatus returns the kernel discipline fields', (t) => {
  const status = kernelTimeStatus();
  t.true(Number.isInteger(status.state) && status.state >= 0 && status.state <= 5);
  t.is(typeof status.maxErrorUs, 'number');
  t.is(typeof status.estErrorUs, 'number');
  if (process.platform === 'linux') {
    t.is(typeof status.statusFlags, 'number');
    t.is(typeof status.offsetUs, 'number');
  } else {
    t.is(status.statusFlags, null);
  }
});

test('wrong arguments are TypeErrors from the TypeScript layer', (t) => {
  const call = (f: (...a: unknown[]) => unknown, ...args: unknown[]) => () => f(...args);
  t.throws(call(wallClock as (...a: unknown[]) => unknown, 1), { instanceOf: TypeError });
  t.throws(call(continuousClock as (...a: unknown[]) => unknown, 'x'), { instanceOf: TypeError });
  t.throws(call(kernelTimeStatus as (...a: unknown[]) => unknown, {}), { instanceOf: TypeError });
  for (const bad of [undefined, null, 42, 'cb', {}, []]) {
    t.throws(call(watchClockChanges as (...a: unknown[]) => unknown, bad), { instanceOf: TypeError });
  }
  t.throws(call(watchClockChanges as (...a: unknown[]) => unknown, () => {}, 'extra'), { instanceOf: TypeError });
});

test('a stopped watcher can be stopped again and lets the process exit', (t) => {
  // A child process subscribes, stops, and must then exit by itself with its event loop empty.
  const script = `
    import { watchClockChanges } from ${JSON.stringify(path.join(sourceRoot, 'dist', 'native', 'clock.js'))};
    const sub = watchClockChanges(() => {});
    setTimeout(() => { sub.stop(); sub.stop(); console.log('stopped'); }, 50);
  `;
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  t.is(child.signal, null, 'the child had to be killed: a handle kept it alive');
  t.is(child.status, 0, child.stderr);
  t.is(child.stdout.trim(), 'stopped');
  t.true(Date.now() - started < 10_000);
});

test('a process still watching at exit shuts down cleanly', (t) => {
  const script = `
    import { watchClockChanges } from ${JSON.stringify(path.join(sourceRoot, 'dist', 'native', 'clock.js'))};
    watchClockChanges(() => {});
    setTimeout(() => process.exit(0), 50);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  t.is(child.status, 0, child.stderr);
});

const stepMissing = missing('root', 'linux', 'python3');
(stepMissing ? test.serial.skip : test.serial)(`a real clock step (+1 µs, then −1 µs) is seen within 1 s${stepMissing ? ` [needs ${stepMissing}]` : ''}`, async (t) => {
  const events: ClockChangeEvent[] = [];
  const sub = watchClockChanges((e) => events.push(e));
  try {
    const waitForEvent = async (count: number) => {
      const deadline = Date.now() + 1000;
      while (events.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      return events.length >= count;
    };
    stepClock(1000);
    t.true(await waitForEvent(1), 'no event within 1 s of a +1 µs step');
    stepClock(-1000);
    t.true(await waitForEvent(2), 'no event within 1 s of a −1 µs step');
    t.is(events[0].kind, 'clock_set');
    t.true(Math.abs(events[0].wallMs - Date.now()) < 2000);
  } finally {
    sub.stop();
  }
});

