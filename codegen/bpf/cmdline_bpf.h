// cmdline_args, cmdline_arg and cmdline_str in kernel probes (cmdline_bpf.cpp).
#pragma once
#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

llvm::Value *cmdline_text(ProbeLowering &p, const ast::CallExpr &call);

}  // namespace ntap::bpf
