#include "kernel/providers/timer_profile.h"

#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include <cerrno>

#include "kernel/kernel_info.h"
#include "kernel/providers/perf_events.h"

namespace ntap {
namespace {

constexpr const char *kPerfEventSection = "perf_event";
constexpr int64_t kNsPerSec = 1'000'000'000;

class TimerProfileProvider final : public Provider {
 public:
  explicit TimerProfileProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "timer.profile"; }
  ast::Side side() const override { return ast::Side::Kernel; }

  bool handles(const ast::ProbePoint &point) const override {
    return point.components.size() >= 2 && point.components[0].name == "timer" &&
           point.components[1].name == "profile";
  }

  std::vector<PointShape> list_components() const override {
    using Arg = PointShape::Arg;
    return {PointShape{{{"timer", Arg::None}, {"profile", Arg::None}}},
            PointShape{{{"timer", Arg::None}, {"profile", Arg::None}, {"tick", Arg::None}}}};
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const auto &components = point.components;
    for (const ast::ProbePointComponent &c : components)
      if (c.string_arg || c.number_arg)
        throw CompileError(ErrorKind::Probe, "timer.profile takes no arguments", point.loc,
                           "probe point '" + point.str() + "'");
    if (components.size() > 3 || (components.size() == 3 && components[2].name != "tick"))
      throw CompileError(ErrorKind::Probe, "unexpected '." + components[components.size() == 3 ? 2 : 3].name +
                                               "' after timer.profile (timer.profile or timer.profile.tick)",
                         point.loc);
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = ast::ProbeKind::Perf;
    probe.name = components.size() == 3 ? "timer.profile.tick" : "timer.profile";
    probe.point = probe.name;
    probe.section = kPerfEventSection;
    probe.param = kNsPerSec / kernel_.config_hz();  // the tick, in ns of cpu-clock
    return {probe};
  }

  bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const override {
    return attach_single(*this, probe, prog);
  }

  bool attach_all(const ast::ResolvedProbe &probe, bpf_program *prog, std::vector<bpf_link *> &links) const override {
    perf_event_attr attr{};
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = static_cast<uint64_t>(probe.param);
    return attach_perf_event_on_cpus(kernel_.online_cpus(), attr, prog, links);
  }

 private:
  const KernelInfo &kernel_;
};

}  // namespace

std::unique_ptr<Provider> make_timer_profile_provider(const KernelInfo &kernel) {
  return std::make_unique<TimerProfileProvider>(kernel);
}

}  // namespace ntap
