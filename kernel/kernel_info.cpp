// One kernel's knowledge, each part read on first use.
#include "kernel/kernel_info.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "kernel/kernel_config.h"
#include "kernel/providers/provider.h"
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
  explicit Lazy(const std::string &kallsyms) : symbols(kallsyms) {}
  KernelSymbols symbols;
  std::once_flag config_once, events_once, reasons_once, providers_once;
  KernelConfig config;
  std::vector<TraceEvent> events;
  std::optional<DropReasons> reasons;
  std::unique_ptr<ProviderIndex> providers;
};

KernelInfo::KernelInfo(KernelPaths paths)
    : paths_(std::move(paths)),
      btf_(paths_.btf, paths_.running_kernel),
      lazy_(std::make_unique<Lazy>(paths_.kallsyms)) {}

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
  paths.running_kernel = sysroot == nullptr;
  return paths;
}

KernelSymbols &KernelInfo::symbols() const { return lazy_->symbols; }

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
