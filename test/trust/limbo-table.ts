// The x509-limbo agreement table (docs/trust.md), printed by the macOS workflow (job
// limbo-sectrust) and runnable anywhere after `npm run build`:
//   node dist/test/trust/limbo-table.js
// For each part of the suite: how many cases the OS's verifier alone (SecTrust on macOS,
// OpenSSL on Linux) and the product (evaluateChain: the OS plus the TypeScript policy and path
// building) agree with, and the cases where the product disagrees outside the documented
// exceptions (test/helpers/limbo.ts: limboExceptions for runnable cases, limboOutOfScope for the
// cases carrying a suite feature the product does not claim). Exit 1 when there is such a case,
// so the table is a check.
import {
  isRunnable,
  limboExceptionCount,
  limboExceptions,
  limboOutOfScope,
  limboOutOfScopeCount,
  loadLimbo,
  runLimboCase,
  runLimboCaseOsOnly,
} from '../helpers/limbo.js';

const cases = loadLimbo();
const parts = new Map<string, { total: number; os: number; product: number }>();
const unexpected: string[] = [];
for (const c of cases) {
  const expected = c.expected_result === 'SUCCESS';
  const os = (await runLimboCaseOsOnly(c)) === expected;
  const outcome = await runLimboCase(c);
  const part = c.id.split('::')[0]!;
  const p = parts.get(part) ?? { total: 0, os: 0, product: 0 };
  p.total++;
  if (os) p.os++;
  if (outcome.agrees) p.product++;
  parts.set(part, p);
  if (!outcome.agrees && !(c.id in (isRunnable(c) ? limboExceptions : limboOutOfScope)))
    unexpected.push(`${c.id}: expected ${c.expected_result}, ${outcome.result?.diagnosis ?? outcome.error}`);
}
const os = process.platform === 'darwin' ? 'SecTrust alone' : 'OpenSSL alone';
console.log(`x509-limbo on ${process.platform}: ${cases.length} cases`);
console.log(`${'part'.padEnd(14)} ${'cases'.padStart(5)} ${os.padStart(16)} ${'product'.padStart(8)}`);
let totalOs = 0;
let totalProduct = 0;
for (const [part, p] of parts) {
  totalOs += p.os;
  totalProduct += p.product;
  console.log(
    `${part.padEnd(14)} ${String(p.total).padStart(5)} ${String(p.os).padStart(16)} ${String(p.product).padStart(8)}`,
  );
}
console.log(
  `${'total'.padEnd(14)} ${String(cases.length).padStart(5)} ${String(totalOs).padStart(16)} ${String(totalProduct).padStart(8)}`,
);
const runnable = cases.filter(isRunnable).length;
console.log(
  `runnable: ${runnable}; documented exceptions: ${limboExceptionCount} (${((100 * limboExceptionCount) / runnable).toFixed(1)} %); not runnable and disagreeing: ${limboOutOfScopeCount}; disagreements outside them: ${unexpected.length}`,
);
for (const line of unexpected) console.log(`  ${line}`);
process.exitCode = unexpected.length === 0 ? 0 : 1;
