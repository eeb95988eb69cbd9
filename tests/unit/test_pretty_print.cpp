// $var$ and $var$$ (passes/pretty_print.h): the string expression a
// pretty-printed target variable becomes, read back as its sprintf formats.
#include <catch2/catch.hpp>

#include "frontend/ast.h"
#include "support.h"

using namespace ntap;
using namespace ntap::ast;

namespace {

struct Dump {
  std::string formats;  // every sprintf format and literal, in order
  size_t calls = 0;     // sprintf calls
  size_t most_values = 0;
};

void collect(const Expr &e, Dump &dump) {
  if (e.kind == ExprKind::Binary) {
    const auto &b = ast::cast<ast::BinaryExpr>(e);
    REQUIRE(b.op == BinaryOp::Concat);
    collect(*b.lhs, dump);
    collect(*b.rhs, dump);
  } else if (e.kind == ExprKind::Call) {
    const auto &call = ast::cast<ast::CallExpr>(e);
    REQUIRE(call.name == "sprintf");
    dump.formats += ast::cast<ast::StringExpr>(*call.args[0]).value;
    dump.calls++;
    dump.most_values = std::max(dump.most_values, call.args.size() - 1);
  } else {
    REQUIRE(e.kind == ExprKind::String);
    dump.formats += ast::cast<ast::StringExpr>(e).value;
  }
}

// What `x = EXPR` in a kfree_skb probe assigns, as its formats.
Dump dump_of(const std::string &expr, uint32_t string_limit = 128) {
  auto checked = test::check_script("probe kernel.trace(\"kfree_skb\") { x = " + expr + "; print(x) }",
                                    {.string_limit = string_limit});
  const auto &body = ast::cast<ast::BlockStmt>(*checked->program->probes.at(0)->body);
  const auto &stmt = ast::cast<ast::ExprStmt>(*body.stmts.at(0));
  const auto &assign = ast::cast<ast::AssignExpr>(*stmt.expr);
  Dump dump;
  collect(*assign.rhs, dump);
  return dump;
}

bool starts_with(const std::string &s, const std::string &prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("$var$ prints a struct's members, nested ones as {...}; $var$$ prints those too",
          "[pretty_print]") {
  const Dump shallow = dump_of("$skb$");
  CHECK(starts_with(shallow.formats, "{.next=0x%x, .prev=0x%x, .dev=0x%x, "));
  CHECK_THAT(shallow.formats, Catch::Contains(".rbnode={...}"));
  const Dump deep = dump_of("$skb$$");
  CHECK_THAT(deep.formats, Catch::Contains(".rbnode={.__rb_parent_color=%u, .rb_right=0x%x, .rb_left=0x%x}"));
  // Scalars, char arrays and the context dump.
  CHECK(dump_of("$skb->len$").formats == "%u");
  CHECK(dump_of("$skb->dev->name$").formats == "\"%s\"");
  CHECK(starts_with(dump_of("$$parms$").formats, "skb={.next=0x%x, "));
  CHECK(starts_with(dump_of("$skb->dev$").formats, "{."));
}

TEST_CASE("a pretty-printed value stops where MAXSTRINGLEN cuts it, in sprintf calls of at most 12 values",
          "[pretty_print]") {
  // 31 bytes are kept of a 32-byte string: three pointers fill them.
  CHECK(dump_of("$skb$", 32).formats == "{.next=0x%x, .prev=0x%x, .dev=0x%x");
  const Dump wide = dump_of("$skb$$", 512);
  CHECK(wide.calls >= 3);
  CHECK(wide.most_values == 12);
}

TEST_CASE("pretty-printing errors", "[pretty_print]") {
  CHECK(test::error_of("probe begin { println($x$) }") == "1:23 unable to find target variable $x in begin");
  CHECK(test::error_of("probe kernel.trace(\"kfree_skb\") { x = &$skb->dev$; print(x) }") ==
        "1:39 cannot take the address of a pretty-printed value");
}
