// Assignments to locals nothing reads are dropped, as stap's optimizer
// drops them ("eliding unused variable"), once every check has seen them.
// A probe alias's prologue sets every variable the alias offers
// (syscall.connect: the family, address, port and argstr, each read from
// the process's memory and formatted); a probe reading one of them should
// pay for that one only, in time per event and in BPF stack. Only
// `x = value` statements go, where `value` has no effect of its own: no
// assignment, increment, regex match (it sets matched()), division (it may
// raise an error), output or stateful builtin, and no call of a function
// that has one; and an `if` left empty. A local left with no use at all
// leaves the probe's locals. -u (keep what is unused) keeps them all, as
// stap's -u turns its optimizer off.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "frontend/builtins.h"
#include "frontend/walk.h"
#include "passes/passes.h"

namespace ntap {

using namespace ast;

namespace {

// Builtins that do something besides giving their value: output and
// control (statement-like), tokenize (it keeps its place in the string it
// was given), the _warn readers (a warning), and those that may raise a
// run-time error, which a `try` would catch: the kernel_* readers,
// user_string/user_string_n without an error text, the _error readers,
// stringat, randint, and format_ipaddr of a family not written as 2 or 10.
bool builtin_has_effect(const CallExpr &call) {
  const std::string &name = call.name;
  auto starts_with = [&](std::string_view prefix) { return name.rfind(prefix, 0) == 0; };
  auto ends_with = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (call.builtin->flags & Builtin::NoReturnValue) return true;
  if (name == "tokenize" || name == "stringat" || name == "randint" || starts_with("kernel_") ||
      ends_with("_warn") || ends_with("_error"))
    return true;
  if (name == "user_string" || name == "user_string_n")
    return call.args.size() < (name == "user_string" ? 2u : 3u);
  if (name == "format_ipaddr") {
    auto *family = dyn_cast<NumberExpr>(*call.args[1]);
    return !family || (family->value != 2 && family->value != 10);
  }
  return false;
}

class EffectFinder {
 public:
  bool has_effect(Expr &e) {
    bool found = false;
    walk(e, found);
    return found;
  }

 private:
  void walk(Expr &e, bool &found) {
    if (found) return;
    switch (e.kind) {
      case ExprKind::Assign:
      case ExprKind::IncDec:
        found = true;
        return;
      case ExprKind::Binary: {
        // A division may raise stap's "division by 0" (which a try catches).
        const BinaryOp op = cast<BinaryExpr>(e).op;
        if (is_regex_op(op) || op == BinaryOp::Div || op == BinaryOp::Mod) {
          found = true;
          return;
        }
        break;
      }
      case ExprKind::Call: {
        auto &call = cast<CallExpr>(e);
        if (call.function ? function_has_effect(*call.function) : !call.builtin || builtin_has_effect(call)) {
          found = true;
          return;
        }
        break;
      }
      default:
        break;
    }
    for_each_child(e, [&](ExprPtr &c) { walk(*c, found); });
  }

  // A function has an effect when any statement of it does something other
  // than compute: writing a global (its own locals are private to the call),
  // deleting, `<<<`, `next`, or an expression with an effect that is not an
  // assignment to one of its locals. Recursion is taken as an effect.
  bool function_has_effect(Function &f) {
    auto known = verdicts_.find(&f);
    if (known != verdicts_.end()) return known->second;
    verdicts_[&f] = true;  // while being decided
    bool effect = false;
    walk_stmts(*f.body, [&](Stmt &s) {
      if (effect) return;
      // Deleting, adding to an aggregate, and `next` (it ends the probe).
      if (s.kind == StmtKind::Delete || s.kind == StmtKind::StatsAdd || s.kind == StmtKind::Next) effect = true;
      for_each_expr(s, [&](ExprPtr &e) {
        if (!effect) effect = expression_writes_outside(*e);
      });
    });
    verdicts_[&f] = effect;
    return effect;
  }

  bool expression_writes_outside(Expr &e) {
    if (auto *assign = dyn_cast<AssignExpr>(e)) {
      auto *target = dyn_cast<SymbolExpr>(*assign->lhs);
      if (!target || !target->local) return true;
      return has_effect(*assign->rhs);
    }
    if (auto *crement = dyn_cast<IncDecExpr>(e)) {
      auto *target = dyn_cast<SymbolExpr>(*crement->operand);
      return !target || !target->local;
    }
    return has_effect(e);
  }

  std::unordered_map<const Function *, bool> verdicts_;
};

// Locals some expression or statement reads (or binds: foreach variables
// and a catch variable are kept as they are).
std::unordered_set<const Local *> locals_read(Stmt &body) {
  std::unordered_set<const Local *> read;
  walk_stmts(body, [&](Stmt &s) {
    if (auto *loop = dyn_cast<ForeachStmt>(s)) {
      read.insert(loop->key_locals.begin(), loop->key_locals.end());
      if (loop->value_local) read.insert(loop->value_local);
    }
    if (auto *attempt = dyn_cast<TryStmt>(s); attempt && attempt->catch_local) read.insert(attempt->catch_local);
    for_each_expr(s, [&](ExprPtr &top) {
      // The target of a top-level `x = ...` is a write, not a read.
      ExprPtr *skip = nullptr;
      if (auto *assign = dyn_cast<AssignExpr>(*top); assign && assign->op == AssignOp::Set && s.kind == StmtKind::Expr)
        skip = &assign->lhs;
      walk_exprs(top, [&](ExprPtr &e) {
        if (&e == skip) return;
        if (auto *symbol = dyn_cast<SymbolExpr>(*e); symbol && symbol->local) read.insert(symbol->local);
      });
    });
  });
  return read;
}

// A block with no statements left, nested blocks included.
bool empty_block(const Stmt *s) {
  if (!s) return true;
  auto *block = dyn_cast<BlockStmt>(*s);
  return block && std::all_of(block->stmts.begin(), block->stmts.end(),
                              [](const StmtPtr &child) { return empty_block(child.get()); });
}

// `x = value` with x a local no one reads and value without effect; or an
// `if` left with nothing to do on either branch, whose condition has no
// effect (the alias tests that chose which variables to set).
bool dead_store(Stmt &s, const std::unordered_set<const Local *> &read, EffectFinder &effects) {
  if (auto *branch = dyn_cast<IfStmt>(s))
    return empty_block(branch->then_stmt.get()) && empty_block(branch->else_stmt.get()) &&
           !effects.has_effect(*branch->cond);
  auto *statement = dyn_cast<ExprStmt>(s);
  auto *assign = statement ? dyn_cast<AssignExpr>(*statement->expr) : nullptr;
  if (!assign || assign->op != AssignOp::Set) return false;
  auto *target = dyn_cast<SymbolExpr>(*assign->lhs);
  return target && target->local && !read.count(target->local) && !effects.has_effect(*assign->rhs);
}

// Drops the dead stores below `s`; true when any went.
bool drop_dead_stores(Stmt &s, const std::unordered_set<const Local *> &read, EffectFinder &effects) {
  bool dropped = false;
  if (auto *block = dyn_cast<BlockStmt>(s)) {
    auto &stmts = block->stmts;
    const size_t before = stmts.size();
    std::erase_if(stmts, [&](const StmtPtr &child) { return child && dead_store(*child, read, effects); });
    dropped = stmts.size() != before;
  }
  for_each_child(s, [&](StmtPtr &child) {
    if (!child) return;
    if (dead_store(*child, read, effects)) {  // a lone branch or loop body
      child = std::make_unique<BlockStmt>(child->loc);
      dropped = true;
      return;
    }
    dropped = drop_dead_stores(*child, read, effects) || dropped;
  });
  return dropped;
}

// The probe's locals without those no statement mentions any more.
void forget_unmentioned_locals(Probe &probe) {
  std::unordered_set<const Local *> mentioned = locals_read(*probe.body);
  walk_stmts(*probe.body, [&](Stmt &s) {
    for_each_expr(s, [&](ExprPtr &top) {
      walk_exprs(top, [&](ExprPtr &e) {
        if (auto *symbol = dyn_cast<SymbolExpr>(*e); symbol && symbol->local) mentioned.insert(symbol->local);
      });
    });
  });
  std::erase_if(probe.locals, [&](const std::unique_ptr<Local> &local) { return !mentioned.count(local.get()); });
  for (uint32_t i = 0; i < probe.locals.size(); ++i) probe.locals[i]->index = i;
}

}  // namespace

void elide_unused_locals(PassContext &ctx) {
  if (ctx.options.keep_unused) return;
  EffectFinder effects;
  for (auto &probe : ctx.program.probes) {
    // Dropping `a = b` may leave b unread: again until nothing changes.
    while (drop_dead_stores(*probe->body, locals_read(*probe->body), effects)) probe->elided_statements = true;
    forget_unmentioned_locals(*probe);
  }
}

}  // namespace ntap
