// Trust capability: the platform-neutral interface that native/darwin/trust.cc (Security
// framework) and native/linux/trust.cc (the OpenSSL that Node ships) implement. One call is one
// chain evaluation by the OS's own verifier, returning plain data; what a failure means (the
// diagnosis) is decided in agent/trust.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg {
namespace trust {

using Der = std::vector<uint8_t>;

enum class Policy { kSsl, kBasic };

struct Request {
  std::vector<Der> chain;  // DER, leaf first; never empty (checked before)
  Policy policy = Policy::kBasic;
  bool hasHostname = false;  // ssl policy: the name the leaf must match
  std::string hostname;
  bool hasAnchors = false;  // anchors given (possibly none, which with anchorsOnly trusts nothing)
  std::vector<Der> anchors;
  bool anchorsOnly = false;  // true: only `anchors`, not the system's roots
  bool hasVerifyDate = false;
  double verifyDateMs = 0;  // Unix ms; the evaluation's notion of "now"
  std::vector<Der> ocspResponses;  // DER OCSPResponse messages, as a responder sent them
  bool requireRevocationCheck = false;  // no positive revocation answer for the leaf = not trusted
};

struct CertificateDetails {
  std::string subject;  // RFC 4514 string, most specific first ("CN=a,O=b")
  std::string issuer;
  double notBeforeMs = 0;  // Unix ms
  double notAfterMs = 0;
  std::string sha256;  // lowercase hex of the DER
  std::vector<std::string> ocspUrls;  // authorityInfoAccess id-ad-ocsp URIs
  std::vector<std::string> crlUrls;  // cRLDistributionPoints full-name URIs
  Der der;
};

// One problem the OS's verifier reported, and the certificate (depth in `chain`, 0 = leaf) it
// concerns. Every problem is listed, not only the first: the OS's own words, no judgement.
struct CertificateError {
  int depth = 0;
  int64_t code = 0;  // X509_V_ERR_* on Linux; 0 on macOS
  std::string message;
  std::string check;  // macOS: the name of the failed policy check (SecPolicyChecks.list); empty on Linux
};

struct Evaluation {
  bool trusted = false;
  // Apple's SecTrustResultType name: proceed, unspecified, recoverableTrustFailure,
  // fatalTrustFailure, deny, invalid, otherError. Linux maps OpenSSL's errors onto these.
  std::string result;
  bool hasError = false;
  int64_t errorCode = 0;  // OSStatus on macOS, X509_V_ERR_* on Linux
  std::string errorMessage;
  // What the OS says about revocation checking, which is not the leaf's own status:
  // - macOS: kSecTrustRevocationChecked, chain-wide and only when trusted. trustd sets it true
  //   only under `SecPathBuilderIsOkResult(builder) &&
  //   SecCertificatePathVCIsRevocationDone(builder->bestPath)` (Security
  //   trust/trustd/SecTrustServer.c), and then only when every certificate below the anchor
  //   whose revocation is checked has a usable answer (SecCertificatePathVCGetEarliestNextUpdate
  //   != 0, or SecCertificatePathVCRevocationCheckedAllCerts, trust/trustd/
  //   SecCertificateServer.c). So a revoked leaf gives false (not trusted), and so does a good
  //   leaf under an intermediate that names a responder but got no answer.
  // - Linux: an answer (good or revoked) for the leaf was obtained and used.
  // agent/trust derives the leaf's own revocation status from the result, not from this.
  bool revocationChecked = false;
  // The chain as the OS built it (leaf first, up to the anchor when one was found).
  std::vector<CertificateDetails> chain;
  // Every problem the verifier reported: on Linux each OpenSSL error in the order met; on macOS
  // each failed check per certificate of SecTrustCopyResult's details.
  std::vector<CertificateError> errors;
};

struct Failure {
  // "malformed": an input certificate does not parse (`input`, `index` say which);
  // "os": the OS could not set the evaluation up.
  std::string kind;
  std::string input;  // "chain" | "anchors"
  int index = -1;
  std::string message;
};

// Runs on a worker thread. Returns false and fills *failure when no evaluation took place.
bool Evaluate(const Request& request, Evaluation* out, Failure* failure);

}  // namespace trust
}  // namespace tg
