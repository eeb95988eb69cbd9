// timer.profile and timer.profile.tick: kernel probes that fire on every
// online CPU at each scheduler tick (stap's profiling timer), in the context
// of whatever the CPU was running. Here both are a perf software cpu-clock
// event per online CPU (KernelInfo::online_cpus()) with a period of one tick
// (1/CONFIG_HZ s), each running the probe's perf_event BPF program; they
// offer no target variables.
#pragma once
#include <memory>

#include "kernel/providers/provider.h"

namespace ntap {

std::unique_ptr<Provider> make_timer_profile_provider(const KernelInfo &kernel);

}  // namespace ntap
