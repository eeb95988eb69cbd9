// ast::cast and ast::dyn_cast: a node is only ever read as the struct its
// kind tag says it is.
#include <catch2/catch.hpp>

#include "frontend/ast.h"

using namespace ntap;

TEST_CASE("ast casts: a matching kind casts, keeping constness", "[ast]") {
  ast::NumberExpr number(Location{}, 42);
  ast::Expr &e = number;
  CHECK(ast::cast<ast::NumberExpr>(e).value == 42);
  const ast::Expr &ce = number;
  const ast::NumberExpr &cn = ast::cast<ast::NumberExpr>(ce);
  CHECK(&cn == &number);
  CHECK(ast::cast<ast::NumberExpr>(&e) == &number);
  CHECK(ast::cast<ast::NumberExpr>(static_cast<ast::Expr *>(nullptr)) == nullptr);
  CHECK(ast::dyn_cast<ast::NumberExpr>(e) == &number);
  CHECK(ast::isa<ast::NumberExpr>(e));
  CHECK_FALSE(ast::isa<ast::StringExpr>(e));
}

TEST_CASE("ast casts: a wrong cast is caught and names both kinds", "[ast]") {
  ast::StringExpr text(Location{}, "a");
  ast::Expr &e = text;
  CHECK_THROWS_AS(ast::cast<ast::NumberExpr>(e), ast::BadCast);
  CHECK_THROWS_WITH(ast::cast<ast::NumberExpr>(e), "internal error: AST node of kind String used as Number");
  CHECK(ast::dyn_cast<ast::NumberExpr>(e) == nullptr);
  CHECK(ast::dyn_cast<ast::NumberExpr>(static_cast<ast::Expr *>(nullptr)) == nullptr);

  ast::WhileStmt loop(Location{});
  ast::Stmt &s = loop;
  CHECK_THROWS_WITH(ast::cast<ast::ForStmt>(s), "internal error: AST node of kind While used as For");
  CHECK(ast::dyn_cast<ast::WhileStmt>(s) == &loop);
}

TEST_CASE("ast casts: break, continue and next are all jump statements", "[ast]") {
  ast::JumpStmt next(ast::StmtKind::Next, Location{});
  ast::Stmt &s = next;
  CHECK(ast::dyn_cast<ast::JumpStmt>(s) == &next);
  ast::BlockStmt block(Location{});
  CHECK_THROWS_WITH(ast::cast<ast::JumpStmt>(static_cast<ast::Stmt &>(block)),
                    "internal error: AST node of kind Block used as Break, Continue or Next");
}
