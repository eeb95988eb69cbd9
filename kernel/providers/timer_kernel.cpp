// Interval timers whose body reads kernel memory (docs/architecture.md,
// decision 15): the probe runs as a perf_event BPF program on one perf
// software cpu-clock event of the first online CPU, whose sample period is
// the timer's. cpu-clock is an hrtimer in the kernel: it fires while the CPU
// idles, so the reports do not depend on any traffic.
#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include <cerrno>

#include "kernel/kernel_info.h"
#include "kernel/providers/perf_events.h"
#include "kernel/providers/user_providers.h"

namespace ntap {
namespace {

constexpr const char *kPerfEventSection = "perf_event";

class KernelTimerProvider final : public Provider {
 public:
  explicit KernelTimerProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "timer"; }
  ast::Side side() const override { return ast::Side::Kernel; }
  // Never matched from a written point: elaboration moves a resolved timer
  // here (kernel_timer_probe) once it knows the body needs the kernel.
  bool handles(const ast::ProbePoint &) const override { return false; }
  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &) const override { return {}; }

  bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const override {
    const std::vector<int> cpus = kernel_.online_cpus();
    perf_event_attr attr{};
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = static_cast<uint64_t>(probe.param);
    std::vector<bpf_link *> links;
    // One event, on the first online CPU (ENODEV when there is none).
    if (!attach_perf_event_on_cpus(std::vector<int>(cpus.begin(), cpus.begin() + (cpus.empty() ? 0 : 1)), attr, prog,
                                   links))
      return nullptr;
    return links.front();
  }

 private:
  const KernelInfo &kernel_;
};

}  // namespace

std::unique_ptr<Provider> make_kernel_timer_provider(const KernelInfo &kernel) {
  return std::make_unique<KernelTimerProvider>(kernel);
}

ast::ResolvedProbe kernel_timer_probe(const ast::ResolvedProbe &timer, const ProviderIndex &providers) {
  ast::ResolvedProbe probe = timer;
  probe.provider = providers.find_family("timer", ast::Side::Kernel);
  probe.kind = ast::ProbeKind::Perf;
  probe.section = kPerfEventSection;
  return probe;
}

}  // namespace ntap
