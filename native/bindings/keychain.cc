// Keychain capability binding: listGenericPasswords and deleteItem, marshalled over
// native/keychain.h. Both run in an AsyncWorker (the OS calls block on IPC to securityd or
// the Secret Service) and resolve a promise with plain data:
//   { ok: true, items: [...] } | { ok: true } | { ok: false, failure: { stage, domain, code, message } }
// An OS failure resolves (agent/keychain decides what it means); only a bug rejects.
#include <napi.h>

#include <string>
#include <utility>
#include <vector>

#include "keychain.h"
#include "registry.h"

namespace {

Napi::Value TextValue(Napi::Env env, const tg::keychain::Text& text) {
  return text.present ? Napi::Value(Napi::String::New(env, text.value)) : env.Null();
}

Napi::Object FailureObject(Napi::Env env, const tg::keychain::Failure& failure) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("ok", false);
  Napi::Object f = Napi::Object::New(env);
  f.Set("stage", failure.stage);
  f.Set("domain", failure.domain);
  f.Set("code", Napi::Number::New(env, static_cast<double>(failure.code)));
  f.Set("message", failure.message);
  out.Set("failure", f);
  return out;
}

class ListWorker : public Napi::AsyncWorker {
 public:
  ListWorker(Napi::Env env, tg::keychain::ListQuery query)
      : Napi::AsyncWorker(env, "trustguard.keychain.list"), deferred_(Napi::Promise::Deferred::New(env)),
        query_(std::move(query)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { ok_ = tg::keychain::ListGenericPasswords(query_, &items_, &failure_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (!ok_) {
      deferred_.Resolve(FailureObject(env, failure_));
      return;
    }
    Napi::Array items = Napi::Array::New(env, items_.size());
    for (size_t i = 0; i < items_.size(); i++) {
      const tg::keychain::Item& item = items_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("service", item.service);
      o.Set("account", TextValue(env, item.account));
      o.Set("label", TextValue(env, item.label));
      o.Set("comment", TextValue(env, item.comment));
      o.Set("created", item.hasCreated ? Napi::Value(Napi::Number::New(env, item.created)) : env.Null());
      o.Set("modified", item.hasModified ? Napi::Value(Napi::Number::New(env, item.modified)) : env.Null());
      o.Set("ref", item.ref);
      o.Set("locked", item.locked);
      items.Set(static_cast<uint32_t>(i), o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ok", true);
    out.Set("items", items);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  tg::keychain::ListQuery query_;
  std::vector<tg::keychain::Item> items_;
  tg::keychain::Failure failure_;
  bool ok_ = false;
};

class DeleteWorker : public Napi::AsyncWorker {
 public:
  DeleteWorker(Napi::Env env, std::string ref)
      : Napi::AsyncWorker(env, "trustguard.keychain.delete"), deferred_(Napi::Promise::Deferred::New(env)),
        ref_(std::move(ref)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { ok_ = tg::keychain::DeleteItem(ref_, &failure_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (!ok_) {
      deferred_.Resolve(FailureObject(env, failure_));
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ok", true);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string ref_;
  tg::keychain::Failure failure_;
  bool ok_ = false;
};

// listGenericPasswords(services: string[], accessGroup: string) → Promise
Napi::Value ListGenericPasswords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "listGenericPasswords expects (services: string[], accessGroup: string)");
  }
  tg::keychain::ListQuery query;
  Napi::Array services = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < services.Length(); i++) {
    Napi::Value service = services.Get(i);
    if (!service.IsString()) throw Napi::TypeError::New(env, "listGenericPasswords: every service must be a string");
    query.services.push_back(service.As<Napi::String>().Utf8Value());
  }
  query.accessGroup = info[1].As<Napi::String>().Utf8Value();
  auto* worker = new ListWorker(env, std::move(query));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// deleteItem(ref: string) → Promise
Napi::Value DeleteItem(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "deleteItem expects (ref: string)");
  auto* worker = new DeleteWorker(env, info[0].As<Napi::String>().Utf8Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("listGenericPasswords",
              Napi::Function::New<tg::Guarded<ListGenericPasswords>>(env, "listGenericPasswords"));
  exports.Set("deleteItem", Napi::Function::New<tg::Guarded<DeleteItem>>(env, "deleteItem"));
}

}  // namespace

TG_NATIVE_CAPABILITY(keychain, Init);
