// Keychain capability: the platform-neutral interface that native/darwin/keychain.cc
// (Security.framework's SecItem API) and native/linux/keychain.cc (the Secret Service through
// libsecret, loaded at run time) implement. Attributes only: no function here ever asks the
// OS for an item's secret. Which items to delete is decided in agent/keychain.
#pragma once

#include <string>
#include <vector>

namespace tg {
namespace keychain {

// A text attribute that may be absent.
struct Text {
  bool present = false;
  std::string value;
};

// One generic-password item, as the OS describes it.
struct Item {
  std::string service;  // kSecAttrService / the Secret Service attribute "service"
  Text account;         // kSecAttrAccount / "account"
  Text label;           // kSecAttrLabel / the item's label
  Text comment;         // kSecAttrComment / "comment"
  bool hasCreated = false;
  double created = 0;  // Unix time, seconds
  bool hasModified = false;
  double modified = 0;
  // Opaque handle for DeleteItem: the base64 persistent reference (macOS) or the item's D-Bus
  // object path (Linux).
  std::string ref;
  // The keyring (Linux) or file-based keychain (macOS, SecKeychainGetStatus without
  // kSecUnlockStateStatus) holding the item is locked: deleting it would fail or prompt.
  // agent/keychain leaves such items alone and says so. Always false for the macOS
  // data-protection keychain.
  bool locked = false;
};

// Why an OS call failed, in the OS's own terms; agent/keychain turns it into a reason code.
struct Failure {
  std::string stage;    // "load" (the library), "connect", "search", "open" (an item), "delete"
  std::string domain;   // "dlopen", a GError domain ("g-io-error-quark"...), or "OSStatus"
  long code = 0;        // the GError code or the OSStatus
  std::string message;  // the OS's message (dlerror, GError message, SecCopyErrorMessageString)
};

struct ListQuery {
  std::vector<std::string> services;  // one search per service
  // macOS: empty searches the user's own file-based keychains (the user domain's search list:
  // the login keychain, never System.keychain); otherwise the
  // data-protection keychain for this access group. Linux: must be empty.
  std::string accessGroup;
};

// Lists the generic-password items of the given services. Returns false and fills *failure
// when the OS call fails; nothing is listed then.
bool ListGenericPasswords(const ListQuery& query, std::vector<Item>* out, Failure* failure);

// Deletes one item by its ref. Returns false and fills *failure when the OS refuses.
bool DeleteItem(const std::string& ref, Failure* failure);

}  // namespace keychain
}  // namespace tg
