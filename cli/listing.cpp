#include "cli/listing.h"

#include "frontend/printer.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "frontend/parser.h"
#include "frontend/tapset.h"
#include "kernel/kernel_config.h"
#include "kernel/providers/families.h"
#include "kernel/providers/provider.h"
#include "kernel/providers/tracepoint.h"
#include "passes/passes.h"

namespace ntap {
namespace {

std::string concrete_point(const ast::ProbePoint &point, const ast::ResolvedProbe &rp, const Provider &provider) {
  // kernel.trace and kernel.function probes spell their concrete points.
  if (rp.kind == ast::ProbeKind::Tracepoint) return rp.point.empty() ? fmt::format("kernel.trace(\"{}\")", rp.name) : rp.point;
  // A wildcard a provider expanded (kernel.syscall("read*")): each concrete point.
  if (provider.family() == "kernel.syscall" && !rp.point.empty()) return rp.point;
  // A .plt entry is listed by its function, as stap lists it (pp() has its address).
  if (rp.kind == ast::ProbeKind::Uprobe) return rp.script_point.empty() ? rp.point : rp.script_point;
  return point.str();
}

}  // namespace

static int list_matches(const KernelInfo &kernel, const SourceFile &file, bool with_context, SourceManager &sources,
                        const std::vector<std::string> &tapset_dirs);

int list_probe_points(const KernelInfo &kernel, const std::string &pattern, bool with_context,
                      const std::vector<std::string> &tapset_dirs) {
  SourceManager sources;
  const SourceFile &file = sources.add("<pattern>", "probe " + pattern + " {}");
  try {
    return list_matches(kernel, file, with_context, sources, tapset_dirs);
  } catch (const CompileError &e) {
    std::cerr << e.format();  // while `sources` still holds the text it points into
    return 1;
  }
}

// The variables an alias's body sets, as -L shows them ("sk:long
// saddr:string"): a probe on the alias alone, elaborated up to its types, has
// them as its locals, in the order the body first assigns them. `defining`
// is the pattern's own text when it defines aliases itself (stap's -L wraps
// the pattern in `probe ... {}`, so `-L 'a = begin { x = 1 } probe a'`
// lists a's x), empty otherwise.
static std::string alias_variables(const KernelInfo &kernel, const std::string &alias,
                                   const std::vector<std::string> &tapset_dirs, const std::string &defining) {
  SourceManager sources;
  const SourceFile &file = sources.add("<alias>", defining + "\nprobe " + alias + " {}");
  PreprocessTarget target = PreprocessTarget::running_system();
  target.config = [&kernel]() -> const KernelConfig & { return kernel.config(); };
  ParseOptions options;
  options.preprocessor.target = &target;
  auto program = parse_script(file, options);
  load_tapsets(*program, sources, tapset_dirs, &target);
  FrontendOptions frontend;
  frontend.warnings = false;
  // The probe reads none of the variables: elision would drop them all.
  frontend.keep_unused = true;
  PassContext ctx{*program, frontend, kernel};
  for (const auto &pass : kFrontendPasses) {
    pass.run(ctx);
    if (pass.run == infer_types) break;  // the sides are not needed to list types
  }
  // An alias over several points is one probe per point: each variable once.
  std::string vars;
  std::set<std::string> seen;
  for (const auto &probe : program->probes)
    for (const auto &local : probe->locals) {
      const std::string var = fmt::format(" {}:{}", local->name, ast::type_name(local->type));
      if (seen.insert(var).second) vars += var;
    }
  return vars;
}

// Inserts the names of the probe aliases `written` matches (with -L, each
// with the variables it sets); true if any.
bool list_aliases(const KernelInfo &kernel, const ast::Program &program, const ast::ProbePoint &written,
                  std::set<std::string> &lines, bool with_context, const std::vector<std::string> &tapset_dirs,
                  const SourceFile &pattern) {
  const bool defines_aliases = std::any_of(program.aliases.begin(), program.aliases.end(),
                                           [](const auto &alias) { return !alias->from_tapset; });
  const std::string defining = defines_aliases ? pattern.text : std::string();
  bool matched = false;
  for (const auto &alias : program.aliases)
    for (const ast::ProbePoint &name : alias->names) {
      PointShape shape;
      for (const ast::ProbePointComponent &c : name.components) shape.components.push_back({c.name});
      if (!point_matches_shape(written, shape)) continue;
      lines.insert(name.str() + (with_context ? alias_variables(kernel, name.str(), tapset_dirs, defining) : ""));
      matched = true;
    }
  return matched;
}

int list_matches(const KernelInfo &kernel, const SourceFile &file, bool with_context, SourceManager &sources,
                 const std::vector<std::string> &tapset_dirs) {
  PreprocessTarget target = PreprocessTarget::running_system();
  target.config = [&kernel]() -> const KernelConfig & { return kernel.config(); };
  const ProviderIndex &providers = kernel.providers();
  ParseOptions options;
  options.preprocessor.target = &target;
  auto program = parse_script(file, options);
  load_tapsets(*program, sources, tapset_dirs, &target);
  std::set<std::string> lines;
  for (const auto &probe : program->probes) {
    for (const auto &written : probe->points) {
      const bool alias_matched = list_aliases(kernel, *program, written, lines, with_context, tapset_dirs, file);
      // Wildcards in components stand for the providers' points they match.
      std::vector<ast::ProbePoint> points{written};
      if (has_component_wildcard(written)) points = providers.expand_component_wildcards(written);
      for (const auto &point : points) {
        const Provider *provider = providers.find(point);
        if (!provider && alias_matched) continue;
        if (!provider)
          throw CompileError(ErrorKind::Probe, unknown_family_message(kernel, point), point.loc,
                             fmt::format("probe point '{}'", point.str()));
        // A pattern lists the points that resolve here: perf.hw.* leaves out
        // the hardware events this machine has no counter for (naming one
        // says why).
        std::vector<ast::ResolvedProbe> resolved;
        try {
          resolved = provider->resolve(point);
        } catch (const CompileError &) {
          if (points.size() == 1 && !has_component_wildcard(written)) throw;
          continue;
        }
        for (auto &rp : resolved) {
          std::string line = concrete_point(point, rp, *provider);
          if (with_context) {
            for (const auto &var : provider->describe_context(rp)) line += " " + var;
            // A tracepoint's format fields are $variables too (decision 13).
            if (provider->family() == "kernel.trace")
              for (const auto &field : describe_format_fields(kernel, rp)) line += " " + field;
          }
          lines.insert(line);
        }
      }
    }
  }
  for (const auto &l : lines) std::cout << l << "\n";
  return lines.empty() ? 1 : 0;
}

namespace {

// A body as -p1 prints it, indented by two spaces.
std::string indented(const std::string &text) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    out += line.empty() ? "\n" : "  " + line + "\n";
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

std::string typed_locals(const std::vector<std::unique_ptr<ast::Local>> &locals, size_t skip) {
  std::string text;
  for (size_t i = skip; i < locals.size(); ++i)
    text += fmt::format("{}{}:{}", text.empty() ? "" : ", ", locals[i]->name, ast::type_name(locals[i]->type));
  return text;
}

}  // namespace

// -p2: what elaboration made of the script, as stap's -p2 shows it: globals
// and functions with their inferred types, then each probe with the concrete
// points it resolved to (and the side it runs on), its locals and its body
// after alias expansion.
void print_elaborated(const ast::Program &program, std::ostream &out) {
  out << "# globals\n";
  for (const auto &g : program.globals) {
    std::string keys;
    for (ast::Type k : g->key_types) keys += std::string(keys.empty() ? "" : ", ") + ast::type_name(k);
    out << fmt::format("{}:{}{}\n", g->name, ast::type_name(g->value_type), g->is_array ? " [" + keys + "]" : "");
  }
  bool any_function = false;
  for (const auto &f : program.functions) {
    if (f->from_tapset && !f->called_in_kernel && !f->called_in_user) continue;
    if (!any_function) out << "# functions\n";
    any_function = true;
    std::string params;
    for (size_t i = 0; i < f->params.size() && i < f->locals.size(); ++i)
      params += fmt::format("{}{}:{}", params.empty() ? "" : ", ", f->locals[i]->name,
                            ast::type_name(f->locals[i]->type));
    out << fmt::format("{}:{} ({})\n", f->name, ast::type_name(f->result), params);
    const std::string locals = typed_locals(f->locals, f->params.size());
    if (!locals.empty()) out << "  local " << locals << "\n";
    if (f->body) out << indented(print_stmt(*f->body));
  }
  out << "# probes\n";
  for (const auto &p : program.probes) {
    const char *side = p->side == ast::Side::Kernel ? "kernel" : "user";
    for (size_t i = 0; i < p->resolved.size(); ++i) {
      const auto &rp = p->resolved[i];
      std::string point = rp.kind == ast::ProbeKind::Uprobe      ? rp.point
                          : rp.kind != ast::ProbeKind::Tracepoint ? rp.name
                          : rp.point.empty()                      ? fmt::format("kernel.trace(\"{}\")", rp.name)
                                                                  : rp.point;
      out << fmt::format("{} /* {} side */\n", point, side);
    }
    const std::string locals = typed_locals(p->locals, 0);
    if (!locals.empty()) out << "  local " << locals << "\n";
    if (p->body) out << indented(print_stmt(*p->body));
  }
}

}  // namespace ntap
