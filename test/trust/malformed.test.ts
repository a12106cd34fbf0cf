// Malformed input (issue 10, fifth acceptance point): random bytes, truncated DER, a PEM with
// garbage between blocks, a 10,000-certificate chain, an empty file — each a clear error and
// exit 1 from agentctl trust, never a crash or a stack trace; fast-check over mutated DER files
// through the whole check, and over the PEM/DER reader.
import test from 'ava';
import fc from 'fast-check';
import { X509Certificate, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CertificateFileError, chainFileLimits, parseCertificates } from '../../agent/trust/certificates.js';
import { checkTrust, exitCodeOf } from '../../agent/trust/check.js';
import { diagnosisCodes } from '../../agent/trust/diagnosis.js';
import { agentctl } from '../helpers/agent.js';
import { mutate, mutation } from '../helpers/mutate.js';
import { missing } from '../helpers/system.js';
import { TestPki, type Leaf } from '../helpers/tls.js';
import { privateAgentConfig } from '../helpers/private-config.js';

const needs = missing('openssl');
const it = needs ? test.skip : test;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);

let pki: TestPki;
let leaf: Leaf;
let dir: string;
let configFile: string;
let leafDer: Buffer;
let intermediateDer: Buffer;

test.before(async () => {
  if (needs) return;
  ({ dir, configFile } = privateAgentConfig('tg-trust-bad-', { TrustRevocation: 'off' }));
  pki = await TestPki.create();
  leaf = await pki.issueLeaf();
  leafDer = new X509Certificate(leaf.certPem).raw;
  intermediateDer = new X509Certificate(pki.intermediate.certPem).raw;
});
test.after.always(async () => {
  await pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

const inputs: Array<{ name: string; content: () => string | Buffer; message: RegExp }> = [
  {
    name: 'random bytes',
    content: () => Buffer.concat([Buffer.from([0x8f]), randomBytes(2000)]),
    message: /binary data|not PEM|not DER|no certificate/,
  },
  {
    name: 'random bytes that start like DER',
    content: () => Buffer.concat([Buffer.from([0x30, 0x82]), randomBytes(2000)]),
    message: /is not DER certificates: /,
  },
  {
    name: 'truncated DER',
    content: () => leafDer.subarray(0, leafDer.length - 17),
    message: /is not DER certificates: truncated/,
  },
  {
    name: 'DER that is not a certificate',
    content: () => Buffer.from('3003020105', 'hex'),
    message: /certificate 1 of the chain is not a DER X\.509 certificate/,
  },
  {
    name: 'a PEM with garbage between blocks',
    content: () => Buffer.concat([Buffer.from(leaf.certPem), randomBytes(64), Buffer.from(pki.intermediate.certPem)]),
    message: /binary data \(byte \d+\)/,
  },
  {
    name: 'a PEM with broken base64',
    content: () => leaf.certPem.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'),
    message: /not base64 inside the certificate block/,
  },
  {
    name: 'a PEM block without its END line',
    content: () => leaf.certPem.replace('-----END CERTIFICATE-----', ''),
    message: /has no END line/,
  },
  {
    name: 'a private key instead of certificates',
    content: () => leaf.keyPem,
    message: /a PRIVATE KEY block; only CERTIFICATE blocks are accepted/,
  },
  {
    name: 'a 10,000-certificate chain (PEM)',
    content: () => leaf.certPem.repeat(10_000),
    message: /bytes; at most 1048576 are accepted/,
  },
  {
    name: 'a 10,000-certificate chain (DER)',
    content: () => Buffer.concat(Array.from({ length: 10_000 }, () => leafDer)),
    message: /bytes; at most 1048576 are accepted/,
  },
  {
    name: 'a 65-certificate chain',
    content: () => leaf.certPem.repeat(65),
    message: /holds more than 64 certificates/,
  },
  { name: 'an empty chain (empty file)', content: () => '', message: /is empty$/ },
  { name: 'a PEM file with no certificate', content: () => 'just some text\n', message: /holds no certificate/ },
];

for (const input of inputs) {
  it(title(`${input.name}: a clear error and exit 1, no stack trace`), async (t) => {
    const target = file(`${input.name.replace(/\W+/g, '-')}.crt`, input.content());
    const run = await agentctl(['trust', target, '--json', '--ca', pki.caFile, '--config', configFile]);
    t.is(run.code, 1, run.stdout + run.stderr);
    t.notRegex(run.stdout + run.stderr, /\n\s+at |TypeError|RangeError/, 'no stack trace');
    const report = JSON.parse(run.stdout) as {
      diagnosis: string;
      error: { code: string; message: string };
      hint: string;
      at_system_time: unknown;
    };
    t.is(report.diagnosis, 'malformed');
    t.is(report.at_system_time, null);
    t.regex(report.error.message, input.message);
    t.regex(report.hint, /cannot be used: /);
    const human = await agentctl(['trust', target, '--ca', pki.caFile, '--config', configFile]);
    t.is(human.code, 1);
    t.regex(human.stdout, /Diagnosis +\| malformed/);
  });
}

it(title('a missing file and a directory are unreachable (exit 1); a FIFO does not hang the reader'), async (t) => {
  const missingFile = await agentctl(['trust', path.join(dir, 'nope.pem'), '--json', '--config', configFile]);
  t.is(missingFile.code, 1);
  t.is(JSON.parse(missingFile.stdout).diagnosis, 'unreachable');
  t.regex(JSON.parse(missingFile.stdout).error.message, /ENOENT/);
  const directory = await agentctl(['trust', dir, '--json', '--config', configFile]);
  t.is(directory.code, 1);
  t.regex(JSON.parse(directory.stdout).error.message, /is not a regular file/);
  const { execFileSync } = await import('node:child_process');
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const fromFifo = await agentctl(['trust', fifo, '--json', '--config', configFile]);
  t.is(fromFifo.code, 1);
  t.regex(JSON.parse(fromFifo.stdout).error.message, /is not a regular file/);
  const badCa = await agentctl(['trust', leaf.chainFile, '--ca', path.join(dir, 'nope.pem'), '--config', configFile]);
  t.is(badCa.code, 1);
  t.regex(badCa.stderr, /^agentctl trust: --ca: cannot read .*nope\.pem: ENOENT/);
});

it(
  title(
    'fast-check: 2,000 mutated DER chain files through the whole check: a report every time, exit 1 or 2 unless unchanged',
  ),
  async (t) => {
    const anchors = [new X509Certificate(pki.root.certPem).raw];
    const target = path.join(dir, 'mutated.der');
    const exits = { 0: 0, 1: 0, 2: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutation(leafDer.length + intermediateDer.length), { minLength: 1, maxLength: 3 }),
        async (mutations) => {
          const original = Buffer.concat([leafDer, intermediateDer]);
          const mutated = mutate(original, mutations);
          writeFileSync(target, mutated);
          const report = await checkTrust({ target, anchors, anchorsOnly: true, revocation: 'off' });
          const code = exitCodeOf(report);
          exits[code]++;
          if (!diagnosisCodes.includes(report.diagnosis)) throw new Error(`unknown diagnosis ${report.diagnosis}`);
          if (code === 0 && !mutated.equals(original)) {
            // Only bytes outside what the certificates cover may change a trusted verdict: none here.
            throw new Error(`a mutated chain was trusted: ${mutated.toString('hex')}`);
          }
          if (code !== 0 && (report.hint === null || report.error === null))
            throw new Error(`no hint or error for ${report.diagnosis}`);
        },
      ),
      { numRuns: 2000 },
    );
    t.log(`exit codes: ${JSON.stringify(exits)}`);
    t.true(exits[1] > 0 && exits[2] > 0);
  },
);

it(title('fast-check: the certificate reader throws only its own clear errors, whatever the bytes'), (t) => {
  const pem = Buffer.from(leaf.chainPem);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
        fc.array(mutation(pem.length), { minLength: 1, maxLength: 4 }).map((m) => mutate(pem, m)),
      ),
      (data) => {
        try {
          const certs = parseCertificates(data, chainFileLimits, 'input');
          if (certs.length === 0 || certs.length > chainFileLimits.maxCertificates) throw new Error('bad count');
        } catch (error) {
          if (!(error instanceof CertificateFileError)) throw error;
          if (!error.message.startsWith('input')) throw new Error(`message does not name the input: ${error.message}`);
        }
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});

it(title('explanatory text between PEM blocks (as openssl writes it) is accepted'), (t) => {
  const text = `subject=CN = localhost\nissuer=CN = TrustGuard Test Intermediate CA\n${leaf.certPem}\n  Certificate:\n    Data: ...\n${pki.intermediate.certPem}`;
  const certs = parseCertificates(Buffer.from(text), chainFileLimits);
  t.deepEqual(certs, [leafDer, intermediateDer]);
});
