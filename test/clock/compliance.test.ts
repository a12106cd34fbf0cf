import test from 'ava';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runComplianceCommand } from '../../agent/clock/cli.js';
import { combine, type ClockMeasurement } from '../../agent/clock/combine.js';
import { formatJamf } from '../../agent/clock/compliance.js';
import { ClockGuardrail, guardrailStateFile } from '../../agent/clock/guardrail.js';
import type { GuardrailMode } from '../../agent/clock/types.js';
import { sample } from '../helpers/sources.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const distRoot = path.resolve(here, '..', '..');
const sourceRoot = path.resolve(distRoot, '..');
const agentctl = path.join(distRoot, 'agent', 'cli', 'agentctl.cjs');

const agreeing = (seconds: number): ClockMeasurement => ({
  measuredAtMs: 0,
  combination: combine(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'].map((a) => sample(seconds * 1000, 2, a))),
});

async function stateDirWith(t: { teardown(fn: () => Promise<void>): void }, mode: GuardrailMode | null, seconds = 92) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tg-compliance-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  if (mode)
    await new ClockGuardrail({
      stateDir: dir,
      logger: new RecordingLogger(),
      mode,
      platform: 'darwin',
      remediationCommand: null,
    }).evaluate(agreeing(seconds));
  return dir;
}

async function compliance(format: 'jamf' | 'intune' | 'json', stateDir: string, now?: () => number) {
  let out = '';
  const code = await runComplianceCommand({ format, stateDir, now, write: (s) => (out += s) });
  return { code, out };
}

const hint = 'Clock is 92 s slow against 3 of 3 sources. Run: sudo sntp -sS 127.0.0.1';

test('enforce + active: non-compliant in every format, exit 2', async (t) => {
  const dir = await stateDirWith(t, 'enforce');
  const jamf = await compliance('jamf', dir);
  t.is(jamf.out, `<result>NonCompliant: ${hint}</result>\n`);
  t.is(jamf.code, 2);
  const intune = await compliance('intune', dir);
  t.is(intune.code, 2);
  t.is(intune.out.split('\n').length, 2, 'one line');
  t.deepEqual(JSON.parse(intune.out), {
    TrustGuardClockCompliance: 'NonCompliant',
    TrustGuardClockState: 'active',
    TrustGuardClockOffsetSeconds: 92,
    TrustGuardClockReason: hint,
  });
  const json = await compliance('json', dir);
  t.is(json.code, 2);
  const full = JSON.parse(json.out);
  t.is(full.compliance.state, 'non_compliant');
  t.true(full.compliance.enforced);
  t.is(full.state, 'active');
  t.is(full.clock.offset_ms, 92_000);
  t.is(full.clock.sources.length, 3);
});

test('observe + active: compliant (not enforced), exit 0', async (t) => {
  const dir = await stateDirWith(t, 'observe');
  t.deepEqual(await compliance('jamf', dir), { code: 0, out: '<result>Compliant</result>\n' });
  const intune = JSON.parse((await compliance('intune', dir)).out);
  t.is(intune.TrustGuardClockCompliance, 'Compliant');
  t.is(intune.TrustGuardClockState, 'active');
});

test('enforce + ok: compliant', async (t) => {
  const dir = await stateDirWith(t, 'enforce', 0);
  t.deepEqual(await compliance('jamf', dir), { code: 0, out: '<result>Compliant</result>\n' });
});

test('no state yet, stale state and corrupt state are Unknown, exit 0', async (t) => {
  const empty = await stateDirWith(t, null);
  t.deepEqual(await compliance('jamf', empty), {
    code: 0,
    out: '<result>Unknown: The agent has not measured the clock yet: check that agentd is running.</result>\n',
  });
  t.is(JSON.parse((await compliance('intune', empty)).out).TrustGuardClockCompliance, 'Unknown');

  const stale = await stateDirWith(t, 'enforce');
  const later = await compliance('jamf', stale, () => Date.now() + 2 * 3600_000);
  t.is(later.code, 0);
  t.regex(
    later.out,
    /^<result>Unknown: The agent last measured the clock 120 minutes ago: check that agentd is running\.<\/result>\n$/,
  );

  const corrupt = await stateDirWith(t, null);
  await writeFile(path.join(corrupt, guardrailStateFile), '{"version":1,');
  const bad = await compliance('json', corrupt);
  t.is(bad.code, 0);
  t.regex(JSON.parse(bad.out).compliance.reason, /cannot be read: not JSON/);
});

test('the Jamf result never carries markup or line breaks from the reason', (t) => {
  t.is(
    formatJamf({ state: 'non_compliant', enforced: true, reason: 'a\nb </result><result>x', since_ms: 0 }),
    '<result>NonCompliant: a b x</result>',
  );
});

function runProcess(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

test('agentctl compliance reads the state directory of its configuration', async (t) => {
  const dir = await stateDirWith(t, 'enforce');
  const config = path.join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ StateDirectory: dir }));
  const r = await runProcess(process.execPath, [agentctl, 'compliance', '--format', 'jamf', '--config', config]);
  t.is(r.code, 2, r.err);
  t.is(r.out, `<result>NonCompliant: ${hint}</result>\n`);
});

test('the MDM example scripts print what agentctl says, and Unknown when it cannot answer', async (t) => {
  const dir = await stateDirWith(t, 'enforce');
  const config = path.join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ StateDirectory: dir }));
  // Stands in for the installed agentctl: the real one, with this test's configuration.
  const wrapper = path.join(dir, 'agentctl');
  await writeFile(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${agentctl}" "$@" --config "${config}"\n`);
  await chmod(wrapper, 0o755);
  const env = { ...process.env, TRUSTGUARD_AGENTCTL: wrapper };
  const jamfScript = path.join(sourceRoot, 'examples', 'jamf', 'trustguard-clock-compliance-ea.sh');
  const intuneScript = path.join(sourceRoot, 'examples', 'intune', 'trustguard-clock-discovery.sh');

  const jamf = await runProcess('/bin/sh', [jamfScript], env);
  t.is(jamf.code, 0, 'an extension attribute always exits 0');
  t.is(jamf.out, `<result>NonCompliant: ${hint}</result>\n`);
  const intune = await runProcess('/bin/sh', [intuneScript], env);
  t.is(intune.code, 0);
  const discovered = JSON.parse(intune.out) as Record<string, unknown>;
  t.is(discovered.TrustGuardClockCompliance, 'NonCompliant');

  // Every rule names a key the discovery script prints, with a value of the rule's type.
  const rules = JSON.parse(
    await readFile(path.join(sourceRoot, 'examples', 'intune', 'trustguard-clock-rules.json'), 'utf8'),
  ) as {
    Rules: Array<{
      SettingName: string;
      Operator: string;
      DataType: string;
      Operand: unknown;
      RemediationStrings: Array<{ Language: string }>;
    }>;
  };
  for (const rule of rules.Rules) {
    t.true(rule.SettingName in discovered, rule.SettingName);
    t.is(rule.DataType, 'String');
    t.is(typeof discovered[rule.SettingName], 'string');
    t.true(rule.RemediationStrings.some((s) => s.Language === 'en_US'));
    t.not(discovered[rule.SettingName], rule.Operand, 'this device fails the rule');
  }

  const missingEnv = { ...process.env, TRUSTGUARD_AGENTCTL: path.join(dir, 'absent') };
  t.regex((await runProcess('/bin/sh', [jamfScript], missingEnv)).out, /^<result>Unknown: TrustGuard is not installed/);
  const unknown = JSON.parse((await runProcess('/bin/sh', [intuneScript], missingEnv)).out);
  t.is(unknown.TrustGuardClockCompliance, 'Unknown');
});
