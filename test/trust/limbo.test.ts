// Issue 18: the x509-limbo suite (208 cases, test/fixtures/x509-limbo) through the evaluator
// `agentctl trust` uses (agent/trust/evaluate.ts). Every case agrees with the suite's expected
// result, except those in the documented exceptions table (test/helpers/limbo.ts), each with its
// reason; any other disagreement, a stale exception, or a change of the table's size fails.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { limboExceptionCount, limboExceptions, loadLimbo, runLimboCase, type LimboOutcome } from '../helpers/limbo.js';

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

strict('every case agrees with the suite, except the documented exceptions', (t) => {
  const unexpected = outcomes
    .filter((o) => !o.agrees && !(o.case.id in limboExceptions))
    .map(
      (o) =>
        `${o.case.id}: expected ${o.case.expected_result}, got ${o.trusted ? 'trusted' : 'not trusted'} (${o.error ?? o.result?.diagnosis}: ${o.result?.faults.map((f) => f.message).join('; ') ?? ''})`,
    );
  t.deepEqual(unexpected, [], 'disagreements not in the exceptions table');
  const stale = outcomes.filter((o) => o.agrees && o.case.id in limboExceptions).map((o) => o.case.id);
  t.deepEqual(stale, [], 'exceptions that now agree: remove them (and update the count and docs/trust.md)');
  const unknown = Object.keys(limboExceptions).filter((id) => !cases.some((c) => c.id === id));
  t.deepEqual(unknown, [], 'exceptions naming no case');
});

test('the exceptions table keeps its documented size', (t) => {
  t.is(Object.keys(limboExceptions).length, limboExceptionCount);
  for (const [id, e] of Object.entries(limboExceptions)) t.true(e.reason.length > 20, `${id} needs a reason`);
  const share = (100 * limboExceptionCount) / cases.length;
  t.log(`exceptions: ${limboExceptionCount} of ${cases.length} runnable cases (${share.toFixed(1)} %)`);
});

strict(
  'no exception is security-relevant: none trusts a weak key or hash, a constrained name, or a CN-only name',
  (t) => {
    for (const o of outcomes.filter((x) => x.case.id in limboExceptions && x.trusted)) {
      const id = o.case.id;
      t.false(
        /::nc::|cve::|forbidden|weak|sha1|md5|wildcard/.test(id) && limboExceptions[id]!.kind !== 'suite_conflict',
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
  const parts = new Map<string, { total: number; agree: number; excepted: number }>();
  for (const o of outcomes) {
    const part = o.case.id.split('::')[0]!;
    const p = parts.get(part) ?? { total: 0, agree: 0, excepted: 0 };
    p.total++;
    if (o.agrees) p.agree++;
    else if (o.case.id in limboExceptions) p.excepted++;
    parts.set(part, p);
  }
  for (const [part, p] of parts) t.log(`${part.padEnd(14)} ${p.agree}/${p.total} agree, ${p.excepted} excepted`);
  const agree = outcomes.filter((o) => o.agrees).length;
  t.log(`total          ${agree}/${outcomes.length} agree (${((100 * agree) / outcomes.length).toFixed(1)} %)`);
  t.is(agree + limboExceptionCount, outcomes.length);
});
