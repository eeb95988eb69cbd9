// ntap-http.so: --metrics' HTTP server on cpp-httplib (docs/output.md says
// why this library), loaded by runtime/metrics_server.cpp only when asked.
#include <httplib.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <memory>
#include <thread>

#include "runtime/http_module.h"

namespace {

struct Server {
  httplib::Server http;
  std::thread thread;
};

void *start(const std::string &host, int port, const std::string &path, ntap::HttpHandler handler,
            std::string &error) {
  auto server = std::make_unique<Server>();
  server->http.Get(path, [handler = std::move(handler)](const httplib::Request &, httplib::Response &response) {
    int status = 200;
    std::string body, content_type = "text/plain";
    handler(status, body, content_type);
    response.status = status;
    response.set_content(body, content_type.c_str());
  });
  // cpp-httplib's default options add SO_REUSEPORT, with which a second
  // listener on a taken port binds silently and shares its connections:
  // only SO_REUSEADDR (a restart may bind over TIME_WAIT), so that a taken
  // port fails here, before anything is loaded.
  server->http.set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  errno = 0;
  if (!server->http.bind_to_port(host, port)) {
    // bind()'s or listen()'s errno, when the library's cleanup left it.
    const int err = errno;
    error = "cannot listen on " + host + ":" + std::to_string(port) + ": " +
            (err && err != EBADF ? std::strerror(err) : "address in use, not local or not an address");
    return nullptr;
  }
  Server *raw = server.get();
  server->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  return server.release();
}

void stop(void *opaque) {
  auto *server = static_cast<Server *>(opaque);
  server->http.stop();
  if (server->thread.joinable()) server->thread.join();
  delete server;
}

const ntap::HttpModuleApi kApi{&start, &stop};

}  // namespace

extern "C" __attribute__((visibility("default"))) const ntap::HttpModuleApi *ntap_http_module() { return &kApi; }
