// macOS keychain: placeholder until the SecItem implementation lands (the Linux side comes
// first). Every call fails with a clear message; nothing is listed or deleted.
#include "keychain.h"

namespace tg {
namespace keychain {

namespace {
bool NotYet(Failure* failure) {
  failure->stage = "load";
  failure->domain = "unsupported";
  failure->message = "the macOS keychain backend is not built yet";
  return false;
}
}  // namespace

bool ListGenericPasswords(const ListQuery&, std::vector<Item>*, Failure* failure) { return NotYet(failure); }

bool DeleteItem(const std::string&, Failure* failure) { return NotYet(failure); }

}  // namespace keychain
}  // namespace tg
