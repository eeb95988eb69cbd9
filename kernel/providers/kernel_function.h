// Kernel function probes: kernel.function("PAT")[.call|.return],
// module("M").function("PAT")[.call|.return], kprobe.function("F")[.return]
// and kretprobe.function("F").
//
// PAT is an fnmatch pattern over the functions vmlinux BTF describes (their
// prototypes type the context variables: every parameter by name, and
// $return in .return probes). kernel.function and module().function attach
// as fentry/fexit where the kernel accepts tracing programs and as
// kprobe/kretprobe otherwise (kernel/function_support.h); kprobe.function
// and kretprobe.function always use kprobes. Where the mechanism cannot work
// the probes still compile (-p4 writes the object) and running them is
// refused with what was tried and why it failed (Provider::unavailable_reason).
#pragma once
#include <memory>

#include "kernel/providers/provider.h"

namespace ntap {

std::unique_ptr<Provider> make_kernel_function_provider(const KernelInfo &kernel);

}  // namespace ntap
