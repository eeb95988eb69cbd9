#include "passes/split_contexts.h"

#include <map>
#include <string>
#include <utility>

#include "frontend/clone.h"
#include "frontend/walk.h"
#include "kernel/providers/provider.h"

namespace ntap {

using namespace ast;

namespace {

bool reads_context(BlockStmt &body) {
  bool reads = false;
  walk_exprs(body, [&](ExprPtr &e) {
    reads = reads || (e->kind == ExprKind::TargetVar && !cast<TargetVarExpr>(*e).is_cast());
  });
  return reads;
}

}  // namespace

std::vector<std::unique_ptr<Probe>> split_by_context(Probe &probe) {
  std::vector<std::unique_ptr<Probe>> others;
  if (probe.resolved.size() < 2 || !reads_context(*probe.body)) return others;
  using Context = std::pair<const Provider *, std::vector<std::string>>;
  std::vector<Context> order;
  std::map<Context, std::vector<ResolvedProbe>> groups;
  for (ResolvedProbe &rp : probe.resolved) {
    Context context{rp.provider, rp.provider ? rp.provider->describe_context(rp) : std::vector<std::string>{}};
    // A process probe's variables live where the compiler put them at its
    // address (two inlined copies of one function, or two functions with
    // the same parameters, keep them in different registers): one body each.
    if (rp.kind == ProbeKind::Uprobe) context.second.push_back(rp.binary + "@" + std::to_string(rp.address));
    auto [group, added] = groups.try_emplace(context);
    if (added) order.push_back(context);
    group->second.push_back(std::move(rp));
  }
  probe.resolved = std::move(groups[order.front()]);
  for (size_t g = 1; g < order.size(); ++g) {
    auto copy = std::make_unique<Probe>();
    copy->loc = probe.loc;
    copy->points = probe.points;
    copy->body = clone_block(*probe.body);
    if (probe.condition) copy->condition = clone_expr(*probe.condition);
    copy->alias_point = probe.alias_point;
    copy->resolved = std::move(groups[order[g]]);
    others.push_back(std::move(copy));
  }
  return others;
}

}  // namespace ntap
