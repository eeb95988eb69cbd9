// Operators and statements of the whole language: `>>>`, regex matching with
// matched(n); parse results, exact error locations and run-time behaviour.
#include <catch2/catch.hpp>

#include "abi/runtime_api.h"
#include "frontend/parser.h"
#include "frontend/printer.h"
#include "runtime/session.h"

using namespace ntap;
using namespace ntap::ast;

namespace {

// The first statement of `probe begin { <statement> }`, printed back.
std::string parsed(const std::string &statement) {
  SourceFile file("<input>", "probe begin { " + statement + " }");
  auto program = parse_script(file);
  return print_stmt(*program->probes.at(0)->body->stmts.at(0));
}

const BinaryExpr &first_binary(const Program &program) {
  const auto &s = ast::cast<ast::ExprStmt>(*program.probes.at(0)->body->stmts.at(0));
  const auto &assign = ast::cast<ast::AssignExpr>(*s.expr);
  REQUIRE(assign.rhs->kind == ExprKind::Binary);
  return ast::cast<ast::BinaryExpr>(*assign.rhs);
}

// "FILE:LINE:COL: message" of the error parsing `text` raises.
std::string parse_error(const std::string &text) {
  SourceFile file("<input>", text);
  try {
    parse_script(file);
  } catch (const CompileError &e) {
    return e.location().str() + ": " + e.message();
  }
  return "no error";
}

}  // namespace

TEST_CASE("expr: >>> is a logical shift at the level of << and >>", "[expr]") {
  SourceFile file("<input>", "probe begin { x = a >>> 3 + 1 }");
  auto program = parse_script(file);
  const BinaryExpr &shift = first_binary(*program);
  CHECK(shift.op == BinaryOp::Ushr);
  CHECK(shift.rhs->kind == ExprKind::Binary);
  CHECK(shift.loc.str() == "<input>:1:21");
  CHECK(parsed("x = a >>> 3 >> 1") == "x = a >>> 3 >> 1;\n");
  CHECK(parsed("x = a >>> (3 >> 1)") == "x = a >>> (3 >> 1);\n");
}

TEST_CASE("expr: >>> does not swallow >>= or >>", "[expr]") {
  CHECK(parsed("x >>= 2") == "x >>= 2;\n");
  CHECK(parsed("x = a >> 2") == "x = a >> 2;\n");
  CHECK(parse_error("probe begin { x = a >>> }") == "<input>:1:25: expected expression");
}

TEST_CASE("expr: =~ and !~ compare at the level of ==", "[expr]") {
  SourceFile file("<input>", "probe begin { x = s =~ \"^a(b+)$\" }");
  auto program = parse_script(file);
  const BinaryExpr &match = first_binary(*program);
  CHECK(match.op == BinaryOp::RegexMatch);
  CHECK(match.loc.str() == "<input>:1:21");
  CHECK(parsed("x = s !~ \"a\" && t =~ \"b\"") == "x = s !~ \"a\" && t =~ \"b\";\n");
  // Comparisons are left-associative: the parentheses are not needed.
  CHECK(parsed("x = (s =~ \"a\") == 1") == "x = s =~ \"a\" == 1;\n");
  CHECK(parsed("x = s == (t =~ \"a\")") == "x = s == (t =~ \"a\");\n");
  CHECK(parsed("x = a . \"b\" =~ \"ab\"") == "x = a . \"b\" =~ \"ab\";\n");
  // `!~x` in front of an operand is still ! applied to ~x.
  CHECK(parsed("x = !~y") == "x = ! ~y;\n");
}

TEST_CASE("expr: the regex of =~ must be a valid literal", "[expr]") {
  CHECK(parse_error("probe begin { x = s =~ t }") ==
        "<input>:1:24: the regular expression of =~ / !~ must be a literal string");
  CHECK(parse_error("probe begin {\n  x = s !~ (\"a\" . \"b\")\n}") ==
        "<input>:2:13: the regular expression of =~ / !~ must be a literal string");
  const std::string unmatched = parse_error("probe begin { x = s =~ \"a(b\" }");
  CHECK(unmatched.rfind("<input>:1:24: invalid regular expression: ", 0) == 0);
  const std::string bad_repeat = parse_error("probe begin { if (s =~ \"a{2,1}\") next }");
  CHECK(bad_repeat.rfind("<input>:1:24: invalid regular expression: ", 0) == 0);
}

TEST_CASE("expr: regex matching and matched(n) at run time", "[expr]") {
  ntap_rt rt;
  CHECK(ntap_regex_match(&rt, "tcp_v4_rcv", "^tcp_(v[46])_(rcv|send)$") == 1);
  CHECK(std::string(ntap_fn_matched(&rt, 0)) == "tcp_v4_rcv");
  CHECK(std::string(ntap_fn_matched(&rt, 1)) == "v4");
  CHECK(std::string(ntap_fn_matched(&rt, 2)) == "rcv");
  CHECK(std::string(ntap_fn_matched(&rt, 3)).empty());
  CHECK(std::string(ntap_fn_matched(&rt, -1)).empty());
  // A failed match keeps the groups of the last successful one.
  CHECK(ntap_regex_match(&rt, "udp", "^tcp") == 0);
  CHECK(std::string(ntap_fn_matched(&rt, 1)) == "v4");
  // Extended syntax: alternation, +, classes, anchors; an unmatched optional group is "".
  CHECK(ntap_regex_match(&rt, "aaa-7", "^a+-[[:digit:]]$") == 1);
  CHECK(ntap_regex_match(&rt, "x", "^(y)?x$") == 1);
  CHECK(std::string(ntap_fn_matched(&rt, 1)).empty());
  CHECK(ntap_regex_match(&rt, "", "^$") == 1);
  CHECK(ntap_regex_match(&rt, "abc", "b") == 1);
  CHECK(std::string(ntap_fn_matched(&rt, 0)) == "b");
}

TEST_CASE("expr: try/catch parses with and without a message variable", "[expr]") {
  CHECK(parsed("try { x = 1 / y } catch (msg) { println(msg) }") ==
        "try\n{\n    x = 1 / y;\n}\ncatch (msg)\n{\n    println(msg);\n}\n");
  CHECK(parsed("try { error(\"e\") } catch { }") == "try\n{\n    error(\"e\");\n}\ncatch\n{\n}\n");
  SourceFile file("<input>", "probe begin { try { } catch (m) { } }");
  auto program = parse_script(file);
  const auto &t = ast::cast<ast::TryStmt>(*program->probes.at(0)->body->stmts.at(0));
  CHECK(t.kind == StmtKind::Try);
  CHECK(t.loc.str() == "<input>:1:15");
  REQUIRE(t.catch_name);
  CHECK(*t.catch_name == "m");
}

TEST_CASE("expr: try/catch syntax errors", "[expr]") {
  CHECK(parse_error("probe begin { try { } }") == "<input>:1:23: expected 'catch'");
  CHECK(parse_error("probe begin { try x = 1 catch { } }") == "<input>:1:19: expected '{'");
  CHECK(parse_error("probe begin { try { } catch (1) { } }") == "<input>:1:30: expected variable name");
  CHECK(parse_error("probe begin { try { } catch (m { } }") == "<input>:1:32: expected ')'");
}

TEST_CASE("expr: wildcard subscripts parse as null keys and print back", "[expr]") {
  CHECK(parsed("delete a[*, 5]") == "delete a[*, 5];\n");
  CHECK(parsed("delete a[ * ,*]") == "delete a[*, *];\n");
  CHECK(parsed("x = [1, *] in a") == "x = [1, *] in a;\n");
  SourceFile file("<input>", "probe begin { delete a[*, 5] }");
  auto program = parse_script(file);
  const auto &del = ast::cast<ast::DeleteStmt>(*program->probes.at(0)->body->stmts.at(0));
  const auto &index = ast::cast<ast::IndexExpr>(*del.target);
  REQUIRE(index.keys.size() == 2);
  CHECK(index.keys[0] == nullptr);
  CHECK(index.keys[1] != nullptr);
  CHECK(parse_error("probe begin { x = a[] }") == "<input>:1:21: expected expression");
}

TEST_CASE("expr: foreach over an array slice parses and prints back", "[expr]") {
  CHECK(parsed("foreach ([k, v] in a[*, 5]) next") == "foreach ([k, v] in a[*, 5])\n    next;\n");
  CHECK(parsed("foreach ([k, v] in a[1, *]- limit 2) next") == "foreach ([k, v] in a[1, *]- limit 2)\n    next;\n");
  CHECK(parse_error("global a\nprobe begin { foreach ([k, v] in a[*, ]) next }") == "<input>:2:39: expected expression");
}
