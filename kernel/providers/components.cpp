// Wildcards in probe point components (`timer.*(5)`, `begin*`, `kernel.**`):
// matched against the point shapes every provider lists, so a pattern stands
// for the real probe points it names, as in stap.
#include <fnmatch.h>

#include <set>

#include "kernel/providers/provider.h"

namespace ntap {
namespace {

using Arg = PointShape::Arg;

bool is_pattern(const std::string &name) { return name.find('*') != std::string::npos; }

bool fnmatches(const std::string &pattern, const std::string &text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

Arg written_arg(const ast::ProbePointComponent &c) {
  if (c.string_arg) return Arg::String;
  if (c.number_arg) return Arg::Number;
  return Arg::None;
}

// Matches written components [pi..] against shape components [si..],
// appending the concrete components to `out`.
bool match_from(const std::vector<ast::ProbePointComponent> &written, size_t pi,
                const std::vector<PointShape::Component> &shape, size_t si,
                std::vector<ast::ProbePointComponent> &out) {
  if (pi == written.size()) return si == shape.size();
  if (si == shape.size()) return false;
  const ast::ProbePointComponent &w = written[pi];
  const size_t kept = out.size();
  auto concrete = [&](const PointShape::Component &c, bool last) {
    ast::ProbePointComponent component;
    component.name = c.name;
    if (last) {
      component.string_arg = w.string_arg;
      component.number_arg = w.number_arg;
    }
    return component;
  };
  if (w.name.find("**") != std::string::npos) {
    // `**` spans dots: the glob (with `**` as `*`, which fnmatch lets cross
    // dots) is matched against one or more shape components joined by dots.
    std::string glob = w.name;
    for (size_t at; (at = glob.find("**")) != std::string::npos;) glob.erase(at, 1);
    std::string joined;
    for (size_t take = 1; si + take <= shape.size(); ++take) {
      const PointShape::Component &last = shape[si + take - 1];
      joined += (take > 1 ? "." : "") + last.name;
      if (take > 1 && shape[si + take - 2].arg != Arg::None) break;  // an argument ends the span
      if (last.arg != written_arg(w) || !fnmatches(glob, joined)) continue;
      out.resize(kept);
      for (size_t i = 0; i < take; ++i) out.push_back(concrete(shape[si + i], i + 1 == take));
      if (match_from(written, pi + 1, shape, si + take, out)) return true;
    }
    out.resize(kept);
    return false;
  }
  if (shape[si].arg != written_arg(w) || !fnmatches(w.name, shape[si].name)) return false;
  out.push_back(concrete(shape[si], true));
  if (match_from(written, pi + 1, shape, si + 1, out)) return true;
  out.resize(kept);
  return false;
}

}  // namespace

std::string PointShape::str() const {
  std::string text;
  for (const Component &c : components) {
    if (!text.empty()) text += '.';
    text += c.name;
    if (c.arg == Arg::Number) text += "(N)";
    if (c.arg == Arg::String) text += "(\"NAME\")";
  }
  return text;
}

bool has_component_wildcard(const ast::ProbePoint &point) {
  for (const ast::ProbePointComponent &c : point.components)
    if (is_pattern(c.name)) return true;
  return false;
}

bool point_matches_shape(const ast::ProbePoint &point, const PointShape &shape) {
  std::vector<ast::ProbePointComponent> components;
  return match_from(point.components, 0, shape.components, 0, components);
}

ProviderIndex::ProviderIndex(std::vector<std::unique_ptr<Provider>> providers) : providers_(std::move(providers)) {
  for (const auto &provider : providers_) view_.push_back(provider.get());
}

const Provider *ProviderIndex::find(const ast::ProbePoint &point) const {
  for (const Provider *provider : view_)
    if (provider->handles(point)) return provider;
  return nullptr;
}

const Provider *ProviderIndex::find_family(std::string_view family, ast::Side side) const {
  for (const Provider *provider : view_)
    if (provider->family() == family && provider->side() == side) return provider;
  return nullptr;
}

std::vector<ast::ProbePoint> ProviderIndex::expand_component_wildcards(const ast::ProbePoint &point) const {
  std::vector<ast::ProbePoint> expanded;
  std::set<std::string> seen;
  for (const Provider *provider : view_) {
    for (const PointShape &shape : provider->list_components()) {
      std::vector<ast::ProbePointComponent> components;
      if (!match_from(point.components, 0, shape.components, 0, components)) continue;
      ast::ProbePoint concrete = point;
      concrete.components = std::move(components);
      if (seen.insert(concrete.str()).second) expanded.push_back(std::move(concrete));
    }
  }
  return expanded;
}

}  // namespace ntap
