// -l / -L (list probe points) and -p2 (print the elaborated script).
#pragma once
#include <ostream>
#include <string>

#include "frontend/ast.h"

namespace ntap {

// Prints every concrete probe point matching `pattern` (a probe point as it
// would be written after `probe`), one per line, sorted; with `with_context`
// also their context variables. Returns the exit status.
int list_probe_points(const std::string &pattern, bool with_context);

// The checked program: globals with their types and placement-relevant use,
// probes with their concrete probe points and side.
void print_elaborated(const ast::Program &program, std::ostream &out);

}  // namespace ntap
