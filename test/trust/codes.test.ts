// Trust reporting's reason codes: each code-carrying field is typed exactly by its list in
// agent/trust/codes.ts (checked by the compiler), and the "Trust reporting" part of
// docs/codes.md documents every code of those lists exactly once, and nothing else.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CertificateFileErrorCode } from '../../agent/trust/certificates.js';
import type { ErrorReport, EvaluationReport, TrustReport } from '../../agent/trust/check.js';
import {
  checkReasons,
  trustCodeLists,
  type CheckReason,
  type DiagnosisCode,
  type FailureCode,
  type RequestResult,
  type RevocationCode,
  type RevocationStatus,
} from '../../agent/trust/codes.js';
import type { ChainFetch } from '../../agent/trust/fetch-chain.js';
import type { OcspFailureCode } from '../../agent/trust/ocsp.js';

const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'codes.md');

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Extends<A, B> = A extends B ? true : false;

const exact: [
  Equal<TrustReport['diagnosis'], DiagnosisCode>,
  Equal<TrustReport['findings'][number], DiagnosisCode>,
  Equal<EvaluationReport['diagnosis'], DiagnosisCode>,
  Equal<ErrorReport['code'], number | FailureCode>,
  Equal<TrustReport['revocation']['status'], RevocationStatus>,
  Equal<TrustReport['revocation']['code'], RevocationCode | null>,
  Extends<CertificateFileErrorCode, FailureCode>,
  Extends<Exclude<ChainFetch, { ok: true }>['code'], FailureCode>,
  Extends<OcspFailureCode, RevocationCode>,
  Equal<TrustReport['revocation']['requests'][number]['result'], RequestResult>,
  Equal<RequestResult, 'answered' | OcspFailureCode>,
  Equal<CheckReason, (typeof checkReasons)[number]>,
] = [true, true, true, true, true, true, true, true, true, true, true, true];

test('every code-carrying field is typed by its list (checked by the compiler)', (t) => {
  t.true(exact.every(Boolean));
});

const lists = Object.entries(trustCodeLists) as Array<[string, readonly string[]]>;

test('codes are snake_case and unique within each list', (t) => {
  for (const [name, list] of lists) {
    t.is(new Set(list).size, list.length, `${name} has a duplicate`);
    for (const code of list) t.regex(code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `${name}: ${code}`);
  }
});

test('the Trust reporting part of docs/codes.md documents every code once, with a meaning and a hint, and nothing else', async (t) => {
  // From "# Trust reporting" to the next part of the same level (other capabilities' codes).
  const part = (await readFile(docsFile, 'utf8')).split(/^# Trust reporting$/m)[1]?.split(/^# /m)[0];
  t.truthy(part, 'docs/codes.md has a "# Trust reporting" part');
  const documented = new Map<string, number>();
  part!.split('\n').forEach((text, index) => {
    const m = /^\| `([a-z0-9_]+)` \|(.*)\|(.*)\|\s*$/.exec(text);
    if (!m) return;
    t.false(documented.has(m[1]!), `${m[1]} is documented twice`);
    documented.set(m[1]!, index);
    t.true(m[2]!.trim().length >= 10 && m[3]!.trim().length >= 4, `${m[1]} needs a meaning and a hint`);
  });
  // A code may appear in several lists (start is a check reason only; unknown a status only).
  const all = new Set(lists.flatMap(([, list]) => list));
  t.deepEqual(
    [...all].filter((code) => !documented.has(code)),
    [],
    'codes missing from docs/codes.md',
  );
  t.deepEqual(
    [...documented.keys()].filter((code) => !all.has(code)),
    [],
    'documented codes the agent does not have',
  );
});
