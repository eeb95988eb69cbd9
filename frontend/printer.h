// The parsed script printed back in SystemTap's canonical -p1 form.
//
// One global, function or probe per block, normalized spacing, four-space
// indentation, and parentheses only where the grammar needs them. The output
// is a script: parsing it again gives the same tree (the printer and the
// parser are tested for that round trip on every script in the repository).
// Tapset definitions are not printed, as with stap -p1.
#pragma once
#include <ostream>
#include <string>

#include "frontend/ast.h"

namespace ntap {

struct PrintOptions {
  // Parenthesise every operand that is itself an operation: the tree shape
  // spelled out (the round-trip tests compare trees this way).
  bool parenthesize_all = false;
};
void print_program(const ast::Program &program, std::ostream &out, const PrintOptions &options = {});
std::string print_program(const ast::Program &program);

// One expression or statement (statements end with a newline).
std::string print_expr(const ast::Expr &expr);
std::string print_stmt(const ast::Stmt &stmt);

}  // namespace ntap
