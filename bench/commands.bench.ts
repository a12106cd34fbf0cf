// Issue 21: every agentctl command that does no network I/O, beside `node -e 0` in one run
// (interleaved, so all see the same machine load): the median ratio of each to `node -e 0`.
// Budgets: status ≤ 1.15, every other local command ≤ 1.5. `BENCH_RUNS` changes the runs.
// Beside them, unbudgeted, the floor `status` stands on: a bare client (node:net, one
// `status.text` request to the same agentd, the answer to stdout), to read status's ratio against.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { median } from '../agent/stats.js';
import { createAgentFixture, agentctlPath } from '../test/helpers/agent.js';
import { TestPki } from '../test/helpers/tls.js';

const runs = Number(process.env.BENCH_RUNS ?? 50);

function timeOnce(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status === null || r.status === 1 || r.status === 64)
    throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const fx = createAgentFixture('tg-bench-commands-');
const pki = await TestPki.create();
let failed = false;
try {
  fx.writeConfig({ Mode: 'observe' });
  await fx.start();
  const leaf = await pki.issueLeaf();
  const plist = path.join(fx.dir, 'check.json');
  writeFileSync(plist, JSON.stringify({ Mode: 'enforce', WarnThresholdSeconds: 30 }));
  // The form an administrator validates most: an XML property list (what a profile's payload is).
  const xml = path.join(fx.dir, 'check.plist');
  writeFileSync(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
      '<plist version="1.0"><dict><key>Mode</key><string>enforce</string><key>WarnThresholdSeconds</key><integer>30</integer>' +
      '<key>NTPServers</key><array><string>ptbtime1.ptb.de</string><string>sth1.ntp.se</string><string>ntp1.npl.co.uk</string></array></dict></plist>\n',
  );
  const bare = path.join(fx.dir, 'bare-client.cjs');
  writeFileSync(
    bare,
    `const s = require('node:net').createConnection(process.argv[2]); const chunks = [];
s.on('connect', () => s.write('{"request":"status.text","args":{"columns":80}}\\n'));
s.on('data', (d) => { chunks.push(d); if (d.includes(10)) { s.destroy(); process.stdout.write(JSON.parse(Buffer.concat(chunks)).result.text); } });
`,
  );
  const socket = ['--socket', fx.socketPath];
  const commands: Array<[name: string, args: string[], budget: number]> = [
    ['status', ['status', ...socket], 1.15],
    ['--help', ['--help'], 1.5],
    ['status --json', ['status', '--json', ...socket], 1.5],
    ['version', ['version', ...socket], 1.5],
    ['config show', ['config', 'show', ...socket], 1.5],
    ['config validate FILE', ['config', 'validate', plist], 1.5],
    ['config validate XML', ['config', 'validate', xml], 1.5],
    ['compliance --format json', ['compliance', '--format', 'json', '--config', fx.configFile], 1.5],
    [
      'trust FILE',
      ['trust', leaf.chainFile, '--ca', pki.caFile, '--revocation', 'off', '--config', fx.configFile],
      1.5,
    ],
    // doctor's only network I/O is the telemetry probe, and this configuration names no
    // collector: here it is a local command like the others.
    ['doctor', ['doctor', '--config', fx.configFile], 1.5],
  ];
  // Warm the file cache, then interleave: node -e 0, the bare client, then each command, per round.
  timeOnce(['-e', '0']);
  timeOnce([bare, fx.socketPath]);
  for (const [, args] of commands) timeOnce([agentctlPath, ...args]);
  const node: number[] = [];
  const floor: number[] = [];
  const times = commands.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    node.push(timeOnce(['-e', '0']));
    floor.push(timeOnce([bare, fx.socketPath]));
    commands.forEach(([, args], j) => times[j]!.push(timeOnce([agentctlPath, ...args])));
  }
  const base = median(node);
  console.log(`${'node -e 0'.padEnd(26)} median ${base.toFixed(1).padStart(6)} ms over ${runs} runs`);
  console.log(
    `${'bare status.text client'.padEnd(26)} median ${median(floor).toFixed(1).padStart(6)} ms  ratio ${(median(floor) / base).toFixed(2)} (no budget: the floor under status)`,
  );
  commands.forEach(([name, , budget], j) => {
    const m = median(times[j]!);
    const ratio = m / base;
    const ok = ratio <= budget;
    failed ||= !ok;
    console.log(
      `agentctl ${name.padEnd(17)} median ${m.toFixed(1).padStart(6)} ms  ratio ${ratio.toFixed(2)} (budget ≤ ${budget})  ${ok ? 'PASS' : 'OVER'}`,
    );
  });
} finally {
  await fx.cleanup();
  await pki.cleanup();
}
process.exit(failed ? 1 : 0);
