#include "cli/listing.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "frontend/parser.h"
#include "runtime/providers/provider.h"

namespace ntap {
namespace {

std::string concrete_point(const ast::ProbePoint &point, const ast::ResolvedProbe &rp) {
  if (rp.kind == ast::ProbeKind::Tracepoint) return fmt::format("kernel.trace(\"{}\")", rp.name);
  return point.str();
}

}  // namespace

static int list_matches(const SourceFile &file, bool with_context);

int list_probe_points(const std::string &pattern, bool with_context) {
  SourceManager sources;
  const SourceFile &file = sources.add("<pattern>", "probe " + pattern + " {}");
  try {
    return list_matches(file, with_context);
  } catch (const CompileError &e) {
    std::cerr << e.format();  // while `sources` still holds the text it points into
    return 1;
  }
}

int list_matches(const SourceFile &file, bool with_context) {
  auto program = parse_script(file);
  std::set<std::string> lines;
  for (const auto &probe : program->probes) {
    for (const auto &written : probe->points) {
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
  return 0;
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
