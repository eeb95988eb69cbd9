// The runtime API as JIT code sees it, and whole user-side sessions driven by
// hand-written probe functions standing in for compiled ones.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "abi/runtime_api.h"
#include "runtime/session.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

// A program with globals and formats but no compiled code: enough for the
// runtime API and the store behind it.
struct ApiFixture {
  test::HandMadeGlobals globals;
  ast::Program &program = globals.program;
  Layout &layout = globals.layout;
  std::vector<Format> formats;
  StringOutput output;
  std::unique_ptr<Store> store;
  ntap_rt rt;

  uint32_t add_global(const std::string &name, ast::Type value, std::vector<ast::Type> keys = {}) {
    return globals.add(name, value, std::move(keys));
  }
  uint32_t add_format(const std::string &text) {
    formats.push_back(Format::parse(text));
    return static_cast<uint32_t>(formats.size() - 1);
  }
  void start() {
    store = std::make_unique<Store>(program, layout, nullptr);
    rt.store = store.get();
    rt.output = &output;
    rt.formats = &formats;
  }
};

}  // namespace

TEST_CASE("runtime API: globals, printf and sprintf", "[api]") {
  ApiFixture f;
  const uint32_t names = f.add_global("names", ast::Type::String, {ast::Type::Long, ast::Type::String});
  const uint32_t count = f.add_global("count", ast::Type::Long);
  const uint32_t line = f.add_format("%s=%d\n");
  f.start();

  ntap_value key[2];
  key[0].l = 7;
  key[1].s = "eth0";
  ntap_set_string(&f.rt, names, key, "up", NTAP_NO_SITE);
  CHECK(std::string(ntap_get_string(&f.rt, names, key)) == "up");
  CHECK(ntap_exists(&f.rt, names, key, 0) == 1);
  ntap_delete(&f.rt, names, key, 0);
  CHECK(ntap_exists(&f.rt, names, key, 0) == 0);
  CHECK(std::string(ntap_get_string(&f.rt, names, key)).empty());

  ntap_set_long(&f.rt, count, nullptr, 41, NTAP_NO_SITE);
  CHECK(ntap_get_long(&f.rt, count, nullptr) == 41);

  ntap_value args[2];
  args[0].s = "drops";
  args[1].l = 3;
  ntap_printf(&f.rt, line, args);
  CHECK(f.output.text() == "drops=3\n");
  CHECK(std::string(ntap_sprintf(&f.rt, line, args)) == "drops=3\n");
  CHECK(std::string(ntap_str_concat(&f.rt, "ab", "cd")) == "abcd");
  CHECK(ntap_str_compare("a", "b") < 0);
  CHECK(ntap_str_compare("b", "b") == 0);
}

TEST_CASE("runtime API: statistics and the empty-aggregate error", "[api]") {
  ApiFixture f;
  const uint32_t s = f.add_global("s", ast::Type::Stats, {ast::Type::Long});
  f.start();
  ntap_value key;
  key.l = 1;
  const auto count = static_cast<uint32_t>(ast::StatsFn::Count);
  const auto avg = static_cast<uint32_t>(ast::StatsFn::Avg);
  CHECK(ntap_stats_get(&f.rt, s, &key, count, 5) == 0);
  CHECK(ntap_failed(&f.rt) == 0);
  CHECK(ntap_stats_get(&f.rt, s, &key, avg, 5) == 0);
  CHECK(ntap_failed(&f.rt) == 1);
  CHECK(f.rt.failed_site == 5);
  f.rt.failed = false;
  ntap_stats_add(&f.rt, s, &key, 4, NTAP_NO_SITE);
  ntap_stats_add(&f.rt, s, &key, 8, NTAP_NO_SITE);
  CHECK(ntap_stats_get(&f.rt, s, &key, avg, 5) == 6);
  CHECK(ntap_stats_get(&f.rt, s, &key, count, 5) == 2);
  CHECK(ntap_failed(&f.rt) == 0);
}

TEST_CASE("runtime API: foreach yields a sorted, limited snapshot", "[api]") {
  ApiFixture f;
  const uint32_t a = f.add_global("a", ast::Type::Long, {ast::Type::String});
  f.start();
  ntap_value key;
  for (const char *name : {"x", "y", "z"}) {
    key.s = name;
    ntap_set_long(&f.rt, a, &key, name[0] == 'y' ? 10 : 1, NTAP_NO_SITE);
  }
  ntap_iter *it = ntap_foreach_begin(&f.rt, a, 0, -1, 0, 2, nullptr, 0);
  std::vector<std::string> seen;
  while (ntap_foreach_next(it, &key)) {
    seen.push_back(key.s);
    key.s = "w";
    ntap_delete(&f.rt, a, &key, 0);  // changing the array does not disturb the loop
  }
  ntap_foreach_end(it);
  CHECK(seen == std::vector<std::string>{"y", "x"});
}

TEST_CASE("every runtime function is exported to the JIT", "[api]") {
  size_t n = 0;
  bool has_printf = false, has_symdata = false;
  for (const ntap_symbol *s = ntap_runtime_symbols; s->name; ++s, ++n) {
    CHECK(s->address != nullptr);
    has_printf |= std::string(s->name) == "ntap_printf";
    has_symdata |= std::string(s->name) == "ntap_fn_symdata";
  }
  CHECK(n >= 30);
  CHECK(has_printf);
  CHECK(has_symdata);
}

// ---------------------------------------------------------------- sessions

namespace {

// Compiled probes stand-in: each user probe id maps to a plain function.
class FakeHostProgram : public HostProgram {
 public:
  std::vector<ProbeFn> functions;
  std::vector<RuntimeSite> site_list;
  ProbeFn probe_function(uint32_t id) const override { return id < functions.size() ? functions[id] : nullptr; }
  const std::vector<RuntimeSite> &sites() const override { return site_list; }
  const std::string &ir() const override { return ir_; }

 private:
  std::string ir_;
};

struct SessionFixture {
  ast::Program program;
  Layout layout;
  BpfObject bpf;  // no kernel probes
  FakeHostProgram host;
  RunOptions options;
  std::string out_path;

  SessionFixture() {
    char name[] = "/tmp/ntap-session-test.XXXXXX";
    const int fd = mkstemp(name);
    if (fd >= 0) close(fd);
    out_path = name;
    options.output_path = out_path;
  }
  ~SessionFixture() { std::remove(out_path.c_str()); }

  void add_probe(ast::ProbeKind kind, HostProgram::ProbeFn fn, int64_t param = 0) {
    auto probe = std::make_unique<ast::Probe>();
    probe->side = ast::Side::User;
    probe->id = static_cast<uint32_t>(program.probes.size());
    ast::ResolvedProbe resolved;
    resolved.kind = kind;
    resolved.param = param;
    resolved.name = "probe" + std::to_string(probe->id);
    probe->resolved.push_back(resolved);
    program.probes.push_back(std::move(probe));
    host.functions.push_back(fn);
  }
  uint32_t add_format(const std::string &text) {
    program.formats.push_back({text, {}, {}});
    return static_cast<uint32_t>(program.formats.size() - 1);
  }
  std::string output() const {
    std::ifstream in(out_path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  int run() { return run_session(program, layout, bpf, host, test::fixture_kernel(), options); }
};

// Format 0 of every session test prints its argument string.
void say(ntap_rt *rt, const char *text) {
  ntap_value arg;
  arg.s = text;
  ntap_printf(rt, 0, &arg);
}

}  // namespace

TEST_CASE("session: begin by priority, exit() in begin, then end", "[session]") {
  SessionFixture f;
  f.add_format("%s\n");
  f.add_probe(ast::ProbeKind::End, [](ntap_rt *rt) { say(rt, "end"); });
  f.add_probe(ast::ProbeKind::Begin, [](ntap_rt *rt) {
    say(rt, "begin 0");
    ntap_fn_exit(rt);
  });
  f.add_probe(ast::ProbeKind::Begin, [](ntap_rt *rt) { say(rt, "begin -1"); }, -1);
  f.add_probe(ast::ProbeKind::Begin, [](ntap_rt *rt) { say(rt, "begin 5 (skipped after exit)"); }, 5);
  CHECK(f.run() == 0);
  CHECK(f.output() == "begin -1\nbegin 0\nend\n");
}

TEST_CASE("session: timers run until exit()", "[session]") {
  SessionFixture f;
  f.add_format("%s\n");
  static int ticks;
  ticks = 0;
  f.add_probe(ast::ProbeKind::Timer, [](ntap_rt *rt) {
    say(rt, "tick");
    if (++ticks == 3) ntap_fn_exit(rt);
  }, 10'000'000);
  f.add_probe(ast::ProbeKind::End, [](ntap_rt *rt) { say(rt, "end"); });
  CHECK(f.run() == 0);
  CHECK(f.output() == "tick\ntick\ntick\nend\n");
}

TEST_CASE("session: a run-time error reports the site, runs end, exits 1", "[session]") {
  SessionFixture f;
  f.add_format("%s\n");
  f.host.site_list.push_back({Location{}, "division by 0 near operator '/'"});
  f.add_probe(ast::ProbeKind::Begin, [](ntap_rt *rt) {
    ntap_fail_at(rt, 0);
    if (ntap_failed(rt)) return;
    say(rt, "not reached");
  });
  f.add_probe(ast::ProbeKind::End, [](ntap_rt *rt) { say(rt, "end"); });
  CHECK(f.run() == 1);
  CHECK(f.output() == "end\n");
}

TEST_CASE("session: -T ends an idle run with status 0", "[session]") {
  SessionFixture f;
  f.add_format("%s\n");
  f.options.timeout_seconds = 0.05;
  f.add_probe(ast::ProbeKind::End, [](ntap_rt *rt) { say(rt, "end"); });
  CHECK(f.run() == 0);
  CHECK(f.output() == "end\n");
}

TEST_CASE("runtime API: a write into a full array fails at its site", "[api]") {
  ApiFixture f;
  f.layout.options.max_map_entries = 2;
  const uint32_t a = f.add_global("a", ast::Type::Long, {ast::Type::Long});
  const uint32_t s = f.add_global("s", ast::Type::Stats, {ast::Type::Long});
  f.start();
  ntap_value key;
  for (int64_t i = 1; i <= 2; ++i) {
    key.l = i;
    ntap_set_long(&f.rt, a, &key, i, 7);
    ntap_stats_add(&f.rt, s, &key, i, 8);
  }
  CHECK(ntap_failed(&f.rt) == 0);
  key.l = 1;
  ntap_set_long(&f.rt, a, &key, 10, 7);  // an existing element still updates
  CHECK(ntap_failed(&f.rt) == 0);
  key.l = 3;
  ntap_set_long(&f.rt, a, &key, 3, 7);
  CHECK(ntap_failed(&f.rt) == 1);
  CHECK(f.rt.failed_site == 7);
  CHECK(ntap_exists(&f.rt, a, &key, 0) == 0);
  f.rt.failed = false;
  ntap_stats_add(&f.rt, s, &key, 3, 8);
  CHECK(f.rt.failed_site == 8);
  f.rt.failed = false;
  ntap_set_long(&f.rt, a, &key, 3, NTAP_NO_SITE);  // a caller that cannot fail
  CHECK(ntap_failed(&f.rt) == 0);
}

TEST_CASE("runtime API: exists, delete and foreach take an optional wildcard mask", "[api]") {
  ApiFixture f;
  const uint32_t a = f.add_global("a", ast::Type::Long, {ast::Type::Long, ast::Type::Long});
  f.start();
  ntap_value key[2];
  for (int64_t x = 1; x <= 3; ++x)
    for (int64_t y = 1; y <= 2; ++y) {
      key[0].l = x;
      key[1].l = y;
      ntap_set_long(&f.rt, a, key, x * 10 + y, NTAP_NO_SITE);
    }
  key[0].l = 2;
  key[1].l = 9;
  CHECK(ntap_exists(&f.rt, a, key, 0) == 0);      // [2, 9]: no such element
  CHECK(ntap_exists(&f.rt, a, key, 0b10) == 1);   // [2, *]
  key[0].l = 0;
  CHECK(ntap_exists(&f.rt, a, key, 0b10) == 0);   // [0, *]
  key[1].l = 2;
  ntap_iter *it = ntap_foreach_begin(&f.rt, a, 1, 1, 0, 2, key, 0b01);  // [*, 2], by key 1, limit 2
  std::vector<int64_t> firsts;
  ntap_value out[2];
  while (ntap_foreach_next(it, out)) firsts.push_back(out[0].l);
  ntap_foreach_end(it);
  CHECK(firsts == std::vector<int64_t>{1, 2});
  ntap_delete(&f.rt, a, key, 0b01);  // delete a[*, 2]
  it = ntap_foreach_begin(&f.rt, a, 1, 1, 0, -1, nullptr, 0);
  std::vector<int64_t> left;
  while (ntap_foreach_next(it, out)) left.push_back(out[0].l * 10 + out[1].l);
  ntap_foreach_end(it);
  CHECK(left == std::vector<int64_t>{11, 21, 31});
  key[0].l = 1;
  key[1].l = 1;
  ntap_delete(&f.rt, a, key, 0);  // one element
  CHECK(ntap_exists(&f.rt, a, key, 0) == 0);
  ntap_delete(&f.rt, a, nullptr, 0);  // the whole array
  CHECK(ntap_exists(&f.rt, a, key, 0b11) == 0);
}
