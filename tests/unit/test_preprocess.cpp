// The preprocessor: conditionals, macros, command-line arguments, and the
// locations errors report through them.
#include <stdlib.h>
#include <zlib.h>

#include <cstdio>

#include <catch2/catch.hpp>

#include "tests/unit/support.h"
#include "frontend/parser.h"
#include "frontend/preprocess.h"
#include "kernel/kernel_config.h"

using namespace ntap;
using namespace ntap::ast;

namespace {

const KernelConfig &test_config() {
  static const KernelConfig config = KernelConfig::parse(
      "# Automatically generated file; DO NOT EDIT.\n"
      "CONFIG_HZ=250\n"
      "CONFIG_BPF=y\n"
      "CONFIG_NET_MODULE=m\n"
      "# CONFIG_KPROBES is not set\n"
      "CONFIG_LOCALVERSION=\"-fc\"\n"
      "CONFIG_HZ_1000=y\n");
  return config;
}

const PreprocessTarget &test_target() {
  static const PreprocessTarget target{"6.18.44-fc-v669", "x86_64", test_config};
  return target;
}

PreprocessOptions options_with(std::vector<std::string> args) {
  PreprocessOptions options;
  options.script_args = std::move(args);
  options.target = &test_target();
  return options;
}

// `raw` with whitespace runs squeezed to one space, none at the ends.
std::string squeezed(const std::string &raw) {
  std::string out;
  for (char c : raw) {
    bool space = c == ' ' || c == '\n' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The preprocessed text, squeezed.
std::string tokens(const std::string &text, std::vector<std::string> args = {}) {
  SourceFile file("t.stp", text);
  return squeezed(preprocess(file, options_with(std::move(args))).text);
}

// What `%( CONDITION %? yes %: no %)` chooses.
std::string choice(const std::string &condition, std::vector<std::string> args = {}) {
  return tokens("%( " + condition + " %? yes %: no %)", std::move(args));
}

// "LINE:COL message" of the first error, preprocessing and parsing.
std::string error_of(const std::string &text, std::vector<std::string> args = {}) {
  SourceFile file("t.stp", text);
  ParseOptions options;
  options.preprocessor = options_with(std::move(args));
  try {
    parse_script(file, options);
  } catch (const CompileError &e) {
    return std::to_string(e.location().line) + ":" + std::to_string(e.location().col) + " " + e.message();
  }
  return "no error";
}

struct Parsed {
  std::unique_ptr<SourceFile> file;
  std::unique_ptr<Program> program;
};

Parsed parse(const std::string &text, std::vector<std::string> args = {}) {
  Parsed p;
  p.file = std::make_unique<SourceFile>("t.stp", text);
  ParseOptions options;
  options.preprocessor = options_with(std::move(args));
  p.program = parse_script(*p.file, options);
  return p;
}

// The right-hand side of the first statement (`x = ...`) of the first probe.
const Expr &first_value(const Parsed &p) {
  const auto &stmt = ast::cast<ast::ExprStmt>(*p.program->probes.at(0)->body->stmts.at(0));
  return *ast::cast<ast::AssignExpr>(*stmt.expr).rhs;
}

int64_t number_value(const Expr &e) {
  REQUIRE(e.kind == ExprKind::Number);
  return ast::cast<ast::NumberExpr>(e).value;
}

std::string string_value(const Expr &e) {
  REQUIRE(e.kind == ExprKind::String);
  return ast::cast<ast::StringExpr>(e).value;
}

}  // namespace

// ---------------------------------------------------------------- conditions

TEST_CASE("preprocess: text without directives is unchanged byte for byte", "[preprocess]") {
  std::string text = "# comment %( not a conditional\nprobe begin { x = \"%( %? %)\" /* %) */ }\n";
  SourceFile file("t.stp", text);
  CHECK(preprocess(file, options_with({})).text == text);
}

TEST_CASE("preprocess: kernel_v and kernel_vr compare versions", "[preprocess][conditions]") {
  CHECK(choice("kernel_v >= \"6.0\"") == "yes");
  CHECK(choice("kernel_v < \"6.0\"") == "no");
  CHECK(choice("kernel_v > \"6.9\"") == "yes");  // version order, not string order
  CHECK(choice("kernel_v == \"6.18.44\"") == "yes");
  CHECK(choice("kernel_v <= \"6.18.44\"") == "yes");
  CHECK(choice("kernel_v != \"6.18.44\"") == "no");
  CHECK(choice("kernel_vr == \"6.18.44-fc-v669\"") == "yes");
  CHECK(choice("kernel_vr == \"6.18.44\"") == "no");
  CHECK(choice("kernel_vr > \"6.18.44\"") == "yes");
}

TEST_CASE("preprocess: version wildcards match with == and != only", "[preprocess][conditions]") {
  CHECK(choice("kernel_v == \"6.18.*\"") == "yes");
  CHECK(choice("kernel_v == \"5.*\"") == "no");
  CHECK(choice("kernel_vr != \"*-fc-*\"") == "no");
  CHECK(error_of("%( kernel_v >= \"6.*\" %? probe begin {} %)") ==
        "1:13 wildcard not allowed with order comparison operators");
  CHECK(error_of("%( kernel_v >= 6 %? probe begin {} %)") == "1:16 kernel_v must be compared with a string literal");
}

TEST_CASE("preprocess: arch, runtime, systemtap_v, systemtap_privilege, guru_mode", "[preprocess][conditions]") {
  CHECK(choice("arch == \"x86_64\"") == "yes");
  CHECK(choice("arch != \"x86_64\"") == "no");
  CHECK(choice("arch == \"x86*\"") == "yes");
  CHECK(choice("arch == \"arm64\"") == "no");
  CHECK(choice("runtime == \"bpf\"") == "yes");
  CHECK(choice("runtime == \"kernel\"") == "no");
  CHECK(choice("systemtap_v >= \"4.0\"") == "yes");
  CHECK(choice("systemtap_v == \"5.0\"") == "yes");
  CHECK(choice("systemtap_privilege == \"stapusr\"") == "no");
  CHECK(choice("systemtap_privilege == \"stapdev\"") == "yes");
  CHECK(choice("guru_mode == 0") == "yes");
  CHECK(error_of("%( arch < \"x\" %? %)") == "1:9 expected '==' or '!='");
}

TEST_CASE("preprocess: CONFIG_ options from the kernel configuration", "[preprocess][conditions]") {
  CHECK(choice("CONFIG_BPF == \"y\"") == "yes");
  CHECK(choice("CONFIG_BPF == \"m\"") == "no");
  CHECK(choice("CONFIG_NET_MODULE == \"m\"") == "yes");
  CHECK(choice("CONFIG_NET_MODULE == \"[ym]\"") == "yes");
  // As in stap, an option that is not set is "" (and 0 as a number).
  CHECK(choice("CONFIG_KPROBES == \"\"") == "yes");
  CHECK(choice("CONFIG_KPROBES == \"n\"") == "no");
  CHECK(choice("CONFIG_NO_SUCH_OPTION == \"\"") == "yes");
  CHECK(choice("CONFIG_NO_SUCH_OPTION == 0") == "yes");
  CHECK(choice("CONFIG_NO_SUCH_OPTION < CONFIG_HZ") == "yes");  // 0 < 250, as numbers
  CHECK(choice("CONFIG_NO_SUCH_OPTION == \"*\"") == "yes");
  CHECK(choice("CONFIG_KPROBES != \"y\"") == "yes");
  CHECK(choice("CONFIG_HZ >= 250") == "yes");
  CHECK(choice("CONFIG_HZ == 100") == "no");
  CHECK(choice("CONFIG_LOCALVERSION == \"-fc\"") == "yes");
  CHECK(choice("CONFIG_HZ_1000 == CONFIG_BPF") == "yes");
  CHECK(error_of("%( CONFIG_BPF > 1 %? %)") == "1:4 CONFIG_BPF is 'y', not a number");
}

TEST_CASE("preprocess: the kernel configuration parser", "[preprocess][config]") {
  KernelConfig config = KernelConfig::parse("CONFIG_A=y\r\nCONFIG_B=\"two words\"\n# CONFIG_C is not set\n");
  CHECK(config.available());
  CHECK(config.value("CONFIG_A") == "y");
  CHECK(config.value("CONFIG_B") == "two words");
  CHECK(config.value("CONFIG_C") == "");
  CHECK(config.value("CONFIG_D") == "");
}

TEST_CASE("preprocess: numbers, strings, and the logical operators", "[preprocess][conditions]") {
  CHECK(choice("1") == "yes");
  CHECK(choice("0") == "no");
  CHECK(choice("2 > 1") == "yes");
  CHECK(choice("-1 < 0") == "yes");
  CHECK(choice("0x10 == 16") == "yes");
  CHECK(choice("\"abc\" < \"abd\"") == "yes");
  CHECK(choice("1 && 0") == "no");
  CHECK(choice("1 || 0") == "yes");
  CHECK(choice("!0") == "yes");
  CHECK(choice("!(arch == \"x86_64\")") == "no");
  CHECK(choice("(0 || 1) && !(1 && 0)") == "yes");
  CHECK(choice("arch == \"x86_64\" && kernel_v >= \"6.0\" && CONFIG_BPF == \"y\"") == "yes");
}

TEST_CASE("preprocess: $# @# $N @N in conditions", "[preprocess][conditions][args]") {
  CHECK(choice("$# == 0") == "yes");
  CHECK(choice("$# == 2", {"a", "b"}) == "yes");
  CHECK(choice("@# == \"2\"", {"a", "b"}) == "yes");
  CHECK(choice("$1 > 10", {"42"}) == "yes");
  CHECK(choice("@1 == \"eth0\"", {"eth0"}) == "yes");
  // The unevaluated side of && is only checked for syntax.
  CHECK(choice("$# > 0 && $1 > 5") == "no");
  CHECK(error_of("%( $1 > 5 %? %)") == "1:4 command line argument index 1 out of range [1-0]");
  CHECK(error_of("%( $1 > 5 %? %)", {"five"}) == "1:4 command line argument $1 ('five') is not a number");
}

TEST_CASE("preprocess: malformed conditionals", "[preprocess][errors]") {
  CHECK(error_of("%( arch == \"x86_64\" probe begin {} %)") == "1:21 missing '%?' in preprocessor conditional");
  CHECK(error_of("%( arch == \"x86_64\"") == "1:1 missing '%?' in preprocessor conditional");
  CHECK(error_of("probe begin {}\n%( 1 %? probe end {}\n") == "2:1 unterminated preprocessor conditional: missing '%)'");
  CHECK(error_of("%( 0 %? probe end {}\n") == "1:1 unterminated preprocessor conditional: missing '%)'");
  CHECK(error_of("probe begin {} %)") == "1:16 unexpected '%)' outside a preprocessor conditional");
  CHECK(error_of("probe begin {} %:") == "1:16 unexpected '%:' outside a preprocessor conditional");
  CHECK(error_of("%( 1 %? a %: b %: c %)") == "1:16 unexpected '%:': this conditional already had its '%:'");
  CHECK(error_of("%( 0 %? a %: b %: c %)") == "1:16 unexpected '%:': this conditional already had its '%:'");
  CHECK(error_of("%( frobnicate == 1 %? %)").rfind("1:4 unknown preprocessor condition 'frobnicate'", 0) == 0);
  CHECK(error_of("%( arch %? %)") == "1:9 expected comparison operator in preprocessor condition");
}

TEST_CASE("preprocess: nested conditionals", "[preprocess]") {
  CHECK(tokens("%( 1 %? a %( 0 %? b %: c %) d %: e %( 1 %? f %) %)") == "a c d");
  CHECK(tokens("%( 0 %? a %( 1 %? b %: c %) d %: e %( 1 %? f %: g %) %)") == "e f");
  CHECK(tokens("%( 0 %? %( 1 %? %( 1 %? x %) %) %: y %)") == "y");
}

TEST_CASE("preprocess: %( in strings and comments is text", "[preprocess]") {
  CHECK(tokens("%( 1 %? \"%)\" %)") == "\"%)\"");
  CHECK(tokens("%( 0 %? \"%: %)\" %: b %)") == "b");
  CHECK(tokens("%( 1 %? a # %)\n %)") == "a # %)");
  CHECK(tokens("%( 1 %? a /* %: */ b %: c %)") == "a /* %: */ b");
  CHECK(tokens("%( 0 %? a // %:\n b %: c %)") == "c");
}

TEST_CASE("preprocess: locations after a skipped branch stay exact", "[preprocess][locations]") {
  std::string text =
      "%( kernel_v < \"3.0\" %?\n"
      "probe kernel.function(\"old\") {\n"
      "}\n"
      "%)\n"
      "probe begin { x = ) }\n";
  CHECK(error_of(text) == "5:19 expected expression");
  Parsed p = parse("probe begin {\n  x = %( 0 %? 1 %: 22 %)\n}\n");
  CHECK(number_value(first_value(p)) == 22);
  CHECK(first_value(p).loc.line == 2);
  CHECK(first_value(p).loc.col == 20);
}

TEST_CASE("preprocess: conditionals between declarations, in bodies and in expressions", "[preprocess]") {
  Parsed p = parse(
      "%( runtime == \"bpf\" %? global chosen = 1 %: global other %)\n"
      "probe begin {\n"
      "  %( arch == \"x86_64\" %? x = %( CONFIG_HZ > 100 %? 7 %: 8 %) %: x = 9 %)\n"
      "}\n");
  REQUIRE(p.program->globals.size() == 1);
  CHECK(p.program->globals[0]->name == "chosen");
  CHECK(number_value(first_value(p)) == 7);
}

// ---------------------------------------------------------------- macros

TEST_CASE("preprocess: @define without and with parameters", "[preprocess][macros]") {
  CHECK(tokens("@define ANSWER %( 42 %)\nx = @ANSWER") == "x = 42");
  CHECK(tokens("@define add(a, b) %( (@a + @b) %)\nx = @add(1, y * 2)") == "x = ( 1 + y * 2 )");
  CHECK(tokens("@define pair(a, b) %( [@a, @b] %)\n@pair(f(1, 2), (3, 4))") == "[ f(1, 2) , (3, 4) ]");
  CHECK(tokens("@define none() %( 0 %)\n@none()") == "0");
  // Operators stay whole across an expansion.
  CHECK(tokens("@define agg %( s <<< 1 %)\n@agg") == "s <<< 1");
}

TEST_CASE("preprocess: macros use other macros, conditionals and arguments", "[preprocess][macros]") {
  CHECK(tokens("@define one %( 1 %)\n@define two %( (@one + @one) %)\n@two") == "( 1 + 1 )");
  CHECK(tokens("@define twice(x) %( @x @x %)\n@define wrap(y) %( <@twice(@y)> %)\n@wrap(z)") == "< z z >");
  CHECK(tokens("@define arch_name %( %( arch == \"x86_64\" %? \"x86\" %: \"other\" %) %)\n@arch_name") ==
        "\"x86\"");
  CHECK(tokens("@define first %( $1 %)\n@first", {"5"}) == "5");
  // A macro used in its own argument is not recursion.
  CHECK(tokens("@define inc(x) %( (@x + 1) %)\n@inc(@inc(0))") == "( ( 0 + 1) + 1)");
  // @count and other @-operators pass through.
  CHECK(tokens("@define n %( @count(s) %)\n@n") == "@count(s)");
}

TEST_CASE("preprocess: macro definitions are consumed, newlines kept", "[preprocess][macros]") {
  Parsed p = parse("@define LIMIT %(\n  100\n%)\nprobe begin {\n  x = @LIMIT\n}\n");
  CHECK(number_value(first_value(p)) == 100);
  CHECK(first_value(p).loc.line == 5);
  CHECK(first_value(p).loc.col == 7);
}

TEST_CASE("preprocess: macro errors", "[preprocess][macros][errors]") {
  CHECK(error_of("@define loop %( @loop %)\nprobe begin { x = @loop }") ==
        "1:17 recursive macro invocation of '@loop' (in expansion of macro '@loop' defined at t.stp:1:9)");
  CHECK(error_of("@define add(a, b) %( @a + @b %)\nprobe begin { x = @add(1) }") ==
        "2:19 macro '@add' takes 2 argument(s), not 1");
  CHECK(error_of("@define add(a, b) %( @a + @b %)\nprobe begin { x = @add }") ==
        "2:19 macro '@add' needs 2 argument(s)");
  CHECK(error_of("@define m %( 1 %)\n@define m %( 2 %)") == "2:9 attempt to redefine macro '@m'");
  CHECK(error_of("@define %( 1 %)") == "1:9 expected macro name after @define");
  CHECK(error_of("@define m 1") == "1:11 expected '%(' to begin the body of macro '@m'");
  CHECK(error_of("@define m %( 1") == "1:11 unterminated body of macro '@m': missing '%)'");
}

TEST_CASE("preprocess: a parse error inside an expansion points at the use", "[preprocess][macros][locations]") {
  CHECK(error_of("@define bad %( 1 + * 2 %)\nprobe begin {\n  x = @bad\n}\n") ==
        "3:7 expected expression (in expansion of macro '@bad' defined at t.stp:1:9)");
  // Arguments written at the use keep their own locations.
  CHECK(error_of("@define id(v) %( @v %)\nprobe begin {\n  x = @id(08)\n}\n") == "3:11 invalid number '08'");
}

// ---------------------------------------------------------------- arguments

TEST_CASE("preprocess: $N are numbers, @N strings, $# @# counts", "[preprocess][args]") {
  Parsed n = parse("probe begin { x = $1 }", {"42"});
  CHECK(number_value(first_value(n)) == 42);
  Parsed hex = parse("probe begin { x = $2 }", {"a", "0x10"});
  CHECK(number_value(first_value(hex)) == 16);
  Parsed s = parse("probe begin { x = @1 }", {"say \"hi\"\\n"});
  CHECK(string_value(first_value(s)) == "say \"hi\"\\n");
  Parsed count = parse("probe begin { x = $# }", {"a", "b", "c"});
  CHECK(number_value(first_value(count)) == 3);
  Parsed count_string = parse("probe begin { x = @# }", {"a", "b"});
  CHECK(string_value(first_value(count_string)) == "2");
}

TEST_CASE("preprocess: negative numeric arguments stay one operand", "[preprocess][args]") {
  CHECK(tokens("x = 10-$1", {"-5"}) == "x = 10- -5");
  Parsed p = parse("probe begin { x = 10-$1 }", {"-5"});
  REQUIRE(first_value(p).kind == ExprKind::Binary);
}

TEST_CASE("preprocess: arguments in probe points", "[preprocess][args]") {
  Parsed p = parse("probe timer.ms($1), kernel.trace(@2) { }", {"250", "kfree_skb"});
  const auto &points = p.program->probes.at(0)->points;
  REQUIRE(points.size() == 2);
  CHECK(points[0].components[1].number_arg == 250);
  CHECK(points[1].components[1].string_arg == "kfree_skb");
}

TEST_CASE("preprocess: $N stands for its argument's tokens, as in stap", "[preprocess][args]") {
  Parsed p = parse("probe $1 { x = $2 } global $3", {"timer.ms(5)", "3 + y", "y"});
  REQUIRE(p.program->probes.size() == 1);
  CHECK(p.program->probes[0]->points.at(0).str() == "timer.ms(5)");
  CHECK(p.program->globals.at(0)->name == "y");
  CHECK(error_of("probe begin { x = $1 }", {"eth0"}) == "no error");  // the local eth0
  CHECK(error_of("probe begin { x = $1 }", {"1 +"}) == "1:22 expected expression");
}

TEST_CASE("preprocess: argument errors name the argument and the use", "[preprocess][args][errors]") {
  CHECK(error_of("probe begin {\n  x = $3\n}", {"1", "2"}) == "2:7 command line argument index 3 out of range [1-2]");
  CHECK(error_of("probe begin { x = @1 }") == "1:19 command line argument index 1 out of range [1-0]");
  // $N stands for its argument's tokens: an empty one leaves nothing.
  CHECK(error_of("probe begin { x = $1 }", {""}) == "1:22 expected expression");
  // Arguments inside strings and comments are text.
  CHECK(error_of("probe begin { x = \"$1 @2\" # $3\n}") == "no error");
}

TEST_CASE("preprocess: a location after an expansion on the same line", "[preprocess][locations]") {
  CHECK(error_of("probe begin { x = @1 + ) }", {"a long argument text"}) == "1:24 expected expression");
}

// ---------------------------------------------------------------- the running system

TEST_CASE("preprocess: the running system's release and arch come from uname", "[preprocess][system]") {
  const PreprocessTarget &running = PreprocessTarget::running_system();
  CHECK_FALSE(running.kernel_release.empty());
  CHECK_FALSE(running.arch.empty());
  SourceFile file("t.stp", "%( kernel_vr == \"" + running.kernel_release + "\" %? yes %: no %)");
  CHECK(preprocess(file).text.find("yes") != std::string::npos);
}

TEST_CASE("preprocess: a kernel's configuration is read once, from its file", "[preprocess][config]") {
  const KernelConfig &config = test::fixture_kernel().config();
  CHECK(&config == &test::fixture_kernel().config());
  REQUIRE(config.available());
  CHECK(config.origin() == test::fixture_paths().config);
  CHECK(config.value("CONFIG_HZ") == "300");
  CHECK(config.value("CONFIG_KPROBES") == "");
  PreprocessTarget target = PreprocessTarget::running_system();
  target.config = [] () -> const KernelConfig & { return test::fixture_kernel().config(); };
  SourceFile file("t.stp", "%( CONFIG_BPF == \"y\" && CONFIG_KPROBES != \"y\" %? yes %: no %)");
  PreprocessOptions options;
  options.target = &target;
  CHECK(preprocess(file, options).text.find("yes") != std::string::npos);
}

TEST_CASE("preprocess: the running kernel's configuration", "[preprocess][config][host]") {
  const KernelConfig &config = test::host_kernel().config();
  if (!config.available()) {
    WARN("no /boot/config-* or /proc/config.gz on this machine");
    return;
  }
  CHECK_FALSE(config.origin().empty());
  // Every kernel ntap runs on has BPF built in.
  CHECK(config.value("CONFIG_BPF") == "y");
}

TEST_CASE("preprocess: the plain parse_script preprocesses too", "[preprocess]") {
  SourceFile file("t.stp", "%( runtime == \"bpf\" %? probe begin { } %: probe end { } %)");
  auto program = parse_script(file);
  REQUIRE(program->probes.size() == 1);
  CHECK(program->probes[0]->points[0].components[0].name == "begin");
}

TEST_CASE("preprocess: the end of the output is the end of the script", "[preprocess][locations]") {
  CHECK(error_of("@define open %( probe begin { %)\n@open\n") == "3:1 unexpected end of file, expected '}'");
}

TEST_CASE("preprocess: a gzipped configuration is read in process", "[preprocess][config]") {
  // /proc/config.gz's format: a gzip stream, written here by zlib itself.
  char path[] = "/tmp/ntap-config-XXXXXX.gz";
  const int fd = mkstemps(path, 3);
  REQUIRE(fd >= 0);
  gzFile out = gzdopen(fd, "wb");
  REQUIRE(out != nullptr);
  const std::string text = "CONFIG_BPF=y\n# CONFIG_KPROBES is not set\nCONFIG_HZ=250\n";
  REQUIRE(gzwrite(out, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  REQUIRE(gzclose(out) == Z_OK);
  CHECK(read_config_file(path) == text);
  KernelConfig config = KernelConfig::parse(read_config_file(path));
  CHECK(config.value("CONFIG_HZ") == "250");
  CHECK(config.value("CONFIG_KPROBES") == "");  // "is not set"
  // Not gzip at all: nothing, rather than the raw bytes.
  {
    FILE *plain = std::fopen(path, "wb");
    REQUIRE(plain);
    std::fputs("\x1f\x8b garbage that is not a deflate stream", plain);
    std::fclose(plain);
  }
  CHECK(read_config_file(path).empty());
  std::remove(path);
}

// ---------------------------------------------------------------- macro libraries

namespace {

// The squeezed preprocessed text of `text` with `libraries` (*.stpm) loaded,
// or "FILE:LINE:COL message" of its error.
std::string with_libraries(const std::string &text, const std::vector<const SourceFile *> &libraries) {
  SourceFile file("t.stp", text);
  PreprocessOptions options = options_with({});
  options.macro_libraries = libraries;
  try {
    return squeezed(preprocess(file, options).text);
  } catch (const CompileError &e) {
    return e.location().file->name + ":" + std::to_string(e.location().line) + ":" +
           std::to_string(e.location().col) + " " + e.message();
  }
}

}  // namespace

TEST_CASE("preprocess: macro libraries (.stpm) define macros for every script", "[preprocess][macros]") {
  SourceFile a("a.stpm", "// shared\n@define twice(x) %( (2 * (@x)) %)\n@define hello %( \"hi\" %)\n");
  SourceFile b("b.stpm", "@define quad(x) %( @twice(@twice(@x)) %)\n");
  CHECK(with_libraries("x = @quad(3) . @hello", {&a, &b}) == "x = (2 * ( (2 * ( 3 )) )) . \"hi\"");
  // The script may replace a library's macro; a second library may not.
  CHECK(with_libraries("@define hello %( \"mine\" %) x = @hello", {&a}) == "x = \"mine\"");
  SourceFile again("c.stpm", "@define hello %( 1 %)");
  CHECK(with_libraries("x = 1", {&a, &again}) == "c.stpm:1:9 attempt to redefine macro '@hello'");
  SourceFile probe("d.stpm", "probe begin { }");
  CHECK(with_libraries("x = 1", {&probe}) ==
        "d.stpm:1:1 a macro library (.stpm) may only define macros (@define NAME %( ... %))");
  SourceFile broken("e.stpm", "@define broken %( 1 + * %)");
  SourceFile file("t.stp", "probe begin { x = @broken }");
  ParseOptions options;
  options.preprocessor = options_with({});
  options.preprocessor.macro_libraries = {&broken};
  try {
    parse_script(file, options);
    FAIL("a broken library macro parsed");
  } catch (const CompileError &e) {
    CHECK(e.location().file == &file);  // located at the use, with a note naming the library
    CHECK(std::string(e.what()).find("defined at e.stpm:1:9") != std::string::npos);
  }
}
