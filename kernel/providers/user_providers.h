// The providers of user-side probes, which run in the ntap process:
// begin/end/error (with an optional priority) and the interval timers.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include "kernel/providers/provider.h"

namespace ntap {

// begin, begin(N), end, end(N), error, error(N): param = N (default 0).
std::unique_ptr<Provider> make_begin_provider(const KernelInfo &kernel);
std::unique_ptr<Provider> make_end_provider(const KernelInfo &kernel);
std::unique_ptr<Provider> make_error_provider(const KernelInfo &kernel);

// timer.s/sec/ms/msec/us/usec/ns/nsec/hz/jiffies(N): param = period in ns.
// A jiffy is 1/CONFIG_HZ s of `kernel` (KernelInfo::config_hz()).
std::unique_ptr<Provider> make_timer_provider(const KernelInfo &kernel);

// procfs("PATH").read / .write (and procfs.read: the file "command"), with
// .umask(N) and, for read, .maxsize(N): files ntap serves while it runs
// (runtime/procfs_server.h). param = maxsize (0: none written).
std::unique_ptr<Provider> make_procfs_provider(const KernelInfo &kernel);

// The same timers run in the kernel when their body reads kernel memory
// (docs/architecture.md, decision 15): `timer` as a perf_event BPF program
// on one cpu-clock event of `kernel`'s first online CPU with the timer's
// period. The provider never claims a written point (handles() is false);
// kernel_timer_probe() moves a resolved timer to it, and the timer must
// have no jitter (perf events fire at a fixed period).
std::unique_ptr<Provider> make_kernel_timer_provider(const KernelInfo &kernel);
ast::ResolvedProbe kernel_timer_probe(const ast::ResolvedProbe &timer, const ProviderIndex &providers);

// A begin probe whose body reads kernel memory runs in the kernel, once
// (docs/architecture.md, decision 19): kernel_begin_probe() moves a resolved
// begin to this provider, whose programs (section "raw_tp") the runtime runs
// through BPF_PROG_TEST_RUN in the begin probes' order instead of attaching.
std::unique_ptr<Provider> make_kernel_begin_provider(const KernelInfo &kernel);
ast::ResolvedProbe kernel_begin_probe(const ast::ResolvedProbe &begin, const ProviderIndex &providers);

// The period in nanoseconds of `timer.<unit>(count)` on a kernel ticking
// `hz` times a second, or 0 when the unit is unknown or count is not
// positive, or the period does not fit in int64.
int64_t timer_period_ns(std::string_view unit, int64_t count, int64_t hz);

}  // namespace ntap
