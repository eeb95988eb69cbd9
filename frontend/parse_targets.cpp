// Target variables ($skb->dev->name, $arr[i]), @cast, the address-of
// operator, and the @-operators of SystemTap that need something ntap's
// kernel side does not have (DWARF, C headers).
#include "frontend/ast_builder.h"

namespace ntap::parsing {

namespace {

// `$x$`, `$x$$`, `$x->y$`, `$$parms$`: the trailing `$`s of the last name are
// the pretty-printing depth, not part of the name.
void take_pretty_suffix(TargetVarExpr &target) {
  std::string &last = target.components.empty() ? target.name : target.components.back().field;
  if (!target.components.empty() && target.components.back().is_subscript()) return;
  size_t suffix = 0;
  while (suffix < 2 && last.size() > suffix + 1 && last[last.size() - 1 - suffix] == '$') ++suffix;
  target.pretty = static_cast<int>(suffix);
  last.resize(last.size() - suffix);
}

}  // namespace

// `->field` and `[index]` nodes from children[first] on.
void AstBuilder::target_components(const Node &n, size_t first, TargetVarExpr &target) {
  for (size_t i = first; i < n.children.size(); ++i) {
    const Node &c = *n.children[i];
    if (c.is_type<g::cast_pretty_text>()) {
      target.pretty = static_cast<int>(text(c).size());
      return;
    }
    TargetComponent component;
    if (c.is_type<g::target_subscript>())
      component.index = expr(*c.children[0]);
    else
      component.field = text(c);
    target.components.push_back(std::move(component));
  }
  take_pretty_suffix(target);
}

ExprPtr AstBuilder::target_var(const Node &n) {
  auto target = std::make_unique<TargetVarExpr>(loc(n), text(*n.children[0]).substr(1));
  target_components(n, 1, *target);
  return target;
}

// @cast(pointer, "type"[, "module"]) then its components. stap spells the
// type "sk_buff", "struct sk_buff" or "kernel<linux/skbuff.h>:struct sk_buff";
// the spelling is kept as written and resolved against BTF later.
ExprPtr AstBuilder::cast_expr(const Node &n) {
  auto target = std::make_unique<TargetVarExpr>(loc(n), "");
  const auto &c = n.children;
  target->cast_operand = expr(*c[0]);
  target->cast_type = string_value(*c[1]);
  size_t next = 2;
  if (next < c.size() && c[next]->is_type<g::cast_type>()) target->cast_module = string_value(*c[next++]);
  if (next < c.size() && c[next]->is_type<g::cast_pretty_text>()) {
    target->pretty = static_cast<int>(text(*c[next]).size());
    return target;
  }
  target_components(n, next, *target);
  return target;
}

// (expr)->f, x->f: a cast of `operand` to the type its value carries (stap's
// autocast), with the member nodes of `members` from children[first] on.
ExprPtr AstBuilder::autocast(const Node &n, ExprPtr operand, const Node &members, size_t first) {
  auto target = std::make_unique<TargetVarExpr>(loc(n), "");
  target->cast_operand = std::move(operand);
  target->autocast = true;
  target_components(members, first, *target);
  return target;
}

// `&x`, `&(expr)` parse, as in stap, and are refused in elaboration (an
// autocast without members): '&' takes the address of a member.
ExprPtr AstBuilder::address_of(const Node &n) {
  ExprPtr operand = expr(*n.children[0]);
  if (operand->kind != ExprKind::TargetVar) {
    auto plain = std::make_unique<TargetVarExpr>(loc(n), "");
    plain->cast_operand = std::move(operand);
    plain->autocast = true;
    operand = std::move(plain);
  }
  auto &target = cast<TargetVarExpr>(*operand);
  if (target.components.empty() && !target.is_cast())
    fail(n, "cannot take the address of a context argument: it is not in memory");
  target.address_of = true;
  target.loc = loc(n);
  return operand;
}

// @var, @const and @probewrite parse as stap parses them, as a call of the
// operator: ntap cannot evaluate them (see docs/langref.md, "@-operators"),
// but stap reports an unresolvable @var only where the optimizer keeps it,
// and @defined of one is 0; elaboration decides (passes/report_unresolved.cpp).
bool AstBuilder::is_unavailable_at_operator(const std::string &name) {
  return name == "@var" || name == "@const" || name == "@probewrite";
}

ExprPtr AstBuilder::unavailable_at_operator(const Node &n, const std::string &name) {
  auto call = std::make_unique<CallExpr>(loc(n), name);
  for (size_t i = 1; i < n.children.size(); ++i) call->args.push_back(expr(*n.children[i]));
  return call;
}

}  // namespace ntap::parsing
