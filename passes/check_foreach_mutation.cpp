// An array must not change while a foreach walks it, as in stap: an element
// stored, incremented, aggregated into or deleted inside the loop's body,
// directly or by a function the body calls (at any depth), is a semantic
// error. BPF map iteration over an array being written can skip or repeat
// elements, and stap's locks make the same script fail rather than race.
#include <map>
#include <set>
#include <vector>

#include "frontend/walk.h"
#include "passes/passes.h"

namespace ntap {
namespace {

using namespace ast;

using GlobalSet = std::set<const Global *>;

// The array a write goes to, when `target` is an element of one.
const Global *element_global(const ExprPtr &target) {
  if (!target || target->kind != ExprKind::Index) return nullptr;
  return ast::cast<ast::IndexExpr>(*target).global;
}

// Globals (scalars and arrays) a statement tree writes, not counting calls.
void collect_direct_writes(Stmt &body, GlobalSet &out) {
  auto note_target = [&](const ExprPtr &target) {
    if (!target) return;
    if (const Global *g = element_global(target)) out.insert(g);
    if (target->kind == ExprKind::Symbol)
      if (const Global *g = ast::cast<ast::SymbolExpr>(*target).global) out.insert(g);
  };
  walk_stmts(body, [&](Stmt &s) {
    if (s.kind == StmtKind::Delete) note_target(ast::cast<ast::DeleteStmt>(s).target);
    if (s.kind == StmtKind::StatsAdd) note_target(ast::cast<ast::StatsAddStmt>(s).target);
  });
  walk_exprs(body, [&](ExprPtr &e) {
    if (e->kind == ExprKind::Assign) note_target(ast::cast<ast::AssignExpr>(*e).lhs);
    if (e->kind == ExprKind::IncDec) note_target(ast::cast<ast::IncDecExpr>(*e).operand);
  });
}

// Each function's writes, including those of every function it calls.
std::map<const Function *, GlobalSet> function_writes(Program &program) {
  std::map<const Function *, GlobalSet> writes;
  std::map<const Function *, std::set<const Function *>> calls;
  for (auto &function : program.functions) {
    collect_direct_writes(*function->body, writes[function.get()]);
    walk_exprs(*function->body, [&](ExprPtr &e) {
      if (e->kind == ExprKind::Call)
        if (const Function *callee = ast::cast<ast::CallExpr>(*e).function) calls[function.get()].insert(callee);
    });
  }
  // Propagate along calls until nothing changes (recursion allowed).
  for (bool changed = true; changed;) {
    changed = false;
    for (auto &[caller, callees] : calls)
      for (const Function *callee : callees)
        for (const Global *g : writes[callee]) changed |= writes[caller].insert(g).second;
  }
  return writes;
}

class MutationCheck {
 public:
  // Each modification is reported and the walk goes on, so one run names
  // every loop that changes what it walks.
  MutationCheck(const std::map<const Function *, GlobalSet> &writes, Diagnostics &diagnostics)
      : writes_(writes), diagnostics_(diagnostics) {}

  void check(Stmt &s) {
    if (s.kind == StmtKind::Foreach) {
      auto &loop = ast::cast<ast::ForeachStmt>(s);
      // The limit and slice keys are evaluated before the walk starts.
      for_each_expr(s, [&](ExprPtr &e) { walk_exprs(e, [&](ExprPtr &x) { check_expr(*x); }); });
      iterated_.push_back(loop.global);
      if (loop.body) check(*loop.body);
      iterated_.pop_back();
      return;
    }
    if (s.kind == StmtKind::Delete) check_element_write(ast::cast<ast::DeleteStmt>(s).target);
    if (s.kind == StmtKind::StatsAdd) check_element_write(ast::cast<ast::StatsAddStmt>(s).target);
    for_each_expr(s, [&](ExprPtr &e) { walk_exprs(e, [&](ExprPtr &x) { check_expr(*x); }); });
    for_each_child(s, [&](StmtPtr &child) { check(*child); });
  }

 private:
  bool iterating(const Global *g) const {
    for (const Global *it : iterated_)
      if (it && it == g) return true;
    return false;
  }

  void check_element_write(const ExprPtr &target) {
    const Global *g = element_global(target);
    if (g && iterating(g))
      diagnostics_.report(CompileError(ErrorKind::Semantic,
                                       "variable '" + g->name + "' modified during 'foreach' iteration", target->loc));
  }

  void check_expr(Expr &e) {
    if (iterated_.empty()) return;
    if (e.kind == ExprKind::Assign) check_element_write(ast::cast<ast::AssignExpr>(e).lhs);
    if (e.kind == ExprKind::IncDec) check_element_write(ast::cast<ast::IncDecExpr>(e).operand);
    if (e.kind != ExprKind::Call) return;
    const Function *callee = ast::cast<ast::CallExpr>(e).function;
    if (!callee) return;
    auto found = writes_.find(callee);
    if (found == writes_.end()) return;
    for (const Global *g : iterated_)
      if (g && found->second.count(g)) {
        diagnostics_.report(CompileError(ErrorKind::Semantic,
                                         "function call modifies var '" + g->name + "' during 'foreach' iteration",
                                         e.loc));
        return;
      }
  }

  const std::map<const Function *, GlobalSet> &writes_;
  Diagnostics &diagnostics_;
  std::vector<const Global *> iterated_;
};

}  // namespace

void check_foreach_mutation(PassContext &ctx) {
  const auto writes = function_writes(ctx.program);
  MutationCheck checker(writes, ctx.diagnostics);
  for (auto &probe : ctx.program.probes) checker.check(*probe->body);
  for (auto &function : ctx.program.functions) checker.check(*function->body);
}

}  // namespace ntap
