// --metrics' text rendering (runtime/metrics.cpp): the Prometheus text
// exposition format for globals of every kind, label escaping, histogram
// buckets, metric names, and the --metrics address syntax.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "runtime/metrics.h"
#include "runtime/metrics_server.h"

using namespace ntap;

namespace {

// A global and its layout, as the frontend and layout passes make them.
struct Fixture {
  ast::Global global;
  GlobalLayout layout;
  GlobalSnapshot snapshot() {
    GlobalSnapshot s;
    s.global = &global;
    s.layout = &layout;
    return s;
  }
};

Fixture make(std::string name, ast::Type type, HistogramSpec histogram = {}) {
  Fixture f;
  f.global.name = std::move(name);
  f.global.value_type = type;
  f.layout.histogram = histogram;
  return f;
}

Entry stats_entry(Key key, const std::vector<int64_t> &observations, const HistogramSpec &spec) {
  Entry e;
  e.key = std::move(key);
  StatsValue &s = e.value.stats;
  s = StatsValue{};
  for (int64_t v : observations) {
    s.min = s.count ? std::min(s.min, v) : v;
    s.max = s.count ? std::max(s.max, v) : v;
    ++s.count;
    s.sum += v;
  }
  if (spec.kind != HistogramSpec::Kind::None) {
    e.value.buckets.assign(spec.buckets, 0);
    for (int64_t v : observations) ++e.value.buckets[spec.bucket_of(v)];
  }
  return e;
}

std::string render(const GlobalSnapshot &snapshot) {
  std::string out;
  render_global_metrics(out, snapshot);
  return out;
}

// The sample lines (not # comments) of `text`, in order.
std::vector<std::string> samples(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("metrics: long scalars and arrays are gauges keyed by labels", "[metrics]") {
  Fixture f = make("count", ast::Type::Long);
  GlobalSnapshot s = f.snapshot();
  s.entries.push_back({{}, Value{42, {}, {}, {}}});
  CHECK(render(s) == "# HELP ntap_count global 'count'\n# TYPE ntap_count gauge\nntap_count 42\n");

  Fixture a = make("arr", ast::Type::Long);
  GlobalSnapshot sa = a.snapshot();
  sa.entries.push_back({{std::string("eth0"), int64_t{-7}}, Value{3, {}, {}, {}}});
  CHECK(samples(render(sa)) == std::vector<std::string>{"ntap_arr{key1=\"eth0\",key2=\"-7\"} 3"});
}

TEST_CASE("metrics: label values escape backslash, quote and line break", "[metrics]") {
  Fixture f = make("names", ast::Type::Long);
  GlobalSnapshot s = f.snapshot();
  s.entries.push_back({{std::string("a\\b\"c\nd")}, Value{1, {}, {}, {}}});
  CHECK(samples(render(s)) == std::vector<std::string>{R"(ntap_names{key1="a\\b\"c\nd"} 1)"});
}

TEST_CASE("metrics: label values are valid UTF-8", "[metrics]") {
  Fixture f = make("names", ast::Type::Long);
  GlobalSnapshot s = f.snapshot();
  // é stays; a stray continuation byte and a truncated sequence become U+FFFD.
  s.entries.push_back({{std::string("\xc3\xa9-\x80-\xe2\x82")}, Value{1, {}, {}, {}}});
  CHECK(samples(render(s)) ==
        std::vector<std::string>{"ntap_names{key1=\"\xc3\xa9-\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd\"} 1"});
}

TEST_CASE("metrics: a string global is a gauge of 1 with its value as a label", "[metrics]") {
  Fixture f = make("state", ast::Type::String);
  GlobalSnapshot s = f.snapshot();
  Value v;
  v.s = "up \"now\"";
  s.entries.push_back({{int64_t{1}}, v});
  const std::string text = render(s);
  CHECK(text.find("# TYPE ntap_state gauge\n") != std::string::npos);
  CHECK(samples(text) == std::vector<std::string>{R"(ntap_state{key1="1",value="up \"now\""} 1)"});
}

TEST_CASE("metrics: a statistic without histogram is a summary plus min/max gauges", "[metrics]") {
  Fixture f = make("lat", ast::Type::Stats);
  GlobalSnapshot s = f.snapshot();
  s.entries.push_back(stats_entry({std::string("x")}, {5, 1, 9}, {}));
  s.entries.push_back(stats_entry({std::string("empty")}, {}, {}));
  const std::string text = render(s);
  CHECK(text.find("# TYPE ntap_lat summary\n") != std::string::npos);
  CHECK(text.find("# TYPE ntap_lat_min gauge\n") != std::string::npos);
  // An empty element has a count and sum of 0 but no @min/@max.
  CHECK(samples(text) == std::vector<std::string>{
                             "ntap_lat_count{key1=\"x\"} 3", "ntap_lat_sum{key1=\"x\"} 15",
                             "ntap_lat_count{key1=\"empty\"} 0", "ntap_lat_sum{key1=\"empty\"} 0",
                             "ntap_lat_min{key1=\"x\"} 1", "ntap_lat_max{key1=\"x\"} 9"});
}

TEST_CASE("metrics: @hist_log buckets are cumulative, le the largest value held, then +Inf", "[metrics]") {
  const HistogramSpec spec = HistogramSpec::log();
  Fixture f = make("h", ast::Type::Stats, spec);
  GlobalSnapshot s = f.snapshot();
  s.entries.push_back(stats_entry({}, {1, 2, 3, 100}, spec));
  const std::string text = render(s);
  CHECK(text.find("# TYPE ntap_h histogram\n") != std::string::npos);
  // From the first to the last non-empty bucket: 1 | 2..3 | 4..7 ... 64..127.
  CHECK(samples(text) == std::vector<std::string>{
                             "ntap_h_bucket{le=\"1\"} 1", "ntap_h_bucket{le=\"3\"} 3", "ntap_h_bucket{le=\"7\"} 3",
                             "ntap_h_bucket{le=\"15\"} 3", "ntap_h_bucket{le=\"31\"} 3", "ntap_h_bucket{le=\"63\"} 3",
                             "ntap_h_bucket{le=\"127\"} 4", "ntap_h_bucket{le=\"+Inf\"} 4", "ntap_h_count 4",
                             "ntap_h_sum 106", "ntap_h_min 1", "ntap_h_max 100"});
}

TEST_CASE("metrics: negative and zero @hist_log buckets have increasing le", "[metrics]") {
  const HistogramSpec spec = HistogramSpec::log();
  Fixture f = make("h", ast::Type::Stats, spec);
  GlobalSnapshot s = f.snapshot();
  s.entries.push_back(stats_entry({}, {-5, -2, -1, 0}, spec));
  // -5 in -4..-7 (le -4), -2 in -2..-3 (le -2), -1, 0.
  const std::vector<std::string> lines = samples(render(s));
  REQUIRE(lines.size() >= 5);
  CHECK(std::vector<std::string>(lines.begin(), lines.begin() + 5) ==
        std::vector<std::string>{"ntap_h_bucket{le=\"-4\"} 1", "ntap_h_bucket{le=\"-2\"} 2",
                                 "ntap_h_bucket{le=\"-1\"} 3", "ntap_h_bucket{le=\"0\"} 4",
                                 "ntap_h_bucket{le=\"+Inf\"} 4"});
}

TEST_CASE("metrics: @hist_linear buckets with underflow and overflow", "[metrics]") {
  const HistogramSpec spec = HistogramSpec::linear(0, 100, 10);
  Fixture f = make("lin", ast::Type::Stats, spec);
  GlobalSnapshot s = f.snapshot();
  s.entries.push_back(stats_entry({int64_t{4}}, {-3, 0, 9, 10, 25, 500}, spec));
  // underflow (< 0, le -1), 0..9, 10..19, 20..29, ..., 100..109 (stap's last
  // row is `high`); 500 is in the overflow bucket, counted by +Inf only.
  const std::vector<std::string> lines = samples(render(s));
  REQUIRE(lines.size() == 17);
  CHECK(std::vector<std::string>(lines.begin(), lines.begin() + 4) ==
        std::vector<std::string>{"ntap_lin_bucket{key1=\"4\",le=\"-1\"} 1", "ntap_lin_bucket{key1=\"4\",le=\"9\"} 3",
                                 "ntap_lin_bucket{key1=\"4\",le=\"19\"} 4", "ntap_lin_bucket{key1=\"4\",le=\"29\"} 5"});
  CHECK(lines[11] == "ntap_lin_bucket{key1=\"4\",le=\"109\"} 5");
  CHECK(lines[12] == "ntap_lin_bucket{key1=\"4\",le=\"+Inf\"} 6");
  CHECK(lines[13] == "ntap_lin_count{key1=\"4\"} 6");
}

TEST_CASE("metrics: an empty histogram element has only +Inf", "[metrics]") {
  const HistogramSpec spec = HistogramSpec::log();
  Fixture f = make("h", ast::Type::Stats, spec);
  GlobalSnapshot s = f.snapshot();
  s.entries.push_back(stats_entry({}, {}, spec));
  CHECK(samples(render(s)) ==
        std::vector<std::string>{"ntap_h_bucket{le=\"+Inf\"} 0", "ntap_h_count 0", "ntap_h_sum 0"});
}

TEST_CASE("metrics: names keep [a-zA-Z0-9_:] and replace the rest", "[metrics]") {
  CHECK(metric_name("locations") == "ntap_locations");
  CHECK(metric_name("a.b$c:d-9") == "ntap_a_b_c:d_9");
  CHECK(metric_name("\xc3\xa9") == "ntap___");
}

TEST_CASE("metrics: two globals with one family name are an error naming both", "[metrics]") {
  std::vector<std::unique_ptr<ast::Global>> globals;
  auto add = [&](std::string name, ast::Type type) {
    auto g = std::make_unique<ast::Global>();
    g->name = std::move(name);
    g->value_type = type;
    globals.push_back(std::move(g));
  };
  add("x", ast::Type::Stats);
  add("y", ast::Type::Long);
  CHECK(metric_name_clash(globals).empty());
  add("x_max", ast::Type::Long);
  const std::string error = metric_name_clash(globals);
  CHECK(error.find("'x'") != std::string::npos);
  CHECK(error.find("'x_max'") != std::string::npos);
  CHECK(error.find("ntap_x_max") != std::string::npos);

  globals.pop_back();
  add("lost_records_total", ast::Type::Long);
  CHECK(metric_name_clash(globals).find("ntap_lost_records_total") != std::string::npos);
}

TEST_CASE("metrics: lost counters are always present", "[metrics]") {
  std::string out;
  render_lost_metrics(out, {{"map_full", 3, "", "g\"x", 10, ""}, {"ringbuf_records", 2, "", "", 0, ""}});
  const std::vector<std::string> lines = samples(out);
  CHECK(lines == std::vector<std::string>{"ntap_lost_records_total 2", "ntap_lost_nesting_skipped_total 0",
                                          "ntap_lost_map_updates_total{global=\"g\\\"x\"} 3"});
}

TEST_CASE("metrics: listen addresses", "[metrics]") {
  CHECK(parse_listen_address("9100").host == "127.0.0.1");
  CHECK(parse_listen_address("9100").port == 9100);
  CHECK(parse_listen_address("0.0.0.0:80").host == "0.0.0.0");
  CHECK(parse_listen_address("[::1]:9100").host == "::1");
  CHECK_THROWS_AS(parse_listen_address("0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_listen_address("65536"), std::invalid_argument);
  CHECK_THROWS_AS(parse_listen_address(":9100"), std::invalid_argument);
  CHECK_THROWS_AS(parse_listen_address("host:x"), std::invalid_argument);
}
