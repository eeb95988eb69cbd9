#include "runtime/metrics.h"

#include <fmt/format.h>

#include <map>

#include "runtime/output.h"

namespace ntap {
namespace {

// A label value, escaped as the exposition format wants (\\, \", \n), in
// valid UTF-8: Prometheus rejects a whole scrape over one bad byte, and
// kernel strings can hold anything, so such a byte becomes U+FFFD as in JSON.
void append_label_value(std::string &out, std::string_view text) {
  out += '"';
  for (size_t at = 0; at < text.size();) {
    const char c = text[at];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const size_t length = utf8_sequence_length(text.substr(at));
      if (length) out.append(text.substr(at, length));
      else out += "\xef\xbf\xbd";
      at += length ? length : 1;
      continue;
    }
    ++at;
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

// HELP text escapes \\ and line breaks (a global's name cannot hold them,
// but the text says what it is).
void family(std::string &out, const std::string &name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} ", name);
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  fmt::format_to(std::back_inserter(out), "\n# TYPE {} {}\n", name, type);
}

// The largest (integer) observation bucket i of `spec` holds. Log buckets
// below 64 hold negative values whose largest is the bucket's own label
// (bucket 63: -1; 62: -2 and -3); from 64 on, the next label minus one.
// Linear bucket i holds up to low + i * width - 1 (0: the underflow, < low).
int64_t bucket_upper_bound(const HistogramSpec &spec, uint32_t i) {
  if (spec.kind == HistogramSpec::Kind::Linear) return spec.low + static_cast<int64_t>(i) * spec.width - 1;
  if (i < HistogramSpec::kLogZeroBucket) return spec.bucket_label(i);
  return spec.bucket_label(i + 1) - 1;
}

// Cumulative buckets from the first to the last one that counted something,
// then +Inf. A bucket's `le` is the largest value it holds (observations are
// integers, bucket_upper_bound); the last bucket (log: the largest values,
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
    const int64_t le = bucket_upper_bound(spec, static_cast<uint32_t>(i));
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

std::string metric_name(std::string_view global) {
  std::string name = "ntap_";
  for (char c : global) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
    name += ok ? c : '_';
  }
  return name;
}

bool serves_metrics(const ast::Global &global) {
  return !global.from_tapset && global.value_type != ast::Type::Unknown;
}

std::string metric_name_clash(const std::vector<std::unique_ptr<ast::Global>> &globals) {
  std::map<std::string, std::string> owner;  // family name -> who has it
  for (const char *lost : {"lost_records_total", "lost_nesting_skipped_total", "lost_map_updates_total",
                           "lost_recursion_skipped_total"})
    owner[metric_name(lost)] = "ntap's own counter";
  for (const auto &g : globals) {
    if (!serves_metrics(*g)) continue;
    const std::string name = metric_name(g->name);
    std::vector<std::string> names{name};
    if (g->value_type == ast::Type::Stats)
      for (const char *suffix : {"_count", "_sum", "_bucket", "_min", "_max"}) names.push_back(name + suffix);
    const std::string who = fmt::format("global '{}' ({})", g->name, g->decl.str());
    for (const std::string &n : names) {
      auto [it, added] = owner.emplace(n, who);
      if (!added)
        return fmt::format("--metrics: {} and {} would both be served as {}; rename one", it->second, who, n);
    }
  }
  return {};
}

void render_global_metrics(std::string &out, const GlobalSnapshot &snapshot) {
  const ast::Global &g = *snapshot.global;
  const std::string name = metric_name(g.name);
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
