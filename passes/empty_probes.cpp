// A script whose probes all do nothing is an error, as in stap. So is one
// whose every probe point was optional (`?`) and matched nothing.
//
// stap's optimizer elides a probe whose body is empty once constant
// conditions are folded (`if (@defined($x))` in a probe without $x), and
// then finds no probes left: "no probes found". Without the check ntap would
// attach probes that can never do anything and wait for an interrupt. ntap
// keeps the empty probes of a script that has others (they cost nothing
// visible) and, as stap's -u, skips the check under -u.
#include <algorithm>

#include "frontend/walk.h"
#include "passes/passes.h"

namespace ntap {
namespace {

using namespace ast;

// Whether running `s` can do anything: conservative, only what stap's
// optimizer would remove for certain counts as nothing (empty blocks, a
// condition folded to a constant with nothing on the branch taken, a
// literal as a statement).
bool has_effect(const Stmt &s) {
  switch (s.kind) {
    case StmtKind::Block: {
      const auto &block = cast<BlockStmt>(s);
      return std::any_of(block.stmts.begin(), block.stmts.end(),
                         [](const StmtPtr &child) { return child && has_effect(*child); });
    }
    case StmtKind::If: {
      const auto &branch = cast<IfStmt>(s);
      if (branch.cond->kind != ExprKind::Number) return true;
      const StmtPtr &taken = cast<NumberExpr>(*branch.cond).value ? branch.then_stmt : branch.else_stmt;
      return taken && has_effect(*taken);
    }
    case StmtKind::Expr: {
      const ExprKind k = cast<ExprStmt>(s).expr->kind;
      return k != ExprKind::Number && k != ExprKind::String;
    }
    default:
      return true;
  }
}

}  // namespace

void reject_all_empty_probes(const Program &program, const FrontendOptions &options, Location where) {
  const auto &probes = program.probes;
  if (probes.empty() && !program.has_never)
    throw CompileError(ErrorKind::Semantic, "no probes found (no optional probe point matched)", where);
  if (probes.empty() || options.keep_unused) return;
  // Only the script's own probes count, as stap's primary probes: a
  // tapset file's (a begin filling its tables) are not what the user asked for.
  const auto primary = [&](const std::unique_ptr<Probe> &p) { return p->loc.file == where.file; };
  if (std::none_of(probes.begin(), probes.end(), [&](const std::unique_ptr<Probe> &p) {
        return primary(p) && (p->elided_statements || has_effect(*p->body));
      }))
    throw CompileError(ErrorKind::Semantic, "no probes found (every probe's body is empty)", probes.front()->loc);
}

}  // namespace ntap
