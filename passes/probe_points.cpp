#include "passes/probe_points.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "frontend/walk.h"
#include "kernel/privileges.h"
#include "kernel/providers/families.h"
#include "kernel/providers/provider.h"

namespace ntap {

using namespace ast;

namespace {

// For a point no provider handles: the point shape named most like it and
// the list of families.
std::vector<std::string> family_hints(const ProviderIndex &providers, const ProbePoint &point) {
  std::string written;
  for (const auto &c : point.components) written += (written.empty() ? "" : ".") + c.name;
  std::vector<std::string> shapes, families;
  std::map<std::string, std::string> spelled;  // "timer.ms" -> "timer.ms(N)"
  for (const Provider *p : providers.all()) {
    families.emplace_back(p->family());
    for (const PointShape &shape : p->list_components()) {
      std::string names;
      for (const auto &c : shape.components) names += (names.empty() ? "" : ".") + c.name;
      shapes.push_back(names);
      spelled.emplace(names, shape.str());
    }
  }
  std::vector<std::string> hints;
  std::vector<std::string> nearest = nearest_names(written, shapes, 2);
  for (std::string &name : nearest) name = spelled[name];
  if (std::string hint = did_you_mean(nearest); !hint.empty()) hints.push_back(hint);
  std::string list;
  for (const std::string &family : families) list += (list.empty() ? "" : ", ") + family;
  hints.push_back("known families: " + list);
  return hints;
}

// The concrete probes of one written point; a point with wildcard components
// first becomes the provider points it matches.
std::vector<ResolvedProbe> resolve_point(const KernelInfo &kernel, const ProbePoint &point) {
  const ProviderIndex &providers = kernel.providers();
  if (has_component_wildcard(point)) {
    std::vector<ResolvedProbe> found;
    for (const ProbePoint &concrete : providers.expand_component_wildcards(point))
      for (auto &rp : resolve_point(kernel, concrete)) found.push_back(std::move(rp));
    return found;
  }
  const Provider *provider = providers.find(point);
  if (!provider)
    throw CompileError(ErrorKind::Probe, unknown_family_message(kernel, point), point.loc,
                       fmt::format("probe point '{}'", point.str()), family_hints(providers, point));
  std::vector<ResolvedProbe> found = provider->resolve(point);
  for (auto &rp : found) {
    rp.provider = provider;
    // A provider that does not spell its points for pp() gets its concrete name.
    if (rp.point.empty()) rp.point = rp.name;
  }
  return found;
}

}  // namespace

void choose_contexts(Probe &probe) {
  std::vector<std::string> names;
  walk_exprs(*probe.body, [&](ExprPtr &e) {
    if (e->kind != ExprKind::TargetVar) return;
    const auto &var = ast::cast<ast::TargetVarExpr>(*e);
    if (!var.is_cast() && std::find(names.begin(), names.end(), var.name) == names.end()) names.push_back(var.name);
  });
  for (ResolvedProbe &rp : probe.resolved) rp.provider->choose_context(rp, names);
}

// `total` counts the script's concrete probes so far: each is a BPF program
// to compile and attach (kernel.function("*") is ~56,000 of them, minutes
// of work), so past MAXPROBES the point is an error, as bpftrace caps them.
void resolve_points(const KernelInfo &kernel, Probe &probe, size_t &total, uint32_t max_probes,
                    Diagnostics &diagnostics) {
  for (const ProbePoint &point : probe.points) {
    std::vector<ResolvedProbe> found;
    if (point.optional) {
      // An optional point that cannot be resolved matches nothing, as in
      // stap (whose optional points pass over any resolution error: an
      // unknown family, a program not installed); ntap says why in a note
      // (not a warning: -W must not refuse what stap runs), since the
      // family may be one of stap's it does not implement.
      try {
        found = resolve_point(kernel, point);
      } catch (const CompileError &e) {
        note(point.loc, "optional probe point '" + point.str() + "' matches nothing: " + e.message());
        continue;
      }
    } else if (!diagnostics.guard([&] { found = resolve_point(kernel, point); })) {
      continue;
    }
    total += found.size();
    if (total > max_probes) {
      diagnostics.report(CompileError(
          ErrorKind::Probe,
          fmt::format("more than MAXPROBES ({}) probes in the script, with the {} of this point", max_probes,
                      found.size()),
          point.loc, fmt::format("probe point '{}'", point.str()),
          {"narrow the pattern, or raise the limit with -D MAXPROBES=N"}));
      total -= found.size();
      continue;
    }
    if (found.empty() && !point.optional) {
      const Provider *provider = has_component_wildcard(point) ? nullptr : kernel.providers().find(point);
      // Without privileges the kernel hides what would match; say so
      // rather than let the point look misspelt.
      const std::string missing = missing_bpf_capabilities();
      diagnostics.report(CompileError(ErrorKind::Probe,
                                      missing.empty()
                                          ? std::string("no match for probe point")
                                          : fmt::format("no match for probe point (ntap is not running as root "
                                                        "and lacks {}: the kernel's probe points cannot be listed)",
                                                        missing),
                                      point.loc, fmt::format("probe point '{}'", point.str()),
                                      provider ? provider->unmatched_hints(point) : std::vector<std::string>{}));
      continue;
    }
    for (auto &rp : found) probe.resolved.push_back(std::move(rp));
    if (point.sufficient && !found.empty()) break;  // `!`: the rest of the points are alternatives
  }
}

}  // namespace ntap
