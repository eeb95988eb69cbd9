#include "cli/listing.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "frontend/parser.h"
#include "frontend/tapset.h"
#include "runtime/providers/provider.h"

namespace ntap {
namespace {

std::string concrete_point(const ast::ProbePoint &point, const ast::ResolvedProbe &rp) {
  if (rp.kind == ast::ProbeKind::Tracepoint) return fmt::format("kernel.trace(\"{}\")", rp.name);
  return point.str();
}

}  // namespace

static int list_matches(const SourceFile &file, bool with_context, SourceManager &sources,
                        const std::vector<std::string> &tapset_dirs);

int list_probe_points(const std::string &pattern, bool with_context, const std::vector<std::string> &tapset_dirs) {
  SourceManager sources;
  const SourceFile &file = sources.add("<pattern>", "probe " + pattern + " {}");
  try {
    return list_matches(file, with_context, sources, tapset_dirs);
  } catch (const CompileError &e) {
    std::cerr << e.format();  // while `sources` still holds the text it points into
    return 1;
  }
}

// Inserts the names of the probe aliases `written` matches; true if any.
bool list_aliases(const ast::Program &program, const ast::ProbePoint &written, std::set<std::string> &lines) {
  bool matched = false;
  for (const auto &alias : program.aliases)
    for (const ast::ProbePoint &name : alias->names) {
      PointShape shape;
      for (const ast::ProbePointComponent &c : name.components) shape.components.push_back({c.name});
      if (!point_matches_shape(written, shape)) continue;
      lines.insert(name.str());
      matched = true;
    }
  return matched;
}

int list_matches(const SourceFile &file, bool with_context, SourceManager &sources,
                 const std::vector<std::string> &tapset_dirs) {
  auto program = parse_script(file);
  load_tapsets(*program, sources, tapset_dirs);
  std::set<std::string> lines;
  for (const auto &probe : program->probes) {
    for (const auto &written : probe->points) {
      const bool alias_matched = list_aliases(*program, written, lines);
      // Wildcards in components stand for the providers' points they match.
      std::vector<ast::ProbePoint> points{written};
      if (has_component_wildcard(written)) points = expand_component_wildcards(written);
      for (const auto &point : points) {
        const Provider *provider = nullptr;
        for (const Provider *p : all_providers())
          if (p->handles(point)) {
            provider = p;
            break;
          }
        if (!provider && alias_matched) continue;
        if (!provider)
          throw CompileError(ErrorKind::Probe, "unknown probe point family", point.loc,
                             fmt::format("probe point '{}'", point.str()));
        for (auto &rp : provider->resolve(point)) {
          std::string line = concrete_point(point, rp);
          if (with_context)
            for (const auto &var : provider->describe_context(rp)) line += " " + var;
          lines.insert(line);
        }
      }
    }
  }
  for (const auto &l : lines) std::cout << l << "\n";
  return lines.empty() ? 1 : 0;
}

void print_elaborated(const ast::Program &program, std::ostream &out) {
  out << "# globals\n";
  for (const auto &g : program.globals) {
    std::string keys;
    for (ast::Type k : g->key_types) keys += std::string(keys.empty() ? "" : ", ") + ast::type_name(k);
    out << fmt::format("{}:{}{}\n", g->name, ast::type_name(g->value_type), g->is_array ? " [" + keys + "]" : "");
  }
  out << "# probes\n";
  for (const auto &p : program.probes) {
    const char *side = p->side == ast::Side::Kernel ? "kernel" : "user";
    for (size_t i = 0; i < p->resolved.size(); ++i) {
      const auto &rp = p->resolved[i];
      std::string point = rp.kind == ast::ProbeKind::Tracepoint ? fmt::format("kernel.trace(\"{}\")", rp.name) : rp.name;
      out << fmt::format("{} /* {} side */\n", point, side);
    }
    for (const auto &l : p->locals) out << fmt::format("  local {}:{}\n", l->name, ast::type_name(l->type));
  }
}

}  // namespace ntap
