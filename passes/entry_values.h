// @entry(expr) in process .return probes (internal to passes/).
#pragma once
#include <memory>

#include "frontend/ast.h"

namespace ntap {

// Each @entry(expr) of `probe` (whose points are resolved) becomes a read of
// a hidden per-thread global, `__entry_P_N[tid()]`, and the returned probe
// (null when there is no @entry) stores `expr` there at the entry of the
// same functions, where .function probes go. Throws the CompileError stap
// gives (`@entry is only valid in .return probes`) when a point of `probe`
// is not a process .return probe.
std::unique_ptr<ast::Probe> split_entry_values(ast::Program &program, ast::Probe &probe, size_t probe_index);

// Rejects an @entry left in a script function (they have no probe context).
void reject_entry_in_functions(ast::Program &program);

}  // namespace ntap
