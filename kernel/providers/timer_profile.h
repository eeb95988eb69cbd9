// timer.profile and timer.profile.tick: kernel probes that fire on every
// online CPU at each scheduler tick (stap's profiling timer), in the context
// of whatever the CPU was running. Here both are a perf software cpu-clock
// event per online CPU with a period of one tick (1/CONFIG_HZ s), each
// running the probe's perf_event BPF program; they offer no target variables.
#pragma once
#include <vector>

#include "kernel/providers/provider.h"

namespace ntap {

const Provider &timer_profile_provider();

// The CPUs listed in /sys/devices/system/cpu/online ("0-3,6"), in order.
std::vector<int> online_cpus();

}  // namespace ntap
