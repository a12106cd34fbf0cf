// macOS: generic passwords through Security.framework's SecItem API (C only).
//
// Listing asks SecItemCopyMatching for kSecClassGenericPassword items of one kSecAttrService
// with kSecMatchLimitAll, kSecReturnAttributes and kSecReturnPersistentRef, never
// kSecReturnData: the secret is never requested.
//  - File-based keychains (accessGroup empty): kSecUseDataProtectionKeychain = false, so the
//    query goes to the legacy keychains only (SecItemCategorizeQuery in Security's
//    OSX/libsecurity_keychain/lib/SecItem.cpp), one keychain at a time (kSecMatchSearchList),
//    so that each item carries its keychain's lock state (SecKeychainGetStatus).
//    Only the user's own keychains: the user domain's list
//    (SecKeychainCopyDomainSearchList(kSecPreferencesDomainUser)), not the merged search list,
//    which adds the common (System.keychain) and dynamic domains
//    (OSX/libsecurity_keychain/lib/StorageManager.cpp, StorageManager::getSearchList merges
//    mDynamicList, mSavedList and mCommonList). SecKeychainGetStatus cannot tell that the user
//    may not write a keychain: it reports kSecWritePermStatus for every unlocked one
//    (OSX/libsecurity_keychain/lib/Keychains.cpp, KeychainImpl::status).
//    Reading attributes needs no unlock and shows no prompt: the legacy path reads them
//    without credentials when no data is asked for (ItemImpl::getContent in
//    OSX/libsecurity_keychain/lib/Item.cpp); deleting from a locked keychain would prompt, so
//    items of a locked keychain are reported as locked and agent/keychain leaves them alone.
//  - Data-protection keychain (accessGroup set): kSecUseDataProtectionKeychain = true and
//    kSecAttrAccessGroup; without the entitlement for the group macOS answers
//    errSecMissingEntitlement, which is returned as is (agent/keychain reports the group as not
//    searched). kSecUseAuthenticationUI = kSecUseAuthenticationUISkip: items that would need
//    authentication UI are skipped, never prompted for.
// Deleting is SecItemDelete with kSecValuePersistentRef: exactly the item listed.
// Every Create/Copy result is released on every path (ScopedCF).
#include "keychain.h"

#include <CoreFoundation/CoreFoundation.h>
#include <Security/Security.h>

#include <string>
#include <vector>

namespace tg {
namespace keychain {

namespace {

// Owns one CF reference (from a Create or Copy function) and releases it.
class ScopedCF {
 public:
  explicit ScopedCF(CFTypeRef ref = nullptr) : ref_(ref) {}
  ~ScopedCF() {
    if (ref_ != nullptr) CFRelease(ref_);
  }
  ScopedCF(const ScopedCF&) = delete;
  ScopedCF& operator=(const ScopedCF&) = delete;
  CFTypeRef get() const { return ref_; }
  CFTypeRef* out() { return &ref_; }

 private:
  CFTypeRef ref_;
};

std::string Utf8(CFStringRef text) {
  if (text == nullptr) return "";
  CFIndex length = CFStringGetLength(text);
  CFIndex size = CFStringGetMaximumSizeForEncoding(length, kCFStringEncodingUTF8) + 1;
  std::vector<char> buffer(static_cast<size_t>(size));
  if (!CFStringGetCString(text, buffer.data(), size, kCFStringEncodingUTF8)) return "";
  return std::string(buffer.data());
}

// A text attribute: a CFString, or CFData holding UTF-8 (the legacy keychain stores some
// attributes as blobs).
Text TextAttribute(CFDictionaryRef attributes, CFStringRef key) {
  Text out;
  CFTypeRef value = CFDictionaryGetValue(attributes, key);
  if (value == nullptr) return out;
  if (CFGetTypeID(value) == CFStringGetTypeID()) {
    out.present = true;
    out.value = Utf8(static_cast<CFStringRef>(value));
  } else if (CFGetTypeID(value) == CFDataGetTypeID()) {
    CFDataRef data = static_cast<CFDataRef>(value);
    ScopedCF text(CFStringCreateWithBytes(kCFAllocatorDefault, CFDataGetBytePtr(data), CFDataGetLength(data),
                                          kCFStringEncodingUTF8, false));
    if (text.get() != nullptr) {
      out.present = true;
      out.value = Utf8(static_cast<CFStringRef>(text.get()));
    }
  }
  return out;
}

bool DateAttribute(CFDictionaryRef attributes, CFStringRef key, double* unixSeconds) {
  CFTypeRef value = CFDictionaryGetValue(attributes, key);
  if (value == nullptr || CFGetTypeID(value) != CFDateGetTypeID()) return false;
  *unixSeconds = CFDateGetAbsoluteTime(static_cast<CFDateRef>(value)) + kCFAbsoluteTimeIntervalSince1970;
  return true;
}

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(const UInt8* bytes, CFIndex length) {
  std::string out;
  out.reserve(static_cast<size_t>((length + 2) / 3 * 4));
  for (CFIndex i = 0; i < length; i += 3) {
    uint32_t chunk = static_cast<uint32_t>(bytes[i]) << 16;
    if (i + 1 < length) chunk |= static_cast<uint32_t>(bytes[i + 1]) << 8;
    if (i + 2 < length) chunk |= static_cast<uint32_t>(bytes[i + 2]);
    out.push_back(kBase64[(chunk >> 18) & 63]);
    out.push_back(kBase64[(chunk >> 12) & 63]);
    out.push_back(i + 1 < length ? kBase64[(chunk >> 6) & 63] : '=');
    out.push_back(i + 2 < length ? kBase64[chunk & 63] : '=');
  }
  return out;
}

bool Unbase64(const std::string& text, std::vector<UInt8>* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  uint32_t chunk = 0;
  int bits = 0;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    int value;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    else if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    else if (c >= '0' && c <= '9') value = c - '0' + 52;
    else if (c == '+') value = 62;
    else if (c == '/') value = 63;
    else if (c == '=' && i >= text.size() - 2) {
      padding++;
      value = 0;
    } else {
      return false;
    }
    if (padding > 0 && c != '=') return false;
    chunk = (chunk << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits == 24) {
      out->push_back(static_cast<UInt8>(chunk >> 16));
      out->push_back(static_cast<UInt8>(chunk >> 8));
      out->push_back(static_cast<UInt8>(chunk));
      chunk = 0;
      bits = 0;
    }
  }
  out->resize(out->size() - padding);
  return !out->empty();
}

void FailWith(const char* stage, OSStatus status, Failure* failure) {
  failure->stage = stage;
  failure->domain = "OSStatus";
  failure->code = status;
  ScopedCF message(SecCopyErrorMessageString(status, nullptr));
  failure->message = message.get() != nullptr ? Utf8(static_cast<CFStringRef>(message.get()))
                                              : "OSStatus " + std::to_string(static_cast<long>(status));
}

// One SecItemCopyMatching for `service`; `scope` adds the keychain or access-group keys.
bool Search(const std::string& service, CFDictionaryRef scope, bool locked, std::vector<Item>* items,
            Failure* failure) {
  ScopedCF serviceName(CFStringCreateWithCString(kCFAllocatorDefault, service.c_str(), kCFStringEncodingUTF8));
  if (serviceName.get() == nullptr) {
    failure->stage = "search";
    failure->domain = "OSStatus";
    failure->code = errSecParam;
    failure->message = "the service name is not valid UTF-8";
    return false;
  }
  ScopedCF query(CFDictionaryCreateMutableCopy(kCFAllocatorDefault, 0, scope));
  if (query.get() == nullptr) {
    FailWith("search", errSecAllocate, failure);
    return false;
  }
  CFMutableDictionaryRef q = static_cast<CFMutableDictionaryRef>(const_cast<void*>(query.get()));
  CFDictionarySetValue(q, kSecClass, kSecClassGenericPassword);
  CFDictionarySetValue(q, kSecAttrService, serviceName.get());
  CFDictionarySetValue(q, kSecMatchLimit, kSecMatchLimitAll);
  CFDictionarySetValue(q, kSecReturnAttributes, kCFBooleanTrue);
  CFDictionarySetValue(q, kSecReturnPersistentRef, kCFBooleanTrue);
  ScopedCF result;
  OSStatus status = SecItemCopyMatching(q, result.out());
  if (status == errSecItemNotFound) return true;
  if (status != errSecSuccess) {
    FailWith("search", status, failure);
    return false;
  }
  if (result.get() == nullptr || CFGetTypeID(result.get()) != CFArrayGetTypeID()) return true;
  CFArrayRef found = static_cast<CFArrayRef>(result.get());
  for (CFIndex i = 0; i < CFArrayGetCount(found); i++) {
    CFTypeRef entry = CFArrayGetValueAtIndex(found, i);
    if (entry == nullptr || CFGetTypeID(entry) != CFDictionaryGetTypeID()) continue;
    CFDictionaryRef attributes = static_cast<CFDictionaryRef>(entry);
    CFTypeRef ref = CFDictionaryGetValue(attributes, kSecValuePersistentRef);
    if (ref == nullptr || CFGetTypeID(ref) != CFDataGetTypeID()) continue;
    Item item;
    Text itemService = TextAttribute(attributes, kSecAttrService);
    item.service = itemService.present ? itemService.value : service;
    item.account = TextAttribute(attributes, kSecAttrAccount);
    item.label = TextAttribute(attributes, kSecAttrLabel);
    item.comment = TextAttribute(attributes, kSecAttrComment);
    item.hasCreated = DateAttribute(attributes, kSecAttrCreationDate, &item.created);
    item.hasModified = DateAttribute(attributes, kSecAttrModificationDate, &item.modified);
    item.ref = Base64(CFDataGetBytePtr(static_cast<CFDataRef>(ref)), CFDataGetLength(static_cast<CFDataRef>(ref)));
    item.locked = locked;
    items->push_back(std::move(item));
  }
  return true;
}

// SecKeychainCopyDomainSearchList and SecKeychainGetStatus are deprecated since macOS 10.10
// (SecKeychain.h) with no replacement: SecItem has no notion of a keychain file, of the
// user's own list of them, or of a keychain's lock state (a query for the items of a locked
// keychain answers with their attributes, SecItem.cpp). The warning is silenced for these two
// calls only.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
// SecKeychain.cpp SecKeychainCopyDomainSearchList -> StorageManager::getSearchList(domain, ...):
// the user domain's saved list only.
OSStatus CopyUserKeychains(CFArrayRef* keychains) {
  return SecKeychainCopyDomainSearchList(kSecPreferencesDomainUser, keychains);
}

OSStatus KeychainStatus(CFTypeRef keychain, SecKeychainStatus* status) {
  return SecKeychainGetStatus(static_cast<SecKeychainRef>(const_cast<void*>(keychain)), status);
}
#pragma clang diagnostic pop

bool SearchFileKeychains(const std::vector<std::string>& services, std::vector<Item>* items, Failure* failure) {
  ScopedCF list;
  OSStatus status = CopyUserKeychains(reinterpret_cast<CFArrayRef*>(list.out()));
  if (status != errSecSuccess) {
    FailWith("search", status, failure);
    return false;
  }
  CFArrayRef keychains = static_cast<CFArrayRef>(list.get());
  for (CFIndex k = 0; keychains != nullptr && k < CFArrayGetCount(keychains); k++) {
    CFTypeRef keychain = CFArrayGetValueAtIndex(keychains, k);
    SecKeychainStatus keychainStatus = 0;
    // A keychain in the search list whose file is gone has no items to scrub.
    if (KeychainStatus(keychain, &keychainStatus) != errSecSuccess) continue;
    bool locked = (keychainStatus & kSecUnlockStateStatus) == 0;
    ScopedCF one(CFArrayCreate(kCFAllocatorDefault, &keychain, 1, &kCFTypeArrayCallBacks));
    ScopedCF scope(CFDictionaryCreateMutable(kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks,
                                             &kCFTypeDictionaryValueCallBacks));
    if (one.get() == nullptr || scope.get() == nullptr) {
      FailWith("search", errSecAllocate, failure);
      return false;
    }
    CFMutableDictionaryRef s = static_cast<CFMutableDictionaryRef>(const_cast<void*>(scope.get()));
    CFDictionarySetValue(s, kSecUseDataProtectionKeychain, kCFBooleanFalse);
    CFDictionarySetValue(s, kSecMatchSearchList, one.get());
    for (const std::string& service : services) {
      if (!Search(service, s, locked, items, failure)) return false;
    }
  }
  return true;
}

bool SearchDataProtection(const std::vector<std::string>& services, const std::string& accessGroup,
                          std::vector<Item>* items, Failure* failure) {
  ScopedCF group(CFStringCreateWithCString(kCFAllocatorDefault, accessGroup.c_str(), kCFStringEncodingUTF8));
  ScopedCF scope(CFDictionaryCreateMutable(kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks,
                                           &kCFTypeDictionaryValueCallBacks));
  if (group.get() == nullptr || scope.get() == nullptr) {
    FailWith("search", group.get() == nullptr ? errSecParam : errSecAllocate, failure);
    return false;
  }
  CFMutableDictionaryRef s = static_cast<CFMutableDictionaryRef>(const_cast<void*>(scope.get()));
  CFDictionarySetValue(s, kSecUseDataProtectionKeychain, kCFBooleanTrue);
  CFDictionarySetValue(s, kSecAttrAccessGroup, group.get());
  CFDictionarySetValue(s, kSecUseAuthenticationUI, kSecUseAuthenticationUISkip);
  for (const std::string& service : services) {
    if (!Search(service, s, false, items, failure)) return false;
  }
  return true;
}

}  // namespace

bool ListGenericPasswords(const ListQuery& query, std::vector<Item>* out, Failure* failure) {
  std::vector<Item> items;
  bool ok = query.accessGroup.empty() ? SearchFileKeychains(query.services, &items, failure)
                                      : SearchDataProtection(query.services, query.accessGroup, &items, failure);
  if (!ok) return false;
  out->swap(items);
  return true;
}

bool DeleteItem(const std::string& ref, Failure* failure) {
  std::vector<UInt8> bytes;
  if (!Unbase64(ref, &bytes)) {
    failure->stage = "open";
    failure->domain = "ref";
    failure->message = "not a persistent reference from listGenericPasswords";
    return false;
  }
  ScopedCF data(CFDataCreate(kCFAllocatorDefault, bytes.data(), static_cast<CFIndex>(bytes.size())));
  ScopedCF query(CFDictionaryCreateMutable(kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks,
                                           &kCFTypeDictionaryValueCallBacks));
  if (data.get() == nullptr || query.get() == nullptr) {
    FailWith("delete", errSecAllocate, failure);
    return false;
  }
  CFMutableDictionaryRef q = static_cast<CFMutableDictionaryRef>(const_cast<void*>(query.get()));
  CFDictionarySetValue(q, kSecClass, kSecClassGenericPassword);
  CFDictionarySetValue(q, kSecValuePersistentRef, data.get());
  OSStatus status = SecItemDelete(q);
  if (status != errSecSuccess) {
    FailWith("delete", status, failure);
    return false;
  }
  return true;
}

}  // namespace keychain
}  // namespace tg
