// Benchmark for issue 19 (item 7): `agentctl doctor profile --schemas <apple/device-management>
// <the 35 profiles of shared/corpora/profiles>` in one run, wall time of the whole command
// (node's start, schema loading, every check), total and per file, beside plutil-equivalent
// parsing alone (a node process that `plist.parse`s the same files) and node's bare start, in
// the same run; then in process: schema loading, and the doctor on each file alone (the
// slowest named), with the load average beside. Budget: the whole corpus ≤ 3 s on this machine, schema loading included
// (the acceptance item 7). Network is off (`--revocation off`): the budget is the
// machine's, not the responders'. Median of BENCH_RUNS (default 5) runs each. Without the
// corpus (shared/ is not beside the checkout) it says SKIPPED, loudly, and passes.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDoctor, type DoctorOptions } from '../agent/profiles/doctor.js';
import { loadSchemas, type SchemaSet } from '../agent/profiles/schema.js';
import { agentctlPath } from '../test/helpers/agent.js';
import { corpus } from '../test/helpers/corpora.js';

const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const budgetSeconds = 3;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'OVER');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time (s) of `runs` runs of node with `args`; throws when a run ends otherwise than `expect`. */
function wall(args: string[], cwd: string, expect: number[]): { seconds: number; stdout: string } {
  const times: number[] = [];
  let stdout = '';
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    stdout = run.stdout;
    if (run.status === null || !expect.includes(run.status))
      throw new Error(
        `${args.slice(0, 3).join(' ')} ended with ${run.status ?? run.signal}: ${run.stderr.slice(0, 500)}`,
      );
  }
  return { seconds: median(times), stdout };
}

// plutil-equivalent: parse each file as a plist and nothing else (the signed ones cannot be:
// plist.parse sees DER; they count as failures, as `plutil -lint` would report them).
const plistOnly = `
import { readFileSync } from 'node:fs';
const plist = await import(${JSON.stringify(import.meta.resolve('plist'))});
let ok = 0;
const quiet = console.error; console.error = console.warn = console.log = () => {};
for (const f of process.argv.slice(1)) { try { plist.parse(readFileSync(f, 'utf8')); ok++; } catch {} }
console.error = quiet;
process.stdout.write(String(ok));
`;

async function main(): Promise<boolean> {
  console.log('== profiles: agentctl doctor profile --schemas over the 35-profile corpus ==');
  const profiles = corpus('profiles');
  const schemas = corpus('apple-device-management');
  if (!profiles || !schemas) {
    const message = `SKIPPED (NOT MEASURED): no ${!profiles ? 'shared/corpora/profiles' : 'shared/corpora/apple-device-management'} here; set TRUSTGUARD_CORPORA or lay shared/ beside the checkout`;
    console.log(message);
    console.error(message);
    return true;
  }
  const files = readdirSync(profiles)
    .filter((f) => f.endsWith('.mobileconfig'))
    .sort();
  console.log(`${files.length} profiles in ${profiles}; schemas ${schemas}; median of ${runs} runs`);

  const bare = wall(['-e', ''], profiles, [0]).seconds;
  const parsing = wall(['--input-type=module', '-e', plistOnly, ...files], profiles, [0]);
  const parseOnly = parsing.seconds;
  const doctorRun = wall(
    [agentctlPath, 'doctor', 'profile', '--schemas', schemas, '--revocation', 'off', '--json', ...files],
    profiles,
    [0, 2],
  );
  const doctor = doctorRun.seconds;
  const report = JSON.parse(doctorRun.stdout) as {
    summary: { files: number; errors: number; warnings: number; notes: number };
  };
  const perFile = (s: number) => `${((s * 1000) / files.length).toFixed(1)} ms/file`;
  console.log(`node start alone                     ${bare.toFixed(3)} s`);
  console.log(
    `plist.parse of the files (process)   ${parseOnly.toFixed(3)} s  ${perFile(parseOnly)} (${parsing.stdout} of ${files.length} parse)`,
  );
  const { summary } = report;
  console.log(
    `doctor profile --schemas (process)   ${doctor.toFixed(3)} s  ${perFile(doctor)} (${summary.files} files: ${summary.errors} errors, ${summary.warnings} warnings, ${summary.notes} notes)`,
  );
  console.log(
    `ratio doctor/plist-parse            ${(doctor / parseOnly).toFixed(2)}; above node's start ${((doctor - bare) / Math.max(parseOnly - bare, 1e-3)).toFixed(1)} (reported, no budget)`,
  );

  // In process: where the time goes. Cold: schemas loaded anew, so the YAML of each payload
  // type in use is parsed (schema.ts parses a type's files when first asked); warm: the same set again.
  const paths = files.map((f) => path.join(profiles, f));
  const options = (set: SchemaSet): DoctorOptions => ({
    schemas: set,
    targetMacos: null,
    atMs: Date.now(),
    minDays: 30,
    revocation: 'off',
    anchors: [],
    timeoutMs: 5000,
  });
  const ms = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;
  const load: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  let set = await loadSchemas(schemas);
  for (let i = 0; i < runs; i++) {
    let start = process.hrtime.bigint();
    set = await loadSchemas(schemas);
    load.push(ms(start));
    start = process.hrtime.bigint();
    await runDoctor(paths, options(set));
    cold.push(ms(start));
    start = process.hrtime.bigint();
    await runDoctor(paths, options(set));
    warm.push(ms(start));
  }
  const each: Array<[string, number]> = [];
  for (const f of paths) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = process.hrtime.bigint();
      await runDoctor([f], options(set));
      times.push(ms(start));
    }
    each.push([path.basename(f), median(times)]);
  }
  each.sort((a, b) => b[1] - a[1]);
  const sum = each.reduce((s, [, ms]) => s + ms, 0);
  console.log(
    `in process: loading the schemas      ${median(load).toFixed(1)} ms (TopLevel, CommonPayloadKeys, an index)`,
  );
  console.log(
    `in process: the corpus, cold / warm  ${median(cold).toFixed(1)} / ${median(warm).toFixed(1)} ms (cold parses the YAML of the types used)`,
  );
  console.log(
    `in process: each file alone          ${sum.toFixed(1)} ms in all, ${(sum / files.length).toFixed(2)} ms/file on average; slowest:`,
  );
  for (const [f, ms] of each.slice(0, 3)) console.log(`  ${ms.toFixed(2).padStart(7)} ms  ${f.slice(0, 66)}`);

  const ok = doctor <= budgetSeconds;
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${os.cpus().length} CPUs`,
  );
  console.log(
    `budget ≤ ${budgetSeconds} s for the whole corpus, schemas included: ${doctor.toFixed(3)} s ${verdict(ok)}`,
  );
  return ok;
}

process.exitCode = (await main()) ? 0 : 1;
