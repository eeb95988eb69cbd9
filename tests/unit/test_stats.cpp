// Statistics beyond count/sum/min/max/avg: stap's integer @variance, the
// @hist_log / @hist_linear buckets and their table, the frontend rules for
// using them, and the report of written-but-never-read globals.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "abi/layout.h"
#include "frontend/parser.h"
#include "passes/passes.h"
#include "runtime/globals_display.h"
#include "runtime/histogram.h"
#include "runtime/maps.h"
#include "runtime/store.h"
#include "tests/unit/support.h"

using namespace ntap;
using test::error_of;

namespace {

auto check(const std::string &text) { return test::check_script(text); }

std::string table(const HistogramSpec &spec, const std::vector<int64_t> &values) {
  std::vector<int64_t> buckets(spec.buckets, 0);
  for (int64_t v : values) buckets[spec.bucket_of(v)] += 1;
  std::string out;
  render_histogram(out, spec, buckets);
  return out;
}

StatsValue observed(const std::vector<int64_t> &values, int64_t shift = 0) {
  StatsValue s = kEmptyStats;
  for (int64_t v : values) stats_observe(s, v, shift);
  return s;
}

}  // namespace

// ---------------------------------------------------------------- buckets

TEST_CASE("log buckets: powers of two around bucket 64", "[stats][histogram]") {
  const HistogramSpec h = HistogramSpec::log();
  CHECK(h.buckets == 128);
  CHECK(h.bucket_of(0) == 64);
  CHECK(h.bucket_of(1) == 65);
  CHECK(h.bucket_of(2) == 66);
  CHECK(h.bucket_of(3) == 66);
  CHECK(h.bucket_of(4) == 67);
  CHECK(h.bucket_of(1023) == 74);
  CHECK(h.bucket_of(1024) == 75);
  CHECK(h.bucket_of(-1) == 63);
  CHECK(h.bucket_of(-3) == 62);
  CHECK(h.bucket_of(INT64_MAX) == 127);
  CHECK(h.bucket_of(INT64_MIN) == 0);
  CHECK(h.bucket_label(64) == 0);
  CHECK(h.bucket_label(65) == 1);
  CHECK(h.bucket_label(75) == 1024);
  CHECK(h.bucket_label(62) == -2);
  CHECK(h.bucket_label(0) == INT64_MIN);
}

TEST_CASE("linear buckets: underflow, ranges, overflow", "[stats][histogram]") {
  const HistogramSpec h = HistogramSpec::linear(0, 50, 10);
  CHECK(h.buckets == 8);
  CHECK(h.bucket_of(-1) == 0);
  CHECK(h.bucket_of(0) == 1);
  CHECK(h.bucket_of(9) == 1);
  CHECK(h.bucket_of(10) == 2);
  CHECK(h.bucket_of(55) == 6);
  CHECK(h.bucket_of(60) == 7);
  CHECK(h.bucket_of(1000000) == 7);
  CHECK(h.bucket_label(0) == 0);
  CHECK(h.bucket_label(3) == 20);
  CHECK(h.bucket_label(7) == 50);
  CHECK_THROWS_AS(HistogramSpec::linear(0, 10, 0), std::invalid_argument);
  CHECK_THROWS_AS(HistogramSpec::linear(10, 10, 1), std::invalid_argument);
  CHECK_THROWS_AS(HistogramSpec::linear(0, 1000, 1), std::invalid_argument);
  CHECK(HistogramSpec::linear(0, 125, 1).buckets == 128);
}

// ---------------------------------------------------------------- tables

TEST_CASE("log table: margins of two empty rows, 0 as the lowest row", "[stats][histogram]") {
  CHECK(table(HistogramSpec::log(), {1, 2, 2, 3, 8}) ==
        "value |-------------------------------------------------- count\n"
        "    0 |                                                   0\n"
        "    1 |@                                                  1\n"
        "    2 |@@@                                                3\n"
        "    4 |                                                   0\n"
        "    8 |@                                                  1\n"
        "   16 |                                                   0\n"
        "   32 |                                                   0\n"
        "\n");
}

TEST_CASE("log table: long empty runs collapse into ~", "[stats][histogram]") {
  CHECK(table(HistogramSpec::log(), {1, 1000}) ==
        "value |-------------------------------------------------- count\n"
        "    0 |                                                   0\n"
        "    1 |@                                                  1\n"
        "    2 |                                                   0\n"
        "    4 |                                                   0\n"
        "      ~\n"
        "  128 |                                                   0\n"
        "  256 |                                                   0\n"
        "  512 |@                                                  1\n"
        " 1024 |                                                   0\n"
        " 2048 |                                                   0\n"
        "\n");
}

TEST_CASE("log table: negative values reach below 0", "[stats][histogram]") {
  CHECK(table(HistogramSpec::log(), {-5, 0, 3}) ==
        "value |-------------------------------------------------- count\n"
        "  -16 |                                                   0\n"
        "   -8 |                                                   0\n"
        "   -4 |@                                                  1\n"
        "   -2 |                                                   0\n"
        "   -1 |                                                   0\n"
        "    0 |@                                                  1\n"
        "    1 |                                                   0\n"
        "    2 |@                                                  1\n"
        "    4 |                                                   0\n"
        "    8 |                                                   0\n"
        "\n");
}

TEST_CASE("log table: bars scale to 50 columns, counts widen their column", "[stats][histogram]") {
  std::vector<int64_t> values(120, 7);
  values.push_back(3);
  values.push_back(40);
  CHECK(table(HistogramSpec::log(), values) ==
        "value |-------------------------------------------------- count\n"
        "    0 |                                                     0\n"
        "    1 |                                                     0\n"
        "    2 |                                                     1\n"
        "    4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           120\n"
        "    8 |                                                     0\n"
        "   16 |                                                     0\n"
        "   32 |                                                     1\n"
        "   64 |                                                     0\n"
        "  128 |                                                     0\n"
        "\n");
}

TEST_CASE("linear table: < and > rows only when they count something", "[stats][histogram]") {
  CHECK(table(HistogramSpec::linear(0, 50, 10), {-3, 5, 55, 500, 200}) ==
        "value |-------------------------------------------------- count\n"
        "   <0 |@                                                  1\n"
        "    0 |@                                                  1\n"
        "   10 |                                                   0\n"
        "   20 |                                                   0\n"
        "   30 |                                                   0\n"
        "   40 |                                                   0\n"
        "   50 |@                                                  1\n"
        "  >50 |@@                                                 2\n"
        "\n");
  CHECK(table(HistogramSpec::linear(0, 100, 10), {42, 42}) ==
        "value |-------------------------------------------------- count\n"
        "   20 |                                                   0\n"
        "   30 |                                                   0\n"
        "   40 |@@                                                 2\n"
        "   50 |                                                   0\n"
        "   60 |                                                   0\n"
        "\n");
}

TEST_CASE("an empty histogram prints its header only", "[stats][histogram]") {
  CHECK(table(HistogramSpec::log(), {}) ==
        "value |-------------------------------------------------- count\n\n");
}

// ---------------------------------------------------------------- variance

TEST_CASE("@variance is stap's integer Welford variance", "[stats][variance]") {
  // stap truncates at every step: 1,2,3,4 gives 5, not 1.67.
  CHECK(stats_extract(observed({1, 2, 3, 4}), ast::StatsFn::Variance) == 5);
  CHECK(stats_extract(observed({7}), ast::StatsFn::Variance) == 0);
  CHECK(stats_extract(observed({5, 5, 5, 5}), ast::StatsFn::Variance) == 0);
  CHECK(stats_extract(observed({0, 10}), ast::StatsFn::Variance) == 50);
  // A bit shift keeps more precision before the final >> (2 * shift).
  CHECK(stats_extract(observed({1, 2, 3, 4}, 8), ast::StatsFn::Variance, 8) == 1);
}

TEST_CASE("per-CPU variance states combine by stap's total-variance formula", "[stats][variance]") {
  const StatsValue a = observed({0, 10}), b = observed({20, 30});
  const StatsValue all = stats_combine_all({a, b});
  CHECK(all.count == 4);
  CHECK(all.sum == 60);
  CHECK(all.min == 0);
  CHECK(all.max == 30);
  // between = 2*(5-15)^2 + 2*(25-15)^2 = 400, within = 50 + 50: (400+100)/3
  CHECK(stats_extract(all, ast::StatsFn::Variance) == 166);
  // Reading a combined value again does not change it.
  CHECK(stats_extract(stats_combine_all({all}), ast::StatsFn::Variance) == 166);
}

TEST_CASE("per-CPU histogram buckets add up when merged", "[stats][histogram]") {
  GlobalLayout gl;
  gl.histogram = HistogramSpec::linear(0, 10, 5);  // 5 buckets
  gl.value_size = sizeof(StatsValue) + 8 * gl.histogram.buckets;
  const uint32_t stride = percpu_stride(gl.value_size);
  std::vector<uint8_t> raw(2 * stride, 0);
  Aggregate cpu0, cpu1;
  aggregate_observe(cpu0, gl, 3);
  aggregate_observe(cpu0, gl, 7);
  aggregate_observe(cpu1, gl, 4);
  for (int cpu = 0; cpu < 2; ++cpu) {
    const Aggregate &a = cpu ? cpu1 : cpu0;
    std::memcpy(raw.data() + cpu * stride, &a.stats, sizeof(StatsValue));
    std::memcpy(raw.data() + cpu * stride + sizeof(StatsValue), a.buckets.data(), 8 * a.buckets.size());
  }
  const Aggregate merged = merge_percpu_aggregate(raw, 2, gl);
  CHECK(merged.stats.count == 3);
  CHECK(merged.stats.sum == 14);
  CHECK(merged.buckets == std::vector<int64_t>{0, 2, 1, 0, 0});
}

// ---------------------------------------------------------------- frontend

TEST_CASE("histogram and variance options are recorded on the global", "[stats][frontend]") {
  auto c = check(
      "global a, b, v\n"
      "probe begin { a <<< 1; b[1] <<< 2; v <<< 3 }\n"
      "probe end { print(@hist_log(a)); println(@hist_linear(b[1], 0, 100, 10)); println(@variance(v, 4)) }");
  const ast::Global &a = *c->program->find_global("a");
  const ast::Global &b = *c->program->find_global("b");
  const ast::Global &v = *c->program->find_global("v");
  CHECK(a.histogram == ast::StatsFn::HistLog);
  CHECK(b.histogram == ast::StatsFn::HistLinear);
  CHECK(b.histogram_params == std::vector<int64_t>{0, 100, 10});
  CHECK(v.uses_variance);
  CHECK(v.variance_shift == 4);
  const Layout layout = Layout::build(*c->program, LayoutOptions{});
  CHECK(layout.of(a).value_size == sizeof(StatsValue) + 8 * 128);
  CHECK(layout.of(b).histogram.buckets == 13);
}

TEST_CASE("histogram uses must agree and be printed or indexed", "[stats][frontend]") {
  CHECK(error_of("global a\nprobe begin { a <<< 1; print(@hist_log(a)); print(@hist_linear(a, 0, 10, 1)) }") ==
        "2:51 inconsistent histogram for aggregate 'a': every @hist_* use must be the same");
  CHECK(error_of("global a\nprobe begin { a <<< 1; print(@hist_linear(a, 0, 10, 0)) }") ==
        "2:30 histogram: interval must be positive");
  CHECK(error_of("global a\nprobe begin { a <<< 1; x = @hist_log(a); print(x) }") ==
        "2:28 a histogram can only be printed (print/println) or indexed by bucket ([i])");
  CHECK(error_of("global a\nprobe begin { a <<< 1; printf(\"%s\", @hist_log(a)) }") ==
        "2:37 a histogram can only be printed (print/println) or indexed by bucket ([i])");
  CHECK(error_of("global a\nprobe begin { a <<< 1; x = @variance(a, 1) + @variance(a, 2); print(x) }") ==
        "2:46 @variance bit shift 2 differs from 1 used before");
  CHECK(error_of("global a\nprobe begin { a <<< 1; x = @hist_log(a)[\"x\"]; print(x) }") ==
        "2:41 type mismatch (long vs. string)");
  CHECK(error_of("global a\nprobe begin { a <<< 1; x = @hist_log(a)[2] }") == "no error");
}

TEST_CASE("foreach sorts a statistics array by the extractor it names", "[stats][frontend]") {
  auto c = check("global a\nprobe begin { a[1] <<< 1; foreach (k in @sum(a)-) println(k) }");
  const auto &f = ast::cast<ast::ForeachStmt>(*c->program->probes[0]->body->stmts[1]);
  CHECK(f.sort_stat == ast::StatsFn::Sum);
  CHECK(f.sort_direction == -1);
  CHECK(f.sort_column == 0);
  CHECK(error_of("global a\nprobe begin { a[1] <<< 1; foreach (k in @variance(a)) println(k) }") ==
        "2:41 foreach can sort a statistics array by @count, @sum, @min, @max or @avg, not @variance");
}

TEST_CASE("foreach over a histogram walks every bucket number", "[stats][frontend]") {
  auto c = check("global a\nprobe begin { a <<< 1; foreach (b in @hist_linear(a, 0, 10, 5)) println(b) }");
  const ast::Stmt &loop = *c->program->probes[0]->body->stmts[1];
  REQUIRE(loop.kind == ast::StmtKind::For);
  const auto &cond = ast::cast<ast::BinaryExpr>(*ast::cast<ast::ForStmt>(loop).cond);
  CHECK(ast::cast<ast::NumberExpr>(*cond.rhs).value == 5);
  CHECK(c->program->find_global("a")->histogram == ast::StatsFn::HistLinear);
  // The loop's histogram must agree with the array's other uses.
  CHECK(error_of("global a\nprobe begin { a <<< 1; foreach (b in @hist_log(a)) println(b); "
                 "print(@hist_linear(a, 0, 10, 5)) }") ==
        "2:70 inconsistent histogram for aggregate 'a': every @hist_* use must be the same");
  CHECK(error_of("global a\nprobe begin { a <<< 1; foreach ([b, c] in @hist_log(a)) println(b) }") ==
        "2:37 foreach over a histogram takes one unsorted bucket variable");
}

// ---------------------------------------------------------------- globals report

TEST_CASE("globals written but never read are reported as stap does", "[stats][display]") {
  auto c = check(
      "global x, s, a, st, empty, seen, sa\n"
      "probe begin { x = 42; s = \"eth0\"; a[1, \"k\"] = 3; a[2, \"j\"] = 7; st <<< 1; st <<< 9\n"
      "  seen = 1; println(seen); sa[\"p\"] <<< 4; sa[\"q\"] <<< 1; sa[\"q\"] <<< 2; delete empty }\n"
      "probe end { empty <<< 1; delete empty }");
  const Layout layout = Layout::build(*c->program, LayoutOptions{});
  Store store(*c->program, layout, nullptr);
  auto gid = [&](const char *name) { return c->program->find_global(name)->id; };
  CHECK(store.set_long(gid("x"), {}, 42));
  CHECK(store.set_string(gid("s"), {}, "eth0"));
  CHECK(store.set_long(gid("a"), Key{int64_t{1}, std::string("k")}, 3));
  CHECK(store.set_long(gid("a"), Key{int64_t{2}, std::string("j")}, 7));
  CHECK(store.stats_add(gid("st"), {}, 1));
  CHECK(store.stats_add(gid("st"), {}, 9));
  CHECK(store.stats_add(gid("sa"), Key{std::string("p")}, 4));
  CHECK(store.stats_add(gid("sa"), Key{std::string("q")}, 1));
  CHECK(store.stats_add(gid("sa"), Key{std::string("q")}, 2));
  std::string out;
  render_unread_globals(*c->program, store, out);
  CHECK(out ==
        "x=42\n"
        "s=\"eth0\"\n"
        "a[2,\"j\"]=7\n"
        "a[1,\"k\"]=3\n"
        "st @count=2 @min=1 @max=9 @sum=10 @avg=5\n"
        "empty @count=0x0\n"
        "sa[\"q\"] @count=2 @min=1 @max=2 @sum=3 @avg=1\n"
        "sa[\"p\"] @count=1 @min=4 @max=4 @sum=4 @avg=4\n");
}
