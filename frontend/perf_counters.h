// perf counters: `probe perf.hw.instructions.process("PATH").counter("NAME") {}`
// defines a counter, and `@perf("NAME")` in a probe of that process's code
// (process("PATH").function/statement/mark) reads how many events the
// probed thread has counted, as stap's perf counters do.
//
// The counter is a counting perf event on every CPU (the runtime opens it
// and hands it to BPF through a perf event array). A CPU's event counts for
// whatever runs there, so the program keeps each thread's share: generated
// probes (added here as stap's argv tapset is, their work done by builtins,
// codegen/bpf/perf_counters_bpf.cpp) add the CPU's count since a tracked
// thread was switched in to its total when it is switched out, in a task
// storage map the kernel frees with the task. A thread is tracked from the moment the process starts
// (`process("PATH").begin`, so also a forked child), from its creation when
// a tracked thread creates it, and, for threads already running when the
// script starts, from the first @perf they read (which gives 0 then).
// @perf is the thread's total plus the CPU's count since it was switched in.
#pragma once
#include "frontend/ast.h"
#include "frontend/diagnostics.h"

namespace ntap {

// Replaces each @perf("NAME") of `program`'s probes by a call of the
// generated function that reads counter NAME, sets program.perf_counters
// and adds the accounting code, when the program reads any counter.
// A counter no perf.*.counter probe defines, one defined twice, or @perf
// outside the probes of the counter's process is a CompileError (Semantic).
void add_perf_counters(ast::Program &program, SourceManager &sources);

}  // namespace ntap
