// NtpSource against a real chronyd whose clock libfaketime skews: the measured offset is the skew.
import test from 'ava';
import { NtpSource } from '../../agent/clock/ntp-source.js';
import { startChrony } from '../helpers/chrony.js';
import { missing } from '../helpers/system.js';

const absent = missing('chronyd', 'libfaketime');
const chronyTest = absent ? test.skip : test;
const needs = absent ? ` [needs chrony, libfaketime] (missing: ${absent})` : '';

for (const skewSeconds of [92, 0, -92]) {
  chronyTest(`NtpSource measures chronyd skewed by ${skewSeconds} s within ±5 ms${needs}`, async (t) => {
    const chrony = await startChrony({ skewSeconds });
    t.teardown(() => chrony.stop());
    const source = new NtpSource({ host: chrony.host, port: chrony.port });
    const result = await source.measure();
    if (!result.ok) return t.fail(result.error);
    t.log(
      `chronyd at ${skewSeconds} s: offset ${result.offsetMs.toFixed(4)} ms (error ${(result.offsetMs - skewSeconds * 1000).toFixed(4)} ms), ` +
        `delay ${result.delayMs.toFixed(4)} ms, uncertainty ${result.uncertaintyMs.toFixed(4)} ms, ${result.samplesValid}/${result.samplesSent} samples`,
    );
    t.is(result.stratum, 1);
    // A loaded machine may lose a sample (1 s each); the lowest-delay one that came counts.
    t.true(result.samplesValid >= 1 && result.samplesSent === 4, `${result.samplesValid}/${result.samplesSent}`);
    t.is(result.address, `127.0.0.1:${chrony.port}`);
    // The interval this source vouches for contains the true skew (up to a ±5 ms tolerance): a
    // fixed bound alone would fail whenever load delays a reply's timestamp.
    t.true(Math.abs(result.offsetMs - skewSeconds * 1000) <= result.uncertaintyMs + 5, `offset ${result.offsetMs} ms`);
  });
}

chronyTest(`startChrony refuses a sub-second skew it cannot serve faithfully${needs}`, async (t) => {
  await t.throwsAsync(() => startChrony({ skewSeconds: 0.5 }), {
    message: /within 1 s it uses real kernel receive timestamps/,
  });
});

chronyTest(`stop() ends chronyd: afterwards the port does not answer${needs}`, async (t) => {
  const chrony = await startChrony({ skewSeconds: 0 });
  await chrony.stop();
  t.throws(() => process.kill(chrony.pid, 0), { code: 'ESRCH' });
  const result = await new NtpSource({ host: chrony.host, port: chrony.port, samples: 1, timeoutMs: 200 }).measure();
  t.false(result.ok);
});
