// Deep copies of expression and statement trees (see clone.h).
#include "frontend/clone.h"

#include <stdexcept>


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
    case StmtKind::Block: return clone_block(cast<BlockStmt>(s));
    case StmtKind::Expr: {
      auto &e = cast<ExprStmt>(s);
      return std::make_unique<ExprStmt>(e.loc, clone_expr(*e.expr));
    }
    case StmtKind::If: {
      auto &i = cast<IfStmt>(s);
      auto copy = std::make_unique<IfStmt>(i.loc);
      copy->cond = clone_expr(*i.cond);
      copy->then_stmt = clone_opt(i.then_stmt);
      copy->else_stmt = clone_opt(i.else_stmt);
      return copy;
    }
    case StmtKind::While: {
      auto &w = cast<WhileStmt>(s);
      auto copy = std::make_unique<WhileStmt>(w.loc);
      copy->cond = clone_expr(*w.cond);
      copy->body = clone_opt(w.body);
      return copy;
    }
    case StmtKind::For: {
      auto &f = cast<ForStmt>(s);
      auto copy = std::make_unique<ForStmt>(f.loc);
      copy->init = clone_opt(f.init);
      copy->cond = clone_opt(f.cond);
      copy->step = clone_opt(f.step);
      copy->body = clone_opt(f.body);
      return copy;
    }
    case StmtKind::Foreach: {
      auto &f = cast<ForeachStmt>(s);
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
      copy->sort_stat_written = f.sort_stat_written;
      copy->limit = clone_opt(f.limit);
      for (const auto &k : f.slice) copy->slice.push_back(k ? clone_expr(*k) : nullptr);  // null: `*`
      copy->body = clone_opt(f.body);
      return copy;
    }
    case StmtKind::Delete: {
      auto &d = cast<DeleteStmt>(s);
      return std::make_unique<DeleteStmt>(d.loc, clone_expr(*d.target));
    }
    case StmtKind::StatsAdd: {
      auto &a = cast<StatsAddStmt>(s);
      return std::make_unique<StatsAddStmt>(a.loc, clone_expr(*a.target), clone_expr(*a.value));
    }
    case StmtKind::Break:
    case StmtKind::Continue:
    case StmtKind::Next: return std::make_unique<JumpStmt>(s.kind, s.loc);
    case StmtKind::Try: {
      auto &t = cast<TryStmt>(s);
      auto copy = std::make_unique<TryStmt>(t.loc);
      copy->try_block = clone_opt(t.try_block);
      copy->catch_block = clone_opt(t.catch_block);
      copy->catch_name = t.catch_name;
      copy->catch_local = t.catch_local;
      return copy;
    }
    case StmtKind::Return: {
      auto &r = cast<ReturnStmt>(s);
      auto copy = std::make_unique<ReturnStmt>(r.loc);
      copy->value = clone_opt(r.value);
      return copy;
    }
  }
  throw std::logic_error("clone_stmt: unknown statement kind");
}

namespace {
template <typename T>
std::unique_ptr<T> with_type(std::unique_ptr<T> copy, const Expr &original) {
  copy->type = original.type;
  return copy;
}

std::vector<ExprPtr> clone_all(const std::vector<ExprPtr> &exprs) {
  std::vector<ExprPtr> out;
  out.reserve(exprs.size());
  for (const auto &e : exprs) out.push_back(e ? clone_expr(*e) : nullptr);  // null: a `*` key
  return out;
}
}  // namespace

ExprPtr clone_expr(const Expr &e) {
  switch (e.kind) {
    case ExprKind::Number: {
      auto &n = cast<NumberExpr>(e);
      return with_type(std::make_unique<NumberExpr>(n.loc, n.value), e);
    }
    case ExprKind::String: {
      auto &s = cast<StringExpr>(e);
      return with_type(std::make_unique<StringExpr>(s.loc, s.value), e);
    }
    case ExprKind::Symbol: {
      auto &s = cast<SymbolExpr>(e);
      auto copy = std::make_unique<SymbolExpr>(s.loc, s.name);
      copy->local = s.local;
      copy->global = s.global;
      return with_type(std::move(copy), e);
    }
    case ExprKind::Index: {
      auto &i = cast<IndexExpr>(e);
      auto copy = std::make_unique<IndexExpr>(i.loc, i.name);
      copy->global = i.global;
      copy->keys = clone_all(i.keys);
      return with_type(std::move(copy), e);
    }
    case ExprKind::TargetVar: {
      auto &t = cast<TargetVarExpr>(e);
      auto copy = std::make_unique<TargetVarExpr>(t.loc, t.name);
      for (const auto &c : t.components)
        copy->components.push_back(TargetComponent{c.field, c.index ? clone_expr(*c.index) : nullptr});
      copy->address_of = t.address_of;
      copy->pretty = t.pretty;
      copy->btf_type_id = t.btf_type_id;
      if (t.cast_operand) copy->cast_operand = clone_expr(*t.cast_operand);
      copy->cast_type = t.cast_type;
      copy->cast_module = t.cast_module;
      copy->autocast = t.autocast;
      copy->resolved = t.resolved;
      copy->arg_index = t.arg_index;
      copy->steps = t.steps;
      return with_type(std::move(copy), e);
    }
    case ExprKind::Unary: {
      auto &u = cast<UnaryExpr>(e);
      return with_type(std::make_unique<UnaryExpr>(u.loc, u.op, clone_expr(*u.operand)), e);
    }
    case ExprKind::Binary: {
      auto &b = cast<BinaryExpr>(e);
      return with_type(std::make_unique<BinaryExpr>(b.loc, b.op, clone_expr(*b.lhs), clone_expr(*b.rhs)), e);
    }
    case ExprKind::Logical: {
      auto &l = cast<LogicalExpr>(e);
      return with_type(std::make_unique<LogicalExpr>(l.loc, l.op, clone_expr(*l.lhs), clone_expr(*l.rhs)), e);
    }
    case ExprKind::Ternary: {
      auto &t = cast<TernaryExpr>(e);
      return with_type(std::make_unique<TernaryExpr>(t.loc, clone_expr(*t.cond), clone_expr(*t.then_expr),
                                                     clone_expr(*t.else_expr)),
                       e);
    }
    case ExprKind::Assign: {
      auto &a = cast<AssignExpr>(e);
      return with_type(std::make_unique<AssignExpr>(a.loc, a.op, clone_expr(*a.lhs), clone_expr(*a.rhs)), e);
    }
    case ExprKind::IncDec: {
      auto &i = cast<IncDecExpr>(e);
      return with_type(std::make_unique<IncDecExpr>(i.loc, i.increment, i.prefix, clone_expr(*i.operand)), e);
    }
    case ExprKind::Call: {
      auto &c = cast<CallExpr>(e);
      auto copy = std::make_unique<CallExpr>(c.loc, c.name);
      copy->args = clone_all(c.args);
      copy->builtin = c.builtin;
      copy->function = c.function;
      copy->format_id = c.format_id;
      return with_type(std::move(copy), e);
    }
    case ExprKind::StatsOp: {
      auto &s = cast<StatsOpExpr>(e);
      auto copy = std::make_unique<StatsOpExpr>(s.loc, s.fn, clone_expr(*s.operand));
      copy->params = s.params;
      if (s.bucket) copy->bucket = clone_expr(*s.bucket);
      return with_type(std::move(copy), e);
    }
    case ExprKind::InArray: {
      auto &i = cast<InArrayExpr>(e);
      auto copy = std::make_unique<InArrayExpr>(i.loc, i.name);
      copy->keys = clone_all(i.keys);
      copy->global = i.global;
      return with_type(std::move(copy), e);
    }
    case ExprKind::Defined: {
      auto &d = cast<DefinedExpr>(e);
      return with_type(std::make_unique<DefinedExpr>(d.loc, clone_expr(*d.operand)), e);
    }
    case ExprKind::Unresolved: {
      auto &u = cast<UnresolvedExpr>(e);
      auto copy = std::make_unique<UnresolvedExpr>(u.loc, u.error, u.text);
      copy->operands = clone_all(u.operands);
      return with_type(std::move(copy), e);
    }
  }
  throw std::logic_error("clone_expr: unknown expression kind");
}

}  // namespace ntap
