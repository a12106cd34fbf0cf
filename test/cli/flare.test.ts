// Issue 21, acceptance 4: `agentctl flare` writes one .tar.gz whose manifest hashes match its
// files (read back with the system's tar); no configured secret (token, token file content, URL
// userinfo or query secret) appears in any file, over generated secrets, even when the log and
// the daemon's answers leak them; a user's flare is a reduced bundle that says what it left out.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildFlare } from '../../agent/cli/flare.js';
import { loadConfig } from '../../agent/config/load.js';
import { agentctl, agentctlPath, createAgentFixture } from '../helpers/agent.js';
import { asNobody, needsNobody, nobodyTitle } from '../helpers/attacker.js';

function extract(archive: string): Map<string, Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-flare-x-'));
  try {
    execFileSync('tar', ['-xzf', archive, '-C', dir]);
    const [top] = readdirSync(dir);
    const files = new Map<string, Buffer>();
    for (const name of readdirSync(path.join(dir, top!))) files.set(name, readFileSync(path.join(dir, top!, name)));
    return files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test.serial('a flare of a running daemon: every file listed in the manifest with its SHA-256', async (t) => {
  const fixture = createAgentFixture('tg-flare-');
  t.teardown(() => fixture.cleanup());
  fixture.writeConfig({ Mode: 'observe' });
  await fixture.start();
  const output = path.join(fixture.dir, 'bundle.tar.gz');
  const result = await agentctl(['flare', '--output', output, '--config', fixture.configFile]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^Wrote .*bundle\.tar\.gz/);
  t.is(readFileSync(output).length > 0, true);
  const files = extract(output);
  const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as {
    reduced: boolean;
    missing: string[];
    files: Array<{ name: string; bytes: number; sha256: string }>;
  };
  t.deepEqual(manifest.files.map((f) => f.name).sort(), [...files.keys()].filter((n) => n !== 'manifest.json').sort());
  for (const entry of manifest.files) {
    const data = files.get(entry.name)!;
    t.is(data.length, entry.bytes, entry.name);
    t.is(createHash('sha256').update(data).digest('hex'), entry.sha256, entry.name);
  }
  for (const name of ['versions.json', 'status.json', 'doctor.json', 'config.json', 'os.json', 'agent.log'])
    t.true(files.has(name), name);
  t.false(manifest.reduced, manifest.missing.join('; '));
  const status = JSON.parse(files.get('status.json')!.toString('utf8')) as {
    healthy: boolean;
    daemon: { mode: string };
  };
  t.is(status.daemon.mode, 'observe');
  const doctor = JSON.parse(files.get('doctor.json')!.toString('utf8')) as {
    checks: Array<{ name: string; status: string; code: string; message: string }>;
  };
  t.true(doctor.checks.some((c) => c.name === 'daemon'));
  // The same checks as doctor, the SSO row included, which asked the daemon (sso.installed).
  const sso = doctor.checks.find((c) => c.name === 'sso payloads');
  t.truthy(sso);
  if (process.platform !== 'darwin') {
    t.like(sso, { status: 'info', code: 'not_applicable' });
    t.regex(sso!.message, /agentd: the daemon runs on linux/);
  }
  t.regex(files.get('agent.log')!.toString('utf8'), /agentd started/);
  // The bundle is the user's own: mode 0600.
  t.is(statSync(output).mode & 0o777, 0o600);
});

const alnum = fc.stringMatching(/^[A-Za-z0-9]{10,24}$/);
const token = fc.stringMatching(/^[A-Za-z0-9._~+/-]{16,48}$/);

test.serial(
  'no configured secret appears in any file of the bundle (fast-check, generated secrets that also leak into the log and the answers)',
  async (t) => {
    await fc.assert(
      fc.asyncProperty(token, alnum, alnum, alnum, alnum, async (bearer, fileToken, password, querySecret, user) => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-flare-secrets-'));
        try {
          const logs = path.join(dir, 'logs');
          mkdirSync(logs);
          const tokenFile = path.join(dir, 'token');
          writeFileSync(tokenFile, `${fileToken}\n`, { mode: 0o600 });
          const url = `https://${user}:${password}@127.0.0.1:9/v1/logs?api_key=${querySecret}`;
          const configFile = path.join(dir, 'agent.json');
          writeFileSync(
            configFile,
            JSON.stringify({
              StateDirectory: path.join(dir, 'state'),
              LogDirectory: logs,
              ControlSocketPath: path.join(dir, 'agent.sock'),
              NTPServers: [],
              CollectorURL: url,
              CollectorBearerToken: bearer,
              CollectorBearerTokenFile: tokenFile,
            }),
          );
          // A log and an answer that leak every secret, raw and encoded.
          const leak = `token=${bearer} file=${fileToken} url=${url} pw=${encodeURIComponent(password)} q=${JSON.stringify(querySecret)}`;
          writeFileSync(path.join(logs, 'agent.log'), `${JSON.stringify({ message: leak })}\n${leak}\n`);
          const loaded = await loadConfig({ configFile });
          const flare = await buildFlare({
            context: {
              config: loaded.config as Record<string, unknown>,
              sources: loaded.sources,
              configProblems: loaded.problems,
              status: { daemon: { version: '0.0.0', note: leak, config_problems: [leak] } },
            },
            loaded,
            socketPath: path.join(dir, 'agent.sock'),
            lines: 100,
          });
          const secrets = [bearer, fileToken, password, querySecret, user];
          for (const file of flare.files) {
            const text = file.data.toString('utf8');
            for (const secret of secrets)
              if (text.includes(secret))
                throw new Error(`${file.name} holds the secret ${secret}:\n${text.slice(0, 2000)}`);
          }
          // The log was kept (cut of its secrets), not left out.
          if (!flare.files.some((f) => f.name === 'agent.log')) throw new Error('agent.log is missing');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
    t.pass();
  },
);

(needsNobody ? test.skip : test.serial)(
  nobodyTitle("a user's flare is a reduced bundle, and says what it left out"),
  async (t) => {
    const fixture = createAgentFixture('tg-flare-user-');
    t.teardown(() => fixture.cleanup());
    fixture.writeConfig({});
    await fixture.start();
    chmodSync(fixture.logDir, 0o700);
    const out = mkdtempSync(path.join(os.tmpdir(), 'tg-flare-out-'));
    t.teardown(() => rmSync(out, { recursive: true, force: true }));
    chmodSync(out, 0o777);
    const output = path.join(out, 'user.tar.gz');
    const result = await asNobody(
      process.execPath,
      [agentctlPath, 'flare', '--output', output, '--config', fixture.configFile],
      {
        env: { NO_COLOR: '1' },
      },
    );
    t.is(result.code, 0, result.stderr);
    t.regex(result.stderr, /A reduced bundle; it leaves out:/);
    t.regex(result.stderr, /the agent log .*only root can read it; run sudo agentctl flare/);
    const files = extract(output);
    t.false(files.has('agent.log'));
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as {
      reduced: boolean;
      missing: string[];
    };
    t.true(manifest.reduced);
    t.true(manifest.missing.some((m) => m.includes('only root can read it')));
    t.true(files.has('status.json'), 'status is for any user');
  },
);
