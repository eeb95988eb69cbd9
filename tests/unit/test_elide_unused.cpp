// elide_unused: `x = value` goes when nothing reads x and value has
// no effect; what has an effect, or is read, stays; -u keeps everything.
#include <catch2/catch.hpp>

#include "passes/passes.h"
#include "support.h"

using namespace ntap;

namespace {

std::vector<std::string> local_names(const ast::Probe &probe) {
  std::vector<std::string> names;
  for (const auto &local : probe.locals) names.push_back(local->name);
  return names;
}

size_t statements(const ast::Probe &probe) { return probe.body->stmts.size(); }

}  // namespace

TEST_CASE("elision: unread locals with effect-free values go, chains too", "[passes][elide]") {
  // c is never read; b only by c; a by the println.
  auto c = test::check_script("probe begin { a = 1; b = a + 2; c = sprintf(\"%d\", b); println(a) }");
  const ast::Probe &probe = *c->program->probes.at(0);
  CHECK(local_names(probe) == std::vector<std::string>{"a"});
  CHECK(statements(probe) == 2);
  CHECK(probe.elided_statements);
  for (uint32_t i = 0; i < probe.locals.size(); ++i) CHECK(probe.locals[i]->index == i);
}

TEST_CASE("elision: values with an effect stay", "[passes][elide]") {
  // An assignment inside, a division (division by 0), a regex match
  // (matched()), tokenize's state, a function writing a global, an error
  // raising reader, a compound assignment (it reads x), a function adding
  // to an aggregate and one that may end the probe with `next`.
  auto c = test::check_script(
      "global g\n"
      "function bump() { g++; return g }\n"
      "global s\n"
      "function add() { s <<< 1; return 0 }\n"
      "function leave(x) { if (x) next; return x }\n"
      "function pure(x) { y = x * 2; return y }\n"
      "probe begin { a = (g = 3); b = 10 / g; d = \"x\" =~ \"x\"; e = tokenize(\"a b\", \" \"); f = bump();\n"
      "  h = randint(5); i = 1; i += 2; j = add(); k = leave(g); p = pure(4); println(g) }");
  const ast::Probe &probe = *c->program->probes.at(0);
  CHECK(local_names(probe) == std::vector<std::string>{"a", "b", "d", "e", "f", "h", "i", "j", "k"});
  CHECK(statements(probe) == 11);  // p = pure(4) went
}

TEST_CASE("elision: -u keeps unread locals", "[passes][elide]") {
  auto c = test::check_script("probe begin { a = 1; b = sprintf(\"%d\", a) }", {.keep_unused = true});
  const ast::Probe &probe = *c->program->probes.at(0);
  CHECK(local_names(probe) == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(probe.elided_statements);
}

TEST_CASE("elision: a probe left empty still counts as doing something", "[passes][elide]") {
  // Nothing to run, but not stap's "no probes found" either: the script
  // wrote an assignment.
  auto c = test::check_script("probe kernel.trace(\"kfree_skb\") { x = $skb->len }");
  const ast::Probe &probe = *c->program->probes.at(0);
  CHECK(statements(probe) == 0);
  CHECK_NOTHROW(reject_all_empty_probes(*c->program, {}, probe.loc));
}

// Target expressions elaboration cannot resolve keep their error
// (ast::UnresolvedExpr); as in stap, only one the elision leaves is reported.
TEST_CASE("elision: an unresolvable target expression is an error only where it survives", "[passes][elide]") {
  CHECK(test::error_of("probe begin { $such; x = $such->m; y = @var(\"jiffies\"); - @entry(1); println(1) }") ==
        "no error");
  CHECK(test::error_of("probe begin { foo->has->no->type; for (2 < $i; 0; ) ; println(1) }") == "no error");
  CHECK(test::error_of("probe begin { println(1 + $such) }") == "1:27 unable to find target variable $such in begin");
  CHECK(test::error_of("probe begin { println(0 + @var(\"foo\", \"bar\")) }")
            .rfind("1:27 @var names a kernel variable through DWARF debuginfo", 0) == 0);
  // @defined of one is 0, and a function no probe needs any more goes with its error.
  CHECK(test::error_of("probe begin { println(@defined($nosuch) + @defined(@var(\"x\"))) }") == "no error");
  CHECK(test::error_of("function f() { return $such } probe begin { x = f(); println(1) }") == "no error");
  CHECK(test::error_of("function f() { return @entry(1) } probe begin { println(f()) }") ==
        "1:23 @entry is only valid in .return probes");
}

TEST_CASE("elision: a global typed only by an unread assignment takes its other uses' type", "[passes][elide]") {
  // stap's semok/optimize.stp: `a = b + 2` goes before b is typed.
  CHECK(test::error_of("global b\nprobe begin { a = b + 2; b = \"goodbye\"; if (i = j) ; println(b) }") == "no error");
}

TEST_CASE("elision: -u reports every unresolvable target expression", "[passes][elide]") {
  CHECK(test::error_of("probe begin { $such; println(1) }", {.keep_unused = true}) ==
        "1:15 unable to find target variable $such in begin");
  CHECK(test::error_of("probe begin { x = @var(\"jiffies\") }", {.keep_unused = true})
            .rfind("1:19 @var names a kernel variable", 0) == 0);
}
