// The interface of ntap-http.so, the module that serves --metrics over HTTP
// (runtime/http/http_module.cpp). The HTTP library (cpp-httplib, which
// Debian builds with OpenSSL, zlib and brotli) is linked into that module
// only, and ntap loads it with dlopen() when --metrics is given: a run
// without --metrics loads none of those libraries, so startup is unchanged.
#pragma once
#include <functional>
#include <string>

namespace ntap {

// Answers one GET of the served path: sets the status, the body and its
// content type. Called on the module's HTTP threads.
using HttpHandler = std::function<void(int &status, std::string &body, std::string &content_type)>;

struct HttpModuleApi {
  // Binds host:port and serves `path` from a thread of its own; null with
  // `error` set when the address cannot be bound.
  void *(*start)(const std::string &host, int port, const std::string &path, HttpHandler handler,
                 std::string &error);
  // Stops serving and joins the thread.
  void (*stop)(void *server);
};

}  // namespace ntap

// The module's one exported symbol.
extern "C" const ntap::HttpModuleApi *ntap_http_module();
