import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../native/addon.js';
import {
  continuousClock,
  kernelTimeStatus,
  monotonicClock,
  wallClock,
  watchClockChanges,
  type ClockChangeEvent,
} from '../../native/clock.js';
import { hasCommand, missing, stepClock } from '../helpers/system.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceRoot = path.resolve(here, '..', '..', '..');

test('wallClock reads the clock Date.now reads: it lies between the two reads around it', (t) => {
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
  // Against Node's own monotonic clock over the same interval (a loaded machine may sleep long,
  // and may stop this process between two of the reads).
  const start = continuousClock();
  const hrStart = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 50));
  const elapsed = continuousClock() - start;
  const hrElapsed = Number(process.hrtime.bigint() - hrStart) / 1e6;
  t.true(
    elapsed >= 45 && Math.abs(elapsed - hrElapsed) < 100,
    `50 ms sleep measured as ${elapsed} ms (hrtime: ${hrElapsed} ms)`,
  );
});

test('monotonicClock never goes back and advances with real time', async (t) => {
  let previous = monotonicClock();
  for (let i = 0; i < 10_000; i++) {
    const now = monotonicClock();
    t.true(now >= previous);
    previous = now;
  }
  // Against Node's own monotonic clock over the same interval (a loaded machine may sleep long,
  // and may stop this process between two of the reads).
  const start = monotonicClock();
  const hrStart = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 50));
  const elapsed = monotonicClock() - start;
  const hrElapsed = Number(process.hrtime.bigint() - hrStart) / 1e6;
  t.true(
    elapsed >= 45 && Math.abs(elapsed - hrElapsed) < 100,
    `50 ms sleep measured as ${elapsed} ms (hrtime: ${hrElapsed} ms)`,
  );
});

test('continuous − monotonic (time slept since boot) is stable while the machine is awake', async (t) => {
  // Both clocks tick together while awake, so their difference only moves by read jitter;
  // a wake would move it by the time asleep. Tightest of a few bracketed reads, as the drift
  // check does.
  const pair = () => {
    let best = { window: Infinity, slept: 0 };
    for (let i = 0; i < 20; i++) {
      const before = continuousClock();
      const mono = monotonicClock();
      const after = continuousClock();
      if (after - before < best.window) best = { window: after - before, slept: (before + after) / 2 - mono };
    }
    return best;
  };
  const first = pair();
  t.true(first.slept >= -1, `continuous − monotonic is ${first.slept} ms: the continuous clock must not lag`);
  await new Promise((r) => setTimeout(r, 200));
  const second = pair();
  const change = second.slept - first.slept;
  t.true(Math.abs(change) < 5, `continuous − monotonic moved by ${change} ms in 200 ms awake`);
});

test('kernelTimeStatus reads the kernel discipline fields on every OS, synchronised or not', (t) => {
  // On macOS this is ntp_adjtime(modes = 0): ntp_gettime would fail with errno = TIME_ERROR on
  // a Mac that is not synchronised (xnu bsd/kern/kern_ntptime.c returns the state as its error).
  const status = kernelTimeStatus();
  t.true(Number.isInteger(status.state) && status.state >= 0 && status.state <= 5);
  t.is(typeof status.maxErrorUs, 'number');
  t.is(typeof status.estErrorUs, 'number');
  t.true(Number.isInteger(status.statusFlags));
  t.true(Number.isFinite(status.offsetUs));
  // Both kernels report TIME_ERROR when STA_UNSYNC or STA_CLOCKERR is set (xnu kern_ntptime.c
  // ntp_adjtime: `ret = ntp_is_time_error(time_status) ? TIME_ERROR : time_state;` and only
  // then; Linux kernel/time/ntp.c also for PPS faults, which only PPS hardware raises).
  const STA_UNSYNC = 0x0040;
  const STA_CLOCKERR = 0x1000;
  const TIME_ERROR = 5;
  const unsynchronised = (status.statusFlags & (STA_UNSYNC | STA_CLOCKERR)) !== 0;
  if (unsynchronised) t.is(status.state, TIME_ERROR, JSON.stringify(status));
  if (process.platform === 'darwin') t.is(status.state === TIME_ERROR, unsynchronised, JSON.stringify(status));
});

test('wrong arguments are TypeErrors from the TypeScript layer', (t) => {
  const call =
    (f: (...a: unknown[]) => unknown, ...args: unknown[]) =>
    () =>
      f(...args);
  t.throws(call(wallClock as (...a: unknown[]) => unknown, 1), { instanceOf: TypeError });
  t.throws(call(continuousClock as (...a: unknown[]) => unknown, 'x'), { instanceOf: TypeError });
  t.throws(call(kernelTimeStatus as (...a: unknown[]) => unknown, {}), { instanceOf: TypeError });
  t.throws(call(monotonicClock as (...a: unknown[]) => unknown, 0), { instanceOf: TypeError });
  for (const bad of [undefined, null, 42, 'cb', {}, []]) {
    t.throws(call(watchClockChanges as (...a: unknown[]) => unknown, bad), { instanceOf: TypeError });
  }
  t.throws(
    call(watchClockChanges as (...a: unknown[]) => unknown, () => {}, 'extra'),
    { instanceOf: TypeError },
  );
});

test('a stopped watcher can be stopped again and lets the process exit', (t) => {
  // A child process subscribes, stops, and must then exit by itself with its event loop empty.
  const script = `
    import { watchClockChanges } from ${JSON.stringify(path.join(sourceRoot, 'dist', 'native', 'clock.js'))};
    const sub = watchClockChanges(() => {});
    setTimeout(() => { sub.stop(); sub.stop(); console.log('stopped'); }, 50);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  t.is(child.signal, null, 'the child had to be killed: a handle kept it alive');
  t.is(child.status, 0, child.stderr);
  t.is(child.stdout.trim(), 'stopped');
});

test('a process still watching at exit shuts down cleanly', (t) => {
  const script = `
    import { watchClockChanges } from ${JSON.stringify(path.join(sourceRoot, 'dist', 'native', 'clock.js'))};
    watchClockChanges(() => {});
    setTimeout(() => process.exit(0), 50);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  t.is(child.status, 0, child.stderr);
});

const stepMissing = missing('root', 'linux', 'python3');
(stepMissing ? test.serial.skip : test.serial)(
  `a real clock step (+1 µs, then −1 µs) is seen as clock_set, with the wall time it was seen at${stepMissing ? ` [needs ${stepMissing}]` : ''}`,
  async (t) => {
    // Behaviour, not latency (issue 17 item 16): the wait is only a bound on a hung test; how
    // fast a step reaches the daemon is in bench/clock-step.bench.ts.
    const events: ClockChangeEvent[] = [];
    const sub = watchClockChanges((e) => events.push(e));
    try {
      const waitForEvent = async (count: number) => {
        const deadline = Date.now() + 30_000;
        while (events.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        return events.length >= count;
      };
      const steppedAt = Date.now();
      stepClock(1000);
      t.true(await waitForEvent(1), 'no event after a +1 µs step');
      const seenBy = Date.now();
      stepClock(-1000);
      t.true(await waitForEvent(2), 'no event after a −1 µs step');
      t.is(events[0].kind, 'clock_set');
      // The event carries the wall clock when it was seen: after the step, before JS saw it.
      t.true(events[0].wallMs >= steppedAt - 1 && events[0].wallMs <= seenBy + 1, JSON.stringify(events[0]));
    } finally {
      sub.stop();
    }
  },
);

// Blocks the JS thread (the event loop cannot run) so that an OS event is queued, not delivered.
function blockJsThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

interface RawClockWatch {
  stop(): void;
}
type RawClockWatchClass = new (callback: (event: ClockChangeEvent) => void) => RawClockWatch;

(stepMissing ? test.serial.skip : test.serial)(
  `stop() with an event already queued: no callback follows, for the binding and the wrapper${stepMissing ? ` [needs ${stepMissing}]` : ''}`,
  async (t) => {
    // The native class itself (the binding must drop what is queued) and the public wrapper,
    // plus one subscription left running to prove an event really was queued meanwhile.
    const RawClockWatch = native<{ ClockWatch: RawClockWatchClass }>().ClockWatch;
    const afterStop: string[] = [];
    const control: ClockChangeEvent[] = [];
    const raw = new RawClockWatch(() => afterStop.push('binding'));
    const wrapped = watchClockChanges(() => afterStop.push('wrapper'));
    const running = watchClockChanges((e) => control.push(e));
    try {
      stepClock(1000); // +1 µs, undone below; synchronous, so JS is busy when the event comes
      blockJsThread(300); // the watcher threads queue their events now
      raw.stop();
      wrapped.stop();
    } finally {
      stepClock(-1000);
    }
    const deadline = Date.now() + 2000;
    while (control.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    running.stop();
    t.true(control.length >= 1, 'the running subscription saw no event: nothing was queued, the test proves nothing');
    t.deepEqual(afterStop, [], `callbacks ran after stop(): ${afterStop.join(', ')}`);
  },
);

const threadMissing =
  missing('root', 'linux') ?? (hasCommand('setpriv') && hasCommand('prlimit') ? undefined : 'util-linux');
(threadMissing ? test.serial.skip : test)(
  `a watcher thread the OS refuses is a JS error, not an abort${threadMissing ? ` [needs ${threadMissing}]` : ''}`,
  (t) => {
    // As nobody, the child lowers its own RLIMIT_NPROC to 1 once Node's threads run; then
    // std::thread throws std::system_error inside the ClockWatch constructor. That must reach
    // JS as an Error (node-addon-api itself only converts Napi::Error; anything else aborts).
    const script = `
      import { spawnSync } from 'node:child_process';
      import { stat } from 'node:fs/promises';
      import { wallClock, watchClockChanges } from ${JSON.stringify(path.join(sourceRoot, 'dist', 'native', 'clock.js'))};
      // Start what needs threads before the limit: libuv's pool (it aborts if it cannot) and the addon.
      await stat('/');
      wallClock();
      const limit = spawnSync('prlimit', ['--pid', String(process.pid), '--nproc=1:1'], { encoding: 'utf8' });
      if (limit.status !== 0) { console.log('prlimit failed: ' + limit.stderr); process.exit(3); }
      try {
        watchClockChanges(() => {}).stop();
        console.log('started');
      } catch (error) {
        console.log('error: ' + (error instanceof Error) + ' ' + error.message);
      }
    `;
    const nobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
    const child = spawnSync('setpriv', [...nobody, process.execPath, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    t.is(child.signal, null, `the child died of ${child.signal}: ${child.stderr}`);
    t.is(child.status, 0, child.stdout + child.stderr);
    t.regex(child.stdout, /^error: true native error: Resource temporarily unavailable$/m, child.stdout + child.stderr);
  },
);

(stepMissing ? test.serial.skip : test.serial)(
  `a Linux watcher whose timerfd breaks says so (watch_failed) instead of going quiet${stepMissing ? ` [needs ${stepMissing}]` : ''}`,
  async (t) => {
    // A child closes its watcher's timerfd behind the watcher's back; the next clock step wakes
    // the watcher thread, whose read then fails: the failure must reach JS.
    const script = `
      import { closeSync, readdirSync, readlinkSync } from 'node:fs';
      import { watchClockChanges } from ${JSON.stringify(path.join(sourceRoot, 'dist', 'native', 'clock.js'))};
      const timerfds = () => readdirSync('/proc/self/fd').filter((fd) => {
        try { return readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[timerfd]'; } catch { return false; }
      });
      const before = new Set(timerfds());
      watchClockChanges((event) => {
        console.log(JSON.stringify(event));
        if (event.kind === 'watch_failed') process.exit(0);
      });
      const mine = timerfds().filter((fd) => !before.has(fd));
      if (mine.length !== 1) { console.log('timerfds: ' + mine.join(',')); process.exit(3); }
      // stdout first: its first use opens a descriptor, which would take the freed number and
      // hide the closed timerfd from the watcher's poll.
      console.log('closing ' + mine[0]);
      closeSync(Number(mine[0]));
      console.log('ready');
      setTimeout(() => { console.log('timeout'); process.exit(4); }, 5000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        if (stdout.includes('ready\n')) resolve();
      }),
    );
    let code: number | null;
    try {
      stepClock(1000);
      code = await exited;
    } finally {
      stepClock(-1000);
    }
    t.is(code, 0, stdout + stderr);
    const failure = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as ClockChangeEvent)
      .find((e) => e.kind === 'watch_failed');
    t.truthy(failure, stdout);
    t.regex(failure?.kind === 'watch_failed' ? failure.error : '', /timerfd/, stdout);
  },
);
