// kernel.syscall("NAME") and kernel.syscall("NAME").return: one system call's
// entry and exit, on the raw_syscalls:sys_enter / sys_exit tracepoints (this
// kernel has no per-call syscalls:* events), attached as tp_btf programs that
// return at once unless the call's number is NAME's (ast::ResolvedProbe's
// filter). NAME is an fnmatch pattern over the x86_64 calls (kernel/syscalls.h).
// The tapset's syscall.* and nd_syscall.* aliases (tapset/syscalls*.ntp) are
// built on these probes.
#pragma once
#include <memory>

#include "kernel/providers/provider.h"

namespace ntap {

std::unique_ptr<Provider> make_syscall_provider(const KernelInfo &kernel);

// process("PATH").syscall, process(PID).syscall, process.syscall, and their
// .return: every system call of one process, on the same tracepoints.
std::unique_ptr<Provider> make_process_syscall_provider(const KernelInfo &kernel);

}  // namespace ntap
