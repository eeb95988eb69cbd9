// The builtin functions of the language, as a table.
//
// Each entry is the type signature the type checker needs and the sides it
// may run on. How a builtin is lowered lives beside each code generator
// (codegen/bpf/builtins_bpf.cpp, codegen/host/builtins_host.cpp and the
// runtime's ntap_fn_<name> functions), each a table keyed by the same name.
#pragma once
#include <string_view>
#include <vector>

#include "frontend/ast.h"

namespace ntap {

struct Builtin {
  enum Flags : unsigned {
    None = 0,
    Variadic = 1 << 0,   // any number of trailing arguments (printf family)
    Format = 1 << 1,     // first argument is a literal printf format
    Kernel = 1 << 2,     // usable in kernel (BPF) probes
    User = 1 << 3,       // usable in user probes (begin/end/timer)
    // In kernel probes the result is carried as a number and rendered in user
    // space (symname, symdata, ctime): only allowed as a print/printf argument.
    Deferred = 1 << 4,
    NoReturnValue = 1 << 5,  // statement-like (printf, exit): type Long, value 0
    // Variadic but not an output call: the trailing arguments are optional
    // parameters its lowering checks itself (assert(cond[, msg])).
    NotOutput = 1 << 6,
    // The first argument is a literal delimiter put between the values
    // (printd, printdln, sprintd, sprintdln); the values follow it.
    Delimited = 1 << 7,
  };
  std::string_view name;
  ast::Type result;
  std::vector<ast::Type> params;  // fixed parameters (the format counts as one)
  unsigned flags;
};

// nullptr when `name` is not a builtin.
const Builtin *find_builtin(std::string_view name);
const std::vector<Builtin> &all_builtins();

}  // namespace ntap
