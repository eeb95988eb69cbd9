// process(...) probes: user-space functions, source lines and SDT markers of
// a program, attached as uprobes and uretprobes.
//
//   process("PATH").function("PATTERN")[.call|.return]
//   process("PATH").function("PATTERN@FILE[:LINE]")
//   process("PATH").statement("FUNCTION@FILE:LINE")
//   process("PATH").mark("NAME")            (.note.stapsdt probes; $arg1...)
//   process(PID).…  and  process.…          (the target: -x PID or -c CMD)
//   process(...).library("LIB").…           (any of the above in a library the
//                                            program loads, firing only in the
//                                            program's processes)
//
// PATH without a '/' is looked up on $PATH, as stap does; LIB is a path, a
// file name or a pattern (kernel/shared_libraries.h). Function patterns
// are fnmatch globs over the ELF symbol table. With DWARF, .function probes
// go after the prologue and $parameters/$locals come from the debug info;
// without it, only $return and the registers (uaddr()) are available.
#pragma once
#include <memory>

#include "kernel/providers/provider.h"

namespace ntap {

std::unique_ptr<Provider> make_process_provider(const KernelInfo &kernel);

}  // namespace ntap
