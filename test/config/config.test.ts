import test from 'ava';
import bplistCreator from 'bplist-creator';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { build } from 'plist';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPaths } from '../../agent/config/defaults.js';
import { ConfigFileError, loadConfig, parseConfigBuffer, resolveLayers } from '../../agent/config/load.js';
import { checkValue, defaultConfig, keyTable, loadKeyTable } from '../../agent/config/keys.js';
import { createAgentFixture } from '../helpers/agent.js';

test.before(async () => {
  await loadKeyTable();
});

const keyNames = () => keyTable().names;

const sample = {
  Mode: 'enforce',
  WarnThresholdSeconds: 40,
  EnforceThresholdSeconds: 90,
  MeasureIntervalSeconds: 60,
  NTPServers: ['time.example.com', '10.0.0.1:1123'],
  HTTPSTimeURLs: ['https://mdm.example.com/'],
  TrustTargets: ['https://login.example.com', '/etc/ssl/mdm-ca.pem'],
  TenantDomain: 'acme.okta.com',
  ScrubServices: ['com.example.sso'],
  ScrubMode: 'enforce',
  CollectorURL: 'https://collector.example.com',
  CollectorBearerToken: 'tok-123-secret',
  TelemetryMaxDiskMB: 128,
  LogLevel: 'debug',
};

test('defaults: system paths as root (macOS and FHS), ~/.trustguard otherwise; documented thresholds', (t) => {
  t.deepEqual(defaultPaths('darwin', true), {
    StateDirectory: '/Library/Application Support/TrustGuard/state',
    LogDirectory: '/Library/Logs/TrustGuard',
    ControlSocketPath: '/var/run/trustguard/agent.sock',
  });
  t.deepEqual(defaultPaths('linux', true), {
    StateDirectory: '/var/lib/trustguard',
    LogDirectory: '/var/log/trustguard',
    ControlSocketPath: '/run/trustguard/agent.sock',
  });
  t.regex(defaultPaths('linux', false).ControlSocketPath, /\/\.trustguard\/agent\.sock$/);
  const darwin = defaultConfig('darwin', true);
  t.is(darwin.Mode, 'observe');
  t.is(darwin.WarnThresholdSeconds, 30);
  t.is(darwin.EnforceThresholdSeconds, 75);
  t.is(darwin.MeasureIntervalSeconds, 90);
  // Three independent operators that do not smear leap seconds (issue 21).
  t.deepEqual(darwin.NTPServers, ['ptbtime1.ptb.de', 'sth1.ntp.se', 'ntp1.npl.co.uk']);
  t.deepEqual(defaultConfig('linux', true).NTPServers, darwin.NTPServers);
  t.deepEqual(darwin.RemediationCommand, ['/usr/bin/sntp', '-sS', '{server}']);
  t.deepEqual(defaultConfig('linux', true).RemediationCommand, []);
  // Every default passes its own schema.
  for (const name of keyNames()) t.is(checkValue(name, darwin[name]), undefined, name);
});

test('a binary plist (bplist-creator) and an XML plist with the same values give the same effective configuration', async (t) => {
  const fx = createAgentFixture('tg-config-');
  t.teardown(fx.cleanup);
  const xmlFile = path.join(fx.dir, 'agent.plist');
  const binaryFile = path.join(fx.dir, 'agent-binary.plist');
  const jsonFile = path.join(fx.dir, 'agent.json');
  // The fixture's socket, never the machine's default one: an agent running on this machine
  // must not answer `config show` for these files.
  const values = { ...sample, ControlSocketPath: fx.socketPath };
  writeFileSync(xmlFile, build(values));
  writeFileSync(binaryFile, bplistCreator(values));
  writeFileSync(jsonFile, JSON.stringify(values));
  const fromXml = await loadConfig({ configFile: xmlFile });
  const fromBinary = await loadConfig({ configFile: binaryFile });
  const fromJson = await loadConfig({ configFile: jsonFile });
  t.deepEqual(fromXml.problems, []);
  t.deepEqual(fromBinary.problems, []);
  t.deepEqual(fromBinary.config, fromXml.config);
  t.deepEqual(fromJson.config, fromXml.config);
  t.is(fromXml.config.Mode, 'enforce');
  t.deepEqual(fromXml.config.NTPServers, sample.NTPServers);

  // End to end through agentctl (no daemon at the default socket of the file: files are read).
  const show = async (file: string) => {
    const result = await fx.ctl(['config', 'show', '--json', '--config', file]);
    t.is(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { origin: string; keys: Record<string, { value: unknown }> };
    t.is(parsed.origin, 'files');
    return Object.fromEntries(Object.entries(parsed.keys).map(([k, v]) => [k, v.value]));
  };
  const shownXml = await show(xmlFile);
  t.deepEqual(await show(binaryFile), shownXml);
  t.is(shownXml.CollectorBearerToken, '<redacted>', 'secrets are redacted');
  t.is(shownXml.WarnThresholdSeconds, 40);
});

test('agentctl config validate: unknown key, wrong type and out-of-range threshold → exit 2 naming all three', async (t) => {
  const fx = createAgentFixture('tg-config-');
  t.teardown(fx.cleanup);
  const file = path.join(fx.dir, 'bad.plist');
  writeFileSync(
    file,
    build({ Mode: 'observe', Frobnicate: true, MeasureIntervalSeconds: '90', EnforceThresholdSeconds: 999999 }),
  );
  const result = await fx.ctl(['config', 'validate', file]);
  t.is(result.code, 2);
  t.regex(result.stderr, /3 problems/);
  t.regex(result.stderr, /Frobnicate is not a known key/);
  // Run as root, the value is described, never quoted (issue 17 item 11).
  t.regex(
    result.stderr,
    /MeasureIntervalSeconds must be an integer from 10 to 86400; got (the string "90"|a string of 2 characters)/,
  );
  t.regex(result.stderr, /EnforceThresholdSeconds must be an integer from 2 to 86400.*(999999|a number)/);

  const good = path.join(fx.dir, 'good.plist');
  writeFileSync(good, bplistCreator(sample));
  const ok = await fx.ctl(['config', 'validate', good]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /valid/);
});

test('Warn ≥ Enforce names both keys; an unparseable file and a missing file are clear errors', async (t) => {
  const fx = createAgentFixture('tg-config-');
  t.teardown(fx.cleanup);
  const crossed = path.join(fx.dir, 'crossed.json');
  writeFileSync(crossed, JSON.stringify({ WarnThresholdSeconds: 80, EnforceThresholdSeconds: 60 }));
  const result = await fx.ctl(['config', 'validate', crossed]);
  t.is(result.code, 2);
  t.regex(result.stderr, /WarnThresholdSeconds( \(80\))? must be below EnforceThresholdSeconds( \(60\))?/);
  const loaded = await loadConfig({ configFile: crossed });
  t.is(loaded.config.WarnThresholdSeconds, 30);
  t.is(loaded.config.EnforceThresholdSeconds, 75);

  const broken = path.join(fx.dir, 'broken.plist');
  writeFileSync(broken, Buffer.concat([Buffer.from('bplist00'), Buffer.alloc(20, 0xff)]));
  const brokenResult = await fx.ctl(['config', 'validate', broken]);
  t.is(brokenResult.code, 2);
  t.regex(brokenResult.stderr, /broken\.plist: does not parse/);
  const missingResult = await fx.ctl(['config', 'validate', path.join(fx.dir, 'absent.plist')]);
  t.is(missingResult.code, 2);
  t.regex(missingResult.stderr, /no such file/);
});

test('system files: managed preferences win over local preferences, key by key, with sources', async (t) => {
  const fx = createAgentFixture('tg-config-');
  t.teardown(fx.cleanup);
  const managed = path.join(fx.dir, 'managed.plist');
  const local = path.join(fx.dir, 'local.plist');
  writeFileSync(managed, bplistCreator({ Mode: 'enforce' }));
  writeFileSync(local, build({ Mode: 'observe', WarnThresholdSeconds: 45 }));
  const loaded = await loadConfig({ systemFiles: [managed, local, path.join(fx.dir, 'not-there.plist')] });
  t.deepEqual(loaded.problems, []);
  t.is(loaded.config.Mode, 'enforce');
  t.is(loaded.sources.Mode, managed);
  t.is(loaded.config.WarnThresholdSeconds, 45);
  t.is(loaded.sources.WarnThresholdSeconds, local);
  t.is(loaded.sources.EnforceThresholdSeconds, 'default');
});

test('property: any bytes either parse into a dictionary or fail with a ConfigFileError', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.string().map((s) => new TextEncoder().encode(s)),
        fc.uint8Array({ maxLength: 200 }).map((b) => Uint8Array.from([...Buffer.from('bplist00'), ...b])),
        fc.json().map((j) => new TextEncoder().encode(j)),
      ),
      async (bytes) => {
        try {
          const values = await parseConfigBuffer(Buffer.from(bytes), 'fuzz');
          return typeof values === 'object' && values !== null && !Array.isArray(values);
        } catch (error) {
          return error instanceof ConfigFileError;
        }
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('property: whatever the values, the resolved configuration is valid in every key', (t) => {
  const anyValue = fc.oneof(
    fc.jsonValue(),
    fc.integer(),
    fc.constantFrom('observe', 'enforce', 'https://x.example', '/abs/path'),
    fc.array(fc.string()),
  );
  const layer = fc.dictionary(fc.oneof(fc.constantFrom(...keyNames()), fc.string()), anyValue, { maxKeys: 12 });
  fc.assert(
    fc.property(fc.array(layer, { maxLength: 3 }), fc.boolean(), (layers, withPrevious) => {
      const previous = withPrevious
        ? resolveLayers([{ source: 'prev', values: { Mode: 'remediate', WarnThresholdSeconds: 10 } }])
        : undefined;
      const resolved = resolveLayers(
        layers.map((values, i) => ({ source: `layer${i}`, values })),
        previous,
      );
      for (const name of keyNames()) if (checkValue(name, resolved.config[name]) !== undefined) return false;
      return (resolved.config.WarnThresholdSeconds as number) < (resolved.config.EnforceThresholdSeconds as number);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('docs/configuration.md lists every key, and the example profile payload is valid', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('plist');
  const root = new URL('../../../', import.meta.url);
  const docs = readFileSync(new URL('docs/configuration.md', root), 'utf8');
  for (const name of keyNames()) t.true(docs.includes(`| \`${name}\` |`), name);
  const profile = parse(readFileSync(new URL('examples/com.trustguard.agent.mobileconfig', root), 'utf8')) as {
    PayloadContent: Array<Record<string, unknown>>;
  };
  const payload = profile.PayloadContent.find((p) => p.PayloadType === 'com.trustguard.agent')!;
  t.deepEqual(resolveLayers([{ source: 'profile', values: payload as Record<string, never> }]).problems, []);
});

test('agentctl config validate reads a .mobileconfig: the shipped example passes; Moode and "thirty" fail naming both keys, exit 2', async (t) => {
  const fx = createAgentFixture('tg-config-');
  t.teardown(fx.cleanup);
  const example = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '..',
    'examples',
    'com.trustguard.agent.mobileconfig',
  );
  const ok = await fx.ctl(['config', 'validate', example]);
  t.is(ok.code, 0, ok.stderr);
  const bad = path.join(fx.dir, 'bad.mobileconfig');
  const payload = (type: string, extra: string) =>
    `<dict><key>PayloadType</key><string>${type}</string><key>PayloadIdentifier</key><string>com.example.${type}</string><key>PayloadUUID</key><string>0F8E2C4B-7A19-4D2E-8C3F-5B6A1D9E7F21</string><key>PayloadVersion</key><integer>1</integer>${extra}</dict>`;
  writeFileSync(
    bad,
    `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PayloadType</key><string>Configuration</string><key>PayloadContent</key><array>${payload('com.trustguard.agent', '<key>Moode</key><string>observe</string><key>WarnThresholdSeconds</key><string>thirty</string>')}</array></dict></plist>\n`,
  );
  const result = await fx.ctl(['config', 'validate', bad]);
  t.is(result.code, 2);
  t.regex(result.stderr, /2 problems/);
  t.regex(result.stderr, /Moode is not a known key/);
  // As root the value is described, never quoted (issue 17 item 11).
  t.regex(result.stderr, /WarnThresholdSeconds must be .*got (the string "thirty"|a string of 6 characters)/);
  // The same keys through com.apple.ManagedClient.preferences.
  const mcx = path.join(fx.dir, 'mcx.mobileconfig');
  writeFileSync(
    mcx,
    `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PayloadType</key><string>Configuration</string><key>PayloadContent</key><array>${payload('com.apple.ManagedClient.preferences', '<key>PayloadContent</key><dict><key>com.trustguard.agent</key><dict><key>Forced</key><array><dict><key>mcx_preference_settings</key><dict><key>Moode</key><string>observe</string></dict></dict></array></dict></dict>')}</array></dict></plist>\n`,
  );
  const viaMcx = await fx.ctl(['config', 'validate', mcx]);
  t.is(viaMcx.code, 2);
  t.regex(viaMcx.stderr, /Forced: Moode is not a known key/);
  // A profile without the agent's payload is a problem, not "valid".
  const other = path.join(fx.dir, 'other.mobileconfig');
  writeFileSync(
    other,
    `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PayloadType</key><string>Configuration</string><key>PayloadContent</key><array>${payload('com.apple.loginwindow', '')}</array></dict></plist>\n`,
  );
  const none = await fx.ctl(['config', 'validate', other]);
  t.is(none.code, 2);
  t.regex(none.stderr, /no payload for com\.trustguard\.agent/);
});
