#include "runtime/metrics_server.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <dlfcn.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "runtime/http_module.h"

namespace ntap {

ListenAddress parse_listen_address(const std::string &text) {
  ListenAddress address;
  std::string port = text;
  if (const size_t colon = text.rfind(':'); colon != std::string::npos) {
    address.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']')
      address.host = address.host.substr(1, address.host.size() - 2);
    if (address.host.empty()) throw std::invalid_argument("--metrics " + text + ": no address before ':'");
  } else {
    address.host = "127.0.0.1";
  }
  size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(port, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (port.empty() || used != port.size() || value < 1 || value > 65535)
    throw std::invalid_argument("--metrics " + text + ": expected PORT or ADDR:PORT with a port from 1 to 65535");
  address.port = value;
  return address;
}

namespace {

// Beside the running binary (the build tree), else where it is installed.
std::vector<std::string> module_candidates() {
  std::vector<std::string> out;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    out.push_back(dir + "ntap-http.so");
  }
  out.push_back(NTAP_HTTP_MODULE);
  return out;
}

}  // namespace

MetricsServer::MetricsServer(const ListenAddress &address) {
  std::string tried;
  for (const std::string &path : module_candidates()) {
    module_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (module_) break;
    tried += std::string("\n  ") + dlerror();
  }
  if (!module_) throw std::runtime_error("--metrics needs the HTTP module ntap-http.so:" + tried);
  auto *entry = reinterpret_cast<const HttpModuleApi *(*)()>(dlsym(module_, "ntap_http_module"));
  if (!entry) throw std::runtime_error("--metrics: ntap-http.so has no ntap_http_module");
  api_ = entry();
  request_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (request_fd_ < 0) throw std::runtime_error("--metrics: cannot create an eventfd");
  std::string error;
  http_ = api_->start(
      address.host, address.port, "/metrics",
      [this](int &status, std::string &body, std::string &content_type) {
        bool ok = false;
        body = wait_for_metrics(ok);
        if (!ok) {
          status = 503;
          body = "the run is ending\n";
          return;
        }
        content_type = "text/plain; version=0.0.4; charset=utf-8";
      },
      error);
  if (!http_) {
    close(request_fd_);
    throw std::runtime_error("--metrics: " + error);
  }
}

MetricsServer::~MetricsServer() {
  stop_answering();
  if (http_) api_->stop(http_);
  if (request_fd_ >= 0) close(request_fd_);
  // The module stays loaded: its threads are joined, and unloading gains nothing.
}

std::string MetricsServer::wait_for_metrics(bool &ok) {
  std::unique_lock lock(mutex_);
  if (stopping_) return {};
  const uint64_t mine = ++requested_;
  const uint64_t one = 1;
  if (write(request_fd_, &one, sizeof one) < 0) return {};
  // Bounded: a probe handler that runs for long delays the answer, a
  // stopped run ends the wait.
  answered_.wait_for(lock, std::chrono::seconds(10), [&] { return stopping_ || answered_up_to_ >= mine; });
  ok = !stopping_ && answered_up_to_ >= mine;
  return ok ? text_ : std::string();
}

void MetricsServer::answer(const std::function<std::string()> &render) {
  uint64_t pending;
  if (read(request_fd_, &pending, sizeof pending) != sizeof pending) return;
  uint64_t up_to;
  {
    std::lock_guard lock(mutex_);
    up_to = requested_;
  }
  std::string text = render();  // outside the lock: HTTP threads only wait
  std::lock_guard lock(mutex_);
  text_ = std::move(text);
  answered_up_to_ = up_to;
  answered_.notify_all();
}

void MetricsServer::stop_answering() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  answered_.notify_all();
}

}  // namespace ntap
