// Trust capability on Linux: chain evaluation with the OpenSSL that Node itself ships (its
// headers are in Node's include directory and the node binary exports the symbols), so the
// addon needs no libssl-dev and verifies exactly as Node's TLS would.
//
// One evaluation: an X509_STORE holding the system roots (/etc/ssl/certs, looked up by subject
// hash) and/or the caller's anchors, an X509_STORE_CTX with the rest of the chain as untrusted
// intermediates, the verify time and host on the context's parameters, X509_verify_cert. When
// OCSP responses are given, each is checked with OCSP_basic_verify (responder signature and
// authority, at the verify time) and OCSP_resp_find_status, and its thisUpdate/nextUpdate
// against the verify time by OCSP_check_validity's rule.
//
// OpenSSL keeps a per-thread error queue that Node's own crypto also reads on the libuv pool
// threads this code runs on: every entry point clears it on the way in and out.
#include "trust.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cmath>
#include <ctime>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tg {
namespace trust {
namespace {

// Where Debian, Ubuntu, Fedora (via p11-kit) and Alpine keep the hashed system roots.
constexpr const char* kSystemRootsDir = "/etc/ssl/certs";
// Clock tolerance for an OCSP response's thisUpdate/nextUpdate: the 5 minutes `openssl ocsp`
// allows by default (MAX_VALIDITY_PERIOD in apps/ocsp.c).
constexpr long kOcspLeewaySeconds = 5 * 60;

struct ErrorQueueGuard {
  ErrorQueueGuard() { ERR_clear_error(); }
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Deleter<OCSP_CERTID, OCSP_CERTID_free>>;

struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const {
    if (s) sk_X509_pop_free(s, X509_free);
  }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// The deepest OpenSSL error on this thread's queue, as text.
std::string LastOpenSslError(const char* fallback) {
  unsigned long code = ERR_peek_last_error();
  if (code == 0) return fallback;
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

X509Ptr ParseCertificate(const Der& der, std::string* why) {
  if (der.empty()) {
    *why = "is empty";
    return nullptr;
  }
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    *why = "is not a DER X.509 certificate (" + LastOpenSslError("does not parse") + ")";
    return nullptr;
  }
  if (p != der.data() + der.size()) {
    long extra = static_cast<long>(der.data() + der.size() - p);
    *why = "has " + std::to_string(extra) + (extra == 1 ? " byte" : " bytes") + " after its end";
    return nullptr;
  }
  return cert;
}

// Parsed certificates by their DER bytes, shared between evaluations. With OpenSSL 3.0 most of
// an evaluation's time is d2i_X509 setting up a decoder for the public key; the same anchors
// and server chains come back at every check. X509 objects are reference-counted and safe to
// use from several threads at once (X509_STOREs share them the same way). Bounded, least
// recently used first out.
class CertificateCache {
 public:
  X509Ptr Get(const Der& der, std::string* why) {
    std::string key(der.begin(), der.end());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = index_.find(key);
      if (found != index_.end()) {
        order_.splice(order_.begin(), order_, found->second);
        X509_up_ref(found->second->second);
        return X509Ptr(found->second->second);
      }
    }
    X509Ptr cert = ParseCertificate(der, why);
    if (!cert) return cert;
    std::lock_guard<std::mutex> lock(mutex_);
    if (index_.count(key) == 0) {
      X509_up_ref(cert.get());
      order_.emplace_front(key, cert.get());
      index_.emplace(std::move(key), order_.begin());
      if (order_.size() > kCapacity) {
        X509_free(order_.back().second);
        index_.erase(order_.back().first);
        order_.pop_back();
      }
    }
    return cert;
  }

 private:
  static constexpr size_t kCapacity = 512;
  std::mutex mutex_;
  std::list<std::pair<std::string, X509*>> order_;
  std::unordered_map<std::string, std::list<std::pair<std::string, X509*>>::iterator> index_;
};

CertificateCache& Certificates() {
  // Never destroyed: worker threads may still evaluate while the process exits.
  static CertificateCache* cache = new CertificateCache();
  return *cache;
}

// The one table from OpenSSL's verify errors to Apple's result names (SecTrustResultType), as
// Security's trust/trustd/SecPolicyChecks.list classifies the matching Apple checks: name, time,
// trust and usage problems are recoverable; revocation is fatal. Bad signatures and structurally
// broken chains are reported as fatal here (Apple's path builder discards such paths).
const char* ResultNameFor(int error) {
  switch (error) {
    case X509_V_OK:
      // A chain that ends at a trusted anchor without an explicit per-certificate trust
      // setting: what macOS reports as kSecTrustResultUnspecified.
      return "unspecified";
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_NON_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_OCSP_VERIFY_NEEDED:
    case X509_V_ERR_OCSP_CERT_UNKNOWN:
    case X509_V_ERR_OCSP_VERIFY_FAILED:
      return "recoverableTrustFailure";
    case X509_V_ERR_CERT_REVOKED:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_NO_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_INVALID_POLICY_EXTENSION:
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM:
    case X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH:
    case X509_V_ERR_PATH_LOOP:
    case X509_V_ERR_AKID_SKID_MISMATCH:
    case X509_V_ERR_SUBJECT_ISSUER_MISMATCH:
      return "fatalTrustFailure";
    case X509_V_ERR_CERT_REJECTED:
      // An anchor explicitly distrusted for this purpose: Apple's UsageConstraints check (D).
      return "deny";
    case X509_V_ERR_INVALID_CALL:
      return "invalid";
    default:
      return "otherError";
  }
}

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  // RFC 2253/4514 order and escaping, UTF-8 kept as UTF-8 (no \XX escapes of high bytes).
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return "";
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

double TimeMs(const ASN1_TIME* time) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return NAN;
  return static_cast<double>(timegm(&tm)) * 1000.0;
}

std::string Hex(const unsigned char* bytes, size_t length) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (size_t i = 0; i < length; i++) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

std::vector<std::string> OcspUrls(X509* cert) {
  std::vector<std::string> out;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert);
  if (!urls) return out;
  for (int i = 0; i < sk_OPENSSL_STRING_num(urls); i++) out.emplace_back(sk_OPENSSL_STRING_value(urls, i));
  X509_email_free(urls);  // X509_get1_ocsp's documented release function
  return out;
}

std::vector<std::string> CrlUrls(X509* cert) {
  std::vector<std::string> out;
  auto* points = static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  if (!points) return out;
  for (int i = 0; i < sk_DIST_POINT_num(points); i++) {
    DIST_POINT* point = sk_DIST_POINT_value(points, i);
    if (!point->distpoint || point->distpoint->type != 0) continue;  // 0: fullName
    GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
      GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)), static_cast<size_t>(ASN1_STRING_length(uri)));
    }
  }
  CRL_DIST_POINTS_free(points);
  return out;
}

CertificateDetails Describe(X509* cert) {
  CertificateDetails d;
  d.subject = NameText(X509_get_subject_name(cert));
  d.issuer = NameText(X509_get_issuer_name(cert));
  d.notBeforeMs = TimeMs(X509_get0_notBefore(cert));
  d.notAfterMs = TimeMs(X509_get0_notAfter(cert));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) == 1) d.sha256 = Hex(digest, length);
  d.ocspUrls = OcspUrls(cert);
  d.crlUrls = CrlUrls(cert);
  int size = i2d_X509(cert, nullptr);
  if (size > 0) {
    d.der.resize(static_cast<size_t>(size));
    unsigned char* p = d.der.data();
    i2d_X509(cert, &p);
  }
  return d;
}

enum class RevocationStatus { kNone, kGood, kRevoked, kUnknown };

// OCSP_check_validity's rule (crypto/ocsp/ocsp_cl.c) at time t rather than the current time,
// which is all OCSP_check_validity itself can use: thisUpdate ≤ t + leeway, nextUpdate (when
// present) ≥ t − leeway, and nextUpdate not before thisUpdate.
bool CurrentAt(const ASN1_GENERALIZEDTIME* thisUpdate, const ASN1_GENERALIZEDTIME* nextUpdate, time_t t) {
  time_t late = t + kOcspLeewaySeconds;
  time_t early = t - kOcspLeewaySeconds;
  if (!thisUpdate || ASN1_GENERALIZEDTIME_check(thisUpdate) != 1 || X509_cmp_time(thisUpdate, &late) > 0) return false;
  if (!nextUpdate) return true;
  if (ASN1_GENERALIZEDTIME_check(nextUpdate) != 1 || X509_cmp_time(nextUpdate, &early) < 0) return false;
  return ASN1_TIME_compare(nextUpdate, thisUpdate) >= 0;
}

// The status the responses give each certificate of the verified chain (except the anchor).
// A response that does not parse, is not "successful", is not signed by an authorised responder
// that chains to the store, or is not current at `t` is ignored, as trustd ignores unusable
// stapled responses.
std::vector<RevocationStatus> RevocationStatuses(const std::vector<Der>& responses, STACK_OF(X509) * chain, X509_STORE* store,
                                                 time_t t) {
  int count = sk_X509_num(chain);
  std::vector<RevocationStatus> statuses(static_cast<size_t>(count), RevocationStatus::kNone);
  for (const Der& der : responses) {
    const unsigned char* p = der.data();
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
    if (!response || OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) continue;
    OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
    if (!basic) continue;
    // OCSP_NOEXPLICIT: the signer must be the certificate's issuer or a responder it delegated
    // to (id-kp-OCSPSigning); without it OpenSSL also accepts any signer whose root is merely
    // trusted, i.e. any certificate of the same PKI.
    if (OCSP_basic_verify(basic.get(), chain, store, OCSP_NOEXPLICIT) <= 0) {
      ERR_clear_error();
      continue;
    }
    for (int i = 0; i + 1 < count; i++) {
      X509* cert = sk_X509_value(chain, i);
      X509* issuer = sk_X509_value(chain, i + 1);
      // Responders answer for the CertID the request carried; try the usual digests.
      for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
        OcspCertIdPtr id(OCSP_cert_to_id(md, cert, issuer));
        if (!id) continue;
        int status = -1;
        int reason = -1;
        ASN1_GENERALIZEDTIME *revokedAt = nullptr, *thisUpdate = nullptr, *nextUpdate = nullptr;
        if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revokedAt, &thisUpdate, &nextUpdate) != 1) continue;
        if (!CurrentAt(thisUpdate, nextUpdate, t)) continue;
        RevocationStatus found = status == V_OCSP_CERTSTATUS_GOOD      ? RevocationStatus::kGood
                                 : status == V_OCSP_CERTSTATUS_REVOKED ? RevocationStatus::kRevoked
                                                                       : RevocationStatus::kUnknown;
        // A revoked answer wins over any other; a definite answer over "unknown".
        RevocationStatus& slot = statuses[static_cast<size_t>(i)];
        if (found == RevocationStatus::kRevoked || slot == RevocationStatus::kNone ||
            (slot == RevocationStatus::kUnknown && found == RevocationStatus::kGood)) {
          slot = found;
        }
        break;
      }
    }
    ERR_clear_error();
  }
  return statuses;
}

// The verify callback: records every error OpenSSL reports (code and depth) and lets the
// verification go on, so that one evaluation lists all of a chain's problems, as
// `openssl verify -verbose` with errors ignored would; the first one recorded is the one the
// default callback would have stopped at.
int CollectErrors(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* errors = static_cast<std::vector<CertificateError>*>(X509_STORE_CTX_get_app_data(ctx));
  int code = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  if (errors != nullptr && code != X509_V_OK) {
    bool seen = false;
    for (const CertificateError& e : *errors) seen = seen || (e.code == code && e.depth == depth);
    if (!seen) errors->push_back({depth, code, X509_verify_cert_error_string(code), ""});
  }
  return 1;
}

void SetError(Evaluation* out, int code, const char* message = nullptr) {
  out->trusted = false;
  out->hasError = true;
  out->errorCode = code;
  out->errorMessage = message ? message : X509_verify_cert_error_string(code);
  out->result = ResultNameFor(code);
}

}  // namespace

bool Evaluate(const Request& request, Evaluation* out, Failure* failure) {
  ErrorQueueGuard guard;
  std::vector<X509Ptr> chain;
  for (size_t i = 0; i < request.chain.size(); i++) {
    std::string why;
    X509Ptr cert = Certificates().Get(request.chain[i], &why);
    if (!cert) {
      *failure = {"malformed", "chain", static_cast<int>(i), "certificate " + std::to_string(i + 1) + " of the chain " + why};
      return false;
    }
    chain.push_back(std::move(cert));
  }
  std::vector<X509Ptr> anchors;
  for (size_t i = 0; i < request.anchors.size(); i++) {
    std::string why;
    X509Ptr cert = Certificates().Get(request.anchors[i], &why);
    if (!cert) {
      *failure = {"malformed", "anchors", static_cast<int>(i), "anchor certificate " + std::to_string(i + 1) + " " + why};
      return false;
    }
    anchors.push_back(std::move(cert));
  }

  auto osFailure = [&](const char* what) {
    *failure = {"os", "", -1, std::string(what) + ": " + LastOpenSslError("OpenSSL failed")};
    return false;
  };

  StorePtr store(X509_STORE_new());
  if (!store) return osFailure("X509_STORE_new");
  if (!request.anchorsOnly) {
    // A missing directory is not an error here: the chain then simply finds no system root.
    X509_STORE_load_path(store.get(), kSystemRootsDir);
    ERR_clear_error();
  }
  for (const X509Ptr& anchor : anchors) {
    if (X509_STORE_add_cert(store.get(), anchor.get()) != 1) return osFailure("X509_STORE_add_cert");
  }
  // The store's parameters are what OCSP_basic_verify uses for the responder's chain: it
  // gets the verify time too. Host and purpose go on the evaluation's own context only.
  X509_VERIFY_PARAM* storeParam = X509_STORE_get0_param(store.get());
  time_t verifyTime = time(nullptr);
  if (request.hasVerifyDate) {
    verifyTime = static_cast<time_t>(std::floor(request.verifyDateMs / 1000.0));
    X509_VERIFY_PARAM_set_time(storeParam, verifyTime);
  }
  // Custom anchors are trust anchors even when they are not self-signed (an intermediate), as
  // SecTrustSetAnchorCertificates makes them.
  if (request.hasAnchors) X509_VERIFY_PARAM_set_flags(storeParam, X509_V_FLAG_PARTIAL_CHAIN);

  X509StackPtr untrusted(sk_X509_new_null());
  if (!untrusted) return osFailure("sk_X509_new_null");
  for (size_t i = 1; i < chain.size(); i++) {
    if (!sk_X509_push(untrusted.get(), chain[i].get())) return osFailure("sk_X509_push");
    X509_up_ref(chain[i].get());
  }

  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx) return osFailure("X509_STORE_CTX_new");
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()) != 1) return osFailure("X509_STORE_CTX_init");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (request.policy == Policy::kSsl) {
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    if (request.hasHostname) {
      // An IP literal matches iPAddress names; anything else is a DNS name.
      if (X509_VERIFY_PARAM_set1_ip_asc(param, request.hostname.c_str()) != 1) {
        ERR_clear_error();
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_host(param, request.hostname.c_str(), request.hostname.size()) != 1) {
          return osFailure("X509_VERIFY_PARAM_set1_host");
        }
      }
    }
  }

  X509_STORE_CTX_set_app_data(ctx.get(), &out->errors);
  X509_STORE_CTX_set_verify_cb(ctx.get(), CollectErrors);
  int ok = X509_verify_cert(ctx.get());
  if (ok == 1 && !out->errors.empty()) ok = 0;
  int error = out->errors.empty() ? X509_STORE_CTX_get_error(ctx.get()) : static_cast<int>(out->errors.front().code);
  if (ok == 1) {
    out->trusted = true;
    out->result = ResultNameFor(X509_V_OK);
  } else if (error == X509_V_OK) {
    // X509_verify_cert failed without a verify error: an internal failure (memory, lookup).
    SetError(out, X509_V_ERR_UNSPECIFIED, nullptr);
    out->errorMessage = LastOpenSslError("unspecified certificate verification error");
    out->errors.push_back({0, X509_V_ERR_UNSPECIFIED, out->errorMessage, ""});
  } else {
    SetError(out, error);
  }

  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
  if (out->trusted && built && (!request.ocspResponses.empty() || request.requireRevocationCheck)) {
    std::vector<RevocationStatus> statuses = RevocationStatuses(request.ocspResponses, built, store.get(), verifyTime);
    for (size_t i = 0; i < statuses.size(); i++) {
      if (statuses[i] == RevocationStatus::kRevoked) {
        SetError(out, X509_V_ERR_CERT_REVOKED);
        out->errors.push_back(
            {static_cast<int>(i), X509_V_ERR_CERT_REVOKED, X509_verify_cert_error_string(X509_V_ERR_CERT_REVOKED), ""});
        if (i > 0) out->errorMessage += " (certificate " + std::to_string(i + 1) + " of the chain)";
        break;
      }
    }
    RevocationStatus leaf = statuses.empty() ? RevocationStatus::kNone : statuses[0];
    out->revocationChecked = leaf == RevocationStatus::kGood || leaf == RevocationStatus::kRevoked;
    // Like Apple's RevocationResponseRequired check, a leaf-only requirement.
    if (out->trusted && request.requireRevocationCheck && leaf != RevocationStatus::kGood) {
      int code = leaf == RevocationStatus::kUnknown ? X509_V_ERR_OCSP_CERT_UNKNOWN : X509_V_ERR_OCSP_VERIFY_NEEDED;
      SetError(out, code);
      out->errors.push_back({0, code, X509_verify_cert_error_string(code), ""});
    }
  }
  if (built) {
    for (int i = 0; i < sk_X509_num(built); i++) out->chain.push_back(Describe(sk_X509_value(built, i)));
  }
  if (out->chain.empty()) out->chain.push_back(Describe(chain[0].get()));
  return true;
}

}  // namespace trust
}  // namespace tg
