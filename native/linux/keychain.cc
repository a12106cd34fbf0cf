// Linux: generic passwords live in the Secret Service (gnome-keyring, KWallet...), reached
// through libsecret. libsecret is loaded at run time with dlopen("libsecret-1.so.0") and the
// few prototypes below are declared by hand, so building needs no libsecret or GLib headers
// and a machine without libsecret gets an error, not a failed load of the whole addon.
//
// Prototypes and flag values are those of libsecret 0.20 (secret-service.h, secret-item.h,
// secret-paths.h, secret-types.h) and GLib 2 (glib/gerror.h, glib/glist.h, glib/ghash.h,
// gio/gdbusproxy.h), all stable ABI. An item's attributes "service", "account" and
// "comment" play the roles of kSecAttrService, kSecAttrAccount and kSecAttrComment, so that
// `secret-tool store --label L service S account A comment TAG` makes one item.
//
// Listing: libsecret's secret_service_search_for_dbus_paths_sync finds the items' object
// paths (unlocked and locked), then one org.freedesktop.DBus.Properties.GetAll per item on
// libsecret's own connection reads the org.freedesktop.Secret.Item properties (Label,
// Attributes, Created, Modified, Locked), several calls in flight at once. libsecret's
// secret_service_search_sync would make a GDBusProxy per item, each subscribing to signals
// on the bus, one round trip after the other. Secrets are never requested (they are not properties; GetSecret is never called) and
// nothing is unlocked, so no prompt can appear; a locked item is reported as locked, and the
// Secret Service then hides its label and attributes.
#include "keychain.h"

#include <dlfcn.h>
#include <stdint.h>

#include <mutex>
#include <string>
#include <vector>

namespace tg {
namespace keychain {

namespace {

// GLib's types, as far as this file touches them.
using gboolean = int;
using guint64 = uint64_t;
using GQuark = uint32_t;
struct GError {
  GQuark domain;
  int code;
  char* message;
};
using GHashTable = void;
using GVariant = void;
using GDBusConnection = void;
using GMainContext = void;
using SecretService = void;
using SecretItem = void;
using GAsyncReadyCallback = void (*)(void* source, void* result, void* userData);
using GHashFunc = unsigned int (*)(const void*);
using GEqualFunc = gboolean (*)(const void*, const void*);

// libsecret's flags (secret-types.h, secret-service.h, secret-item.h).
constexpr int kSecretServiceNone = 0;
constexpr int kSecretItemNone = 0;
constexpr int kGDBusCallFlagsNone = 0;
constexpr int kDefaultTimeout = -1;

struct Api {
  // libsecret
  SecretService* (*service_get_sync)(int flags, void* cancellable, GError** error);
  gboolean (*service_search_for_dbus_paths_sync)(SecretService* service, const void* schema, GHashTable* attributes,
                                                 void* cancellable, char*** unlocked, char*** locked, GError** error);
  SecretItem* (*item_new_for_dbus_path_sync)(SecretService* service, const char* path, int flags, void* cancellable,
                                             GError** error);
  gboolean (*item_delete_sync)(SecretItem* item, void* cancellable, GError** error);
  // GLib, GObject, GIO (libsecret's own dependencies, found through its handle)
  GHashTable* (*hash_table_new)(GHashFunc hash, GEqualFunc equal);
  gboolean (*hash_table_insert)(GHashTable* table, void* key, void* value);
  void* (*hash_table_lookup)(GHashTable* table, const void* key);
  void (*hash_table_unref)(GHashTable* table);
  GHashFunc str_hash;
  GEqualFunc str_equal;
  void (*object_unref)(void* object);
  void (*strfreev)(char** strings);
  void (*free)(void* memory);
  void (*error_free)(GError* error);
  const char* (*quark_to_string)(GQuark quark);
  const char* (*dbus_proxy_get_object_path)(void* proxy);
  gboolean (*variant_is_object_path)(const char* text);
  GDBusConnection* (*dbus_proxy_get_connection)(void* proxy);
  const char* (*dbus_proxy_get_name)(void* proxy);
  GVariant* (*variant_new)(const char* format, ...);
  void (*variant_get)(GVariant* value, const char* format, ...);
  gboolean (*variant_lookup)(GVariant* dictionary, const char* key, const char* format, ...);
  void (*variant_unref)(GVariant* value);
  void (*dbus_connection_call)(GDBusConnection* connection, const char* busName, const char* objectPath,
                               const char* interfaceName, const char* methodName, GVariant* parameters,
                               const void* replyType, int flags, int timeoutMs, void* cancellable,
                               GAsyncReadyCallback callback, void* userData);
  GVariant* (*dbus_connection_call_finish)(GDBusConnection* connection, void* result, GError** error);
  GMainContext* (*main_context_new)();
  void (*main_context_push_thread_default)(GMainContext* context);
  void (*main_context_pop_thread_default)(GMainContext* context);
  gboolean (*main_context_iteration)(GMainContext* context, gboolean mayBlock);
  void (*main_context_unref)(GMainContext* context);
};

std::mutex loadMutex;
Api* loaded = nullptr;  // never unloaded: GLib cannot be unloaded safely once it has run

template <typename T>
bool Resolve(void* handle, const char* name, T* out, Failure* failure) {
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    failure->stage = "load";
    failure->domain = "dlopen";
    failure->message = std::string("libsecret-1.so.0 has no symbol ") + name;
    return false;
  }
  *out = reinterpret_cast<T>(symbol);
  return true;
}

const Api* Load(Failure* failure) {
  std::lock_guard<std::mutex> lock(loadMutex);
  if (loaded != nullptr) return loaded;
  dlerror();
  void* handle = dlopen("libsecret-1.so.0", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    failure->stage = "load";
    failure->domain = "dlopen";
    failure->message = why != nullptr ? why : "dlopen(libsecret-1.so.0) failed";
    return nullptr;
  }
  auto* api = new Api();
  bool ok = Resolve(handle, "secret_service_get_sync", &api->service_get_sync, failure) &&
            Resolve(handle, "secret_service_search_for_dbus_paths_sync", &api->service_search_for_dbus_paths_sync,
                    failure) &&
            Resolve(handle, "secret_item_new_for_dbus_path_sync", &api->item_new_for_dbus_path_sync, failure) &&
            Resolve(handle, "secret_item_delete_sync", &api->item_delete_sync, failure) &&
            Resolve(handle, "g_hash_table_new", &api->hash_table_new, failure) &&
            Resolve(handle, "g_hash_table_insert", &api->hash_table_insert, failure) &&
            Resolve(handle, "g_hash_table_lookup", &api->hash_table_lookup, failure) &&
            Resolve(handle, "g_hash_table_unref", &api->hash_table_unref, failure) &&
            Resolve(handle, "g_str_hash", &api->str_hash, failure) &&
            Resolve(handle, "g_str_equal", &api->str_equal, failure) &&
            Resolve(handle, "g_object_unref", &api->object_unref, failure) &&
            Resolve(handle, "g_strfreev", &api->strfreev, failure) &&
            Resolve(handle, "g_free", &api->free, failure) &&
            Resolve(handle, "g_error_free", &api->error_free, failure) &&
            Resolve(handle, "g_quark_to_string", &api->quark_to_string, failure) &&
            Resolve(handle, "g_dbus_proxy_get_object_path", &api->dbus_proxy_get_object_path, failure) &&
            Resolve(handle, "g_variant_is_object_path", &api->variant_is_object_path, failure) &&
            Resolve(handle, "g_dbus_proxy_get_connection", &api->dbus_proxy_get_connection, failure) &&
            Resolve(handle, "g_dbus_proxy_get_name", &api->dbus_proxy_get_name, failure) &&
            Resolve(handle, "g_variant_new", &api->variant_new, failure) &&
            Resolve(handle, "g_variant_get", &api->variant_get, failure) &&
            Resolve(handle, "g_variant_lookup", &api->variant_lookup, failure) &&
            Resolve(handle, "g_variant_unref", &api->variant_unref, failure) &&
            Resolve(handle, "g_dbus_connection_call", &api->dbus_connection_call, failure) &&
            Resolve(handle, "g_dbus_connection_call_finish", &api->dbus_connection_call_finish, failure) &&
            Resolve(handle, "g_main_context_new", &api->main_context_new, failure) &&
            Resolve(handle, "g_main_context_push_thread_default", &api->main_context_push_thread_default, failure) &&
            Resolve(handle, "g_main_context_pop_thread_default", &api->main_context_pop_thread_default, failure) &&
            Resolve(handle, "g_main_context_iteration", &api->main_context_iteration, failure) &&
            Resolve(handle, "g_main_context_unref", &api->main_context_unref, failure);
  if (!ok) {
    delete api;
    return nullptr;
  }
  loaded = api;
  return loaded;
}

// Moves a GError into *failure and frees it.
void Take(const Api* api, const char* stage, GError* error, Failure* failure) {
  failure->stage = stage;
  if (error == nullptr) {
    failure->domain = "libsecret";
    failure->message = "the call failed without saying why";
    return;
  }
  const char* domain = api->quark_to_string(error->domain);
  failure->domain = domain != nullptr ? domain : "";
  failure->code = error->code;
  failure->message = error->message != nullptr ? error->message : "";
  api->error_free(error);
}

// The text value of `key` in a GVariant dictionary of strings (a{ss} or the "s" values of a{sv}).
Text Lookup(const Api* api, GVariant* dictionary, const char* key, const char* format) {
  Text out;
  const char* value = nullptr;
  if (dictionary != nullptr && api->variant_lookup(dictionary, key, format, &value) && value != nullptr) {
    out.present = true;
    out.value = value;
  }
  return out;
}

// True when a D-Bus call failed because the object is not (or no longer) there.
bool IsGone(const Api* api, const GError* error) {
  if (error == nullptr) return false;
  const char* domain = api->quark_to_string(error->domain);
  if (domain == nullptr) return false;
  // GDBusError 19 = G_DBUS_ERROR_UNKNOWN_METHOD (gnome-keyring's answer for a deleted item),
  // 41 = G_DBUS_ERROR_UNKNOWN_OBJECT (gio/gioenums.h).
  return std::string(domain) == "g-dbus-error-quark" && (error->code == 19 || error->code == 41);
}

// Fills *item from a GetAll reply (a{sv} of org.freedesktop.Secret.Item).
void ParseItem(const Api* api, GVariant* reply, const char* path, bool locked, const std::string& service,
               Item* item) {
  GVariant* properties = nullptr;
  api->variant_get(reply, "(@a{sv})", &properties);
  GVariant* attributes = nullptr;
  if (!api->variant_lookup(properties, "Attributes", "@a{ss}", &attributes)) attributes = nullptr;
  Text itemService = Lookup(api, attributes, "service", "&s");
  item->service = itemService.present ? itemService.value : service;
  item->account = Lookup(api, attributes, "account", "&s");
  item->comment = Lookup(api, attributes, "comment", "&s");
  if (attributes != nullptr) api->variant_unref(attributes);
  item->label = Lookup(api, properties, "Label", "&s");
  // 0 means "not known" to the Secret Service.
  guint64 created = 0;
  guint64 modified = 0;
  gboolean isLocked = locked ? 1 : 0;
  api->variant_lookup(properties, "Created", "t", &created);
  api->variant_lookup(properties, "Modified", "t", &modified);
  api->variant_lookup(properties, "Locked", "b", &isLocked);
  item->hasCreated = created != 0;
  item->created = static_cast<double>(created);
  item->hasModified = modified != 0;
  item->modified = static_cast<double>(modified);
  item->locked = isLocked != 0;
  item->ref = path;
  api->variant_unref(properties);
}

struct Call {
  const Api* api;
  GDBusConnection* connection;
  GVariant* reply = nullptr;
  GError* error = nullptr;
  bool done = false;
  int* outstanding = nullptr;
};

void OnGetAll(void* /*source*/, void* result, void* userData) {
  Call* call = static_cast<Call*>(userData);
  call->reply = call->api->dbus_connection_call_finish(call->connection, result, &call->error);
  call->done = true;
  (*call->outstanding)--;
}

// Reads the properties of every item in `paths` (path, locked) with GetAll calls kept in
// flight `window` at a time on a private main context of this thread, so that the Secret
// Service works through a queue instead of waiting for each round trip. Items that vanished
// meanwhile are skipped; any other failure fills *failure (after every reply is collected).
bool ReadItems(const Api* api, GDBusConnection* connection, const char* busName,
               const std::vector<std::pair<std::string, bool>>& paths, const std::string& service,
               std::vector<Item>* items, Failure* failure) {
  constexpr int kWindow = 64;
  std::vector<Call> calls(paths.size());
  int outstanding = 0;
  GMainContext* context = api->main_context_new();
  api->main_context_push_thread_default(context);
  for (size_t next = 0; next < paths.size() || outstanding > 0;) {
    while (next < paths.size() && outstanding < kWindow) {
      Call& call = calls[next];
      call.api = api;
      call.connection = connection;
      call.outstanding = &outstanding;
      outstanding++;
      api->dbus_connection_call(connection, busName, paths[next].first.c_str(), "org.freedesktop.DBus.Properties",
                                "GetAll", api->variant_new("(s)", "org.freedesktop.Secret.Item"), nullptr,
                                kGDBusCallFlagsNone, kDefaultTimeout, nullptr, OnGetAll, &call);
      next++;
    }
    api->main_context_iteration(context, 1);
  }
  api->main_context_pop_thread_default(context);
  api->main_context_unref(context);
  bool ok = true;
  for (size_t i = 0; i < calls.size(); i++) {
    Call& call = calls[i];
    if (call.reply != nullptr) {
      if (ok) {
        Item item;
        ParseItem(api, call.reply, paths[i].first.c_str(), paths[i].second, service, &item);
        items->push_back(std::move(item));
      }
      api->variant_unref(call.reply);
    } else if (IsGone(api, call.error)) {
      api->error_free(call.error);
    } else if (ok) {
      Take(api, "search", call.error, failure);
      ok = false;
    } else if (call.error != nullptr) {
      api->error_free(call.error);
    }
  }
  return ok;
}

// The default SecretService (a new reference) or nullptr with *failure filled.
SecretService* Connect(const Api* api, Failure* failure) {
  GError* error = nullptr;
  SecretService* service = api->service_get_sync(kSecretServiceNone, nullptr, &error);
  if (service == nullptr) Take(api, "connect", error, failure);
  return service;
}

}  // namespace

bool ListGenericPasswords(const ListQuery& query, std::vector<Item>* out, Failure* failure) {
  if (!query.accessGroup.empty()) {
    failure->stage = "search";
    failure->domain = "unsupported";
    failure->message = "access groups exist only in the macOS data-protection keychain";
    return false;
  }
  const Api* api = Load(failure);
  if (api == nullptr) return false;
  SecretService* service = Connect(api, failure);
  if (service == nullptr) return false;

  GDBusConnection* connection = api->dbus_proxy_get_connection(service);
  const char* busName = api->dbus_proxy_get_name(service);
  std::vector<Item> items;
  bool ok = true;
  for (const std::string& name : query.services) {
    GHashTable* attributes = api->hash_table_new(api->str_hash, api->str_equal);
    api->hash_table_insert(attributes, const_cast<char*>("service"), const_cast<char*>(name.c_str()));
    GError* error = nullptr;
    char** unlocked = nullptr;
    char** locked = nullptr;
    // No schema: items are matched on the "service" attribute alone, whoever stored them.
    ok = api->service_search_for_dbus_paths_sync(service, nullptr, attributes, nullptr, &unlocked, &locked, &error) != 0;
    api->hash_table_unref(attributes);
    if (!ok) {
      Take(api, "search", error, failure);
      break;
    }
    std::vector<std::pair<std::string, bool>> paths;
    for (char** list : {unlocked, locked}) {
      for (char** path = list; path != nullptr && *path != nullptr; path++) paths.emplace_back(*path, list == locked);
    }
    ok = ReadItems(api, connection, busName, paths, name, &items, failure);
    if (unlocked != nullptr) api->strfreev(unlocked);
    if (locked != nullptr) api->strfreev(locked);
    if (!ok) break;
  }
  api->object_unref(service);
  if (!ok) return false;
  out->swap(items);
  return true;
}

bool DeleteItem(const std::string& ref, Failure* failure) {
  const Api* api = Load(failure);
  if (api == nullptr) return false;
  // GDBus asserts (and never answers) on a malformed object path: refuse it here.
  if (!api->variant_is_object_path(ref.c_str())) {
    failure->stage = "open";
    failure->domain = "ref";
    failure->message = "not a D-Bus object path";
    return false;
  }
  SecretService* service = Connect(api, failure);
  if (service == nullptr) return false;
  GError* error = nullptr;
  SecretItem* item = api->item_new_for_dbus_path_sync(service, ref.c_str(), kSecretItemNone, nullptr, &error);
  bool ok = false;
  if (item == nullptr) {
    Take(api, "open", error, failure);
  } else {
    error = nullptr;
    ok = api->item_delete_sync(item, nullptr, &error) != 0;
    if (!ok) Take(api, "delete", error, failure);
    api->object_unref(item);
  }
  api->object_unref(service);
  return ok;
}

}  // namespace keychain
}  // namespace tg
