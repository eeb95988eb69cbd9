// Deep copies of statements, for passes that instantiate one piece of script
// in several places (an alias body spliced into every probe that uses it, a
// probe body shared by probe points that expand differently).
#pragma once
#include "frontend/ast.h"

namespace ntap {

// A deep copy of an expression tree (resolution and type fields included).
// The parser needs it for @choose_defined(a, b) -> @defined(a) ? a : b.
ast::ExprPtr clone_expr(const ast::Expr &expr);

// A deep copy of a statement tree; resolution fields come along as they are.
ast::StmtPtr clone_stmt(const ast::Stmt &stmt);
std::unique_ptr<ast::BlockStmt> clone_block(const ast::BlockStmt &block);

}  // namespace ntap
