// Deep copies of statement trees (see clone.h).
#include "frontend/clone.h"

#include <stdexcept>

#include "frontend/parser.h"

namespace ntap {

using namespace ast;

namespace {

ExprPtr clone_opt(const ExprPtr &e) { return e ? clone_expr(*e) : nullptr; }
StmtPtr clone_opt(const StmtPtr &s) { return s ? clone_stmt(*s) : nullptr; }

}  // namespace

std::unique_ptr<BlockStmt> clone_block(const BlockStmt &block) {
  auto copy = std::make_unique<BlockStmt>(block.loc);
  for (const auto &s : block.stmts) copy->stmts.push_back(clone_stmt(*s));
  return copy;
}

StmtPtr clone_stmt(const Stmt &s) {
  switch (s.kind) {
    case StmtKind::Block: return clone_block(static_cast<const BlockStmt &>(s));
    case StmtKind::Expr: {
      auto &e = static_cast<const ExprStmt &>(s);
      return std::make_unique<ExprStmt>(e.loc, clone_expr(*e.expr));
    }
    case StmtKind::If: {
      auto &i = static_cast<const IfStmt &>(s);
      auto copy = std::make_unique<IfStmt>(i.loc);
      copy->cond = clone_expr(*i.cond);
      copy->then_stmt = clone_opt(i.then_stmt);
      copy->else_stmt = clone_opt(i.else_stmt);
      return copy;
    }
    case StmtKind::While: {
      auto &w = static_cast<const WhileStmt &>(s);
      auto copy = std::make_unique<WhileStmt>(w.loc);
      copy->cond = clone_expr(*w.cond);
      copy->body = clone_opt(w.body);
      return copy;
    }
    case StmtKind::For: {
      auto &f = static_cast<const ForStmt &>(s);
      auto copy = std::make_unique<ForStmt>(f.loc);
      copy->init = clone_opt(f.init);
      copy->cond = clone_opt(f.cond);
      copy->step = clone_opt(f.step);
      copy->body = clone_opt(f.body);
      return copy;
    }
    case StmtKind::Foreach: {
      auto &f = static_cast<const ForeachStmt &>(s);
      auto copy = std::make_unique<ForeachStmt>(f.loc);
      copy->key_names = f.key_names;
      copy->key_locals = f.key_locals;
      copy->value_name = f.value_name;
      copy->value_local = f.value_local;
      copy->array_name = f.array_name;
      copy->global = f.global;
      copy->sort_column = f.sort_column;
      copy->sort_direction = f.sort_direction;
      copy->sort_stat = f.sort_stat;
      copy->limit = clone_opt(f.limit);
      copy->body = clone_opt(f.body);
      return copy;
    }
    case StmtKind::Delete: {
      auto &d = static_cast<const DeleteStmt &>(s);
      return std::make_unique<DeleteStmt>(d.loc, clone_expr(*d.target));
    }
    case StmtKind::StatsAdd: {
      auto &a = static_cast<const StatsAddStmt &>(s);
      return std::make_unique<StatsAddStmt>(a.loc, clone_expr(*a.target), clone_expr(*a.value));
    }
    case StmtKind::Break:
    case StmtKind::Continue:
    case StmtKind::Next: return std::make_unique<JumpStmt>(s.kind, s.loc);
    case StmtKind::Try: {
      auto &t = static_cast<const TryStmt &>(s);
      auto copy = std::make_unique<TryStmt>(t.loc);
      copy->try_block = clone_opt(t.try_block);
      copy->catch_block = clone_opt(t.catch_block);
      copy->catch_name = t.catch_name;
      copy->catch_local = t.catch_local;
      return copy;
    }
    case StmtKind::Return: {
      auto &r = static_cast<const ReturnStmt &>(s);
      auto copy = std::make_unique<ReturnStmt>(r.loc);
      copy->value = clone_opt(r.value);
      return copy;
    }
  }
  throw std::logic_error("clone_stmt: unknown statement kind");
}

}  // namespace ntap
