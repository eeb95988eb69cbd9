// The tapset's user-space memory functions in kernel probes: user_string and
// its _n/_warn/_quoted forms, user_long/int/short/char, user_int8..64 and
// user_uint8..64 with their _warn and _error forms. Each reads the current
// process's memory with bpf_probe_read_user(_str) and, as in stap, treats a
// fault by the function's kind: an error (user_string, *_error), a warning
// and a default (*_warn), or a default alone (user_long...).
#pragma once
#include <string_view>

#include "codegen/bpf/lowering.h"

namespace ntap::bpf {

using UserMemoryEmitter = llvm::Value *(*)(ProbeLowering &, const ast::CallExpr &);

// The lowering of user-memory builtin `name`, or null when it is not one.
UserMemoryEmitter user_memory_emitter(std::string_view name);

}  // namespace ntap::bpf
