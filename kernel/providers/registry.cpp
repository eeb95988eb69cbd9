// The list of probe providers. Elaboration asks each in turn whether it
// handles a probe point; order matters only if two could claim the same shape.
#include "kernel/providers/syscall.h"
#include "kernel/providers/perf.h"
#include "kernel/providers/kernel_function.h"
#include "kernel/providers/timer_profile.h"
#include "kernel/providers/tracepoint.h"
#include "kernel/providers/uprobe.h"
#include "kernel/providers/user_providers.h"

namespace ntap {

const std::vector<const Provider *> &all_providers() {
  static const std::vector<const Provider *> providers = {
      &begin_provider(), &end_provider(), &error_provider(), &timer_provider(), &timer_profile_provider(),
      &tracepoint_provider(), &syscall_provider(), &perf_provider(), &process_provider(), &kernel_function_provider(),
  };
  return providers;
}

}  // namespace ntap
