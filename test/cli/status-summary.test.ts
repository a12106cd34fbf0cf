// Issue 21, `status` read in ten seconds: the verdict and the problems first (code, sentence,
// fix; errors before warnings), internals only with --verbose, one exit code per condition
// (0 healthy, 2 any problem, 1 unreachable, 64 usage), 80 columns, colour by meaning only.
/* eslint-disable no-control-regex -- the tests look for colour codes */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderStatus, statusExitCode, statusJson, statusProblems } from '../../agent/cli/status.js';
import { agentctl, agentctlPath, createAgentFixture, eventually, measuredUntil } from '../helpers/agent.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { missing } from '../helpers/system.js';
import { TestPki } from '../helpers/tls.js';

const plain = { isTTY: false } as NodeJS.WriteStream;
const ansi = /\u001b\[[0-9;]*m/g;

/** A status as a daemon with one dead NTP source and one expired trust target sends it. */
function sickStatus(): Record<string, unknown> {
  return {
    daemon: {
      version: '1.2.3',
      pid: 4242,
      uptime_s: 3725,
      mode: 'enforce',
      config_source: '/Library/Managed Preferences/com.trustguard.agent.plist',
      config_problems: [],
      control_socket: '/var/run/trustguard/agent.sock',
      admin_socket: '/var/run/trustguard/agent.sock.admin',
      control: { connections: 1, requests: 12, refused: 0 },
      rss_bytes: 41_000_000,
      jobs: { clock: { runs: 3 }, trust: { runs: 1 } },
    },
    clock: {
      state: 'ok',
      offset_ms: 0.4,
      uncertainty_ms: 1.2,
      mode: 'enforce',
      measurements: 3,
      agreeing_sources: 2,
      total_sources: 3,
      sources: [
        { kind: 'ntp', address: 'time.apple.com:123', status: 'ok', offset_ms: 0.4 },
        { kind: 'ntp', address: 'time.cloudflare.com:123', status: 'ok', offset_ms: 0.3 },
        {
          kind: 'ntp',
          address: 'ntp.example.internal.corporate.network.acme.com:123',
          status: 'error',
          code: 'timeout',
        },
      ],
    },
    compliance: { state: 'compliant', compliant: true },
    trust: {
      targets: [
        {
          target: 'https://login.some-very-long-identity-provider-name.example.com/adfs/ls/idpinitiatedsignon',
          trusted: false,
          diagnosis: 'expired',
          findings: ['expired'],
          leaf_expires_in_days: -3,
          hint: 'The certificate of login.some-very-long-identity-provider-name.example.com expired on 2026-12-04: the server administrator renews it.',
        },
      ],
      revocation: 'soft',
    },
    permissions: { full_disk_access: 'not applicable' },
  };
}

test('the summary comes first: Healthy no, then each problem with its code and fix, errors first', (t) => {
  const text = renderStatus(sickStatus(), plain);
  const lines = text.split('\n');
  t.is(lines[0], 'Healthy: no (1 error, 1 warning)');
  const head = lines.slice(0, 6).join('\n');
  t.regex(head, /ERROR trust_target_untrusted:\s+https:\/\/login\./);
  t.regex(head, /expired 3 days ago\. Fix: /);
  t.regex(head, /WARN {2}time_source_failing: Time source NTP/);
  t.regex(text, /Time source NTP\s+ntp\.example\.internal\.corporate\.network\.acme\.com:123 did not answer\./);
  t.true(head.indexOf('trust_target_untrusted') < head.indexOf('time_source_failing'), 'errors before warnings');
  t.is(statusExitCode(sickStatus()), 2);
  const json = statusJson(sickStatus());
  t.false(json.healthy);
  t.deepEqual(
    (json.problems as Array<{ code: string; section: string; severity: string }>).map((p) => [
      p.section,
      p.code,
      p.severity,
    ]),
    [
      ['trust', 'trust_target_untrusted', 'error'],
      ['clock', 'time_source_failing', 'warning'],
    ],
  );
  t.is((json.trust as { targets: Array<{ diagnosis: string }> }).targets[0]!.diagnosis, 'expired', 'JSON keeps codes');
});

test('status --json: every timestamp an RFC 3339 UTC string (X_ms → X_at), durations stay numbers named _ms', (t) => {
  const status = sickStatus();
  Object.assign(status.clock as object, {
    last_check_ms: Date.parse('2026-12-07T10:00:00.000Z'),
    state_since_ms: null,
    measured_at_ms: Date.parse('2026-12-07T09:59:59.500Z'),
    remediation: { next_allowed_at_ms: Date.parse('2026-12-07T10:15:00Z') },
  });
  Object.assign(status.compliance as object, { since_ms: Date.parse('2026-12-01T00:00:00Z') });
  const json = statusJson(status) as { clock: Record<string, unknown>; compliance: Record<string, unknown> };
  t.is(json.clock.last_check_at, '2026-12-07T10:00:00.000Z');
  t.is(json.clock.state_since_at, null);
  t.is(json.clock.measured_at, '2026-12-07T09:59:59.500Z');
  t.deepEqual(json.clock.remediation, { next_allowed_at: '2026-12-07T10:15:00.000Z' });
  t.is(json.compliance.since_at, '2026-12-01T00:00:00.000Z');
  t.is(json.clock.offset_ms, 0.4, 'a duration stays a number');
  t.is(json.clock.last_check_ms, undefined);
  t.is((json as unknown as { daemon: { uptime_s: number } }).daemon.uptime_s, 3725);
});

test('without --verbose the daemon internals stay out; --verbose adds jobs, control counters, sockets, RSS', (t) => {
  const brief = renderStatus(sickStatus(), plain);
  const verbose = renderStatus(sickStatus(), plain, { verbose: true });
  for (const label of ['Jobs', 'Control socket', 'Admin socket', 'RSS', 'PID']) {
    t.false(new RegExp(`^ +${label} `, 'm').test(brief), `${label} hidden`);
    t.true(new RegExp(`^ +${label}`, 'm').test(verbose), `${label} with --verbose`);
  }
  t.regex(brief, /Mode +\| enforce/);
});

test('the human view fits 80 columns: long values wrap inside their column, one problem per entry', (t) => {
  const previous = process.env.COLUMNS;
  process.env.COLUMNS = '80';
  t.teardown(() => {
    if (previous === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = previous;
  });
  const status = sickStatus();
  (status.daemon as Record<string, unknown>).config_problems = [
    'NTPServers: entry 2 "time..apple.com" is not host, host:port or an IPv6 address; it is left out of the sources',
    'TrustTargets: entry 1 is not an https URL or an absolute path',
  ];
  for (const verbose of [false, true]) {
    const text = renderStatus(status, plain, { verbose });
    for (const line of text.split('\n')) t.true(line.length <= 80, `${line.length}: ${line}`);
    // The wrapped hint stays in its column: every continuation starts at the value column.
    const hintLines = text.split('\n').filter((l) => / \| /.test(l));
    t.is(new Set(hintLines.map((l) => l.indexOf(' | '))).size, 1, 'one value column');
  }
  // Config problems are one entry each, never comma-joined.
  const summary = renderStatus(status, plain).split('\n\n')[0]!;
  t.is(summary.match(/ERROR config_problem:/g)?.length, 2);
});

test('healthy: Healthy yes, exit 0; colour only on a terminal and never with NO_COLOR', (t) => {
  const healthy = sickStatus();
  (healthy.trust as { targets: unknown[] }).targets = [];
  (healthy.clock as { sources: Array<{ status: string }> }).sources.pop();
  t.deepEqual(statusProblems(healthy), []);
  t.is(statusExitCode(healthy), 0);
  t.is(renderStatus(healthy, plain).split('\n')[0], 'Healthy: yes');
  const tty = { isTTY: true, columns: 80 } as NodeJS.WriteStream;
  const previous = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
  try {
    const coloured = renderStatus(sickStatus(), tty);
    t.regex(coloured, /\u001b\[31mno\u001b\[0m/, 'no in red');
    t.regex(coloured, /\u001b\[31mERROR\u001b\[0m/);
    t.regex(coloured, /\u001b\[33mWARN \u001b\[0m/);
    t.regex(renderStatus(healthy, tty), /Healthy: \u001b\[32myes/);
    // Plain yes/no facts are not verdicts: not coloured.
    t.false(/\u001b\[3\dm(Yes|No)\u001b/.test(coloured));
    process.env.NO_COLOR = '1';
    t.false(ansi.test(renderStatus(sickStatus(), tty)));
  } finally {
    if (previous === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = previous;
  }
});

test('each condition of the exit code table gives its code', (t) => {
  const base = () => {
    const s = sickStatus();
    (s.trust as { targets: unknown[] }).targets = [];
    (s.clock as { sources: unknown[] }).sources.pop();
    return s;
  };
  const cases: Array<[string, (s: Record<string, unknown>) => void, 0 | 2]> = [
    ['healthy', () => {}, 0],
    ['clock uncertain', (s) => Object.assign(s.clock as object, { state: 'uncertain', uncertain_reason: 'tie' }), 2],
    ['clock warn', (s) => Object.assign(s.clock as object, { state: 'warn', offset_ms: 5000 }), 2],
    ['clock active', (s) => Object.assign(s.clock as object, { state: 'active', offset_ms: 95000 }), 2],
    ['non-compliant', (s) => Object.assign(s.compliance as object, { state: 'non_compliant', compliant: false }), 2],
    [
      'a target not trusted',
      (s) =>
        Object.assign(s.trust as object, { targets: [{ target: '/x.pem', trusted: false, diagnosis: 'revoked' }] }),
      2,
    ],
    ['config problems', (s) => Object.assign(s.daemon as object, { config_problems: ['Mode: not a mode'] }), 2],
    [
      'telemetry failing',
      (s) =>
        (s.telemetry = {
          enabled: true,
          state: 'backing_off',
          last_success_at: null,
          last_error: { code: 'collector_unreachable', status: null, detail: null, at: '2026-12-07T10:00:00Z' },
        }),
      2,
    ],
    [
      'telemetry misconfigured',
      (s) => (s.telemetry = { enabled: true, state: 'idle', problems: [{ code: 'token_file_unsafe' }] }),
      2,
    ],
    ['a scrub error', (s) => (s.keychain = { users: [{ uid: 501, errors: ['keychain_locked'] }], services: ['x'] }), 2],
    ['a section the daemon could not give', (s) => (s.trust = { error: 'boom', error_code: 'section_too_large' }), 2],
  ];
  for (const [name, change, code] of cases) {
    const status = base();
    change(status);
    t.is(statusExitCode(status), code, name);
    t.is(statusJson(status).healthy, code === 0, name);
  }
});

const needs = missing('root', 'chronyd', 'openssl') ?? (spawnSync('tmux', ['-V']).status === 0 ? undefined : 'tmux');

/** A UDP port with nobody behind it: an NTP source that never answers. */
async function deadUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

(needs ? test.skip : test.serial)(
  `a real daemon with a dead NTP source and an expired trust target: Healthy no and both problems in the first 6 lines, exit 2, at 80 columns through tmux${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    const pki = await TestPki.create();
    const chronies: RunningChrony[] = [];
    t.teardown(async () => {
      await Promise.all(chronies.map((c) => c.stop()));
      await pki.cleanup();
    });
    chronies.push(await startChrony({ skewSeconds: 0 }), await startChrony({ skewSeconds: 0 }));
    const expired = await pki.issueLeaf({
      notBefore: new Date(Date.now() - 30 * 86_400_000),
      notAfter: new Date(Date.now() - 3 * 86_400_000 - 3_600_000),
    });
    const dead = await deadUdpPort();
    const fixture = createAgentFixture('tg-status-summary-');
    t.teardown(() => fixture.cleanup());
    fixture.writeConfig({
      NTPServers: [...chronies.map((c) => `${c.host}:${c.port}`), `127.0.0.1:${dead}`],
      NTPTimeoutMilliseconds: 500,
      TrustTargets: [expired.chainFile],
      TrustCAFiles: [pki.caFile],
      TrustRevocation: 'off',
      MeasureIntervalSeconds: 3600,
      TrustCheckIntervalSeconds: 3600,
    });
    await fixture.start();
    // Both chronyds answered (a loaded machine can lose a reply: then another round), the dead
    // source did not, and the trust check is done.
    await measuredUntil(
      fixture,
      'the first measurement and trust check',
      (s) =>
        Number(s.clock?.agreeing_sources ?? 0) === chronies.length &&
        ((s.trust?.targets as unknown[] | undefined)?.length ?? 0) === 1,
    );

    const human = await agentctl(['status', '--socket', fixture.socketPath], { env: { COLUMNS: '80' } });
    t.is(human.code, 2, human.stderr);
    const lines = human.stdout.split('\n');
    t.is(lines[0], 'Healthy: no (1 error, 1 warning)', human.stdout);
    const head = lines.slice(0, 6).join('\n');
    t.regex(head, /ERROR trust_target_untrusted: \S+\.chain\.pem is not\s+trusted: [\s\S]* has expired [34] days ago/);
    t.regex(head, new RegExp(`time_source_failing: Time source NTP 127\\.0\\.0\\.1:${dead}`));
    for (const line of lines) t.true(line.length <= 80, `${line.length}: ${line}`);
    t.false(/Jobs|RSS|Control socket/.test(human.stdout), 'no internals without --verbose');

    const verbose = await agentctl(['status', '--verbose', '--socket', fixture.socketPath]);
    t.is(verbose.code, 2);
    t.regex(verbose.stdout, /^ {2}Jobs/m);
    t.regex(verbose.stdout, /^ {2}RSS +\| \d/m);
    t.regex(verbose.stdout, /^ {2}Control socket +\| /m);

    const json = await agentctl(['status', '--json', '--socket', fixture.socketPath]);
    t.is(json.code, 2);
    const parsed = JSON.parse(json.stdout) as { healthy: boolean; problems: Array<{ code: string }> };
    t.false(parsed.healthy);
    t.deepEqual(
      parsed.problems.map((p) => p.code),
      ['trust_target_untrusted', 'time_source_failing'],
    );

    // Through tmux: a real 80-column terminal (colour on), wrapped lines joined back (-J) so
    // that a line wider than the pane would show as one long line.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-tmux-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const server = `tg-status-${process.pid}`;
    const done = path.join(dir, 'done');
    const script = path.join(dir, 'run.sh');
    writeFileSync(
      script,
      `unset NO_COLOR COLUMNS\n'${process.execPath}' '${agentctlPath}' status --socket '${fixture.socketPath}'\necho "exit $?" > '${done}'\nsleep 30\n`,
    );
    execFileSync('tmux', [
      '-L',
      server,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-x',
      '80',
      '-y',
      '100',
      `sh ${script}`,
    ]);
    t.teardown(() => void spawnSync('tmux', ['-L', server, 'kill-server']));
    await eventually(() => {
      try {
        return readFileSync(done, 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    }, 'agentctl in tmux');
    t.is(readFileSync(done, 'utf8').trim(), 'exit 2');
    const pane = execFileSync('tmux', ['-L', server, 'capture-pane', '-p', '-J', '-e', '-S', '0'], {
      encoding: 'utf8',
    });
    t.regex(pane, /Healthy: \u001b\[31mno/, 'colour on a terminal');
    const paneLines = pane.split('\n');
    t.true(paneLines.slice(0, 6).some((l) => l.includes('time_source_failing')));
    for (const line of paneLines) {
      const visible = line.replace(ansi, '');
      t.true(visible.length <= 80, `${visible.length}: ${visible}`);
    }
  },
);

test('exit 1 when the daemon is unreachable, 64 on a usage error', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-status-exit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const unreachable = await agentctl(['status', '--socket', path.join(dir, 'none.sock')]);
  t.is(unreachable.code, 1);
  t.regex(unreachable.stderr, /not reachable/);
  t.is((await agentctl(['status', '--bogus'])).code, 64);
  t.is((await agentctl(['status', 'extra'])).code, 64);
  const help = await agentctl(['status', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit codes:\n {2}0 +healthy/);
  for (const code of ['0', '2', '1', '64']) t.regex(help.stdout, new RegExp(`^ {2}${code} +\\S`, 'm'));
  for (const line of help.stdout.split('\n')) t.true(line.length <= 80, line);
});
