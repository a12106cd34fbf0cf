// `agentctl time` and the guardrail against real chronyd servers on loopback, skewed with
// libfaketime (SPEC §3), and a real HTTPS server.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTimeCommand } from '../../agent/clock/cli.js';
import { ClockGuardrail } from '../../agent/clock/guardrail.js';
import { measureClock } from '../../agent/clock/measure.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { RecordingLogger } from '../helpers/recording-logger.js';
import { missing } from '../helpers/system.js';
import { skewedDateHandler, startHttpsServer, TestPki, type RunningHttpsServer } from '../helpers/tls.js';

const needs = missing('chronyd', 'libfaketime', 'openssl');
const it = needs ? test.skip : test.serial;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);
const agentctl = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'agent', 'cli', 'agentctl.cjs');

let fast1: RunningChrony;
let fast2: RunningChrony;
let right: RunningChrony;
let pki: TestPki;
let httpsServer: RunningHttpsServer;
const at = (c: RunningChrony) => `${c.host}:${c.port}`;

test.before(async () => {
  if (needs) return;
  [fast1, fast2, right] = await Promise.all([
    startChrony({ skewSeconds: 92 }),
    startChrony({ skewSeconds: 92 }),
    startChrony({ skewSeconds: 0 }),
  ]);
  pki = await TestPki.create();
  httpsServer = await startHttpsServer({ certificate: await pki.issueLeaf(), handler: skewedDateHandler(92_000) });
});
test.after.always(async () => {
  await Promise.all([fast1?.stop(), fast2?.stop(), right?.stop(), httpsServer?.stop()]);
  await pki?.cleanup();
});

interface TimeJson {
  state: string;
  offset_ms: number | null;
  uncertainty_ms: number | null;
  sources: Array<{
    kind: string;
    address: string;
    offset_ms: number | null;
    delay_ms: number | null;
    uncertainty_ms: number | null;
    stratum: number | null;
    status: string;
    error: string | null;
  }>;
  falsetickers: string[];
  hint: string | null;
}

async function timeJson(options: Parameters<typeof runTimeCommand>[0]): Promise<{ code: number; json: TimeJson }> {
  let out = '';
  const code = await runTimeCommand({ json: true, platform: 'darwin', ...options, write: (s) => (out += s) });
  return { code, json: JSON.parse(out) as TimeJson };
}

for (const [name, skew] of [
  ['+92 s', 92_000],
  ['0 s', 0],
] as const) {
  it(title(`one chronyd at ${name} is measured within its stated uncertainty`), async (t) => {
    const server = skew ? fast1 : right;
    const { code, json } = await timeJson({ ntp: [at(server)] });
    const source = json.sources[0]!;
    t.log(`offset ${source.offset_ms} ms, delay ${source.delay_ms} ms`);
    t.is(source.status, 'ok');
    t.is(source.kind, 'ntp');
    t.is(source.stratum, 1);
    // The interval it vouches for holds the true offset (issue 17 item 16: no latency-bound
    // figure here; bench/time.bench.ts compares the offset with chronyd -Q's).
    t.true(
      Math.abs(source.offset_ms! - skew) <= source.uncertainty_ms!,
      `offset ${source.offset_ms} not within ±${source.uncertainty_ms} ms of ${skew}`,
    );
    // One source is never trusted alone.
    t.is(json.state, 'uncertain');
    t.regex(json.hint!, /one time source is configured/);
    t.is(code, 0);
  });
}

it(title('+92, +92 and 0 s: active, the 0 s server a falseticker, a hint with a command'), async (t) => {
  const { code, json } = await timeJson({ ntp: [at(fast1), at(right), at(fast2)] });
  t.log(`offset ${json.offset_ms} ms ± ${json.uncertainty_ms} ms; ${json.hint}`);
  t.is(json.state, 'active');
  t.true(Math.abs(json.offset_ms! - 92_000) <= json.uncertainty_ms!, `${json.offset_ms} ± ${json.uncertainty_ms}`);
  t.deepEqual(json.falsetickers, [at(right)]);
  t.deepEqual(
    json.sources.map((s) => s.status),
    ['ok', 'falseticker', 'ok'],
  );
  t.is(json.hint, `Clock is 92 s slow against 2 of 3 sources (${at(right)} disagrees). Run: sudo sntp -sS 127.0.0.1`);
  t.is(code, 2);
});

it(title('+92 and 0 s: uncertain, and the guardrail does not remediate'), async (t) => {
  const { code, json } = await timeJson({ ntp: [at(fast1), at(right)] });
  t.is(json.state, 'uncertain');
  t.is(json.offset_ms, null);
  t.regex(json.hint!, /^Time sources disagree \(127\.0\.0\.1:\d+ says \+92 s and 127\.0\.0\.1:\d+ says [+−]\d+ ms\)/);
  t.is(code, 0);

  const dir = await mkdtemp(path.join(tmpdir(), 'tg-time-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const marker = path.join(dir, 'remediated');
  const guardrail = new ClockGuardrail({
    stateDir: dir,
    logger: new RecordingLogger(),
    mode: 'remediate',
    remediationCommand: ['/usr/bin/touch', marker],
  });
  const disagreeing = await guardrail.evaluate(await measureClock({ ntp: [at(fast1), at(right)], https: [] }));
  t.is(disagreeing.state, 'uncertain');
  t.false(existsSync(marker), 'no remediation on disagreeing sources');
  const single = await guardrail.evaluate(await measureClock({ ntp: [at(fast1)], https: [] }));
  t.is(single.state, 'uncertain');
  t.false(existsSync(marker), 'no remediation on a single source');
  const confident = await guardrail.evaluate(await measureClock({ ntp: [at(fast1), at(right), at(fast2)], https: [] }));
  t.is(confident.state, 'active');
  t.true(existsSync(marker), 'remediation on a confident majority');
});

it(title('NTP and HTTPS sources combine'), async (t) => {
  const { code, json } = await timeJson({
    ntp: [at(fast1), at(right)],
    https: [`${httpsServer.origin}/`],
    ca: pki.caFile,
  });
  t.is(json.state, 'active');
  t.deepEqual(
    json.sources.map((s) => [s.kind, s.status]),
    [
      ['ntp', 'ok'],
      ['ntp', 'falseticker'],
      ['https', 'ok'],
    ],
  );
  t.is(code, 2);
});

it(title('flags override the configured sources; human output has aligned rows'), async (t) => {
  let out = '';
  const code = await runTimeCommand({
    ntp: [at(fast1), at(fast2), at(right)],
    configuredNtp: ['192.0.2.1'],
    platform: 'darwin',
    write: (s) => (out += s),
  });
  t.is(code, 2);
  t.log(out);
  const lines = out.split('\n');
  t.regex(
    lines[0]!,
    /^Clock {6}ACTIVE: system clock is 92 s slow \(offset \+9[12]\d{3}\.\d{3} ms ± \d+\.\d{3} ms; 2 of 3 sources agree\)$/,
  );
  t.regex(lines[1]!, /^Hint {7}Clock is 92 s slow/);
  const header = lines.find((l) => l.startsWith('KIND'))!;
  const rows = lines.filter((l) => l.startsWith('ntp '));
  t.is(rows.length, 3);
  t.false(out.includes('192.0.2.1'));
  // Columns line up: every row's STATUS starts under the header's.
  for (const row of rows) t.regex(row.slice(header.indexOf('STATUS')), /^(ok|falseticker)/);
});

it(title('no source answers: exit 1 with the reason per source'), async (t) => {
  const { code, json } = await timeJson({
    // Two ports: the same address and port would be one peer, whatever the protocol (issue 17 item 12).
    ntp: ['127.0.0.1:9'],
    https: ['https://127.0.0.1:7/'],
    timeout: 200,
    samples: 1,
  });
  t.is(code, 1);
  t.is(json.state, 'uncertain');
  t.deepEqual(
    json.sources.map((s) => s.status),
    ['error', 'error'],
  );
  t.truthy(json.sources[0]!.error);
  t.regex(json.sources[1]!.error!, /refused/);
  t.regex(json.hint!, /^None of 2 time sources answered/);
});

it(title('agentctl time --json runs the same measurement as a process'), async (t) => {
  const child = spawn(
    process.execPath,
    [agentctl, 'time', '--json', '--spacing', '0', '--ntp', at(fast1), '--ntp', at(fast2), '--ntp', at(right)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 2, err);
  const json = JSON.parse(out) as TimeJson;
  t.is(json.state, 'active');
  t.true(Math.abs(json.offset_ms! - 92_000) <= json.uncertainty_ms!, `${json.offset_ms} ± ${json.uncertainty_ms}`);
  t.deepEqual(json.falsetickers, [at(right)]);
});
