// agent/trust/x509.ts reads certificates from outside: whatever the bytes, it answers or refuses
// with a DerError, never another exception, and a certificate that parses gives the same fields
// again (cache). fast-check mutates real certificates of the x509-limbo suite.
import test from 'ava';
import fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import { DerError } from '../../agent/trust/der.js';
import { parseCertificate, tryParseCertificate } from '../../agent/trust/x509.js';
import { loadLimbo } from '../helpers/limbo.js';

const certificates = loadLimbo()
  .slice(0, 60)
  .map((c) => new X509Certificate(c.peer_certificate).raw);

test('the fields of real certificates: key, hash, names', (t) => {
  for (const der of certificates) {
    const info = parseCertificate(der);
    t.true(info.version >= 1 && info.version <= 3);
    t.not(info.hash, 'unknown');
    t.not(info.key.type, 'other');
    t.true(info.key.bits > 0);
    t.is(parseCertificate(Buffer.from(der)), info, 'the same DER is read once');
  }
});

test('fast-check: mutated certificates parse or are refused with a DerError, never another error', (t) => {
  fc.assert(
    fc.property(
      fc.nat({ max: certificates.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      (which, edits, cut) => {
        const der = Buffer.from(certificates[which]!);
        for (const [at, value] of edits) der[at % der.length] = value;
        const bytes = cut === undefined ? der : der.subarray(0, cut % der.length);
        try {
          parseCertificate(Buffer.from(bytes));
        } catch (error) {
          if (!(error instanceof DerError)) throw error;
        }
        tryParseCertificate(Buffer.from(bytes));
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});
