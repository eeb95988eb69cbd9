// @entry(expr) in function .return probes (internal to passes/).
#pragma once
#include <memory>

#include "frontend/ast.h"

namespace ntap {

// Each @entry(expr) of `probe` (whose points are resolved) becomes a read of
// a hidden per-thread global, `__entry_P_N[tid()]`, and the returned probe
// stores `expr` there at the entry of the same functions (the probes each
// point's provider names, Provider::entry_probes). Null when there is no
// @entry to store: none written, a point that is no function's return (the
// target resolver reports it), or only parameters under fexit, which reads
// their entry values itself.
std::unique_ptr<ast::Probe> split_entry_values(ast::Program &program, ast::Probe &probe, size_t probe_index);

// An @entry left in a script function (it has no probe context) keeps its
// error, reported if the elision passes leave it (report_unresolved.cpp).
void reject_entry_in_functions(ast::Program &program);

}  // namespace ntap
