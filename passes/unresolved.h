// Target expressions whose error waits (ast::UnresolvedExpr): probe
// resolution keeps the error in the expression, the elision passes may drop
// it with the statement it is in, and report_unresolved reports the ones
// left (internal to passes/; report_unresolved.cpp).
#pragma once
#include <optional>
#include <string>

#include "frontend/ast.h"

namespace ntap {

// Replaces the target expression (or call of an unavailable @-operator) in
// `slot` by an UnresolvedExpr holding `error`; its subscripts and @cast or
// autocast operand become the node's operands. An autocast whose operand is
// itself unresolved keeps the operand's error, which says why there is no
// type (`@var("x")->member`: @var's reason, not "no known kernel type").
void keep_error(ast::ExprPtr &slot, const CompileError &error);

// Why `call` cannot be evaluated when it is one of the @-operators ntap
// parses but cannot provide (@var, @const, @probewrite); nullopt otherwise.
std::optional<CompileError> unavailable_operator_error(const ast::CallExpr &call);

// Whether an expression is, or has below it, an UnresolvedExpr (or an
// unavailable @-operator not yet turned into one): @defined of it is 0.
bool mentions_unresolved(ast::Expr &e);

}  // namespace ntap
