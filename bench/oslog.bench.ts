// Benchmark for issue 9 (linux/log.cc leaked one string per subsystem switch): osLog
// alternating between two subsystems many times must not grow the heap outside V8. Prints the
// RSS growth beside the same count of writes under one subsystem, and PASS/OVER against the
// budget: switching costs no more than 1 MB over not switching.
import { osLog } from '../native/log.js';

// Kept small: on a machine with a syslog daemon these are real (debug-level) log lines.
const writes = 50_000;
const longName = `com.trustguard.bench.${'b'.repeat(100)}`;
const budgetBytes = 1024 * 1024;

function growth(subsystemOf: (i: number) => string): number {
  global.gc?.();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < writes; i++) osLog(subsystemOf(i), 'bench', 'debug', 'x');
  global.gc?.();
  return process.memoryUsage().rss - before;
}

if (process.platform !== 'linux') {
  console.log('SKIPPED: the switching cost is syslog ident handling (linux/log.cc)');
} else {
  growth(() => 'com.trustguard.bench.warmup'); // first-use allocations out of the way
  const steady = growth(() => 'com.trustguard.bench.a');
  const switching = growth((i) => (i % 2 ? 'com.trustguard.bench.a' : longName));
  const extra = switching - steady;
  console.log(
    `${writes} osLog writes: one subsystem +${(steady / 1024).toFixed(0)} KiB RSS, alternating two +${(switching / 1024).toFixed(0)} KiB`,
  );
  console.log(
    `${extra <= budgetBytes ? 'PASS' : 'OVER'}: switching costs ${(extra / 1024).toFixed(0)} KiB (budget ${budgetBytes / 1024} KiB)`,
  );
  process.exitCode = extra <= budgetBytes ? 0 : 1;
}
