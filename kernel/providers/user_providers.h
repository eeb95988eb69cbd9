// The providers of user-side probes, which run in the ntap process:
// begin/end/error (with an optional priority) and the interval timers.
#pragma once
#include <cstdint>
#include <string_view>

#include "kernel/providers/provider.h"

namespace ntap {

// begin, begin(N), end, end(N), error, error(N): param = N (default 0).
const Provider &begin_provider();
const Provider &end_provider();
const Provider &error_provider();

// timer.s/sec/ms/msec/us/usec/ns/nsec/hz/jiffies(N): param = period in ns.
const Provider &timer_provider();

// The same timers run in the kernel when their body reads kernel memory
// (docs/architecture.md, decision 15): `timer` as a perf_event BPF program
// on one cpu-clock event with the timer's period. The timer must have no
// jitter (perf events fire at a fixed period).
const Provider &kernel_timer_provider();
ast::ResolvedProbe kernel_timer_probe(const ast::ResolvedProbe &timer);

// The kernel's CONFIG_HZ (from /boot/config-$(uname -r) or /proc/config.gz,
// read on first use), 250 when neither can be read.
int64_t kernel_config_hz();

// The period in nanoseconds of `timer.<unit>(count)`, or 0 when the unit is
// unknown or count is not positive, or the period does not fit in int64.
int64_t timer_period_ns(std::string_view unit, int64_t count);

}  // namespace ntap
