// timer.s(N) ... timer.jiffies(N): periodic probes that run in the ntap
// process. The resolved probe's param is the period in nanoseconds.
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#include "runtime/providers/user_providers.h"

namespace ntap {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kDefaultHz = 250;

struct TimerUnit {
  std::string_view name;
  int64_t ns_per_count;  // 0: a frequency (hz) or jiffies, computed separately
};

constexpr TimerUnit kUnits[] = {
    {"s", kNsPerSec},      {"sec", kNsPerSec}, {"ms", 1'000'000}, {"msec", 1'000'000},
    {"us", 1'000},         {"usec", 1'000},    {"ns", 1},         {"nsec", 1},
    {"hz", 0},             {"jiffies", 0},
};

const TimerUnit *find_unit(std::string_view name) {
  for (const TimerUnit &unit : kUnits)
    if (unit.name == name) return &unit;
  return nullptr;
}

// Finds "CONFIG_HZ=N" in kernel config text read line by line from `next_line`.
template <typename NextLine>
int64_t scan_config_hz(NextLine next_line) {
  constexpr std::string_view key = "CONFIG_HZ=";
  std::string line;
  while (next_line(line))
    if (line.compare(0, key.size(), key) == 0) return std::strtoll(line.c_str() + key.size(), nullptr, 10);
  return 0;
}

int64_t hz_from_boot_config() {
  utsname uts{};
  if (uname(&uts) != 0) return 0;
  std::ifstream config(std::string("/boot/config-") + uts.release);
  if (!config) return 0;
  return scan_config_hz([&](std::string &line) { return static_cast<bool>(std::getline(config, line)); });
}

// /proc/config.gz is gzip-compressed and ntap links no zlib of its own, so
// gzip decompresses it; this runs once, and only for timer.jiffies.
int64_t hz_from_proc_config() {
  FILE *pipe = ::popen("gzip -dc /proc/config.gz 2>/dev/null", "r");
  if (!pipe) return 0;
  char buf[512];
  int64_t hz = scan_config_hz([&](std::string &line) {
    if (!std::fgets(buf, sizeof buf, pipe)) return false;
    line = buf;
    return true;
  });
  ::pclose(pipe);
  return hz;
}

class TimerProvider final : public Provider {
 public:
  std::string_view family() const override { return "timer"; }
  ast::Side side() const override { return ast::Side::User; }

  bool handles(const ast::ProbePoint &point) const override {
    return point.components.size() >= 2 && point.components[0].name == "timer" &&
           find_unit(point.components[1].name) != nullptr;
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const ast::ProbePointComponent &unit = point.components[1];
    std::string spelled = "timer." + unit.name;
    if (point.components.size() > 2) {
      const std::string &extra = point.components[2].name;
      if (extra == "randomize")
        throw CompileError(ErrorKind::Probe, spelled + "(N).randomize(M) is not supported yet", point.loc);
      throw CompileError(ErrorKind::Probe, "unexpected '." + extra + "' after " + spelled + "(N)", point.loc);
    }
    if (!unit.number_arg)
      throw CompileError(ErrorKind::Probe, spelled + " needs a numeric argument: " + spelled + "(N)", point.loc);
    int64_t count = *unit.number_arg;
    if (count <= 0)
      throw CompileError(ErrorKind::Probe, spelled + "(" + std::to_string(count) + "): the argument must be positive",
                         point.loc);
    int64_t period = timer_period_ns(unit.name, count);
    if (period <= 0)
      throw CompileError(ErrorKind::Probe,
                         spelled + "(" + std::to_string(count) + ") gives a period outside 1 ns .. 292 years",
                         point.loc);
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = ast::ProbeKind::Timer;
    probe.name = spelled + "(" + std::to_string(count) + ")";
    probe.param = period;
    return {probe};
  }
};

}  // namespace

int64_t kernel_config_hz() {
  static const int64_t hz = [] {
    int64_t found = hz_from_boot_config();
    if (found <= 0) found = hz_from_proc_config();
    return found > 0 ? found : kDefaultHz;
  }();
  return hz;
}

int64_t timer_period_ns(std::string_view unit_name, int64_t count) {
  const TimerUnit *unit = find_unit(unit_name);
  if (!unit || count <= 0) return 0;
  if (unit->name == "hz") return kNsPerSec / count;  // 0 above 1 GHz: rejected by the caller
  int64_t numerator = unit->name == "jiffies" ? kNsPerSec : unit->ns_per_count;
  int64_t divisor = unit->name == "jiffies" ? kernel_config_hz() : 1;
  if (count > std::numeric_limits<int64_t>::max() / numerator) return 0;
  return count * numerator / divisor;
}

const Provider &timer_provider() {
  static const TimerProvider provider;
  return provider;
}

}  // namespace ntap
