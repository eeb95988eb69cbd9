// One kernel's knowledge, each part read on first use.
#include "kernel/kernel_info.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "kernel/btf_functions.h"
#include "kernel/dwarf_lines.h"
#include "kernel/function_support.h"
#include "kernel/kernel_config.h"
#include "kernel/providers/provider.h"
#include "kernel/providers/trace_format.h"
#include "kernel/symbols.h"

namespace ntap {
namespace {

constexpr int64_t kDefaultHz = 250;

bool read_whole_file(const std::string &path, std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[65536];
  ssize_t n;
  // tracefs files report size 0, so read until EOF rather than by st_size.
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return n == 0;
}

bool read_event_list(const std::vector<std::string> &tracefs, std::string &text) {
  for (const std::string &root : tracefs)
    if (read_whole_file(root + "/available_events", text)) return true;
  return false;
}

std::vector<TraceEvent> parse_event_list(const std::string &text) {
  std::vector<TraceEvent> events;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos)
      events.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    pos = end + 1;
  }
  return events;
}

std::vector<TraceEvent> load_trace_events(const KernelPaths &paths, const Btf &btf) {
  std::string text;
  bool ok = read_event_list(paths.tracefs, text);
  if (!ok && paths.running_kernel && !paths.tracefs.empty() && geteuid() == 0) {
    // A fresh boot may not have tracefs mounted; mounting it is what perf
    // and bpftrace do too. EBUSY means someone mounted it meanwhile.
    if (::mount("tracefs", paths.tracefs.front().c_str(), "tracefs", 0, nullptr) == 0 || errno == EBUSY)
      ok = read_event_list(paths.tracefs, text);
  }
  if (ok) return parse_event_list(text);
  std::vector<TraceEvent> from_btf;
  for (const std::string &name : btf.tracepoint_names()) from_btf.push_back({"", name});
  return from_btf;
}

}  // namespace

// Each part behind its own once_flag: elaboration asks for the BTF and the
// events on the main thread while the run may ask for symbols elsewhere.
struct KernelInfo::Lazy {
  Lazy(const KernelPaths &paths, const Btf &btf)
      : symbols(paths.kallsyms), source_lines(paths.vmlinux, paths.kallsyms), functions(btf, paths.module_btf) {}
  KernelSymbols symbols;
  KernelSourceLines source_lines;
  BtfFunctions functions;
  std::once_flag config_once, events_once, reasons_once, providers_once;
  KernelConfig config;
  std::vector<TraceEvent> events;
  std::optional<DropReasons> reasons;
  std::unique_ptr<ProviderIndex> providers;
  std::mutex support_mutex;
  std::optional<FunctionSupport> support;
  std::mutex fields_mutex;
  std::map<std::string, std::vector<TraceField>, std::less<>> fields;
};

KernelInfo::KernelInfo(KernelPaths paths)
    : paths_(std::move(paths)),
      btf_(paths_.btf, paths_.running_kernel),
      lazy_(std::make_unique<Lazy>(paths_, btf_)) {}

KernelInfo::~KernelInfo() = default;

KernelPaths KernelInfo::host_paths() {
  const char *sysroot = std::getenv("NTAP_SYSROOT");
  const std::string root = sysroot ? sysroot : "";
  utsname uts{};
  const std::string release = ::uname(&uts) == 0 ? uts.release : "";
  KernelPaths paths;
  paths.btf = root + "/sys/kernel/btf/vmlinux";
  paths.kallsyms = root + "/proc/kallsyms";
  paths.tracefs = {root + "/sys/kernel/tracing", root + "/sys/kernel/debug/tracing"};
  paths.config = root + "/boot/config-" + release;
  paths.config_gz = root + "/proc/config.gz";
  paths.cpus_online = root + "/sys/devices/system/cpu/online";
  paths.module_btf = root + "/sys/kernel/btf";
  paths.running_kernel = sysroot == nullptr;
  return paths;
}

KernelSymbols &KernelInfo::symbols() const { return lazy_->symbols; }

KernelSourceLines &KernelInfo::source_lines() const { return lazy_->source_lines; }

const BtfFunctions &KernelInfo::functions() const { return lazy_->functions; }

void KernelInfo::set_process_target(std::string command, int64_t pid) {
  target_.command = std::move(command);
  target_.pid = pid;
  target_.attach_pid = pid;
}

const KernelConfig &KernelInfo::config() const {
  std::call_once(lazy_->config_once, [&] { lazy_->config = read_kernel_config(paths_.config, paths_.config_gz); });
  return lazy_->config;
}

int64_t KernelInfo::config_hz() const {
  const int64_t found = std::strtoll(config().value("CONFIG_HZ").c_str(), nullptr, 10);
  return found > 0 ? found : kDefaultHz;
}

const std::vector<TraceEvent> &KernelInfo::trace_events() const {
  std::call_once(lazy_->events_once, [&] { lazy_->events = load_trace_events(paths_, btf_); });
  return lazy_->events;
}

const std::vector<TraceField> &KernelInfo::trace_event_fields(std::string_view subsystem,
                                                              std::string_view event) const {
  const std::string key = std::string(subsystem) + ":" + std::string(event);
  std::lock_guard lock(lazy_->fields_mutex);
  auto it = lazy_->fields.find(key);
  if (it == lazy_->fields.end())
    it = lazy_->fields.emplace(key, read_trace_event_fields(paths_.tracefs, subsystem, event)).first;
  return it->second;
}

const DropReasons &KernelInfo::drop_reasons() const {
  std::call_once(lazy_->reasons_once, [&] { lazy_->reasons.emplace(btf_.handle()); });
  return *lazy_->reasons;
}

std::vector<int> KernelInfo::online_cpus() const {
  std::ifstream file(paths_.cpus_online);
  std::string text;
  std::getline(file, text);
  std::vector<int> cpus;
  std::stringstream ranges(text);
  std::string range;
  while (std::getline(ranges, range, ',')) {
    if (range.empty()) continue;
    const size_t dash = range.find('-');
    const int low = std::atoi(range.substr(0, dash).c_str());
    const int high = dash == std::string::npos ? low : std::atoi(range.substr(dash + 1).c_str());
    for (int cpu = low; cpu <= high; ++cpu) cpus.push_back(cpu);
  }
  return cpus;
}

const FunctionSupport &KernelInfo::function_support(uint32_t btf_func_id) const {
  std::lock_guard lock(lazy_->support_mutex);
  if (!lazy_->support)
    lazy_->support = probe_function_support(btf_func_id, config(), paths_.tracefs, paths_.running_kernel);
  return *lazy_->support;
}

void KernelInfo::override_function_support(const std::optional<FunctionSupport> &support) const {
  std::lock_guard lock(lazy_->support_mutex);
  lazy_->support = support;
}

const ProviderIndex &KernelInfo::providers() const {
  std::call_once(lazy_->providers_once, [&] { lazy_->providers = make_provider_index(*this); });
  return *lazy_->providers;
}

void KernelInfo::release_btf() const {
  // A BTF never loaded (user probes only) is left for drop_reasons() to load
  // if a probe ever asks.
  if (!btf_.loaded()) return;
  drop_reasons();
  btf_.release();
}

}  // namespace ntap
