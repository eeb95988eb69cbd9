// The builtin functions: signatures and the sides each may run on.
#include "frontend/builtins.h"

#include <algorithm>

namespace ntap {
namespace {

using ast::Type;
constexpr unsigned kBoth = Builtin::Kernel | Builtin::User;
// Rendered in user space: computed there in user probes, carried as a number
// from kernel probes and rendered when the record is printed.
constexpr unsigned kDeferredInKernel = Builtin::User | Builtin::Kernel | Builtin::Deferred;

const std::vector<Builtin> kBuiltins = {
    // printf(fmt, ...): formatted output; kernel probes send a ring-buffer record.
    {"printf", Type::Long, {Type::String}, Builtin::Format | Builtin::Variadic | kBoth | Builtin::NoReturnValue},
    // sprintf(fmt, ...): formatted string; strings built in BPF are not supported yet.
    {"sprintf", Type::String, {Type::String}, Builtin::Format | Builtin::Variadic | Builtin::User},
    // print(...): each argument in its natural format, no separator.
    {"print", Type::Long, {}, Builtin::Variadic | kBoth | Builtin::NoReturnValue},
    // println(...): like print, then a newline.
    {"println", Type::Long, {}, Builtin::Variadic | kBoth | Builtin::NoReturnValue},
    // exit(): end the run after the current probe (end probes still run).
    {"exit", Type::Long, {}, kBoth | Builtin::NoReturnValue},
    // execname(): the current task's command name.
    {"execname", Type::String, {}, kBoth},
    // pid(): the current process (thread group) id.
    {"pid", Type::Long, {}, kBoth},
    // tid(): the current thread id.
    {"tid", Type::Long, {}, kBoth},
    // cpu(): the CPU the probe runs on.
    {"cpu", Type::Long, {}, kBoth},
    // gettimeofday_s(): wall-clock seconds since the epoch.
    {"gettimeofday_s", Type::Long, {}, kBoth},
    // gettimeofday_ms(): wall-clock milliseconds since the epoch.
    {"gettimeofday_ms", Type::Long, {}, kBoth},
    // gettimeofday_us(): wall-clock microseconds since the epoch.
    {"gettimeofday_us", Type::Long, {}, kBoth},
    // gettimeofday_ns(): wall-clock nanoseconds since the epoch.
    {"gettimeofday_ns", Type::Long, {}, kBoth},
    // ctime(secs): "Wed Jun 30 21:49:08 1993" for seconds since the epoch.
    {"ctime", Type::String, {Type::Long}, kDeferredInKernel},
    // symname(addr): the kernel symbol containing addr ("tcp_v4_rcv"), hex when unknown.
    {"symname", Type::String, {Type::Long}, kDeferredInKernel},
    // symdata(addr): "tcp_v4_rcv+0xaa/0x8d0 [kernel]".
    {"symdata", Type::String, {Type::Long}, kDeferredInKernel},
    // drop_reason_name(r): the kernel's name of an enum skb_drop_reason value.
    {"drop_reason_name", Type::String, {Type::Long}, kDeferredInKernel},
};

}  // namespace

const Builtin *find_builtin(std::string_view name) {
  auto it = std::find_if(kBuiltins.begin(), kBuiltins.end(), [&](const Builtin &b) { return b.name == name; });
  return it == kBuiltins.end() ? nullptr : &*it;
}

const std::vector<Builtin> &all_builtins() { return kBuiltins; }

}  // namespace ntap
