// TimeSourcePolicy (agent/clock/auth-policy.ts): how NTS (authenticated) and unauthenticated
// samples combine under require / prefer / mix / ignore, and the property that under prefer no
// set of unauthenticated samples moves an estimate authenticated sources agree on.
import test from 'ava';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { combineWithPolicy, effectivePolicy } from '../../agent/clock/auth-policy.js';
import { sourceReports } from '../../agent/clock/combine.js';
import { ClockGuardrail } from '../../agent/clock/guardrail.js';
import { estimateOf } from '../../agent/clock/service.js';
import { clockView } from '../../agent/clock/status-view.js';
import type { SourceKind, SourceMeasurement, SourceSample } from '../../agent/clock/types.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

let n = 0;
function sample(kind: SourceKind, offsetMs: number, uncertaintyMs = 1): SourceSample {
  return {
    ok: true,
    kind,
    address: `127.0.0.${++n}:123`,
    offsetMs,
    delayMs: 0.1,
    uncertaintyMs,
    stratum: 1,
    rootDistanceMs: 0,
    samplesSent: 1,
    samplesValid: 1,
    measuredAtMs: 0,
  };
}

const honestNts = () => [sample('nts', 92_000), sample('nts', 92_000.5), sample('nts', 91_999.5)];
const shifted = () => [0, 1, 2, 3].map(() => sample('ntp', 392_000));

test('the default is prefer when NTS sources are configured, ignore otherwise; a configured policy wins', (t) => {
  t.is(effectivePolicy('', 2), 'prefer');
  t.is(effectivePolicy(undefined, 0), 'ignore');
  t.is(effectivePolicy('mix', 2), 'mix');
  t.is(effectivePolicy('require', 0), 'require');
});

test('ignore and mix: four shifted plain NTP samples outvote three NTS samples', (t) => {
  for (const policy of ['ignore', 'mix'] as const) {
    const c = combineWithPolicy([...honestNts(), ...shifted()], policy);
    t.true(c.confident, policy);
    t.is(c.offsetMs, 392_000, policy);
    // mix: the estimate has no authenticated source, so it may not change the clock.
    t.is(c.remediable, policy === 'ignore', policy);
  }
});

test('prefer: the NTS samples form the estimate, the shifted ones are falsetickers, remediation allowed', (t) => {
  const c = combineWithPolicy([...honestNts(), ...shifted()], 'prefer');
  t.true(c.confident);
  t.true(Math.abs(c.offsetMs! - 92_000) <= 1);
  t.is(c.falsetickers.length, 4);
  t.true(c.remediable);
  const rows = sourceReports(c);
  t.deepEqual(
    rows.map((r) => [r.kind, r.authenticated, r.status]),
    [...honestNts().map(() => ['nts', true, 'ok']), ...shifted().map(() => ['ntp', false, 'falseticker'])],
  );
});

test('prefer: plain samples that agree with one NTS sample join it; those that disagree cannot outvote it', (t) => {
  const joined = combineWithPolicy([sample('nts', 0), sample('ntp', 0.5), sample('ntp', -0.5)], 'prefer');
  t.true(joined.confident);
  t.is(joined.agreeing.length, 3);
  t.false(joined.remediable, 'one NTS source is no authenticated majority');
  const outvoted = combineWithPolicy([sample('nts', 0), sample('ntp', 300_000), sample('ntp', 300_000)], 'prefer');
  t.false(outvoted.confident);
  t.is(outvoted.offsetMs, 0);
  t.is(outvoted.uncertainReason, 'single_source');
});

test('prefer: NTS samples that disagree are not decided by plain ones; no NTS sample: plain ones, never remediable', (t) => {
  const split = combineWithPolicy(
    [sample('nts', 0), sample('nts', 5000), sample('ntp', 0), sample('ntp', 0)],
    'prefer',
  );
  t.false(split.confident);
  t.is(split.offsetMs, null);
  const failed: SourceMeasurement = {
    ok: false,
    kind: 'nts',
    address: 'nts:4460',
    code: 'nts_auth_failed',
    error: 'x',
    kissCode: null,
    measuredAtMs: 0,
  };
  const fallback = combineWithPolicy([failed, sample('ntp', 10), sample('ntp', 10), sample('ntp', 10)], 'prefer');
  t.true(fallback.confident);
  t.false(fallback.remediable);
});

test('require: unauthenticated samples are reported as excluded and take no part', (t) => {
  const c = combineWithPolicy([...honestNts(), ...shifted()], 'require');
  t.true(c.confident);
  t.true(Math.abs(c.offsetMs! - 92_000) <= 1);
  const rows = sourceReports(c);
  t.is(rows.filter((r) => r.code === 'unauthenticated_excluded').length, 4);
  t.is(c.total, 7);
});

test('property: under prefer, when the NTS samples agree confidently, no plain samples move the estimate out of their intersection', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 2, maxLength: 5 }),
      fc.array(
        fc.record({
          offset: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
          unc: fc.double({ min: 0, max: 1e5, noNaN: true }),
        }),
        { maxLength: 12 },
      ),
      (ntsOffsets, plain) => {
        const nts = ntsOffsets.map((o) => sample('nts', o, 3));
        const c = combineWithPolicy([...nts, ...plain.map((p) => sample('ntp', p.offset, p.unc))], 'prefer');
        const low = Math.max(...nts.map((s) => s.offsetMs - 3));
        const high = Math.min(...nts.map((s) => s.offsetMs + 3));
        return c.confident && c.remediable && c.offsetMs! >= low - 1e-9 && c.offsetMs! <= high + 1e-9;
      },
    ),
  );
  t.pass();
});

async function guardrailSetup(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tg-auth-policy-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const record = path.join(dir, 'remediation.log');
  const logger = new RecordingLogger();
  const guardrail = new ClockGuardrail({
    stateDir: dir,
    logger,
    platform: 'linux',
    mode: 'remediate',
    // A harmless remediation: appends the server it was given to a file.
    remediationCommand: ['/bin/sh', '-c', 'echo "$1" >> "$2"', 'sh', '{server}', record],
  });
  const runs = async () => (existsSync(record) ? (await readFile(record, 'utf8')).trim().split('\n') : []);
  return { guardrail, logger, runs };
}

test('prefer: plain NTP alone (no NTS answer) never runs remediation: no_authenticated_majority', async (t) => {
  const { guardrail, logger, runs } = await guardrailSetup(t);
  const failed: SourceMeasurement = {
    ok: false,
    kind: 'nts',
    address: 'nts:4460',
    code: 'timeout',
    error: 'no reply',
    kissCode: null,
    measuredAtMs: 0,
  };
  const plain = [0, 1, 2].map(() => sample('ntp', 392_000, 2));
  const snapshot = await guardrail.evaluate({
    measuredAtMs: 0,
    combination: combineWithPolicy([failed, ...plain], 'prefer'),
  });
  t.is(snapshot.state, 'active');
  t.deepEqual(await runs(), []);
  t.is(logger.matching('clock remediation skipped')[0]?.fields?.code, 'no_authenticated_majority');
});

test('prefer: an authenticated majority remediates; status and telemetry mark the NTS sources authenticated', async (t) => {
  const { guardrail, runs } = await guardrailSetup(t);
  const ntp = sample('ntp', 92_000.2, 2);
  const combination = combineWithPolicy([...honestNts(), ntp], 'prefer');
  const snapshot = await guardrail.evaluate({ measuredAtMs: 0, combination });
  t.is(snapshot.state, 'active');
  t.deepEqual(await runs(), [ntp.address.split(':')[0]]);
  t.deepEqual(
    snapshot.sources.map((s) => s.authenticated),
    [true, true, true, false],
  );
  t.is(estimateOf(snapshot).authenticated_sources, 3);
  const view = clockView(snapshot as unknown as Record<string, unknown>);
  const rows = Object.entries(view.sources as Record<string, string>);
  t.regex(rows[0]![0], /^NTS /);
  t.regex(rows[0]![1], /^ok, authenticated, /);
  t.notRegex(rows[3]![1], /authenticated/);
});
