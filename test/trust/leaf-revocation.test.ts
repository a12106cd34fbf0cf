// Issue 22 item 2: the leaf's own revocation status is derived apart from the native
// `revocationChecked`, which on macOS is chain-wide and set only for a trusted chain whose leaf
// and every intermediate naming a responder have answers (Security, SecTrustServer.c). The
// evaluations below are shaped as macOS gives them; on Linux the flag is the leaf's already.
import test from 'ava';
import { leafRevocation } from '../../agent/trust/check.js';

const errSecCertificateRevoked = -67820;
const errSecIncompleteCertRevocationCheck = -67635;
const trustedUnchecked = { trusted: true, errorCode: null, revocationChecked: false };

test('a good leaf under an unanswered intermediate is good, not unknown (macOS: revocationChecked false)', (t) => {
  t.is(leafRevocation(true, trustedUnchecked, { trusted: true, errorCode: null }, 'darwin'), 'good');
});

test('the chain-wide flag set with the leaf answered is good without asking again', (t) => {
  t.is(leafRevocation(true, { ...trustedUnchecked, revocationChecked: true }, null, 'darwin'), 'good');
});

test("the chain-wide flag does not make a leaf good when the leaf's responder gave no answer", (t) => {
  t.is(leafRevocation(false, { ...trustedUnchecked, revocationChecked: true }, null, 'darwin'), 'unknown');
});

test('a revoked leaf is revoked; an unusable answer for the leaf is unknown', (t) => {
  const revoked = { trusted: false, errorCode: errSecCertificateRevoked, revocationChecked: false };
  t.is(leafRevocation(true, revoked, { trusted: false, errorCode: errSecCertificateRevoked }, 'darwin'), 'revoked');
  t.is(
    leafRevocation(
      true,
      trustedUnchecked,
      { trusted: false, errorCode: errSecIncompleteCertRevocationCheck },
      'darwin',
    ),
    'unknown',
  );
  // Linux: X509_V_ERR_CERT_REVOKED (23).
  t.is(leafRevocation(true, trustedUnchecked, { trusted: false, errorCode: 23 }, 'linux'), 'revoked');
});
