#include "kernel/providers/perf.h"

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "kernel/kernel_info.h"
#include "kernel/providers/executable_filter.h"
#include "kernel/providers/perf_events.h"

namespace ntap {
namespace {

constexpr const char *kPerfEventSection = "perf_event";
// stap's sample period when a perf probe names none.
constexpr int64_t kDefaultSamplePeriod = 1'000'000;

perf_event_attr event_attr(uint32_t type, uint64_t config, uint64_t period) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = type;
  attr.config = config;
  attr.sample_period = period;
  return attr;
}

const PerfEventName *find_name(const std::string &group, const std::string &name) {
  for (const PerfEventName &event : perf_event_names())
    if (group == event.group && name == event.name) return &event;
  return nullptr;
}


// The named or numbered event a point starts with (perf.sw.NAME,
// perf.hw.NAME, perf.type(T).config(C)); returns the index of the first
// component after it.
size_t parse_event(const ast::ProbePoint &point, ast::ResolvedProbe &probe, std::string &name) {
  const auto &c = point.components;
  if (c.size() >= 3 && (c[1].name == "sw" || c[1].name == "hw")) {
    if (c[1].string_arg || c[1].number_arg || c[2].string_arg || c[2].number_arg)
      probe_error(point, "perf." + c[1].name + "." + c[2].name + " takes no argument");
    const PerfEventName *event = find_name(c[1].name, c[2].name);
    if (!event)
      probe_error(point, "no perf event named perf." + c[1].name + "." + c[2].name + " (see ntap -l 'perf.**')");
    probe.perf_type = event->type;
    probe.perf_config = event->config;
    name = "perf." + c[1].name + "." + c[2].name;
    return 3;
  }
  if (c.size() >= 3 && c[1].name == "type" && c[2].name == "config") {
    if (!c[1].number_arg || !c[2].number_arg || *c[1].number_arg < 0 || *c[1].number_arg > UINT32_MAX ||
        *c[2].number_arg < 0)
      probe_error(point, "perf.type(T).config(C) takes two non-negative numbers");
    probe.perf_type = static_cast<uint32_t>(*c[1].number_arg);
    probe.perf_config = static_cast<uint64_t>(*c[2].number_arg);
    name = "perf.type(" + std::to_string(probe.perf_type) + ").config(" + std::to_string(probe.perf_config) + ")";
    return 3;
  }
  probe_error(point, "expected perf.sw.NAME, perf.hw.NAME or perf.type(T).config(C)");
}

class PerfProvider final : public Provider {
 public:
  explicit PerfProvider(const KernelInfo &kernel) : kernel_(kernel) {}
  std::string_view family() const override { return "perf"; }
  ast::Side side() const override { return ast::Side::Kernel; }

  bool handles(const ast::ProbePoint &point) const override {
    return point.components.size() >= 2 && point.components[0].name == "perf";
  }

  std::vector<PointShape> list_components() const override {
    using Arg = PointShape::Arg;
    std::vector<PointShape> shapes;
    auto with_suffixes = [&](std::vector<PointShape::Component> base) {
      shapes.push_back(PointShape{base});
      auto sampled = base;
      sampled.push_back({"sample", Arg::Number});
      shapes.push_back(PointShape{sampled});
      auto process = base;
      process.push_back({"process", Arg::String});
      shapes.push_back(PointShape{process});
      sampled.push_back({"process", Arg::String});
      shapes.push_back(PointShape{sampled});
      process.push_back({"counter", Arg::String});
      shapes.push_back(PointShape{process});
      base.push_back({"counter", Arg::String});
      shapes.push_back(PointShape{base});
    };
    for (const PerfEventName &event : perf_event_names())
      with_suffixes({{"perf", Arg::None}, {event.group, Arg::None}, {event.name, Arg::None}});
    with_suffixes({{"perf", Arg::None}, {"type", Arg::Number}, {"config", Arg::Number}});
    return shapes;
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = ast::ProbeKind::Perf;
    probe.section = kPerfEventSection;
    probe.param = kDefaultSamplePeriod;
    std::string name;
    const auto &c = point.components;
    bool sampled = false;
    std::optional<std::string> process;
    std::optional<std::string> counter;
    const bool counts = std::any_of(c.begin(), c.end(), [](const auto &part) { return part.name == "counter"; });
    for (size_t i = parse_event(point, probe, name); i < c.size(); ++i) {
      if (c[i].name == "sample" && !sampled) {
        if (!c[i].number_arg || *c[i].number_arg <= 0)
          probe_error(point, "perf probes' .sample(N) takes a positive number of events");
        probe.param = *c[i].number_arg;
        sampled = true;
      } else if (c[i].name == "process" && !process && !c[i].string_arg && !c[i].number_arg && counts) {
        process = "";  // a counter's .process: the -c command's (frontend/perf_counters.cpp)
      } else if (c[i].name == "process" && !process) {
        if (!c[i].string_arg || c[i].string_arg->empty())
          probe_error(point, "perf probes' .process(\"PATH\") needs the path of an executable");
        process = filter_by_executable(probe, *c[i].string_arg, point,
                                       "perf probe .process(\"" + *c[i].string_arg + "\")");
      } else if (c[i].name == "counter" && !counter) {
        if (!c[i].string_arg || c[i].string_arg->empty())
          probe_error(point, "perf probes' .counter(\"NAME\") needs the name @perf reads it by");
        if (c[i].string_arg->find_first_of("*?[") != std::string::npos)
          probe_error(point, "a perf counter's name cannot have wildcards");
        counter = *c[i].string_arg;
      } else {
        probe_error(point, "unexpected '." + c[i].name +
                               "' in a perf probe (.sample(N), .process(\"PATH\") and .counter(\"NAME\") may "
                               "follow the event)");
      }
    }
    std::string suffix;
    if (sampled) suffix += ".sample(" + std::to_string(probe.param) + ")";
    if (process) suffix += process->empty() ? ".process" : ".process(\"" + *process + "\")";
    if (counter) {
      // Counted, never sampled (stap ignores .sample here too): the event is
      // read by @perf in the process's probes, which frontend/perf_counters.cpp
      // connects to it; the counter's own body never runs.
      suffix += ".counter(\"" + *counter + "\")";
      probe.kind = ast::ProbeKind::PerfCounter;
      probe.perf_counter = *counter;
      probe.section.clear();
      probe.param = 0;
    }
    probe.name = name + suffix;
    // pp(): the point the perf tapset's alias stands for, as stap spells it.
    probe.point =
        "perf.type(" + std::to_string(probe.perf_type) + ").config(" + std::to_string(probe.perf_config) + ")" + suffix;
    // Software events always exist; the others may have no PMU (a VM):
    // say which event the kernel refused and why, before anything loads.
    if (probe.perf_type != PERF_TYPE_SOFTWARE) {
      const std::vector<int> cpus = kernel_.online_cpus();
      if (auto refused = perf_event_refusal(probe.perf_type, probe.perf_config, cpus.empty() ? 0 : cpus.front()))
        probe_error(point, "the kernel refuses perf event " + name + " (type " + std::to_string(probe.perf_type) +
                               ", config " + std::to_string(probe.perf_config) + "): perf_event_open: " + *refused);
    }
    return {probe};
  }

  bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const override {
    return attach_single(*this, probe, prog);
  }

  // One event per online CPU, as timer.profile (kernel/providers/timer_profile.cpp).
  bool attach_all(const ast::ResolvedProbe &probe, bpf_program *prog, std::vector<bpf_link *> &links) const override {
    return attach_perf_event_on_cpus(
        kernel_.online_cpus(), event_attr(probe.perf_type, probe.perf_config, static_cast<uint64_t>(probe.param)), prog,
        links);
  }

 private:
  const KernelInfo &kernel_;
};

}  // namespace

const std::vector<PerfEventName> &perf_event_names() {
  static const std::vector<PerfEventName> names = {
      {"sw", "cpu_clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
      {"sw", "task_clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
      {"sw", "page_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
      {"sw", "context_switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
      {"sw", "cpu_migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
      {"sw", "page_faults_min", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
      {"sw", "page_faults_maj", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
      {"sw", "alignment_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS},
      {"sw", "emulation_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS},
      {"hw", "cpu_cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
      {"hw", "instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
      {"hw", "cache_references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
      {"hw", "cache_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
      {"hw", "branch_instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
      {"hw", "branch_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
      {"hw", "bus_cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},
      {"hw", "stalled_cycles_frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
      {"hw", "stalled_cycles_backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
      {"hw", "ref_cpu_cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
  };
  return names;
}

std::optional<std::string> perf_event_refusal(uint32_t type, uint64_t config, int cpu) {
  perf_event_attr attr = event_attr(type, config, kDefaultSamplePeriod);
  attr.disabled = 1;
  const int fd = open_perf_event(attr, cpu);
  if (fd >= 0) {
    ::close(fd);
    return std::nullopt;
  }
  const int err = errno;
  const char *name = ::strerrorname_np(err);
  std::string text = std::string(name ? name : "errno " + std::to_string(err)) + " (" + std::strerror(err) + ")";
  if (err == ENOENT || err == EOPNOTSUPP)
    text += ": this machine has no PMU counting it (a virtual machine often has none)";
  return text;
}

std::unique_ptr<Provider> make_perf_provider(const KernelInfo &kernel) {
  return std::make_unique<PerfProvider>(kernel);
}

}  // namespace ntap
