// Loading the kernel side: the BPF objects (units) in order, sharing the
// first one's maps, the globals mapping, and attaching every program.
#include "runtime/session_internal.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cinttypes>
#include <filesystem>
#include <set>

#include "kernel/providers/perf_events.h"

namespace ntap::session_detail {

namespace {

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

// libbpf 1.1 parses a copy of the vmlinux BTF of its own in bpf_object__load
// (~10 ms and ~11 MB of peak RSS here) whenever the object has a TRACING
// program, only to find the attach target ids of tp_btf programs. The process
// already holds the vmlinux BTF from elaboration (the run's KernelInfo), so
// "tp_btf/" sections get a handler of ours: the program opens as a raw tracepoint,
// which needs no vmlinux BTF, and just before the load system call becomes a
// TRACING program with the attach_btf_id from our copy. The kernel receives
// what libbpf would have sent; attaching (bpf_program__attach_trace) is
// unchanged, since the expected attach type is BPF_TRACE_RAW_TP either way.
//
// libbpf registers handlers process-wide and calls them from
// bpf_object__load on the loading thread, with a cookie fixed at
// registration; the BTF of the run being loaded is therefore handed over
// through `loading_btf`, set on this thread only around the load.
thread_local const Btf *loading_btf = nullptr;

int prepare_tp_btf_load(bpf_program *prog, bpf_prog_load_opts *opts, long /*cookie*/) {
  const char *section = bpf_program__section_name(prog);
  const char *slash = section ? std::strchr(section, '/') : nullptr;
  if (!loading_btf) return -ESRCH;
  std::optional<uint32_t> id = slash ? loading_btf->tracepoint_attach_id(slash + 1) : std::nullopt;
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

}  // namespace

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
    loading_btf = &kernel_.btf();
    const int err = bpf_object__load(object.get());
    loading_btf = nullptr;
    if (err) {
      report_load_failure(log.text(), err);
      return false;
    }
    objects_.push_back(std::move(object));
  }
  // The vmlinux BTF has served elaboration and the attach ids; of it, only
  // the drop reason names are needed later. Freeing the rest now keeps ~6 MB
  // out of the run's resident set.
  kernel_.release_btf();
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

// Programs that dispatchers reach by tail calls go into their tables before
// the dispatchers are attached, so no hit finds an empty entry.
bool Session::fill_dispatch_tables() {
  for (const TailCallEntry &entry : bpf_.tail_calls) {
    const BpfProgramInfo &info = bpf_.programs.at(entry.program);
    bpf_program *prog = find_program(info);
    const int map = map_fd(entry.map.c_str());
    const int prog_fd = prog ? bpf_program__fd(prog) : -1;
    const int err = map < 0 || prog_fd < 0 ? -ENOENT : bpf_map_update_elem(map, &entry.index, &prog_fd, BPF_ANY);
    if (err) {
      fprintf(stderr, "ERROR: cannot hand probe %s at %s to its dispatcher: %s\n", info.resolved.name.c_str(),
              info.probe ? info.probe->loc.str().c_str() : "?", strerror(-err));
      return false;
    }
  }
  return true;
}

// perf counters (frontend/perf_counters.h): counter K counts on every
// online CPU, each CPU's event at its index of perf_counter_map(K), before
// any program that reads them is attached.
bool Session::open_perf_counters() {
  for (size_t k = 0; k < layout_.perf_counters.size(); ++k) {
    const ast::ResolvedProbe *counter = nullptr;
    for (const auto &probe : program_.probes)
      for (const ast::ResolvedProbe &resolved : probe->resolved)
        if (resolved.kind == ast::ProbeKind::PerfCounter && resolved.perf_counter == layout_.perf_counters[k])
          counter = &resolved;
    const int map = map_fd(Layout::perf_counter_map(k).c_str());
    if (!counter || map < 0) {
      fprintf(stderr, "ERROR: perf counter '%s' has no event or no map\n", layout_.perf_counters[k].c_str());
      return false;
    }
    for (int cpu : kernel_.online_cpus()) {
      perf_event_attr attr{};
      attr.size = sizeof attr;
      attr.type = counter->perf_type;
      attr.config = counter->perf_config;
      Fd event(open_perf_event(attr, cpu));
      const int fd = event.get();
      const int err = fd < 0 ? -errno : bpf_map_update_elem(map, &cpu, &fd, BPF_ANY);
      if (err) {
        fprintf(stderr, "ERROR: cannot count perf event %s on CPU %d: %s\n", counter->name.c_str(), cpu,
                strerror(-err));
        return false;
      }
      perf_counter_events_.push_back(std::move(event));
    }
  }
  return true;
}

// process.begin of the processes already running (ResolvedProbe::
// begins_running_process): each process whose executable the probe follows
// gets its key, just before the programs that take the keys are attached.
// Kernel threads (no executable), ntap and its -c command (which begins by
// its exec) are not listed.
bool Session::list_running_processes() {
  std::set<std::pair<uint32_t, uint64_t>> listed;  // (probe id, pid)
  std::vector<const ast::ResolvedProbe *> begins;
  std::vector<uint32_t> probe_ids;
  for (const BpfProgramInfo &info : bpf_.programs)
    if (info.resolved.begins_running_process) {
      begins.push_back(&info.resolved);
      probe_ids.push_back(info.probe->id);
    }
  if (begins.empty()) return true;
  const int map = map_fd(Layout::kRunningAtStartMap);
  uint64_t keys = 0, refused = 0;
  std::error_code error;
  for (const auto &entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const uint32_t pid = static_cast<uint32_t>(std::stoul(name));
    if (pid == static_cast<uint32_t>(getpid()) || (target_ && pid == static_cast<uint32_t>(target_->pid()))) continue;
    struct stat exe {};
    if (stat(("/proc/" + name + "/exe").c_str(), &exe) != 0) continue;
    const uint64_t dev = (uint64_t{major(exe.st_dev)} << 20) | minor(exe.st_dev);
    for (size_t i = 0; i < begins.size(); ++i) {
      const ast::ResolvedProbe &begin = *begins[i];
      if (begin.exe_inode && (begin.exe_inode != exe.st_ino || begin.exe_dev != dev)) continue;
      if (begin.pid > 0 && begin.pid != pid) continue;
      if (!listed.insert({probe_ids[i], pid}).second) continue;
      const uint64_t key = Layout::running_at_start_key(probe_ids[i], pid), value = 1;
      if (map >= 0 && bpf_map_update_elem(map, &key, &value, BPF_NOEXIST) == 0)
        ++keys;
      else
        ++refused;
    }
  }
  if (refused)
    fprintf(stderr, "WARNING: %" PRIu64 " processes running at start get no process.begin: more than %u are listed\n",
            refused, Layout::kRunningAtStart);
  std::memcpy(globals_.get() + layout_.running_at_start_offset, &keys, sizeof keys);
  running_at_start_ = keys;
  return true;
}

bool Session::attach_kernel_probes() {
  const auto start = Clock::now();
  if (!open_perf_counters() || !list_running_processes() || !fill_dispatch_tables()) return false;
  for (const BpfProgramInfo &info : bpf_.programs) {
    if (!info.attached) continue;
    // Programs that begin processes running at start cost every system
    // call on the machine: not attached when none was listed, and detached
    // once every listed one has begun (detach_begun_running_probes).
    const bool begins_running = info.resolved.begins_running_process;
    if (begins_running && running_at_start_ == 0) continue;
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
    for (bpf_link *link : links) (begins_running ? running_links_ : links_).emplace_back(link);
  }
  if (options_.verbose)
    fprintf(stderr, "Pass 5: attached %zu probes in %.1f ms\n", links_.size() + running_links_.size(),
            ms_since(start));
  return true;
}

void Session::detach_begun_running_probes() {
  if (!running_links_.empty() && !status_word(layout_.running_at_start_offset)) running_links_.clear();
}

// target(): -c CMD's pid (the command is started now, held until the begin
// probes have run) or -x PID, written where kernel probes read it before
// anything is attached.

}  // namespace ntap::session_detail
