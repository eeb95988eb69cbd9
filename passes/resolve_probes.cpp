// Probe points → concrete probes, through the providers; $target variables
// resolved against the probe's context; @defined / @choose_defined folded.
//
// Folding happens here, before anything else looks at the body, because a
// target variable a probe does not have is only an error when it is used
// outside @defined: `@choose_defined($reason, 0)` must compile on kernels
// whose kfree_skb tracepoint has no `reason` argument.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "passes/autocast.h"
#include "passes/entry_values.h"
#include "passes/passes.h"
#include "passes/probe_points.h"
#include "passes/split_contexts.h"
#include "passes/unresolved.h"
#include "passes/pretty_print.h"
#include "frontend/walk.h"
#include "kernel/btf.h"
#include "kernel/providers/provider.h"

namespace ntap {
namespace {

using namespace ast;

bool same_resolution(const TargetVarExpr &a, const TargetVarExpr &b) {
  return a.arg_index == b.arg_index && a.steps == b.steps;
}

// Whether a type named by @cast's module list comes from the kernel's BTF.
// stap's list is ':'-separated and tried in order; each entry is "kernel",
// a kernel module or a program, each optionally followed by `<header>`s,
// or only `<header>`s (a header stap compiles). ntap takes both the kernel
// and header entries from the kernel's BTF: the headers such casts name for
// kernel data (<linux/ip.h>, <sys/un.h>) are UAPI headers, whose types the
// kernel's BTF describes with the same layout. Other entries name nothing
// ntap can read, and are passed over as stap passes over a module without
// the type.
bool kernel_btf_serves(const std::string &module_list) {
  if (module_list.empty()) return true;
  size_t start = 0;
  while (start <= module_list.size()) {
    size_t end = module_list.find(':', start);
    // A ':' inside <...> belongs to the header's path.
    for (size_t open = module_list.find('<', start); open != std::string::npos && open < end;
         open = module_list.find('<', open + 1)) {
      const size_t close = module_list.find('>', open);
      if (close == std::string::npos) break;
      if (end != std::string::npos && end < close) end = module_list.find(':', close);
    }
    const std::string entry = module_list.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string name = entry.substr(0, entry.find('<'));
    if (name == "kernel" || (name.empty() && entry.find('<') != std::string::npos)) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

// @cast needs no probe context: the type comes from the kernel's BTF.
// Under @defined (`only_probing`) a missing type or member, or a member that
// is no value (a struct), is "not defined" (false) instead of an error.
bool resolve_cast(const Btf &types, TargetVarExpr &cast, bool only_probing = false) {
  std::string near = fmt::format("operator '@cast'");
  const bool in_list = kernel_btf_serves(cast.cast_module);
  if (!in_list && only_probing) return false;
  if (!in_list)
    throw CompileError(ErrorKind::Semantic,
                       fmt::format("type definition '{}' not found in @cast module '{}': ntap reads types from the "
                                   "kernel's BTF, for the module \"kernel\" and for header modules (<linux/ip.h>)",
                                   cast.cast_type, cast.cast_module),
                       cast.loc, near);
  if (!types.handle())
    throw CompileError(ErrorKind::Semantic, "@cast needs kernel BTF: " + types.load_error(), cast.loc, near);
  std::optional<uint32_t> type = types.find_composite_type(cast.cast_type);
  if (!type && only_probing) return false;
  if (!type)
    throw CompileError(ErrorKind::Semantic,
                       fmt::format("type definition '{}' not found in the kernel's BTF (@cast needs a struct or "
                                   "union{})",
                                   cast.cast_type,
                                   cast.cast_module.find('<') != std::string::npos
                                       ? "; a header module's types are read from the kernel's BTF"
                                       : ""),
                       cast.loc, near);
  cast.type_origin = cast.cast_module == "kernel" ? "" : cast.cast_module;
  return finish_cast_access(cast,
                            types.resolve_access_path(*type, btf::AccessStart::Object, btf::access_components(cast),
                                                      cast.address_of),
                            only_probing, near);
}

// Resolves `var` against every concrete probe of `probe`. With wildcards the
// concrete probes must agree on where the variable lives: one BPF program
// body is generated per probe and shared by its concrete probes. Under
// @defined (`only_probing`) a variable a provider finds but cannot read as a
// value (a struct member without `&`) is "not defined" too, as in stap.
bool try_resolve_target(const Probe &probe, TargetVarExpr &var, bool only_probing = false) {
  bool first = true;
  TargetVarExpr reference(var.loc, var.name);
  for (const ResolvedProbe &rp : probe.resolved) {
    TargetVarExpr attempt(var.loc, var.name);
    for (const auto &c : var.components) attempt.components.push_back(TargetComponent{c.field, nullptr});
    attempt.address_of = var.address_of;
    bool found = false;
    try {
      found = rp.provider->resolve_target(rp, attempt);
    } catch (const CompileError &) {
      if (!only_probing) throw;
    }
    if (!found) return false;
    if (first) {
      reference.arg_index = attempt.arg_index;
      reference.steps = attempt.steps;
      reference.btf_type_id = attempt.btf_type_id;
      first = false;
    } else if (!same_resolution(reference, attempt)) {
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("target variable {} differs between the probe points {} and {}; "
                                     "write a separate probe for each",
                                     target_text(var), probe.resolved.front().name, rp.name),
                         var.loc, "");
    }
  }
  if (first) return false;
  var.resolved = true;
  var.arg_index = reference.arg_index;
  var.steps = reference.steps;
  var.btf_type_id = reference.btf_type_id;
  var.type = Type::Long;
  return true;
}

// A target variable the pretty-printer made may not be readable (a member of
// an unsupported kind): it then prints as "?".
ResolveTarget member_resolver(const Btf &types, const Probe &probe) {
  return [&types, &probe](TargetVarExpr &member) {
    try {
      return member.is_cast() ? resolve_cast(types, member, true) : try_resolve_target(probe, member);
    } catch (const CompileError &) {
      return false;
    }
  };
}

// $$vars and $$parms: stap's sprintf("parm1=%#x ... parmN=%#x", $parm1, ...)
// over the probe's context variables (a tracepoint's are all parameters; a
// value that cannot be read prints as `name=?`; stap's runtime writes the 0x
// of %#x even for 0, so it is "0x%x", which bpf_snprintf can format in kernel
// probes); $$vars$ and $$parms$ print
// each as $parm$ does. $$locals: tracepoints have no locals, so "". Null
// when the probe has no context to dump (user probes).
ExprPtr context_dump(const Btf &types, const Probe &probe, const TargetVarExpr &var, uint32_t string_limit) {
  if (probe.resolved.empty() || !probe.resolved.front().provider) return nullptr;
  const ResolvedProbe &first = probe.resolved.front();
  auto dumped = [](const ResolvedProbe &rp) {
    std::vector<std::string> context = rp.provider->describe_context(rp);
    // $$name (a .plt entry's) is text, not a variable to dump.
    std::erase_if(context, [](const std::string &described) { return described.rfind("$$", 0) == 0; });
    return context;
  };
  const std::vector<std::string> context = dumped(first);
  if (context.empty()) return nullptr;
  for (const ResolvedProbe &rp : probe.resolved)
    if (dumped(rp) != context)
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("{} differs between the probe points {} and {}; write a separate probe "
                                     "for each",
                                     target_text(var), first.name, rp.name),
                         var.loc, "");
  if (var.name == "$locals") return std::make_unique<StringExpr>(var.loc, "");
  if (var.pretty) {
    PrettyPrinter printer(types, member_resolver(types, probe), string_limit, var.loc);
    bool first = true;
    for (const std::string &described : context) {
      const std::string name = described.substr(1, described.find(':') - 1);
      printer.text((first ? "" : " ") + name + "=");
      first = false;
      if (!printer.value_of(TargetVarExpr(var.loc, name), var.pretty)) printer.text("?");
    }
    return printer.finish();
  }
  auto call = std::make_unique<CallExpr>(var.loc, "sprintf");
  call->args.push_back(nullptr);  // the format, once known
  std::string format;
  for (const std::string &described : context) {  // "$name:C type"
    const std::string name = described.substr(1, described.find(':') - 1);
    auto value = std::make_unique<TargetVarExpr>(var.loc, name);
    const bool readable = try_resolve_target(probe, *value);
    format += fmt::format("{}{}={}", format.empty() ? "" : " ", name, readable ? "0x%x" : "?");
    if (readable) call->args.push_back(std::move(value));
  }
  if (call->args.size() == 1) return std::make_unique<StringExpr>(var.loc, format);
  call->args[0] = std::make_unique<StringExpr>(var.loc, format);
  return call;
}

// The value of a condition that @defined folding left constant: a number,
// `!`/`-` of one, or `&&`/`||` of two. Anything else is decided at run time.
std::optional<int64_t> constant_condition(const Expr &e) {
  if (e.kind == ExprKind::Number) return cast<NumberExpr>(e).value;
  if (e.kind == ExprKind::Unary) {
    auto &u = cast<UnaryExpr>(e);
    auto v = constant_condition(*u.operand);
    if (!v) return std::nullopt;
    if (u.op == UnaryOp::Not) return *v == 0;
    if (u.op == UnaryOp::Neg) return -*v;
    return std::nullopt;
  }
  if (e.kind == ExprKind::Logical) {
    auto &l = cast<LogicalExpr>(e);
    auto a = constant_condition(*l.lhs), b = constant_condition(*l.rhs);
    if (!a || !b) return std::nullopt;
    return l.op == LogicalOp::And ? (*a && *b) : (*a || *b);
  }
  return std::nullopt;
}

// Whether a condition holds an @defined: only those are folded here, so
// `if (0)` and the like keep their ordinary checks.
bool mentions_defined(Expr &e) {
  if (e.kind == ExprKind::Defined) return true;
  bool found = false;
  for_each_child(e, [&](ExprPtr &c) { found = found || mentions_defined(*c); });
  return found;
}

// Whether `rp` is a tracepoint the script named through an alias whose name
// ends in `.return` (see TargetResolver::entry_value).
bool returns_through_tracepoint(const ResolvedProbe &rp) {
  constexpr std::string_view suffix = ".return";
  const std::string &named = rp.script_point;
  return rp.kind == ProbeKind::Tracepoint && named != rp.point && named.size() > suffix.size() &&
         named.compare(named.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class TargetResolver {
 public:
  TargetResolver(const Btf &types, const Program &program, const FunctionResultTypes &results, const Probe &probe,
                 uint32_t string_limit)
      : types_(types), probe_(probe), string_limit_(string_limit), autocast_(types, program, results) {}

  void resolve(ExprPtr &slot) {
    switch (slot->kind) {
      case ExprKind::Defined: {
        auto &d = cast<DefinedExpr>(*slot);
        bool defined = true;
        if (d.operand->kind == ExprKind::TargetVar) {
          auto &var = cast<TargetVarExpr>(*d.operand);
          if (procfs_value(var) || plt_name(var)) {
            defined = true;
          } else if (var.autocast) {
            for_each_child(var, [&](ExprPtr &c) { resolve(c); });
            defined = autocast_.resolve(var, true);
          } else {
            defined = var.is_cast() ? resolve_cast(types_, var, true) : try_resolve_target(probe_, var, true);
          }
        } else {
          // Any other expression is defined when every target variable it
          // still reads once its own @defined choices are folded resolves
          // (@defined(@choose_defined($a, $b)) is false when neither exists).
          try {
            resolve(d.operand);
            defined = !mentions_unresolved(*d.operand);
          } catch (const CompileError &) {
            defined = false;
          }
        }
        slot = std::make_unique<NumberExpr>(d.loc, defined ? 1 : 0);
        return;
      }
      case ExprKind::Ternary: {
        auto &t = cast<TernaryExpr>(*slot);
        const bool folds = mentions_defined(*t.cond);
        resolve(t.cond);
        if (auto value = folds ? constant_condition(*t.cond) : std::nullopt) {
          // `@defined(x) ? x : y` (what @choose_defined becomes): keep only the
          // chosen branch, so the other one (possibly an unavailable $var) is
          // never resolved.
          bool take_then = *value != 0;
          ExprPtr chosen = std::move(take_then ? t.then_expr : t.else_expr);
          slot = std::move(chosen);
          resolve(slot);
          return;
        }
        resolve(t.then_expr);
        resolve(t.else_expr);
        return;
      }
      case ExprKind::Logical: {
        // `@defined($x) && $x->m`: a right side the folded left side makes
        // unreachable is dropped unresolved, as stap drops it.
        auto &l = cast<LogicalExpr>(*slot);
        const bool folds = mentions_defined(*l.lhs);
        resolve(l.lhs);
        if (auto value = folds ? constant_condition(*l.lhs) : std::nullopt) {
          if ((l.op == LogicalOp::And) == (*value == 0)) {
            slot = std::make_unique<NumberExpr>(l.loc, l.op == LogicalOp::Or ? 1 : 0);
            return;
          }
        }
        resolve(l.rhs);
        return;
      }
      case ExprKind::TargetVar:
        // An expression that cannot be resolved keeps its error until the
        // elision passes have run (report_unresolved.cpp), as in stap.
        for_each_child(*slot, [&](ExprPtr &c) { resolve(c); });  // subscripts, @cast's pointer
        try {
          target(slot);
        } catch (const CompileError &error) {
          keep_error(slot, error);
        }
        return;
      case ExprKind::Assign:
        if (procfs_value(*cast<AssignExpr>(*slot).lhs)) {
          assign_procfs_value(cast<AssignExpr>(*slot));
          return;
        }
        refuse_write(*cast<AssignExpr>(*slot).lhs);
        for_each_child(*slot, [&](ExprPtr &c) { resolve(c); });
        autocast_.assigned(cast<AssignExpr>(*slot));
        return;
      case ExprKind::IncDec:
        refuse_write(*cast<IncDecExpr>(*slot).operand);
        for_each_child(*slot, [&](ExprPtr &c) { resolve(c); });
        return;
      case ExprKind::Call:
        if (ast::cast<ast::CallExpr>(*slot).name == "@entry") {
          entry_value(slot);
          return;
        }
        if (auto error = unavailable_operator_error(ast::cast<ast::CallExpr>(*slot))) {
          keep_error(slot, *error);
          return;
        }
        for_each_child(*slot, [&](ExprPtr &c) { resolve(c); });
        return;
      default:
        for_each_child(*slot, [&](ExprPtr &c) { resolve(c); });
    }
  }

 private:
  // A target variable, @cast or autocast whose operands are resolved.
  void target(ExprPtr &slot) {
    auto &var = cast<TargetVarExpr>(*slot);
    if (procfs_value(var)) {
      if (probe_.resolved.front().kind == ProbeKind::ProcfsRead)
        throw CompileError(ErrorKind::Semantic, "procfs $value variable cannot be read in a procfs read probe",
                           var.loc, "identifier '$value'");
      slot = std::make_unique<SymbolExpr>(var.loc, std::string(kProcfsValueGlobal));
      return;
    }
    if (plt_name(var)) {
      if (!var.components.empty() || var.address_of || var.pretty)
        throw CompileError(ErrorKind::Semantic,
                           "$$name is the name of the PLT entry's function, a string: it has no members, "
                           "elements or address",
                           var.loc, fmt::format("identifier '{}'", target_text(var)));
      slot = std::make_unique<CallExpr>(var.loc, "__plt_name");
      return;
    }
    if (var.autocast) {
      if (var.pretty && !var.address_of && pretty_print_autocast(slot)) return;
      autocast_.resolve(var);
      return;
    }
    if (var.pretty && var.address_of)
      throw CompileError(ErrorKind::Semantic, "cannot take the address of a pretty-printed value",
                         var.loc, fmt::format("identifier '{}'", target_text(var)));
    if (var.pretty && var.name != "$vars" && var.name != "$parms" && var.name != "$locals") {
      PrettyPrinter printer(types_, member_resolver(types_, probe_), string_limit_, var.loc);
      if (printer.value_of(var, var.pretty)) {
        slot = printer.finish();
        return;
      }
      var.pretty = 0;  // not readable: the plain variable's error says why
    }
    if (var.is_cast()) {
      resolve_cast(types_, var);
      return;
    }
    if (var.name == "$vars" || var.name == "$parms" || var.name == "$locals") {
      if (ExprPtr dump = context_dump(types_, probe_, var, string_limit_)) {
        slot = std::move(dump);
        return;
      }
    } else if (var.name == "$return") {
      // stap's "return=0x2a" (the %#x $$parms use) in a .return probe.
      auto value = std::make_unique<TargetVarExpr>(var.loc, "return");
      if (var.components.empty() && !var.pretty && try_resolve_target(probe_, *value)) {
        auto call = std::make_unique<CallExpr>(var.loc, "sprintf");
        call->args.push_back(std::make_unique<StringExpr>(var.loc, "return=0x%x"));
        call->args.push_back(std::move(value));
        slot = std::move(call);
        return;
      }
      throw CompileError(ErrorKind::Semantic, "$$return is only valid in .return probes", var.loc,
                         fmt::format("identifier '{}'", target_text(var)));
    }
    if (!try_resolve_target(probe_, var)) {
      std::string where = probe_.resolved.empty() ? "this probe" : probe_.resolved.front().name;
      throw CompileError(ErrorKind::Semantic,
                         fmt::format("unable to find target variable {} in {}", target_text(var), where),
                         var.loc, fmt::format("identifier '{}'", target_text(var)), target_hints(var));
    }
  }

  // $value of a procfs probe: the file's text, kept in a hidden string global
  // the runtime fills before a .write probe and reads after a .read probe.
  bool procfs_value(const Expr &e) const {
    if (e.kind != ExprKind::TargetVar || probe_.resolved.empty()) return false;
    const auto &var = cast<TargetVarExpr>(e);
    const ProbeKind kind = probe_.resolved.front().kind;
    return is_procfs(kind) && var.name == "value" &&
           var.components.empty() && !var.pretty && !var.is_cast() && !var.address_of;
  }

  // $$name in process(...).plt probes: the imported function whose entry
  // fired. One body serves every entry a pattern matches, so it becomes
  // __plt_name(), which each entry's program has as its own literal (stap
  // substitutes the name in each entry's copy of the body).
  bool plt_name(const TargetVarExpr &var) const {
    if (var.name != "$name" || var.is_cast() || probe_.resolved.empty()) return false;
    return std::all_of(probe_.resolved.begin(), probe_.resolved.end(),
                       [](const ResolvedProbe &rp) { return rp.plt_entry; });
  }

  // `$value = text` / `$value .= text` in a .read probe, as stap allows.
  void assign_procfs_value(AssignExpr &assign) {
    const Location at = assign.lhs->loc;
    if (probe_.resolved.front().kind == ProbeKind::ProcfsWrite)
      throw CompileError(ErrorKind::Semantic, "procfs $value variable is read-only in a procfs write probe", at,
                         "identifier '$value'");
    if (assign.op != AssignOp::Set && assign.op != AssignOp::Concat)
      throw CompileError(ErrorKind::Semantic,
                         "Only the following assign operators are implemented on procfs read target variables: "
                         "'=', '.='",
                         at, "identifier '$value'");
    assign.lhs = std::make_unique<SymbolExpr>(at, std::string(kProcfsValueGlobal));
    resolve(assign.rhs);
  }

  // `$var = ...` parses (as in stap) but a probe cannot change what it reads.
  static void refuse_write(const Expr &target) {
    if (target.kind != ExprKind::TargetVar) return;
    const auto &var = cast<TargetVarExpr>(target);
    throw CompileError(ErrorKind::Semantic,
                       "write to target variable not permitted: stap needs guru mode (-g) for it, which ntap does "
                       "not have (its BPF programs cannot write kernel memory)",
                       var.loc, fmt::format("identifier '{}'", target_text(var)));
  }

  // @entry(expr) left here (passes/entry_values.cpp stores the others at
  // the function's entry): a parameter in an fexit program, which sees the
  // parameters' values from entry, so @entry($param) is $param there.
  //
  // A tapset alias named `.return` on a tracepoint the kernel fires as a call
  // returns, with the call's arguments (tcp.sendmsg.return on
  // sock:sock_send_length), stands for that call's return: the tracepoint's
  // arguments are the values from entry, as an fexit program's parameters;
  // anything else (memory they point to, other expressions) would be read at
  // return, so it is an error rather than a value from the wrong time.
  // Outside a return probe @entry keeps its error, as an unresolvable
  // target variable does (report_unresolved.cpp).
  void entry_value(ExprPtr &slot) {
    auto &call = cast<CallExpr>(*slot);
    const std::string near = "operator '@entry'";
    bool fexit = !probe_.resolved.empty(), traced_return = !probe_.resolved.empty();
    for (const ResolvedProbe &rp : probe_.resolved) {
      fexit = fexit && rp.section.rfind("fexit/", 0) == 0;
      traced_return = traced_return && returns_through_tracepoint(rp);
    }
    if (!fexit && !traced_return) {
      for_each_child(call, [&](ExprPtr &c) { resolve(c); });
      keep_error(slot, CompileError(ErrorKind::Semantic, "@entry is only valid in .return probes", call.loc, near));
      return;
    }
    // Checked before the operand is taken out: after an error elaboration goes
    // on walking this call.
    auto *var = dyn_cast<TargetVarExpr>(*call.args.at(0));
    if (!var || var->is_cast() || !var->components.empty() || var->pretty || var->address_of ||
        var->name == "return" || var->name.front() == '$')
      throw CompileError(ErrorKind::Semantic,
                         "@entry takes a parameter ($name) here: the probe reads the call's arguments as they "
                         "were at entry, but memory they point to and other expressions would be read at return",
                         call.loc, near);
    ExprPtr operand = std::move(call.args.at(0));
    resolve(operand);
    slot = std::move(operand);
  }

  // What the first concrete probe lacking `var` suggests instead.
  std::vector<std::string> target_hints(const TargetVarExpr &var) const {
    for (const ResolvedProbe &rp : probe_.resolved)
      if (rp.provider)
        if (std::vector<std::string> hints = rp.provider->target_hints(rp, var); !hints.empty()) return hints;
    return {};
  }

  // `x->member$`: the printer's members are autocasts of the same operand.
  bool pretty_print_autocast(ExprPtr &slot) {
    auto &var = cast<TargetVarExpr>(*slot);
    auto probe = [this](TargetVarExpr &member) {
      try {
        return autocast_.resolve(member, true);
      } catch (const CompileError &) {
        return false;
      }
    };
    PrettyPrinter printer(types_, probe, string_limit_, var.loc);
    if (!printer.value_of(var, var.pretty)) return false;
    slot = printer.finish();
    return true;
  }

  const Btf &types_;
  const Probe &probe_;
  uint32_t string_limit_;
  AutocastScope autocast_;
};

// @defined(@cast(...)->member) in a function, folded to 0 or 1 before the
// function's casts are resolved, and what it guards folded with it: the
// untaken side of `?:`, `&&`, `||` and `if` is dropped unresolved, so
// `@choose_defined(@cast(t, "task_struct")->__state, @cast(t, ...)->state)`
// serves kernels with either member, as in probes (TargetResolver).
void fold_defined_casts(const Btf &types, const AutocastScope &scope, ExprPtr &slot) {
  if (auto *d = dyn_cast<DefinedExpr>(*slot)) {
    auto *var = dyn_cast<TargetVarExpr>(*d->operand);
    if (!var) {
      // Another expression: defined unless, its own choices folded, it
      // still reads a $variable (which a function never has).
      fold_defined_casts(types, scope, d->operand);
      bool reads_context = false;
      walk_exprs(d->operand, [&](ExprPtr &e) {
        if (auto *inner = dyn_cast<TargetVarExpr>(*e)) reads_context = reads_context || !inner->is_cast();
      });
      slot = std::make_unique<NumberExpr>(d->loc, reads_context || mentions_unresolved(*d->operand) ? 0 : 1);
      return;
    }
    // A function has no probe context: none of its $variables is defined.
    if (!var->is_cast()) {
      slot = std::make_unique<NumberExpr>(d->loc, 0);
      return;
    }
    // An autocast of a local depends on the assignments before it (the
    // function's walk below); one of a call or a cast does not.
    if (var->autocast && var->cast_operand->kind == ExprKind::Symbol) return;
    for_each_child(*var, [&](ExprPtr &c) { fold_defined_casts(types, scope, c); });
    const bool defined = var->autocast ? scope.resolve(*var, true) : resolve_cast(types, *var, true);
    slot = std::make_unique<NumberExpr>(d->loc, defined ? 1 : 0);
    return;
  }
  ExprPtr *cond = nullptr;
  if (auto *t = dyn_cast<TernaryExpr>(*slot)) cond = &t->cond;
  if (auto *l = dyn_cast<LogicalExpr>(*slot)) cond = &l->lhs;
  if (!cond) {
    for_each_child(*slot, [&](ExprPtr &c) { fold_defined_casts(types, scope, c); });
    return;
  }
  const bool folds = mentions_defined(**cond);
  fold_defined_casts(types, scope, *cond);
  auto value = folds ? constant_condition(**cond) : std::nullopt;
  if (value) {
    if (auto *t = dyn_cast<TernaryExpr>(*slot)) {
      ExprPtr chosen = std::move(*value ? t->then_expr : t->else_expr);
      slot = std::move(chosen);
      fold_defined_casts(types, scope, slot);
      return;
    }
    auto &l = cast<LogicalExpr>(*slot);
    if ((l.op == LogicalOp::And) == (*value == 0)) {
      slot = std::make_unique<NumberExpr>(l.loc, l.op == LogicalOp::Or ? 1 : 0);
      return;
    }
  }
  for_each_child(*slot, [&](ExprPtr &c) {
    if (&c != cond) fold_defined_casts(types, scope, c);
  });
}

void fold_defined_casts(const Btf &types, const AutocastScope &scope, StmtPtr &slot, Diagnostics &diagnostics) {
  if (auto *branch = dyn_cast<IfStmt>(*slot)) {
    const bool folds = mentions_defined(*branch->cond);
    if (!diagnostics.guard([&] { fold_defined_casts(types, scope, branch->cond); })) return;
    if (auto value = folds ? constant_condition(*branch->cond) : std::nullopt) {
      StmtPtr taken = std::move(*value ? branch->then_stmt : branch->else_stmt);
      slot = taken ? std::move(taken) : StmtPtr(std::make_unique<BlockStmt>(branch->loc));
      fold_defined_casts(types, scope, slot, diagnostics);
      return;
    }
  } else {
    for_each_expr(*slot, [&](ExprPtr &e) { diagnostics.guard([&] { fold_defined_casts(types, scope, e); }); });
  }
  for_each_child(*slot, [&](StmtPtr &child) {
    if (child) fold_defined_casts(types, scope, child, diagnostics);
  });
}

// A function may use @cast and autocast (they need no probe context); its
// target variables are rejected by type inference, @entry by
// reject_entry_in_functions. A cast that cannot be resolved keeps its error
// until the elision passes have run, as in probes. What each
// function returns, when of one kernel type, is noted for autocasts of its
// calls (functions in declaration order).
FunctionResultTypes resolve_function_casts(PassContext &ctx) {
  const Btf &types = ctx.kernel.btf();
  FunctionResultTypes results;
  for (auto &function : ctx.program.functions) {
    AutocastScope scope(types, ctx.program, results);
    for_each_child(*function->body, [&](StmtPtr &child) { fold_defined_casts(types, scope, child, ctx.diagnostics); });
    walk_exprs(*function->body, [&](ExprPtr &e) {
      try {
        if (auto *var = dyn_cast<TargetVarExpr>(*e); var && var->autocast)
          scope.resolve(*var);
        else if (var && var->is_cast())
          resolve_cast(types, *var);
        else if (auto *assign = dyn_cast<AssignExpr>(*e))
          scope.assigned(*assign);
        else if (auto *call = dyn_cast<CallExpr>(*e))
          if (auto error = unavailable_operator_error(*call)) throw *error;
      } catch (const CompileError &error) {
        keep_error(e, error);
      }
    });
    if (auto type = function_result_type(*function, scope)) results[function.get()] = *type;
  }
  return results;
}

// The task_struct paths of the process builtins kernel probes may call
// (ast::Program::task_paths), for each one the script names.
void resolve_task_paths(const Btf &types, Program &program) {
  static const std::map<std::string, std::vector<std::string>> kPaths = {
      {"ppid", {"real_parent", "tgid"}},
      {"pexecname", {"real_parent", "comm"}},  // an array: its address
      {"euid", {"cred", "euid", "val"}},
      {"egid", {"cred", "egid", "val"}},
      // perf probes' .process("PATH"): the executable file's inode and device.
      {"exe_inode", {"mm", "exe_file", "f_inode", "i_ino"}},
      {"exe_dev", {"mm", "exe_file", "f_inode", "i_sb", "s_dev"}},
      // System call probes: whether the call came through the 32-bit entry
      // (ResolvedProbe::native_calls_only).
      {"syscall_status", {"thread_info", "status"}},
      // cmdline_args/cmdline_arg/cmdline_str: where the arguments are.
      {"arg_start", {"mm", "arg_start"}},
      {"arg_end", {"mm", "arg_end"}},
  };
  std::set<std::string> named;
  auto collect = [&](Stmt &body) {
    walk_exprs(body, [&](ExprPtr &e) {
      if (e->kind != ExprKind::Call) return;
      const std::string &name = cast<CallExpr>(*e).name;
      if (kPaths.count(name)) named.insert(name);
      if (name == "cmdline_args" || name == "cmdline_arg" || name == "cmdline_str") named.insert({"arg_start", "arg_end"});
    });
  };
  for (auto &probe : program.probes) {
    collect(*probe->body);
    for (const ResolvedProbe &rp : probe->resolved)
      if (rp.exe_inode) named.insert({"exe_inode", "exe_dev"});
    for (const ResolvedProbe &rp : probe->resolved)
      if (rp.native_calls_only) named.insert("syscall_status");
  }
  for (auto &function : program.functions) collect(*function->body);
  if (named.empty() || !types.handle()) return;
  std::optional<uint32_t> task = types.find_composite_type("task_struct");
  if (!task) return;
  for (const std::string &name : named) {
    std::vector<btf::AccessComponent> components;
    for (const std::string &field : kPaths.at(name)) components.push_back({field, false});
    btf::AccessResult access = types.resolve_access_path(*task, btf::AccessStart::Object, components, false);
    if (access.path) program.task_paths[name] = std::move(access.path->steps);
  }
}

// The hidden global behind $value, when a procfs probe exists.
void declare_procfs_value(Program &program) {
  const bool procfs = std::any_of(program.probes.begin(), program.probes.end(), [](const auto &probe) {
    return std::any_of(probe->resolved.begin(), probe->resolved.end(),
                       [](const ResolvedProbe &rp) { return is_procfs(rp.kind); });
  });
  if (!procfs || program.find_global(std::string(kProcfsValueGlobal))) return;
  // One text per read: stap allows one .read probe per file. $value's rules
  // differ between .read and .write, so one probe body serves only one kind.
  std::set<std::string> read_files;
  for (const auto &probe : program.probes)
    for (const ResolvedProbe &rp : probe->resolved) {
      const ProbeKind first = probe->resolved.front().kind;
      if ((is_procfs(rp.kind) || is_procfs(first)) && rp.kind != first)
        throw CompileError(ErrorKind::Semantic,
                           fmt::format("{} and {} are in one probe: $value differs between procfs .read and .write "
                                       "probes (and other probes have none); write a separate probe for each",
                                       probe->resolved.front().name, rp.name),
                           probe->loc);
      if (rp.kind == ProbeKind::ProcfsRead && !read_files.insert(rp.binary).second)
        throw CompileError(ErrorKind::Semantic,
                           fmt::format("only one read procfs probe can exist for procfs path \"{}\"", rp.binary),
                           probe->loc);
    }
  auto value = std::make_unique<Global>();
  value->name = kProcfsValueGlobal;
  value->from_tapset = true;  // not the script's: never shown at exit
  value->value_type = Type::String;
  value->id = static_cast<uint32_t>(program.globals.size());
  program.globals.push_back(std::move(value));
}

// Resolves the target variables of a statement and those below it. An `if`
// whose condition @defined folding made constant is replaced by the branch it
// takes, and the other branch is never resolved: `if (@defined($req)) ...
// else $skb->len` compiles where only one of them exists, as in stap.
void resolve_statement(StmtPtr &slot, TargetResolver &resolver, Diagnostics &diagnostics) {
  if (slot->kind == StmtKind::If) {
    auto &branch = cast<IfStmt>(*slot);
    const bool folds = mentions_defined(*branch.cond);
    if (!diagnostics.guard([&] { resolver.resolve(branch.cond); })) return;
    if (auto value = folds ? constant_condition(*branch.cond) : std::nullopt) {
      StmtPtr taken = std::move(*value ? branch.then_stmt : branch.else_stmt);
      slot = taken ? std::move(taken) : StmtPtr(std::make_unique<BlockStmt>(branch.loc));
      resolve_statement(slot, resolver, diagnostics);
      return;
    }
  } else {
    for_each_expr(*slot, [&](ExprPtr &e) { diagnostics.guard([&] { resolver.resolve(e); }); });
  }
  for_each_child(*slot, [&](StmtPtr &child) {
    if (child) resolve_statement(child, resolver, diagnostics);
  });
}

}  // namespace

void resolve_probes(PassContext &ctx) {
  auto &probes = ctx.program.probes;
  Diagnostics &diagnostics = ctx.diagnostics;
  const Btf &types = ctx.kernel.btf();
  std::vector<std::unique_ptr<Probe>> entry_probes;  // stores of @entry values
  size_t total = 0;
  const FunctionResultTypes results = resolve_function_casts(ctx);
  for (size_t i = 0; i < probes.size(); ++i) {
    Probe &probe = *probes[i];
    // (A probe split off an earlier one by context comes resolved.)
    if (probe.resolved.empty()) resolve_points(ctx.kernel, probe, total, ctx.options.max_probes, diagnostics);
    // pn(): the alias the script used, else the point as the provider names
    // it for pn() (a .plt entry by its function), else pp()'s.
    for (ResolvedProbe &rp : probe.resolved)
      rp.script_point = !probe.alias_point.empty() ? probe.alias_point
                        : rp.script_point.empty()  ? rp.point
                                                   : rp.script_point;
    if (probe.resolved.empty()) continue;  // every point optional and unmatched (or in error)
    if (!diagnostics.guard([&] {
          choose_contexts(probe);
          size_t at = i + 1;
          for (auto &other : split_by_context(probe)) probes.insert(probes.begin() + at++, std::move(other));
          if (auto entry = split_entry_values(ctx.program, probe, i)) entry_probes.push_back(std::move(entry));
        }))
      continue;
    TargetResolver resolver(types, ctx.program, results, probe, ctx.options.string_limit);
    for_each_child(*probe.body, [&](StmtPtr &child) { resolve_statement(child, resolver, diagnostics); });
  }
  for (auto &entry : entry_probes) {
    TargetResolver resolver(types, ctx.program, results, *entry, ctx.options.string_limit);
    walk_stmts(*entry->body, [&](Stmt &s) { for_each_expr(s, [&](ExprPtr &e) { resolver.resolve(e); }); });
    probes.push_back(std::move(entry));
  }
  reject_entry_in_functions(ctx.program);
  declare_procfs_value(ctx.program);
  resolve_task_paths(types, ctx.program);
  // Probes whose optional points matched nothing are dropped, as stap does.
  std::erase_if(probes, [](const std::unique_ptr<Probe> &p) { return p->resolved.empty(); });
  for (uint32_t i = 0; i < probes.size(); ++i) probes[i]->id = i;
}

}  // namespace ntap
