// timer.s(N) ... timer.jiffies(N): periodic probes that run in the ntap
// process. The resolved probe's param is the period in nanoseconds.
#include <cstdlib>
#include <limits>
#include <string>

#include "kernel/kernel_info.h"
#include "kernel/providers/user_providers.h"

namespace ntap {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;

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

class TimerProvider final : public Provider {
 public:
  explicit TimerProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "timer"; }
  ast::Side side() const override { return ast::Side::User; }

  bool handles(const ast::ProbePoint &point) const override {
    return point.components.size() >= 2 && point.components[0].name == "timer" &&
           find_unit(point.components[1].name) != nullptr;
  }

  std::vector<PointShape> list_components() const override {
    std::vector<PointShape> shapes;
    for (const TimerUnit &unit : kUnits)
      shapes.push_back(PointShape{{{"timer", PointShape::Arg::None}, {std::string(unit.name), PointShape::Arg::Number}}});
    return shapes;
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const ast::ProbePointComponent &unit = point.components[1];
    std::string spelled = "timer." + unit.name;
    const ast::ProbePointComponent *randomize = nullptr;
    if (point.components.size() > 2) {
      const std::string &extra = point.components[2].name;
      if (extra != "randomize" || point.components.size() > 3)
        throw CompileError(ErrorKind::Probe, "unexpected '." + extra + "' after " + spelled + "(N)", point.loc);
      randomize = &point.components[2];
      if (!randomize->number_arg)
        throw CompileError(ErrorKind::Probe, spelled + "(N).randomize(M) needs a numeric argument M", point.loc);
    }
    if (!unit.number_arg)
      throw CompileError(ErrorKind::Probe, spelled + " needs a numeric argument: " + spelled + "(N)", point.loc);
    int64_t count = *unit.number_arg;
    if (count <= 0)
      throw CompileError(ErrorKind::Probe, spelled + "(" + std::to_string(count) + "): the argument must be positive",
                         point.loc);
    // Only jiffies need CONFIG_HZ: other timers never read the kernel's configuration.
    const int64_t hz = unit.name == "jiffies" ? kernel_.config_hz() : 0;
    int64_t period = timer_period_ns(unit.name, count, hz);
    if (period <= 0)
      throw CompileError(ErrorKind::Probe,
                         spelled + "(" + std::to_string(count) + ") gives a period outside 1 ns .. 292 years",
                         point.loc);
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = ast::ProbeKind::Timer;
    probe.name = spelled + "(" + std::to_string(count) + ")";
    probe.param = period;
    if (randomize) {
      // stap adds a uniformly distributed value in [-M, M] (in the timer's
      // unit) to every period; it must leave the period positive.
      const int64_t spread = *randomize->number_arg;
      const int64_t jitter = spread > 0 ? timer_period_ns(unit.name, spread, hz) : 0;
      if (spread < 0 || jitter >= period)
        throw CompileError(ErrorKind::Probe,
                           probe.name + ".randomize(" + std::to_string(spread) +
                               "): the randomization must be at least 0 and smaller than the period",
                           point.loc);
      probe.jitter = jitter;
      probe.name += ".randomize(" + std::to_string(spread) + ")";
    }
    probe.point = probe.name;
    return {probe};
  }

 private:
  const KernelInfo &kernel_;
};

}  // namespace

int64_t timer_period_ns(std::string_view unit_name, int64_t count, int64_t hz) {
  const TimerUnit *unit = find_unit(unit_name);
  if (!unit || count <= 0) return 0;
  if (unit->name == "hz") return kNsPerSec / count;  // 0 above 1 GHz: rejected by the caller
  int64_t numerator = unit->name == "jiffies" ? kNsPerSec : unit->ns_per_count;
  int64_t divisor = unit->name == "jiffies" ? hz : 1;
  if (divisor <= 0) return 0;
  if (count > std::numeric_limits<int64_t>::max() / numerator) return 0;
  return count * numerator / divisor;
}

std::unique_ptr<Provider> make_timer_provider(const KernelInfo &kernel) {
  return std::make_unique<TimerProvider>(kernel);
}

}  // namespace ntap
