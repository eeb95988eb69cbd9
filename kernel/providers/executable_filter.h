// Kernel probes that run their body only in tasks executing one file
// (perf.*.process("PATH"), process("PATH").begin/.end): the file named as
// stap names it (elf::resolve_program_path), and its identity as the kernel
// keeps it.
#pragma once
#include <string>

#include "frontend/ast.h"

namespace ntap {

// Sets `probe`'s exe_inode and exe_dev to the program PATH names and returns
// its canonical path; a program that cannot be found is a CompileError
// (Probe) located at `point`, "WHAT: cannot find ...".
std::string filter_by_executable(ast::ResolvedProbe &probe, const std::string &path, const ast::ProbePoint &point,
                                 const std::string &what);

}  // namespace ntap
