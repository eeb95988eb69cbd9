// `x <<< v` where x is a local, as stap treats it: stap has no statistic
// locals ("stat locals not supported, missing global declaration?"), but its
// optimizer first removes a local that is never read, so a script that only
// adds to one elaborates (its parse and elaboration corpora have both cases).
// Here the add keeps only the computation of v (for its side effects), and any
// read of x (@count(x), ...) is stap's error.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "frontend/walk.h"
#include "passes/passes.h"

namespace ntap {
namespace {

using namespace ast;

class LocalAggregates {
 public:
  LocalAggregates(Program &program, Diagnostics &diagnostics) : program_(program), diagnostics_(diagnostics) {}

  void lower(BlockStmt &body, const std::vector<std::string> &params) {
    names_.clear();
    walk_stmts(body, [&](Stmt &s) {
      if (s.kind != StmtKind::StatsAdd) return;
      const Expr &target = *cast<StatsAddStmt>(s).target;
      if (target.kind != ExprKind::Symbol) return;
      const auto &name = cast<SymbolExpr>(target).name;
      if (program_.find_global(name, target.loc.file)) return;
      if (std::find(params.begin(), params.end(), name) != params.end()) return;  // resolve_symbols refuses it
      names_.insert(name);
    });
    if (names_.empty()) return;
    for (auto &child : body.stmts) lower_statement(child);
  }

 private:
  bool local_aggregate(const Expr &e) const {
    return e.kind == ExprKind::Symbol && names_.count(cast<SymbolExpr>(e).name);
  }

  void lower_statement(StmtPtr &slot) {
    if (slot->kind == StmtKind::StatsAdd && local_aggregate(*cast<StatsAddStmt>(*slot).target)) {
      auto &add = cast<StatsAddStmt>(*slot);
      slot = std::make_unique<ExprStmt>(add.loc, std::move(add.value));
    }
    for_each_expr(*slot, [&](ExprPtr &e) { diagnostics_.guard([&] { refuse_reads(*e); }); });
    for_each_child(*slot, [&](StmtPtr &child) {
      if (child) lower_statement(child);
    });
  }

  void refuse_reads(Expr &e) {
    if (local_aggregate(e)) {
      const auto &name = cast<SymbolExpr>(e).name;
      throw CompileError(ErrorKind::Semantic, "stat locals not supported, missing global declaration?", e.loc,
                         fmt::format("identifier '{}'", name),
                         {fmt::format("'{}' takes <<< in this body; declare it `global {}`", name, name)});
    }
    for_each_child(e, [&](ExprPtr &c) { refuse_reads(*c); });
  }

  Program &program_;
  Diagnostics &diagnostics_;
  std::set<std::string> names_;
};

}  // namespace

void lower_local_aggregates(PassContext &ctx) {
  LocalAggregates lowering(ctx.program, ctx.diagnostics);
  for (auto &probe : ctx.program.probes) lowering.lower(*probe->body, {});
  for (auto &function : ctx.program.functions) lowering.lower(*function->body, function->params);
}

}  // namespace ntap
