// Probe point features beyond single providers: wildcards in components
// matched against every provider's point shapes, timer.profile, and the -c
// target process held until it is released.
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "frontend/parser.h"
#include "passes/passes.h"
#include "kernel/providers/provider.h"
#include "runtime/target_process.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

using test::error_of;

auto check(const std::string &text) { return test::check_script(text); }

// The concrete probe names of every probe of a checked script, in order.
std::vector<std::string> resolved_names(const std::string &text) {
  auto c = check(text);
  std::vector<std::string> names;
  for (const auto &probe : c->program->probes)
    for (const auto &rp : probe->resolved) names.push_back(rp.name);
  return names;
}

// Points a pattern stands for, as text.
std::vector<std::string> expansions(const std::string &pattern) {
  SourceManager sources;
  auto program = parse_script(sources.add("p.ntp", "probe " + pattern + " {}"));
  std::vector<std::string> out;
  for (const auto &point :
       test::fixture_kernel().providers().expand_component_wildcards(program->probes.at(0)->points.at(0)))
    out.push_back(point.str());
  return out;
}

}  // namespace

TEST_CASE("component wildcards match the providers' point shapes", "[probes][wildcards]") {
  using V = std::vector<std::string>;
  CHECK(expansions("timer.m*(5)") == V{"timer.ms(5)", "timer.msec(5)"});
  CHECK(expansions("timer.*s(5)") == V{"timer.s(5)", "timer.ms(5)", "timer.us(5)", "timer.ns(5)", "timer.jiffies(5)"});
  // The written arguments must fit: timer units take a number, begin may.
  CHECK(expansions("timer.*") == V{"timer.profile"});
  CHECK(expansions("timer.**") == V{"timer.profile", "timer.profile.tick"});
  CHECK(expansions("timer.pro*.*") == V{"timer.profile.tick"});
  CHECK(expansions("beg*") == V{"begin"});
  CHECK(expansions("e*(3)") == V{"end(3)", "error(3)"});
  CHECK(expansions("kernel.t*(\"kfree_skb\")") == V{"kernel.trace(\"kfree_skb\")"});
  CHECK(expansions("ti**(2)").size() == 10);  // every timer unit; ** spans "timer.ms"
  CHECK(expansions("nothing.*").empty());
}

TEST_CASE("component wildcards resolve to real probes", "[probes][wildcards]") {
  using V = std::vector<std::string>;
  CHECK(resolved_names("probe timer.m*(5) { }") == V{"timer.ms(5)", "timer.msec(5)"});
  CHECK(resolved_names("probe begi*, en* { }") == V{"begin", "end"});
  CHECK(error_of("probe timer.x*(5) { }") == "1:7 no match for probe point");
  CHECK(resolved_names("probe timer.x*(5)?, begin { }") == V{"begin"});
  // Alias names and provider points both match; each alias is its own probe.
  CHECK(resolved_names("probe tick = timer.s(1) { } probe ti* { }") == V{"timer.s(1)"});
  CHECK(resolved_names("probe myalias = begin { } probe my*, end* { }") == V{"end", "begin"});
  // A wildcard inside an alias definition expands against the providers too.
  CHECK(resolved_names("probe every = timer.mse*(5) { } probe every { }") == V{"timer.msec(5)"});
}

TEST_CASE("timer.profile and timer.profile.tick are kernel perf-event probes", "[probes][profile]") {
  auto c = check("probe timer.profile { } probe timer.profile.tick { }");
  REQUIRE(c->program->probes.size() == 2);
  for (const auto &probe : c->program->probes) {
    CHECK(probe->side == ast::Side::Kernel);
    REQUIRE(probe->resolved.size() == 1);
    CHECK(probe->resolved[0].kind == ast::ProbeKind::Perf);
    CHECK(probe->resolved[0].section == "perf_event");
    CHECK(probe->resolved[0].param == 1'000'000'000 / 300);  // one tick of the fixture's CONFIG_HZ=300
  }
  CHECK(c->program->probes[0]->resolved[0].name == "timer.profile");
  CHECK(c->program->probes[1]->resolved[0].name == "timer.profile.tick");
  CHECK(error_of("probe timer.profile(5) { }") == "1:7 timer.profile takes no arguments");
  CHECK(error_of("probe timer.profile.tock { }") ==
        "1:7 unexpected '.tock' after timer.profile (timer.profile or timer.profile.tick)");
}

TEST_CASE("online CPUs are read from the kernel's list", "[probes][profile]") {
  CHECK(test::fixture_kernel().online_cpus() == std::vector<int>{0, 1, 3});
}

TEST_CASE("online CPUs of the running kernel", "[probes][profile][host]") {
  std::vector<int> cpus = test::host_kernel().online_cpus();
  REQUIRE(!cpus.empty());
  CHECK(cpus.size() == static_cast<size_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  for (size_t i = 1; i < cpus.size(); ++i) CHECK(cpus[i - 1] < cpus[i]);
}

TEST_CASE("the -c command waits until released and reports how it ended", "[target]") {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  // The command writes into the pipe only once it runs.
  auto target = TargetProcess::start_held("echo ran >&" + std::to_string(pipe_fds[1]) + "; exit 3");
  REQUIRE(target->pid() > 0);
  close(pipe_fds[1]);
  pollfd held{target->exit_fd(), POLLIN, 0};
  CHECK(poll(&held, 1, 100) == 0);  // still held: not exited
  target->release();
  pollfd exited{target->exit_fd(), POLLIN, 0};
  REQUIRE(poll(&exited, 1, 5000) == 1);
  char buffer[16] = {};
  CHECK(read(pipe_fds[0], buffer, sizeof buffer - 1) == 4);
  CHECK(std::string(buffer) == "ran\n");
  close(pipe_fds[0]);
  CHECK(target->finish() == 1);  // exit status 3: the run fails, as stap's
}

TEST_CASE("a -c command never released never runs", "[target]") {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  {
    auto target = TargetProcess::start_held("echo ran >&" + std::to_string(pipe_fds[1]));
    close(pipe_fds[1]);
  }  // destroyed unreleased: the child exits without running the command
  char buffer[16];
  CHECK(read(pipe_fds[0], buffer, sizeof buffer) == 0);
  close(pipe_fds[0]);
}
