// docs/codes.md lists every code the agent emits (issue 21): the status problems of every
// section, every doctor check's codes and the keychain scrub's, each part both ways (every code
// documented once with a meaning and a fix, nothing documented that the agent does not have).
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allCheckCodes } from '../../agent/cli/doctor.js';
import { statusSections } from '../../agent/cli/status.js';
import type { RefusalCode } from '../../agent/keychain/desk.js';
import { errorHints, reasonWords, skipHints } from '../../agent/keychain/hints.js';

const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'codes.md');

async function part(title: string): Promise<Map<string, { meaning: string; fix: string }>> {
  const text = (await readFile(docsFile, 'utf8')).split(new RegExp(`^# ${title}$`, 'm'))[1]?.split(/^# /m)[0];
  if (text === undefined) throw new Error(`docs/codes.md has no "# ${title}" part`);
  const rows = new Map<string, { meaning: string; fix: string }>();
  for (const line of text.split('\n')) {
    const m = /^\| `([a-z0-9_]+)` \|(.*)\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    if (rows.has(m[1]!)) throw new Error(`${m[1]} is documented twice in "${title}"`);
    rows.set(m[1]!, { meaning: m[2]!.trim(), fix: m[3]!.trim() });
  }
  return rows;
}

function bothWays(
  t: import('ava').ExecutionContext,
  documented: Map<string, { meaning: string; fix: string }>,
  codes: Iterable<string>,
) {
  const all = new Set(codes);
  t.deepEqual(
    [...all].filter((c) => !documented.has(c)),
    [],
    'codes missing from docs/codes.md',
  );
  t.deepEqual(
    [...documented.keys()].filter((c) => !all.has(c)),
    [],
    'docs/codes.md documents codes the agent does not have',
  );
  for (const [code, row] of documented) {
    t.true(row.meaning.length >= 10, `${code} needs a meaning`);
    t.true(row.fix.length >= 4, `${code} needs a fix`);
  }
}

test('"Status problems" documents every problem code of every status section, and nothing else', async (t) => {
  const codes = statusSections().flatMap((s) => [...(s.problemCodes ?? [])]);
  for (const section of statusSections())
    if (section.problems) t.true((section.problemCodes?.length ?? 0) > 0, `${section.key} lists its codes`);
  bothWays(t, await part('Status problems'), [...codes, 'section_failed']);
});

test('"Doctor checks" documents every code of every check, and nothing else', async (t) => {
  bothWays(t, await part('Doctor checks'), [...(await allCheckCodes()), 'ok', 'check_timeout', 'check_failed']);
});

// RefusalCode is a type: this object must name each member (the compiler checks it).
const refusals: Record<RefusalCode, true> = {
  too_large: true,
  invalid_report: true,
  rate_limited: true,
  no_peer_uid: true,
};

test('"Keychain scrub" documents every code of the scrub, and nothing else', async (t) => {
  bothWays(t, await part('Keychain scrub'), [
    ...Object.keys(errorHints),
    ...Object.keys(skipHints),
    ...Object.keys(reasonWords),
    ...Object.keys(refusals),
  ]);
});
