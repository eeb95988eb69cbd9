// perf.sw.*, perf.hw.* and perf.type(T).config(C): resolution, pp(), the
// .sample/.process/.counter suffixes and their errors (kernel/providers/perf.h);
// @perf's generated accounting (frontend/perf_counters.h).
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "frontend/parser.h"
#include "frontend/perf_counters.h"
#include "kernel/providers/perf.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

using test::error_of;
using test::only_probe;

}  // namespace

TEST_CASE("perf.sw names are the perf tapset's software events", "[probes][perf]") {
  auto c = test::check_script("probe perf.sw.page_faults { }");
  const ast::ResolvedProbe &rp = only_probe(c);
  CHECK(c->program->probes[0]->side == ast::Side::Kernel);
  CHECK(rp.kind == ast::ProbeKind::Perf);
  CHECK(rp.section == "perf_event");
  CHECK(rp.perf_type == PERF_TYPE_SOFTWARE);
  CHECK(rp.perf_config == PERF_COUNT_SW_PAGE_FAULTS);
  CHECK(rp.param == 1000000);  // stap's default sample period
  CHECK(rp.name == "perf.sw.page_faults");
  CHECK(rp.point == "perf.type(1).config(2)");
  CHECK(rp.exe_inode == 0);
}

TEST_CASE("perf .sample(N) and .process(PATH) in the name and pp()", "[probes][perf]") {
  auto c = test::check_script("probe perf.sw.cpu_clock.sample(250000).process(\"/bin/sh\") { }");
  const ast::ResolvedProbe &rp = only_probe(c);
  char real[4096];
  REQUIRE(realpath("/bin/sh", real));
  struct stat st {};
  REQUIRE(stat(real, &st) == 0);
  CHECK(rp.param == 250000);
  CHECK(rp.perf_config == PERF_COUNT_SW_CPU_CLOCK);
  CHECK(rp.name == std::string("perf.sw.cpu_clock.sample(250000).process(\"") + real + "\")");
  CHECK(rp.point == std::string("perf.type(1).config(0).sample(250000).process(\"") + real + "\")");
  CHECK(rp.exe_inode == st.st_ino);
  CHECK(rp.exe_dev == ((uint64_t{major(st.st_dev)} << 20) | minor(st.st_dev)));
  // A name without '/' is looked up in $PATH, as stap does.
  auto by_name = test::check_script("probe perf.sw.cpu_clock.process(\"sh\") { }");
  CHECK(only_probe(by_name).exe_inode != 0);
}

TEST_CASE("perf.type(T).config(C) names any event", "[probes][perf]") {
  auto c = test::check_script("probe perf.type(1).config(3).sample(7) { }");
  const ast::ResolvedProbe &rp = only_probe(c);
  CHECK(rp.perf_type == PERF_TYPE_SOFTWARE);
  CHECK(rp.perf_config == PERF_COUNT_SW_CONTEXT_SWITCHES);
  CHECK(rp.param == 7);
  CHECK(rp.point == "perf.type(1).config(3).sample(7)");
}

TEST_CASE("perf probe errors name the point and the reason", "[probes][perf]") {
  CHECK(error_of("probe perf.sw.page_fault { }") ==
        "1:7 no perf event named perf.sw.page_fault (see ntap -l 'perf.**')");
  CHECK(error_of("probe perf.sw.cpu_clock.sample(0) { }") ==
        "1:7 perf probes' .sample(N) takes a positive number of events");
  CHECK(error_of("probe perf.sw.cpu_clock.process(\"/nonexistent/prog\") { }") ==
        "1:7 perf probe .process(\"/nonexistent/prog\"): cannot find '/nonexistent/prog': No such file or directory");
  CHECK(error_of("probe perf.sw.cpu_clock.counter(\"\") { }") ==
        "1:7 perf probes' .counter(\"NAME\") needs the name @perf reads it by");
  CHECK(error_of("probe perf.sw.cpu_clock.counter(\"c*\") { }") == "1:7 a perf counter's name cannot have wildcards");
  CHECK(error_of("probe perf.sw.cpu_clock.tick { }") ==
        "1:7 unexpected '.tick' in a perf probe (.sample(N), .process(\"PATH\") and .counter(\"NAME\") may follow "
        "the event)");
}

TEST_CASE("a perf counter is an event to count, with no program", "[probes][perf]") {
  auto c = test::check_script("probe perf.sw.page_faults.sample(5).process.counter(\"faults\") { }");
  const ast::ResolvedProbe &rp = only_probe(c);
  CHECK(rp.kind == ast::ProbeKind::PerfCounter);
  CHECK(rp.perf_counter == "faults");
  CHECK(rp.perf_config == PERF_COUNT_SW_PAGE_FAULTS);
  CHECK(rp.section.empty());
  CHECK(rp.param == 0);  // counted, not sampled
  CHECK(rp.name == "perf.sw.page_faults.sample(5).process.counter(\"faults\")");
}

TEST_CASE("@perf reads a counter through generated per-thread accounting", "[probes][perf]") {
  SourceManager sources;
  auto program = parse_script(sources.add("t.ntp", R"(
global begun
probe perf.sw.page_faults.counter("faults") { }
probe perf.sw.task_clock.process("/bin/true").counter("clock") { }
probe process("/bin/true").function("main") { begun = @perf("clock") + @perf("faults") }
)"));
  add_perf_counters(*program, sources);
  CHECK(program->perf_counters == std::vector<std::string>{"faults", "clock"});
  // @perf("NAME") is now a read of counter K.
  const auto &body = *program->probes.at(2)->body;
  const auto &assign = ast::cast<ast::AssignExpr>(*ast::cast<ast::ExprStmt>(*body.stmts.at(0)).expr);
  const auto &sum = ast::cast<ast::BinaryExpr>(*assign.rhs);
  const auto &clock = ast::cast<ast::CallExpr>(*sum.lhs), &faults = ast::cast<ast::CallExpr>(*sum.rhs);
  CHECK(clock.name == "__perf_counter_value");
  CHECK(ast::cast<ast::NumberExpr>(*clock.args.at(0)).value == 1);
  CHECK(ast::cast<ast::NumberExpr>(*faults.args.at(0)).value == 0);
  // Both count /bin/true (the one without .process took its reader's): one
  // process.begin tracks its threads; the scheduler's tracepoints move counts.
  std::vector<std::string> points;
  for (size_t p = 3; p < program->probes.size(); ++p) points.push_back(program->probes[p]->points.at(0).str());
  CHECK(points == std::vector<std::string>{"kernel.trace(\"sched:sched_switch\")",
                                           "kernel.trace(\"sched:sched_process_fork\")",
                                           "process(\"/bin/true\").begin"});
  CHECK(program->globals.size() == 1);  // the script's own: the counts live in task storage
}

TEST_CASE("a script without @perf gets no accounting", "[probes][perf]") {
  SourceManager sources;
  auto program = parse_script(sources.add("t.ntp", "probe perf.sw.page_faults.counter(\"faults\") { }"));
  add_perf_counters(*program, sources);
  CHECK(program->perf_counters.empty());
  CHECK(program->probes.size() == 1);
}

TEST_CASE("a hardware event the kernel refuses is an error naming it and the errno", "[probes][perf]") {
  auto refused = perf_event_refusal(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0);
  if (!refused) {
    auto c = test::check_script("probe perf.hw.cpu_cycles { }");
    CHECK(only_probe(c).perf_type == PERF_TYPE_HARDWARE);
    return;
  }
  CHECK(error_of("probe perf.hw.cpu_cycles { }") ==
        "1:7 the kernel refuses perf event perf.hw.cpu_cycles (type 0, config 0): perf_event_open: " + *refused);
  // A software event always opens (for root: CPU-wide events need CAP_PERFMON).
  if (geteuid() == 0) CHECK(!perf_event_refusal(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, 0));
}

TEST_CASE("a counter of the -c command tracks only the target's process", "[probes][perf]") {
  SourceManager sources;
  auto program = parse_script(sources.add("t.ntp", R"(
probe perf.sw.page_faults.process.counter("faults") { }
probe process.function("main") { println(@perf("faults")) }
)"));
  add_perf_counters(*program, sources);
  const ast::Probe &begin = *program->probes.back();
  CHECK(begin.points.at(0).str() == "process.begin");
  REQUIRE(begin.body->stmts.size() == 1);
  CHECK(begin.body->stmts[0]->kind == ast::StmtKind::If);  // pid() == target()
}
