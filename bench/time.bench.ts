// Benchmark for issue 4: `agentctl time` against one loopback chronyd (skewed +92 s by
// libfaketime) beside chrony's own one-shot client, `chronyd -Q`, on the same server in the
// same run. Both offsets must agree within 1 ms; whole-process times are printed with the ratio.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChrony } from '../test/helpers/chrony.js';
import { missing } from '../test/helpers/system.js';
import { median } from '../agent/stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const agentctl = path.join(root, 'dist', 'agent', 'cli', 'agentctl.cjs');
const runs = 7;

function timed(cmd: string, args: string[]): { ms: number; stdout: string; stderr: string; status: number | null } {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

async function main(): Promise<boolean> {
  console.log('== agentctl time vs chronyd -Q (one loopback chronyd at +92 s) ==');
  const absent = missing('root', 'chronyd', 'libfaketime');
  if (absent) {
    console.log(`SKIPPED: needs ${absent}`);
    return true;
  }
  const server = await startChrony({ skewSeconds: 92 });
  const scratch = mkdtempSync(path.join(tmpdir(), 'trustguard-bench-time-'));
  try {
    const ours: Array<{ ms: number; offsetMs: number }> = [];
    const chrony: Array<{ ms: number; offsetMs: number }> = [];
    for (let i = 0; i < runs; i++) {
      // Interleaved so that both see the same machine load.
      const a = timed(process.execPath, [
        agentctl,
        'time',
        '--json',
        '--spacing',
        '0',
        '--ntp',
        `${server.host}:${server.port}`,
      ]);
      const parsed = JSON.parse(a.stdout) as { offset_ms: number | null; sources: Array<{ offset_ms: number | null }> };
      const offset = parsed.sources[0]?.offset_ms;
      if (typeof offset !== 'number') throw new Error(`agentctl time gave no offset: ${a.stdout} ${a.stderr}`);
      ours.push({ ms: a.ms, offsetMs: offset });

      // chronyd -Q: measure once and print the offset, never touching the clock. Same sample
      // count as agentctl (4), fastest polling chrony allows so that its time is its own work.
      const c = timed('/usr/sbin/chronyd', [
        '-Q',
        '-f',
        '/dev/null',
        '-u',
        'root',
        '-t',
        '10',
        `server ${server.host} port ${server.port} iburst minpoll -6 maxpoll -6 maxsamples 4`,
        `pidfile ${path.join(scratch, 'q.pid')}`,
      ]);
      const m = /System clock wrong by (-?[\d.]+) seconds/.exec(c.stdout + c.stderr);
      if (!m) throw new Error(`chronyd -Q printed no offset: ${c.stdout} ${c.stderr}`);
      chrony.push({ ms: c.ms, offsetMs: Number(m[1]) * 1000 });
    }
    const oursOffset = median(ours.map((r) => r.offsetMs));
    const chronyOffset = median(chrony.map((r) => r.offsetMs));
    const oursMs = median(ours.map((r) => r.ms));
    const chronyMs = median(chrony.map((r) => r.ms));
    const diff = Math.abs(oursOffset - chronyOffset);
    const agree = diff <= 1;
    console.log(
      `agentctl time   offset ${oursOffset.toFixed(3)} ms   process ${oursMs.toFixed(1)} ms (median of ${runs})`,
    );
    console.log(
      `chronyd -Q      offset ${chronyOffset.toFixed(3)} ms   process ${chronyMs.toFixed(1)} ms (median of ${runs})`,
    );
    console.log(`offset difference ${diff.toFixed(3)} ms (budget ≤ 1 ms): ${agree ? 'PASS' : 'OVER'}`);
    console.log(`time ratio agentctl/chronyd -Q = ${(oursMs / chronyMs).toFixed(2)} (reported, no budget)`);
    return agree;
  } finally {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exitCode = (await main()) ? 0 : 1;
