// Generic traversal of the AST, so each pass only writes the cases it cares
// about. `visit_children` calls `fn` on every direct child expression slot
// (an ExprPtr&, so passes may replace nodes) of an expression or statement;
// `for_each_stmt_child` does the same for child statements.
#pragma once
#include <functional>

#include "frontend/ast.h"

namespace ntap::ast {

using ExprSlotFn = std::function<void(ExprPtr &)>;
using StmtSlotFn = std::function<void(StmtPtr &)>;

// Direct child expressions of an expression.
void for_each_child(Expr &e, const ExprSlotFn &fn);
// Expressions directly owned by a statement (not those of nested statements).
void for_each_expr(Stmt &s, const ExprSlotFn &fn);
// Direct child statements of a statement.
void for_each_child(Stmt &s, const StmtSlotFn &fn);

// Post-order walk over every expression slot below `s` (nested statements
// included): children first, then the slot itself.
void walk_exprs(Stmt &s, const ExprSlotFn &fn);
void walk_exprs(ExprPtr &slot, const ExprSlotFn &fn);
// Pre-order walk over every statement below and including `s`.
void walk_stmts(Stmt &s, const std::function<void(Stmt &)> &fn);

}  // namespace ntap::ast
