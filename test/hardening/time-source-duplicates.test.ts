// Issue 17, item 12: every time source is de-duplicated by the peer it measures, HTTPS included.
// One HTTPS server skewed by 300 s, served under three URLs (two paths on 127.0.0.1, one through
// the name localhost), must not outvote one on-time chronyd: it is one source, asked once.
import test from 'ava';
import { measureClock } from '../../agent/clock/measure.js';
import { agentctl, createAgentFixture, eventually, requestOnce } from '../helpers/agent.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { missing } from '../helpers/system.js';
import { skewedDateHandler, startHttpsServer, TestPki, type RunningHttpsServer } from '../helpers/tls.js';

const needs = missing('openssl', 'chronyd');
const it = needs ? test.skip : test.serial;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);

let pki: TestPki;
let skewed: RunningHttpsServer;
let onTime: RunningChrony;

test.before(async () => {
  if (needs) return;
  pki = await TestPki.create();
  skewed = await startHttpsServer({ certificate: await pki.issueLeaf(), handler: skewedDateHandler(300_000) });
  onTime = await startChrony({ skewSeconds: 0 });
});
test.after.always(async () => {
  await Promise.all([skewed?.stop(), onTime?.stop()]);
  await pki?.cleanup();
});

const urls = () => [`${skewed.origin}/a`, `${skewed.origin}/b`, `https://localhost:${skewed.port}/c`];
const ntp = () => `${onTime.host}:${onTime.port}`;

interface Row {
  address: string;
  status: string;
  code: string | null;
}

interface TimeJson {
  state: string;
  hint: string | null;
  sources: Array<{ kind: string; address: string; status: string; code: string | null; error: string | null }>;
}

it(title('one HTTPS server under three URLs is one source: it does not outvote an on-time NTP server'), async (t) => {
  const args = ['time', '--json', '--spacing', '0', '--samples', '1', '--ntp', ntp(), '--ca', pki.caFile];
  for (const url of urls()) args.push('--https', url);
  const { code, stdout, stderr } = await agentctl(args);
  const json = JSON.parse(stdout) as TimeJson;
  t.log(stdout);
  t.not(json.state, 'active');
  t.true(['uncertain', 'ok'].includes(json.state), json.state);
  t.not(code, 2, stderr);
  t.deepEqual(
    json.sources.map((s) => [s.kind, s.status, s.code]),
    [
      ['ntp', 'ok', null],
      ['https', 'ok', null],
      ['https', 'error', 'duplicate'],
      ['https', 'error', 'duplicate'],
    ],
  );
  const where = `127\\.0\\.0\\.1 port ${skewed.port}`;
  for (const row of json.sources.slice(2))
    t.regex(
      row.error!,
      new RegExp(`^the same server as https://127\\.0\\.0\\.1:\\d+/a \\(${where}\\): asked and counted once$`),
    );
  // The hint does not call the duplicates silent.
  t.regex(json.hint!, /; 2 entries name servers already counted\)/);
  t.false(json.hint!.includes('did not answer'), json.hint!);
  // Asked once: one HEAD for the three URLs.
  t.deepEqual(skewed.requests.splice(0), [{ method: 'HEAD', url: '/a' }]);

  // The human output: no ACTIVE line.
  const human = await agentctl(args.filter((a) => a !== '--json'));
  t.false(human.stdout.includes('ACTIVE'), human.stdout);
  t.not(human.code, 2);
  skewed.requests.splice(0);
});

it(title('in agentd, enforce mode: not active, and the Jamf extension attribute is not NonCompliant'), async (t) => {
  const fx = createAgentFixture('tg-https-dup-');
  t.teardown(() => fx.cleanup());
  fx.writeConfig({
    Mode: 'enforce',
    NTPServers: [ntp()],
    HTTPSTimeURLs: urls(),
    HTTPSTimeCAFile: pki.caFile,
    NTPSamplesPerServer: 1,
    // One sample, and the next round an hour away: time for a loaded machine to answer.
    NTPTimeoutMilliseconds: 3000,
    MeasureIntervalSeconds: 3600,
  });
  await fx.start();
  const clock = await eventually(async () => {
    const status = await requestOnce(fx.socketPath, { request: 'status' });
    const c = (status.result as { clock: { measurements: number; state: string; sources: Row[] } }).clock;
    return c.measurements >= 1 ? c : undefined;
  }, 'the first measurement');
  t.not(clock.state, 'active');
  t.deepEqual(
    clock.sources.map((s) => s.code),
    [null, null, 'duplicate', 'duplicate'],
  );
  // What the Jamf extension attribute runs, against this daemon's state.
  const jamf = await agentctl(['compliance', '--format', 'jamf', '--config', fx.configFile]);
  t.log(jamf.stdout.trim());
  t.regex(jamf.stdout, /^<result>/);
  t.false(jamf.stdout.includes('NonCompliant'), jamf.stdout);
  t.not(jamf.code, 2, jamf.stderr);
  skewed.requests.splice(0);
});

it(title('an HTTPS URL and an NTP entry that reach the same address and port are one peer'), async (t) => {
  // Across kinds: the peer is the address and port, whatever the protocol asked there.
  const measured = await measureClock({
    ntp: [`127.0.0.1:${skewed.port}`],
    https: [`https://localhost:${skewed.port}/`],
    caFile: pki.caFile,
    samples: 1,
    timeoutMs: 200,
  });
  const https = measured.combination.failures.find((f) => f.kind === 'https');
  t.is(https?.code, 'duplicate');
  t.regex(
    https!.error,
    new RegExp(`^the same server as 127\\.0\\.0\\.1:${skewed.port} \\(127\\.0\\.0\\.1 port ${skewed.port}\\)`),
  );
  t.deepEqual(skewed.requests.splice(0), []);
});
