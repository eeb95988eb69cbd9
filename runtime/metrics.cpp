#include "runtime/metrics.h"

#include <fmt/format.h>

namespace ntap {
namespace {

// A label value, escaped as the exposition format wants (\\, \", \n).
void append_label_value(std::string &out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  out += '"';
}

// {key1="...",key2="..."[,extra]} or "" for a scalar without extras.
std::string labels(const Key &key, std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    out += out.empty() ? "{" : ",";
    fmt::format_to(std::back_inserter(out), "key{}=", i + 1);
    if (const auto *text = std::get_if<std::string>(&key[i]))
      append_label_value(out, *text);
    else
      append_label_value(out, std::to_string(std::get<int64_t>(key[i])));
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name;
    out += '=';
    append_label_value(out, extra_value);
  }
  if (!out.empty()) out += '}';
  return out;
}

void family(std::string &out, const std::string &name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Cumulative buckets from the first to the last one that counted something,
// then +Inf. A bucket's `le` is the largest value it holds (observations are
// integers): for a log bucket the next one's label minus one, for linear
// bucket i low + i * width - 1; the last bucket (log: the largest values,
// linear: the overflow) is +Inf.
void histogram_buckets(std::string &out, const std::string &name, const Key &key, const HistogramSpec &spec,
                       const std::vector<int64_t> &buckets) {
  const size_t count = std::min<size_t>(buckets.size(), spec.buckets);
  size_t first = count, last = 0;
  for (size_t i = 0; i < count; ++i)
    if (buckets[i]) {
      if (first == count) first = i;
      last = i;
    }
  int64_t cumulative = 0;
  for (size_t i = first; i < count && i <= last && i + 1 < count; ++i) {
    cumulative += buckets[i];
    const int64_t le = spec.kind == HistogramSpec::Kind::Linear
                           ? spec.low + static_cast<int64_t>(i) * spec.width - 1  // 0: the underflow, < low
                           : spec.bucket_label(static_cast<uint32_t>(i + 1)) - 1;
    fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", name, labels(key, "le", std::to_string(le)),
                   cumulative);
  }
  int64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += buckets[i];
  fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", name, labels(key, "le", "+Inf"), total);
}

void stats_metrics(std::string &out, const GlobalSnapshot &snapshot, const std::string &name) {
  const HistogramSpec &spec = snapshot.layout->histogram;
  const bool histogram = spec.kind != HistogramSpec::Kind::None;
  family(out, name, histogram ? "histogram" : "summary",
         fmt::format("statistic '{}' (count and sum of its observations)", snapshot.global->name));
  for (const Entry &entry : snapshot.entries) {
    const StatsValue &s = entry.value.stats;
    if (histogram) histogram_buckets(out, name, entry.key, spec, entry.value.buckets);
    fmt::format_to(std::back_inserter(out), "{}_count{} {}\n{}_sum{} {}\n", name, labels(entry.key), s.count, name,
                   labels(entry.key), s.sum);
  }
  // @min/@max mean nothing for an empty statistic: those elements are left out.
  for (const char *which : {"min", "max"}) {
    const std::string sub = name + "_" + which;
    family(out, sub, "gauge", fmt::format("@{} of statistic '{}'", which, snapshot.global->name));
    for (const Entry &entry : snapshot.entries) {
      const StatsValue &s = entry.value.stats;
      if (s.count == 0) continue;
      fmt::format_to(std::back_inserter(out), "{}{} {}\n", sub, labels(entry.key), which[1] == 'i' ? s.min : s.max);
    }
  }
}

}  // namespace

void render_global_metrics(std::string &out, const GlobalSnapshot &snapshot) {
  const ast::Global &g = *snapshot.global;
  const std::string name = "ntap_" + g.name;
  switch (g.value_type) {
    case ast::Type::Stats: stats_metrics(out, snapshot, name); return;
    case ast::Type::String:
      // A string has no number: each value is a label of a series set to 1.
      family(out, name, "gauge", fmt::format("string global '{}' (the value is the label \"value\")", g.name));
      for (const Entry &entry : snapshot.entries)
        fmt::format_to(std::back_inserter(out), "{}{} 1\n", name, labels(entry.key, "value", entry.value.s));
      return;
    default:
      family(out, name, "gauge", fmt::format("global '{}'", g.name));
      for (const Entry &entry : snapshot.entries)
        fmt::format_to(std::back_inserter(out), "{}{} {}\n", name, labels(entry.key), entry.value.l);
      return;
  }
}

void render_lost_metrics(std::string &out, const std::vector<LostCount> &losses) {
  auto total_of = [&](std::string_view kind) {
    uint64_t total = 0;
    for (const LostCount &loss : losses)
      if (loss.kind == kind) total += loss.count;
    return total;
  };
  family(out, "ntap_lost_records_total", "counter", "output records of kernel probes lost (ring buffer full)");
  fmt::format_to(std::back_inserter(out), "ntap_lost_records_total {}\n", total_of("ringbuf_records"));
  family(out, "ntap_lost_nesting_skipped_total", "counter", "kernel probe hits skipped (nested too deep on a CPU)");
  fmt::format_to(std::back_inserter(out), "ntap_lost_nesting_skipped_total {}\n", total_of("nesting_skipped"));
  family(out, "ntap_lost_map_updates_total", "counter", "updates by kernel probes lost to a full map, by global");
  for (const LostCount &loss : losses)
    if (loss.kind == "map_full")
      fmt::format_to(std::back_inserter(out), "ntap_lost_map_updates_total{} {}\n", labels({}, "global", loss.global),
                     loss.count);
  family(out, "ntap_lost_recursion_skipped_total", "counter",
         "kernel probe hits skipped because BPF programs do not nest on one CPU, by probe");
  for (const LostCount &loss : losses)
    if (loss.kind == "recursion_skipped")
      fmt::format_to(std::back_inserter(out), "ntap_lost_recursion_skipped_total{} {}\n",
                     labels({}, "probe", loss.probe), loss.count);
}

}  // namespace ntap
