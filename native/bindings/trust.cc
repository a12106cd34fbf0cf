// Trust capability binding: evaluateTrust(options) → Promise, marshalled over native/trust.h.
// The options are copied on the JS thread; each evaluation runs in its own AsyncWorker on the
// libuv pool, so that concurrent evaluations proceed in parallel and never block the loop.
#include <napi.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "registry.h"
#include "trust.h"

namespace {

using tg::trust::Der;

Napi::TypeError TypeError(Napi::Env env, const std::string& message) {
  return Napi::TypeError::New(env, "evaluateTrust: " + message);
}

Der CopyBuffer(Napi::Env env, Napi::Value value, const std::string& what) {
  if (!value.IsBuffer()) throw TypeError(env, what + " must be a Buffer");
  auto buffer = value.As<Napi::Buffer<uint8_t>>();
  return Der(buffer.Data(), buffer.Data() + buffer.Length());
}

std::vector<Der> CopyBuffers(Napi::Env env, Napi::Value value, const std::string& what) {
  if (!value.IsArray()) throw TypeError(env, what + " must be an array of Buffers");
  auto array = value.As<Napi::Array>();
  std::vector<Der> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(CopyBuffer(env, array.Get(i), what + "[" + std::to_string(i) + "]"));
  return out;
}

bool OptionalBool(Napi::Env env, const Napi::Object& options, const char* name) {
  Napi::Value v = options.Get(name);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw TypeError(env, std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

tg::trust::Request ParseRequest(Napi::Env env, const Napi::Object& options) {
  tg::trust::Request request;
  request.chain = CopyBuffers(env, options.Get("chain"), "chain");
  if (request.chain.empty()) throw TypeError(env, "chain must hold at least one certificate");
  Napi::Value policy = options.Get("policy");
  if (!policy.IsString()) throw TypeError(env, "policy must be 'ssl' or 'basic'");
  std::string name = policy.As<Napi::String>().Utf8Value();
  if (name == "ssl") {
    request.policy = tg::trust::Policy::kSsl;
  } else if (name == "basic") {
    request.policy = tg::trust::Policy::kBasic;
  } else {
    throw TypeError(env, "policy must be 'ssl' or 'basic'");
  }
  Napi::Value hostname = options.Get("hostname");
  if (!hostname.IsUndefined()) {
    if (!hostname.IsString()) throw TypeError(env, "hostname must be a string");
    request.hasHostname = true;
    request.hostname = hostname.As<Napi::String>().Utf8Value();
    if (request.hostname.empty() || request.hostname.find('\0') != std::string::npos) {
      throw TypeError(env, "hostname must be a non-empty string without NUL");
    }
  }
  Napi::Value anchors = options.Get("anchors");
  if (!anchors.IsUndefined()) {
    request.hasAnchors = true;
    request.anchors = CopyBuffers(env, anchors, "anchors");
  }
  request.anchorsOnly = OptionalBool(env, options, "anchorsOnly");
  Napi::Value verifyDate = options.Get("verifyDate");
  if (!verifyDate.IsUndefined()) {
    if (!verifyDate.IsNumber() || !std::isfinite(verifyDate.As<Napi::Number>().DoubleValue())) {
      throw TypeError(env, "verifyDate must be a finite number (Unix ms)");
    }
    request.hasVerifyDate = true;
    request.verifyDateMs = verifyDate.As<Napi::Number>().DoubleValue();
  }
  Napi::Value ocsp = options.Get("ocspResponses");
  if (!ocsp.IsUndefined()) request.ocspResponses = CopyBuffers(env, ocsp, "ocspResponses");
  request.requireRevocationCheck = OptionalBool(env, options, "requireRevocationCheck");
  return request;
}

Napi::Value Strings(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) out.Set(static_cast<uint32_t>(i), values[i]);
  return out;
}

Napi::Value Milliseconds(Napi::Env env, double ms) {
  return std::isfinite(ms) ? Napi::Value(Napi::Number::New(env, ms)) : env.Null();
}

class EvaluateWorker : public Napi::AsyncWorker {
 public:
  EvaluateWorker(Napi::Env env, tg::trust::Request request)
      : Napi::AsyncWorker(env, "trustguard.evaluateTrust"),
        deferred_(Napi::Promise::Deferred::New(env)),
        request_(std::move(request)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      evaluated_ = tg::trust::Evaluate(request_, &evaluation_, &failure_);
    } catch (const std::bad_alloc&) {
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(std::string("native error: ") + e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!evaluated_) {
      Napi::Error error = Napi::Error::New(env, failure_.message);
      error.Set("code", failure_.kind == "malformed" ? "ERR_TRUST_MALFORMED_CERTIFICATE" : "ERR_TRUST_OS");
      if (!failure_.input.empty()) {
        error.Set("input", failure_.input);
        error.Set("index", Napi::Number::New(env, failure_.index));
      }
      deferred_.Reject(error.Value());
      return;
    }
    const tg::trust::Evaluation& e = evaluation_;
    Napi::Object out = Napi::Object::New(env);
    out.Set("trusted", e.trusted);
    out.Set("result", e.result);
    out.Set("errorCode", e.hasError ? Napi::Value(Napi::Number::New(env, static_cast<double>(e.errorCode))) : env.Null());
    out.Set("errorMessage", e.hasError ? Napi::Value(Napi::String::New(env, e.errorMessage)) : env.Null());
    out.Set("revocationChecked", e.revocationChecked);
    Napi::Array chain = Napi::Array::New(env, e.chain.size());
    for (size_t i = 0; i < e.chain.size(); i++) {
      const tg::trust::CertificateDetails& c = e.chain[i];
      Napi::Object cert = Napi::Object::New(env);
      cert.Set("subject", c.subject);
      cert.Set("issuer", c.issuer);
      cert.Set("notBefore", Milliseconds(env, c.notBeforeMs));
      cert.Set("notAfter", Milliseconds(env, c.notAfterMs));
      cert.Set("sha256", c.sha256);
      cert.Set("ocspUrls", Strings(env, c.ocspUrls));
      cert.Set("crlUrls", Strings(env, c.crlUrls));
      cert.Set("der", Napi::Buffer<uint8_t>::Copy(env, c.der.data(), c.der.size()));
      chain.Set(static_cast<uint32_t>(i), cert);
    }
    out.Set("chain", chain);
    Napi::Array errors = Napi::Array::New(env, e.errors.size());
    for (size_t i = 0; i < e.errors.size(); i++) {
      Napi::Object error = Napi::Object::New(env);
      error.Set("depth", Napi::Number::New(env, e.errors[i].depth));
      error.Set("code", Napi::Number::New(env, static_cast<double>(e.errors[i].code)));
      error.Set("message", e.errors[i].message);
      if (!e.errors[i].check.empty()) error.Set("check", e.errors[i].check);
      errors.Set(static_cast<uint32_t>(i), error);
    }
    out.Set("errors", errors);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  tg::trust::Request request_;
  tg::trust::Evaluation evaluation_;
  tg::trust::Failure failure_;
  bool evaluated_ = false;
};

Napi::Value EvaluateTrust(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw TypeError(env, "expects one options object");
  auto* worker = new EvaluateWorker(env, ParseRequest(env, info[0].As<Napi::Object>()));
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("evaluateTrust", Napi::Function::New<tg::Guarded<EvaluateTrust>>(env, "evaluateTrust"));
}

}  // namespace

TG_NATIVE_CAPABILITY(trust, Init);
