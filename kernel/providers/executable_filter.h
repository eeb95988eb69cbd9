// Kernel probes that run their body only in tasks executing one file
// (perf.*.process("PATH"), process("PATH").begin/.end): the file named as
// stap names it, and its identity as the kernel keeps it.
#pragma once
#include <string>

#include "frontend/ast.h"

namespace ntap {

// PATH as stap takes it: a name without '/' is looked up in $PATH; the
// file is then named by its canonical path.
std::string find_executable(const std::string &path);

// Sets `probe`'s exe_inode and exe_dev to the file PATH names and returns its
// canonical path; a file that cannot be found is a CompileError (Probe)
// located at `point`, "WHAT: cannot find ...".
std::string filter_by_executable(ast::ResolvedProbe &probe, const std::string &path, const ast::ProbePoint &point,
                                 const std::string &what);

}  // namespace ntap
