// The tapset "memory" functions in kernel probes (kernel_string,
// kernel_string_n, kernel_long, kernel_int, kernel_short, kernel_char,
// kernel_pointer) and the process builtins that read the current task_struct
// (ppid, pexecname, euid, egid). Each reads kernel memory with bpf_probe_read_kernel(_str)
// and, as in stap, a bad address is a run-time error naming it.
#pragma once
#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

llvm::Value *kernel_string(ProbeLowering &p, const ast::CallExpr &call);
llvm::Value *task_field(ProbeLowering &p, const ast::CallExpr &call);  // ppid, pexecname, euid, egid
llvm::Value *kernel_string_n(ProbeLowering &p, const ast::CallExpr &call);
template <uint32_t Size, bool Signed>
llvm::Value *kernel_number(ProbeLowering &p, const ast::CallExpr &call);

}  // namespace ntap::bpf
