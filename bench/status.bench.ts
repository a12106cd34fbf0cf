// agentctl status end to end against a running agentd, beside `node -e 0` on the same
// machine (budget: median ratio ≤ 1.3), what `agentctl --help` and `status` load, and the
// daemon's RSS after 60 s idle, configured with an XML plist as on a managed Mac (budget 55 MB).
// BENCH_IDLE_SECONDS shortens the idle wait for a quick look (the budget is for 60).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { median } from '../agent/stats.js';
import { build } from 'plist';
import { createAgentFixture, agentctlPath } from '../test/helpers/agent.js';
import { agentctlImports } from '../test/helpers/imports.js';

const runs = 25;
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const ratioBudget = 1.3;
const rssBudgetMB = 55;

function timeOnce(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // status exits 2 when it finds a problem (here: no time source, so the clock is uncertain).
  if (r.status !== 0 && r.status !== 2) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function rssMB(pid: number): number {
  if (process.platform === 'linux') {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  }
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(r.stdout.trim()) / 1024;
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'OVER');

const fx = createAgentFixture('tg-bench-');
let failed = false;
try {
  // As on a managed Mac: an XML property list (the profile's payload) with the fixture's paths.
  fx.writeConfig({});
  fx.writeConfig({}, { raw: build({ ...JSON.parse(readFileSync(fx.configFile, 'utf8')), Mode: 'enforce' }) });
  const agent = await fx.start();
  for (const args of [['--help'], ['status', '--socket', fx.socketPath]]) {
    const loaded = agentctlImports(args);
    console.log(
      `agentctl ${args[0]!.padEnd(8)} loads ${loaded.modules.length} project modules, ${loaded.packages.length} npm packages${loaded.packages.length ? ` (${loaded.packages.join(', ')})` : ''}`,
    );
  }
  const statusArgs = [agentctlPath, 'status', '--socket', fx.socketPath];
  // Warm the file cache for both, then interleave so both see the same machine load.
  timeOnce(['-e', '0']);
  timeOnce(statusArgs);
  const node: number[] = [];
  const status: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(timeOnce(['-e', '0']));
    status.push(timeOnce(statusArgs));
  }
  const ratio = median(status) / median(node);
  console.log(`node -e 0              median ${median(node).toFixed(1)} ms over ${runs} runs`);
  console.log(`agentctl status        median ${median(status).toFixed(1)} ms over ${runs} runs`);
  console.log(`ratio                  ${ratio.toFixed(2)} (budget ≤ ${ratioBudget})  ${verdict(ratio <= ratioBudget)}`);
  failed ||= ratio > ratioBudget;

  // Daemon down: the answer must come at once (budget < 1 s, acceptance 4).
  const down: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [agentctlPath, 'status', '--socket', `${fx.dir}/absent.sock`], {
      stdio: 'ignore',
    });
    down.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (r.status !== 1) throw new Error(`agentctl status with no daemon exited ${r.status}, expected 1`);
  }
  console.log(
    `status, daemon down    median ${median(down).toFixed(1)} ms (budget < 1000 ms)  ${verdict(median(down) < 1000)}`,
  );
  failed ||= median(down) >= 1000;

  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const rss = rssMB(agent.pid);
  console.log(
    `agentd RSS after ${idleSeconds} s idle  ${rss.toFixed(1)} MB (budget ≤ ${rssBudgetMB} MB)  ${verdict(rss <= rssBudgetMB)}${idleSeconds < 60 ? ' (shortened idle: not the budgeted figure)' : ''}`,
  );
  failed ||= rss > rssBudgetMB;
} finally {
  await fx.cleanup();
}
process.exit(failed ? 1 : 0);
