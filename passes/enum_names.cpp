#include "passes/enum_names.h"

#include <fmt/format.h>

#include <set>

#include "frontend/parser.h"
#include "kernel/enums.h"

namespace ntap {
namespace {

// The generated functions' text: the program's locations point into it for
// as long as the process runs.
SourceManager &generated_sources() {
  static SourceManager sources;
  return sources;
}

std::string function_name(const std::string &enum_name) { return "__enum_name_" + enum_name; }

// `function __enum_name_E:string (value:long) { if (value == V) return "N" ...
// return sprintf("%d", value) }`: an enumerator's C name, the number as text
// for a value the enum does not name (as drop_reason_name). The first name
// of a value wins (enums often end with a FOO_MAX alias of the last one).
std::string function_text(const std::string &enum_name, const std::vector<std::pair<int64_t, std::string>> &values) {
  std::string text = fmt::format("function {}:string (value:long) {{\n", function_name(enum_name));
  std::set<int64_t> seen;
  for (const auto &[value, name] : values)
    if (seen.insert(value).second) text += fmt::format("  if (value == {}) return \"{}\"\n", value, name);
  text += "  return sprintf(\"%d\", value)\n}\n";
  return text;
}

}  // namespace

ast::Function *enum_name_function(ast::Program &program, const Btf &btf, const ast::CallExpr &call) {
  if (call.args.size() != 2 || call.args[0]->kind != ast::ExprKind::String)
    throw CompileError(ErrorKind::Semantic,
                       "enum_name needs the enum's name as a string literal and a value: "
                       "enum_name(\"sk_rst_reason\", reason)",
                       call.loc, "identifier 'enum_name'");
  std::string enum_name = ast::cast<ast::StringExpr>(*call.args[0]).value;
  if (enum_name.rfind("enum ", 0) == 0) enum_name.erase(0, 5);
  const std::string name = function_name(enum_name);
  for (const auto &f : program.functions)
    if (f->name == name) return f.get();
  auto values = kernel_enum_values(btf, enum_name);
  if (!values)
    throw CompileError(ErrorKind::Semantic, fmt::format("the kernel's BTF has no enum '{}'", enum_name),
                       call.args[0]->loc, fmt::format("string '{}'", enum_name));
  const SourceFile &file = generated_sources().add("<enum " + enum_name + ">", function_text(enum_name, *values));
  std::unique_ptr<ast::Program> generated = parse_script(file);
  ast::Function *f = generated->functions.front().get();
  f->from_tapset = true;
  program.functions.push_back(std::move(generated->functions.front()));
  program.functions.back()->id = static_cast<uint32_t>(program.functions.size() - 1);
  return f;
}

}  // namespace ntap
