// The admin kit in examples/: every profile and plist parses with Python's plistlib, the
// configuration profile carries only documented keys with valid values (agentctl config
// validate), and the Intune rules name keys that the discovery script prints.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { plistlib } from '../helpers/python.js';
import { missing } from '../helpers/system.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const distRoot = path.resolve(here, '..', '..');
const repoRoot = path.resolve(distRoot, '..');
const agentctl = path.join(distRoot, 'agent', 'cli', 'agentctl.cjs');
const needsPython = missing('python3') ? ' [needs python3]' : '';

const tmp = mkdtempSync(path.join(tmpdir(), 'tg-examples-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

function filesUnder(dir: string, pattern: RegExp): string[] {
  return (readdirSync(path.join(repoRoot, dir), { recursive: true }) as string[])
    .filter((f) => pattern.test(f))
    .map((f) => path.join(repoRoot, dir, f));
}

type Dict = Record<string, unknown>;

function payloads(profile: Dict): Dict[] {
  return [profile, ...((profile.PayloadContent as Dict[] | undefined) ?? [])];
}

test(`every profile and plist in examples/ and launchd/ parses with plistlib; identifiers are ours and UUIDs unique${needsPython}`, (t) => {
  if (needsPython) return t.pass();
  const files = [...filesUnder('examples', /\.(mobileconfig|plist)$/), ...filesUnder('launchd', /\.plist$/)];
  t.true(files.length >= 4, files.join(', '));
  const parsed = plistlib(files);
  const uuids: string[] = [];
  for (const file of files) {
    const r = parsed[file];
    t.true(r.ok, `${file}: ${r.ok ? '' : r.error}`);
    if (!r.ok || !file.endsWith('.mobileconfig')) continue;
    for (const p of payloads(r.value as Dict)) {
      t.regex(String(p.PayloadIdentifier), /^com\.trustguard\.agent(\.|$)/, `${file}: PayloadIdentifier`);
      t.regex(
        String(p.PayloadUUID),
        /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
        `${file}: PayloadUUID`,
      );
      t.is(p.PayloadVersion, 1);
      uuids.push(String(p.PayloadUUID));
    }
    const top = r.value as Dict;
    t.is(top.PayloadType, 'Configuration');
    t.is(top.PayloadScope, 'System', 'a device profile: the managed preferences are device-wide, PPPC is machine-only');
  }
  t.is(new Set(uuids).size, uuids.length, 'every PayloadUUID differs');
});

/** The keys of docs/configuration.md's key table. */
function documentedKeys(): Set<string> {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'configuration.md'), 'utf8');
  return new Set([...doc.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]));
}

test(`the configuration profile carries only documented keys, and agentctl config validate accepts them${needsPython}`, (t) => {
  if (needsPython) return t.pass();
  const file = path.join(repoRoot, 'examples', 'com.trustguard.agent.mobileconfig');
  const r = plistlib([file])[file];
  if (!r.ok) return t.fail(r.error);
  const content = (r.value as Dict).PayloadContent as Dict[];
  t.is(content.length, 1);
  t.is(content[0].PayloadType, 'com.trustguard.agent', 'the payload type is the preference domain');
  const settings = Object.fromEntries(Object.entries(content[0]).filter(([k]) => !k.startsWith('Payload')));
  const documented = documentedKeys();
  t.true(documented.size > 10, 'the key table was found');
  for (const key of Object.keys(settings)) t.true(documented.has(key), `${key} is in docs/configuration.md`);
  t.false('CollectorBearerToken' in settings, 'no secret in an example');

  // The payload's keys as a managed-preferences file, validated by the agent itself.
  const prefs = path.join(tmp, 'com.trustguard.agent.plist');
  const dump = spawnSync(
    'python3',
    ['-c', 'import json,plistlib,sys; plistlib.dump(json.loads(sys.stdin.read()), open(sys.argv[1], "wb"))', prefs],
    { input: JSON.stringify(settings), encoding: 'utf8' },
  );
  t.is(dump.status, 0, dump.stderr);
  const validate = spawnSync(process.execPath, [agentctl, 'config', 'validate', prefs], { encoding: 'utf8' });
  t.is(validate.status, 0, validate.stdout + validate.stderr);
  t.regex(validate.stdout, /valid/);
});

test(`the PPPC profile grants Full Disk Access to the bundled runtime by path and code requirement${needsPython}`, (t) => {
  if (needsPython) return t.pass();
  const file = path.join(repoRoot, 'examples', 'com.trustguard.agent.pppc.mobileconfig');
  const r = plistlib([file])[file];
  if (!r.ok) return t.fail(r.error);
  const tcc = ((r.value as Dict).PayloadContent as Dict[])[0];
  t.is(tcc.PayloadType, 'com.apple.TCC.configuration-profile-policy');
  const services = tcc.Services as Record<string, Dict[]>;
  t.deepEqual(Object.keys(services), ['SystemPolicyAllFiles']);
  const grant = services.SystemPolicyAllFiles[0];
  t.is(grant.Identifier, '/Library/Application Support/TrustGuard/bin/node');
  t.is(grant.IdentifierType, 'path');
  t.is(grant.Authorization, 'Allow');
  t.is(grant.StaticCode, false);
  t.regex(
    String(grant.CodeRequirement),
    /^identifier "com\.trustguard\.agent" and anchor apple generic .* certificate leaf\[subject\.OU\] = "REPLACE_WITH_TEAM_ID"$/,
  );
});

test('the Intune rules name keys that the discovery script prints, whether agentctl answers or not', (t) => {
  const rules = JSON.parse(
    readFileSync(path.join(repoRoot, 'examples', 'intune', 'trustguard-clock-rules.json'), 'utf8'),
  ) as { Rules: Array<{ SettingName: string }> };
  const script = path.join(repoRoot, 'examples', 'intune', 'trustguard-clock-discovery.sh');

  // The real agentctl, through a wrapper standing in for /usr/local/bin/agentctl.
  const config = path.join(tmp, 'config.json');
  writeFileSync(config, JSON.stringify({ StateDirectory: tmp }));
  const wrapper = path.join(tmp, 'agentctl');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${agentctl}" "$@" --config "${config}"\n`, {
    mode: 0o755,
  });
  const answered = spawnSync('/bin/sh', [script], {
    env: { ...process.env, TRUSTGUARD_AGENTCTL: wrapper },
    encoding: 'utf8',
  });
  const notInstalled = spawnSync('/bin/sh', [script], {
    env: { ...process.env, TRUSTGUARD_AGENTCTL: path.join(tmp, 'absent') },
    encoding: 'utf8',
  });
  const direct = spawnSync(process.execPath, [agentctl, 'compliance', '--format', 'intune', '--config', config], {
    encoding: 'utf8',
  });
  const outputs = [answered, notInstalled, direct].map((r) => {
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.split('\n').length, 2, 'one line');
    return JSON.parse(r.stdout) as Record<string, unknown>;
  });
  t.deepEqual(outputs[0], outputs[2], 'the script passes agentctl through');
  const keys = Object.keys(outputs[2]).sort();
  t.deepEqual(Object.keys(outputs[1]).sort(), keys, 'the fallback line has the same keys');
  for (const rule of rules.Rules) t.true(keys.includes(rule.SettingName), rule.SettingName);
});
