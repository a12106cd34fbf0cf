// Trust capability on macOS: one chain evaluation by Security.framework's SecTrust (trustd),
// through its C API only. Every Create/Copy result is released with CFRelease on every path, the
// error paths included, in plain code that clang's analyzer (osx.cocoa.RetainCount) can follow.
//
// How macOS behaves, and where Apple's sources say so (apple-oss-distributions/Security):
// - SecTrustSetAnchorCertificates makes the given anchors the only ones unless
//   SecTrustSetAnchorCertificatesOnly(false) follows (trust/headers/SecTrust.h).
// - Network fetching is off for every evaluation here (SecTrustSetNetworkFetchAllowed(false)):
//   no missing intermediate is downloaded (so an incomplete chain shows, as on Linux) and no
//   OCSP/CRL request is made; the OCSP responses the caller fetched are stapled with
//   SecTrustSetOCSPResponse and checked first (SecORVCProcessStapledResponses in
//   trust/trustd/SecRevocationServer.c), then trustd's own revocation caches.
// - kSecRevocationRequirePositiveResponse fails the leaf only (RevocationResponseRequired is a
//   leaf check in OSX/sec/Security/SecPolicyChecks.list) with errSecIncompleteCertRevocationCheck.
// - The error of SecTrustEvaluateWithError carries the OSStatus of the most serious failure
//   (trust/headers/SecTrust.h); expired and not-yet-valid certificates both report
//   errSecCertificateExpired (TemporalValidity in SecPolicyChecks.list): agent/trust tells
//   them apart from the chain's dates.
// - SecCertificateCopyValues returns names as arrays of {label: the attribute's dotted OID,
//   value: string} in DER order, a multi-valued RDN as a nested section, validity dates as
//   CFAbsoluteTime numbers, and extensions by dotted OID with URLs as CFURLs
//   (OSX/libsecurity_keychain/lib/CertificateValues.cpp, OSX/sec/Security/SecCertificate.c).
#include "trust.h"

#include <CommonCrypto/CommonDigest.h>
#include <CoreFoundation/CoreFoundation.h>
#include <Security/Security.h>

#include <cmath>
#include <string>
#include <vector>

namespace tg {
namespace trust {
namespace {

std::string Utf8(CFStringRef text) {
  if (!text) return "";
  CFIndex length = CFStringGetLength(text);
  CFIndex size = CFStringGetMaximumSizeForEncoding(length, kCFStringEncodingUTF8) + 1;
  std::vector<char> buffer(static_cast<size_t>(size));
  if (!CFStringGetCString(text, buffer.data(), size, kCFStringEncodingUTF8)) return "";
  return std::string(buffer.data());
}

// The size a DER element declares for itself (tag, length and content), or 0 when its header is
// not a definite DER length. Used to refuse bytes after a certificate, as d2i_X509 does on Linux.
size_t DeclaredSize(const Der& der) {
  if (der.size() < 2) return 0;
  size_t first = der[1];
  if (first < 0x80) return 2 + first;
  size_t count = first & 0x7f;
  if (count == 0 || count > 4 || der.size() < 2 + count) return 0;
  size_t length = 0;
  for (size_t i = 0; i < count; i++) length = (length << 8) | der[2 + i];
  return 2 + count + length;
}

CFDataRef CreateData(const Der& bytes) {
  return CFDataCreate(kCFAllocatorDefault, bytes.data(), static_cast<CFIndex>(bytes.size()));
}

// SecTrustResultType → Apple's own name for it. kSecTrustResultConfirm (2) is deprecated since
// macOS 10.9 and never returned: it falls under otherError with any unknown value.
const char* ResultName(SecTrustResultType result) {
  switch (result) {
    case kSecTrustResultInvalid:
      return "invalid";
    case kSecTrustResultProceed:
      return "proceed";
    case kSecTrustResultDeny:
      return "deny";
    case kSecTrustResultUnspecified:
      return "unspecified";
    case kSecTrustResultRecoverableTrustFailure:
      return "recoverableTrustFailure";
    case kSecTrustResultFatalTrustFailure:
      return "fatalTrustFailure";
    default:
      return "otherError";
  }
}

bool IsType(CFTypeRef value, CFTypeID type) { return value && CFGetTypeID(value) == type; }

CFStringRef StringIn(CFDictionaryRef dict, CFStringRef key) {
  CFTypeRef value = CFDictionaryGetValue(dict, key);
  return IsType(value, CFStringGetTypeID()) ? static_cast<CFStringRef>(value) : nullptr;
}

// The array inside one SecCertificateCopyValues entry (a section), or null.
CFArrayRef SectionItems(CFDictionaryRef values, CFStringRef key) {
  if (!values) return nullptr;
  CFTypeRef entry = CFDictionaryGetValue(values, key);
  if (!IsType(entry, CFDictionaryGetTypeID())) return nullptr;
  CFTypeRef items = CFDictionaryGetValue(static_cast<CFDictionaryRef>(entry), kSecPropertyKeyValue);
  return IsType(items, CFArrayGetTypeID()) ? static_cast<CFArrayRef>(items) : nullptr;
}

// OpenSSL's short names for the attributes it prints by name, so that both platforms write
// the same distinguished names; any other attribute is written as its dotted OID.
std::string AttributeName(const std::string& oid) {
  static const struct {
    const char* oid;
    const char* name;
  } names[] = {
      {"2.5.4.3", "CN"},
      {"2.5.4.4", "SN"},
      {"2.5.4.5", "serialNumber"},
      {"2.5.4.6", "C"},
      {"2.5.4.7", "L"},
      {"2.5.4.8", "ST"},
      {"2.5.4.9", "street"},
      {"2.5.4.10", "O"},
      {"2.5.4.11", "OU"},
      {"2.5.4.12", "title"},
      {"2.5.4.15", "businessCategory"},
      {"2.5.4.17", "postalCode"},
      {"2.5.4.42", "GN"},
      {"2.5.4.43", "initials"},
      {"2.5.4.44", "generationQualifier"},
      {"2.5.4.46", "dnQualifier"},
      {"2.5.4.65", "pseudonym"},
      {"2.5.4.97", "organizationIdentifier"},
      {"0.9.2342.19200300.100.1.1", "UID"},
      {"0.9.2342.19200300.100.1.25", "DC"},
      {"1.2.840.113549.1.9.1", "emailAddress"},
      {"1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"},
      {"1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"},
      {"1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"},
  };
  for (const auto& entry : names) {
    if (oid == entry.oid) return entry.name;
  }
  return oid;
}

// RFC 4514 §2.4: escape the special characters, a leading '#' or space, a trailing space.
std::string EscapeValue(const std::string& value) {
  std::string out;
  for (size_t i = 0; i < value.size(); i++) {
    char c = value[i];
    bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';';
    bool edge = (i == 0 && (c == '#' || c == ' ')) || (i + 1 == value.size() && c == ' ');
    if (special || edge) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string Attribute(CFTypeRef item) {
  if (!IsType(item, CFDictionaryGetTypeID())) return "";
  CFDictionaryRef dict = static_cast<CFDictionaryRef>(item);
  CFStringRef label = StringIn(dict, kSecPropertyKeyLabel);
  CFStringRef value = StringIn(dict, kSecPropertyKeyValue);
  if (!label || !value) return "";
  return AttributeName(Utf8(label)) + "=" + EscapeValue(Utf8(value));
}

// A name as RFC 4514 writes it: the last RDN first, RDNs joined by ',', the attributes of a
// multi-valued RDN by '+'.
std::string NameText(CFArrayRef rdns) {
  if (!rdns) return "";
  std::string out;
  for (CFIndex i = CFArrayGetCount(rdns) - 1; i >= 0; i--) {
    CFTypeRef rdn = CFArrayGetValueAtIndex(rdns, i);
    std::string text;
    CFTypeRef nested = IsType(rdn, CFDictionaryGetTypeID())
                           ? CFDictionaryGetValue(static_cast<CFDictionaryRef>(rdn), kSecPropertyKeyValue)
                           : nullptr;
    if (IsType(nested, CFArrayGetTypeID())) {
      CFArrayRef attributes = static_cast<CFArrayRef>(nested);
      for (CFIndex j = 0; j < CFArrayGetCount(attributes); j++) {
        std::string attribute = Attribute(CFArrayGetValueAtIndex(attributes, j));
        if (attribute.empty()) continue;
        if (!text.empty()) text += "+";
        text += attribute;
      }
    } else {
      text = Attribute(rdn);
    }
    if (text.empty()) continue;
    if (!out.empty()) out += ",";
    out += text;
  }
  return out;
}

// A validity date entry: a CFAbsoluteTime number (or a CFDate), as Unix ms.
double DateMs(CFDictionaryRef values, CFStringRef key) {
  if (!values) return NAN;
  CFTypeRef entry = CFDictionaryGetValue(values, key);
  if (!IsType(entry, CFDictionaryGetTypeID())) return NAN;
  CFTypeRef value = CFDictionaryGetValue(static_cast<CFDictionaryRef>(entry), kSecPropertyKeyValue);
  CFAbsoluteTime at = 0;
  if (IsType(value, CFNumberGetTypeID())) {
    if (!CFNumberGetValue(static_cast<CFNumberRef>(value), kCFNumberDoubleType, &at)) return NAN;
  } else if (IsType(value, CFDateGetTypeID())) {
    at = CFDateGetAbsoluteTime(static_cast<CFDateRef>(value));
  } else {
    return NAN;
  }
  return (at + kCFAbsoluteTimeIntervalSince1970) * 1000.0;
}

std::string UrlText(CFTypeRef value) {
  if (IsType(value, CFURLGetTypeID())) return Utf8(CFURLGetString(static_cast<CFURLRef>(value)));
  if (IsType(value, CFStringGetTypeID())) return Utf8(static_cast<CFStringRef>(value));
  return "";
}

// The URLs of the section's URL-typed entries; with `method`, only those whose preceding
// "Access Method" entry (authorityInfoAccess) is that OID.
std::vector<std::string> Urls(CFArrayRef items, const char* method) {
  std::vector<std::string> out;
  if (!items) return out;
  std::string lastMethod;
  for (CFIndex i = 0; i < CFArrayGetCount(items); i++) {
    CFTypeRef item = CFArrayGetValueAtIndex(items, i);
    if (!IsType(item, CFDictionaryGetTypeID())) continue;
    CFDictionaryRef dict = static_cast<CFDictionaryRef>(item);
    CFStringRef type = StringIn(dict, kSecPropertyKeyType);
    CFTypeRef value = CFDictionaryGetValue(dict, kSecPropertyKeyValue);
    if (type && CFEqual(type, kSecPropertyTypeURL)) {
      if (!method || lastMethod == method) {
        std::string url = UrlText(value);
        if (!url.empty()) out.push_back(url);
      }
    } else if (type && CFEqual(type, kSecPropertyTypeString) && IsType(value, CFStringGetTypeID())) {
      std::string text = Utf8(static_cast<CFStringRef>(value));
      if (text.rfind("1.3.6.1.5.5.7.48.", 0) == 0) lastMethod = text;
    }
  }
  return out;
}

CertificateDetails Describe(SecCertificateRef cert) {
  CertificateDetails d;
  CFDataRef data = SecCertificateCopyData(cert);
  if (data) {
    const UInt8* bytes = CFDataGetBytePtr(data);
    CFIndex length = CFDataGetLength(data);
    d.der.assign(bytes, bytes + length);
    unsigned char digest[CC_SHA256_DIGEST_LENGTH];
    CC_SHA256(bytes, static_cast<CC_LONG>(length), digest);
    static const char hex[] = "0123456789abcdef";
    for (unsigned char b : digest) {
      d.sha256.push_back(hex[b >> 4]);
      d.sha256.push_back(hex[b & 15]);
    }
    CFRelease(data);
  }
  const void* keyList[] = {kSecOIDX509V1SubjectName,      kSecOIDX509V1IssuerName,    kSecOIDX509V1ValidityNotBefore,
                           kSecOIDX509V1ValidityNotAfter, kSecOIDAuthorityInfoAccess, kSecOIDCrlDistributionPoints};
  CFArrayRef keys = CFArrayCreate(kCFAllocatorDefault, keyList, sizeof keyList / sizeof keyList[0], &kCFTypeArrayCallBacks);
  CFErrorRef error = nullptr;
  CFDictionaryRef values = keys ? SecCertificateCopyValues(cert, keys, &error) : nullptr;
  d.subject = NameText(SectionItems(values, kSecOIDX509V1SubjectName));
  d.issuer = NameText(SectionItems(values, kSecOIDX509V1IssuerName));
  d.notBeforeMs = DateMs(values, kSecOIDX509V1ValidityNotBefore);
  d.notAfterMs = DateMs(values, kSecOIDX509V1ValidityNotAfter);
  d.ocspUrls = Urls(SectionItems(values, kSecOIDAuthorityInfoAccess), "1.3.6.1.5.5.7.48.1");
  d.crlUrls = Urls(SectionItems(values, kSecOIDCrlDistributionPoints), nullptr);
  if (values) CFRelease(values);
  if (error) CFRelease(error);
  if (keys) CFRelease(keys);
  return d;
}

// The certificates of `ders` as a new CFArray of SecCertificateRef, or null with *failure set.
CFMutableArrayRef CreateCertificates(const std::vector<Der>& ders, const char* input, Failure* failure) {
  CFMutableArrayRef array = CFArrayCreateMutable(kCFAllocatorDefault, 0, &kCFTypeArrayCallBacks);
  if (!array) {
    *failure = {"os", "", -1, "CFArrayCreateMutable failed"};
    return nullptr;
  }
  for (size_t i = 0; i < ders.size(); i++) {
    CFDataRef data = CreateData(ders[i]);
    SecCertificateRef cert = data ? SecCertificateCreateWithData(kCFAllocatorDefault, data) : nullptr;
    if (data) CFRelease(data);
    size_t declared = DeclaredSize(ders[i]);
    bool trailing = cert && declared != 0 && declared < ders[i].size();
    if (!cert || trailing) {
      std::string what = std::string(input) == "chain" ? "certificate " + std::to_string(i + 1) + " of the chain"
                                                      : "anchor certificate " + std::to_string(i + 1);
      size_t extra = trailing ? ders[i].size() - declared : 0;
      std::string why = ders[i].empty() ? " is empty"
                        : trailing      ? " has " + std::to_string(extra) + (extra == 1 ? " byte" : " bytes") + " after its end"
                                        : " is not a DER X.509 certificate";
      *failure = {"malformed", input, static_cast<int>(i), what + why};
      if (cert) CFRelease(cert);
      CFRelease(array);
      return nullptr;
    }
    CFArrayAppendValue(array, cert);
    CFRelease(cert);
  }
  return array;
}

bool OsFailure(Failure* failure, const char* what, OSStatus status) {
  *failure = {"os", "", -1, std::string(what) + " failed (OSStatus " + std::to_string(status) + ")"};
  return false;
}

// The policies of a request: SSL (server, with the host name) or basic X.509, plus OCSP
// revocation from stapled responses only when responses are given or a check is required.
CFMutableArrayRef CreatePolicies(const Request& request, Failure* failure) {
  CFMutableArrayRef policies = CFArrayCreateMutable(kCFAllocatorDefault, 0, &kCFTypeArrayCallBacks);
  if (!policies) {
    OsFailure(failure, "CFArrayCreateMutable", errSecAllocate);
    return nullptr;
  }
  SecPolicyRef policy = nullptr;
  if (request.policy == Policy::kSsl) {
    CFStringRef hostname = nullptr;
    if (request.hasHostname) {
      hostname = CFStringCreateWithBytes(kCFAllocatorDefault, reinterpret_cast<const UInt8*>(request.hostname.data()),
                                         static_cast<CFIndex>(request.hostname.size()), kCFStringEncodingUTF8, false);
      if (!hostname) {
        OsFailure(failure, "CFStringCreateWithBytes", errSecParam);
        CFRelease(policies);
        return nullptr;
      }
    }
    policy = SecPolicyCreateSSL(true, hostname);
    if (hostname) CFRelease(hostname);
  } else {
    policy = SecPolicyCreateBasicX509();
  }
  if (!policy) {
    OsFailure(failure, request.policy == Policy::kSsl ? "SecPolicyCreateSSL" : "SecPolicyCreateBasicX509", errSecInternalComponent);
    CFRelease(policies);
    return nullptr;
  }
  CFArrayAppendValue(policies, policy);
  CFRelease(policy);
  if (!request.ocspResponses.empty() || request.requireRevocationCheck) {
    CFOptionFlags flags = kSecRevocationOCSPMethod | kSecRevocationNetworkAccessDisabled;
    if (request.requireRevocationCheck) flags |= kSecRevocationRequirePositiveResponse;
    SecPolicyRef revocation = SecPolicyCreateRevocation(flags);
    if (!revocation) {
      OsFailure(failure, "SecPolicyCreateRevocation", errSecInternalComponent);
      CFRelease(policies);
      return nullptr;
    }
    CFArrayAppendValue(policies, revocation);
    CFRelease(revocation);
  }
  return policies;
}

// Sets up `trust` as the request asks: anchors, no network, verify date, stapled OCSP responses.
bool Configure(SecTrustRef trust, const Request& request, CFArrayRef anchors, Failure* failure) {
  OSStatus status = errSecSuccess;
  if (anchors) {
    status = SecTrustSetAnchorCertificates(trust, anchors);
    if (status != errSecSuccess) return OsFailure(failure, "SecTrustSetAnchorCertificates", status);
    status = SecTrustSetAnchorCertificatesOnly(trust, request.anchorsOnly);
    if (status != errSecSuccess) return OsFailure(failure, "SecTrustSetAnchorCertificatesOnly", status);
  }
  status = SecTrustSetNetworkFetchAllowed(trust, false);
  if (status != errSecSuccess) return OsFailure(failure, "SecTrustSetNetworkFetchAllowed", status);
  if (request.hasVerifyDate) {
    CFDateRef date = CFDateCreate(kCFAllocatorDefault, request.verifyDateMs / 1000.0 - kCFAbsoluteTimeIntervalSince1970);
    if (!date) return OsFailure(failure, "CFDateCreate", errSecAllocate);
    status = SecTrustSetVerifyDate(trust, date);
    CFRelease(date);
    if (status != errSecSuccess) return OsFailure(failure, "SecTrustSetVerifyDate", status);
  }
  if (!request.ocspResponses.empty()) {
    CFMutableArrayRef responses = CFArrayCreateMutable(kCFAllocatorDefault, 0, &kCFTypeArrayCallBacks);
    if (!responses) return OsFailure(failure, "CFArrayCreateMutable", errSecAllocate);
    for (const Der& response : request.ocspResponses) {
      CFDataRef data = CreateData(response);
      if (!data) {
        CFRelease(responses);
        return OsFailure(failure, "CFDataCreate", errSecAllocate);
      }
      CFArrayAppendValue(responses, data);
      CFRelease(data);
    }
    status = SecTrustSetOCSPResponse(trust, responses);
    CFRelease(responses);
    if (status != errSecSuccess) return OsFailure(failure, "SecTrustSetOCSPResponse", status);
  }
  return true;
}

// Evaluates a configured trust and reads its verdict, error and chain into *out.
bool Run(SecTrustRef trust, CFArrayRef input, Evaluation* out, Failure* failure) {
  CFErrorRef error = nullptr;
  bool trusted = SecTrustEvaluateWithError(trust, &error);
  SecTrustResultType result = kSecTrustResultInvalid;
  OSStatus status = SecTrustGetTrustResult(trust, &result);
  if (status != errSecSuccess) {
    if (error) CFRelease(error);
    OsFailure(failure, "SecTrustGetTrustResult", status);
    return false;
  }
  out->trusted = trusted;
  out->result = ResultName(result);
  if (error) {
    out->hasError = true;
    out->errorCode = static_cast<int64_t>(CFErrorGetCode(error));
    CFStringRef description = CFErrorCopyDescription(error);
    out->errorMessage = Utf8(description);
    if (description) CFRelease(description);
    CFRelease(error);
  }

  CFDictionaryRef details = SecTrustCopyResult(trust);
  if (details) {
    CFTypeRef checked = CFDictionaryGetValue(details, kSecTrustRevocationChecked);
    out->revocationChecked = IsType(checked, CFBooleanGetTypeID()) && CFBooleanGetValue(static_cast<CFBooleanRef>(checked));
    // Every failed check of every certificate: "TrustResultDetails" (kSecTrustResultDetails,
    // trust/headers/SecTrustPriv.h) is one dictionary per certificate of the built chain, keyed
    // by the names of the checks that failed on it (SecPVCSetResult in trust/trustd/SecPolicyServer.c);
    // on macOS each also holds "StatusCodes" (SecTrustCopyResult, OSX/sec/Security/SecTrust.c).
    CFTypeRef perCertificate = CFDictionaryGetValue(details, CFSTR("TrustResultDetails"));
    if (IsType(perCertificate, CFArrayGetTypeID())) {
      CFArrayRef list = static_cast<CFArrayRef>(perCertificate);
      for (CFIndex i = 0; i < CFArrayGetCount(list); i++) {
        CFTypeRef entry = CFArrayGetValueAtIndex(list, i);
        if (!IsType(entry, CFDictionaryGetTypeID())) continue;
        CFDictionaryRef checks = static_cast<CFDictionaryRef>(entry);
        CFIndex count = CFDictionaryGetCount(checks);
        if (count <= 0) continue;
        std::vector<const void*> keys(static_cast<size_t>(count), nullptr);
        CFDictionaryGetKeysAndValues(checks, keys.data(), nullptr);
        for (const void* key : keys) {
          if (!IsType(static_cast<CFTypeRef>(key), CFStringGetTypeID())) continue;
          std::string name = Utf8(static_cast<CFStringRef>(key));
          if (name.empty() || name == "StatusCodes") continue;
          out->errors.push_back({static_cast<int>(i), 0, name, name});
        }
      }
    }
    CFRelease(details);
  }

  // The chain as trustd built it (leaf first, up to the anchor); the input when there is none.
  CFArrayRef evaluated = SecTrustCopyCertificateChain(trust);
  CFArrayRef certificates = evaluated ? evaluated : input;
  for (CFIndex i = 0; i < CFArrayGetCount(certificates); i++) {
    CFTypeRef cert = CFArrayGetValueAtIndex(certificates, i);
    if (IsType(cert, SecCertificateGetTypeID())) out->chain.push_back(Describe((SecCertificateRef)cert));
  }
  if (evaluated) CFRelease(evaluated);
  return true;
}

}  // namespace

bool Evaluate(const Request& request, Evaluation* out, Failure* failure) {
  CFMutableArrayRef chain = CreateCertificates(request.chain, "chain", failure);
  if (!chain) return false;
  // Anchors-only without anchors trusts nothing, as on Linux: an empty anchor list is set.
  bool setAnchors = request.hasAnchors || request.anchorsOnly;
  CFMutableArrayRef anchors = setAnchors ? CreateCertificates(request.anchors, "anchors", failure) : nullptr;
  if (setAnchors && !anchors) {
    CFRelease(chain);
    return false;
  }
  CFMutableArrayRef policies = CreatePolicies(request, failure);
  bool ok = false;
  if (policies) {
    SecTrustRef trust = nullptr;
    OSStatus status = SecTrustCreateWithCertificates(chain, policies, &trust);
    if (status != errSecSuccess || !trust) {
      OsFailure(failure, "SecTrustCreateWithCertificates", status);
    } else {
      ok = Configure(trust, request, anchors, failure) && Run(trust, chain, out, failure);
    }
    if (trust) CFRelease(trust);
    CFRelease(policies);
  }
  if (anchors) CFRelease(anchors);
  CFRelease(chain);
  return ok;
}

}  // namespace trust
}  // namespace tg
