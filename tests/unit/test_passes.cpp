// The frontend passes: probe resolution, symbols, type inference, sides,
// and the layout they lead to.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "abi/layout.h"
#include "frontend/parser.h"
#include "frontend/walk.h"
#include "passes/passes.h"
#include "tests/unit/support.h"

using namespace ntap;
using test::error_of;

namespace {

auto check(const std::string &text) { return test::check_script(text); }

const ast::Global &global(const test::CheckedScript &c, const std::string &name) {
  return *c.program->find_global(name);
}

}  // namespace

TEST_CASE("types: scalars are inferred from assignments in either direction", "[types]") {
  auto c = check("global a, b, s\nprobe begin { a = 1; b = a; t = s; u = t . \"x\"; print(u) }");
  CHECK(global(*c, "a").value_type == ast::Type::Long);
  CHECK(global(*c, "b").value_type == ast::Type::Long);
  CHECK(global(*c, "s").value_type == ast::Type::String);
  const auto &locals = c->program->probes[0]->locals;
  REQUIRE(locals.size() == 2);
  CHECK(locals[0]->name == "t");
  CHECK(locals[0]->type == ast::Type::String);
  CHECK(locals[1]->type == ast::Type::String);
}

TEST_CASE("types: array keys and values, stats from <<<", "[types]") {
  auto c = check(
      "global names, hits\n"
      "probe begin { names[1, \"x\"] = \"y\"; hits[\"k\"] <<< 5 }\n"
      "probe end { foreach ([n, m] in names) printf(\"%d %s %s\\n\", n, m, names[n, m]) }");
  const auto &names = global(*c, "names");
  CHECK(names.is_array);
  REQUIRE(names.key_types.size() == 2);
  CHECK(names.key_types[0] == ast::Type::Long);
  CHECK(names.key_types[1] == ast::Type::String);
  CHECK(names.value_type == ast::Type::String);
  CHECK(global(*c, "hits").value_type == ast::Type::Stats);
  CHECK(global(*c, "hits").key_types == std::vector<ast::Type>{ast::Type::String});
  CHECK(c->program->probes[1]->locals[1]->type == ast::Type::String);
}

TEST_CASE("types: a type inferred late flows back to earlier uses", "[types]") {
  // x is only typed by the second statement; the first must still check.
  auto c = check("global x, y\nprobe begin { y = x; x = \"late\" }");
  CHECK(global(*c, "y").value_type == ast::Type::String);
}

TEST_CASE("types: conflicts are errors at the conflicting use", "[types]") {
  CHECK(error_of("probe begin {\n  x = 1\n  x = \"s\"\n  print(x)\n}") == "3:3 type mismatch (long vs. string)");
  CHECK(error_of("global a\nprobe begin { a[1] = 1; a[\"k\"] = 2 }") == "2:27 type mismatch (long vs. string)");
  CHECK(error_of("global a\nprobe begin { a[1] = 1; a[1, 2] = 2 }") == "2:25 inconsistent arity (2 vs 1) for array a");
  CHECK(error_of("global s\nprobe begin { s <<< 1; s = 2 }") == "2:24 type mismatch (stats vs. long)");
  CHECK(error_of("probe begin { x = \"a\" + 1; print(x) }") == "1:19 type mismatch (long vs. string)");
  CHECK(error_of("probe begin { printf(\"%d\\n\", \"str\") }") ==
        "1:30 format conversion 1 expects a long, argument is a string");
  CHECK(error_of("probe begin { printf(\"%d %d\\n\", 1) }") == "1:15 format string expects 2 arguments, 1 given");
}

TEST_CASE("types: something never typed is an error", "[types]") {
  CHECK(error_of("probe begin { x = y; print(x) }") == "1:15 unresolved type");
}

TEST_CASE("symbols: unknown functions and undeclared arrays", "[symbols]") {
  CHECK(error_of("probe begin { nosuch(1) }") == "1:15 unresolved function");
  CHECK(error_of("probe begin { a[1] = 2 }") ==
        "1:15 unresolved arity-1 global array a, missing global declaration?");
  CHECK(error_of("probe begin { printf() }").find("wrong number of arguments to printf") != std::string::npos);
  CHECK(error_of("function f(p) { p <<< 1 } probe begin { f(1) }") ==
        "1:17 a function parameter cannot take <<<: use a local or a global");
  CHECK(error_of("probe begin { t <<< 1; x = @count(t) }") ==
        "1:35 stat locals not supported, missing global declaration?");
}

TEST_CASE("output calls get formats; print and println get synthesized ones", "[types]") {
  auto c = check("probe begin { printf(\"%s=%d\\n\", \"a\", 1); println(1, \"x\"); print(\"y\") }");
  const auto &f = c->program->formats;
  REQUIRE(f.size() == 3);
  CHECK(f[0].text == "%s=%d\n");
  CHECK(f[0].arg_types == std::vector<ast::Type>{ast::Type::String, ast::Type::Long});
  CHECK(f[1].text == "%d%s\n");
  CHECK(f[2].text == "%s");
}

TEST_CASE("probes: timers and begin/end resolve to the user side", "[probes]") {
  auto c = check("probe begin, end { } probe timer.sec(5) { } probe timer.ms(100) { }");
  const auto &probes = c->program->probes;
  REQUIRE(probes.size() == 3);
  CHECK(probes[0]->resolved.size() == 2);
  CHECK(probes[0]->side == ast::Side::User);
  CHECK(probes[1]->resolved[0].param == 5'000'000'000);
  CHECK(probes[2]->resolved[0].param == 100'000'000);
}

TEST_CASE("probes: kernel tracepoints, @choose_defined folding and unknown points", "[probes]") {
  auto c = check(
      "global locations\n"
      "probe kernel.trace(\"kfree_skb\") { reason = @choose_defined($reason, 0); locations[$location, reason] <<< 1 }\n"
      "probe timer.s(5) { foreach ([l, r] in locations-) printf(\"%d %s\\n\", @count(locations[l, r]), symname(l)); "
      "delete locations }");
  const auto &probe = *c->program->probes[0];
  CHECK(probe.side == ast::Side::Kernel);
  REQUIRE(probe.resolved.size() == 1);
  CHECK(probe.resolved[0].section == "tp_btf/kfree_skb");
  const auto &g = global(*c, "locations");
  CHECK(g.written_in_kernel);
  CHECK_FALSE(g.read_in_kernel);
  CHECK(g.read_in_user);
  CHECK(g.deleted_in_user);

  // @choose_defined picks the fallback when the tracepoint lacks the variable.
  auto d = check("probe kernel.trace(\"kfree_skb\") { x = @choose_defined($no_such_arg, 7); if (x != 7) next }");
  CHECK(d->program->probes[0]->locals[0]->type == ast::Type::Long);

  CHECK(error_of("probe kernel.trace(\"no_such_thing\") { }") == "1:7 no match for probe point");
  CHECK(error_of("probe kernel.trace(\"no_such_thing\")? { }") == "no error");
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { x = $nope; print(x) }") ==
        "1:39 unable to find target variable $nope in skb:kfree_skb");
  const std::string unknown = error_of("probe nosuch.family { }");
  CHECK(unknown.rfind("1:7 unknown probe point family 'nosuch.family'; ntap has begin, end, error, timer, ", 0) == 0);
  CHECK(unknown.find("kernel.trace, ") != std::string::npos);
  CHECK(unknown.find("kernel.function, module().function, kprobe.function, kretprobe.function") !=
        std::string::npos);
  CHECK(error_of("probe netfilter.hook(\"NF_INET_PRE_ROUTING\") { }")
            .rfind("1:7 unknown probe point family 'netfilter.hook': netfilter is a SystemTap probe family ntap "
                   "does not implement; ntap has ",
                   0) == 0);
}

TEST_CASE("sides: what kernel probes may not do", "[sides]") {
  CHECK(error_of("global a\nprobe begin { a[1] = 1 }\nprobe kernel.trace(\"kfree_skb\") { foreach ([k] in a-) { print(k) } }")
            .find("3:35 a sorted foreach is not supported in kernel probes") == 0);
  CHECK(error_of("global a\nprobe begin { a[1] = 1 }\nprobe kernel.trace(\"kfree_skb\") { foreach (v- = [k] in a) { print(k) } }")
            .find("3:35 a sorted foreach is not supported in kernel probes") == 0);
  CHECK(error_of("global a\nprobe begin { a[1] = 1 }\nprobe kernel.trace(\"kfree_skb\") { foreach (k in a limit 2) { } }") ==
        "no error");
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { x = symname($location); print(x) }")
            .find("1:39 in kernel probes, symname() can only be used as a printf/print argument") == 0);
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { printf(\"%s\\n\", symname($location)) }") == "no error");
  CHECK(error_of("probe kernel.trace(\"kfree_skb\"), begin { }").find("a probe cannot mix") != std::string::npos);
}

TEST_CASE("layout: placement, double buffering and packed keys", "[layout]") {
  auto c = check(
      "global locations, seen, total, local_only\n"
      "probe kernel.trace(\"kfree_skb\") { locations[$location, \"s\"] <<< 1; seen[$location] = 1; total++ }\n"
      "probe timer.s(1) { foreach ([l, s] in locations) local_only[l] = seen[l]; delete locations; print(total) }");
  LayoutOptions options;
  options.max_string_len = 64;
  Layout layout = Layout::build(*c->program, options);
  const auto &loc = layout.of(global(*c, "locations"));
  CHECK(loc.placement == Placement::Kernel);
  CHECK(loc.double_buffered);
  CHECK(loc.per_cpu);
  CHECK(loc.map_names == std::vector<std::string>{"g_locations_0", "g_locations_1"});
  CHECK(loc.key_size == 8 + 64);
  CHECK(loc.key_fields[1].offset == 8);
  CHECK(loc.value_size == sizeof(StatsValue));
  const auto &seen = layout.of(global(*c, "seen"));
  CHECK(seen.placement == Placement::Kernel);
  CHECK_FALSE(seen.double_buffered);
  CHECK(seen.map_names == std::vector<std::string>{"g_seen"});
  const auto &total = layout.of(global(*c, "total"));
  CHECK_FALSE(total.is_map);
  CHECK(total.scalar_size == 8);
  CHECK(total.scalar_offset + 8 <= layout.globals_size);
  CHECK(layout.of(global(*c, "local_only")).placement == Placement::Host);
}

TEST_CASE("layout: -D limits are checked", "[layout]") {
  CHECK(LayoutOptions::from_defines({{"MAXMAPENTRIES", "100"}}).max_map_entries == 100);
  CHECK(LayoutOptions::from_defines({{"MAXSTRINGLEN", "60"}}).max_string_len == 64);
  // User-side strings keep the limit as given (59 bytes), BPF buffers round up.
  CHECK(LayoutOptions::from_defines({{"MAXSTRINGLEN", "60"}}).string_limit == 60);
  CHECK(LayoutOptions::from_defines({}).max_action == 1000);
  CHECK(LayoutOptions::from_defines({}).max_action_interruptible == 10000);
  CHECK(LayoutOptions::from_defines({{"MAXACTION", "50"}}).max_action_interruptible == 500);
  CHECK(LayoutOptions::from_defines({{"MAXACTION", "50"}, {"MAXACTION_INTERRUPTIBLE", "70"}}).max_action_interruptible ==
        70);
  CHECK_THROWS(LayoutOptions::from_defines({{"MAXACTION", "0"}}));
  CHECK(LayoutOptions::from_defines({}).max_nesting == 10);
  CHECK(LayoutOptions::from_defines({{"MAXNESTING", "3"}}).max_nesting == 3);
  CHECK_THROWS(LayoutOptions::from_defines({{"MAXMAPENTRIES", "lots"}}));
  CHECK_THROWS(LayoutOptions::from_defines({{"MAXMAPENTRIES", "0"}}));
}

TEST_CASE("symbols: wrap-around '%' needs an array", "[symbols]") {
  CHECK(error_of("global x% = 5\nprobe begin { println(x) }") ==
        "1:8 wrap-around ('%') is only for arrays, but this global has a scalar initial value");
  CHECK(error_of("global x%\nprobe begin { x = 1 }") ==
        "1:8 wrap-around ('%') is only for arrays, but this global is never indexed");
  CHECK(error_of("global a%[4], b%\nprobe begin { a[1] = 1; b[\"k\"] = 2 }") == "no error");
}

// The steps of target expression number `skip` (a $var, @cast or autocast)
// in the probe's body, operands first.
static std::vector<ast::TargetStep> first_target_steps(const ast::Probe &probe, size_t skip = 0) {
  std::vector<ast::TargetStep> found;
  ast::walk_exprs(*probe.body, [&](ast::ExprPtr &x) {  // operands before the expressions using them
    if (x->kind == ast::ExprKind::TargetVar && found.empty() && skip-- == 0)
      found = ast::cast<ast::TargetVarExpr>(*x).steps;
  });
  return found;
}

TEST_CASE("probes: autocast reads members as the value's kernel type", "[probes][autocast]") {
  // s = $skb; s->len reads what $skb->len reads; so does a function's result.
  auto direct = check("probe kernel.trace(\"kfree_skb\") { y = $skb->len; print(y) }");
  const auto want = first_target_steps(*direct->program->probes[0]);
  REQUIRE_FALSE(want.empty());
  auto local = check("probe kernel.trace(\"kfree_skb\") { s = $skb; y = s->len; print(y) }");
  CHECK(first_target_steps(*local->program->probes[0], 1) == want);
  auto paren = check("probe kernel.trace(\"kfree_skb\") { y = ($skb)->len; print(y) }");
  CHECK(first_target_steps(*paren->program->probes[0], 1) == want);
  // A function's result, here an array's address: (cb_of(p))[1] is p's cb[1].
  auto result = check("function cb_of(p) { return &@cast(p, \"sk_buff\")->cb }\n"
                      "probe kernel.trace(\"kfree_skb\") { y = (cb_of($skb))[1]; print(y) }");
  auto cb = check("probe kernel.trace(\"kfree_skb\") { y = @cast($skb, \"sk_buff\")->cb[1]; print(y) }");
  // The function adds cb's offset; the autocast indexes (its subscript is
  // its component 0, the cast's component 1) and loads.
  std::vector<ast::TargetStep> whole = first_target_steps(*cb->program->probes[0], 1);
  REQUIRE(whole.size() == 3);
  CHECK(whole[1].component == 1);
  whole[1].component = 0;
  CHECK(first_target_steps(*result->program->probes[0], 1) ==
        std::vector<ast::TargetStep>(whole.begin() + 1, whole.end()));
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { s = $skb; y = s->no_such_member; print(y) }") ==
        "1:49 'struct sk_buff' has no member 'no_such_member'");
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { y = z->len; print(y) }")
            .rfind("1:39 (...)->len: the value has no known kernel type", 0) == 0);
  // A global is a plain long; a local given two types has none.
  CHECK(error_of("global g\nprobe kernel.trace(\"kfree_skb\") { g = $skb; y = g->len; print(y) }").find("no known kernel type") !=
        std::string::npos);
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { s = $skb; s = $rx_sk; y = s->len; print(y) }")
            .find("no known kernel type") != std::string::npos);
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { s = $skb; y = @defined(s->len) + @defined(s->nope) }") ==
        "no error");
  CHECK(error_of("probe kernel.trace(\"kfree_skb\") { s = $skb; println(s->len$, s->dev$$) }") == "no error");
  CHECK(error_of("function f(s) { return s } probe kernel.trace(\"kfree_skb\") { x = f($skb) }  "
                 "function g() { s = f(0); println(@cast(0, \"sk_buff\")->len, (&@cast(0, \"sk_buff\"))->dev$) }  probe begin { g() }")
            .find("pretty-printing ($) a member reached by autocast is not supported") != std::string::npos);
}
