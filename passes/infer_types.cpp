// Type inference: long / string / stats for every expression, local, global
// value and array key.
//
// Types flow both ways (`x = y` types x from y and y from x; `a[k] = 1` types
// a's key from k), so the pass repeats its walk until nothing changes, then
// makes a last, strict walk in which anything still unknown is an error and
// the output formats are checked and registered.
//
// Script functions are inferred together with the probes: a call types the
// parameters from its arguments (and the arguments from typed parameters),
// `return e` types the function's result, the result types the call. A
// parameter nothing types is long, as in SystemTap; a function that never
// returns a value has none unless the context of a call types it (`f() + 1`):
// `a = f()` leaves `a` untyped, an error as in stap.
#include <fmt/format.h>

#include <set>

#include "frontend/histogram.h"
#include "frontend/builtins.h"
#include "passes/passes.h"
#include "frontend/walk.h"
#include "abi/printf.h"

namespace ntap {
namespace {

using namespace ast;

std::string describe(const Expr &e) {
  switch (e.kind) {
    case ExprKind::Symbol: return fmt::format("identifier '{}'", cast<SymbolExpr>(e).name);
    case ExprKind::Index: return fmt::format("identifier '{}'", cast<IndexExpr>(e).name);
    case ExprKind::Call: return fmt::format("identifier '{}'", cast<CallExpr>(e).name);
    case ExprKind::Number: return "number";
    case ExprKind::String: return "string";
    default: return "expression";
  }
}

class TypeInference {
 public:
  TypeInference(Program &program, Diagnostics &diagnostics) : program_(program), diagnostics_(diagnostics) {}

  // Every statement is typed on its own, so a mismatch in one is reported
  // and the others are still typed. The strict walk is skipped after errors:
  // what a failed statement left untyped would only add "unresolved type"
  // errors that are not the script's.
  void run() {
    for (auto &f : program_.functions) {
      if (f->result == Type::Unknown) f->result = f->declared_result;
      if (f->result == Type::Unknown && !returns_value(*f)) void_.insert(f.get());
    }
    reach_fixpoint();
    if (diagnostics_.has_errors()) return;
    // What nothing typed defaults to long; that may type more. A function
    // that returns no value stays untyped, as in stap: its calls are
    // statements, or typed by their context (`f() + 1`), never `a = f()`.
    for (auto &f : program_.functions) {
      if (f->result == Type::Unknown && !void_.count(f.get())) f->result = Type::Long;
      for (size_t i = 0; i < f->params.size(); ++i)
        if (f->locals[i]->type == Type::Unknown) f->locals[i]->type = Type::Long;
    }
    reach_fixpoint();
    if (diagnostics_.has_errors()) return;
    strict_ = true;
    walk_all();
    // Code generation gives a call of a function without a value a zero.
    for (auto &f : program_.functions)
      if (f->result == Type::Unknown) f->result = Type::Long;
  }

  static bool returns_value(Function &f) {
    bool found = false;
    walk_stmts(*f.body, [&](Stmt &s) { found |= s.kind == StmtKind::Return && cast<ReturnStmt>(s).value; });
    return found;
  }

  // A call of a function without a value, typed by where it is used.
  Function *untyped_void_call(const Expr &e) const {
    if (e.kind != ExprKind::Call) return nullptr;
    Function *f = cast<CallExpr>(e).function;
    return f && void_.count(f) && f->result == Type::Unknown ? f : nullptr;
  }

 private:
  void reach_fixpoint() {
    // Each round can only turn Unknown into a type, so this terminates; the
    // bound is a guard against a bug, not a limit users can reach.
    for (int round = 0; round < 64; ++round) {
      changed_ = false;
      walk_all();
      if (!changed_) break;
    }
  }

  void walk_all() {
    auto visit = [&](Stmt &s) { diagnostics_.guard([&] { visit_stmt(s); }); };
    for (auto &probe : program_.probes) {
      locals_ = &probe->locals;
      walk_stmts(*probe->body, visit);
    }
    for (auto &f : program_.functions) {
      function_ = f.get();
      locals_ = &f->locals;
      walk_stmts(*f->body, visit);
      function_ = nullptr;
    }
    locals_ = nullptr;
  }

  // Unify a slot (a variable's type) with a type found at `where`.
  void unify(Type &slot, Type found, const Expr &where, Location *first = nullptr) {
    if (found == Type::Unknown) return;
    if (slot == Type::Unknown) {
      slot = found;
      if (first) *first = where.loc;
      changed_ = true;
      return;
    }
    if (slot != found) mismatch(slot, found, where);
  }

  [[noreturn]] void mismatch(Type expected, Type found, const Expr &where) {
    throw CompileError(ErrorKind::Semantic,
                       fmt::format("type mismatch ({} vs. {})", type_name(expected), type_name(found)),
                       where.loc, describe(where));
  }

  void expect(const Expr &e, Type t) {
    if (e.type != Type::Unknown && e.type != t) mismatch(t, e.type, e);
  }

  void set(Expr &e, Type t) {
    if (t != Type::Unknown && e.type != t) {
      e.type = t;
      changed_ = true;
    }
  }

  // The type a global's keys must have at position i.
  void unify_key(Global &g, size_t i, Expr &key) {
    if (g.key_types.size() <= i) g.key_types.resize(i + 1, Type::Unknown);
    if (key.type == Type::Stats) mismatch(Type::Long, Type::Stats, key);
    unify(g.key_types[i], key.type, key);
    set(key, g.key_types[i]);
    if (key.kind == ExprKind::Symbol) propagate_to_symbol(cast<SymbolExpr>(key), g.key_types[i]);
  }

  void check_arity(Global &g, size_t arity, const Expr &where) {
    if (!g.key_types.empty() && g.key_types.size() != arity)
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("inconsistent arity ({} vs {}) for array {}", arity, g.key_types.size(), g.name),
                         where.loc, describe(where));
  }

  void unify_keys(Global &g, std::vector<ExprPtr> &keys, const Expr &where) {
    check_arity(g, keys.size(), where);
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i]) unify_key(g, i, *keys[i]);  // null: a `*` wildcard matches any key
  }

  // Push a type found by context into the variable a symbol names.
  void propagate_to_symbol(SymbolExpr &sym, Type t) {
    if (t == Type::Unknown) return;
    if (sym.local) unify(sym.local->type, t, sym);
    else if (sym.global) unify(sym.global->value_type, t, sym, &sym.global->first_typed);
    set(sym, t);
  }

  // An lvalue or rvalue naming storage: give the node its storage's type
  // and, when `t` is known, the storage the type `t`.
  void unify_storage(Expr &e, Type t) {
    if (e.kind == ExprKind::Symbol) {
      auto &sym = cast<SymbolExpr>(e);
      if (sym.global && sym.global->is_array)
        throw CompileError(ErrorKind::Semantic, "array used as a scalar", sym.loc, describe(sym));
      propagate_to_symbol(sym, t);
      Type now = sym.local ? sym.local->type : sym.global->value_type;
      set(sym, now);
    } else if (e.kind == ExprKind::Index) {
      auto &ix = cast<IndexExpr>(e);
      if (t != Type::Unknown) unify(ix.global->value_type, t, ix, &ix.global->first_typed);
      set(ix, ix.global->value_type);
    } else if (Function *f = untyped_void_call(e); f && t != Type::Unknown) {
      unify(f->result, t, e);
      set(e, t);
    } else if (t != Type::Unknown) {
      expect(e, t);
    }
  }

  void visit_stmt(Stmt &s) {
    // A statement that is a call discards its value: the one place a
    // function without one may be called when nothing else types it.
    if (strict_ && s.kind == StmtKind::Expr && untyped_void_call(*cast<ExprStmt>(s).expr))
      cast<ExprStmt>(s).expr->type = Type::Long;
    if (s.kind == StmtKind::Delete) {
      // `delete arr` names a whole array: the one place a bare array is allowed.
      auto &target = *cast<DeleteStmt>(s).target;
      if (target.kind == ExprKind::Symbol) {
        auto &sym = cast<SymbolExpr>(target);
        if (sym.global && sym.global->is_array) {
          sym.type = sym.global->value_type == Type::Unknown ? Type::Long : sym.global->value_type;
          return;
        }
      }
    }
    for_each_expr(s, [&](ExprPtr &e) { walk_exprs(e, [&](ExprPtr &x) { visit_expr(*x); }); });
    for_each_expr(s, [&](ExprPtr &e) {
      if (is_histogram_table(*e)) reject_histogram_value(*e);
      walk_exprs(e, [&](ExprPtr &x) { check_histogram_uses(*x); });
    });
    switch (s.kind) {
      case StmtKind::If: require_long(*cast<IfStmt>(s).cond); break;
      case StmtKind::While: require_long(*cast<WhileStmt>(s).cond); break;
      case StmtKind::For:
        if (auto &c = cast<ForStmt>(s).cond) require_long(*c);
        break;
      case StmtKind::StatsAdd: {
        auto &a = cast<StatsAddStmt>(s);
        Global *g = a.target->kind == ExprKind::Symbol ? cast<SymbolExpr>(*a.target).global
                                                       : cast<IndexExpr>(*a.target).global;
        unify(g->value_type, Type::Stats, *a.target, &g->first_typed);
        set(*a.target, Type::Stats);
        unify_storage(*a.value, Type::Long);
        require_long(*a.value);
        break;
      }
      case StmtKind::Foreach: {
        auto &f = cast<ForeachStmt>(s);
        Global &g = *f.global;
        check_arity(g, f.key_locals.size(), SymbolExpr(f.loc, f.array_name));
        if (g.key_types.size() < f.key_locals.size()) g.key_types.resize(f.key_locals.size(), Type::Unknown);
        for (size_t i = 0; i < f.key_locals.size(); ++i) {
          SymbolExpr where(f.loc, f.key_names[i]);
          unify(f.key_locals[i]->type, g.key_types[i], where);
          unify(g.key_types[i], f.key_locals[i]->type, where);
        }
        if (!f.slice.empty()) unify_keys(g, f.slice, SymbolExpr(f.loc, f.array_name));
        if (f.value_local) {
          SymbolExpr where(f.loc, *f.value_name);
          if (g.value_type == Type::Stats)
            throw CompileError(ErrorKind::Semantic, "foreach value of a statistics array must be read with @count, @sum...",
                               f.loc, describe(where));
          unify(f.value_local->type, g.value_type, where);
          unify(g.value_type, f.value_local->type, where, &g.first_typed);
        }
        if (f.limit) require_long(*f.limit);
        if (f.sort_stat_written && g.value_type != Type::Stats && g.value_type != Type::Unknown)
          throw CompileError(ErrorKind::Semantic,
                             fmt::format("{} sorts a statistics array; '{}' holds {} values",
                                         stats_fn_name(f.sort_stat), f.array_name, type_name(g.value_type)),
                             f.loc, describe(SymbolExpr(f.loc, f.array_name)));
        if (strict_ && f.sort_column == 0 && f.sort_direction != 0 && g.value_type == Type::Unknown)
          throw CompileError(ErrorKind::Semantic, "unresolved type of array values to sort by", f.loc,
                             describe(SymbolExpr(f.loc, f.array_name)));
        break;
      }
      case StmtKind::Return: {
        auto &r = cast<ReturnStmt>(s);
        if (!function_ || !r.value) break;
        if (r.value->type == Type::Stats) mismatch(Type::Long, Type::Stats, *r.value);
        unify_storage(*r.value, function_->result);
        unify(function_->result, r.value->type, *r.value);
        break;
      }
      case StmtKind::Try: {
        auto &t = cast<TryStmt>(s);
        if (t.catch_local) unify(t.catch_local->type, Type::String, SymbolExpr(t.loc, *t.catch_name));
        break;
      }
      case StmtKind::Delete: {
        auto &d = cast<DeleteStmt>(s);
        if (d.target->kind != ExprKind::Symbol && d.target->kind != ExprKind::Index)
          throw CompileError(ErrorKind::Semantic, "delete needs a variable, an array or an array element",
                             d.target->loc, describe(*d.target));
        break;
      }
      default: break;
    }
  }

  void require_long(Expr &e) {
    unify_storage(e, Type::Long);
    if (e.type == Type::String || e.type == Type::Stats) mismatch(Type::Long, e.type, e);
  }

  void visit_expr(Expr &e) {
    switch (e.kind) {
      case ExprKind::Number: set(e, Type::Long); break;
      case ExprKind::String: set(e, Type::String); break;
      case ExprKind::TargetVar: {
        auto &target = cast<TargetVarExpr>(e);
        if (function_ && !target.is_cast())
          throw CompileError(ErrorKind::Semantic,
                             "target variables can only be used in probes; pass the value to the function",
                             e.loc, fmt::format("identifier '{}'", target_text(target)));
        // The pointer @cast reads through and every subscript are numbers.
        if (target.cast_operand) require_long(*target.cast_operand);
        for (auto &c : target.components)
          if (c.index) require_long(*c.index);
        set(e, Type::Long);
        break;
      }
      case ExprKind::Symbol: unify_storage(e, Type::Unknown); break;
      case ExprKind::Index: {
        auto &ix = cast<IndexExpr>(e);
        unify_keys(*ix.global, ix.keys, ix);
        set(ix, ix.global->value_type);
        break;
      }
      case ExprKind::InArray: {
        auto &in = cast<InArrayExpr>(e);
        unify_keys(*in.global, in.keys, in);
        set(in, Type::Long);
        break;
      }
      case ExprKind::Unary: {
        auto &u = cast<UnaryExpr>(e);
        require_long(*u.operand);
        set(e, Type::Long);
        break;
      }
      case ExprKind::Binary: visit_binary(cast<BinaryExpr>(e)); break;
      case ExprKind::Logical: {
        auto &l = cast<LogicalExpr>(e);
        require_long(*l.lhs);
        require_long(*l.rhs);
        set(e, Type::Long);
        break;
      }
      case ExprKind::Ternary: {
        auto &t = cast<TernaryExpr>(e);
        require_long(*t.cond);
        Type both = t.then_expr->type != Type::Unknown ? t.then_expr->type : t.else_expr->type;
        unify_storage(*t.then_expr, both);
        unify_storage(*t.else_expr, both);
        if (t.then_expr->type != Type::Unknown && t.else_expr->type != Type::Unknown &&
            t.then_expr->type != t.else_expr->type)
          mismatch(t.then_expr->type, t.else_expr->type, *t.else_expr);
        set(e, both);
        break;
      }
      case ExprKind::Assign: visit_assign(cast<AssignExpr>(e)); break;
      case ExprKind::IncDec: {
        auto &i = cast<IncDecExpr>(e);
        require_long(*i.operand);
        set(e, Type::Long);
        break;
      }
      case ExprKind::Call: visit_call(cast<CallExpr>(e)); break;
      case ExprKind::StatsOp: {
        auto &s = cast<StatsOpExpr>(e);
        Global *g = s.operand->kind == ExprKind::Symbol  ? cast<SymbolExpr>(*s.operand).global
                    : s.operand->kind == ExprKind::Index ? cast<IndexExpr>(*s.operand).global
                                                         : nullptr;
        if (!g)
          throw CompileError(ErrorKind::Semantic, fmt::format("{} needs a global statistic", stats_fn_name(s.fn)),
                             s.operand->loc, describe(*s.operand));
        unify(g->value_type, Type::Stats, *s.operand, &g->first_typed);
        set(*s.operand, Type::Stats);
        note_stats_options(*g, s);
        if (s.bucket) require_long(*s.bucket);
        // A whole histogram is text (its table) that only print/println take.
        set(e, is_histogram(s.fn) && !s.bucket ? Type::String : Type::Long);
        break;
      }
      case ExprKind::Defined: set(e, Type::Long); break;  // folded earlier; kept for completeness
      // Reported before inference (report_unresolved); its error is still the one to give.
      case ExprKind::Unresolved: throw cast<UnresolvedExpr>(e).error;
    }
    if (strict_ && e.type == Type::Unknown)
      throw CompileError(ErrorKind::Semantic, "unresolved type", e.loc, describe(e), unknown_variable_hints(e));
  }

  // A variable nothing types is usually a misspelling of one that is
  // typed: a local of the same body or a global.
  std::vector<std::string> unknown_variable_hints(const Expr &e) const {
    if (e.kind != ExprKind::Symbol || !locals_) return {};
    std::vector<std::string> names;
    for (const auto &l : *locals_)
      if (l->type != Type::Unknown) names.push_back(l->name);
    for (const auto &g : program_.globals)
      if (!g->private_to || g->private_to == e.loc.file) names.push_back(g->name);
    std::string hint = did_you_mean(nearest_names(cast<SymbolExpr>(e).name, names, 2));
    if (hint.empty()) return {};
    return {hint};
  }

  // stap requires every use of an aggregate to agree on its histogram and
  // on @variance's bit shift: one layout serves them all.
  void note_stats_options(Global &g, const StatsOpExpr &s) {
    if (s.fn == StatsFn::Variance) {
      const int64_t shift = s.params.empty() ? 0 : s.params[0];
      if (g.uses_variance && g.variance_shift != shift)
        throw CompileError(ErrorKind::Semantic,
                           fmt::format("@variance bit shift {} differs from {} used before", shift, g.variance_shift),
                           s.loc, describe(*s.operand));
      g.uses_variance = true;
      g.variance_shift = shift;
      return;
    }
    if (!is_histogram(s.fn)) return;
    if (g.histogram == StatsFn::Count) {
      if (s.fn == StatsFn::HistLinear) {
        try {
          HistogramSpec::linear(s.params.at(0), s.params.at(1), s.params.at(2));
        } catch (const std::exception &err) {
          throw CompileError(ErrorKind::Semantic, err.what(), s.loc, describe(*s.operand));
        }
      }
      g.histogram = s.fn;
      g.histogram_params = s.params;
      g.histogram_loc = s.loc;
      return;
    }
    if (g.histogram != s.fn || g.histogram_params != s.params)
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("inconsistent histogram for aggregate '{}': every @hist_* use must be the same",
                                     g.name),
                         s.loc, describe(*s.operand));
  }

  // A whole histogram (not one bucket) can only be an argument of print or
  // println: its value is the table stap prints.
  static bool is_histogram_table(const Expr &e) {
    if (e.kind != ExprKind::StatsOp) return false;
    const auto &s = cast<StatsOpExpr>(e);
    return is_histogram(s.fn) && !s.bucket;
  }
  void check_histogram_uses(Expr &e) {
    const bool printing = e.kind == ExprKind::Call &&
                          (cast<CallExpr>(e).name == "print" || cast<CallExpr>(e).name == "println");
    for_each_child(e, [&](ExprPtr &child) {
      if (!printing && is_histogram_table(*child)) reject_histogram_value(*child);
    });
  }
  [[noreturn]] static void reject_histogram_value(const Expr &e) {
    throw CompileError(ErrorKind::Semantic,
                       "a histogram can only be printed (print/println) or indexed by bucket ([i])", e.loc,
                       describe(*cast<StatsOpExpr>(e).operand));
  }

  void visit_binary(BinaryExpr &b) {
    switch (b.op) {
      case BinaryOp::Concat:
        unify_storage(*b.lhs, Type::String);
        unify_storage(*b.rhs, Type::String);
        expect(*b.lhs, Type::String);
        expect(*b.rhs, Type::String);
        set(b, Type::String);
        return;
      case BinaryOp::RegexMatch:
      case BinaryOp::RegexNoMatch:
        unify_storage(*b.lhs, Type::String);
        expect(*b.lhs, Type::String);
        set(b, Type::Long);
        return;
      case BinaryOp::Lt: case BinaryOp::Le: case BinaryOp::Gt:
      case BinaryOp::Ge: case BinaryOp::Eq: case BinaryOp::Ne: {
        // Comparisons work on two longs or two strings.
        Type t = b.lhs->type != Type::Unknown ? b.lhs->type : b.rhs->type;
        if (t == Type::Stats) mismatch(Type::Long, t, b.lhs->type == Type::Stats ? *b.lhs : *b.rhs);
        unify_storage(*b.lhs, t);
        unify_storage(*b.rhs, t);
        if (b.lhs->type != Type::Unknown && b.rhs->type != Type::Unknown && b.lhs->type != b.rhs->type)
          mismatch(b.lhs->type, b.rhs->type, *b.rhs);
        set(b, Type::Long);
        return;
      }
      default:
        require_long(*b.lhs);
        require_long(*b.rhs);
        set(b, Type::Long);
        return;
    }
  }

  void visit_assign(AssignExpr &a) {
    if (a.lhs->kind != ExprKind::Symbol && a.lhs->kind != ExprKind::Index)
      throw CompileError(ErrorKind::Semantic, "assignment to something that is not a variable", a.lhs->loc,
                         describe(*a.lhs));
    Type t = Type::Unknown;
    if (a.op == AssignOp::Concat) t = Type::String;
    else if (a.op != AssignOp::Set) t = Type::Long;
    if (t == Type::Unknown) t = a.rhs->type != Type::Unknown ? a.rhs->type : a.lhs->type;
    if (t == Type::Stats)
      throw CompileError(ErrorKind::Semantic, "statistics can only be added to with <<<", a.loc, describe(*a.lhs));
    unify_storage(*a.lhs, t);
    unify_storage(*a.rhs, t);
    if (a.lhs->type != Type::Unknown && a.rhs->type != Type::Unknown && a.lhs->type != a.rhs->type)
      mismatch(a.lhs->type, a.rhs->type, *a.rhs);
    set(a, a.lhs->type);
  }

  void visit_function_call(CallExpr &call) {
    Function &f = *call.function;
    for (size_t i = 0; i < call.args.size(); ++i) {
      Expr &arg = *call.args[i];
      Type &param = f.locals[i]->type;
      if (arg.type == Type::Stats) mismatch(Type::Long, Type::Stats, arg);
      unify_storage(arg, param);
      unify(param, arg.type, arg);
    }
    set(call, f.result);
    if (strict_ && call.type == Type::Unknown)
      throw CompileError(ErrorKind::Semantic, "unresolved type", call.loc, describe(call),
                         {fmt::format("function {} returns no value ('return EXPR'), so its call has none", f.name)});
  }

  void visit_call(CallExpr &call) {
    if (call.function) return visit_function_call(call);
    const Builtin &b = *call.builtin;
    bool has_format = b.flags & Builtin::Format;
    bool delimited = b.flags & Builtin::Delimited;
    size_t first_value = has_format || delimited ? 1 : 0;
    for (size_t i = 0; i < b.params.size() && i < call.args.size(); ++i) {
      if (has_format && i == 0) continue;
      unify_storage(*call.args[i], b.params[i]);
      expect(*call.args[i], b.params[i]);
    }
    set(call, b.result);
    // log(msg) writes what println(msg) writes: kernel probes send it as an
    // output record like println's, so it gets a format too.
    const bool log = call.name == "log";
    bool output = ((b.flags & Builtin::Variadic) && !(b.flags & Builtin::NotOutput)) || log;
    if (!output || !strict_) return;
    // Output calls: check the arguments against the format and register it.
    std::vector<Type> arg_types;
    for (size_t i = first_value; i < call.args.size(); ++i) {
      if (call.args[i]->type == Type::Stats)
        throw CompileError(ErrorKind::Semantic, "statistics cannot be printed directly; use @count, @sum...",
                           call.args[i]->loc, describe(*call.args[i]));
      arg_types.push_back(call.args[i]->type);
    }
    FormatInfo info;
    info.loc = call.loc;
    info.arg_types = arg_types;
    if (has_format) {
      if (call.args.empty() || call.args[0]->kind != ExprKind::String)
        throw CompileError(ErrorKind::Semantic, fmt::format("{} needs a literal format string", call.name),
                           call.args.empty() ? call.loc : call.args[0]->loc, describe(call));
      info.text = cast<StringExpr>(*call.args[0]).value;
      info.loc = call.args[0]->loc;
      check_format(info, call);
    } else {
      // printd & co. join the values with their literal delimiter, kept
      // literal in the format by doubling its '%'.
      std::string delimiter;
      if (delimited) {
        if (call.args.empty() || call.args[0]->kind != ExprKind::String)
          throw CompileError(ErrorKind::Semantic, fmt::format("{} needs a literal delimiter string", call.name),
                             call.args.empty() ? call.loc : call.args[0]->loc, describe(call));
        for (char c : cast<StringExpr>(*call.args[0]).value) delimiter += c == '%' ? "%%" : std::string(1, c);
      }
      for (size_t i = 0; i < arg_types.size(); ++i) {
        if (i > 0) info.text += delimiter;
        info.text += arg_types[i] == Type::String ? "%s" : "%d";
      }
      // println, sprintln, printdln, sprintdln (and log) end with a newline.
      if (call.name.ends_with("ln") || log) info.text += "\n";
    }
    if (call.format_id < 0) {
      call.format_id = static_cast<int>(program_.formats.size());
      program_.formats.push_back(std::move(info));
    }
  }

  void check_format(const FormatInfo &info, const CallExpr &call) {
    std::vector<ArgType> wanted;
    try {
      wanted = Format::parse(info.text).arg_types();
    } catch (const FormatError &err) {
      Location at = info.loc;
      throw CompileError(ErrorKind::Semantic, fmt::format("invalid format string: {}", err.message), at,
                         fmt::format("format \"{}\"", info.text));
    }
    if (wanted.size() != info.arg_types.size())
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("format string expects {} argument{}, {} given", wanted.size(),
                                     wanted.size() == 1 ? "" : "s", info.arg_types.size()),
                         call.loc, describe(call));
    for (size_t i = 0; i < wanted.size(); ++i) {
      Type want = wanted[i] == ArgType::String ? Type::String : Type::Long;
      if (info.arg_types[i] != want)
        throw CompileError(ErrorKind::Semantic,
                           fmt::format("format conversion {} expects a {}, argument is a {}", i + 1, type_name(want),
                                       type_name(info.arg_types[i])),
                           call.args[i + 1]->loc, describe(*call.args[i + 1]));
    }
  }

  Program &program_;
  Diagnostics &diagnostics_;
  Function *function_ = nullptr;  // the function whose body is being walked, if any
  const std::vector<std::unique_ptr<Local>> *locals_ = nullptr;  // of the body being walked
  bool changed_ = false;
  bool strict_ = false;
  std::set<Function *> void_;  // functions with no declared type and no `return EXPR`
};

// Initialisers type their globals before inference starts.
void seed_globals(Program &program) {
  for (auto &g : program.globals) {
    if (!g->init) continue;
    Type t = g->init->kind == ExprKind::String ? Type::String : Type::Long;
    g->init->type = t;
    g->value_type = t;
    g->first_typed = g->init->loc;
  }
}

// What elaboration requires of a global once every use has been typed.
void check_global(Global *g, const FrontendOptions &options) {
  if (g->init && g->is_array)
    throw CompileError(ErrorKind::Semantic, "an array cannot have a scalar initialiser", g->init->loc,
                       fmt::format("identifier '{}'", g->name));
  if (g->value_type == Type::Unknown && !g->is_array) {
    // Declared and never used: stap elides such variables with a warning
    // (not a tapset's: a script uses only some of what a tapset declares).
    if (options.warnings && !g->from_tapset) warn(g->decl, fmt::format("eliding unused variable '{}'", g->name));
    g->value_type = Type::Long;
    return;
  }
  if (g->value_type == Type::Unknown)
    throw CompileError(ErrorKind::Semantic, "unresolved type", g->decl, fmt::format("identifier '{}'", g->name));
  for (Type k : g->key_types)
    if (k == Type::Unknown)
      throw CompileError(ErrorKind::Semantic, "unresolved type of array key", g->decl,
                         fmt::format("identifier '{}'", g->name));
}

}  // namespace

void infer_types(PassContext &ctx) {
  seed_globals(ctx.program);
  TypeInference(ctx.program, ctx.diagnostics).run();
  if (ctx.diagnostics.has_errors()) return;
  for (auto &g : ctx.program.globals) ctx.diagnostics.guard([&] { check_global(g.get(), ctx.options); });
}

}  // namespace ntap
