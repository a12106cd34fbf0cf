// Issue 18: the x509-limbo suite (208 cases, test/fixtures/x509-limbo) through the evaluator
// `agentctl trust` uses (agent/trust/evaluate.ts). Every runnable case agrees with the suite's
// expected result, except those in the documented exceptions table (test/helpers/limbo.ts), each
// with its reason; a case that is not runnable (a suite feature the product does not claim) runs
// too, and each of its disagreements is listed with its reason apart. Any other disagreement, a
// stale entry, or a change of either table's size fails.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import {
  isRunnable,
  limboExceptionCount,
  limboExceptions,
  limboOutOfScope,
  limboOutOfScopeCount,
  loadLimbo,
  runLimboCase,
  unsupportedFeatures,
  type LimboOutcome,
} from '../helpers/limbo.js';

const cases = loadLimbo();
// The table is the Linux evaluator's; on macOS the limbo-sectrust job of .github/workflows/macos.yml
// prints SecTrust's agreement with the suite instead, until a table for it exists.
const linux = process.platform !== 'darwin';
const strict = linux ? test : test.skip;
const outcomes: LimboOutcome[] = [];

test.before(async () => {
  // Sequentially: the figures must not depend on the machine's load.
  for (const c of cases) outcomes.push(await runLimboCase(c));
});

test('the suite is the one documented: 208 cases, ids unique', (t) => {
  t.is(cases.length, 208);
  t.is(new Set(cases.map((c) => c.id)).size, cases.length);
});

strict('every runnable case agrees with the suite, except the documented exceptions', (t) => {
  const listed = (o: LimboOutcome) => o.case.id in (isRunnable(o.case) ? limboExceptions : limboOutOfScope);
  const unexpected = outcomes
    .filter((o) => !o.agrees && !listed(o))
    .map(
      (o) =>
        `${o.case.id}${isRunnable(o.case) ? '' : ' (not runnable)'}: expected ${o.case.expected_result}, got ${o.trusted ? 'trusted' : 'not trusted'} (${o.error ?? o.result?.diagnosis}: ${o.result?.faults.map((f) => f.message).join('; ') ?? ''})`,
    );
  t.deepEqual(unexpected, [], 'disagreements not in the exceptions table (or, not runnable, in limboOutOfScope)');
  const stale = outcomes.filter((o) => o.agrees && listed(o)).map((o) => o.case.id);
  t.deepEqual(stale, [], 'entries that now agree: remove them (and update the count and docs/trust.md)');
  const byId = new Map(cases.map((c) => [c.id, c]));
  t.deepEqual(
    Object.keys(limboExceptions).filter((id) => !byId.has(id) || !isRunnable(byId.get(id)!)),
    [],
    'exceptions naming no runnable case',
  );
  t.deepEqual(
    Object.keys(limboOutOfScope).filter((id) => !byId.has(id) || isRunnable(byId.get(id)!)),
    [],
    'out-of-scope entries naming no case that is not runnable',
  );
});

test('the exceptions table keeps its documented size: at most 10 % of the runnable cases', (t) => {
  t.is(Object.keys(limboExceptions).length, limboExceptionCount);
  t.is(Object.keys(limboOutOfScope).length, limboOutOfScopeCount);
  for (const [id, e] of Object.entries({ ...limboExceptions, ...limboOutOfScope }))
    t.true(e.reason.length > 20, `${id} needs a reason`);
  for (const [feature, why] of Object.entries(unsupportedFeatures)) t.true(why.length > 20, feature);
  const runnable = cases.filter(isRunnable).length;
  const share = (100 * limboExceptionCount) / runnable;
  t.log(`runnable: ${runnable} of ${cases.length} (not claimed: ${Object.keys(unsupportedFeatures).join(', ')})`);
  t.log(`exceptions: ${limboExceptionCount} of ${runnable} runnable cases (${share.toFixed(1)} %)`);
  t.log(
    `not runnable and disagreeing: ${limboOutOfScopeCount}; all cases: ${limboExceptionCount + limboOutOfScopeCount} of ${cases.length} (${((100 * (limboExceptionCount + limboOutOfScopeCount)) / cases.length).toFixed(1)} %)`,
  );
  t.true(share <= 10, `${share.toFixed(1)} % of the runnable cases are exceptions`);
});

strict(
  'no exception is security-relevant: none trusts a weak key or hash, a constrained name, or a CN-only name',
  (t) => {
    for (const o of outcomes.filter(
      (x) => (x.case.id in limboExceptions || x.case.id in limboOutOfScope) && x.trusted,
    )) {
      const id = o.case.id;
      t.false(
        /::nc::|cve::|forbidden|weak|sha1|md5|wildcard/.test(id) && limboExceptions[id]?.kind !== 'suite_conflict',
        id,
      );
      // The expected name is matched by a subjectAltName entry, never by the CN alone.
      const leaf = new X509Certificate(o.case.peer_certificate);
      const name = o.case.expected_peer_name?.value;
      if (o.case.validation_kind === 'SERVER' && name)
        t.truthy(leaf.checkHost(name, { subject: 'never' }) ?? leaf.checkIP(name), id);
      // Faults that would be security findings never appear in a trusted exception.
      t.deepEqual(o.result?.faults ?? [], [], id);
    }
  },
);

test('diagnosis: every refused case has a headline from the closed list and a fault for it', (t) => {
  for (const o of outcomes.filter((x) => x.result && !x.result.trusted)) {
    t.not(o.result!.diagnosis, 'ok', o.case.id);
    t.true(
      o.result!.faults.some((f) => f.code === o.result!.diagnosis),
      o.case.id,
    );
  }
});

strict('figures per part of the suite', (t) => {
  const parts = new Map<string, { total: number; agree: number; excepted: number; outOfScope: number }>();
  for (const o of outcomes) {
    const part = o.case.id.split('::')[0]!;
    const p = parts.get(part) ?? { total: 0, agree: 0, excepted: 0, outOfScope: 0 };
    p.total++;
    if (o.agrees) p.agree++;
    else if (o.case.id in limboExceptions) p.excepted++;
    else if (o.case.id in limboOutOfScope) p.outOfScope++;
    parts.set(part, p);
  }
  for (const [part, p] of parts)
    t.log(`${part.padEnd(14)} ${p.agree}/${p.total} agree, ${p.excepted} excepted, ${p.outOfScope} not runnable`);
  const agree = outcomes.filter((o) => o.agrees).length;
  t.log(`total          ${agree}/${outcomes.length} agree (${((100 * agree) / outcomes.length).toFixed(1)} %)`);
  t.is(agree + limboExceptionCount + limboOutOfScopeCount, outcomes.length);
});
