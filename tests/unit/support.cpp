#include "tests/unit/support.h"

#include <fmt/format.h>

#include <stdexcept>

#include "frontend/parser.h"
#include "passes/passes.h"
#include "frontend/tapset.h"
#include "runtime/maps.h"

namespace ntap::test {

std::unique_ptr<CheckedScript> check_script(const std::string &text, const CheckOptions &options) {
  auto checked = std::make_unique<CheckedScript>();
  checked->program = parse_script(checked->sources.add("t.ntp", text));
  load_tapsets(*checked->program, checked->sources, options.tapset_dirs);
  FrontendOptions frontend;
  frontend.warnings = false;
  frontend.keep_unused = options.keep_unused;
  frontend.string_limit = options.string_limit;
  PassContext ctx{*checked->program, frontend, options.kernel ? *options.kernel : fixture_kernel()};
  run_frontend_passes(ctx);
  return checked;
}

const ast::ResolvedProbe &only_probe(const std::unique_ptr<CheckedScript> &checked) {
  const auto &probes = checked->program->probes;
  if (probes.size() != 1 || probes[0]->resolved.size() != 1)
    throw std::runtime_error(
        fmt::format("expected one probe with one concrete point, got {} probes{}", probes.size(),
                    probes.empty() ? "" : fmt::format(" ({} points in the first)", probes[0]->resolved.size())));
  return probes[0]->resolved[0];
}

std::string error_of(const std::string &text, const CheckOptions &options) {
  try {
    check_script(text, options);
  } catch (const CompileError &e) {
    return std::to_string(e.location().line) + ":" + std::to_string(e.location().col) + " " + e.message();
  }
  return "no error";
}

uint32_t HandMadeGlobals::add(const std::string &name, ast::Type value, std::vector<ast::Type> keys) {
  auto g = std::make_unique<ast::Global>();
  g->name = name;
  g->value_type = value;
  g->key_types = keys;
  g->is_array = !keys.empty();
  g->id = static_cast<uint32_t>(program.globals.size());
  GlobalLayout gl;
  gl.global = g.get();
  gl.is_map = g->is_array || value == ast::Type::Stats;
  uint32_t offset = 0;
  for (ast::Type t : keys) {
    const uint32_t size = t == ast::Type::String ? layout.options.max_string_len : 8;
    gl.key_fields.push_back({t, offset, size});
    offset += size;
  }
  gl.key_size = offset ? offset : 8;
  gl.value_size = value == ast::Type::Stats    ? sizeof(StatsValue)
                  : value == ast::Type::String ? layout.options.max_string_len
                                               : 8;
  gl.max_entries = layout.options.max_map_entries;
  layout.globals.push_back(gl);
  program.globals.push_back(std::move(g));
  return program.globals.back()->id;
}

}  // namespace ntap::test
