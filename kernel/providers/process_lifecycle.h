// process.begin, process.end, process("PATH").begin, process("PATH").end:
// programs starting and processes ending, on the scheduler's tracepoints,
// attached as tp_btf programs in the process's own context.
//   begin: sched:sched_process_exec, after the new program is in place, so
//          execname(), pid() and the executable are the new program's; and
//          a fork's child, in the child (the return of fork/vfork/clone/
//          clone3 that gives 0 in a new process: raw_syscalls:sys_exit), as
//          stap's task finder reports both. A process already running when
//          the script starts gives no begin (stap's does).
//   end:   sched:sched_process_exit, once per process (its last thread: the
//          tracepoint's group_dead), before its memory is released.
// With PATH (a name without '/' is looked up in $PATH) only tasks executing
// that file fire (ResolvedProbe::exe_inode). process(PID).begin/.end are
// errors naming the alternative.
#pragma once
#include <memory>

#include "kernel/providers/provider.h"

namespace ntap {

std::unique_ptr<Provider> make_process_lifecycle_provider(const KernelInfo &kernel);

}  // namespace ntap
