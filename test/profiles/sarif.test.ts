// `agentctl doctor profile --sarif` validates against the SARIF 2.1.0 JSON schema (Microsoft's
// SARIF SDK copy, checked with Ajv: test/helpers/sarif.ts), on profiles made here, so the check
// runs where the shared corpus is absent too (test/profiles/doctor-corpus.test.ts validates the
// corpus's SARIF, warnings included, the same way). Errors and notes; a finding with line and column, one
// with no line; a file inside the working directory (relative URI, a space in its name) and one
// outside it (file:// URI).
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { agentctlPath, runProgram } from '../helpers/agent.js';
import { payload, writeProfile } from '../helpers/profiles.js';
import { sarifErrors, sarifSchema } from '../helpers/sarif.js';

interface SarifLog {
  version: string;
  runs: Array<{
    results: Array<{
      ruleId: string;
      level: string;
      locations: Array<{
        physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number; startColumn?: number } };
      }>;
    }>;
  }>;
}

test('--sarif validates against the SARIF 2.1.0 JSON schema: errors and notes, lines and columns, relative and file:// URIs', async (t) => {
  t.regex(sarifSchema.title, /SARIF\) Version 2\.1\.0/);
  const inside = mkdtempSync(path.join(tmpdir(), 'tg-sarif-in-'));
  const outside = mkdtempSync(path.join(tmpdir(), 'tg-sarif-out-'));
  t.teardown(() => {
    rmSync(inside, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  // A duplicate PayloadUUID across two files (error), a payload with no schema (note: no
  // --schemas), an SSO payload over http (error), a malformed plist (error with line and column).
  const shared = payload('com.example.settings', { Mode: 'enforce' });
  writeProfile(inside, 'with space.mobileconfig', [shared]);
  const other = writeProfile(outside, 'other.mobileconfig', [
    shared,
    payload('com.apple.extensiblesso', {
      Type: 'Redirect',
      ExtensionIdentifier: 'com.example.sso.ext',
      TeamIdentifier: 'ABCDE12345',
      URLs: ['http://idp.example.com/sso'],
    }),
  ]);
  writeFileSync(
    path.join(inside, 'broken.mobileconfig'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n  <key>PayloadType</key>\n  <string>Configuration</dict>\n</plist>\n',
  );
  const result = await runProgram(
    process.execPath,
    [
      agentctlPath,
      'doctor',
      'profile',
      '--sarif',
      '--revocation',
      'off',
      'with space.mobileconfig',
      'broken.mobileconfig',
      other,
    ],
    { cwd: inside },
  );
  t.is(result.code, 2, result.stderr);
  const log = JSON.parse(result.stdout) as SarifLog;
  t.deepEqual(sarifErrors(log), []);
  const results = log.runs[0]!.results;
  t.true(results.some((r) => r.level === 'error'));
  t.true(results.some((r) => r.level === 'note'));
  const uris = new Set(results.map((r) => r.locations[0]!.physicalLocation.artifactLocation.uri));
  t.true(uris.has('with%20space.mobileconfig'));
  t.true(uris.has('broken.mobileconfig'));
  t.true([...uris].some((u) => u.startsWith('file:///') && u.endsWith('/other.mobileconfig')));
  const broken = results.find((r) => r.locations[0]!.physicalLocation.artifactLocation.uri === 'broken.mobileconfig');
  t.is(broken?.ruleId, 'plist_malformed');
  t.deepEqual(broken?.locations[0]!.physicalLocation.region, { startLine: 5, startColumn: 24 });
  t.true(
    results.some((r) => r.locations[0]!.physicalLocation.region === undefined),
    'a finding with no line',
  );
});

test('the SARIF schema check is not a formality: it rejects a log with a bad level, a line 0 and no version', (t) => {
  const good = {
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'x', rules: [{ id: 'a' }] } },
        results: [
          {
            ruleId: 'a',
            level: 'error',
            message: { text: 'm' },
            locations: [
              { physicalLocation: { artifactLocation: { uri: 'a%20b.mobileconfig' }, region: { startLine: 1 } } },
            ],
          },
        ],
      },
    ],
  };
  t.deepEqual(sarifErrors(good), []);
  const bad = structuredClone(good) as Record<string, unknown> & typeof good;
  bad.runs[0]!.results[0]!.level = 'fatal';
  t.true(sarifErrors(bad).some((e) => e.includes('/level')));
  const zero = structuredClone(good);
  zero.runs[0]!.results[0]!.locations[0]!.physicalLocation.region.startLine = 0;
  t.true(sarifErrors(zero).some((e) => e.includes('/startLine')));
  const { version: _version, ...noVersion } = good;
  t.not(sarifErrors(noVersion).length, 0);
});
