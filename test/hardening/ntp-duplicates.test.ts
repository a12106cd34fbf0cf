// Issue 8, item 12: one NTP server listed twice (or spelled two ways) is one source: it never
// makes a majority, so it never makes the guardrail active or runs remediation on its own word.
import test from 'ava';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TimeSources } from '../../agent/clock/measure.js';
import { canonicalAddress } from '../../agent/clock/ntp-source.js';
import { createAgentFixture, eventually, requestOnce } from '../helpers/agent.js';
import { tempFolder } from '../helpers/attacker.js';
import { startHostileNtpServer } from '../helpers/hostile-ntp-server.js';

interface Row {
  address: string;
  status: string;
  code: string | null;
  error: string | null;
}

test('canonical addresses: IPv6 spellings and IPv4-mapped addresses compare equal', (t) => {
  t.is(canonicalAddress('0:0:0:0:0:0:0:1'), '::1');
  t.is(canonicalAddress('::ffff:127.0.0.1'), '127.0.0.1');
  t.is(canonicalAddress('::FFFF:7f00:1'), '127.0.0.1');
  t.is(canonicalAddress('fe80::1%eth0'), 'fe80::1');
  t.is(canonicalAddress('192.0.2.1'), '192.0.2.1');
});

test('one skewed server listed three times (twice verbatim, once as 127.1) counts once: uncertain, not three agreeing sources', async (t) => {
  const server = await startHostileNtpServer({ offsetMs: 92_000 });
  t.teardown(() => server.stop());
  const sources = new TimeSources({
    ntp: [`127.0.0.1:${server.port}`, `127.0.0.1:${server.port}`, `127.1:${server.port}`],
    https: [],
    samples: 1,
    timeoutMs: 1000,
  });
  const { combination } = await sources.measure();
  t.false(combination.confident);
  t.is(combination.usable, 1);
  t.is(combination.uncertainReason, 'single_source');
  const duplicates = combination.failures.filter((f) => f.code === 'duplicate');
  t.is(duplicates.length, 2);
  t.regex(
    duplicates[0]!.error,
    new RegExp(
      `the same server as 127\\.0\\.0\\.1:${server.port} \\(127\\.0\\.0\\.1 port ${server.port}\\): asked and counted once`,
    ),
  );
  // The server was asked once per round, not three times.
  t.is(server.requests, 1);
  // Two distinct servers do agree.
  const second = await startHostileNtpServer({ offsetMs: 92_000 });
  t.teardown(() => second.stop());
  const two = await new TimeSources({
    ntp: [`127.0.0.1:${server.port}`, `127.0.0.1:${second.port}`],
    https: [],
    samples: 1,
  }).measure();
  t.true(two.combination.confident);
});

test('in agentd: a duplicated server makes neither `active` nor a remediation run, and status says why', async (t) => {
  const server = await startHostileNtpServer({ offsetMs: 92_000 });
  const fx = createAgentFixture('tg-dup-');
  t.teardown(async () => {
    await fx.cleanup();
    await server.stop();
  });
  // A root-owned remediation program in the test's folder that leaves a mark when it runs.
  const bin = tempFolder(t, 'tg-dup-bin-');
  const marker = path.join(bin, 'remediation-ran');
  const program = path.join(bin, 'remediate.sh');
  writeFileSync(program, `#!/bin/sh\ntouch ${marker}\n`);
  chmodSync(program, 0o755);
  fx.writeConfig({
    Mode: 'remediate',
    RemediationCommand: [program, '{server}'],
    NTPServers: [`127.0.0.1:${server.port}`, `127.1:${server.port}`, `127.0.0.1:${server.port}`],
    NTPSamplesPerServer: 1,
    // One sample, and the next round an hour away: time for a loaded machine to answer.
    NTPTimeoutMilliseconds: 3000,
    MeasureIntervalSeconds: 3600,
  });
  await fx.start();
  const clock = await eventually(async () => {
    const status = await requestOnce(fx.socketPath, { request: 'status' });
    const c = (
      status.result as { clock: { measurements: number; state: string; sources: Row[]; uncertain_reason: string } }
    ).clock;
    return c.measurements >= 1 ? c : undefined;
  }, 'the first measurement');
  t.is(clock.state, 'uncertain');
  t.is(clock.uncertain_reason, 'single_source');
  t.deepEqual(
    clock.sources.map((s) => [s.status, s.code]),
    [
      ['ok', null],
      ['error', 'duplicate'],
      ['error', 'duplicate'],
    ],
  );
  t.false(existsSync(marker));
});
