// Statements that do nothing and assignments to locals nothing reads are
// dropped before types are inferred, as stap's optimizer drops them
// ("eliding unused variable", "side-effect-free expression") before its
// type resolution.
//
// A probe alias's prologue sets every variable the alias offers
// (syscall.connect: the family, address, port and argstr, each read from
// the process's memory and formatted); a probe reading one of them should
// pay for that one only, in time per event and in BPF stack. And stap
// accepts what it elides unchecked: an unread `a = b + 2` does not give the
// global b a type, and `$such;` in a begin probe or an unread `x = $such`
// is no error (the target expression's error waits in an
// ast::UnresolvedExpr, passes/report_unresolved.cpp).
//
// Only what has no effect of its own goes: no assignment, increment, regex
// match (it sets matched()), division (it may raise an error), output or
// stateful builtin, histogram extractor (it gives the aggregate the shape
// --metrics and JSON export), and no call of a function that has one. What goes: an
// expression statement; `x = value` as a statement; `x = value` inside an
// expression, which becomes `value`; an `if`, `for` or `foreach` left with
// nothing to do. Functions no probe calls any more then go, a global array
// no one mentions is an unused variable, and a local left with no use at
// all leaves the probe's locals. -u (keep what is unused) keeps them all, as
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
      case ExprKind::StatsOp:
        // A histogram extractor gives the aggregate its shape: --metrics
        // and JSON export the buckets of a global any @hist_* names, and
        // type inference checks every use against it (a foreach over a
        // histogram reads @hist_log(x)[b] for that). It stays.
        if (is_histogram(cast<StatsOpExpr>(e).fn)) {
          found = true;
          return;
        }
        break;
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

// Adds the locals `e` reads; the target of `x = ...` is a write, not a read.
void note_reads(Expr &e, std::unordered_set<const Local *> &read) {
  if (auto *symbol = dyn_cast<SymbolExpr>(e); symbol && symbol->local) read.insert(symbol->local);
  auto *assign = dyn_cast<AssignExpr>(e);
  if (assign && assign->op == AssignOp::Set && assign->lhs->kind == ExprKind::Symbol) {
    note_reads(*assign->rhs, read);
    return;
  }
  for_each_child(e, [&](ExprPtr &c) { note_reads(*c, read); });
}

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
    for_each_expr(s, [&](ExprPtr &top) { note_reads(*top, read); });
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

// What one round of elision in a body found and did.
struct Elision {
  const std::unordered_set<const Local *> &read;
  EffectFinder &effects;
  bool changed = false;
  bool wrote = false;  // a dropped statement was more than a literal: the body did something as written
};

// A statement with nothing to do: `x = value` with x a local no one reads
// and value without effect; an expression statement without effect; an
// `if` left with nothing to do on either branch, whose condition has no
// effect (the alias tests that chose which variables to set); a `for` or
// `foreach` with an empty body and clauses without effect (stap elides
// `for (;;) ;` that way: it would never end, but cannot do anything).
bool dead(Stmt &s, Elision &elision) {
  auto no_effect = [&](ExprPtr &e) { return !e || !elision.effects.has_effect(*e); };
  if (auto *branch = dyn_cast<IfStmt>(s))
    return empty_block(branch->then_stmt.get()) && empty_block(branch->else_stmt.get()) && no_effect(branch->cond);
  if (auto *loop = dyn_cast<ForStmt>(s))
    return empty_block(loop->body.get()) && no_effect(loop->init) && no_effect(loop->cond) && no_effect(loop->step);
  if (auto *loop = dyn_cast<ForeachStmt>(s)) return empty_block(loop->body.get()) && no_effect(loop->limit);
  auto *statement = dyn_cast<ExprStmt>(s);
  if (!statement) return false;
  auto *assign = dyn_cast<AssignExpr>(*statement->expr);
  if (!assign) return !elision.effects.has_effect(*statement->expr);
  if (assign->op != AssignOp::Set) return false;
  auto *target = dyn_cast<SymbolExpr>(*assign->lhs);
  return target && target->local && !elision.read.count(target->local) && !elision.effects.has_effect(*assign->rhs);
}

void note_dropped(const Stmt &s, Elision &elision) {
  elision.changed = true;
  auto *statement = dyn_cast<ExprStmt>(s);
  const ExprKind k = statement ? statement->expr->kind : ExprKind::Call;
  if (k != ExprKind::Number && k != ExprKind::String) elision.wrote = true;
}

// `x = value` inside an expression, x a local no one reads: `value`.
void drop_unread_assignments(ExprPtr &slot, Elision &elision) {
  for_each_child(*slot, [&](ExprPtr &c) { drop_unread_assignments(c, elision); });
  auto *assign = dyn_cast<AssignExpr>(*slot);
  auto *target = assign && assign->op == AssignOp::Set ? dyn_cast<SymbolExpr>(*assign->lhs) : nullptr;
  if (!target || !target->local || elision.read.count(target->local)) return;
  ExprPtr value = std::move(assign->rhs);
  slot = std::move(value);
  elision.changed = true;
}

// Drops the dead statements below `s`.
void drop_dead(Stmt &s, Elision &elision) {
  // A statement `x = value` stays whole unless it is dead (its value may
  // have an effect, and the statement says the probe did something).
  auto *statement = dyn_cast<ExprStmt>(s);
  auto *top = statement ? dyn_cast<AssignExpr>(*statement->expr) : nullptr;
  if (top)
    drop_unread_assignments(top->rhs, elision);
  else
    for_each_expr(s, [&](ExprPtr &e) { drop_unread_assignments(e, elision); });
  if (auto *block = dyn_cast<BlockStmt>(s)) {
    std::erase_if(block->stmts, [&](const StmtPtr &child) {
      if (!child || !dead(*child, elision)) return false;
      note_dropped(*child, elision);
      return true;
    });
  }
  for_each_child(s, [&](StmtPtr &child) {
    if (!child) return;
    if (dead(*child, elision)) {  // a lone branch or loop body
      note_dropped(*child, elision);
      child = std::make_unique<BlockStmt>(child->loc);
      return;
    }
    drop_dead(*child, elision);
  });
}

// Elides in `body` until nothing changes (dropping `a = b` may leave b
// unread); true when a statement other than a literal went.
bool elide_body(Stmt &body, EffectFinder &effects) {
  bool wrote = false;
  for (;;) {
    const std::unordered_set<const Local *> read = locals_read(body);
    Elision elision{read, effects};
    drop_dead(body, elision);
    wrote = wrote || elision.wrote;
    if (!elision.changed) return wrote;
  }
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

// Functions that no probe calls, directly or through other functions, once
// the calls in elided statements are gone, as stap's optimizer drops them.
void drop_unreached_functions(Program &program) {
  std::unordered_set<const Function *> reached;
  std::vector<Function *> pending;
  auto calls_in = [&](Stmt &body) {
    walk_exprs(body, [&](ExprPtr &e) {
      if (auto *call = dyn_cast<CallExpr>(*e); call && call->function && reached.insert(call->function).second)
        pending.push_back(call->function);
    });
  };
  for (auto &probe : program.probes) calls_in(*probe->body);
  while (!pending.empty()) {
    Function *f = pending.back();
    pending.pop_back();
    calls_in(*f->body);
  }
  std::erase_if(program.functions, [&](const std::unique_ptr<Function> &f) { return !reached.count(f.get()); });
  for (uint32_t i = 0; i < program.functions.size(); ++i) program.functions[i]->id = i;
}

// A global array no statement mentions any more (its foreach went) is an
// unused variable again, which type inference elides with stap's warning,
// rather than an array of no type.
void forget_unused_arrays(Program &program) {
  std::unordered_set<const Global *> mentioned;
  auto mentions_in = [&](Stmt &body) {
    walk_stmts(body, [&](Stmt &s) {
      if (auto *loop = dyn_cast<ForeachStmt>(s)) mentioned.insert(loop->global);
    });
    walk_exprs(body, [&](ExprPtr &e) {
      if (auto *symbol = dyn_cast<SymbolExpr>(*e)) mentioned.insert(symbol->global);
      if (auto *index = dyn_cast<IndexExpr>(*e)) mentioned.insert(index->global);
      if (auto *in = dyn_cast<InArrayExpr>(*e)) mentioned.insert(in->global);
    });
  };
  for (auto &probe : program.probes) mentions_in(*probe->body);
  for (auto &function : program.functions) mentions_in(*function->body);
  for (auto &global : program.globals)
    if (global->is_array && global->max_entries == 0 && !mentioned.count(global.get())) {
      global->is_array = false;
      global->key_types.clear();
    }
}

}  // namespace

void elide_unused(PassContext &ctx) {
  if (ctx.options.keep_unused) return;
  EffectFinder effects;
  for (auto &function : ctx.program.functions) elide_body(*function->body, effects);
  for (auto &probe : ctx.program.probes) {
    if (elide_body(*probe->body, effects)) probe->elided_statements = true;
    forget_unmentioned_locals(*probe);
  }
  drop_unreached_functions(ctx.program);
  forget_unused_arrays(ctx.program);
}

}  // namespace ntap
