// The telemetry keys: owned by the telemetry capability (not agent/config/schema.ts), typed and
// range-checked, with the two cross-key rules; secrets never described.
import test from 'ava';
import { resolveLayers } from '../../agent/config/load.js';
import { checkValue, defaultConfig, keyTable, loadKeyTable } from '../../agent/config/keys.js';
import { pendingKeys } from '../../agent/config/schema.js';
import { telemetryKeys } from '../../agent/telemetry/config.js';

test.before(async () => {
  await loadKeyTable();
});

test('the telemetry keys come from the telemetry capability, with their defaults', (t) => {
  for (const name of Object.keys(telemetryKeys)) {
    t.is(keyTable().keys[name], telemetryKeys[name as keyof typeof telemetryKeys], name);
    t.false(name in pendingKeys, `${name} moved out of agent/config/schema.ts`);
  }
  const d = defaultConfig('darwin', true);
  t.like(d, {
    CollectorURL: '',
    TelemetryMaxDiskMB: 64,
    TelemetryFlushIntervalSeconds: 60,
    TelemetryMaxEventsPerSecond: 200,
    TelemetryHeartbeatIntervalSeconds: 3600,
    CollectorTimeoutSeconds: 30,
  });
});

test('values are checked: https (http only to loopback), absolute paths, ranges; a secret is never echoed', (t) => {
  t.is(checkValue('CollectorURL', 'https://otel.example.com:4318'), undefined);
  t.is(checkValue('CollectorURL', 'http://127.0.0.1:4318'), undefined);
  t.regex(checkValue('CollectorURL', 'http://otel.example.com') ?? '', /http only to loopback/);
  t.regex(checkValue('CollectorBearerTokenFile', 'token.txt') ?? '', /absolute path/);
  t.regex(checkValue('TelemetryMaxDiskMB', 0) ?? '', /from 1 to 10240/);
  t.regex(checkValue('TelemetryHeartbeatIntervalSeconds', 5) ?? '', /from 10/);
  t.regex(checkValue('CollectorTimeoutSeconds', 1.5) ?? '', /integer/);
  const secret = checkValue('CollectorBearerToken', 'x'.repeat(9000)) ?? '';
  t.regex(secret, /a string of 9000 characters/);
  t.false(secret.includes('xxxx'));
});

test('cross-key rules: token and token file not both; certificate and key together', (t) => {
  const both = resolveLayers([
    { source: 'profile', values: { CollectorBearerToken: 'abc', CollectorBearerTokenFile: '/etc/token' } },
  ]);
  t.true(both.problems.some((p) => /CollectorBearerToken or CollectorBearerTokenFile, not both/.test(p)));
  t.is(both.config.CollectorBearerToken, '');
  t.false(both.problems.join(' ').includes('abc'), 'the token is not echoed');
  const half = resolveLayers([{ source: 'profile', values: { CollectorClientCertificateFile: '/etc/client.pem' } }]);
  t.true(half.problems.some((p) => /go together/.test(p)));
  const fine = resolveLayers([
    {
      source: 'profile',
      values: {
        CollectorURL: 'https://otel.example.com',
        CollectorBearerTokenFile: '/etc/token',
        CollectorClientCertificateFile: '/etc/c.pem',
        CollectorClientKeyFile: '/etc/c.key',
      },
    },
  ]);
  t.deepEqual(fine.problems, []);
});
