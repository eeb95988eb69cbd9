// The user-side builtins (ntap_fn_* of runtime/api.h), one small function
// each. User probes run in the ntap process, so "current process" builtins
// describe ntap itself, as stap's begin/end/timer probes describe stap.
#include <sched.h>
#include <unistd.h>

#include "runtime/api.h"
#include "runtime/session.h"
#include "runtime/symbols.h"
#include "runtime/timefmt.h"

extern "C" {

void ntap_fn_exit(ntap_rt *rt) { rt->exit_requested = true; }

const char *ntap_fn_execname(ntap_rt *) { return "ntap"; }

int64_t ntap_fn_pid(ntap_rt *) { return getpid(); }

int64_t ntap_fn_tid(ntap_rt *) { return gettid(); }

int64_t ntap_fn_cpu(ntap_rt *) {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : cpu;
}

int64_t ntap_fn_gettimeofday_s(ntap_rt *) { return ntap::realtime_ns() / 1000000000; }
int64_t ntap_fn_gettimeofday_ms(ntap_rt *) { return ntap::realtime_ns() / 1000000; }
int64_t ntap_fn_gettimeofday_us(ntap_rt *) { return ntap::realtime_ns() / 1000; }
int64_t ntap_fn_gettimeofday_ns(ntap_rt *) { return ntap::realtime_ns(); }

const char *ntap_fn_ctime(ntap_rt *rt, int64_t epoch_seconds) {
  return rt->arena.keep(ntap::ctime_string(epoch_seconds));
}

const char *ntap_fn_symname(ntap_rt *rt, int64_t address) {
  return rt->arena.keep(ntap::KernelSymbols::running_kernel().symname(static_cast<uint64_t>(address)));
}

const char *ntap_fn_symdata(ntap_rt *rt, int64_t address) {
  return rt->arena.keep(ntap::KernelSymbols::running_kernel().symdata(static_cast<uint64_t>(address)));
}

const char *ntap_fn_drop_reason_name(ntap_rt *rt, int64_t reason) {
  return rt->arena.keep(ntap::drop_reason_name(reason));
}

}  // extern "C"
