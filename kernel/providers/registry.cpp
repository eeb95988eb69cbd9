// The list of probe providers. Elaboration asks each in turn whether it
// handles a probe point; order matters only if two could claim the same shape.
// Each family's factory builds its provider for the run's kernel.
#include "kernel/providers/kernel_function.h"
#include "kernel/providers/perf.h"
#include "kernel/providers/process_lifecycle.h"
#include "kernel/providers/syscall.h"
#include "kernel/providers/timer_profile.h"
#include "kernel/providers/tracepoint.h"
#include "kernel/providers/uprobe.h"
#include "kernel/providers/user_providers.h"

namespace ntap {

std::unique_ptr<ProviderIndex> make_provider_index(const KernelInfo &kernel) {
  std::vector<std::unique_ptr<Provider>> providers;
  providers.push_back(make_begin_provider(kernel));
  providers.push_back(make_end_provider(kernel));
  providers.push_back(make_error_provider(kernel));
  providers.push_back(make_timer_provider(kernel));
  providers.push_back(make_timer_profile_provider(kernel));
  providers.push_back(make_tracepoint_provider(kernel));
  providers.push_back(make_syscall_provider(kernel));
  providers.push_back(make_process_syscall_provider(kernel));
  providers.push_back(make_perf_provider(kernel));
  providers.push_back(make_process_lifecycle_provider(kernel));
  providers.push_back(make_process_provider(kernel));
  providers.push_back(make_kernel_function_provider(kernel));
  providers.push_back(make_procfs_provider(kernel));
  // Claims no written point: kernel_timer_probe() moves timers to it.
  providers.push_back(make_kernel_timer_provider(kernel));
  providers.push_back(make_kernel_begin_provider(kernel));
  return std::make_unique<ProviderIndex>(std::move(providers));
}

}  // namespace ntap
