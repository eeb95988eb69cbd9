// --metrics ADDR:PORT: serves GET /metrics from a thread of its own while the
// script runs (docs/output.md). Exists only when the option is given: a run
// without it creates no thread, socket or buffer.
//
// Thread safety: the store, the BPF maps and the double buffers are only
// ever touched by the runtime thread (the one running the probes). A scrape
// does not read them itself: it asks the runtime thread through an eventfd
// that the event loop watches, and waits until that thread has rendered the
// metrics (at a point between two probe handlers, with the same drain a
// timer probe's reads get) and handed the text back under a mutex. One
// lock, one owner of the data, nothing read concurrently.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace ntap {

struct HttpModuleApi;

struct ListenAddress {
  std::string host;  // an IPv4 or IPv6 address
  int port = 0;
};

// "PORT" (127.0.0.1: never all interfaces unless asked), "ADDR:PORT",
// "[V6ADDR]:PORT". Throws std::invalid_argument naming what is wrong.
ListenAddress parse_listen_address(const std::string &text);

class MetricsServer {
 public:
  // Loads the HTTP module (runtime/http_module.h), binds and serves from a
  // thread of its own; scrapes wait until the runtime thread answers. Throws
  // std::runtime_error when the module is missing or the address cannot be
  // bound (before anything is loaded into the kernel).
  explicit MetricsServer(const ListenAddress &address);
  ~MetricsServer();  // stops serving and joins the thread
  MetricsServer(const MetricsServer &) = delete;
  MetricsServer &operator=(const MetricsServer &) = delete;

  // Readable when a scrape waits for the runtime thread.
  int request_fd() const { return request_fd_; }
  // Runtime thread: answers the waiting scrapes with `render()`'s text.
  void answer(const std::function<std::string()> &render);
  // The run is ending: waiting and later scrapes get 503.
  void stop_answering();

 private:
  std::string wait_for_metrics(bool &ok);  // HTTP threads

  void *module_ = nullptr;  // dlopen handle
  const HttpModuleApi *api_ = nullptr;
  void *http_ = nullptr;  // the module's server
  int request_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable answered_;
  uint64_t requested_ = 0;  // scrapes asked for, by number
  uint64_t answered_up_to_ = 0;
  std::string text_;
  bool stopping_ = false;
};

}  // namespace ntap
