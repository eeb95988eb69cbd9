// enum_name("ENUM", value): the name of a kernel enum's value, resolved at
// compile time from the vmlinux BTF into a script function of the program
// (one if-chain per enum), which then runs on either side like any other.
#pragma once
#include "frontend/ast.h"

namespace ntap {

class Btf;

// For a call `enum_name("sk_rst_reason", v)`: the program's function that
// names the values of `enum sk_rst_reason` (made on first use); the caller
// then calls it with `v`. Throws CompileError (at the call) when the first
// argument is not a string literal or the kernel has no such enum.
ast::Function *enum_name_function(ast::Program &program, const Btf &btf, const ast::CallExpr &call);

}  // namespace ntap
