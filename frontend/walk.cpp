#include "frontend/walk.h"

namespace ntap::ast {

void for_each_child(Expr &e, const ExprSlotFn &fn) {
  switch (e.kind) {
    case ExprKind::Number:
    case ExprKind::String:
    case ExprKind::Symbol:
      return;
    case ExprKind::TargetVar: {
      auto &t = static_cast<TargetVarExpr &>(e);
      if (t.cast_operand) fn(t.cast_operand);
      for (auto &c : t.components)
        if (c.index) fn(c.index);
      return;
    }
    case ExprKind::Index:
      for (auto &k : static_cast<IndexExpr &>(e).keys)
        if (k) fn(k);  // null: a `*` wildcard key
      return;
    case ExprKind::Unary:
      fn(static_cast<UnaryExpr &>(e).operand);
      return;
    case ExprKind::Binary: {
      auto &b = static_cast<BinaryExpr &>(e);
      fn(b.lhs);
      fn(b.rhs);
      return;
    }
    case ExprKind::Logical: {
      auto &b = static_cast<LogicalExpr &>(e);
      fn(b.lhs);
      fn(b.rhs);
      return;
    }
    case ExprKind::Ternary: {
      auto &t = static_cast<TernaryExpr &>(e);
      fn(t.cond);
      fn(t.then_expr);
      fn(t.else_expr);
      return;
    }
    case ExprKind::Assign: {
      auto &a = static_cast<AssignExpr &>(e);
      fn(a.lhs);
      fn(a.rhs);
      return;
    }
    case ExprKind::IncDec:
      fn(static_cast<IncDecExpr &>(e).operand);
      return;
    case ExprKind::Call:
      for (auto &a : static_cast<CallExpr &>(e).args) fn(a);
      return;
    case ExprKind::StatsOp: {
      auto &op = static_cast<StatsOpExpr &>(e);
      fn(op.operand);
      if (op.bucket) fn(op.bucket);
      return;
    }
    case ExprKind::InArray:
      for (auto &k : static_cast<InArrayExpr &>(e).keys)
        if (k) fn(k);  // null: a `*` wildcard key
      return;
    case ExprKind::Defined:
      fn(static_cast<DefinedExpr &>(e).operand);
      return;
  }
}

void for_each_expr(Stmt &s, const ExprSlotFn &fn) {
  auto opt = [&](ExprPtr &p) {
    if (p) fn(p);
  };
  switch (s.kind) {
    case StmtKind::Expr:
      fn(static_cast<ExprStmt &>(s).expr);
      return;
    case StmtKind::If:
      fn(static_cast<IfStmt &>(s).cond);
      return;
    case StmtKind::While:
      fn(static_cast<WhileStmt &>(s).cond);
      return;
    case StmtKind::For: {
      auto &f = static_cast<ForStmt &>(s);
      opt(f.init);
      opt(f.cond);
      opt(f.step);
      return;
    }
    case StmtKind::Foreach:
      opt(static_cast<ForeachStmt &>(s).limit);
      for (auto &k : static_cast<ForeachStmt &>(s).slice)
        if (k) fn(k);  // null: a `*` wildcard key
      return;
    case StmtKind::Delete:
      fn(static_cast<DeleteStmt &>(s).target);
      return;
    case StmtKind::StatsAdd: {
      auto &a = static_cast<StatsAddStmt &>(s);
      fn(a.target);
      fn(a.value);
      return;
    }
    case StmtKind::Return:
      opt(static_cast<ReturnStmt &>(s).value);
      return;
    case StmtKind::Block:
    case StmtKind::Break:
    case StmtKind::Continue:
    case StmtKind::Next:
    case StmtKind::Try:
      return;
  }
}

void for_each_child(Stmt &s, const StmtSlotFn &fn) {
  auto opt = [&](StmtPtr &p) {
    if (p) fn(p);
  };
  switch (s.kind) {
    case StmtKind::Block:
      for (auto &c : static_cast<BlockStmt &>(s).stmts) fn(c);
      return;
    case StmtKind::If: {
      auto &i = static_cast<IfStmt &>(s);
      opt(i.then_stmt);
      opt(i.else_stmt);
      return;
    }
    case StmtKind::While:
      opt(static_cast<WhileStmt &>(s).body);
      return;
    case StmtKind::For:
      opt(static_cast<ForStmt &>(s).body);
      return;
    case StmtKind::Foreach:
      opt(static_cast<ForeachStmt &>(s).body);
      return;
    case StmtKind::Try: {
      auto &t = static_cast<TryStmt &>(s);
      opt(t.try_block);
      opt(t.catch_block);
      return;
    }
    default:
      return;
  }
}

void walk_exprs(ExprPtr &slot, const ExprSlotFn &fn) {
  for_each_child(*slot, [&](ExprPtr &c) { walk_exprs(c, fn); });
  fn(slot);
}

void walk_exprs(Stmt &s, const ExprSlotFn &fn) {
  for_each_expr(s, [&](ExprPtr &e) { walk_exprs(e, fn); });
  for_each_child(s, [&](StmtPtr &c) { walk_exprs(*c, fn); });
}

void walk_stmts(Stmt &s, const std::function<void(Stmt &)> &fn) {
  fn(s);
  for_each_child(s, [&](StmtPtr &c) { walk_stmts(*c, fn); });
}

}  // namespace ntap::ast
