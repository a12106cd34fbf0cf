// The headline of a trust report is chosen by one documented priority (agent/trust/evaluate.ts,
// docs/trust.md "The headline"): every fault code has a place in it, and the document lists it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { diagnosisCodes } from '../../agent/trust/codes.js';
import { headline, headlinePriority, type Fault } from '../../agent/trust/evaluate.js';

const fault = (code: Fault['code'], certificate: number | null = 0): Fault => ({ code, certificate, message: code });

test('every diagnosis code but ok, clock_skew and unreachable has one place in the priority', (t) => {
  const notFaults = new Set(['ok', 'clock_skew', 'unreachable']);
  t.deepEqual([...headlinePriority].sort(), diagnosisCodes.filter((c) => !notFaults.has(c)).sort());
});

test('the headline is the fault that comes first in the priority, whatever the order of the faults', (t) => {
  t.is(headline([]), 'ok');
  t.is(headline([fault('expired'), fault('incomplete_chain')]), 'incomplete_chain');
  t.is(headline([fault('hostname_mismatch'), fault('expired')]), 'expired');
  t.is(headline([fault('revocation_unknown'), fault('weak_key', 1), fault('bad_signature')]), 'bad_signature');
  for (const [i, code] of headlinePriority.entries())
    for (const later of headlinePriority.slice(i + 1)) t.is(headline([fault(later), fault(code)]), code);
});

test('docs/trust.md lists the same priority', (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/trust.md', import.meta.url)), 'utf8');
  const section = doc.slice(doc.indexOf('### The headline'), doc.indexOf('### Where a path stops'));
  const listed = [...section.matchAll(/`([a-z_]+)`(?= ›|\.)/g)].map((m) => m[1]);
  t.deepEqual(listed.slice(0, headlinePriority.length), [...headlinePriority]);
});
