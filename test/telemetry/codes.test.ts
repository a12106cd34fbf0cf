// The telemetry reason codes: one closed list (agent/telemetry/codes.ts), each with a sentence
// for people (status-view.ts) and a row in docs/telemetry.md — both ways.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { telemetryCodes } from '../../agent/telemetry/codes.js';
import { describeTelemetryCode } from '../../agent/telemetry/status-view.js';

const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'telemetry.md');

test('every code has a sentence', (t) => {
  for (const code of telemetryCodes) {
    const sentence = describeTelemetryCode(code);
    t.not(sentence, code, code);
    t.regex(sentence, /^[A-Z].*\.$/, code);
  }
});

test('docs/telemetry.md documents every code exactly once, with a meaning and a hint, and nothing else', async (t) => {
  const markdown = await readFile(docsFile, 'utf8');
  const section = markdown.slice(markdown.indexOf('## Reason codes'), markdown.indexOf('## A collector'));
  const rows = [...section.matchAll(/^\| `([a-z0-9_]+)` \|(.*)\|(.*)\|\s*$/gm)].map((m) => ({
    code: m[1]!,
    meaning: m[2]!.trim(),
    hint: m[3]!.trim(),
  }));
  const seen = new Set<string>();
  for (const row of rows) {
    t.false(seen.has(row.code), `${row.code} twice`);
    seen.add(row.code);
    t.true(row.meaning.length >= 10 && row.hint.length >= 4, row.code);
  }
  t.deepEqual(
    telemetryCodes.filter((c) => !seen.has(c)),
    [],
    'undocumented',
  );
  t.deepEqual(
    [...seen].filter((c) => !(telemetryCodes as readonly string[]).includes(c)),
    [],
    'stale',
  );
});
