// Identifiers → locals and globals; calls → script functions and builtins.
//
// As in SystemTap, a name declared `global` always means the global (except
// a function's parameter of the same name, which hides it); any other name is
// a local of the probe or function it appears in, created on first use.
// Arrays and statistics must be declared global.
//
// A call names the script function with that name and number of arguments
// (functions overload by arity), else a builtin. A `private` global or
// function is seen only by code written in the file that declares it (the
// file of each use's location), where it hides a public one of the name. Only functions reachable
// from a probe are resolved and kept, unless FrontendOptions::keep_unused
// (-u): the tapset holds many functions a script never calls.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "frontend/builtins.h"
#include "passes/passes.h"
#include "passes/enum_names.h"
#include "frontend/walk.h"

namespace ntap {
namespace {

using namespace ast;

bool visible_from(const Function &f, const SourceFile *from) { return !f.private_to || f.private_to == from; }

// The script function `name` taking `arity` arguments that code in `from`
// sees, or null. A script's own function hides a builtin of the same name; a
// tapset function does not. A private function hides a public one.
Function *find_function(const Program &program, const std::string &name, size_t arity, const SourceFile *from) {
  Function *found = nullptr;
  for (const auto &f : program.functions) {
    if (f->name != name || f->params.size() != arity || !visible_from(*f, from)) continue;
    if (f->from_tapset && find_builtin(name)) continue;
    if (f->private_to) return f.get();
    found = f.get();
  }
  return found;
}

// print_backtrace(), print_stack(bt), print_ustack(stk), print_syms(s) and
// print_usyms(s) print what sprint_backtrace(), sprint_stack(bt),
// sprint_ustack(stk), sprint_syms(s) and sprint_usyms(s) return: rewritten
// as print(sprint_...()), so kernel probes send one output record carrying
// the stack id.
void print_through_sprint(CallExpr &call) {
  const char *sprint = call.name == "print_backtrace" && call.args.empty()     ? "sprint_backtrace"
                       : call.name == "print_stack" && call.args.size() == 1  ? "sprint_stack"
                       : call.name == "print_ustack" && call.args.size() == 1 ? "sprint_ustack"
                       : call.name == "print_syms" && call.args.size() == 1   ? "sprint_syms"
                       : call.name == "print_usyms" && call.args.size() == 1  ? "sprint_usyms"
                                                                              : nullptr;
  if (!sprint) return;
  auto inner = std::make_unique<CallExpr>(call.loc, sprint);
  inner->args = std::move(call.args);
  inner->builtin = find_builtin(inner->name);
  call.args.clear();
  call.args.push_back(std::move(inner));
  call.name = "print";
}

class SymbolResolver {
 public:
  // Resolves one body whose locals live in `locals`; a function's
  // parameters must already be its first `params` locals.
  SymbolResolver(Program &program, const KernelInfo &kernel, BlockStmt &body,
                 std::vector<std::unique_ptr<Local>> &locals, size_t params, std::vector<Function *> &called,
                 Diagnostics &diagnostics)
      : program_(program), kernel_(kernel), body_(body), locals_(locals), params_(params), called_(called),
        diagnostics_(diagnostics) {}

  // Each statement and expression is checked on its own: an error in one is
  // reported and the rest are still resolved.
  void run() {
    reject_loop_control_outside_loops(body_, false);
    null_is_local_ = writes_null(body_);
    walk_stmts(body_, [&](Stmt &s) { diagnostics_.guard([&] { visit_stmt(s); }); });
  }

 private:
  // `break` and `continue` only make sense inside while/for/foreach; like
  // stap, reject them anywhere else at compile time rather than letting them
  // silently end the probe.
  void reject_loop_control_outside_loops(Stmt &s, bool in_loop) {
    if (!in_loop && (s.kind == StmtKind::Break || s.kind == StmtKind::Continue)) {
      const char *word = s.kind == StmtKind::Break ? "break" : "continue";
      diagnostics_.report(CompileError(ErrorKind::Semantic, fmt::format("cannot '{}' outside loop", word), s.loc,
                                       fmt::format("keyword '{}'", word)));
    }
    const bool loop = s.kind == StmtKind::While || s.kind == StmtKind::For || s.kind == StmtKind::Foreach;
    for_each_child(s, [&](StmtPtr &child) {
      if (child) reject_loop_control_outside_loops(*child, in_loop || loop);
    });
  }

  Local *param(const std::string &name) {
    for (size_t i = 0; i < params_; ++i)
      if (locals_[i]->name == name) return locals_[i].get();
    return nullptr;
  }

  Local *local(const std::string &name, Location loc) {
    for (auto &l : locals_)
      if (l->name == name) return l.get();
    auto l = std::make_unique<Local>();
    l->name = name;
    l->decl = loc;
    l->index = locals_.size();
    locals_.push_back(std::move(l));
    return locals_.back().get();
  }

  Global *array(const std::string &name, Location loc, size_t arity) {
    Global *g = program_.find_global(name, loc.file);
    if (!g) {
      std::vector<std::string> globals;
      for (const auto &other : program_.globals)
        if (!other->private_to || other->private_to == loc.file) globals.push_back(other->name);
      std::vector<std::string> hints;
      if (std::string hint = did_you_mean(nearest_names(name, globals)); !hint.empty()) hints.push_back(hint);
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("unresolved arity-{} global array {}, missing global declaration?",
                                     arity, name),
                         loc, fmt::format("identifier '{}'", name), std::move(hints));
    }
    g->is_array = true;
    return g;
  }

  void visit_stmt(Stmt &s) {
    if (s.kind == StmtKind::Foreach) {
      auto &f = cast<ForeachStmt>(s);
      f.global = array(f.array_name, f.loc, f.key_names.size());
      for (const auto &k : f.key_names) {
        if (program_.find_global(k, f.loc.file))
          throw CompileError(ErrorKind::Semantic, "foreach loop variable may not be a global", f.loc,
                             fmt::format("identifier '{}'", k));
        f.key_locals.push_back(local(k, f.loc));
      }
      if (f.value_name) f.value_local = local(*f.value_name, f.loc);
    }
    if (s.kind == StmtKind::Try) {
      auto &t = cast<TryStmt>(s);
      if (t.catch_name) {
        if (program_.find_global(*t.catch_name, t.loc.file)) {
          // stap lets the message go to a global: a hidden local takes it and
          // the catch block begins by storing it (a string global; another
          // type is the usual type conflict).
          auto &block = cast<BlockStmt>(*t.catch_block);
          auto store = std::make_unique<AssignExpr>(t.loc, AssignOp::Set,
                                                    std::make_unique<SymbolExpr>(t.loc, *t.catch_name),
                                                    std::make_unique<SymbolExpr>(t.loc, "__catch_message"));
          block.stmts.insert(block.stmts.begin(), std::make_unique<ExprStmt>(t.loc, std::move(store)));
          t.catch_name = "__catch_message";
        }
        t.catch_local = param(*t.catch_name) ? param(*t.catch_name) : local(*t.catch_name, t.loc);
      }
    }
    if (s.kind == StmtKind::StatsAdd) {
      auto &a = cast<StatsAddStmt>(s);
      if (a.target->kind == ExprKind::Symbol) {
        auto &sym = cast<SymbolExpr>(*a.target);
        if (!program_.find_global(sym.name, sym.loc.file))
          // Locals were lowered (passes/local_aggregates.cpp): this is a parameter.
          throw CompileError(ErrorKind::Semantic, "a function parameter cannot take <<<: use a local or a global",
                             sym.loc,
                             fmt::format("identifier '{}'", sym.name));
      }
    }
    // `delete a[*, k]` is the one place an element reference may hold wildcards.
    wildcard_delete_target_ =
        s.kind == StmtKind::Delete ? cast<DeleteStmt>(s).target.get() : nullptr;
    for_each_expr(s, [&](ExprPtr &e) {
      walk_exprs(e, [&](ExprPtr &x) {
        if (is_null_constant(*x))
          x = std::make_unique<NumberExpr>(x->loc, 0);
        else
          diagnostics_.guard([&] { visit_expr(*x); });
      });
    });
    wildcard_delete_target_ = nullptr;
  }

  // SystemTap's tapset declares `global NULL = 0`, so NULL is a number in
  // every script that does not declare or assign a NULL of its own: ntap
  // makes it the constant, and `"foo" == NULL` is a type error as in stap.
  bool is_null_constant(const Expr &e) {
    if (e.kind != ExprKind::Symbol || null_is_local_) return false;
    const auto &sym = cast<SymbolExpr>(e);
    return sym.name == "NULL" && !param(sym.name) && !program_.find_global(sym.name, sym.loc.file);
  }

  // Whether the body stores into a variable named NULL (then it is an
  // ordinary local, as the declared global would be in stap).
  static bool writes_null(Stmt &body) {
    auto is_null = [](const ExprPtr &e) {
      return e && e->kind == ExprKind::Symbol && cast<SymbolExpr>(*e).name == "NULL";
    };
    bool writes = false;
    walk_stmts(body, [&](Stmt &s) {
      if (s.kind == StmtKind::Foreach) {
        auto &f = cast<ForeachStmt>(s);
        for (const auto &k : f.key_names) writes |= k == "NULL";
        writes |= f.value_name && *f.value_name == "NULL";
      }
      if (s.kind == StmtKind::Try) {
        auto &t = cast<TryStmt>(s);
        writes |= t.catch_name && *t.catch_name == "NULL";
      }
    });
    walk_exprs(body, [&](ExprPtr &x) {
      if (x->kind == ExprKind::Assign) writes |= is_null(cast<AssignExpr>(*x).lhs);
      if (x->kind == ExprKind::IncDec) writes |= is_null(cast<IncDecExpr>(*x).operand);
    });
    return writes;
  }

  static bool has_wildcard(const std::vector<ExprPtr> &keys) {
    return std::any_of(keys.begin(), keys.end(), [](const ExprPtr &k) { return !k; });
  }

  void visit_expr(Expr &e) {
    switch (e.kind) {
      case ExprKind::Symbol: {
        auto &sym = cast<SymbolExpr>(e);
        if (Local *p = param(sym.name))
          sym.local = p;
        else if (Global *g = program_.find_global(sym.name, sym.loc.file)) {
          // `global a[N]` declares an array whatever its uses (stap: arrays
          // "can't be inferred as anything else"): `a = 1`, @count(a) are
          // wrong; `delete a` names the whole array.
          if (g->max_entries > 0 && &e != wildcard_delete_target_)
            throw CompileError(ErrorKind::Semantic, "array used as a scalar", sym.loc,
                               fmt::format("identifier '{}'", sym.name));
          sym.global = g;
        } else
          sym.local = local(sym.name, sym.loc);
        return;
      }
      case ExprKind::Index: {
        auto &ix = cast<IndexExpr>(e);
        ix.global = array(ix.name, ix.loc, ix.keys.size());
        if (&ix != wildcard_delete_target_ && has_wildcard(ix.keys))
          throw CompileError(ErrorKind::Semantic,
                             "wildcard subscripts (a[*, k]) are only allowed in delete and `in`", ix.loc,
                             fmt::format("identifier '{}'", ix.name));
        return;
      }
      case ExprKind::InArray: {
        auto &in = cast<InArrayExpr>(e);
        in.global = array(in.name, in.loc, in.keys.size());
        return;
      }
      case ExprKind::Call: {
        auto &call = cast<CallExpr>(e);
        if (Function *f = find_function(program_, call.name, call.args.size(), call.loc.file)) {
          call.function = f;
          called_.push_back(f);
          return;
        }
        if (call.name == "enum_name") {
          // Resolved from the kernel's BTF into a function of the program.
          Function *f = enum_name_function(program_, kernel_.btf(), call);
          call.name = f->name;
          call.args.erase(call.args.begin());
          call.function = f;
          called_.push_back(f);
          return;
        }
        print_through_sprint(call);
        call.builtin = find_builtin(call.name);
        if (!call.builtin) {
          std::vector<size_t> arities;
          for (const auto &f : program_.functions)
            if (f->name == call.name && visible_from(*f, call.loc.file)) arities.push_back(f->params.size());
          if (!arities.empty())
            throw CompileError(ErrorKind::Semantic,
                               fmt::format("wrong number of arguments to function {} ({} given, {} expected)",
                                           call.name, call.args.size(), fmt::join(arities, " or ")),
                               call.loc, fmt::format("identifier '{}'", call.name));
          throw CompileError(ErrorKind::Semantic, "unresolved function", call.loc,
                             fmt::format("identifier '{}'", call.name), function_hints(call));
        }
        check_arity(call);
        return;
      }
      default:
        return;
    }
  }

  // The script functions and builtins named like an unknown function.
  std::vector<std::string> function_hints(const CallExpr &call) const {
    std::vector<std::string> names;
    for (const auto &f : program_.functions)
      if (visible_from(*f, call.loc.file)) names.push_back(f->name);
    for (const Builtin &b : all_builtins()) names.emplace_back(b.name);
    std::string hint = did_you_mean(nearest_names(call.name, names, 2));
    if (hint.empty()) return {};
    return {hint};
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
  const KernelInfo &kernel_;  // enum_name() reads the kernel's enums
  BlockStmt &body_;
  std::vector<std::unique_ptr<Local>> &locals_;
  size_t params_;
  std::vector<Function *> &called_;
  Diagnostics &diagnostics_;
  const Expr *wildcard_delete_target_ = nullptr;
  bool null_is_local_ = false;
};

// A script function overrides a tapset function of the same name and arity;
// two script (or two tapset) definitions of one are an error. Private
// functions of different files never meet.
void drop_overridden_functions(Program &program, Diagnostics &diagnostics) {
  std::map<std::tuple<std::string, size_t, const SourceFile *>, Function *> defined;
  std::set<Function *> overridden;
  for (const auto &f : program.functions) {
    auto [it, fresh] = defined.emplace(std::make_tuple(f->name, f->params.size(), f->private_to), f.get());
    if (fresh) continue;
    Function *other = it->second;
    if (other->from_tapset != f->from_tapset) {
      overridden.insert(other->from_tapset ? other : f.get());
      if (other->from_tapset) it->second = f.get();
      continue;
    }
    diagnostics.report(CompileError(ErrorKind::Semantic,
                                    fmt::format("duplicate function definition (first at {})", other->loc.str()),
                                    f->loc, fmt::format("identifier '{}'", f->name)));
  }
  std::erase_if(program.functions, [&](const std::unique_ptr<Function> &f) { return overridden.count(f.get()) > 0; });
}

// `%` (wrap-around) says which element an update evicts when an array is
// full; a scalar has nothing to evict, so `global x% = 5` or a `global x%`
// used without subscripts is rejected rather than silently ignored.
void reject_wrapping_scalars(const Program &program, Diagnostics &diagnostics) {
  for (const auto &g : program.globals)
    if (g->wrap && (g->init || !g->is_array))
      diagnostics.report(CompileError(
          ErrorKind::Semantic,
          g->init ? "wrap-around ('%') is only for arrays, but this global has a scalar initial value"
                  : "wrap-around ('%') is only for arrays, but this global is never indexed",
          g->decl, fmt::format("identifier '{}'", g->name)));
}

void resolve_function(Program &program, const KernelInfo &kernel, Function &f, std::vector<Function *> &called, Diagnostics &diagnostics) {
  f.locals.clear();
  for (size_t i = 0; i < f.params.size(); ++i) {
    auto l = std::make_unique<Local>();
    l->name = f.params[i];
    l->decl = f.loc;
    l->index = static_cast<uint32_t>(i);
    l->type = f.declared_params[i];
    f.locals.push_back(std::move(l));
  }
  SymbolResolver(program, kernel, *f.body, f.locals, f.params.size(), called, diagnostics).run();
}

}  // namespace

void resolve_symbols(PassContext &ctx) {
  Program &program = ctx.program;
  std::map<std::pair<std::string, const SourceFile *>, Global *> seen;
  for (uint32_t i = 0; i < program.globals.size(); ++i) {
    Global &g = *program.globals[i];
    g.id = i;
    auto [it, fresh] = seen.emplace(std::make_pair(g.name, g.private_to), &g);
    if (!fresh)
      ctx.diagnostics.report(CompileError(ErrorKind::Semantic, "duplicate global declaration", g.decl,
                                          fmt::format("identifier '{}'", g.name)));
  }
  drop_overridden_functions(program, ctx.diagnostics);

  // Probes first; then every function they reach, transitively.
  std::vector<Function *> called;
  for (auto &probe : program.probes)
    SymbolResolver(program, ctx.kernel, *probe->body, probe->locals, 0, called, ctx.diagnostics).run();
  std::set<Function *> reached;
  auto resolve_reached = [&] {
    while (!called.empty()) {
      Function *f = called.back();
      called.pop_back();
      if (reached.insert(f).second) resolve_function(program, ctx.kernel, *f, called, ctx.diagnostics);
    }
  };
  resolve_reached();
  if (ctx.options.keep_unused) {
    for (auto &f : program.functions) called.push_back(f.get());
    resolve_reached();
  }
  std::erase_if(program.functions, [&](const std::unique_ptr<Function> &f) { return !reached.count(f.get()); });
  for (uint32_t i = 0; i < program.functions.size(); ++i) program.functions[i]->id = i;
  reject_wrapping_scalars(program, ctx.diagnostics);
}

}  // namespace ntap
