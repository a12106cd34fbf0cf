// The clock's reason codes: every code the agent can produce is one of the lists in
// agent/clock/codes.ts (checked by the compiler below: each field's type is exactly its list),
// and docs/codes.md documents every code of those lists exactly once, and nothing else.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  codeLists,
  httpsCodes,
  isCode,
  kissReplyCode,
  ntpDatagramCodes,
  ntpReplyCodes,
  ntpSampleCodes,
  ntpSourceCodes,
  sourceFailureCodes,
  type ClockEventReason,
  type ComplianceState,
  type GuardrailState,
  type NtpReplyCode,
  type NtpSampleCode,
  type RemediationCode,
  type SourceFailureCode,
  type SourceReportCode,
  type UncertainReason,
} from '../../agent/clock/codes.js';
import type { Combination, SourceReport } from '../../agent/clock/combine.js';
import type { ClockEventsOptions } from '../../agent/clock/clock-events.js';
import type { ComplianceStatus } from '../../agent/clock/compliance.js';
import type { GuardrailSnapshot } from '../../agent/clock/guardrail.js';
import type { TimeSourcesOptions } from '../../agent/clock/measure.js';
import type { NtpReplyRejection } from '../../agent/clock/ntp-packet.js';
import type { NtpSourceOptions } from '../../agent/clock/ntp-source.js';
import type { RemediationRecord } from '../../agent/clock/remediation.js';
import type { SourceFailure } from '../../agent/clock/types.js';

const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'codes.md');

// ---- Compile-time: every code-carrying field is exactly its list's type ----------------------

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** False when `T` would let any string through. */
type Closed<T> = string extends T ? false : true;

const exact: [
  Equal<NtpReplyRejection['code'], NtpReplyCode>,
  Equal<SourceFailure['code'], SourceFailureCode>,
  Equal<SourceReport['code'], SourceReportCode | null>,
  Equal<Parameters<NonNullable<NtpSourceOptions['onRejected']>>[1], NtpSampleCode>,
  Equal<Parameters<NonNullable<TimeSourcesOptions['onRejected']>>[2], NtpSampleCode>,
  Equal<Combination['uncertainReason'], UncertainReason | null>,
  Equal<GuardrailSnapshot['uncertain_reason'], UncertainReason | null>,
  Equal<GuardrailSnapshot['state'], GuardrailState>,
  Equal<ComplianceStatus['state'], ComplianceState>,
  Equal<Parameters<ClockEventsOptions['onEvent']>[0], ClockEventReason>,
  Equal<RemediationRecord['code'], RemediationCode | null>,
  Equal<SourceFailureCode, (typeof sourceFailureCodes)[number]>,
  Closed<SourceReportCode>,
  Closed<UncertainReason>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true];

test('every code-carrying field is typed exactly by its list (checked by the compiler)', (t) => {
  t.true(exact.every(Boolean));
});

// ---- The lists ----------------------------------------------------------------------------

const allLists = Object.entries(codeLists) as Array<[string, readonly string[]]>;
const allCodes = new Set(allLists.flatMap(([, list]) => list));

test('codes are snake_case and unique within each list', (t) => {
  for (const [name, list] of allLists) {
    t.is(new Set(list).size, list.length, `${name} has a duplicate`);
    for (const code of list) t.regex(code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `${name}: ${code}`);
  }
});

test('sourceFailureCodes is the union of the source lists, once each', (t) => {
  const expected = new Set([
    ...ntpReplyCodes,
    ...ntpDatagramCodes,
    ...ntpSampleCodes,
    ...ntpSourceCodes,
    ...httpsCodes,
    ...codeLists.ntsKeCodes,
    ...codeLists.ntsReplyCodes,
    ...codeLists.sourceConfigCodes,
    ...codeLists.combineCodes,
  ]);
  t.deepEqual(new Set(sourceFailureCodes), expected);
  t.is(sourceFailureCodes.length, expected.size);
  t.false(isCode(sourceFailureCodes, 'falseticker'), 'falseticker is a verdict, not a failure');
});

test('isCode narrows only members; kissReplyCode maps every kiss', (t) => {
  t.true(isCode(ntpReplyCodes, 'origin_mismatch'));
  t.false(isCode(ntpReplyCodes, 'ORIGIN_MISMATCH'));
  t.false(isCode(ntpReplyCodes, 42));
  t.false(isCode(ntpReplyCodes, null));
  t.is(kissReplyCode('RATE'), 'kiss_rate');
  t.is(kissReplyCode('DENY'), 'kiss_deny');
  t.is(kissReplyCode('RSTR'), 'kiss_rstr');
  t.is(kissReplyCode('INIT'), 'kiss_other');
});

// ---- docs/codes.md ------------------------------------------------------------------------

/** The codes documented in table rows of docs/codes.md: "| `code` | meaning | what to do |". */
function documentedCodes(markdown: string): Array<{ code: string; meaning: string; hint: string; line: number }> {
  const rows: Array<{ code: string; meaning: string; hint: string; line: number }> = [];
  markdown.split('\n').forEach((text, index) => {
    const m = /^\| `([a-z0-9_]+)` \|(.*)\|(.*)\|\s*$/.exec(text);
    if (m) rows.push({ code: m[1]!, meaning: m[2]!.trim(), hint: m[3]!.trim(), line: index + 1 });
  });
  return rows;
}

test('docs/codes.md documents every code exactly once, with a meaning and a hint, and nothing else', async (t) => {
  // The clock's part of the file: trust reporting documents its own codes after it (test/trust/codes.test.ts).
  const rows = documentedCodes((await readFile(docsFile, 'utf8')).split(/^# Trust reporting$/m)[0]!);
  const seen = new Map<string, number>();
  for (const row of rows) {
    t.false(seen.has(row.code), `${row.code} is documented twice (lines ${seen.get(row.code)} and ${row.line})`);
    seen.set(row.code, row.line);
    t.true(row.meaning.length >= 10, `${row.code} (line ${row.line}) needs a meaning`);
    t.true(row.hint.length >= 4, `${row.code} (line ${row.line}) needs a hint`);
  }
  const undocumented = [...allCodes].filter((code) => !seen.has(code));
  const stale = [...seen.keys()].filter((code) => !allCodes.has(code));
  t.deepEqual(undocumented, [], 'codes missing from docs/codes.md');
  t.deepEqual(stale, [], 'docs/codes.md documents codes the agent does not have');
});
