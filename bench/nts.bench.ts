// Benchmark for issue 23: NTS (RFC 8915) against plain NTP of the same chronyd, in one run.
// One loopback chronyd at +92 s (libfaketime) serving both. Printed: the time one measurement
// takes (one request, keys and cookies already held) for NTS and for plain NTP, interleaved so
// that both see the same load; the NTS-KE handshake time (TLS 1.3 + records + key export); and
// `agentctl time --nts` offset against `chronyd -Q` on the same server (budget: within 1 ms).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NtpSource } from '../agent/clock/ntp-source.js';
import { performNtsKe } from '../agent/clock/nts-ke.js';
import { NtsSource } from '../agent/clock/nts-source.js';
import { median } from '../agent/stats.js';
import { serverTimeChainVerifier } from '../agent/trust/verify-chain.js';
import { startChrony } from '../test/helpers/chrony.js';
import { missing } from '../test/helpers/system.js';
import { TestPki } from '../test/helpers/tls.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const agentctl = path.join(root, 'dist', 'agent', 'cli', 'agentctl.cjs');
const measurements = Number(process.env.BENCH_MEASUREMENTS ?? 50);
const handshakes = Number(process.env.BENCH_HANDSHAKES ?? 20);
const runs = 5;

const ms = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e6;
const p90 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)]!;

async function main(): Promise<boolean> {
  console.log('== NTS vs plain NTP (one loopback chronyd at +92 s serving both) ==');
  const absent = missing('root', 'chronyd', 'libfaketime', 'openssl');
  if (absent) {
    console.log(`SKIPPED: needs ${absent}`);
    return true;
  }
  const pki = await TestPki.create();
  const leaf = await pki.issueLeaf();
  const server = await startChrony({ skewSeconds: 92, nts: { certFile: leaf.chainFile, keyFile: leaf.keyFile } });
  const scratch = mkdtempSync(path.join(tmpdir(), 'trustguard-bench-nts-'));
  try {
    const verifyChain = serverTimeChainVerifier({ caFile: pki.caFile });
    const nts = new NtsSource({ host: server.host, port: server.ntsPort!, samples: 1, verifyChain });
    const ntp = new NtpSource({ host: server.host, port: server.port, samples: 1 });
    // Warm-up: NTS-KE and the chain evaluation happen here, once.
    for (let i = 0; i < 3; i++) {
      const a = await nts.measure();
      const b = await ntp.measure();
      if (!a.ok || !b.ok) throw new Error(`warm-up failed: ${JSON.stringify([a, b])}`);
    }
    const ntsMs: number[] = [];
    const ntpMs: number[] = [];
    const ntsOffsets: number[] = [];
    const ntpOffsets: number[] = [];
    for (let i = 0; i < measurements; i++) {
      let start = process.hrtime.bigint();
      const a = await nts.measure();
      ntsMs.push(ms(start));
      start = process.hrtime.bigint();
      const b = await ntp.measure();
      ntpMs.push(ms(start));
      if (!a.ok || !b.ok) throw new Error(`measurement ${i} failed: ${JSON.stringify([a, b])}`);
      ntsOffsets.push(a.offsetMs);
      ntpOffsets.push(b.offsetMs);
    }
    const keMs: number[] = [];
    for (let i = 0; i < handshakes; i++) {
      const ke = await performNtsKe({ host: server.host, port: server.ntsPort!, ca: [pki.root.certPem] });
      keMs.push(Number(ke.elapsedNs) / 1e6);
    }
    console.log(
      `NTS measurement   median ${median(ntsMs).toFixed(3)} ms  p90 ${p90(ntsMs).toFixed(3)} ms  offset ${median(ntsOffsets).toFixed(3)} ms (${measurements} measurements, ${nts.keCount} NTS-KE)`,
    );
    console.log(
      `NTP measurement   median ${median(ntpMs).toFixed(3)} ms  p90 ${p90(ntpMs).toFixed(3)} ms  offset ${median(ntpOffsets).toFixed(3)} ms`,
    );
    console.log(`time ratio NTS/NTP = ${(median(ntsMs) / median(ntpMs)).toFixed(2)} (reported, no budget)`);
    console.log(
      `NTS-KE handshake  median ${median(keMs).toFixed(3)} ms  p90 ${p90(keMs).toFixed(3)} ms (${handshakes} handshakes)`,
    );

    const ours: number[] = [];
    const chrony: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = spawnSync(
        process.execPath,
        [agentctl, 'time', '--json', '--spacing', '0', '--nts', `${server.host}:${server.ntsPort}`, '--ca', pki.caFile],
        { encoding: 'utf8', timeout: 30_000 },
      );
      const parsed = JSON.parse(a.stdout) as { sources: Array<{ offset_ms: number | null; authenticated: boolean }> };
      const source = parsed.sources[0];
      if (typeof source?.offset_ms !== 'number' || !source.authenticated)
        throw new Error(`agentctl time --nts gave no authenticated offset: ${a.stdout} ${a.stderr}`);
      ours.push(source.offset_ms);
      const c = spawnSync(
        '/usr/sbin/chronyd',
        [
          '-Q',
          '-f',
          '/dev/null',
          '-u',
          'root',
          '-t',
          '10',
          `server ${server.host} port ${server.port} iburst minpoll -6 maxpoll -6 maxsamples 4`,
          `pidfile ${path.join(scratch, 'q.pid')}`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      const m = /System clock wrong by (-?[\d.]+) seconds/.exec(c.stdout + c.stderr);
      if (!m) throw new Error(`chronyd -Q printed no offset: ${c.stdout} ${c.stderr}`);
      chrony.push(Number(m[1]) * 1000);
    }
    const diff = Math.abs(median(ours) - median(chrony));
    const agree = diff <= 1;
    console.log(`agentctl time --nts offset ${median(ours).toFixed(3)} ms (median of ${runs})`);
    console.log(`chronyd -Q         offset ${median(chrony).toFixed(3)} ms (median of ${runs})`);
    console.log(`offset difference ${diff.toFixed(3)} ms (budget ≤ 1 ms): ${agree ? 'PASS' : 'OVER'}`);
    return agree;
  } finally {
    await server.stop();
    await pki.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exitCode = (await main()) ? 0 : 1;
