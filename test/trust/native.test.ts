// The native trust evaluation (native/trust.ts) against chains made by the real openssl CLI:
// verdicts, the verify date, host and IP names, anchors, argument checking, bounds, many
// concurrent evaluations, and fast-check over mutated DER (no crash, a clear error or a verdict).
import test from 'ava';
import fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import { evaluateTrust, trustLimits, type TrustEvaluation, type TrustEvaluationError } from '../../native/trust.js';
import { diagnoseEvaluation } from '../../agent/trust/diagnosis.js';
import { missing } from '../helpers/system.js';
import { mutation, mutate } from '../helpers/mutate.js';
import { TestPki, type Leaf } from '../helpers/tls.js';

const needs = missing('openssl');
const it = needs ? test.skip : test;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);

const DAY = 86_400_000;
const der = (pem: string) => new X509Certificate(pem).raw;
const resultNames = [
  'proceed',
  'unspecified',
  'recoverableTrustFailure',
  'fatalTrustFailure',
  'deny',
  'invalid',
  'otherError',
];

let pki: TestPki;
let other: TestPki;
let leaf: Leaf;
let chain: Buffer[];
let root: Buffer;

test.before(async () => {
  if (needs) return;
  pki = await TestPki.create();
  other = await TestPki.create({ rootName: 'Other Root', intermediateName: 'Other Intermediate' });
  leaf = await pki.issueLeaf({
    commonName: 'login.example.test',
    sans: ['DNS:login.example.test', 'DNS:*.apps.example.test', 'IP:127.0.0.1'],
  });
  chain = [der(leaf.certPem), der(pki.intermediate.certPem)];
  root = der(pki.root.certPem);
});
test.after.always(async () => {
  await pki?.cleanup();
  await other?.cleanup();
});

function assertShape(
  t: { true(v: boolean, m?: string): void; is(a: unknown, b: unknown): void },
  e: TrustEvaluation,
): void {
  t.true(typeof e.trusted === 'boolean');
  t.true(resultNames.includes(e.result), `result ${e.result}`);
  t.true(e.trusted ? e.errorCode === null : typeof e.errorCode === 'number');
  t.true(Array.isArray(e.chain) && e.chain.length >= 1);
}

it(
  title('a valid chain to a given anchor is trusted, and the chain comes back leaf first with its details'),
  async (t) => {
    const e = await evaluateTrust({
      chain,
      policy: 'ssl',
      hostname: 'login.example.test',
      anchors: [root],
      anchorsOnly: true,
    });
    assertShape(t, e);
    t.true(e.trusted);
    t.is(e.result, 'unspecified');
    t.is(e.errorMessage, null);
    t.deepEqual(
      e.chain.map((c) => c.subject),
      ['CN=login.example.test', 'CN=TrustGuard Test Intermediate CA', 'CN=TrustGuard Test Root CA'],
    );
    t.deepEqual(
      e.chain.map((c) => c.issuer),
      ['CN=TrustGuard Test Intermediate CA', 'CN=TrustGuard Test Root CA', 'CN=TrustGuard Test Root CA'],
    );
    const x = new X509Certificate(leaf.certPem);
    t.is(e.chain[0]!.sha256, x.fingerprint256.replaceAll(':', '').toLowerCase());
    t.is(e.chain[0]!.notBefore, Date.parse(x.validFrom));
    t.is(e.chain[0]!.notAfter, Date.parse(x.validTo));
    t.deepEqual(e.chain[0]!.der, x.raw);
    t.deepEqual(e.chain[0]!.ocspUrls, []);
  },
);

it(title('the verify date decides validity: expired after notAfter, not yet valid before notBefore'), async (t) => {
  const x = new X509Certificate(leaf.certPem);
  const later = await evaluateTrust({
    chain,
    policy: 'basic',
    anchors: [root],
    verifyDate: Date.parse(x.validTo) + DAY,
  });
  t.false(later.trusted);
  t.is(later.result, 'recoverableTrustFailure');
  t.is(diagnoseEvaluation(later, Date.parse(x.validTo) + DAY), 'expired');
  const earlier = await evaluateTrust({
    chain,
    policy: 'basic',
    anchors: [root],
    verifyDate: Date.parse(x.validFrom) - DAY,
  });
  t.false(earlier.trusted);
  t.is(diagnoseEvaluation(earlier, Date.parse(x.validFrom) - DAY), 'not_yet_valid');
  const inside = await evaluateTrust({
    chain,
    policy: 'basic',
    anchors: [root],
    verifyDate: Date.parse(x.validFrom) + DAY,
  });
  t.true(inside.trusted);
});

it(title('ssl checks DNS names (wildcards one label deep) and IP addresses; basic checks no name'), async (t) => {
  const at = (hostname: string) => evaluateTrust({ chain, policy: 'ssl', hostname, anchors: [root] });
  t.true((await at('login.example.test')).trusted);
  t.true((await at('LOGIN.example.test')).trusted);
  t.true((await at('a.apps.example.test')).trusted);
  t.false((await at('a.b.apps.example.test')).trusted);
  t.true((await at('127.0.0.1')).trusted);
  const wrongIp = await at('127.0.0.2');
  t.is(diagnoseEvaluation(wrongIp, Date.now()), 'hostname_mismatch');
  const wrong = await at('other.example.test');
  t.false(wrong.trusted);
  t.is(wrong.result, 'recoverableTrustFailure');
  t.is(diagnoseEvaluation(wrong, Date.now()), 'hostname_mismatch');
  t.true((await evaluateTrust({ chain, policy: 'basic', hostname: 'other.example.test', anchors: [root] })).trusted);
});

it(title('an unknown root, a missing intermediate and a self-signed leaf are told apart'), async (t) => {
  const unknownRoot = await evaluateTrust({
    chain,
    policy: 'basic',
    anchors: [der(other.root.certPem)],
    anchorsOnly: true,
  });
  t.false(unknownRoot.trusted);
  t.is(diagnoseEvaluation(unknownRoot, Date.now()), 'untrusted_root');
  const noIntermediate = await evaluateTrust({
    chain: [chain[0]!],
    policy: 'basic',
    anchors: [root],
    anchorsOnly: true,
  });
  t.is(diagnoseEvaluation(noIntermediate, Date.now()), 'incomplete_chain');
  const selfSigned = await evaluateTrust({
    chain: [root],
    policy: 'basic',
    anchors: [der(other.root.certPem)],
    anchorsOnly: true,
  });
  t.is(diagnoseEvaluation(selfSigned, Date.now()), 'untrusted_root');
  const withRootSent = await evaluateTrust({
    chain: [...chain, root],
    policy: 'basic',
    anchors: [],
    anchorsOnly: true,
  });
  t.is(diagnoseEvaluation(withRootSent, Date.now()), 'untrusted_root');
  // An intermediate given as the anchor is one, as with SecTrustSetAnchorCertificates.
  t.true((await evaluateTrust({ chain, policy: 'basic', anchors: [chain[1]!], anchorsOnly: true })).trusted);
  // The system's roots do not know the test root.
  t.false((await evaluateTrust({ chain, policy: 'basic' })).trusted);
});

it(title('a certificate that does not parse rejects with its place named'), async (t) => {
  const error = await t.throwsAsync<TrustEvaluationError>(
    evaluateTrust({ chain: [chain[0]!, Buffer.from('not a certificate')], policy: 'basic' }),
  );
  t.is(error?.code, 'ERR_TRUST_MALFORMED_CERTIFICATE');
  t.is(error?.input, 'chain');
  t.is(error?.index, 1);
  t.regex(error?.message ?? '', /^certificate 2 of the chain is not a DER X\.509 certificate/);
  const trailing = await t.throwsAsync<TrustEvaluationError>(
    evaluateTrust({ chain: [Buffer.concat([chain[0]!, Buffer.from([0])])], policy: 'basic' }),
  );
  t.regex(trailing?.message ?? '', /^certificate 1 of the chain has 1 byte after its end$/);
  const anchor = await t.throwsAsync<TrustEvaluationError>(
    evaluateTrust({ chain, policy: 'basic', anchors: [Buffer.alloc(0)] }),
  );
  t.is(anchor?.input, 'anchors');
  t.regex(anchor?.message ?? '', /anchor certificate 1 is empty/);
});

it(title('arguments are checked before C++ sees them, and inputs are bounded'), async (t) => {
  const call =
    (options: unknown, ...rest: unknown[]) =>
    () =>
      evaluateTrust(options as never, ...rest);
  t.throws(call(undefined), { instanceOf: TypeError });
  t.throws(call({ chain, policy: 'basic' }, 1), { instanceOf: TypeError });
  t.throws(call({ chain: 'x', policy: 'basic' }), {
    instanceOf: TypeError,
    message: /chain must be an array of Buffers/,
  });
  t.throws(call({ chain: [], policy: 'basic' }), { instanceOf: RangeError, message: /chain is empty/ });
  t.throws(call({ chain: [new Uint16Array(3)], policy: 'basic' }), {
    instanceOf: TypeError,
    message: /chain\[0\] must be a Buffer/,
  });
  t.throws(call({ chain, policy: 'tls' }), { instanceOf: TypeError, message: /policy must be 'ssl' or 'basic'/ });
  t.throws(call({ chain, policy: 'ssl', hostname: '' }), { instanceOf: TypeError });
  t.throws(call({ chain, policy: 'ssl', hostname: 'a\0b' }), { instanceOf: TypeError });
  t.throws(call({ chain, policy: 'basic', verifyDate: Number.NaN }), { instanceOf: TypeError });
  t.throws(call({ chain, policy: 'basic', verifyDate: 1e20 }), { instanceOf: RangeError });
  t.throws(call({ chain, policy: 'basic', anchorsOnly: 'yes' }), { instanceOf: TypeError });
  t.throws(call({ chain, policy: 'basic', chains: [] }), { instanceOf: TypeError, message: /unknown option "chains"/ });
  const many = Array.from({ length: 10_000 }, () => chain[0]!);
  t.throws(call({ chain: many, policy: 'basic' }), {
    instanceOf: RangeError,
    message: /chain has 10000 entries; at most 64/,
  });
  t.throws(call({ chain: [Buffer.alloc(trustLimits.certificateBytes + 1)], policy: 'basic' }), {
    instanceOf: RangeError,
  });
  t.throws(call({ chain, policy: 'basic', ocspResponses: [Buffer.alloc(10 * 1024 * 1024)] }), {
    instanceOf: RangeError,
    message: /ocspResponses\[0\] is 10485760 bytes/,
  });
  // Bypassing the wrapper: the binding refuses too, with an error rather than a crash.
  const { native } = await import('../../native/addon.js');
  const raw = native<{ evaluateTrust(o: unknown): Promise<unknown> }>();
  t.throws(() => raw.evaluateTrust({ chain: [], policy: 'basic' }), { instanceOf: TypeError });
  t.throws(() => raw.evaluateTrust({ chain: [1], policy: 'basic' }), { instanceOf: TypeError });
  t.throws(() => raw.evaluateTrust(null), { instanceOf: TypeError });
});

it(
  title('OCSP responses that are garbage are ignored, not fatal; requiring revocation without one fails'),
  async (t) => {
    const soft = await evaluateTrust({
      chain,
      policy: 'basic',
      anchors: [root],
      ocspResponses: [Buffer.from('junk'), Buffer.alloc(0)],
    });
    t.true(soft.trusted);
    t.false(soft.revocationChecked);
    const hard = await evaluateTrust({
      chain,
      policy: 'basic',
      anchors: [root],
      ocspResponses: [Buffer.from('junk')],
      requireRevocationCheck: true,
    });
    t.false(hard.trusted);
    t.is(diagnoseEvaluation(hard, Date.now()), 'revocation_unknown');
  },
);

it(title('200 concurrent evaluations all resolve with the right verdicts'), async (t) => {
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      evaluateTrust({
        chain,
        policy: 'ssl',
        hostname: i % 2 ? 'login.example.test' : 'nope.example.test',
        anchors: [root],
      }),
    ),
  );
  results.forEach((r, i) => t.is(r.trusted, i % 2 === 1));
});

it(
  title('fast-check: 2,000 mutated DER chains never crash; each is a clear error or an untrusted verdict'),
  async (t) => {
    let rejected = 0;
    let untrusted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1),
        fc.array(mutation(chain[0]!.length), { minLength: 1, maxLength: 3 }),
        async (which, mutations) => {
          const target = chain[which]!;
          const mutated = mutate(target, mutations);
          const input = which === 0 ? [mutated, chain[1]!] : [chain[0]!, mutated];
          let evaluation: TrustEvaluation;
          try {
            evaluation = await evaluateTrust({
              chain: input,
              policy: 'ssl',
              hostname: 'login.example.test',
              anchors: [root],
              anchorsOnly: true,
            });
          } catch (error) {
            const e = error as TrustEvaluationError;
            if (
              e.code !== 'ERR_TRUST_MALFORMED_CERTIFICATE' ||
              !/^certificate [12] of the chain (is|has) /.test(e.message)
            )
              throw error;
            rejected++;
            return;
          }
          if (evaluation.trusted && !mutated.equals(target))
            throw new Error(`a mutated certificate was trusted: ${mutated.toString('hex')}`);
          if (!evaluation.trusted) untrusted++;
          if (!resultNames.includes(evaluation.result)) throw new Error(`unknown result ${evaluation.result}`);
        },
      ),
      { numRuns: 2000 },
    );
    t.log(`${rejected} rejected as malformed, ${untrusted} evaluated and not trusted`);
    t.true(rejected > 0 && untrusted > 0);
  },
);
