// Identifiers → locals and globals; calls → builtins.
//
// As in SystemTap, a name declared `global` always means the global; any
// other name is a local of the probe it appears in, created on first use.
// Arrays and statistics must be declared global.
#include <fmt/format.h>

#include <map>

#include "frontend/builtins.h"
#include "frontend/passes/passes.h"
#include "frontend/walk.h"

namespace ntap {
namespace {

using namespace ast;

class SymbolResolver {
 public:
  SymbolResolver(Program &program, Probe &probe) : program_(program), probe_(probe) {}

  void run() {
    walk_stmts(*probe_.body, [&](Stmt &s) { visit_stmt(s); });
  }

 private:
  Local *local(const std::string &name, Location loc) {
    for (auto &l : probe_.locals)
      if (l->name == name) return l.get();
    auto l = std::make_unique<Local>();
    l->name = name;
    l->decl = loc;
    l->index = probe_.locals.size();
    probe_.locals.push_back(std::move(l));
    return probe_.locals.back().get();
  }

  Global *array(const std::string &name, Location loc, size_t arity) {
    Global *g = program_.find_global(name);
    if (!g)
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("unresolved arity-{} global array {}, missing global declaration?",
                                     arity, name),
                         loc, fmt::format("identifier '{}'", name));
    g->is_array = true;
    return g;
  }

  void visit_stmt(Stmt &s) {
    if (s.kind == StmtKind::Foreach) {
      auto &f = static_cast<ForeachStmt &>(s);
      f.global = array(f.array_name, f.loc, f.key_names.size());
      for (const auto &k : f.key_names) {
        if (program_.find_global(k))
          throw CompileError(ErrorKind::Semantic, "foreach loop variable may not be a global", f.loc,
                             fmt::format("identifier '{}'", k));
        f.key_locals.push_back(local(k, f.loc));
      }
      if (f.value_name) f.value_local = local(*f.value_name, f.loc);
    }
    if (s.kind == StmtKind::StatsAdd) {
      auto &a = static_cast<StatsAddStmt &>(s);
      if (a.target->kind == ExprKind::Symbol) {
        auto &sym = static_cast<SymbolExpr &>(*a.target);
        if (!program_.find_global(sym.name))
          throw CompileError(ErrorKind::Semantic, "aggregate (<<<) target must be a global", sym.loc,
                             fmt::format("identifier '{}'", sym.name));
      }
    }
    for_each_expr(s, [&](ExprPtr &e) { walk_exprs(e, [&](ExprPtr &x) { visit_expr(*x); }); });
  }

  void visit_expr(Expr &e) {
    switch (e.kind) {
      case ExprKind::Symbol: {
        auto &sym = static_cast<SymbolExpr &>(e);
        if (Global *g = program_.find_global(sym.name))
          sym.global = g;
        else
          sym.local = local(sym.name, sym.loc);
        return;
      }
      case ExprKind::Index: {
        auto &ix = static_cast<IndexExpr &>(e);
        ix.global = array(ix.name, ix.loc, ix.keys.size());
        return;
      }
      case ExprKind::InArray: {
        auto &in = static_cast<InArrayExpr &>(e);
        in.global = array(in.name, in.loc, in.keys.size());
        return;
      }
      case ExprKind::Call: {
        auto &call = static_cast<CallExpr &>(e);
        call.builtin = find_builtin(call.name);
        if (!call.builtin)
          throw CompileError(ErrorKind::Semantic, "unresolved function", call.loc,
                             fmt::format("identifier '{}'", call.name));
        check_arity(call);
        return;
      }
      default:
        return;
    }
  }

  static void check_arity(const CallExpr &call) {
    const Builtin &b = *call.builtin;
    size_t fixed = b.params.size();
    bool variadic = b.flags & Builtin::Variadic;
    if (call.args.size() < fixed || (!variadic && call.args.size() > fixed))
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("wrong number of arguments to {} ({} given, {}{} expected)", call.name,
                                     call.args.size(), variadic ? "at least " : "", fixed),
                         call.loc, fmt::format("identifier '{}'", call.name));
  }

  Program &program_;
  Probe &probe_;
};

}  // namespace

void resolve_symbols(PassContext &ctx) {
  Program &program = ctx.program;
  std::map<std::string, Global *> seen;
  for (uint32_t i = 0; i < program.globals.size(); ++i) {
    Global &g = *program.globals[i];
    g.id = i;
    auto [it, fresh] = seen.emplace(g.name, &g);
    if (!fresh)
      throw CompileError(ErrorKind::Semantic, "duplicate global declaration", g.decl,
                         fmt::format("identifier '{}'", g.name));
  }
  for (auto &probe : program.probes) SymbolResolver(program, *probe).run();
}

}  // namespace ntap
