// Apple's schemas are parsed per payload type when first needed (agent/profiles/schema.ts,
// SchemaIndex): on Apple's repository the index finds for every type the files a full parse
// finds; a schema file that does not parse stops the run (exit 1, named) only when its type is
// used; a file whose `payloadtype:` line misleads is still filed under its real type.
import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadSchemas } from '../../agent/profiles/schema.js';
import { agentctlPath, runProgram } from '../helpers/agent.js';
import { corpus } from '../helpers/corpora.js';
import { payload, writeProfile } from '../helpers/profiles.js';

const apple = corpus('apple-device-management');

test("Apple's repository: the index gives each payload type the files a full parse gives it", async (t) => {
  if (!apple) return t.pass('no corpus here');
  const folder = path.join(apple, 'mdm', 'profiles');
  const full = new Map<string, string[]>();
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.yaml'))) {
    if (name === 'TopLevel.yaml' || name === 'CommonPayloadKeys.yaml') continue;
    const doc = parse(readFileSync(path.join(folder, name), 'utf8'), { maxAliasCount: 10_000 }) as {
      payload?: { payloadtype?: string };
      payloadkeys?: unknown;
    };
    if (!doc?.payload || !Array.isArray(doc.payloadkeys)) continue;
    const type = String(doc.payload.payloadtype ?? '');
    full.set(type, [...(full.get(type) ?? []), name]);
  }
  t.true(full.size > 100);
  const set = await loadSchemas(apple);
  for (const [type, names] of full)
    t.deepEqual(
      set.byType.get(type)?.map((s) => s.file),
      names.sort(),
      type,
    );
  t.is(set.byType.get('com.example.none'), undefined);
});

const yamlOf = (type: string, keys: string) =>
  `title: ${type}\ndescription: ''\npayload:\n  payloadtype: ${type}\n  supportedOS:\n    macOS:\n      introduced: '10.7'\npayloadkeys:\n${keys}`;
const key = (name: string, type: string) => `- key: ${name}\n  type: <${type}>\n  presence: optional\n`;

test('a schema file that does not parse stops the run only when its type is used; a misleading payloadtype line is filed under the real type', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-schemas-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const schemas = path.join(dir, 'schemas');
  const profiles = path.join(dir, 'profiles');
  mkdirSync(schemas);
  mkdirSync(profiles);
  writeFileSync(
    path.join(schemas, 'TopLevel.yaml'),
    yamlOf(
      'TopLevel',
      ['PayloadType', 'PayloadIdentifier', 'PayloadUUID', 'PayloadScope', 'PayloadDisplayName']
        .map((k) => key(k, 'string'))
        .join('') +
        key('PayloadVersion', 'integer') +
        key('PayloadContent', 'array'),
    ),
  );
  writeFileSync(
    path.join(schemas, 'CommonPayloadKeys.yaml'),
    yamlOf(
      'CommonPayloadKeys',
      ['PayloadType', 'PayloadIdentifier', 'PayloadUUID'].map((k) => key(k, 'string')).join('') +
        key('PayloadVersion', 'integer'),
    ),
  );
  writeFileSync(path.join(schemas, 'com.example.good.yaml'), yamlOf('com.example.good', key('Mode', 'string')));
  writeFileSync(
    path.join(schemas, 'com.example.broken.yaml'),
    `${yamlOf('com.example.broken', key('Mode', 'string'))}- key: [unclosed\n`,
  );
  // Its first `payloadtype:` line, first under `payload:`, is in a block scalar: not the type.
  writeFileSync(
    path.join(schemas, 'com.example.misleading.yaml'),
    `title: x\ndescription: ''\npayload:\n  note: |\n    payloadtype: com.example.good\n  payloadtype: com.example.real\npayloadkeys:\n${key('Level', 'integer')}`,
  );
  const set = await loadSchemas(schemas);
  t.deepEqual(
    set.byType.get('com.example.real')?.map((s) => s.file),
    ['com.example.misleading.yaml'],
    'filed under its real type',
  );
  t.deepEqual(
    set.byType.get('com.example.good')?.map((s) => s.file),
    ['com.example.good.yaml'],
  );

  const good = writeProfile(profiles, 'good.mobileconfig', [payload('com.example.good', { Mode: 'on', Extra: 'x' })]);
  const broken = writeProfile(profiles, 'broken.mobileconfig', [payload('com.example.broken', { Mode: 'on' })]);
  const doctor = (file: string) =>
    runProgram(process.execPath, [
      agentctlPath,
      'doctor',
      'profile',
      '--schemas',
      schemas,
      '--revocation',
      'off',
      '--json',
      file,
    ]);
  const ok = await doctor(good);
  t.is(ok.code, 0, ok.stderr); // an unknown key is a warning
  const report = JSON.parse(ok.stdout) as { files: Array<{ findings: Array<{ code: string; key_path: string }> }> };
  t.true(report.files[0]!.findings.some((f) => f.code === 'unknown_key' && f.key_path === 'PayloadContent[0].Extra'));
  const stopped = await doctor(broken);
  t.is(stopped.code, 1);
  t.is(stopped.stdout, '');
  t.regex(stopped.stderr, /^agentctl doctor profile: --schemas: com\.example\.broken\.yaml does not parse/);
});
