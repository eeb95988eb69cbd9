// The errors of target expressions elaboration could not resolve, reported
// once the elision passes have run, as stap reports them.
//
// stap does not refuse `$such` in a begin probe, an autocast of a value
// with no type or an @var where it is written: the expression keeps the
// error (stap's saved_conversion_error), and its optimizer drops statements
// without effect and assignments no one reads before type resolution asks
// the expression for its value. Only an expression that survives is an
// error, with its own message and location; `probe begin { $such }` is
// nothing to complain about, and @defined of it is 0. Under -u nothing is
// elided, so every one is reported.
#include "passes/unresolved.h"

#include "frontend/walk.h"
#include "passes/passes.h"

namespace ntap {

using namespace ast;

namespace {

struct UnavailableAtOperator {
  const char *name;
  const char *reason;
};

// Why each operator cannot work here (see docs/langref.md, "@-operators").
constexpr UnavailableAtOperator kUnavailable[] = {
    {"@var",
     "@var names a kernel variable through DWARF debuginfo; ntap reads kernel types from BTF, which has "
     "no addresses for global variables, so @var is not available"},
    {"@const",
     "@const evaluates a C macro or constant from kernel headers with the C compiler; ntap compiles no C, "
     "so @const is not available"},
    {"@probewrite",
     "@probewrite is SystemTap's test for whether a probe writes a variable, used by its own tapsets; "
     "ntap does not provide it"},
};

// The pieces of a target expression that compute something of their own.
void take_operands(TargetVarExpr &var, std::vector<ExprPtr> &operands) {
  if (var.cast_operand) operands.push_back(std::move(var.cast_operand));
  for (TargetComponent &c : var.components)
    if (c.index) operands.push_back(std::move(c.index));
}

}  // namespace

std::optional<CompileError> unavailable_operator_error(const CallExpr &call) {
  for (const auto &op : kUnavailable)
    if (call.name == op.name)
      return CompileError(ErrorKind::Semantic, op.reason, call.loc, "operator '" + call.name + "'");
  return std::nullopt;
}

void keep_error(ExprPtr &slot, const CompileError &error) {
  if (auto *var = dyn_cast<TargetVarExpr>(*slot)) {
    const CompileError *why = &error;
    if (var->autocast && var->cast_operand && var->cast_operand->kind == ExprKind::Unresolved)
      why = &cast<UnresolvedExpr>(*var->cast_operand).error;
    auto unresolved = std::make_unique<UnresolvedExpr>(var->loc, *why, target_text(*var));
    take_operands(*var, unresolved->operands);
    slot = std::move(unresolved);
    return;
  }
  // An @-operator's arguments (@entry's expression; @var's names, which
  // compute nothing) stay for what they compute.
  std::string text = "(...)";
  std::vector<ExprPtr> operands;
  if (auto *call = dyn_cast<CallExpr>(*slot)) {
    text = call->name + "(...)";
    operands = std::move(call->args);
  }
  auto unresolved = std::make_unique<UnresolvedExpr>(slot->loc, error, std::move(text));
  unresolved->operands = std::move(operands);
  slot = std::move(unresolved);
}

bool mentions_unresolved(Expr &e) {
  if (e.kind == ExprKind::Unresolved) return true;
  if (auto *call = dyn_cast<CallExpr>(e); call && unavailable_operator_error(*call)) return true;
  bool found = false;
  for_each_child(e, [&](ExprPtr &c) { found = found || mentions_unresolved(*c); });
  return found;
}

void report_unresolved(PassContext &ctx) {
  auto report = [&](Stmt &body) {
    walk_exprs(body, [&](ExprPtr &e) {
      auto *unresolved = dyn_cast<UnresolvedExpr>(*e);
      if (!unresolved) return;
      if (!ctx.options.skip_badvars) {
        ctx.diagnostics.report(unresolved->error);
        return;
      }
      // stap's --skip-badvars: the expression reads 0, with its warning
      // (what its subscripts computed is dropped with it, as in stap).
      warn(unresolved->loc, "Bad $context variable being substituted with literal 0");
      e = std::make_unique<NumberExpr>(unresolved->loc, 0);
    });
  };
  for (auto &probe : ctx.program.probes) report(*probe->body);
  for (auto &function : ctx.program.functions) report(*function->body);
}

}  // namespace ntap
