import test from 'ava';
import {
  drift,
  readBaseline,
  watchClockEvents,
  type ClockEventReason,
  type DriftClocks,
} from '../../agent/clock/clock-events.js';
import { continuousClock, monotonicClock, wallClock, type ClockChangeEvent } from '../../native/clock.js';
import { missing, stepClock } from '../helpers/system.js';

const needs = missing('root', 'linux', 'python3');
const isTheStep = (e: { reason: ClockEventReason; jumpMs?: number }) =>
  e.reason === 'clock_jump' && Math.abs((e.jumpMs ?? 0) - 0.1) < 0.05;

(needs ? test.serial.skip : test.serial)(
  `a step the OS notification missed is caught by the drift check${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    const events: Array<{ reason: ClockEventReason; jumpMs?: number }> = [];
    // No OS watcher: as if the notification never came.
    const watcher = watchClockEvents({
      onEvent: (reason, detail) => events.push({ reason, ...detail }),
      checkIntervalMs: 20,
      jumpThresholdMs: 0.05,
      watch: () => ({ stop() {} }),
    });
    try {
      stepClock(100_000); // +100 µs, undone below: harmless to everything else on the machine
      const deadline = Date.now() + 1000;
      // Under load the two clock reads can be tens of µs apart, so small spurious jumps may be
      // reported too; the step is the one of about +100 µs.
      while (!events.some(isTheStep) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    } finally {
      stepClock(-100_000);
      watcher.stop();
    }
    t.true(events.some(isTheStep), `no clock_jump of about +0.1 ms among ${JSON.stringify(events)}`);
  },
);

test('without steps or sleep the drift check stays quiet, and stop() ends it', async (t) => {
  const events: ClockEventReason[] = [];
  const watcher = watchClockEvents({
    onEvent: (reason) => events.push(reason),
    checkIntervalMs: 10,
    watch: () => ({ stop() {} }),
  });
  await new Promise((r) => setTimeout(r, 100));
  watcher.stop();
  t.deepEqual(events, []);
});

// Clocks that start as the addon's own and can be moved: `sleep(ms)` is what a suspended
// machine looks like afterwards (wall and continuous went on, monotonic did not), `step(ms)` a
// wall-clock step.
function movableClocks() {
  let slept = 0;
  let stepped = 0;
  const clocks: DriftClocks = {
    wall: () => wallClock() + slept + stepped,
    continuous: () => continuousClock() + slept,
    monotonic: () => monotonicClock(),
  };
  return { clocks, sleep: (ms: number) => (slept += ms), step: (ms: number) => (stepped += ms) };
}

const near = (value: number | undefined, expected: number, tolerance: number) =>
  value !== undefined && Math.abs(value - expected) <= tolerance;

async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

test('drift arithmetic over the native clock pair: nothing while awake, the sleep after a wake', async (t) => {
  const first = readBaseline();
  await new Promise((r) => setTimeout(r, 100));
  const awake = drift(first, readBaseline());
  t.true(Math.abs(awake.sleptMs) < 5, `slept ${awake.sleptMs} ms while awake`);
  t.true(Math.abs(awake.jumpMs) < 5, `jumped ${awake.jumpMs} ms without a step`);
  // After 30 s asleep: continuous and wall went on by 30 s, monotonic did not.
  const { clocks, sleep, step } = movableClocks();
  const before = readBaseline(clocks);
  sleep(30_000);
  const woke = drift(before, readBaseline(clocks));
  t.true(near(woke.sleptMs, 30_000, 5), `slept ${woke.sleptMs}`);
  t.true(near(woke.jumpMs, 0, 5), `jumped ${woke.jumpMs}`);
  step(-2000);
  const afterStep = drift(before, readBaseline(clocks));
  t.true(near(afterStep.jumpMs, -2000, 5), `jumped ${afterStep.jumpMs}`);
});

test.serial(
  'wake is detected from the addon’s clocks even when process.hrtime counts sleep (libuv on macOS)',
  async (t) => {
    // libuv ≥ 1.38.1 reads mach_continuous_time for process.hrtime on macOS: make hrtime sleep
    // along like that, and check the drift check does not care.
    const { clocks, sleep } = movableClocks();
    const realHrtime = process.hrtime.bigint;
    process.hrtime.bigint = () => BigInt(Math.round(clocks.continuous() * 1e6));
    const events: Array<{ reason: ClockEventReason; sleptMs?: number }> = [];
    const watcher = watchClockEvents({
      onEvent: (reason, detail) => events.push({ reason, ...detail }),
      checkIntervalMs: 10,
      clocks,
      watch: () => ({ stop() {} }),
    });
    try {
      sleep(30_000);
      await until(() => events.length > 0);
    } finally {
      watcher.stop();
      process.hrtime.bigint = realHrtime;
    }
    t.is(events.length, 1, JSON.stringify(events));
    t.is(events[0]?.reason, 'wake');
    t.true(near(events[0]?.sleptMs, 30_000, 50), JSON.stringify(events));
  },
);

test.serial('the default drift check reads the native monotonic clock, not process.hrtime', async (t) => {
  // A frozen process.hrtime would look like a machine asleep to a check that read it.
  const realHrtime = process.hrtime.bigint;
  const frozen = realHrtime();
  process.hrtime.bigint = () => frozen;
  const events: ClockEventReason[] = [];
  const watcher = watchClockEvents({
    onEvent: (reason) => events.push(reason),
    checkIntervalMs: 20,
    wakeThresholdMs: 5,
    watch: () => ({ stop() {} }),
  });
  try {
    await new Promise((r) => setTimeout(r, 150));
  } finally {
    watcher.stop();
    process.hrtime.bigint = realHrtime;
  }
  t.deepEqual(events, []);
});

function fakeWatch() {
  let deliver: ((event: ClockChangeEvent) => void) | undefined;
  let stopped = 0;
  return {
    watch: (callback: (event: ClockChangeEvent) => void) => {
      deliver = callback;
      return { stop: () => void stopped++ };
    },
    emit: (event: ClockChangeEvent) => deliver?.(event),
    stopped: () => stopped,
  };
}

test('an OS clock_set event after a sleep is reported as wake (Linux timerfds fire on resume)', (t) => {
  const { clocks, sleep } = movableClocks();
  const os = fakeWatch();
  const events: Array<{ reason: ClockEventReason; jumpMs?: number; sleptMs?: number }> = [];
  const watcher = watchClockEvents({
    onEvent: (reason, detail) => events.push({ reason, ...detail }),
    clocks,
    watch: os.watch,
  });
  const stamp = { wallMs: 0, continuousMs: 0 };
  os.emit({ kind: 'clock_set', ...stamp });
  sleep(60_000);
  os.emit({ kind: 'clock_set', ...stamp });
  watcher.stop();
  t.is(events.length, 2, JSON.stringify(events));
  t.is(events[0]?.reason, 'clock_set');
  t.is(events[1]?.reason, 'wake');
  t.true(near(events[1]?.sleptMs, 60_000, 5), JSON.stringify(events));
});

test('a failed OS watcher is reported once, and the drift check keeps catching steps', async (t) => {
  const { clocks, step } = movableClocks();
  const os = fakeWatch();
  const failures: string[] = [];
  const events: Array<{ reason: ClockEventReason; jumpMs?: number }> = [];
  const watcher = watchClockEvents({
    onEvent: (reason, detail) => events.push({ reason, ...detail }),
    onWatchFailed: (error) => failures.push(error),
    checkIntervalMs: 10,
    clocks,
    watch: os.watch,
  });
  try {
    os.emit({ kind: 'watch_failed', error: 'poll: Bad file descriptor', wallMs: 0, continuousMs: 0 });
    step(5000);
    await until(() => events.length > 0);
  } finally {
    watcher.stop();
  }
  t.deepEqual(failures, ['poll: Bad file descriptor']);
  t.is(events[0]?.reason, 'clock_jump');
  t.true(near(events[0]?.jumpMs, 5000, 5), JSON.stringify(events));
});

test('nothing is reported after stop(), not even an OS event delivered late', (t) => {
  const os = fakeWatch();
  const events: ClockEventReason[] = [];
  const failures: string[] = [];
  const watcher = watchClockEvents({
    onEvent: (reason) => events.push(reason),
    onWatchFailed: (error) => failures.push(error),
    watch: os.watch,
  });
  watcher.stop();
  os.emit({ kind: 'clock_set', wallMs: 0, continuousMs: 0 });
  os.emit({ kind: 'watch_failed', error: 'x', wallMs: 0, continuousMs: 0 });
  t.deepEqual(events, []);
  t.deepEqual(failures, []);
  t.is(os.stopped(), 1);
});
