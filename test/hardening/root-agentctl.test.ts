// Issue 17 item 11: root's agentctl reads only the files it is given, never through a link
// someone planted, and no error message quotes what a file holds: it says where reading failed
// (line, byte, key). The files hold root-only secrets; `nobody` plants the links.
import test from 'ava';
import fc from 'fast-check';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfigBytes } from '../../agent/config/bounded-parse.js';
import { agentctl, unwrapped } from '../helpers/agent.js';
import { asNobody, needsNobody, nobodyIds, nobodyTitle, tempFolder } from '../helpers/attacker.js';

const nobodyTest = needsNobody ? test.skip : test;
const secret = /S3cret/;

/** Root-only files with secrets (0600 in a 0700 folder), and a folder nobody owns. */
function plant(t: { teardown(fn: () => void): void }) {
  const dir = tempFolder(t, 'tg-root-agentctl-');
  const vault = path.join(dir, 'vault');
  mkdirSync(vault, { mode: 0o700 });
  const files = {
    ini: path.join(vault, 'db.ini'),
    json: path.join(vault, 'app.json'),
    known: path.join(vault, 'known.json'),
    plist: path.join(vault, 'app.plist'),
    pem: path.join(vault, 'key.pem'),
  };
  writeFileSync(files.ini, '[database]\npassword = S3cretINI\n', { mode: 0o600 });
  writeFileSync(files.json, '{"db": {"password": "S3cretJSON"}, "note": S3cretBare}', { mode: 0o600 });
  writeFileSync(
    files.known,
    JSON.stringify({ LogLevel: 'S3cretLevel', NTPServers: 'S3cretNTP', Mode: ['S3cretMode'] }),
    { mode: 0o600 },
  );
  writeFileSync(
    files.plist,
    '<?xml version="1.0"?>\n<plist><dict><key>LogLevel</key>\n<S3cretTag>x</S3cretTag></dict></plist>\n',
    { mode: 0o600 },
  );
  writeFileSync(files.pem, '-----BEGIN S3CRET KEY MATERIAL-----\nS3cretBase64\n-----END S3CRET-----\n', {
    mode: 0o600,
  });
  const nobodyDir = path.join(dir, 'nobody');
  mkdirSync(nobodyDir, { mode: 0o755 });
  const { uid, gid } = nobodyIds();
  chownSync(nobodyDir, uid, gid);
  chmodSync(nobodyDir, 0o755);
  return { dir, vault, files, nobodyDir };
}

nobodyTest(
  nobodyTitle(
    '(issue 17, 11) root’s config validate, trust FILE and --ca FILE refuse a link nobody planted, naming it and its owner, and print nothing of the target',
  ),
  async (t) => {
    const { vault, files, nobodyDir } = plant(t);
    const links: Record<string, string> = {};
    for (const [name, target] of Object.entries(files)) {
      links[name] = path.join(nobodyDir, `${name}.link`);
      const ln = await asNobody('ln', ['-s', target, links[name]!]);
      t.is(ln.code, 0, ln.stderr);
    }
    // A folder reached through nobody's link is refused too.
    t.is((await asNobody('ln', ['-s', vault, path.join(nobodyDir, 'vault')])).code, 0);
    const throughFolder = path.join(nobodyDir, 'vault', 'app.json');

    const runs = [
      ...['ini', 'json', 'known', 'plist'].map((k) => ['config', 'validate', links[k]!]),
      ['config', 'validate', throughFolder],
      ['trust', links.pem!],
      ['trust', '--anchors-only', '--ca', links.pem!, files.pem],
    ];
    for (const args of runs) {
      const r = await agentctl(args);
      const out = unwrapped(`${r.stdout}${r.stderr}`);
      t.notRegex(out, secret, `${args.join(' ')}: ${out}`);
      t.regex(out, /is a symbolic link owned by nobody \(uid \d+\): root's agentctl does not follow it/);
      t.true(
        out.includes(
          args.includes(throughFolder) ? path.join(nobodyDir, 'vault') : args.find((a) => a.endsWith('.link'))!,
        ),
        `${args.join(' ')} names the link: ${out}`,
      );
      t.not(r.code, 0);
    }
  },
);

(process.getuid?.() === 0 ? test : test.skip)(
  '(issue 17, 11) root’s agentctl says where a file failed to parse (line, byte, key), never what is there',
  async (t) => {
    const { files } = plant(t);
    const ini = await agentctl(['config', 'validate', files.ini]);
    t.regex(ini.stderr, /does not parse: invalid JSON at line 1, column 2 \(byte 1\)/);
    const json = await agentctl(['config', 'validate', files.json]);
    t.regex(json.stderr, /invalid JSON at line 1, column \d+ \(byte \d+\)/);
    const known = await agentctl(['config', 'validate', files.known]);
    t.regex(known.stderr, /LogLevel must be .*; got a string of 11 characters/);
    t.regex(known.stderr, /NTPServers must be .*; got a string of 9 characters/);
    t.regex(known.stderr, /Mode must be .*; got an array of 1 item/);
    const plist = await agentctl(['config', 'validate', files.plist]);
    t.regex(plist.stderr, /not a valid XML property list/);
    const pem = await agentctl(['trust', files.pem]);
    t.regex(
      unwrapped(pem.stdout + pem.stderr),
      /line 1: a block other than CERTIFICATE; only CERTIFICATE blocks are accepted/,
    );
    const ca = await agentctl(['trust', '--anchors-only', '--ca', files.pem, files.pem]);
    for (const r of [ini, json, known, plist, pem, ca]) t.notRegex(r.stdout + r.stderr, secret, r.stdout + r.stderr);
  },
);

test('(issue 17, 11) property: a configuration that does not parse is located by line, column and byte, with none of its text', async (t) => {
  const shape =
    /^does not parse: (invalid JSON at line \d+, column \d+ \(byte \d+\)|the JSON text ends early \(line \d+, byte \d+\)|not a valid XML property list: [\w<>/:(), -]+ \(line \d+, column \d+\)|neither a property list \(XML or binary\) nor JSON|unsupported binary plist version \(only bplist00 is read\))$/;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('{', '[', '<?xml version="1.0"?><plist>', '', 'bplist01'),
      fc.string({ unit: 'binary', maxLength: 200 }),
      async (head, rest) => {
        const bytes = Buffer.from(head + rest);
        try {
          await parseConfigBytes(bytes);
        } catch (error) {
          const message = (error as Error).message;
          if (/more than \d+ objects|nested|top level is not a dictionary/.test(message)) return;
          t.regex(message, shape);
          const byte = /byte (\d+)/.exec(message);
          if (byte) t.true(Number(byte[1]) <= bytes.length);
        }
      },
    ),
    { numRuns: 300 },
  );
});

nobodyTest(
  nobodyTitle('(issue 17, 11) root’s doctor profile and doctor sso --profile refuse a link nobody planted, naming it'),
  async (t) => {
    const { files, nobodyDir } = plant(t);
    const link = path.join(nobodyDir, 'profile.link');
    const ln = await asNobody('ln', ['-s', files.plist, link]);
    t.is(ln.code, 0, ln.stderr);
    for (const args of [
      ['doctor', 'profile', link],
      ['doctor', 'sso', '--profile', link],
    ]) {
      const r = await agentctl(args);
      const out = `${r.stdout}${r.stderr}`.replace(/\s+/g, ' ');
      t.notRegex(out, secret, `${args.join(' ')}: ${out}`);
      t.regex(out, /is a symbolic link owned by nobody \(uid \d+\): root's agentctl does not follow it/, out);
      t.not(r.code, 0);
    }
  },
);
