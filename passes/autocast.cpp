// stap's autocast (see autocast.h).
#include "passes/autocast.h"

#include <fmt/format.h>

#include "frontend/diagnostics.h"
#include "frontend/walk.h"

namespace ntap {

using namespace ast;

bool AutocastScope::program_has_function(const std::string &name) const {
  for (const auto &f : program_.functions)
    if (f->name == name) return true;
  return false;
}

std::optional<KernelValueType> AutocastScope::type_of(const Expr &e) const {
  switch (e.kind) {
    case ExprKind::TargetVar: {
      const auto &var = cast<TargetVarExpr>(e);
      if (!var.resolved || var.pretty || var.btf_type_id == 0) return std::nullopt;
      // &$x->m and an array member are the address of an object of that
      // type; anything else is a value of it (a pointer, to be useful).
      const bool object = var.address_of || !types_.scalar_shape(var.btf_type_id);
      return KernelValueType{var.btf_type_id, object ? btf::AccessStart::Object : btf::AccessStart::Value,
                             var.type_origin};
    }
    case ExprKind::Symbol: {
      const auto &sym = cast<SymbolExpr>(e);
      if (program_.find_global(sym.name, sym.loc.file)) return std::nullopt;  // globals are plain longs
      auto found = locals_.find(sym.name);
      return found == locals_.end() ? std::nullopt : found->second;
    }
    case ExprKind::Assign: {
      const auto &assign = cast<AssignExpr>(e);
      return assign.op == AssignOp::Set ? type_of(*assign.rhs) : std::nullopt;
    }
    case ExprKind::Ternary: {
      const auto &t = cast<TernaryExpr>(e);
      auto then_type = type_of(*t.then_expr), else_type = type_of(*t.else_expr);
      return then_type == else_type ? then_type : std::nullopt;
    }
    case ExprKind::Call: {
      const auto &call = cast<CallExpr>(e);
      // stap's task_current() returns @task(...): a task_struct.
      if (call.name == "task_current" && call.args.empty() && !program_has_function(call.name))
        if (std::optional<uint32_t> task = types_.handle() ? types_.find_composite_type("task_struct") : std::nullopt)
          return KernelValueType{*task, btf::AccessStart::Object, ""};
      for (const auto &f : program_.functions)
        if (f->name == call.name && f->params.size() == call.args.size())
          if (auto found = results_.find(f.get()); found != results_.end()) return found->second;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

void AutocastScope::assigned(const AssignExpr &assign) {
  if (assign.lhs->kind != ExprKind::Symbol) return;
  const auto &sym = cast<SymbolExpr>(*assign.lhs);
  if (program_.find_global(sym.name, sym.loc.file)) return;
  std::optional<KernelValueType> type = assign.op == AssignOp::Set ? type_of(*assign.rhs) : std::nullopt;
  auto [it, fresh] = locals_.emplace(sym.name, type);
  if (!fresh && it->second != type) it->second = std::nullopt;
}

bool AutocastScope::resolve(TargetVarExpr &var, bool only_probing) const {
  const std::string near = fmt::format("operator '->'");
  if (var.components.empty())  // `&x`, `&(expr)` (autocast.h)
    throw CompileError(ErrorKind::Semantic,
                       "'&' takes the address of a member: &$var->field, &@cast(p, \"type\")->field or &x->field",
                       var.loc, "operator '&'");
  std::optional<KernelValueType> operand = type_of(*var.cast_operand);
  if (!operand) {
    if (only_probing) return false;
    throw CompileError(ErrorKind::Semantic,
                       fmt::format("{}: the value has no known kernel type (autocast follows target variables, "
                                   "@cast, their members, and locals and functions given only those)",
                                   target_text(var)),
                       var.loc, near, {"name the type: @cast(value, \"struct_name\")->member"});
  }
  if (var.pretty)
    throw CompileError(ErrorKind::Semantic,
                       "pretty-printing ($) a member reached by autocast is not supported in a function",
                       var.loc, near, {"name the type: @cast(value, \"struct_name\")->member$"});
  var.type_origin = operand->origin;
  return finish_cast_access(
      var, types_.resolve_access_path(operand->type_id, operand->start, btf::access_components(var), var.address_of),
      only_probing, near);
}

bool finish_cast_access(TargetVarExpr &var, btf::AccessResult &&access, bool only_probing, const std::string &near) {
  if (access.error && only_probing) return false;
  if (access.error)
    throw CompileError(ErrorKind::Semantic, access.error->message, var.loc, near,
                       btf::field_hints(*access.error, false));
  Btf::take_access_path(var, std::move(*access.path));
  return true;
}

std::optional<KernelValueType> function_result_type(const Function &function, const AutocastScope &scope) {
  std::optional<KernelValueType> result;
  bool first = true, typed = true;
  walk_stmts(*function.body, [&](Stmt &s) {
    if (s.kind != StmtKind::Return || !typed) return;
    const auto &ret = cast<ReturnStmt>(s);
    std::optional<KernelValueType> type = ret.value ? scope.type_of(*ret.value) : std::nullopt;
    if (!type || (!first && type != result)) typed = false;
    result = type;
    first = false;
  });
  return typed && !first ? result : std::nullopt;
}

}  // namespace ntap
