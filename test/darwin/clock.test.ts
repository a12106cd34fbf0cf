// The clock as a Mac runs it (issue 9), run by .github/workflows/macos.yml on a macOS runner
// as root (stepping the clock needs it). Excluded from `npm test` elsewhere by the ava glob.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { watchClockEvents, type ClockEventReason } from '../../agent/clock/clock-events.js';
import {
  continuousClock,
  kernelTimeStatus,
  monotonicClock,
  watchClockChanges,
  type ClockChangeEvent,
} from '../../native/clock.js';

const onDarwin = process.platform === 'darwin';
const asRoot = process.getuid?.() === 0;
const darwinTest = onDarwin ? test : test.skip;
const darwinRootTest = onDarwin && asRoot ? test.serial : test.serial.skip;

function python(program: string, ...args: string[]): string {
  const run = spawnSync('python3', ['-c', program, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return run.stdout.trim();
}

// Relative step through Libc's clock_settime -> settimeofday wrapper, which posts
// com.apple.system.clock_set (Libc sys/settimeofday.c). The few µs between read and write are lost.
function stepWithLibc(ns: number): void {
  python(
    'import sys, time\nt = time.clock_gettime_ns(time.CLOCK_REALTIME)\ntime.clock_settime_ns(time.CLOCK_REALTIME, t + int(sys.argv[1]))\n',
    String(ns),
  );
}

// Relative step with the raw settimeofday system call (SYS_settimeofday = 122 in xnu
// bsd/kern/syscalls.master): the kernel sets the clock and nobody posts the notification.
// syscall() is variadic, and on arm64 Apple's ABI passes variadic arguments on the stack, where
// xnu's libsyscall/custom/__syscall.s reads them (`ldp x1, x2, [sp]`). ctypes makes a variadic
// call (ffi_prep_cif_var) only when a call passes more arguments than argtypes declares
// (CPython Modules/_ctypes/callproc.c, is_variadic), so argtypes names the one fixed parameter,
// the syscall number, and the two pointers go as variadic arguments.
function stepWithRawSyscall(us: number): void {
  python(
    `
import ctypes, sys
class timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_int)]
libc = ctypes.CDLL(None, use_errno=True)
libc.gettimeofday.argtypes = [ctypes.POINTER(timeval), ctypes.c_void_p]
libc.gettimeofday.restype = ctypes.c_int
libc.syscall.argtypes = [ctypes.c_int]
libc.syscall.restype = ctypes.c_int
tv = timeval()
libc.gettimeofday(ctypes.byref(tv), None)
total = tv.tv_sec * 1000000 + tv.tv_usec + int(sys.argv[1])
tv.tv_sec, tv.tv_usec = total // 1000000, total % 1000000
if libc.syscall(122, ctypes.byref(tv), ctypes.c_void_p(None)) != 0:
    sys.exit("settimeofday syscall: errno %d" % ctypes.get_errno())
`,
    String(us),
  );
}

function blockJsThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

darwinTest('kernelTimeStatus works whatever the sync state; ntp_gettime would fail when unsynchronised', (t) => {
  const status = kernelTimeStatus();
  t.true(Number.isInteger(status.state) && status.state >= 0 && status.state <= 5, JSON.stringify(status));
  t.true(Number.isInteger(status.statusFlags));
  t.true(Number.isFinite(status.offsetUs));
  const STA_UNSYNC = 0x0040;
  const STA_CLOCKERR = 0x1000;
  t.is(status.state === 5, (status.statusFlags & (STA_UNSYNC | STA_CLOCKERR)) !== 0, JSON.stringify(status));
  // Why not ntp_gettime: xnu returns the state as that syscall's error (kern_ntptime.c
  // `return ntv.time_state;`), so it is -1 with errno = state whenever state != TIME_OK.
  const [ret, errno] = python(
    `
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.ntp_gettime.argtypes = [ctypes.c_void_p]
libc.ntp_gettime.restype = ctypes.c_int
buf = ctypes.create_string_buffer(128)
r = libc.ntp_gettime(buf)
print(r, ctypes.get_errno())
`,
  )
    .split(' ')
    .map(Number);
  const now = kernelTimeStatus().state;
  if (now === 0) t.is(ret, 0);
  else t.deepEqual([ret, errno], [-1, now], `ntp_gettime returned ${ret} errno ${errno} with state ${now}`);
  t.log(`kernel state ${status.state}, STA flags 0x${status.statusFlags.toString(16)}, ntp_gettime -> ${ret}/${errno}`);
});

darwinTest('mach_absolute_time and mach_continuous_time both advance; their difference is stable awake', async (t) => {
  const read = () => {
    const before = continuousClock();
    const mono = monotonicClock();
    const after = continuousClock();
    return { continuous: (before + after) / 2, mono, window: after - before };
  };
  const first = read();
  await new Promise((r) => setTimeout(r, 500));
  const second = read();
  t.true(second.continuous - first.continuous >= 450, 'continuous clock did not advance');
  t.true(second.mono - first.mono >= 450, 'monotonic clock did not advance');
  t.true(first.continuous - first.mono >= -1, 'mach_continuous_time behind mach_absolute_time');
  const change = second.continuous - second.mono - (first.continuous - first.mono);
  t.true(Math.abs(change) < 2 + first.window + second.window, `difference moved by ${change} ms while awake`);
  t.log(`time slept since boot: ${((first.continuous - first.mono) / 1000).toFixed(1)} s`);
});

darwinRootTest('stop() with a clock_set already queued: no callback follows', async (t) => {
  const afterStop: ClockChangeEvent[] = [];
  const control: ClockChangeEvent[] = [];
  const stopped = watchClockChanges((e) => afterStop.push(e));
  const running = watchClockChanges((e) => control.push(e));
  try {
    stepWithLibc(1000); // synchronous: JS is busy while notifyd delivers
    blockJsThread(500);
    stopped.stop();
  } finally {
    stepWithLibc(-1000);
  }
  await until(() => control.length >= 1);
  await new Promise((r) => setTimeout(r, 300));
  running.stop();
  t.true(control.length >= 1, 'no clock_set reached the running subscription: nothing was queued');
  t.deepEqual(afterStop, []);
});

darwinRootTest(
  'a step made without Libc posts nothing the wrapper can rely on; the drift check catches it',
  async (t) => {
    const notified: ClockChangeEvent[] = [];
    const drift: Array<{ reason: ClockEventReason; jumpMs?: number }> = [];
    const os = watchClockChanges((e) => notified.push(e));
    const watcher = watchClockEvents({
      onEvent: (reason, detail) => drift.push({ reason, ...detail }),
      checkIntervalMs: 20,
      jumpThresholdMs: 0.05,
      watch: () => ({ stop() {} }), // the drift check alone
    });
    const isTheStep = (e: { reason: ClockEventReason; jumpMs?: number }) =>
      e.reason === 'clock_jump' && Math.abs((e.jumpMs ?? 0) - 0.1) < 0.05;
    try {
      stepWithRawSyscall(100); // +100 µs
      await until(() => drift.some(isTheStep));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      watcher.stop();
      os.stop();
      stepWithLibc(-100_000);
    }
    t.true(drift.some(isTheStep), `no clock_jump of about +0.1 ms among ${JSON.stringify(drift)}`);
    t.log(
      `com.apple.system.clock_set after the raw syscall: ${notified.length} event(s) (Libc posts, the kernel does not)`,
    );
  },
);
