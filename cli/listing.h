// -l / -L (list probe points) and -p2 (print the elaborated script).
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "kernel/kernel_info.h"

namespace ntap {

// Prints every concrete probe point and probe alias (from the tapsets in
// `tapset_dirs`) matching `pattern` (a probe point as it would be written
// after `probe`), one per line, sorted; with `with_context` also the points'
// context variables. The points are `kernel`'s providers' (the lookup probe
// resolution uses). Returns the exit status: 1 when nothing matches, as stap.
int list_probe_points(const KernelInfo &kernel, const std::string &pattern, bool with_context,
                      const std::vector<std::string> &tapset_dirs);

// The checked program: globals with their types and placement-relevant use,
// probes with their concrete probe points and side.
void print_elaborated(const ast::Program &program, std::ostream &out);

}  // namespace ntap
