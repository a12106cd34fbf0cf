import test from 'ava';
import { watchClockEvents, type ClockEventReason } from '../../agent/clock/clock-events.js';
import { missing, stepClock } from '../helpers/system.js';

const needs = missing('root', 'linux', 'python3');
const isTheStep = (e: { reason: ClockEventReason; jumpMs?: number }) => e.reason === 'clock_jump' && Math.abs((e.jumpMs ?? 0) - 0.1) < 0.05;

(needs ? test.serial.skip : test.serial)(`a step the OS notification missed is caught by the drift check${needs ? ` [needs ${needs}]` : ''}`, async (t) => {
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
});

test('without steps or sleep the drift check stays quiet, and stop() ends it', async (t) => {
  const events: ClockEventReason[] = [];
  const watcher = watchClockEvents({ onEvent: (reason) => events.push(reason), checkIntervalMs: 10, watch: () => ({ stop() {} }) });
  await new Promise((r) => setTimeout(r, 100));
  watcher.stop();
  t.deepEqual(events, []);
});
