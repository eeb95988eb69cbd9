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
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include "runtime/btf.h"
#include "runtime/globals_display.h"
#include "runtime/providers/provider.h"
#include "runtime/record.h"
#include "runtime/symbols.h"
#include "runtime/target_process.h"
#include "runtime/timefmt.h"

namespace ntap {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
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

// SIGINT/SIGTERM are blocked and read from a signalfd for the whole run, so
// Ctrl-C ends the event loop cleanly; the old mask comes back afterwards.
class SignalBlock {
 public:
  SignalBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
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

// libbpf 1.1 parses a copy of the vmlinux BTF of its own in bpf_object__load
// (~10 ms and ~11 MB of peak RSS here) whenever the object has a TRACING
// program, only to find the attach target ids of tp_btf programs. The process
// already holds the vmlinux BTF from elaboration (runtime/btf.h), so "tp_btf/"
// sections get a handler of ours: the program opens as a raw tracepoint,
// which needs no vmlinux BTF, and just before the load system call becomes a
// TRACING program with the attach_btf_id from our copy. The kernel receives
// what libbpf would have sent; attaching (bpf_program__attach_trace) is
// unchanged, since the expected attach type is BPF_TRACE_RAW_TP either way.
int prepare_tp_btf_load(bpf_program *prog, bpf_prog_load_opts *opts, long /*cookie*/) {
  const char *section = bpf_program__section_name(prog);
  const char *slash = section ? std::strchr(section, '/') : nullptr;
  std::optional<uint32_t> id = slash ? btf::tracepoint_attach_id(slash + 1) : std::nullopt;
  if (!id) return -ESRCH;
  const int err = bpf_program__set_type(prog, BPF_PROG_TYPE_TRACING);
  if (err) return err;
  opts->attach_btf_id = *id;
  opts->attach_btf_obj_fd = 0;  // vmlinux, not a module
  return 0;
}

void attach_tp_btf_through_shared_btf() {
  static std::once_flag once;
  std::call_once(once, [] {
    LIBBPF_OPTS(libbpf_prog_handler_opts, handler, .prog_prepare_load_fn = prepare_tp_btf_load);
    // Process-wide and never unregistered: libbpf keeps pointing at the
    // handler from every program it opened with it.
    libbpf_register_prog_handler("tp_btf+", BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_TRACE_RAW_TP, &handler);
  });
}

// The last `count` lines of `text`.
std::string last_lines(const std::string &text, size_t count) {
  size_t at = text.size();
  if (at && text[at - 1] == '\n') --at;
  size_t lines = 0;
  while (at > 0) {
    if (text[at - 1] == '\n' && ++lines == count) break;
    --at;
  }
  return text.substr(at);
}

struct UserProbeRun {
  HostProgram::ProbeFn fn;
  const ast::Probe *probe;
  const ast::ResolvedProbe *resolved;
};

struct Timer {
  UserProbeRun run;
  Fd fd;
};

// ---------------------------------------------------------------- session

class Session {
 public:
  Session(const ast::Program &program, const Layout &layout, const BpfObject &bpf, const HostProgram &host,
          const RunOptions &options)
      : program_(program), layout_(layout), bpf_(bpf), host_(host), options_(options) {}

  int run();

 private:
  bool load_kernel_side();
  bool share_maps_of_first_unit(bpf_object *object);
  int map_fd(const char *name) const;  // a map of the kernel side by name, -1 if none
  bpf_program *find_program(const BpfProgramInfo &info) const;
  void report_load_failure(const std::string &libbpf_text, int err);
  bool map_globals();
  bool attach_kernel_probes();
  bool start_target();
  void collect_user_probes();
  bool start_timers();
  bool run_probe(const UserProbeRun &run);
  void event_loop();
  void consume_records();
  static int on_record(void *ctx, void *data, size_t size);
  void handle_record(const uint8_t *data, size_t size);
  void stop(int status) {
    stopping_ = true;
    status_ = std::max(status_, status);
  }
  bool exit_requested_by_kernel() const;
  void display_unread_globals();
  void report_losses();
  int status_word(uint32_t offset) const;

  const ast::Program &program_;
  const Layout &layout_;
  const BpfObject &bpf_;
  const HostProgram &host_;
  const RunOptions &options_;

  std::vector<Format> formats_;
  std::unique_ptr<Output> output_;
  // Declared in release order (reverse): links before the object, the
  // mapping before the object whose map it views.
  std::vector<ObjectPtr> objects_;  // BpfObject::units, loaded
  Mapping globals_;
  std::vector<LinkPtr> links_;
  RingBufferPtr ring_;
  std::unique_ptr<KernelAccess> kernel_access_;
  std::unique_ptr<Store> store_;
  ntap_rt rt_;

  std::vector<UserProbeRun> begin_, end_, error_;
  std::vector<Timer> timers_;
  std::unique_ptr<TargetProcess> target_;  // -c CMD
  int signal_fd_ = -1;
  bool stopping_ = false;
  int status_ = 0;
  std::string record_text_;
};

// ---------------------------------------------------------------- loading

bool Session::load_kernel_side() {
  const auto start = Clock::now();
  attach_tp_btf_through_shared_btf();
  LibbpfLog log(options_.verbose);
  for (size_t u = 0; u < bpf_.units.size(); ++u) {
    const std::vector<char> &elf = bpf_.units[u].elf;
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "ntap");
    ObjectPtr object(bpf_object__open_mem(elf.data(), elf.size(), &open_opts));
    if (!object) {
      fprintf(stderr, "ERROR: cannot open the generated BPF object: %s\n%s", strerror(errno),
              last_lines(log.text(), 10).c_str());
      return false;
    }
    if (u > 0 && !share_maps_of_first_unit(object.get())) return false;
    // RLIMIT_MEMLOCK is deliberately left alone: BPF memory is charged to the
    // memory cgroup on current kernels, and raising the limit needs a
    // capability we may not have.
    const int err = bpf_object__load(object.get());
    if (err) {
      report_load_failure(log.text(), err);
      return false;
    }
    objects_.push_back(std::move(object));
  }
  // The vmlinux BTF has served elaboration and the attach ids; of it, only
  // the drop reason names are needed later. Freeing the rest now keeps ~6 MB
  // out of the run's resident set.
  load_drop_reason_names();
  btf::release_vmlinux();
  if (options_.verbose) {
    size_t programs = 0, maps = 0;
    bpf_program *prog;
    bpf_map *map;
    for (const ObjectPtr &object : objects_) bpf_object__for_each_program(prog, object.get())++ programs;
    bpf_object__for_each_map(map, objects_.front().get())++ maps;
    fprintf(stderr, "Pass 5: loaded %zu programs, %zu maps (%zu objects) in %.1f ms\n", programs, maps,
            objects_.size(), ms_since(start));
  }
  return true;
}

// Unit 0 created every map; a later unit's declarations of the same maps
// take unit 0's instead of creating their own.
bool Session::share_maps_of_first_unit(bpf_object *object) {
  bpf_map *map;
  bpf_object__for_each_map(map, object) {
    // .rodata (sprintf formats) holds this unit's own constants.
    if (bpf_map__is_internal(map)) continue;
    const int fd = map_fd(bpf_map__name(map));
    const int err = fd < 0 ? -ENOENT : bpf_map__reuse_fd(map, fd);
    if (err) {
      fprintf(stderr, "ERROR: cannot share BPF map '%s' between objects: %s\n", bpf_map__name(map), strerror(-err));
      return false;
    }
  }
  return true;
}

int Session::map_fd(const char *name) const {
  bpf_map *map = objects_.empty() ? nullptr : bpf_object__find_map_by_name(objects_.front().get(), name);
  return map ? bpf_map__fd(map) : -1;
}

bpf_program *Session::find_program(const BpfProgramInfo &info) const {
  if (info.unit >= objects_.size()) return nullptr;
  return bpf_object__find_program_by_name(objects_[info.unit].get(), info.function_name.c_str());
}

void Session::report_load_failure(const std::string &text, int err) {
  // libbpf names the program it failed on: "prog 'NAME': BPF program load failed".
  const BpfProgramInfo *failed = nullptr;
  for (const BpfProgramInfo &info : bpf_.programs) {
    if (text.find("prog '" + info.function_name + "': BPF program load failed") != std::string::npos ||
        text.find("prog '" + info.function_name + "': failed to load") != std::string::npos) {
      failed = &info;
      break;
    }
  }
  std::string verifier;
  const size_t begin = text.find("-- BEGIN PROG LOAD LOG --\n");
  if (begin != std::string::npos) {
    const size_t from = begin + strlen("-- BEGIN PROG LOAD LOG --\n");
    verifier = text.substr(from, text.find("-- END PROG LOAD LOG --", from) - from);
  }
  if (failed) {
    fprintf(stderr, "ERROR: the kernel rejected probe %s at %s: %s\n", failed->resolved.name.c_str(),
            failed->probe ? failed->probe->loc.str().c_str() : "?", strerror(-err));
  } else {
    fprintf(stderr, "ERROR: loading the BPF object failed: %s\n", strerror(-err));
  }
  const std::string shown = verifier.empty() ? last_lines(text, 10) : last_lines(verifier, 20);
  if (!shown.empty()) fprintf(stderr, "%s log (last lines):\n%s", verifier.empty() ? "libbpf" : "verifier", shown.c_str());
  if (!shown.empty() && shown.back() != '\n') fputc('\n', stderr);
}

bool Session::map_globals() {
  kernel_access_ = std::make_unique<KernelAccess>();
  kernel_access_->map_fd = [this](const std::string &name) { return map_fd(name.c_str()); };
  bpf_map *globals = bpf_object__find_map_by_name(objects_.front().get(), Layout::kGlobalsMap);
  if (!globals) return true;  // nothing shared through it
  const long page = sysconf(_SC_PAGESIZE);
  const size_t len = (std::max<size_t>(bpf_map__value_size(globals), 1) + page - 1) / page * page;
  void *at = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(globals), 0);
  if (at == MAP_FAILED) {
    fprintf(stderr, "ERROR: cannot map the BPF globals map: %s\n", strerror(errno));
    return false;
  }
  globals_ = Mapping(at, len);
  kernel_access_->globals = globals_.get();
  // Kernel probes timestamp with CLOCK_BOOTTIME; this offset turns them into
  // wall-clock time.
  const int64_t offset = realtime_ns() - boottime_ns();
  std::memcpy(globals_.get() + layout_.realtime_offset_offset, &offset, sizeof offset);
  return true;
}

bool Session::attach_kernel_probes() {
  const auto start = Clock::now();
  for (const BpfProgramInfo &info : bpf_.programs) {
    bpf_program *prog = find_program(info);
    const Provider *provider = info.resolved.provider;
    errno = 0;
    std::vector<bpf_link *> links;
    if (!prog || !provider || !provider->attach_all(info.resolved, prog, links)) {
      const int err = errno ? errno : ENOENT;
      fprintf(stderr, "ERROR: cannot attach probe %s at %s: %s\n", info.resolved.name.c_str(),
              info.probe ? info.probe->loc.str().c_str() : "?", strerror(err));
      return false;
    }
    for (bpf_link *link : links) links_.emplace_back(link);
  }
  if (options_.verbose) fprintf(stderr, "Pass 5: attached %zu probes in %.1f ms\n", links_.size(), ms_since(start));
  return true;
}

// target(): -c CMD's pid (the command is started now, held until the begin
// probes have run) or -x PID, written where kernel probes read it before
// anything is attached.
bool Session::start_target() {
  int64_t pid = options_.target_pid;
  if (!options_.target_command.empty()) {
    try {
      target_ = TargetProcess::start_held(options_.target_command);
    } catch (const std::runtime_error &e) {
      fprintf(stderr, "ERROR: %s\n", e.what());
      return false;
    }
    pid = target_->pid();
  }
  rt_.builtins.target_pid = pid;
  if (globals_.get()) std::memcpy(globals_.get() + layout_.target_pid_offset, &pid, sizeof pid);
  return true;
}

// ---------------------------------------------------------------- user probes

void Session::collect_user_probes() {
  for (const auto &probe : program_.probes) {
    if (probe->side != ast::Side::User) continue;
    HostProgram::ProbeFn fn = host_.probe_function(probe->id);
    if (!fn) continue;
    for (const ast::ResolvedProbe &resolved : probe->resolved) {
      UserProbeRun run{fn, probe.get(), &resolved};
      switch (resolved.kind) {
        case ast::ProbeKind::Begin: begin_.push_back(run); break;
        case ast::ProbeKind::End: end_.push_back(run); break;
        case ast::ProbeKind::Error: error_.push_back(run); break;
        case ast::ProbeKind::Timer: timers_.push_back({run, Fd()}); break;
        case ast::ProbeKind::Tracepoint:
        case ast::ProbeKind::Perf: break;
      }
    }
  }
  // begin(N)/end(N): by priority, then source order (stable sort keeps it).
  auto by_priority = [](const UserProbeRun &a, const UserProbeRun &b) { return a.resolved->param < b.resolved->param; };
  std::stable_sort(begin_.begin(), begin_.end(), by_priority);
  std::stable_sort(end_.begin(), end_.end(), by_priority);
  std::stable_sort(error_.begin(), error_.end(), by_priority);
}

bool Session::start_timers() {
  for (Timer &timer : timers_) {
    timer.fd = Fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    const int64_t period = std::max<int64_t>(timer.run.resolved->param, 1);
    itimerspec spec{};
    spec.it_interval.tv_sec = period / 1000000000;
    spec.it_interval.tv_nsec = period % 1000000000;
    spec.it_value = spec.it_interval;
    if (timer.fd.get() < 0 || timerfd_settime(timer.fd.get(), 0, &spec, nullptr) < 0) {
      fprintf(stderr, "ERROR: cannot start timer for probe %s: %s\n", timer.run.resolved->name.c_str(),
              strerror(errno));
      return false;
    }
  }
  return true;
}

// Runs one user probe handler; false when it ended in a run-time error.
bool Session::run_probe(const UserProbeRun &run) {
  output_->begin_probe(run.resolved->name);
  rt_.probe_point = run.resolved->point.c_str();
  rt_.begin_handler();
  // stap runs begin/end/error handlers with interrupts enabled and gives
  // them the larger MAXACTION_INTERRUPTIBLE budget; timers get MAXACTION.
  const bool interruptible = run.resolved->kind != ast::ProbeKind::Timer;
  rt_.actions_remaining =
      interruptible ? layout_.options.max_action_interruptible : layout_.options.max_action;
  rt_.nesting_depth = 0;
  run.fn(&rt_);
  rt_.end_handler();
  output_->flush();
  if (rt_.failed) {
    rt_.failed = false;
    const auto &sites = host_.sites();
    if (rt_.failed_site < sites.size()) {
      const RuntimeSite &site = sites[rt_.failed_site];
      const std::string &message = rt_.failed_with_message ? rt_.failed_message : site.message;
      fprintf(stderr, "ERROR: %s at %s\n", message.c_str(), site.loc.str().c_str());
    } else {
      fprintf(stderr, "ERROR: run-time error in probe %s at %s\n", run.resolved->name.c_str(),
              run.probe->loc.str().c_str());
    }
    stop(1);
    return false;
  }
  if (rt_.exit_requested) stop(0);
  return true;
}

// ---------------------------------------------------------------- records

int Session::on_record(void *ctx, void *data, size_t size) {
  static_cast<Session *>(ctx)->handle_record(static_cast<const uint8_t *>(data), size);
  return 0;
}

void Session::handle_record(const uint8_t *data, size_t size) {
  // After an error the run is over (stap's MAXERRORS=0): later records of the
  // same batch, often the same error again, are not reported.
  if (status_ != 0 || size < sizeof(RecordHeader)) return;
  RecordHeader header;
  std::memcpy(&header, data, sizeof header);
  const uint8_t *payload = data + sizeof header;
  const size_t payload_size = size - sizeof header;
  switch (header.kind) {
    case RecordKind::Exit: stop(0); return;
    case RecordKind::Error:
      if (header.id < bpf_.error_sites.size()) {
        const ErrorSite &site = bpf_.error_sites[header.id];
        std::string message =
            site.message_in_record && payload_size > 0
                ? std::string(reinterpret_cast<const char *>(payload),
                              strnlen(reinterpret_cast<const char *>(payload), payload_size))
                : site.message;
        size_t placeholder = message.find("%p");
        if (site.address_in_record && payload_size >= sizeof(uint64_t) && placeholder != std::string::npos) {
          uint64_t address;
          std::memcpy(&address, payload, sizeof address);
          char hex[24];
          snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(address));
          message.replace(placeholder, 2, hex);
        }
        fprintf(stderr, "ERROR: %s at %s\n", message.c_str(), site.loc.str().c_str());
      } else {
        fprintf(stderr, "ERROR: run-time error in a kernel probe\n");
      }
      stop(1);
      return;
    case RecordKind::Output: break;
    default: return;
  }
  if (header.id >= bpf_.records.size()) return;
  const RecordFormat &record = bpf_.records[header.id];
  if (record.format_id >= formats_.size()) return;
  const Format &format = formats_[record.format_id];

  std::vector<Format::Arg> args(std::max(format.arg_types().size(), record.args.size()));
  std::vector<std::string> rendered;
  rendered.reserve(record.args.size());  // string_views below point into it
  KernelSymbols &symbols = KernelSymbols::running_kernel();
  for (size_t i = 0; i < record.args.size(); ++i) {
    const RecordArg &arg = record.args[i];
    if (arg.offset + arg.size > payload_size) continue;  // malformed: leave 0 / ""
    const uint8_t *at = payload + arg.offset;
    if (arg.kind == RecordArg::Kind::String) {
      const void *nul = std::memchr(at, 0, arg.size);
      args[i].s = std::string_view(reinterpret_cast<const char *>(at),
                                   nul ? static_cast<const uint8_t *>(nul) - at : arg.size);
      continue;
    }
    int64_t value = 0;
    std::memcpy(&value, at, std::min<uint32_t>(arg.size, 8));
    args[i].l = value;
    switch (arg.render) {
      case RenderFn::None: break;
      case RenderFn::Symname: args[i].s = symbols.symname(static_cast<uint64_t>(value)); break;
      case RenderFn::Symdata: args[i].s = symbols.symdata(static_cast<uint64_t>(value)); break;
      case RenderFn::Ctime: args[i].s = rendered.emplace_back(ctime_string(value)); break;
      case RenderFn::DropReasonName: args[i].s = rendered.emplace_back(drop_reason_name(value)); break;
    }
  }
  record_text_.clear();
  format.format_to(record_text_, args.data());
  output_->write(record_text_);
}

void Session::consume_records() {
  if (!ring_) return;
  ring_buffer__consume(ring_.get());
  output_->flush();
}

int Session::status_word(uint32_t offset) const {
  if (!globals_.get()) return 0;
  uint64_t v;
  std::memcpy(&v, globals_.get() + offset, sizeof v);
  return v != 0;
}

// After the end probes, as stap's synthesized end probes do.
void Session::display_unread_globals() {
  std::string report;
  render_unread_globals(program_, *store_, report);
  if (!report.empty()) output_->write(report);
}

bool Session::exit_requested_by_kernel() const { return status_word(layout_.exit_request_offset); }

// ---------------------------------------------------------------- event loop

void Session::event_loop() {
  Fd epoll(epoll_create1(EPOLL_CLOEXEC));
  enum : uint64_t { kRing = 0, kSignal = 1, kTargetExit = 2, kFirstTimer = 3 };
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  if (ring_) watch(ring_buffer__epoll_fd(ring_.get()), kRing);
  watch(signal_fd_, kSignal);
  if (target_) watch(target_->exit_fd(), kTargetExit);
  for (size_t i = 0; i < timers_.size(); ++i) watch(timers_[i].fd.get(), kFirstTimer + i);

  const bool has_deadline = options_.timeout_seconds > 0;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout_seconds));
  epoll_event events[16];
  while (!stopping_) {
    // Kernel probes that exit() while the ring buffer is full only set a
    // word; poll it a few times a second.
    int wait_ms = globals_.get() ? 200 : -1;
    if (has_deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      wait_ms = wait_ms < 0 ? static_cast<int>(left) : std::min<int>(wait_ms, left);
    }
    const int n = epoll_wait(epoll.get(), events, 16, wait_ms);
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "ERROR: epoll_wait: %s\n", strerror(errno));
      stop(1);
      break;
    }
    // Records first: output of kernel probes that ran before a timer fired
    // is printed before the timer's report.
    consume_records();
    for (int i = 0; i < n && !stopping_; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kSignal) {
        stop(0);
      } else if (tag == kTargetExit) {
        stop(target_->finish());  // -c CMD has exited: the run ends, as stap's
      } else if (tag >= kFirstTimer) {
        Timer &timer = timers_[tag - kFirstTimer];
        uint64_t expirations;
        if (read(timer.fd.get(), &expirations, sizeof expirations) == sizeof expirations) run_probe(timer.run);
      }
    }
    if (exit_requested_by_kernel()) stop(0);
  }
}

// ---------------------------------------------------------------- ending

void Session::report_losses() {
  if (globals_.get()) {
    uint64_t lost;
    std::memcpy(&lost, globals_.get() + layout_.ringbuf_lost_offset, sizeof lost);
    if (lost)
      fprintf(stderr, "WARNING: %llu output records from kernel probes lost: ring buffer full (%u bytes)\n",
              static_cast<unsigned long long>(lost), layout_.options.ringbuf_size);
  }
  // Kernel probes cannot stop the run at a full map as stap does ("Array
  // overflow"): the updates they could not store are counted and reported.
  if (store_)
    for (const Store::Loss &loss : store_->losses()) {
      const std::string limit = loss.global->max_entries
                                    ? "size limit " + std::to_string(loss.max_entries)
                                    : "MAXMAPENTRIES=" + std::to_string(loss.max_entries);
      fprintf(stderr, "WARNING: Array overflow in kernel probes: %llu updates to '%s' lost (%s)\n",
              static_cast<unsigned long long>(loss.lost), loss.global->name.c_str(), limit.c_str());
    }
  for (const BpfProgramInfo &info : bpf_.programs) {
    bpf_program *prog = find_program(info);
    if (!prog || bpf_program__fd(prog) < 0) continue;
    bpf_prog_info prog_info{};
    uint32_t len = sizeof prog_info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &prog_info, &len) != 0) continue;
    if (prog_info.recursion_misses)
      fprintf(stderr, "WARNING: probe %s at %s skipped %llu times: BPF programs do not nest on one CPU\n",
              info.resolved.name.c_str(), info.probe ? info.probe->loc.str().c_str() : "?",
              static_cast<unsigned long long>(prog_info.recursion_misses));
  }
}

int Session::run() {
  SignalBlock signals;
  signal_fd_ = signals.fd();
  formats_.reserve(program_.formats.size());
  for (const ast::FormatInfo &info : program_.formats) formats_.push_back(Format::parse(info.text));
  output_ = make_text_output(options_.output_path);

  if (!bpf_.programs.empty()) {
    if (!load_kernel_side() || !map_globals()) return 1;
  }
  store_ = std::make_unique<Store>(program_, layout_, kernel_access_.get());
  rt_.store = store_.get();
  rt_.output = output_.get();
  rt_.formats = &formats_;
  collect_user_probes();
  if (!start_target()) return 1;

  if (!objects_.empty()) {
    if (const int events = map_fd(Layout::kEventsMap); events >= 0) {
      ring_.reset(ring_buffer__new(events, &Session::on_record, this, nullptr));
      if (!ring_) {
        fprintf(stderr, "ERROR: cannot open the output ring buffer: %s\n", strerror(errno));
        return 1;
      }
    }
    if (!attach_kernel_probes()) return 1;
  }

  // Every kernel probe is attached: what begin prints ("Monitoring...") is true.
  for (const UserProbeRun &run : begin_) {
    if (stopping_) break;
    run_probe(run);
  }
  // -c CMD runs once the probes are in place and begin has run, as in stap.
  if (target_ && !stopping_) target_->release();
  // Timer periods count from the end of the begin probes, as in stap.
  if (!stopping_ && !start_timers()) stop(1);
  if (!stopping_) event_loop();

  // Stopping: detach first so nothing new arrives, then take in everything
  // the kernel side still holds before the end probes read it.
  links_.clear();
  consume_records();
  store_->drain_double_buffered();
  // After a run-time error the error probes run first, then the end probes
  // (as stap does). An error inside these handlers ends the sequence.
  bool handlers_ok = true;
  if (status_ != 0)
    for (const UserProbeRun &run : error_)
      if (handlers_ok) handlers_ok = run_probe(run);
  for (const UserProbeRun &run : end_)
    if (handlers_ok) handlers_ok = run_probe(run);
  if (handlers_ok) display_unread_globals();
  output_->flush();
  report_losses();
  return status_;
}

}  // namespace

int run_session(const ast::Program &program, const Layout &layout, const BpfObject &bpf, const HostProgram &host,
                const RunOptions &options) {
  try {
    Session session(program, layout, bpf, host, options);
    return session.run();
  } catch (const FormatError &e) {
    fprintf(stderr, "ERROR: bad format string: %s\n", e.message.c_str());
  } catch (const std::exception &e) {
    fprintf(stderr, "ERROR: %s\n", e.what());
  }
  return 1;
}

}  // namespace ntap
