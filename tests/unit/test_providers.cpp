// Probe providers: begin/end/error priorities, timer periods, kernel.trace
// matching against the fixture kernel's event list and its target variables
// (tests/unit/kernel_fixture.cpp), and the same lookups on the running kernel.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "kernel/btf.h"
#include "kernel/providers/provider.h"
#include "kernel/providers/tracepoint.h"
#include "kernel/providers/user_providers.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

ast::ProbePointComponent component(std::string name) { return {std::move(name), std::nullopt, std::nullopt}; }
ast::ProbePointComponent component(std::string name, int64_t n) { return {std::move(name), std::nullopt, n}; }
ast::ProbePointComponent component(std::string name, std::string s) { return {std::move(name), std::move(s), std::nullopt}; }

ast::ProbePoint point(std::vector<ast::ProbePointComponent> components) {
  ast::ProbePoint p;
  p.components = std::move(components);
  return p;
}

ast::ProbePoint trace_point(std::string name) { return point({component("kernel"), component("trace", std::move(name))}); }

const Provider *provider_for(const ast::ProbePoint &p, const KernelInfo &kernel = test::fixture_kernel()) {
  return kernel.providers().find(p);
}

std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &p, const KernelInfo &kernel = test::fixture_kernel()) {
  const Provider *provider = provider_for(p, kernel);
  REQUIRE(provider != nullptr);
  return provider->resolve(p);
}

int64_t timer_ns(std::string unit, int64_t n) {
  auto probes = resolve(point({component("timer"), component(std::move(unit), n)}));
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].kind == ast::ProbeKind::Timer);
  return probes[0].param;
}

ast::TargetVarExpr target(std::string name, std::vector<std::string> fields = {}) {
  ast::TargetVarExpr var(Location{}, std::move(name));
  for (auto &field : fields) var.components.push_back(ast::TargetComponent{std::move(field), nullptr});
  return var;
}

}  // namespace

TEST_CASE("begin, end and error carry their priority", "[providers]") {
  auto begin = resolve(point({component("begin")}));
  REQUIRE(begin.size() == 1);
  CHECK(begin[0].kind == ast::ProbeKind::Begin);
  CHECK(begin[0].param == 0);
  CHECK(begin[0].provider->side() == ast::Side::User);

  auto early = resolve(point({component("begin", -5)}));
  REQUIRE(early.size() == 1);
  CHECK(early[0].param == -5);
  CHECK(early[0].name == "begin(-5)");

  auto end = resolve(point({component("end", 3)}));
  REQUIRE(end.size() == 1);
  CHECK(end[0].kind == ast::ProbeKind::End);
  CHECK(end[0].param == 3);

  auto error = resolve(point({component("error")}));
  REQUIRE(error.size() == 1);
  CHECK(error[0].kind == ast::ProbeKind::Error);

  CHECK(provider_for(point({component("beginning")})) == nullptr);
  CHECK_THROWS_AS(resolve(point({component("begin", std::string("x"))})), CompileError);
}

TEST_CASE("timer periods in nanoseconds", "[providers]") {
  CHECK(timer_ns("s", 5) == 5'000'000'000);
  CHECK(timer_ns("sec", 1) == 1'000'000'000);
  CHECK(timer_ns("ms", 250) == 250'000'000);
  CHECK(timer_ns("msec", 1) == 1'000'000);
  CHECK(timer_ns("us", 7) == 7'000);
  CHECK(timer_ns("usec", 7) == 7'000);
  CHECK(timer_ns("ns", 123456) == 123456);
  CHECK(timer_ns("nsec", 10) == 10);
  CHECK(timer_ns("hz", 4) == 250'000'000);
  // The fixture kernel ticks 300 times a second (CONFIG_HZ=300).
  CHECK(test::fixture_kernel().config_hz() == 300);
  CHECK(timer_ns("jiffies", 30) == 100'000'000);
  CHECK(timer_period_ns("jiffies", 10, 100) == 100'000'000);
  CHECK(timer_period_ns("ms", 10, 0) == 10'000'000);

  auto probes = resolve(point({component("timer"), component("ms", 5000)}));
  CHECK(probes[0].name == "timer.ms(5000)");
  CHECK(probes[0].provider->side() == ast::Side::User);

  CHECK_THROWS_AS(resolve(point({component("timer"), component("s", 0)})), CompileError);
  CHECK_THROWS_AS(resolve(point({component("timer"), component("ms", -1)})), CompileError);
  CHECK_THROWS_AS(resolve(point({component("timer"), component("s")})), CompileError);
  CHECK_THROWS_AS(resolve(point({component("timer"), component("s", INT64_MAX)})), CompileError);
  CHECK_THROWS_AS(resolve(point({component("timer"), component("hz", 2'000'000'000)})), CompileError);
  CHECK_THROWS_AS(resolve(point({component("timer"), component("ms", 100), component("randomize", 100)})),
                  CompileError);
  CHECK_THROWS_AS(resolve(point({component("timer"), component("ms", 100), component("randomize")})),
                  CompileError);
  CHECK_THROWS_AS(resolve(point({component("timer"), component("ms", 100), component("jitter", 1)})),
                  CompileError);
  auto randomized = resolve(point({component("timer"), component("ms", 100), component("randomize", 10)}));
  REQUIRE(randomized.size() == 1);
  CHECK(randomized[0].param == 100'000'000);
  CHECK(randomized[0].jitter == 10'000'000);
  CHECK(randomized[0].point == "timer.ms(100).randomize(10)");
  // timer.profile is not an interval timer: a kernel provider owns it.
  CHECK(provider_for(point({component("timer"), component("profile")}))->side() == ast::Side::Kernel);
}

TEST_CASE("kernel.trace matches the kernel's events with wildcards", "[providers]") {
  // sys_enter_read is in tracefs but has no btf_trace_ typedef: not offered.
  CHECK(resolve(trace_point("syscalls:*")).empty());
  CHECK(resolve(trace_point("skb:*")).size() == 2);
  auto exact = resolve(trace_point("skb:kfree_skb"));
  REQUIRE(exact.size() == 1);
  CHECK(exact[0].name == "skb:kfree_skb");
  CHECK(exact[0].section == "tp_btf/kfree_skb");
  CHECK(exact[0].kind == ast::ProbeKind::Tracepoint);
  CHECK(exact[0].provider->side() == ast::Side::Kernel);
  REQUIRE(exact[0].context_vars.size() >= 3);
  CHECK(exact[0].context_vars[0] == "skb");
  CHECK(exact[0].context_vars[1] == "location");
  CHECK(exact[0].context_vars[2] == "reason");

  auto bare = resolve(trace_point("kfree_skb"));
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].name == "skb:kfree_skb");

  auto tcp = resolve(trace_point("tcp:*"));
  CHECK(tcp.size() == 4);
  for (const auto &probe : tcp) CHECK(probe.name.rfind("tcp:", 0) == 0);

  CHECK(resolve(trace_point("*:kfree_skb")).size() == 1);
  CHECK(resolve(trace_point("sock:inet_sock_set_state")).size() == 1);
  CHECK(resolve(trace_point("no_such_thing")).empty());
  CHECK(resolve(trace_point("skb:no_such_thing*")).empty());
  CHECK_THROWS_AS(resolve(point({component("kernel"), component("trace")})), CompileError);
}

TEST_CASE("kernel.trace on the running kernel: its events, resolved fast once BTF is loaded", "[providers][host]") {
  const KernelInfo &host = test::host_kernel();
  REQUIRE(host.btf().handle());
  (void)host.trace_events();
  auto start = std::chrono::steady_clock::now();
  auto probes = resolve(trace_point("kfree_skb"), host);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(probes.size() == 1);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 50);
  const bool tracefs_read = !host.trace_events().empty() && !host.trace_events().front().subsystem.empty();
  if (tracefs_read) {  // without tracefs (not root) the events have no subsystems
    CHECK(probes[0].name == "skb:kfree_skb");
    CHECK(resolve(trace_point("tcp:*"), host).size() >= 3);
  }
  auto reason = target("reason");
  CHECK(probes[0].provider->resolve_target(probes[0], reason));
}

TEST_CASE("without tracefs the BTF's tracepoints stand in, without subsystems", "[providers]") {
  KernelPaths paths = test::fixture_paths();
  paths.tracefs = {test::fixture_root() + "/no/tracefs"};
  const KernelInfo kernel(paths);
  CHECK(kernel.trace_events().size() == 9);
  auto bare = resolve(trace_point("kfree_skb"), kernel);
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].name == "kfree_skb");
  CHECK(resolve(trace_point("*:kfree_skb"), kernel).size() == 1);
  CHECK(resolve(trace_point("skb:kfree_skb"), kernel).empty());
}

TEST_CASE("without BTF kernel.trace says why", "[providers]") {
  KernelPaths paths = test::fixture_paths();
  paths.btf = test::fixture_root() + "/no/btf";
  const KernelInfo kernel(paths);
  try {
    resolve(trace_point("kfree_skb"), kernel);
    FAIL("resolved without BTF");
  } catch (const CompileError &e) {
    CHECK(e.message() == "kernel.trace needs kernel BTF: cannot load kernel BTF: No such file or directory");
  }
}

TEST_CASE("kernel.trace target variables", "[providers]") {
  auto probes = resolve(trace_point("skb:kfree_skb"));
  REQUIRE(probes.size() == 1);
  const ast::ResolvedProbe &probe = probes[0];
  const Provider &provider = *probe.provider;

  auto location = target("location");
  REQUIRE(provider.resolve_target(probe, location));
  CHECK(location.resolved);
  CHECK(location.arg_index == 1);
  CHECK(location.steps.empty());  // a pointer: the whole 8-byte argument
  CHECK(location.type == ast::Type::Long);

  auto reason = target("reason");
  REQUIRE(provider.resolve_target(probe, reason));
  CHECK(reason.arg_index == 2);
  using Op = ast::TargetStep::Op;
  CHECK(reason.steps == std::vector{ast::TargetStep{Op::Narrow, 4, false, 0}});

  auto len = target("skb", {"len"});
  REQUIRE(provider.resolve_target(probe, len));
  CHECK(len.arg_index == 0);
  const Btf &types = test::fixture_kernel().btf();
  auto expected = types.resolve_access_path(types.tracepoint_args("kfree_skb")->at(0).type_id,
                                            btf::AccessStart::Value, {{"len", false}}, false);
  REQUIRE(expected.path);
  CHECK(len.steps == expected.path->steps);
  CHECK(len.steps.back() == ast::TargetStep{Op::Load, 4, false, 0});

  auto missing = target("no_such_arg");
  CHECK_FALSE(provider.resolve_target(probe, missing));
  CHECK_FALSE(missing.resolved);
  auto missing_field = target("skb", {"no_such_member"});
  CHECK_FALSE(provider.resolve_target(probe, missing_field));
  auto char_array = target("skb", {"dev", "name"});
  CHECK(provider.resolve_target(probe, char_array));  // the array's address, as stap gives it
  auto structure = target("skb", {"dev", "stats"});
  CHECK_THROWS_AS(provider.resolve_target(probe, structure), CompileError);
  auto bitfield = target("skb", {"cloned"});
  CHECK(provider.resolve_target(probe, bitfield));
  CHECK(bitfield.steps.back().op == Op::Bitfield);
  auto past_bitfield = target("skb", {"cloned", "x"});
  CHECK_THROWS_AS(provider.resolve_target(probe, past_bitfield), CompileError);

  auto context = provider.describe_context(probe);
  CHECK(context == std::vector<std::string>{"$skb:struct sk_buff*", "$location:void*",
                                            "$reason:enum skb_drop_reason", "$rx_sk:struct sock*"});
}
