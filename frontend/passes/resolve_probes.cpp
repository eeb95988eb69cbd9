// Probe points → concrete probes, through the providers; $target variables
// resolved against the probe's context; @defined / @choose_defined folded.
//
// Folding happens here, before anything else looks at the body, because a
// target variable a probe does not have is only an error when it is used
// outside @defined: `@choose_defined($reason, 0)` must compile on kernels
// whose kfree_skb tracepoint has no `reason` argument.
#include <fmt/format.h>

#include "frontend/passes/passes.h"
#include "frontend/walk.h"
#include "runtime/providers/provider.h"

namespace ntap {
namespace {

using namespace ast;

const Provider *find_provider(const ProbePoint &point) {
  for (const Provider *p : all_providers())
    if (p->handles(point)) return p;
  return nullptr;
}

bool same_resolution(const TargetVarExpr &a, const TargetVarExpr &b) {
  return a.arg_index == b.arg_index && a.offsets == b.offsets && a.final_size == b.final_size &&
         a.final_signed == b.final_signed;
}

std::string target_text(const TargetVarExpr &var) {
  std::string s = "$" + var.name;
  for (const auto &f : var.fields) s += "->" + f;
  return s;
}

// Resolves `var` against every concrete probe of `probe`. With wildcards the
// concrete probes must agree on where the variable lives: one BPF program
// body is generated per probe and shared by its concrete probes.
bool try_resolve_target(const Probe &probe, TargetVarExpr &var) {
  bool first = true;
  TargetVarExpr reference(var.loc, var.name);
  for (const ResolvedProbe &rp : probe.resolved) {
    TargetVarExpr attempt(var.loc, var.name);
    attempt.fields = var.fields;
    if (!rp.provider->resolve_target(rp, attempt)) return false;
    if (first) {
      reference.arg_index = attempt.arg_index;
      reference.offsets = attempt.offsets;
      reference.final_size = attempt.final_size;
      reference.final_signed = attempt.final_signed;
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
  var.offsets = reference.offsets;
  var.final_size = reference.final_size;
  var.final_signed = reference.final_signed;
  var.type = Type::Long;
  return true;
}

class TargetResolver {
 public:
  explicit TargetResolver(const Probe &probe) : probe_(probe) {}

  void resolve(ExprPtr &slot) {
    switch (slot->kind) {
      case ExprKind::Defined: {
        auto &d = static_cast<DefinedExpr &>(*slot);
        bool defined = true;
        if (d.operand->kind == ExprKind::TargetVar)
          defined = try_resolve_target(probe_, static_cast<TargetVarExpr &>(*d.operand));
        slot = std::make_unique<NumberExpr>(d.loc, defined ? 1 : 0);
        return;
      }
      case ExprKind::Ternary: {
        auto &t = static_cast<TernaryExpr &>(*slot);
        bool tests_defined = t.cond->kind == ExprKind::Defined;
        resolve(t.cond);
        if (tests_defined) {
          // `@defined(x) ? x : y` (what @choose_defined becomes): keep only the
          // chosen branch, so the other one (possibly an unavailable $var) is
          // never resolved.
          bool take_then = static_cast<NumberExpr &>(*t.cond).value != 0;
          ExprPtr chosen = std::move(take_then ? t.then_expr : t.else_expr);
          slot = std::move(chosen);
          resolve(slot);
          return;
        }
        resolve(t.then_expr);
        resolve(t.else_expr);
        return;
      }
      case ExprKind::TargetVar: {
        auto &var = static_cast<TargetVarExpr &>(*slot);
        if (!try_resolve_target(probe_, var)) {
          std::string where = probe_.resolved.empty() ? "this probe" : probe_.resolved.front().name;
          throw CompileError(ErrorKind::Semantic,
                             fmt::format("unable to find target variable {} in {}", target_text(var), where),
                             var.loc, fmt::format("identifier '{}'", target_text(var)));
        }
        return;
      }
      default:
        for_each_child(*slot, [&](ExprPtr &c) { resolve(c); });
    }
  }

 private:
  const Probe &probe_;
};

// The concrete probes of one written point; a point with wildcard components
// first becomes the provider points it matches.
std::vector<ResolvedProbe> resolve_point(const ProbePoint &point) {
  if (has_component_wildcard(point)) {
    std::vector<ResolvedProbe> found;
    for (const ProbePoint &concrete : expand_component_wildcards(point))
      for (auto &rp : resolve_point(concrete)) found.push_back(std::move(rp));
    return found;
  }
  const Provider *provider = find_provider(point);
  if (!provider)
    throw CompileError(ErrorKind::Probe, "unknown probe point family", point.loc,
                       fmt::format("probe point '{}'", point.str()));
  std::vector<ResolvedProbe> found = provider->resolve(point);
  for (auto &rp : found) {
    rp.provider = provider;
    // A provider that does not spell its points for pp() gets its concrete name.
    if (rp.point.empty()) rp.point = rp.name;
  }
  return found;
}

void resolve_points(Probe &probe) {
  for (const ProbePoint &point : probe.points) {
    std::vector<ResolvedProbe> found = resolve_point(point);
    if (found.empty() && !point.optional)
      throw CompileError(ErrorKind::Probe, "no match for probe point", point.loc,
                         fmt::format("probe point '{}'", point.str()));
    for (auto &rp : found) probe.resolved.push_back(std::move(rp));
    if (point.sufficient && !found.empty()) break;  // `!`: the rest of the points are alternatives
  }
}

}  // namespace

void resolve_probes(PassContext &ctx) {
  auto &probes = ctx.program.probes;
  for (auto &probe : probes) {
    resolve_points(*probe);
    if (probe->resolved.empty()) continue;  // every point optional and unmatched
    TargetResolver resolver(*probe);
    walk_stmts(*probe->body, [&](Stmt &s) { for_each_expr(s, [&](ExprPtr &e) { resolver.resolve(e); }); });
  }
  // Probes whose optional points matched nothing are dropped, as stap does.
  std::erase_if(probes, [](const std::unique_ptr<Probe> &p) { return p->resolved.empty(); });
  for (uint32_t i = 0; i < probes.size(); ++i) probes[i]->id = i;
}

}  // namespace ntap
