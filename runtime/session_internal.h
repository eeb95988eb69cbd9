// The run's private parts, shared by session.cpp (user probes, records,
// the event loop, ending) and session_kernel.cpp (loading and attaching the
// BPF objects). Not an interface: only those two files include it.
#pragma once
#include "runtime/procfs_server.h"
#include "runtime/session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "kernel/btf.h"
#include "runtime/globals_display.h"
#include "runtime/user_symbols.h"
#include "runtime/metrics.h"
#include "runtime/metrics_server.h"
#include "kernel/providers/provider.h"
#include "kernel/providers/uprobe.h"
#include "abi/record.h"
#include "kernel/stacks.h"
#include "kernel/symbols.h"
#include "runtime/target_process.h"
#include "runtime/timefmt.h"


namespace ntap::session_detail {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// ---------------------------------------------------------------- RAII

struct ObjectCloser {
  void operator()(bpf_object *o) const { bpf_object__close(o); }
};
struct LinkDestroyer {
  void operator()(bpf_link *l) const { bpf_link__destroy(l); }
};
struct RingBufferFreer {
  void operator()(ring_buffer *r) const { ring_buffer__free(r); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;
using LinkPtr = std::unique_ptr<bpf_link, LinkDestroyer>;
using RingBufferPtr = std::unique_ptr<ring_buffer, RingBufferFreer>;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd &operator=(Fd &&o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

class Mapping {
 public:
  Mapping() = default;
  Mapping(void *at, size_t len) : at_(at), len_(len) {}
  Mapping(Mapping &&o) noexcept : at_(std::exchange(o.at_, nullptr)), len_(o.len_) {}
  Mapping &operator=(Mapping &&o) noexcept {
    std::swap(at_, o.at_);
    std::swap(len_, o.len_);
    return *this;
  }
  ~Mapping() {
    if (at_) munmap(at_, len_);
  }
  uint8_t *get() const { return static_cast<uint8_t *>(at_); }

 private:
  void *at_ = nullptr;
  size_t len_ = 0;
};

// SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked and read from a signalfd for
// the whole run, so each ends the event loop cleanly and the end probes run
// (stap treats SIGHUP like SIGINT; a hangup or Ctrl-\ must not lose the
// output either); the old mask comes back afterwards.
class SignalBlock {
 public:
  SignalBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);
    sigaddset(&set_, SIGQUIT);
    sigprocmask(SIG_BLOCK, &set_, &old_);
    fd_ = Fd(signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~SignalBlock() {
    // Swallow signals that arrived late (a second Ctrl-C during end probes)
    // so unblocking does not kill the process after a clean run.
    signalfd_siginfo info;
    while (fd_.get() >= 0 && read(fd_.get(), &info, sizeof info) == sizeof info) {
    }
    sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  int fd() const { return fd_.get(); }

 private:
  sigset_t set_, old_;
  Fd fd_;
};

// Collects libbpf's messages while it loads, so a verifier rejection can be
// reported against the script instead of as a raw dump.
class LibbpfLog {
 public:
  explicit LibbpfLog(bool echo) {
    current_ = this;
    echo_ = echo;
    previous_ = libbpf_set_print(&LibbpfLog::print);
  }
  ~LibbpfLog() {
    libbpf_set_print(previous_);
    current_ = nullptr;
  }
  const std::string &text() const { return text_; }

 private:
  static int print(enum libbpf_print_level level, const char *fmt, va_list args) {
    if (!current_ || level == LIBBPF_DEBUG) return 0;
    char buffer[4096];
    va_list copy;
    va_copy(copy, args);
    const int n = vsnprintf(buffer, sizeof buffer, fmt, copy);
    va_end(copy);
    if (n > 0 && static_cast<size_t>(n) >= sizeof buffer) {
      std::string big(n + 1, '\0');
      vsnprintf(big.data(), big.size(), fmt, args);
      big.resize(n);
      current_->text_ += big;
    } else if (n > 0) {
      current_->text_.append(buffer, n);
    }
    if (current_->echo_ && n > 0) fprintf(stderr, "libbpf: %s", buffer);
    return 0;
  }
  static inline LibbpfLog *current_ = nullptr;
  libbpf_print_fn_t previous_ = nullptr;
  bool echo_ = false;
  std::string text_;
};

struct UserProbeRun {
  HostProgram::ProbeFn fn;
  const ast::Probe *probe;
  const ast::ResolvedProbe *resolved;
  // A begin probe that runs in the kernel (kernel_begin_probe): its loaded
  // program, run through BPF_PROG_TEST_RUN instead of `fn`; -1 otherwise.
  int kernel_fd = -1;
};

struct Timer {
  UserProbeRun run;
  Fd fd;
};

// ---------------------------------------------------------------- session

class Session {
 public:
  Session(const ast::Program &program, const Layout &layout, const BpfObject &bpf, const HostProgram &host,
          const KernelInfo &kernel, const RunOptions &options)
      : program_(program), layout_(layout), bpf_(bpf), host_(host), kernel_(kernel), options_(options) {}

  int run();

 private:
  bool load_kernel_side();
  bool share_maps_of_first_unit(bpf_object *object);
  int map_fd(const char *name) const;  // a map of the kernel side by name, -1 if none
  // The frames below the tracing machinery of kernel stack `id` (Layout::kStacksMap);
  // empty for a negative id (no stack, or one lost and counted).
  std::vector<uint64_t> kernel_stack(int64_t id) const;
  std::vector<uint64_t> user_stack(int64_t stack_id) const;
  bpf_program *find_program(const BpfProgramInfo &info) const;
  void report_load_failure(const std::string &libbpf_text, int err);
  bool map_globals();
  bool fill_dispatch_tables();
  bool open_perf_counters();
  bool list_running_processes();
  void detach_begun_running_probes();
  bool attach_kernel_probes();
  bool start_target();
  void collect_user_probes();
  bool start_timers();
  bool start_procfs();
  std::string run_procfs_read(const std::string &file);
  void run_procfs_write(const std::string &file, const std::string &data);
  bool arm_timer(Timer &timer);
  bool run_probe(const UserProbeRun &run);
  void event_loop();
  void consume_records();
  bool run_in_kernel(const UserProbeRun &run);
  static int on_record(void *ctx, void *data, size_t size);
  void handle_record(const uint8_t *data, size_t size);
  void stop(int status) {
    stopping_ = true;
    status_ = std::max(status_, status);
  }
  bool exit_requested_by_kernel() const;
  void display_unread_globals();
  std::vector<LostCount> loss_counts() const;
  std::string render_metrics();
  void report_losses();
  int status_word(uint32_t offset) const;

  const ast::Program &program_;
  const Layout &layout_;
  const BpfObject &bpf_;
  const HostProgram &host_;
  const KernelInfo &kernel_;
  const RunOptions &options_;

  std::vector<Format> formats_;
  std::unique_ptr<Output> output_;
  // Declared in release order (reverse): links before the object, the
  // mapping before the object whose map it views.
  std::vector<ObjectPtr> objects_;  // BpfObject::units, loaded
  Mapping globals_;
  std::vector<LinkPtr> links_;
  // process.begin of the processes running at start (list_running_processes):
  // how many were listed, and the links of the programs that begin them.
  uint64_t running_at_start_ = 0;
  std::vector<LinkPtr> running_links_;
  std::vector<Fd> perf_counter_events_;  // the perf arrays hold them too
  RingBufferPtr ring_;
  std::unique_ptr<KernelAccess> kernel_access_;
  std::unique_ptr<Store> store_;
  ntap_rt rt_;

  std::vector<UserProbeRun> begin_, end_, error_;
  std::vector<Timer> timers_;
  std::vector<UserProbeRun> procfs_;               // procfs(...).read/.write
  std::unique_ptr<ProcfsServer> procfs_server_;  // their files; null without them
  std::mt19937_64 random_{std::random_device{}()};  // timer .randomize(M)
  std::unique_ptr<TargetProcess> target_;  // -c CMD
  UserSymbols user_symbols_;               // usymname/usymdata of kernel records
  std::string user_stack_text(const std::vector<uint64_t> &frames, int64_t pid, RenderFn render,
                              const std::string &binary);
  std::unique_ptr<MetricsServer> metrics_;  // --metrics; null without it
  int signal_fd_ = -1;
  bool stopping_ = false;
  int status_ = 0;
  std::string record_text_;
  // The text of probe hits still running in the kernel (abi/record.h), by
  // record group: written out at the group's HitEnd.
  struct PendingHit {
    std::string text;
    const std::string *probe_point = nullptr;  // RecordFormat::probe_point
  };
  std::map<uint16_t, PendingHit> pending_hits_;
  void write_pending_hit(uint16_t group);
  void write_pending_hits();
};

}  // namespace ntap::session_detail
