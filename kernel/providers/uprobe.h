// process(...) probes: user-space functions, source lines and SDT markers of
// a program, attached as uprobes and uretprobes.
//
//   process("PATH").function("PATTERN")[.call|.return]
//   process("PATH").function("PATTERN@FILE[:LINE]")
//   process("PATH").statement("FUNCTION@FILE:LINE")
//   process("PATH").mark("NAME")            (.note.stapsdt probes; $arg1...)
//   process(PID).…  and  process.…          (the target: -x PID or -c CMD)
//
// PATH without a '/' is looked up on $PATH, as stap does. Function patterns
// are fnmatch globs over the ELF symbol table. With DWARF, .function probes
// go after the prologue and $parameters/$locals come from the debug info;
// without it, only $return and the registers (uaddr()) are available.
#pragma once
#include <cstdint>
#include <string>

#include "kernel/providers/provider.h"

namespace ntap {

const Provider &process_provider();

// The target of process probes written without a path or pid: the program
// -c CMD runs (its first word, looked up on $PATH) or the process -x PID.
// Set before elaboration; `command` empty and `pid` 0 when there is none.
void set_process_target(const std::string &command, int64_t pid);
// The target's pid once it is known (the -c CMD process is started after
// elaboration), used when attaching probes that follow target().
void set_process_target_pid(int64_t pid);

}  // namespace ntap
