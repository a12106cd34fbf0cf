import test from 'ava';
import { agentctl } from '../helpers/agent.js';
import { renderStatus, statusExitCode } from '../../agent/cli/status.js';
import { formatDate, labelFor } from '../../agent/cli/format.js';

const commands = [
  ['status'],
  ['config'],
  ['config', 'show'],
  ['config', 'validate'],
  ['reload'],
  ['version'],
  ['time'],
  ['compliance'],
  ['doctor'],
];

test('--help works for every command and exits 0', async (t) => {
  for (const command of [[], ...commands]) {
    const result = await agentctl([...command, '--help']);
    t.is(result.code, 0, `${command.join(' ')}: ${result.stderr}`);
    t.regex(
      result.stdout,
      new RegExp(`Usage: agentctl${command.length ? ` ${command.join(' ')}` : ''}`),
      command.join(' '),
    );
  }
});

test('usage errors exit 64', async (t) => {
  for (const args of [
    [],
    ['bogus'],
    ['status', '--frobnicate'],
    ['config'],
    ['config', 'validate'],
    ['compliance'],
    ['compliance', '--format', 'xml'],
    ['time', '--samples', '0'],
    ['status', '--socket', '/x', '--config', '/y'],
  ]) {
    const result = await agentctl(args);
    t.is(result.code, 64, `${args.join(' ')}: ${result.stderr}`);
  }
});

test('version prints the package version; doctor --help lists its subcommands', async (t) => {
  const version = await agentctl(['version']);
  t.is(version.code, 0);
  t.regex(version.stdout, /^agentctl \d+\.\d+\.\d+/);
  const doctor = await agentctl(['doctor', '--help']);
  t.is(doctor.code, 0);
  t.regex(doctor.stdout + doctor.stderr, /sso/);
  t.regex(doctor.stdout + doctor.stderr, /profile/);
});

test('status exits 2 on any problem: the clock warn, active or non-compliant', (t) => {
  t.is(statusExitCode({ daemon: {} }), 0);
  t.is(statusExitCode({ clock: { state: 'warn' } }), 2);
  t.is(statusExitCode({ clock: { state: 'active' } }), 2);
  t.is(statusExitCode({ compliance: { compliant: false } }), 2);
  t.is(statusExitCode({ compliance: { state: 'non_compliant' } }), 2);
  t.is(statusExitCode({ compliance: { state: 'unknown' } }), 0);
  t.is(statusExitCode({ compliance: { compliant: true }, clock: { state: 'ok' } }), 0);
});

test('status rendering: aligned rows, local dates, "Never", sources listed, sections without data say so', (t) => {
  const stream = { isTTY: false } as NodeJS.WriteStream;
  const text = renderStatus(
    {
      daemon: { version: '1.2.3', uptime_s: 3725, last_reload_at: null, config_source: '/x.plist' },
      clock: {
        state: 'active',
        offset_ms: 94000,
        uncertainty_ms: 0.5,
        last_check_ms: Date.parse('2026-01-02T03:04:05Z'),
        sources: [{ kind: 'ntp', address: 'time.apple.com:123', status: 'ok', offset_ms: 94000, stratum: 1 }],
      },
      permissions: { full_disk_access: 'not applicable' },
    },
    stream,
  );
  t.regex(text, />>> Daemon\n {2}Version +\| 1\.2\.3/);
  t.regex(text, /Uptime +\| 1h 2m 5s/);
  t.regex(text, /Last reload +\| Never/);
  t.regex(text, /Offset +\| 94\.000 s slow ± 0\.5 ms/);
  t.regex(text, /NTP time\.apple\.com:123 +\| ok, 94\.000 s slow, stratum 1/);
  t.true(text.includes(formatDate('2026-01-02T03:04:05Z')));
  t.regex(text, /time\.apple\.com:123/);
  t.regex(text, />>> Compliance\n {2}No data/);
  t.false(text.includes('\u001b['));
  const lines = text.split('\n').filter((l) => l.includes(' | '));
  t.is(new Set(lines.map((l) => l.indexOf(' | '))).size, 1, 'the value column is aligned');
  t.is(labelFor('ntp_servers'), 'NTP servers');
  t.is(formatDate(null), 'Never');
});
