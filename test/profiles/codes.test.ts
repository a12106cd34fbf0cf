// The findings of `agentctl doctor profile`: snake_case codes, each with a category, a severity
// and a fix, and the "Configuration profiles" part of docs/codes.md documents every one exactly
// once, and nothing else.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findingCodeList, findingCodes } from '../../agent/profiles/codes.js';

const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'codes.md');

test('codes are snake_case; every one that is not a note has a fix', (t) => {
  for (const code of findingCodeList) {
    t.regex(code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    const info = findingCodes[code];
    if (info.severity !== 'note') t.true(info.fix.length > 10, code);
  }
});

test('the Configuration profiles part of docs/codes.md documents every code once, and nothing else', async (t) => {
  const part = (await readFile(docsFile, 'utf8')).split(/^# Configuration profiles$/m)[1]?.split(/^# /m)[0];
  t.truthy(part, 'docs/codes.md has a "# Configuration profiles" part');
  const documented = new Set<string>();
  for (const line of part!.split('\n')) {
    const m = /^\| `([a-z0-9_]+)` \|(.*)\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    t.false(documented.has(m[1]!), `${m[1]} is documented twice`);
    documented.add(m[1]!);
    t.true(m[2]!.trim().length >= 10, `${m[1]} needs a meaning`);
  }
  t.deepEqual(
    findingCodeList.filter((c) => !documented.has(c)),
    [],
    'codes missing from docs/codes.md',
  );
  t.deepEqual(
    [...documented].filter((c) => !findingCodeList.includes(c as never)),
    [],
    'stale codes',
  );
});
