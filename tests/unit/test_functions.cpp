// Script functions, probe aliases and probe-point forms: parsing, elaboration
// (resolution, inference, sides, alias expansion) and user-side runs through
// the real runtime.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codegen/bpf/bpf_codegen.h"
#include "codegen/host/host_codegen.h"
#include "abi/layout.h"
#include "frontend/parser.h"
#include "passes/passes.h"
#include "frontend/tapset.h"
#include "runtime/session.h"
#include "support.h"

using namespace ntap;
using ast::Type;

namespace {

using Checked = test::CheckedScript;

std::unique_ptr<Checked> parse(const std::string &text) {
  auto c = std::make_unique<Checked>();
  c->program = parse_script(c->sources.add("f.ntp", text));
  return c;
}

std::unique_ptr<Checked> check(const std::string &text, bool keep_unused = false,
                               const std::vector<std::string> &tapset_dirs = {}) {
  return test::check_script(text, {.keep_unused = keep_unused, .tapset_dirs = tapset_dirs});
}

// "LINE:COL message" of the error a script is rejected with.
std::string error_of(const std::string &text, const std::vector<std::string> &tapset_dirs = {}) {
  return test::error_of(text, {.tapset_dirs = tapset_dirs});
}

const ast::Global &global_of(const Checked &c, const std::string &name) {
  for (const auto &g : c.program->globals)
    if (g->name == name) return *g;
  throw std::runtime_error("no global " + name);
}

const ast::Function *function(const Checked &c, const std::string &name) {
  for (const auto &f : c.program->functions)
    if (f->name == name) return f.get();
  return nullptr;
}

std::string read_file(const std::string &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a script with only user probes through the real runtime; returns
// what it printed (and the exit status through `status`).
std::string run(const std::string &text, int *status = nullptr, const std::vector<std::string> &tapset_dirs = {}) {
  auto c = check(text, false, tapset_dirs);
  Layout layout = Layout::build(*c->program, LayoutOptions{});
  BpfObject bpf = compile_kernel_probes(*c->program, layout, BpfCodegenOptions{});
  auto host = compile_user_probes(*c->program, layout, HostCodegenOptions{});
  char path[] = "/tmp/ntap-functions-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  RunOptions options;
  options.output_path = path;
  options.timeout_seconds = 5;
  int result = run_session(*c->program, layout, bpf, *host, test::fixture_kernel(), options);
  if (status) *status = result;
  std::string out = read_file(path);
  std::remove(path);
  return out;
}

// The user-written statements of an expanded probe body, as the names of
// the functions they call, in order (flattening nested blocks).
void called_names(const ast::Stmt &s, std::vector<std::string> &out) {
  if (s.kind == ast::StmtKind::Block) {
    for (const auto &inner : ast::cast<ast::BlockStmt>(s).stmts) called_names(*inner, out);
  } else if (s.kind == ast::StmtKind::Expr) {
    const auto &e = *ast::cast<ast::ExprStmt>(s).expr;
    if (e.kind == ast::ExprKind::Call) out.push_back(ast::cast<ast::CallExpr>(e).name);
  } else if (s.kind == ast::StmtKind::If) {
    out.push_back("if");
  }
}

std::vector<std::string> body_calls(const ast::Probe &p) {
  std::vector<std::string> out;
  called_names(*p.body, out);
  return out;
}

// A tapset directory with the given files, removed with the object.
struct TempTapset {
  std::string dir;
  TempTapset(std::initializer_list<std::pair<std::string, std::string>> files) {
    char pattern[] = "/tmp/ntap-tapset-XXXXXX";
    dir = mkdtemp(pattern);
    for (const auto &[name, text] : files) std::ofstream(dir + "/" + name) << text;
  }
  ~TempTapset() { std::filesystem::remove_all(dir); }
};

}  // namespace

// ---------------------------------------------------------------- parsing

TEST_CASE("functions: definitions parse with parameters and optional types", "[functions][parse]") {
  auto c = parse("function add(a, b) { return a + b }\nfunction name:string (pid:long, s:string) { return s }");
  REQUIRE(c->program->functions.size() == 2);
  const ast::Function &add = *c->program->functions[0];
  CHECK(add.name == "add");
  CHECK(add.params == std::vector<std::string>{"a", "b"});
  CHECK(add.declared_params == std::vector<Type>{Type::Unknown, Type::Unknown});
  CHECK(add.declared_result == Type::Unknown);
  CHECK(add.loc.line == 1);
  CHECK(add.loc.col == 10);
  const ast::Function &name = *c->program->functions[1];
  CHECK(name.declared_result == Type::String);
  CHECK(name.declared_params == std::vector<Type>{Type::Long, Type::String});
  REQUIRE(name.body->stmts.size() == 1);
  CHECK(name.body->stmts[0]->kind == ast::StmtKind::Return);
}

TEST_CASE("functions: malformed definitions are reported at the offending token", "[functions][parse]") {
  CHECK(error_of("function (a) { }") == "1:10 expected function name");
  CHECK(error_of("function f { }") == "1:12 expected '('");
  CHECK(error_of("function f(a:int) { }") == "1:14 expected type 'long' or 'string'");
  CHECK(error_of("function f(a, ) { }") == "1:15 expected parameter name");
  CHECK(error_of("function f(a) return a") == "1:15 expected '{'");
  CHECK(error_of("function f(a, b, a) { }") == "1:18 duplicate parameter name");
  CHECK(error_of("function f:float () { }") == "1:12 expected type 'long' or 'string'");
}

TEST_CASE("aliases: prologue and epilogue definitions parse", "[aliases][parse]") {
  auto c = parse("probe my.begin, my.start = begin(5), timer.s(1) { x = 1 }\nprobe my.end += end { y = 2 }");
  REQUIRE(c->program->aliases.size() == 2);
  CHECK(c->program->probes.empty());
  const ast::ProbeAlias &first = *c->program->aliases[0];
  REQUIRE(first.names.size() == 2);
  CHECK(first.names[1].str() == "my.start");
  REQUIRE(first.points.size() == 2);
  CHECK(first.points[0].str() == "begin(5)");
  CHECK_FALSE(first.epilogue);
  CHECK(c->program->aliases[1]->epilogue);
  CHECK(error_of("probe a(1) = begin { }") == "1:7 an alias name cannot have arguments");
  CHECK(error_of("probe a = { }") == "1:11 expected probe point");
}

TEST_CASE("probe points: conditions, '!' and brace groups parse", "[probe_points][parse]") {
  auto c = parse("probe begin if (x > 1) { }\nprobe begin!, end? { }\nprobe timer.{ms,s}(1) { }");
  REQUIRE(c->program->probes.size() == 3);
  REQUIRE(c->program->probes[0]->condition);
  CHECK(c->program->probes[0]->condition->kind == ast::ExprKind::Binary);
  const auto &points = c->program->probes[1]->points;
  CHECK(points[0].sufficient);
  CHECK(points[0].optional);
  CHECK_FALSE(points[1].sufficient);
  CHECK(points[1].optional);
  CHECK(c->program->probes[2]->points[0].components[1].name == "{ms,s}");
  // A probe whose points carry their own conditions becomes one probe per point.
  auto split = parse("probe begin if (a), end if (b) { println(1) }");
  REQUIRE(split->program->probes.size() == 2);
  CHECK(split->program->probes[1]->points[0].str() == "end");
  CHECK(error_of("probe begin if x { }") == "1:16 expected '('");
}

// ---------------------------------------------------------------- resolution and types

TEST_CASE("functions: calls resolve by name and arity", "[functions][resolve]") {
  auto c = check("function f(a) { return a }\nfunction f(a, b) { return a . b }\n"
                 "probe begin { x = f(1); s = f(\"a\", \"b\"); print(x, s) }");
  REQUIRE(c->program->functions.size() == 2);
  CHECK(c->program->functions[0]->result == Type::Long);
  CHECK(c->program->functions[1]->result == Type::String);
  CHECK(error_of("function f(a) { return a }\nprobe begin { f(1, 2, 3) }") ==
        "2:15 wrong number of arguments to function f (3 given, 1 expected)");
  CHECK(error_of("probe begin { g(1) }") == "1:15 unresolved function");
  CHECK(error_of("function f(a) { }\nfunction f(b) { }\nprobe begin { f(1) }").rfind(
            "2:10 duplicate function definition (first at t.ntp:1:10)", 0) == 0);
}

TEST_CASE("functions: parameter and result types come from calls and returns", "[functions][types]") {
  auto c = check("function wrap(s) { return \"[\" . s . \"]\" }\nfunction id(x) { return x }\n"
                 "function nothing() { }\nprobe begin { a = wrap(\"x\"); b = id(3); c = nothing() + 0; print(a, b, c) }");
  const ast::Function *wrap = function(*c, "wrap");
  REQUIRE(wrap);
  CHECK(wrap->locals[0]->type == Type::String);
  CHECK(wrap->result == Type::String);
  CHECK(function(*c, "id")->result == Type::Long);
  CHECK(function(*c, "nothing")->result == Type::Long);
  const auto &locals = c->program->probes[0]->locals;
  CHECK(locals[0]->type == Type::String);
  CHECK(locals[1]->type == Type::Long);
  // Without `return EXPR` there is no value for a plain assignment to type
  // (stap: "unresolved type"); a call as a statement is fine.
  CHECK(error_of("function nothing() { }\nprobe begin { c = nothing(); print(c) }") == "2:15 unresolved type");
  CHECK_NOTHROW(check("function nothing() { }\nprobe begin { nothing() }"));
}

TEST_CASE("functions: type conflicts are reported where they arise", "[functions][types]") {
  CHECK(error_of("function f:long (x:string) { return x }\nprobe begin { print(f(\"s\")) }") ==
        "1:37 type mismatch (string vs. long)");
  CHECK(error_of("function f(x:long) { }\nprobe begin { print(f(\"s\")) }") == "2:23 type mismatch (long vs. string)");
  CHECK(error_of("function f(x) { return x }\nprobe begin { a = f(1); b = f(\"s\"); print(a, b) }") ==
        "2:31 type mismatch (long vs. string)");
  CHECK(error_of("global s\nfunction f() { return s }\nprobe begin { s <<< 1; print(f()) }") ==
        "2:23 type mismatch (long vs. stats)");
  CHECK(error_of("function f() { return $location }\nprobe begin { print(f()) }") ==
        "1:23 target variables can only be used in probes; pass the value to the function");
}

TEST_CASE("functions: parameters hide globals, other names are per-call locals", "[functions][resolve]") {
  auto c = check("global x, n\nfunction f(x) { y = x; n = y; return y }\nprobe begin { x = \"g\"; f(1) }");
  const ast::Function *f = function(*c, "f");
  REQUIRE(f->locals.size() == 2);
  CHECK(f->locals[0]->name == "x");
  CHECK(f->locals[0]->type == Type::Long);
  CHECK(f->locals[1]->name == "y");
  CHECK(c->program->find_global("x")->value_type == Type::String);
  CHECK(c->program->find_global("n")->value_type == Type::Long);
}

TEST_CASE("functions: only functions a probe reaches are kept, unless -u", "[functions][resolve]") {
  auto c = check("function used() { return helper() }\nfunction helper() { return 1 }\n"
                 "function unused() { return nosuch() }\nprobe begin { print(used()) }");
  CHECK(c->program->functions.size() == 2);
  CHECK(function(*c, "unused") == nullptr);
  CHECK_THROWS_AS(check("function unused() { return nosuch() }\nprobe begin { }", true), CompileError);
  auto kept = check("function spare(a) { return a }\nprobe begin { }", true);
  REQUIRE(kept->program->functions.size() == 1);
  CHECK(kept->program->functions[0]->locals[0]->type == Type::Long);
}

// ---------------------------------------------------------------- sides

TEST_CASE("functions: each side a function is called from is recorded", "[functions][sides]") {
  auto c = check("function both(a) { return a + 1 }\nfunction user_only(a) { return a }\n"
                 "probe kernel.trace(\"kfree_skb\") { x = both($location); print(x) }\n"
                 "probe begin { y = both(1) + user_only(2); print(y) }");
  CHECK(function(*c, "both")->called_in_kernel);
  CHECK(function(*c, "both")->called_in_user);
  CHECK_FALSE(function(*c, "user_only")->called_in_kernel);
  CHECK(function(*c, "user_only")->called_in_user);
}

TEST_CASE("functions: recursion is allowed in user probes, rejected in kernel probes", "[functions][sides]") {
  CHECK(error_of("function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) }\nprobe begin { fact(5) }") == "no error");
  CHECK(error_of("function even(n) { return n == 0 ? 1 : odd(n - 1) }\n"
                 "function odd(n) { return n == 0 ? 0 : even(n - 1) }\n"
                 "probe kernel.trace(\"kfree_skb\") { x = even($reason) }") ==
        "2:39 recursive function calls are not possible in kernel probes (BPF cannot recurse): "
        "even -> odd -> even");
}

TEST_CASE("functions: kernel-side rules apply inside functions called from the kernel", "[functions][sides]") {
  CHECK(error_of("global a\nprobe begin { a[1] = 1 }\nfunction walk() { foreach (k+ in a) { print(k) } }\nprobe kernel.trace(\"kfree_skb\") { walk() }")
            .rfind("3:19 a sorted foreach is not supported in kernel probes", 0) == 0);
  CHECK(error_of("global a\nprobe begin { a[1] = 1 }\nfunction walk() { foreach (k in a) { print(k) } }\nprobe kernel.trace(\"kfree_skb\") { walk() }") ==
        "no error");
  CHECK(error_of("function spin() { while (0) { } }\nprobe begin { spin() }") == "no error");
  CHECK(error_of("function name(a) { return symname(a) }\nprobe kernel.trace(\"kfree_skb\") { x = name($location); print(x) }")
            .rfind("1:27 in kernel probes, symname() can only be used as a printf/print argument", 0) == 0);
}

// ---------------------------------------------------------------- alias expansion

TEST_CASE("aliases: a prologue runs before the body, an epilogue after it", "[aliases]") {
  auto c = check("probe pro = begin { printf(\"pro\\n\") }\nprobe epi += end { println(\"epi\") }\n"
                 "probe pro { print(\"body\") }\nprobe epi { print(\"body\") }");
  REQUIRE(c->program->probes.size() == 2);
  CHECK(c->program->probes[0]->resolved[0].name == "begin");
  CHECK(body_calls(*c->program->probes[0]) == std::vector<std::string>{"printf", "print"});
  CHECK(c->program->probes[1]->resolved[0].name == "end");
  CHECK(body_calls(*c->program->probes[1]) == std::vector<std::string>{"print", "println"});
}

TEST_CASE("aliases: aliases of aliases nest, suffixes carry through", "[aliases]") {
  auto c = check("probe tick = timer { print(\"outer\") }\nprobe fast = tick.ms(10) { print(\"inner\") }\n"
                 "probe fast { print(\"body\") }");
  REQUIRE(c->program->probes.size() == 1);
  CHECK(c->program->probes[0]->resolved[0].name == "timer.ms(10)");
  CHECK(body_calls(*c->program->probes[0]) == std::vector<std::string>{"print", "print", "print"});
  CHECK(error_of("probe loop = loop { }\nprobe loop { }").rfind(
            "2:7 probe alias expansion is too deep", 0) == 0);
}

TEST_CASE("aliases: wildcards in a probe point match alias names", "[aliases]") {
  auto c = check("probe my.one = begin(1) { }\nprobe my.two = begin(2) { }\nprobe other = end { }\n"
                 "probe my.* { }\nprobe m** { }");
  REQUIRE(c->program->probes.size() == 4);
  CHECK(c->program->probes[0]->resolved[0].name == "begin(1)");
  CHECK(c->program->probes[1]->resolved[0].name == "begin(2)");
  CHECK(c->program->probes[2]->resolved[0].name == "begin(1)");
}

TEST_CASE("aliases: a probe mixing alias and plain points is split", "[aliases]") {
  auto c = check("probe pro = end { print(\"pro\") }\nprobe begin, pro { print(\"body\") }");
  REQUIRE(c->program->probes.size() == 2);
  CHECK(c->program->probes[0]->resolved[0].name == "begin");
  CHECK(body_calls(*c->program->probes[0]) == std::vector<std::string>{"print"});
  CHECK(body_calls(*c->program->probes[1]) == std::vector<std::string>{"print", "print"});
}

// ---------------------------------------------------------------- probe-point forms

TEST_CASE("probe points: {a,b} alternatives expand in components and strings", "[probe_points]") {
  auto c = check("probe timer.{ms,s}(100) { }");
  REQUIRE(c->program->probes.size() == 1);
  REQUIRE(c->program->probes[0]->resolved.size() == 2);
  CHECK(c->program->probes[0]->resolved[0].name == "timer.ms(100)");
  CHECK(c->program->probes[0]->resolved[1].name == "timer.s(100)");
  auto k = check("probe kernel.trace(\"{kfree_skb,consume_skb}\") { }");
  REQUIRE(k->program->probes[0]->resolved.size() == 2);
  CHECK(k->program->probes[0]->resolved[0].name == "skb:kfree_skb");
  CHECK(k->program->probes[0]->resolved[1].name == "skb:consume_skb");
}

TEST_CASE("probe points: never, '!' and '?'", "[probe_points]") {
  auto c = check("probe never { println(1) }\nprobe begin!, end { }\nprobe end?, begin { }");
  REQUIRE(c->program->probes.size() == 2);
  REQUIRE(c->program->probes[0]->resolved.size() == 1);
  CHECK(c->program->probes[0]->resolved[0].name == "begin");
  CHECK(c->program->probes[1]->resolved.size() == 2);
}

TEST_CASE("probe points: a condition becomes a guard at the top of the body", "[probe_points]") {
  auto c = check("global on\nprobe begin if (on) { println(1) }");
  REQUIRE(c->program->probes.size() == 1);
  const auto &stmts = c->program->probes[0]->body->stmts;
  REQUIRE(stmts.size() == 2);
  REQUIRE(stmts[0]->kind == ast::StmtKind::If);
  CHECK(ast::cast<ast::IfStmt>(*stmts[0]).then_stmt->kind == ast::StmtKind::Next);
  CHECK(c->program->find_global("on")->read_in_user);
}

// ---------------------------------------------------------------- the tapset

TEST_CASE("tapset: functions and aliases load from a directory; scripts override them", "[tapset]") {
  TempTapset lib({{"lib.ntp", "function twice(x) { return 2 * x }\nfunction pid() { return 0 }\n"
                              "probe start = begin { from_alias = 1 }\n"},
                  {"ignored.txt", "not a script"}});
  auto c = check("probe start { println(twice(from_alias), pid()) }", false, {lib.dir});
  REQUIRE(c->program->functions.size() == 1);  // pid() is the builtin: a tapset cannot hide it
  CHECK(c->program->functions[0]->from_tapset);
  CHECK(c->program->probes[0]->resolved[0].name == "begin");
  auto own = check("function twice(x) { return 3 * x }\nprobe begin { print(twice(1)) }", false, {lib.dir});
  REQUIRE(own->program->functions.size() == 1);
  CHECK_FALSE(own->program->functions[0]->from_tapset);
  CHECK(tapset_directories("/nonexistent/ntap", lib.dir, {"/x"}) == std::vector<std::string>{lib.dir, "/x"});
}

TEST_CASE("tapset: a file is read only when the script needs something it defines", "[tapset]") {
  // broken.ntp does not parse: a script that needs nothing from it never reads it.
  TempTapset lib({{"a.ntp", "function from_a() { return from_b() }\n"},
                  {"b.ntp", "function from_b() { return 7 }\nprobe net.hello = begin { }\n"},
                  {"broken.ntp", "function broken( {"}});
  CHECK(run("probe begin { println(from_a()); exit() }", nullptr, {lib.dir}) == "7\n");  // a needs b
  CHECK(run("probe net.* { println(1); exit() }", nullptr, {lib.dir}) == "1\n");      // a wildcard names b's alias
  CHECK(error_of("probe begin { broken() }", {lib.dir}) == "1:18 expected ')'");
  auto c = check("probe begin { exit() }", false, {lib.dir});
  CHECK(c->program->functions.empty());
  CHECK(c->program->aliases.empty());
}

TEST_CASE("tapset: a file's probes and public globals come with it; a global the script names pulls it in",
          "[tapset]") {
  TempTapset lib({{"counts.ntp", "global counts, cap = 3\nprivate global seen\n"
                                 "probe begin { counts[\"start\"] = cap; seen = 1 }\n"},
                  {"other.ntp", "private global hidden\nprobe begin { println(\"other\") }\n"}});
  // The script names `counts`: counts.ntp is read, its begin probe runs
  // after the script's; other.ntp declares no public global of a name the
  // script uses, so it is not read.
  CHECK(run("probe begin { counts[\"script\"] = 1 }\nprobe begin(1) { exit() }\n"
            "probe end { foreach (k+ in counts) println(k, counts[k]) }",
            nullptr, {lib.dir}) == "script1\nstart3\n");
  // A script's own global of that name needs no file, and a function's
  // parameter of that name is no global.
  auto own = check("global counts\nprobe begin { counts[1] = 1 }", false, {lib.dir});
  CHECK(own->program->probes.size() == 1);
  auto param = check("function f(cap) { return cap }\nprobe begin { println(f(1)) }", false, {lib.dir});
  CHECK(param->program->probes.size() == 1);
  // The tapset's probes are no reason to run: a script whose own probes are empty is refused.
  auto empty = check("function total() { return counts[1] }\nprobe begin { }", false, {lib.dir});
  REQUIRE(empty->program->probes.size() == 2);
  CHECK_THROWS_WITH(reject_all_empty_probes(*empty->program, {}, empty->program->probes[0]->loc),
                    Catch::Contains("no probes found"));
}

TEST_CASE("tapset: the scan finds every definition, and none in comments or strings", "[tapset]") {
  TapsetDefinitions d = scan_tapset_definitions(
      "// function in_comment() {}\n# probe hashed = begin {}\n/* function block() */\n"
      "function f:long (x) { s = \"function in_string()\" }\n"
      "private function g() { }\n"
      "probe tcp.receive, udp.recv(\"x\") = kernel.trace(\"a\") { }\n"
      "probe sock.send += begin { }\n"
      "%( kernel_v >= \"5.0\" %? function new_one() { } %: function old_one() { } %)\n"
      "global a, b[10], c = \"x,y\",\n  d%\nprivate global hidden\nglobal e = -1 // global in_comment\n");
  CHECK(d.functions == std::vector<std::string>{"f", "g", "new_one", "old_one"});
  CHECK(d.alias_heads == std::vector<std::string>{"tcp", "udp", "sock"});
  CHECK(d.globals == std::vector<std::string>{"a", "b", "c", "d", "e"});
}

TEST_CASE("tapset: -I directories also load SystemTap's .stp tapset files", "[tapset]") {
  TempTapset lib({{"net.stp", "function thrice(x) { return 3 * x }\nprobe my.start = begin { }\n"}});
  auto c = check("probe my.start { println(thrice(2)) }", false, {lib.dir});
  REQUIRE(c->program->functions.size() == 1);
  CHECK(c->program->functions[0]->name == "thrice");
  CHECK(c->program->functions[0]->from_tapset);
}

TEST_CASE("tapset: private globals and functions are visible only in their own file", "[tapset]") {
  TempTapset lib({{"counter.ntp", "private global count = 100\nprivate function step() { return 10 }\n"
                                  "function bump() { count += step(); return count }\n"}});
  // The script's own `count` and `step` are other variables and functions.
  CHECK(run("global count\nfunction step() { return 1 }\n"
            "probe begin { count += step(); printf(\"%d %d %d\\n\", bump(), bump(), count); exit() }",
            nullptr, {lib.dir}) == "110 120 1\n");
  CHECK(error_of("probe begin { println(step()) }", {lib.dir}) == "1:23 unresolved function");
  CHECK(error_of("probe begin { count[1] = 1 }", {lib.dir}) ==
        "1:15 unresolved arity-1 global array count, missing global declaration?");
  CHECK(error_of("private global n\nglobal n\nprobe begin { }") ==
        "2:8 global versus private variable declaration conflict");
  // stap's shorthand `private x, y` declares private globals.
  CHECK(global_of(*check("private x, y = 2\nprobe begin { x = y }"), "x").private_to != nullptr);
}

TEST_CASE("tapset: a file's public globals are shared with the script", "[tapset]") {
  // As stap's MIB tapsets: the alias counts into a public array through a
  // filter function the script may replace, and the script prints the array.
  TempTapset lib({{"mib.ntp", "global Hits\nfunction mib_filter_key(x) { return 1 }\n"
                              "probe mib.Hit = begin { key = mib_filter_key(7); if (key) Hits[key] += 1 }\n"}});
  CHECK(run("probe mib.Hit { } probe end { printf(\"%d\\n\", Hits[1]) } probe begin { exit() }", nullptr,
            {lib.dir}) == "1\n");
  CHECK(run("function mib_filter_key(x) { return x }\n"
            "probe mib.* { } probe end { printf(\"%d %d\\n\", Hits[7], Hits[1]) } probe begin { exit() }",
            nullptr, {lib.dir}) == "1 0\n");
  // The script's own global of that name is the one both use.
  auto own = check("global Hits\nprobe mib.Hit { Hits[2] = 5 }", false, {lib.dir});
  size_t named = 0;
  for (const auto &g : own->program->globals) named += g->name == "Hits";
  CHECK(named == 1);
  CHECK_FALSE(global_of(*own, "Hits").from_tapset);
  // Naming the global alone reads the file, as stap's symbol resolution
  // finds an undeclared name among the tapset's globals.
  CHECK(run("probe begin { Hits[1] = 4; printf(\"%d\\n\", Hits[1]); exit() }", nullptr, {lib.dir}) == "4\n");
  CHECK(error_of("probe begin { Misses[1] = 1 }", {lib.dir}) ==
        "1:15 unresolved arity-1 global array Misses, missing global declaration?");
}

// ---------------------------------------------------------------- running user probes

TEST_CASE("run: recursion, strings and overloading", "[functions][run]") {
  // fib(10): deep enough to recurse, small enough for MAXACTION (fib(20)
  // runs ~44000 statements, which stap stops too).
  CHECK(run("function fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2) }\n"
            "function greet:string (who:string) { return \"hello \" . who }\n"
            "function f(a) { return a * 2 }\nfunction f(a, b) { return a + b }\n"
            "probe begin { printf(\"%d %s %d %d\\n\", fib(10), greet(\"you\"), f(21), f(40, 2)); exit() }") ==
        "55 hello you 42 42\n");
}

TEST_CASE("run: every call has its own locals", "[functions][run]") {
  CHECK(run("function depth(n) { mine = n; if (n > 0) depth(n - 1); return mine }\n"
            "function counter() { c++; return c }\n"
            "probe begin { println(depth(5), counter(), counter()); exit() }") == "511\n");
}

TEST_CASE("run: next in a function ends the probe", "[functions][run]") {
  CHECK(run("function stop() { println(\"in\"); next; println(\"never\") }\n"
            "function pass(x) { return x }\n"
            "probe begin { pass(1); stop(); println(\"not reached\") }\n"
            "probe begin(1) { next; println(\"no\") }\n"
            "probe begin(2) { println(\"last\"); exit() }") == "in\nlast\n");
}

TEST_CASE("run: a run-time error in a function leaves the calling probe", "[functions][run]") {
  int status = 0;
  std::string out = run("function ratio(a, b) { return a / b }\n"
                        "probe begin { println(ratio(6, 3)); println(ratio(1, 0)); println(\"no\") }\n"
                        "probe end { println(\"end\") }",
                        &status);
  CHECK(out.rfind("2\n", 0) == 0);
  CHECK(out.find("no\n") == std::string::npos);
}

TEST_CASE("run: functions update globals and iterate arrays", "[functions][run]") {
  CHECK(run("global seen\nfunction note(k) { seen[k] += 1 }\n"
            "function total() { t = 0; foreach (k in seen) { t += seen[k]; if (t > 100) return -1 } return t }\n"
            "probe begin { note(\"a\"); note(\"b\"); note(\"a\"); println(total()); exit() }") == "3\n");
}

TEST_CASE("run: conditional probes run only while the condition holds", "[probe_points][run]") {
  CHECK(run("global on = 0, off\nprobe begin(1) if (on) { println(\"one\") }\n"
            "probe begin(2) { on = 1 }\nprobe begin(3) if (on) { println(\"three\") }\n"
            "probe begin(4) if (off) { println(\"four\") }\nprobe begin(5) { exit() }") == "three\n");
}

TEST_CASE("run: alias bodies share locals with the probe body, in order", "[aliases][run]") {
  CHECK(run("probe hello = begin { who = \"world\" }\nprobe bye += end { println(\"bye \", who) }\n"
            "probe hello { println(\"hello \", who); exit() }\nprobe bye { who = \"now\" }") ==
        "hello world\nbye now\n");
}

TEST_CASE("run: begin(N) and end(N) run by priority, then in script order", "[probe_points][run]") {
  CHECK(run("probe begin(10) { print(\"c\"); exit() }\nprobe begin { print(\"b\") }\nprobe begin(-5) { print(\"a\") }\n"
            "probe begin { print(\"b2\") }\nprobe end(1) { println(\"z\") }\nprobe end { print(\"y\") }") ==
        "abb2cyz\n");
}

TEST_CASE("kernel: functions inline into BPF programs, nested and string-valued", "[functions][bpf]") {
  auto c = check("global seen\nfunction tag:string (r) { return r == 3 ? \"nosock\" : \"other\" }\n"
                 "function twice(x) { return x + x }\nfunction four(x) { return twice(twice(x)) }\n"
                 "function skip(r) { if (r > 1000) next; return four(r) }\n"
                 "probe kernel.trace(\"kfree_skb\") { seen[tag($reason)] = skip($reason) }");
  Layout layout = Layout::build(*c->program, LayoutOptions{});
  BpfCodegenOptions options;
  options.keep_ir = true;
  BpfObject object = compile_kernel_probes(*c->program, layout, options);
  CHECK(object.programs.size() == 1);
  CHECK(object.units.size() == 1);
  // Inlined: no calls to script functions remain in the IR.
  CHECK(object.ir.find("fn_") == std::string::npos);
  CHECK(object.ir.find("return") != std::string::npos);
}

TEST_CASE("run: next propagates out of nested calls", "[functions][run]") {
  CHECK(run("function inner() { println(\"inner\"); next }\nfunction outer() { inner(); println(\"outer\") }\n"
            "probe begin { outer(); println(\"probe\") }\nprobe begin(1) { println(\"after\"); exit() }") ==
        "inner\nafter\n");
}

TEST_CASE("run: return inside foreach ends the iteration cleanly", "[functions][run]") {
  CHECK(run("global a\nfunction first_over(n) { foreach (k in a+) if (k > n) return k; return -1 }\n"
            "probe begin { a[1] = 1; a[5] = 1; a[9] = 1\n"
            "  println(first_over(3), \" \", first_over(7), \" \", first_over(9)); exit() }") == "5 9 -1\n");
}

TEST_CASE("run: string functions return empty strings by default", "[functions][run]") {
  CHECK(run("function pick:string (n) { if (n) return \"yes\"; return }\n"
            "function tail:string (s:string) { if (s == \"\") return \"<empty>\"; return s }\n"
            "probe begin { println(tail(pick(1)), \" \", tail(pick(0))); exit() }") == "yes <empty>\n");
}

TEST_CASE("aliases: an alias condition guards every probe that uses it", "[aliases]") {
  auto c = check("global on\nprobe when_on = begin if (on) { x = 1 }\nprobe when_on { println(x) }");
  REQUIRE(c->program->probes.size() == 1);
  // { if (!(on)) next; { x = 1 }; { println(x) } }
  const auto &stmts = c->program->probes[0]->body->stmts;
  REQUIRE(stmts.size() == 3);
  CHECK(stmts[0]->kind == ast::StmtKind::If);
  CHECK(body_calls(*c->program->probes[0]) == std::vector<std::string>{"if", "println"});
  CHECK(error_of("probe a? = begin { }") == "1:7 an alias name cannot be optional");
}

TEST_CASE("functions: a function used on both sides compiles for both", "[functions][bpf]") {
  auto c = check("global n\nfunction bump(by) { n += by; return n }\n"
                 "probe kernel.trace(\"kfree_skb\") { bump(1) }\nprobe end { println(bump(0)) }");
  Layout layout = Layout::build(*c->program, LayoutOptions{});
  BpfObject object = compile_kernel_probes(*c->program, layout, BpfCodegenOptions{});
  CHECK(object.programs.size() == 1);
  HostCodegenOptions host_options;
  host_options.keep_ir = true;
  auto host = compile_user_probes(*c->program, layout, host_options);
  CHECK(host->ir().find("fn_0_bump") != std::string::npos);
  CHECK(host->probe_function(1) != nullptr);
}

TEST_CASE("functions: 'private' functions and globals belong to their file", "[functions][parse]") {
  auto c = parse("private global hits\nprivate function bump() { hits++ }\nprobe begin { bump() }");
  REQUIRE(c->program->globals.size() == 1);
  REQUIRE(c->program->functions.size() == 1);
  CHECK(c->program->globals[0]->private_to == c->program->probes[0]->loc.file);
  CHECK(c->program->functions[0]->private_to == c->program->probes[0]->loc.file);
  CHECK(error_of("private probe begin { }") == "1:9 expected 'function', 'global' or a variable name after 'private'");
}
