// perf.sw.NAME, perf.hw.NAME and perf.type(T).config(C): kernel probes run
// by perf events, named as SystemTap's perf tapset names them
// (perf.sw.page_faults is perf.type(1).config(2)). Each is one perf event per
// online CPU counting every process, sampling every N events
// (`.sample(N)`, default 1000000) and running the probe's perf_event BPF
// program at each sample. `.process("PATH")` runs the body only when the
// sampled task executes PATH (compared by inode and device in the program).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/providers/provider.h"

namespace ntap {

std::unique_ptr<Provider> make_perf_provider(const KernelInfo &kernel);

// One named event of the perf tapset: perf.<group>.<name>.
struct PerfEventName {
  const char *group;  // "sw" or "hw"
  const char *name;   // "page_faults"
  uint32_t type;      // PERF_TYPE_SOFTWARE / PERF_TYPE_HARDWARE
  uint64_t config;    // PERF_COUNT_SW_PAGE_FAULTS ...
};
const std::vector<PerfEventName> &perf_event_names();

// Why the kernel refuses to open the event (type, config) on `cpu`, as
// "ENOENT (No such file or directory)"; nullopt when it opens.
std::optional<std::string> perf_event_refusal(uint32_t type, uint64_t config, int cpu);

}  // namespace ntap
