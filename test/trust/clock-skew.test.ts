// clock_skew (issue 10, second acceptance point): a leaf valid from 100 s in the future is not
// yet valid by this machine's clock, but trusted at a corrected time 200 s ahead — given with
// --at, or measured with --ntp from a real chronyd running 200 s ahead under libfaketime.
// Also: an HTTPS time source whose certificate is valid only around the server's (skewed) time
// works, because its chain is evaluated natively at the server-reported time.
import test from 'ava';
import { rmSync } from 'node:fs';
import { measureHttpsTime } from '../../agent/clock/https-time.js';
import { measureClock } from '../../agent/clock/measure.js';
import { agentctl } from '../helpers/agent.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { missing } from '../helpers/system.js';
import { skewedDateHandler, startHttpsServer, TestPki, type RunningHttpsServer } from '../helpers/tls.js';
import { privateAgentConfig } from '../helpers/private-config.js';

const needs = missing('openssl');
const needsNtp = missing('openssl', 'root', 'chronyd', 'libfaketime');
const DAY = 86_400_000;

let pki: TestPki;
let server: RunningHttpsServer;
let dir: string;
let configFile: string;
let chainFile: string;

test.before(async () => {
  if (needs) return;
  ({ dir, configFile } = privateAgentConfig('tg-trust-skew-', {
    TrustRevocation: 'off',
    NTPSampleSpacingMilliseconds: 0,
  }));
  pki = await TestPki.create();
  const leaf = await pki.issueLeaf({ notBefore: new Date(Date.now() + 100_000) });
  chainFile = leaf.chainFile;
  server = await startHttpsServer({ certificate: leaf, handler: skewedDateHandler(0) });
});
test.after.always(async () => {
  await server?.stop();
  await pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Report {
  trusted: boolean;
  diagnosis: string;
  at_system_time: { trusted: boolean; time: string };
  at_corrected_time: { trusted: boolean; time: string; source: string; offset_ms: number } | null;
  hint: string;
}

async function trust(args: string[]): Promise<{ code: number | null; report: Report }> {
  const run = await agentctl(['trust', ...args, '--json', '--config', configFile]);
  try {
    return { code: run.code, report: JSON.parse(run.stdout) as Report };
  } catch {
    throw new Error(`no JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
  }
}

(needs ? test.skip : test)(
  `without a corrected time the leaf is not_yet_valid${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    const { code, report } = await trust([`https://localhost:${server.port}/`, '--ca', pki.caFile]);
    t.is(code, 2);
    t.is(report.diagnosis, 'not_yet_valid');
    t.is(report.at_corrected_time, null);
  },
);

(needs ? test.skip : test)(
  `--at 200 s ahead: trusted at the corrected time, diagnosed clock_skew, the hint names the skew${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    const at = new Date(Date.now() + 200_000).toISOString();
    for (const target of [`https://localhost:${server.port}/`, chainFile]) {
      const { code, report } = await trust([target, '--ca', pki.caFile, '--at', at]);
      t.is(code, 2, 'not trusted by this clock');
      t.false(report.trusted);
      t.false(report.at_system_time.trusted);
      t.true(report.at_corrected_time!.trusted);
      t.is(report.at_corrected_time!.time, at);
      t.is(report.at_corrected_time!.source, '--at');
      t.is(report.diagnosis, 'clock_skew');
      t.regex(
        report.hint,
        /^Clock is (19\d|20\d) s slow \(--at\); the certificate (of localhost|in .*) is valid at the corrected time\. Run: (sudo chronyc makestep|sudo sntp -sS time\.apple\.com)$/,
      );
    }
  },
);

(needsNtp ? test.skip : test.serial)(
  `--ntp at a chronyd 200 s ahead: trusted at the corrected time, diagnosed clock_skew${needsNtp ? ` [needs ${needsNtp}]` : ''}`,
  async (t) => {
    const chrony: RunningChrony = await startChrony({ skewSeconds: 200 });
    t.teardown(() => chrony.stop());
    const ntp = `${chrony.host}:${chrony.port}`;
    const { code, report } = await trust([`https://localhost:${server.port}/`, '--ca', pki.caFile, '--ntp', ntp]);
    t.is(code, 2);
    t.is(report.diagnosis, 'clock_skew');
    t.true(report.at_corrected_time!.trusted);
    t.is(report.at_corrected_time!.source, `NTP ${ntp}`);
    t.true(
      Math.abs(report.at_corrected_time!.offset_ms - 200_000) < 1000,
      `offset ${report.at_corrected_time!.offset_ms}`,
    );
    t.regex(
      report.hint,
      new RegExp(
        `^Clock is 200 s slow \\(NTP ${ntp.replaceAll('.', '\\.')}\\); the certificate of localhost is valid at the corrected time`,
      ),
    );
  },
);

(needs ? test.skip : test)(
  `an HTTPS time source works while the local clock is far off: its chain is evaluated at the server's time${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    // The server's clock is two days ahead of ours, and its certificate is valid only from one to
    // three days from now (by our clock): valid around the server's time, not yet valid by ours.
    const skew = 2 * DAY;
    const leaf = await pki.issueLeaf({
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 3 * DAY),
    });
    const timeServer = await startHttpsServer({ certificate: leaf, handler: skewedDateHandler(skew) });
    t.teardown(() => timeServer.stop());
    const url = `${timeServer.origin}/`;
    // Node's TLS, at the local time, refuses it.
    const byNode = await measureHttpsTime({ url, caFile: pki.caFile });
    t.false(byNode.ok);
    t.regex(!byNode.ok ? byNode.error : '', /not trusted/);
    // The time sources (what agentd and agentctl time use) evaluate natively at the server's time.
    const measured = await measureClock({ ntp: [], https: [url], caFile: pki.caFile });
    const sample = measured.combination.samples[0];
    t.truthy(sample, measured.combination.failures[0]?.error);
    t.true(Math.abs(sample!.offsetMs - skew) <= sample!.uncertaintyMs);
    // Without the CA the native evaluation refuses it, with the diagnosis in the reason.
    const untrusted = await measureClock({ ntp: [], https: [url] });
    t.regex(untrusted.combination.failures[0]?.error ?? '', /is not trusted at the server's time: untrusted_root/);
    // And a wrong name is refused at the server's time too.
    const wrong = await pki.issueLeaf({
      commonName: 'elsewhere.test',
      sans: ['DNS:elsewhere.test'],
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 3 * DAY),
    });
    const wrongServer = await startHttpsServer({ certificate: wrong, handler: skewedDateHandler(skew) });
    t.teardown(() => wrongServer.stop());
    const refused = await measureClock({ ntp: [], https: [`${wrongServer.origin}/`], caFile: pki.caFile });
    t.regex(refused.combination.failures[0]?.error ?? '', /hostname_mismatch/);
  },
);
