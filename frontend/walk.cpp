#include "frontend/walk.h"

namespace ntap::ast {

void for_each_child(Expr &e, const ExprSlotFn &fn) {
  switch (e.kind) {
    case ExprKind::Number:
    case ExprKind::String:
    case ExprKind::Symbol:
      return;
    case ExprKind::TargetVar: {
      auto &t = cast<TargetVarExpr>(e);
      if (t.cast_operand) fn(t.cast_operand);
      for (auto &c : t.components)
        if (c.index) fn(c.index);
      return;
    }
    case ExprKind::Index:
      for (auto &k : cast<IndexExpr>(e).keys)
        if (k) fn(k);  // null: a `*` wildcard key
      return;
    case ExprKind::Unary:
      fn(cast<UnaryExpr>(e).operand);
      return;
    case ExprKind::Binary: {
      auto &b = cast<BinaryExpr>(e);
      fn(b.lhs);
      fn(b.rhs);
      return;
    }
    case ExprKind::Logical: {
      auto &b = cast<LogicalExpr>(e);
      fn(b.lhs);
      fn(b.rhs);
      return;
    }
    case ExprKind::Ternary: {
      auto &t = cast<TernaryExpr>(e);
      fn(t.cond);
      fn(t.then_expr);
      fn(t.else_expr);
      return;
    }
    case ExprKind::Assign: {
      auto &a = cast<AssignExpr>(e);
      fn(a.lhs);
      fn(a.rhs);
      return;
    }
    case ExprKind::IncDec:
      fn(cast<IncDecExpr>(e).operand);
      return;
    case ExprKind::Call:
      for (auto &a : cast<CallExpr>(e).args) fn(a);
      return;
    case ExprKind::StatsOp: {
      auto &op = cast<StatsOpExpr>(e);
      fn(op.operand);
      if (op.bucket) fn(op.bucket);
      return;
    }
    case ExprKind::InArray:
      for (auto &k : cast<InArrayExpr>(e).keys)
        if (k) fn(k);  // null: a `*` wildcard key
      return;
    case ExprKind::Defined:
      fn(cast<DefinedExpr>(e).operand);
      return;
    case ExprKind::Unresolved:
      for (auto &operand : cast<UnresolvedExpr>(e).operands) fn(operand);
      return;
  }
}

void for_each_expr(Stmt &s, const ExprSlotFn &fn) {
  auto opt = [&](ExprPtr &p) {
    if (p) fn(p);
  };
  switch (s.kind) {
    case StmtKind::Expr:
      fn(cast<ExprStmt>(s).expr);
      return;
    case StmtKind::If:
      fn(cast<IfStmt>(s).cond);
      return;
    case StmtKind::While:
      fn(cast<WhileStmt>(s).cond);
      return;
    case StmtKind::For: {
      auto &f = cast<ForStmt>(s);
      opt(f.init);
      opt(f.cond);
      opt(f.step);
      return;
    }
    case StmtKind::Foreach:
      opt(cast<ForeachStmt>(s).limit);
      for (auto &k : cast<ForeachStmt>(s).slice)
        if (k) fn(k);  // null: a `*` wildcard key
      return;
    case StmtKind::Delete:
      fn(cast<DeleteStmt>(s).target);
      return;
    case StmtKind::StatsAdd: {
      auto &a = cast<StatsAddStmt>(s);
      fn(a.target);
      fn(a.value);
      return;
    }
    case StmtKind::Return:
      opt(cast<ReturnStmt>(s).value);
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
      for (auto &c : cast<BlockStmt>(s).stmts) fn(c);
      return;
    case StmtKind::If: {
      auto &i = cast<IfStmt>(s);
      opt(i.then_stmt);
      opt(i.else_stmt);
      return;
    }
    case StmtKind::While:
      opt(cast<WhileStmt>(s).body);
      return;
    case StmtKind::For:
      opt(cast<ForStmt>(s).body);
      return;
    case StmtKind::Foreach:
      opt(cast<ForeachStmt>(s).body);
      return;
    case StmtKind::Try: {
      auto &t = cast<TryStmt>(s);
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
