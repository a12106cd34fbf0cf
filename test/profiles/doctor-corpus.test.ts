// `agentctl doctor profile --schemas <apple/device-management> <35 real profiles>`: runs on
// every file, names the five that do not parse, reports schema findings with payload type, key
// path and line; the totals by category and each quirk note are pinned. SARIF output has the
// SARIF 2.1.0 shape with rule ids and lines, and validates against the SARIF 2.1.0 JSON schema.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { agentctlPath, runProgram } from '../helpers/agent.js';
import { corpus } from '../helpers/corpora.js';
import { sarifErrors } from '../helpers/sarif.js';

const profiles = corpus('profiles');
const schemas = corpus('apple-device-management');

interface Finding {
  code: string;
  category: string;
  severity: string;
  payload_type: string | null;
  key_path: string | null;
  line: number | null;
}
interface Report {
  files: Array<{ file: string; parsed: boolean; findings: Finding[] }>;
  summary: { files: number; errors: number; warnings: number; notes: number };
  exit_code: number;
}

async function doctor(extra: string[]) {
  const files = readdirSync(profiles!).filter((f) => f.endsWith('.mobileconfig'));
  return runProgram(
    process.execPath,
    [
      agentctlPath,
      'doctor',
      'profile',
      '--schemas',
      schemas!,
      '--revocation',
      'off',
      '--at',
      '2026-11-22',
      ...extra,
      ...files,
    ],
    { cwd: profiles! },
  );
}

test('the 35-profile corpus with Apple schemas: totals by category, the five that do not parse, each quirk note', async (t) => {
  if (!profiles || !schemas) return t.pass('no corpus here');
  const result = await doctor(['--json']);
  t.is(result.code, 2, result.stderr);
  t.is(result.stderr, '');
  const report = JSON.parse(result.stdout) as Report;
  t.is(report.files.length, 35);
  t.deepEqual(
    report.files.filter((f) => !f.parsed).map((f) => [f.file, f.findings[0]!.code, f.findings[0]!.line]),
    [
      ['PPPC-Utility__TestTCCProfileSigned-Broken.mobileconfig', 'plist_malformed', 1],
      ['PPPC-Utility__TestTCCProfileSigned@027eaea5.mobileconfig', 'cms_corrupt', null],
      ['jamfconnect__Jamf_Connect_Login_Hybrid_ID_ADFS.mobileconfig', 'plist_malformed', 18],
      [
        'shell-intune-samples__Google_Chrome_-_Prevent_proceeding_from_the_SSL_warning_page.mobileconfig',
        'plist_malformed',
        15,
      ],
      ['thoughtworks-configuration-profiles__SimpleMDM-passcode-attribute.mobileconfig', 'plist_malformed', 23],
    ],
  );
  const all = report.files.flatMap((f) => f.findings);
  const byCategory: Record<string, number> = {};
  for (const f of all) byCategory[f.category] = (byCategory[f.category] ?? 0) + 1;
  // The Docker Desktop profile (an XML declaration after a space, which CF reads) parses: a note
  // that it is unsigned, PayloadEnabled, and no Apple schema for com.docker.config.
  t.deepEqual(byCategory, { parse: 5, signature: 33, identity: 21, schema: 53, certificate: 3, sso: 2 });
  t.deepEqual(report.summary, { files: 35, errors: 32, warnings: 16, notes: 69 });
  const count = (code: string) => all.filter((f) => f.code === code).length;
  t.is(count('quirk_payload_enabled'), 17);
  t.is(count('quirk_tcc_integer_boolean'), 16);
  t.is(count('quirk_tcc_authorization_without_allowed'), 2);
  t.true(all.filter((f) => f.code.startsWith('quirk_')).every((f) => f.severity === 'note'));
  t.is(count('schema_none'), 4, 'Chrome, Docker and the two Okta domains have no Apple schema');
  // A schema finding names its payload type, key path and line.
  const typo = all.find((f) => f.code === 'unknown_key' && f.key_path === 'PayloadContent[0].RetriesUntilHint');
  t.deepEqual(typo && [typo.payload_type, typo.line], ['com.apple.loginwindow', 44]);
  const badValue = all.find(
    (f) =>
      f.code === 'value_not_allowed' &&
      f.payload_type === 'com.apple.TCC.configuration-profile-policy' &&
      f.line === 119,
  );
  t.is(badValue?.key_path, 'PayloadContent[2].Services.SystemPolicyAllFiles[2].IdentifierType');
});

test('--sarif: valid SARIF 2.1.0 with one rule per code and each finding at its file and line', async (t) => {
  if (!profiles || !schemas) return t.pass('no corpus here');
  const result = await doctor(['--sarif']);
  t.is(result.code, 2);
  const sarif = JSON.parse(result.stdout) as {
    version: string;
    runs: Array<{
      tool: { driver: { name: string; rules: Array<{ id: string }> } };
      results: Array<{
        ruleId: string;
        ruleIndex: number;
        level: string;
        message: { text: string };
        locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }>;
      }>;
    }>;
  };
  t.is(sarif.version, '2.1.0');
  t.deepEqual(sarifErrors(sarif), [], 'valid against the SARIF 2.1.0 JSON schema');
  const run = sarif.runs[0]!;
  const ids = run.tool.driver.rules.map((r) => r.id);
  t.is(new Set(ids).size, ids.length);
  t.is(run.results.length, 32 + 16 + 69);
  for (const r of run.results) {
    t.is(ids[r.ruleIndex], r.ruleId);
    t.true(['error', 'warning', 'note'].includes(r.level));
    t.true(r.message.text.length > 0);
    const loc = r.locations[0]!.physicalLocation;
    t.false(loc.artifactLocation.uri.startsWith('/'), 'relative to the working directory');
    if (loc.region) t.true(Number.isInteger(loc.region.startLine) && loc.region.startLine >= 1);
  }
  const hint = run.results.find((r) => r.ruleId === 'unknown_key' && r.message.text.includes('RetriesUntilHint'));
  t.is(hint?.locations[0]!.physicalLocation.region?.startLine, 44);
  t.is(
    hint?.locations[0]!.physicalLocation.artifactLocation.uri,
    'shell-intune-samples__Disable_Show_Password_Hints.mobileconfig',
  );
});
