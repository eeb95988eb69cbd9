// Hostile scripts: nesting too deep for the recursive passes is refused with
// a located error instead of exhausting the stack.
#include <catch2/catch.hpp>

#include <string>

#include "support.h"

using ntap::test::error_of;

namespace {

std::string repeat(const std::string &piece, size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (size_t i = 0; i < times; ++i) out += piece;
  return out;
}

const std::string too_deep = "nested too deeply (more than 1000 levels)";

// The error of a script nested `levels` deep by `open` ... `close` around `inner`.
std::string nested(const std::string &prefix, const std::string &open, const std::string &inner,
                   const std::string &close, size_t levels, const std::string &suffix = " }") {
  return error_of(prefix + repeat(open, levels) + inner + repeat(close, levels) + suffix);
}

}  // namespace

TEST_CASE("deep nesting of every kind is refused at its place", "[limits]") {
  const size_t deep = 20000;
  const std::string body = "probe begin { x = ";
  // Each error names line 1 and a column inside the nest, never a crash.
  CHECK(nested(body, "(", "1", ")", deep) == "1:1016 " + too_deep);
  CHECK(nested(body, "- ", "1", "", deep).find(too_deep) != std::string::npos);
  CHECK(nested(body, "! ", "1", "", deep).find(too_deep) != std::string::npos);
  CHECK(nested("function f(a) { return a } probe begin { x = ", "f(", "1", ")", deep).find(too_deep) !=
        std::string::npos);
  CHECK(nested("global a probe begin { x = ", "a[", "1", "]", deep).find(too_deep) != std::string::npos);
  CHECK(nested("probe begin { ", "x = ", "1", "", deep).find(too_deep) != std::string::npos);
  CHECK(nested(body, "1 ? 2 : ", "3", "", deep).find(too_deep) != std::string::npos);
  CHECK(nested("probe begin ", "{", "", "}", deep, "").find(too_deep) != std::string::npos);
  CHECK(nested("probe begin { ", "if (1) ", "x = 1", "", deep).find(too_deep) != std::string::npos);
  CHECK(nested("probe begin { ", "while (1) ", "x = 1", "", deep).find(too_deep) != std::string::npos);
  CHECK(nested("probe begin { if (1) x = 1 ", "else if (1) x = 1 ", "", "", deep).find(too_deep) !=
        std::string::npos);
  CHECK(nested("probe begin { ", "foreach (k in a) ", "x = 1", "", deep, " } global a").find(too_deep) !=
        std::string::npos);
}

TEST_CASE("a long flat operator chain is as deep as the tree it builds", "[limits]") {
  // 100k terms parse as one flat list but build a 100k-deep left-nested tree.
  for (const std::string op : {"+", ".", "&&", "||", "*", "<", "|"}) {
    const std::string term = op == "." ? "\"a\"" : "1";
    std::string chain = term + repeat(" " + op + " " + term, 100000);
    INFO(op);
    // Reported at the first operator past the limit: one near the 1000th
    // (the probe body's own levels count too).
    const std::string error = error_of("probe begin { x = " + chain + " }");
    REQUIRE(error.find(" " + too_deep) != std::string::npos);
    REQUIRE(error.rfind("1:", 0) == 0);
    const size_t column = std::stoul(error.substr(2));
    const size_t stride = term.size() + op.size() + 2, first_operator = 19 + term.size() + 1;
    CHECK((column - first_operator) % stride == 0);
    CHECK((column - first_operator) / stride + 1 > 990);
    CHECK((column - first_operator) / stride + 1 <= 1000);
  }
  // Chains inside chains add up: 40 levels of 40-operator chains is 1600 deep.
  std::string nest = "1";
  for (int i = 0; i < 40; ++i) nest = "(" + nest + repeat(" + 1", 40) + ")";
  CHECK(error_of("probe begin { x = " + nest + " }").find(too_deep) != std::string::npos);
}

TEST_CASE("nesting just inside the limit is accepted", "[limits]") {
  const std::string print = "; printf(\"%d\\n\", x) }";
  CHECK(error_of("probe begin { x = " + repeat("(", 990) + "1" + repeat(")", 990) + print) == "no error");
  CHECK(error_of("probe begin { x = 1" + repeat(" + 1", 990) + print) == "no error");
  CHECK(error_of("probe begin " + repeat("{", 990) + "x = 1; printf(\"%d\\n\", x)" + repeat("}", 990)) ==
        "no error");
  CHECK(error_of("function f(a) { return a } probe begin { x = " + repeat("f(", 490) + "1" + repeat(")", 490) +
                 print) == "no error");
  CHECK(error_of("probe begin { x = " + repeat("- ", 990) + "1" + print) == "no error");
}

TEST_CASE("regular expressions beyond the bounds are refused at the pattern", "[limits][regex]") {
  auto match = [](const std::string &pattern) {
    return error_of("probe begin { if (\"x\" =~ \"" + pattern + "\") printf(\"y\\n\") }");
  };
  // Each of these took gigabytes, minutes or the whole stack in regcomp.
  CHECK(match("((a{100}){100}){100}") ==
        "1:26 the regular expression is too large: its repetitions expand to more than 32768 elements");
  CHECK(match("(((((x*)*)*)*)*){2000}").find("too large") != std::string::npos);
  CHECK(match(repeat("a|", 30000) + "a") == "1:26 the regular expression is longer than 4096 bytes");
  CHECK(match(repeat("(", 101) + "a" + repeat(")", 101)) ==
        "1:26 the regular expression nests groups more than 100 deep");
  // The same pattern built from adjacent literals is measured whole.
  CHECK(error_of("probe begin { if (\"x\" =~ \"(a{200})\" \"{200}\") printf(\"y\\n\") }").find("too large") !=
        std::string::npos);
  // Within the bounds: large but reasonable patterns still compile.
  CHECK(match("(a{100}){100}") == "no error");
  CHECK(match(repeat("(", 100) + "a" + repeat(")", 100)) == "no error");
  CHECK(match(repeat("a|", 2000) + "a") == "no error");
  CHECK(match("[]a{]{5}(x|y)+[[:alpha:]{}]{3,}\\\\{9999\\\\}") == "no error");
}
