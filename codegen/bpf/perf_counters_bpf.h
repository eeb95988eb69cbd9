// The perf counter builtins of @perf's generated accounting
// (frontend/perf_counters.h), on a task storage map: each tracked thread has
// a value of its own, which the kernel frees with the task.
#pragma once
#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

// __perf_counter_switch($prev, $next), __perf_counter_fork($child),
// __perf_counter_track() and __perf_counter_value(K).
llvm::Value *perf_counter_switch(ProbeLowering &p, const ast::CallExpr &call);
llvm::Value *perf_counter_fork(ProbeLowering &p, const ast::CallExpr &call);
llvm::Value *perf_counter_track(ProbeLowering &p, const ast::CallExpr &call);
llvm::Value *perf_counter_value(ProbeLowering &p, const ast::CallExpr &call);

}  // namespace ntap::bpf
