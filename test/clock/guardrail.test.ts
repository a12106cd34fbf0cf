import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { combine, type ClockMeasurement } from '../../agent/clock/combine.js';
import { ClockGuardrail, guardrailStateFile, type ClockGuardrailOptions } from '../../agent/clock/guardrail.js';
import { runRemediation } from '../../agent/clock/remediation.js';
import type { SourceMeasurement } from '../../agent/clock/types.js';
import { failure, sample } from '../helpers/sources.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

const minute = 60_000;

function round(sources: SourceMeasurement[], atMs = 0): ClockMeasurement {
  return { measuredAtMs: atMs, combination: combine(sources) };
}
/** Three agreeing NTP servers at the given skew (seconds). */
const agreeing = (seconds: number) =>
  round([
    sample(seconds * 1000, 2, '127.0.0.1:10001'),
    sample(seconds * 1000 + 1, 2, '127.0.0.1:10002'),
    sample(seconds * 1000 - 1, 2, '127.0.0.1:10003'),
  ]);
const disagreeing = () => round([sample(92_000, 2, '127.0.0.1:10001'), sample(0, 2, '127.0.0.1:10002')]);
const single = (seconds: number) =>
  round([sample(seconds * 1000, 2, '127.0.0.1:10001'), failure('127.0.0.1:10002'), failure('127.0.0.1:10003')]);

async function setup(t: { teardown(fn: () => Promise<void>): void }, extra: Partial<ClockGuardrailOptions> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tg-guardrail-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clock = { now: 1_700_000_000_000 };
  const logger = new RecordingLogger();
  const make = (more: Partial<ClockGuardrailOptions> = {}) =>
    new ClockGuardrail({ stateDir: dir, logger, now: () => clock.now, platform: 'linux', ...extra, ...more });
  return { dir, clock, logger, make };
}

test('states go up at once and come down with hysteresis', async (t) => {
  const { logger, make, clock } = await setup(t);
  const g = make();
  const states: string[] = [];
  for (const s of [0, 40, 92, 92, 50, 92, 50, 50, 20, 10, 10]) {
    clock.now += 90_000;
    states.push((await g.evaluate(agreeing(s))).state);
  }
  t.deepEqual(states, ['ok', 'warn', 'active', 'active', 'active', 'active', 'active', 'warn', 'warn', 'warn', 'ok']);
  t.is(logger.matching('TRUST_GUARDRAIL_ACTIVE').length, 1);
  t.is(logger.matching('TRUST_GUARDRAIL_ACTIVE')[0]!.level, 'warn');
  t.regex(
    logger.matching('TRUST_GUARDRAIL_ACTIVE')[0]!.message,
    /TRUST_GUARDRAIL_ACTIVE: clock is 92 s slow against 3 of 3 sources/,
  );
});

test('held state says how many low rounds clear it', async (t) => {
  const { make } = await setup(t);
  const g = make();
  await g.evaluate(agreeing(-92));
  const held = await g.evaluate(agreeing(-50));
  t.is(held.state, 'active');
  t.deepEqual(held.release_pending, { remaining: 1, below_seconds: 60 });
  t.regex(
    held.hint!,
    /^Clock is 50 s fast against 3 of 3 sources; the active state clears after 1 more measurement below 60 s/,
  );
});

test('the marker is logged again only after the guardrail was left', async (t) => {
  const { logger, make } = await setup(t);
  const g = make();
  for (const s of [92, 0, 0, 92]) await g.evaluate(agreeing(s));
  t.is(logger.matching('TRUST_GUARDRAIL_ACTIVE').length, 2);
  t.is(logger.matching('no longer active').length, 1);
});

test('an uncertain round keeps the last confident level and does not re-log the marker', async (t) => {
  const { logger, make } = await setup(t, { mode: 'enforce' });
  const g = make();
  await g.evaluate(agreeing(92));
  const u = await g.evaluate(disagreeing());
  t.is(u.state, 'uncertain');
  t.is(u.last_confident_state, 'active');
  t.is(u.compliance.state, 'non_compliant');
  t.regex(u.hint!, /^Time sources disagree \(127\.0\.0\.1:10001 says \+92 s and 127\.0\.0\.1:10002 says \+0 ms\)/);
  const back = await g.evaluate(agreeing(92));
  t.is(back.state, 'active');
  t.is(logger.matching('TRUST_GUARDRAIL_ACTIVE').length, 1);
});

test('an active guardrail survives a restart', async (t) => {
  const { dir, logger, make } = await setup(t, { mode: 'enforce' });
  const first = make();
  await first.evaluate(agreeing(92));
  const second = make();
  const restored = second.snapshot();
  t.is(restored.state, 'active');
  t.is(restored.offset_ms, 92_000);
  t.is(restored.compliance.state, 'non_compliant');
  t.is(restored.sources.length, 3);
  t.truthy(logger.matching('clock guardrail restored: still active').length);
  await second.evaluate(agreeing(92));
  t.is(logger.matching('TRUST_GUARDRAIL_ACTIVE').length, 1, 'a restart does not re-enter active');
  // Hysteresis state also survives: one low round before the restart, one after.
  await second.evaluate(agreeing(0));
  const third = make();
  t.is((await third.evaluate(agreeing(0))).state, 'ok');
  // Atomic writes leave no temporary files.
  t.deepEqual(await readdir(dir), [guardrailStateFile]);
});

test('a corrupt state file starts fresh with a warning and is kept aside', async (t) => {
  const { dir, logger, make } = await setup(t);
  const file = path.join(dir, guardrailStateFile);
  await writeFile(file, '{"version": 1, "state": "act');
  const g = make();
  t.is(g.snapshot().state, 'uncertain');
  t.is(logger.matching('state file is corrupt (not JSON').length, 1);
  t.true(existsSync(`${file}.corrupt`));
  t.is((await g.evaluate(agreeing(92))).state, 'active');
  t.is(JSON.parse(await readFile(file, 'utf8')).state, 'active');
});

test('a state file of the wrong shape starts fresh', async (t) => {
  const { dir, logger, make } = await setup(t);
  await writeFile(path.join(dir, guardrailStateFile), JSON.stringify({ version: 1, state: 'on fire' }));
  t.is(make().snapshot().state, 'uncertain');
  t.regex(logger.matching('state file is corrupt')[0]!.message, /unexpected content at/);
});

test('a missing state directory is created; an unwritable one is logged, not thrown', async (t) => {
  const { dir, logger } = await setup(t);
  const nested = new ClockGuardrail({ stateDir: path.join(dir, 'a', 'b'), logger, platform: 'linux' });
  await nested.evaluate(agreeing(0));
  t.true(existsSync(path.join(dir, 'a', 'b', guardrailStateFile)));
  await writeFile(path.join(dir, 'file'), '');
  const blocked = new ClockGuardrail({ stateDir: path.join(dir, 'file', 'sub'), logger, platform: 'linux' });
  t.is((await blocked.evaluate(agreeing(92))).state, 'active');
  t.is(logger.matching('could not be saved').length, 1);
});

async function remediationSetup(
  t: Parameters<typeof setup>[0],
  mode: 'remediate' | 'enforce' | 'observe' = 'remediate',
) {
  const base = await setup(t);
  const record = path.join(base.dir, 'remediation.log');
  // A harmless remediation: appends the server it was given to a file.
  const command = ['/bin/sh', '-c', 'echo "$1" >> "$2"; echo stepped', 'sh', '{server}', record];
  const g = base.make({ mode, remediationCommand: command });
  const runs = async () => (existsSync(record) ? (await readFile(record, 'utf8')).trim().split('\n') : []);
  return { ...base, g, runs, command };
}

test('remediation runs on a confident estimate, at most once per 15 minutes, audited', async (t) => {
  const { g, runs, clock, logger, make, command } = await remediationSetup(t);
  const s = await g.evaluate(agreeing(92));
  t.deepEqual(await runs(), ['127.0.0.1']);
  t.is(s.remediation.last!.exit_code, 0);
  t.is(s.remediation.last!.code, null);
  t.is(s.remediation.last!.output, 'stepped\n');
  t.is(s.remediation.next_allowed_at_ms, clock.now + 15 * minute);
  const audit = logger.matching('clock remediation ran')[0]!;
  t.is(audit.fields!.exit_code, 0);
  t.deepEqual(audit.fields!.argv, [...command.slice(0, 4), '127.0.0.1', command[5]]);

  clock.now += 14 * minute;
  await g.evaluate(agreeing(92));
  t.is((await runs()).length, 1, 'rate limited');
  t.is(logger.matching('clock remediation skipped: rate limited')[0]?.fields?.code, 'remediation_rate_limited');
  // The rate limit survives a restart.
  const restarted = make({ mode: 'remediate', remediationCommand: command });
  await restarted.evaluate(agreeing(92));
  t.is((await runs()).length, 1, 'rate limited after restart');
  clock.now += 1 * minute;
  await restarted.evaluate(agreeing(92));
  t.is((await runs()).length, 2);
  // A backward step right after remediation does not unlock it.
  clock.now -= 2 * minute;
  await restarted.evaluate(agreeing(92));
  t.is((await runs()).length, 2);
});

test('remediation also runs in warn, never on ok', async (t) => {
  const { g, runs } = await remediationSetup(t, 'enforce');
  await g.evaluate(agreeing(5));
  t.is((await runs()).length, 0);
  await g.evaluate(agreeing(40));
  t.is((await runs()).length, 1);
});

test('remediation never runs on a single source or on disagreeing sources', async (t) => {
  const { g, runs } = await remediationSetup(t);
  t.is((await g.evaluate(single(92))).state, 'uncertain');
  t.is((await g.evaluate(disagreeing())).state, 'uncertain');
  t.is((await runs()).length, 0);
});

test('observe mode never remediates', async (t) => {
  const { g, runs } = await remediationSetup(t, 'observe');
  await g.evaluate(agreeing(92));
  t.is((await runs()).length, 0);
});

test('a failing remediation is logged as an error with its exit status and output', async (t) => {
  const { make, logger } = await setup(t);
  const g = make({ mode: 'remediate', remediationCommand: ['/bin/sh', '-c', 'echo "no permission" >&2; exit 3'] });
  const s = await g.evaluate(agreeing(92));
  t.is(s.remediation.last!.exit_code, 3);
  t.is(s.remediation.last!.code, 'exit_nonzero');
  const line = logger.matching('clock remediation failed')[0]!;
  t.is(line.level, 'error');
  t.regex(line.message, /exit 3/);
  t.is(line.fields!.output, 'no permission\n');
  t.is(line.fields!.code, 'exit_nonzero');
});

test('a remediation command that does not exist is reported, not thrown', async (t) => {
  const { make, logger } = await setup(t);
  const s = await make({ mode: 'remediate', remediationCommand: ['/nonexistent/sntp', '-sS', '{server}'] }).evaluate(
    agreeing(92),
  );
  t.is(s.remediation.last!.exit_code, null);
  t.regex(s.remediation.last!.error!, /could not run \/nonexistent\/sntp/);
  t.is(s.remediation.last!.code, 'spawn_failed');
  t.is(logger.matching('clock remediation failed').length, 1);
});

test('a remediation that outlives its timeout is killed; one killed by a signal and an empty one say so', async (t) => {
  const { make } = await setup(t);
  const slow = await make({
    mode: 'remediate',
    remediationCommand: ['/bin/sleep', '5'],
    remediationTimeoutMs: 100,
  }).evaluate(agreeing(92));
  t.like(slow.remediation.last, { exit_code: null, error: 'killed after 100 ms', code: 'killed_timeout' });
  const killed = await runRemediation(['/bin/sh', '-c', 'kill -TERM $$'], { nowMs: 0 });
  t.like(killed, { exit_code: null, signal: 'SIGTERM', error: null, code: 'killed_signal' });
  t.like(await runRemediation([], { nowMs: 0 }), { error: 'remediation command is empty', code: 'command_empty' });
});

test('on Linux with no command, remediation is logged as not configured', async (t) => {
  const { make, logger } = await setup(t);
  const g = make({ mode: 'remediate' });
  await g.evaluate(agreeing(92));
  await g.evaluate(agreeing(92));
  t.is(logger.matching('clock remediation is not configured on linux').length, 1);
  t.is(logger.matching('clock remediation is not configured on linux')[0]!.fields!.code, 'remediation_not_configured');
  t.false(g.snapshot().remediation.enabled);
});

test('the macOS default steps from an agreeing NTP server', async (t) => {
  const { make } = await setup(t);
  const g = make({ mode: 'observe', platform: 'darwin' });
  t.deepEqual(g.snapshot().remediation.command, ['/usr/bin/sntp', '-sS', '{server}']);
  const s = await g.evaluate(agreeing(-94));
  t.is(s.hint, 'Clock is 94 s fast against 3 of 3 sources. Run: sudo /usr/bin/sntp -sS 127.0.0.1');
});

test('compliance follows the mode', async (t) => {
  const { make } = await setup(t);
  const observe = await make({ mode: 'observe' }).evaluate(agreeing(92));
  t.is(observe.compliance.state, 'compliant');
  t.false(observe.compliance.enforced);
  const enforce = make({ mode: 'enforce' });
  t.is(enforce.snapshot().compliance.state, 'non_compliant', 'a restart in enforce mode reads the stored active level');
  const ok = await enforce.evaluate(agreeing(0));
  t.is(ok.state, 'active', 'held by hysteresis');
  t.is(ok.compliance.state, 'non_compliant');
  t.is((await enforce.evaluate(agreeing(0))).compliance.state, 'compliant');
});

test('thresholds are validated', async (t) => {
  const { dir, logger } = await setup(t);
  t.throws(() => new ClockGuardrail({ stateDir: dir, logger, thresholds: { warnSeconds: 80, enforceSeconds: 75 } }), {
    instanceOf: RangeError,
  });
  t.throws(() => new ClockGuardrail({ stateDir: dir, logger, thresholds: { hysteresisSeconds: 30 } }), {
    instanceOf: RangeError,
  });
});

test('concurrent evaluations are serialized', async (t) => {
  const { make } = await setup(t);
  const g = make();
  const results = await Promise.all([g.evaluate(agreeing(92)), g.evaluate(agreeing(0)), g.evaluate(agreeing(0))]);
  t.deepEqual(
    results.map((r) => r.state),
    ['active', 'active', 'ok'],
  );
});
