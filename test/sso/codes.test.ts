// The codes of `agentctl doctor sso`: snake_case, every failure code has a fix, and the "SSO
// doctor" part of docs/codes.md documents every one exactly once, and nothing else.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ssoCodeList, ssoCodes } from '../../agent/sso/codes.js';

const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'codes.md');

test('codes are snake_case; every one that is not a note has a fix', (t) => {
  for (const code of ssoCodeList) {
    t.regex(code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    const info = ssoCodes[code];
    if (info.severity !== 'note') t.true(info.fix.length > 10, code);
  }
});

test('the SSO doctor part of docs/codes.md documents every code once, with its severity, and nothing else', async (t) => {
  const part = (await readFile(docsFile, 'utf8')).split(/^# SSO doctor$/m)[1]?.split(/^# /m)[0];
  t.truthy(part, 'docs/codes.md has a "# SSO doctor" part');
  const documented = new Map<string, string>();
  for (const line of part!.split('\n')) {
    const m = /^\| `([a-z0-9_]+)` \| (error|warning|note) \|(.*)\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    t.false(documented.has(m[1]!), `${m[1]} is documented twice`);
    documented.set(m[1]!, m[2]!);
    t.true(m[3]!.trim().length >= 10, `${m[1]} needs a meaning`);
  }
  t.deepEqual(
    ssoCodeList.filter((c) => !documented.has(c)),
    [],
    'codes missing from docs/codes.md',
  );
  t.deepEqual(
    [...documented.keys()].filter((c) => !ssoCodeList.includes(c as never)),
    [],
    'stale codes',
  );
  for (const [code, severity] of documented) t.is(severity, ssoCodes[code as keyof typeof ssoCodes].severity, code);
});
