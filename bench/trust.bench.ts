// Benchmark for issues 10 and 18: evaluations per second of a 3-certificate chain (leaf,
// intermediate, root anchor; made by openssl) through the product's evaluator (evaluateChain:
// the addon, the TypeScript policy, path building on), in process and concurrent, printed beside the
// bare cost of that chain's signature checks with node:crypto (X509Certificate.verify for each
// link) in the same run, and their ratio. Budget: ≥ 2,000 evaluations/s. Then agentd's RSS
// after idling with trust targets configured (the daemon's idle budget of bench/status.bench.ts, 55 MB).
// BENCH_SECONDS (default 3) sets each timed phase; BENCH_IDLE_SECONDS (default 60) the idle wait.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { evaluateChain } from '../agent/trust/evaluate.js';
import { evaluateTrust } from '../native/trust.js';
import { createAgentFixture } from '../test/helpers/agent.js';
import { missing } from '../test/helpers/system.js';
import { skewedDateHandler, startHttpsServer, TestPki } from '../test/helpers/tls.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const concurrency = 32;
const budgetPerSecond = 2000;
const rssBudgetMB = 55; // the idle daemon's budget (bench/status.bench.ts)
const verdict = (ok: boolean) => (ok ? 'PASS' : 'OVER');

function rssMB(pid: number): number {
  if (process.platform === 'linux') {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  }
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(r.stdout.trim()) / 1024;
}

async function main(): Promise<boolean> {
  console.log('== trust: native chain evaluation vs node:crypto signature checks (3-certificate chain) ==');
  const absent = missing('openssl');
  if (absent) {
    console.log(`SKIPPED: needs ${absent}`);
    return true;
  }
  const pki = await TestPki.create();
  try {
    const leafPem = (await pki.issueLeaf()).certPem;
    const [leaf, intermediate, root] = [leafPem, pki.intermediate.certPem, pki.root.certPem].map(
      (pem) => new X509Certificate(pem),
    );
    const options = {
      chain: [leaf!.raw, intermediate!.raw],
      policy: 'ssl' as const,
      hostname: 'localhost',
      anchors: [root!.raw],
      anchorsOnly: true,
    };
    const check = await evaluateTrust(options);
    if (!check.trusted || check.chain.length !== 3)
      throw new Error(`the benchmark chain does not evaluate as trusted: ${check.errorMessage}`);

    // `concurrency` evaluations in flight for `seconds`: the product's evaluator, then the bare addon.
    const timed = async (evaluate: () => Promise<boolean>, phaseSeconds: number) => {
      for (let i = 0; i < 200; i++) await evaluate(); // warm-up
      let count = 0;
      const deadline = process.hrtime.bigint() + BigInt(Math.round(phaseSeconds * 1e9));
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (process.hrtime.bigint() < deadline) {
            if (!(await evaluate())) throw new Error('an evaluation failed during the benchmark');
            count++;
          }
        }),
      );
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      return { count, elapsed, rate: count / elapsed };
    };
    // Interleaved slices, so that a change of the machine's load weighs on both alike.
    const slices = 4;
    const sum = (a: { count: number; elapsed: number }, b: { count: number; elapsed: number }) => {
      const count = a.count + b.count;
      const elapsed = a.elapsed + b.elapsed;
      return { count, elapsed, rate: count / elapsed };
    };
    let product = { count: 0, elapsed: 0, rate: 0 };
    let bare = { count: 0, elapsed: 0, rate: 0 };
    for (let i = 0; i < slices; i++) {
      product = sum(product, await timed(async () => (await evaluateChain(options)).trusted, seconds / slices));
      bare = sum(bare, await timed(async () => (await evaluateTrust(options)).trusted, seconds / slices));
    }
    const addonRate = product.rate;
    const evaluations = product.count;
    const addonSeconds = product.elapsed;

    // node:crypto: each link's signature (leaf by intermediate, intermediate by root), certificates
    // parsed once, on the main thread: the bare cryptographic cost of the chain.
    const links: Array<[X509Certificate, X509Certificate]> = [
      [leaf!, intermediate!],
      [intermediate!, root!],
    ];
    const keys = links.map(([, issuer]) => issuer.publicKey);
    for (let i = 0; i < 200; i++) links.forEach(([cert], j) => cert.verify(keys[j]!));
    let chains = 0;
    const nodeStart = process.hrtime.bigint();
    const nodeDeadline = nodeStart + BigInt(Math.round(seconds * 1e9));
    while (process.hrtime.bigint() < nodeDeadline) {
      for (let j = 0; j < links.length; j++)
        if (!links[j]![0].verify(keys[j]!)) throw new Error('a link does not verify');
      chains++;
    }
    const nodeRate = chains / (Number(process.hrtime.bigint() - nodeStart) / 1e9);

    console.log(
      `evaluateChain (product)    ${addonRate.toFixed(0).padStart(7)} evaluations/s (${concurrency} in flight, ${evaluations} in ${addonSeconds.toFixed(1)} s; policy and path building on)`,
    );
    console.log(
      `addon evaluateTrust alone  ${bare.rate.toFixed(0).padStart(7)} evaluations/s (the OS's verifier only, for comparison)`,
    );
    console.log(
      `node:crypto verify ×${links.length}      ${nodeRate.toFixed(0).padStart(7)} chains/s (signature checks only, one thread)`,
    );
    console.log(`ratio product/node:crypto  ${(addonRate / nodeRate).toFixed(2)} (reported, no budget)`);
    console.log(`budget ≥ ${budgetPerSecond} evaluations/s: ${verdict(addonRate >= budgetPerSecond)}`);
    let ok = addonRate >= budgetPerSecond;

    // The idle daemon with trust targets configured (a loopback server and a file), beside one
    // with none, idling side by side: what the trust checks add to the daemon's footprint.
    const server = await startHttpsServer({ certificate: await pki.issueLeaf(), handler: skewedDateHandler(0) });
    const withTargets = createAgentFixture('tg-bench-trust-');
    const without = createAgentFixture('tg-bench-trust-');
    try {
      withTargets.writeConfig({
        TrustTargets: [`https://localhost:${server.port}/`, (await pki.issueLeaf()).chainFile],
        TrustCAFiles: [pki.caFile],
        TrustRevocation: 'off',
      });
      without.writeConfig({});
      const [a, b] = [await withTargets.start(), await without.start()];
      await new Promise((r) => setTimeout(r, idleSeconds * 1000));
      const [rssWith, rssWithout] = [rssMB(a.pid), rssMB(b.pid)];
      const shortened = idleSeconds < 60 ? ' (shortened idle: not the budgeted figure)' : '';
      console.log(`agentd RSS after ${idleSeconds} s idle, no trust targets  ${rssWithout.toFixed(1)} MB`);
      console.log(
        `agentd RSS after ${idleSeconds} s idle, 2 trust targets   ${rssWith.toFixed(1)} MB (+${(rssWith - rssWithout).toFixed(1)} MB; budget ≤ ${rssBudgetMB} MB)  ${verdict(rssWith <= rssBudgetMB)}${shortened}`,
      );
      ok &&= rssWith <= rssBudgetMB;
    } finally {
      await withTargets.cleanup();
      await without.cleanup();
      await server.stop();
    }
    return ok;
  } finally {
    await pki.cleanup();
  }
}

process.exitCode = (await main()) ? 0 : 1;
