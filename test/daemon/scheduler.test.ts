import test from 'ava';
import { Scheduler } from '../../agent/daemon/scheduler.js';
import { StatusRegistry } from '../../agent/daemon/status.js';
import { silentLogger } from '../../agent/log/logger.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

test('a job never overlaps itself; runNow during a run queues exactly one follow-up', async (t) => {
  const scheduler = new Scheduler(silentLogger);
  let concurrent = 0;
  let maxConcurrent = 0;
  const reasons: string[] = [];
  const first = gate();
  scheduler.every(
    'job',
    60_000,
    async ({ reason }) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      reasons.push(reason);
      if (reasons.length === 1) await first.opened;
      concurrent--;
    },
    { immediate: false },
  );
  const a = scheduler.runNow('job', 'one');
  const b = scheduler.runNow('job', 'two');
  const c = scheduler.runNow('job', 'three');
  t.true(scheduler.status().job!.running);
  first.open();
  await Promise.all([a, b, c]);
  t.deepEqual(reasons, ['one', 'two']);
  t.is(maxConcurrent, 1);
  t.is(scheduler.status().job!.runs, 2);
  t.not(scheduler.status().job!.next_run_at, null);
  await scheduler.stop();
});

test('a failing job is recorded and logged, and runs again next time', async (t) => {
  const errors: string[] = [];
  const scheduler = new Scheduler({ ...silentLogger, error: (m, f) => errors.push(`${m} ${String(f?.error)}`) });
  let calls = 0;
  scheduler.every(
    'flaky',
    60_000,
    () => {
      calls++;
      if (calls === 1) throw new Error('source unreachable');
    },
    { immediate: false },
  );
  await scheduler.runNow('flaky', 'test');
  t.is(scheduler.status().flaky!.last_error, 'source unreachable');
  t.deepEqual(errors, ['job flaky failed source unreachable']);
  await scheduler.runNow('flaky', 'test');
  t.is(scheduler.status().flaky!.last_error, null);
  await scheduler.stop();
});

test('stop() aborts the signal and waits for the run in flight', async (t) => {
  const scheduler = new Scheduler(silentLogger);
  let finished = false;
  scheduler.every('long', 60_000, async ({ signal }) => {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => setTimeout(resolve, 20)));
    finished = true;
  });
  await new Promise((r) => setImmediate(r));
  t.deepEqual(scheduler.runningJobs(), ['long']);
  await scheduler.stop();
  t.true(finished);
  await scheduler.runNow('long', 'after stop');
  t.is(scheduler.status().long!.runs, 1);
});

test('interval runs happen on their own', async (t) => {
  const scheduler = new Scheduler(silentLogger);
  const reasons: string[] = [];
  const done = gate();
  scheduler.every('tick', 20, ({ reason }) => {
    reasons.push(reason);
    if (reasons.length === 3) done.open();
  });
  await done.opened;
  await scheduler.stop();
  t.deepEqual(reasons.slice(0, 3), ['start', 'interval', 'interval']);
});

test('bad names and intervals are refused', (t) => {
  const scheduler = new Scheduler(silentLogger);
  t.throws(() => scheduler.every('x', 0, () => {}), { instanceOf: RangeError });
  scheduler.every('x', 1000, () => {}, { immediate: false });
  t.throws(() => scheduler.every('x', 1000, () => {}), { message: /already scheduled/ });
  t.throws(() => scheduler.runNow('nope', 'r'), { message: /no job named/ });
  void scheduler.stop();
  const status = new StatusRegistry();
  t.throws(() => status.section('Clock', () => ({})), { message: /snake_case/ });
});

test('a failing status section reports its error without hiding the others', async (t) => {
  const status = new StatusRegistry();
  status.section('good', () => ({ state: 'ok' }));
  status.section('bad', () => {
    throw new Error('broken');
  });
  status.section('later', async () => ({ n: 1 }));
  t.deepEqual(await status.collect(), { good: { state: 'ok' }, bad: { error: 'broken' }, later: { n: 1 } });
});
